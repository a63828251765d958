#!/usr/bin/env bash
# Installs what the real-node profile (test/node/) needs, idempotently, into the per-user cache
# (~/.cache/vault-autounseal/<name>-<version>/, or $VAULT_AUTOUNSEAL_CACHE), so a fresh clone on
# the same machine reuses it and only the first run pays (about 20 min of 2-core time cold):
#   - kubelet, kube-controller-manager and kube-scheduler v1.36.3, built through the Go module
#     proxy from test/node/go/kubernetes (kube-apiserver and etcd come from scripts/e2e-tools.sh);
#   - CoreDNS v1.15.0 (cluster DNS as a host process on the test bridge), `go install`ed;
#   - pause: a 20-line static Go program (test/node/go/pause), the pod sandbox image's only file;
#   - containerd 1.6 and busybox-static from Debian, downloaded and unpacked (never installed:
#     this script must not change the machine outside the cache).
# Prints what it does to stderr. Exits non-zero when anything cannot be had: the suite then fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
KUBE_VERSION=v1.36.3
COREDNS_VERSION=v1.15.0
PAUSE_VERSION=1 # bump when test/node/go/pause changes

log() { printf '[node-tools] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || {
  log "go is missing: the node's binaries are built through the Go module proxy"
  exit 1
}

# build_kube NAME: k8s.io/kubernetes/cmd/NAME into $CACHE/NAME-$KUBE_VERSION/NAME.
build_kube() {
  local name=$1 dir="$CACHE/$1-$KUBE_VERSION"
  if [ -x "$dir/$name" ]; then
    log "$name $KUBE_VERSION present: $dir/$name"
    return
  fi
  mkdir -p "$dir"
  log "building $name $KUBE_VERSION through the Go module proxy (cold: minutes on 2 cores)"
  local started=$SECONDS
  # Without the version stamp it reports v0.0.0-master, which the apiserver's skew checks refuse.
  (cd "$ROOT/test/node/go/kubernetes" && GOFLAGS=-mod=mod nice -n 10 go build -trimpath -o "$dir/$name.part" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36" \
    "k8s.io/kubernetes/cmd/$name" >&2)
  mv "$dir/$name.part" "$dir/$name"
  log "$name $KUBE_VERSION built in $((SECONDS - started))s"
}

build_coredns() {
  local dir="$CACHE/coredns-$COREDNS_VERSION"
  if [ -x "$dir/coredns" ]; then
    log "coredns $COREDNS_VERSION present: $dir/coredns"
    return
  fi
  mkdir -p "$dir/gobin"
  log "building coredns $COREDNS_VERSION through the Go module proxy"
  local started=$SECONDS
  GOBIN="$dir/gobin" GOFLAGS= nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
  mv "$dir/gobin/coredns" "$dir/coredns"
  rmdir "$dir/gobin"
  log "coredns built in $((SECONDS - started))s"
}

build_pause() {
  local dir="$CACHE/pause-$PAUSE_VERSION"
  if [ -x "$dir/pause" ]; then
    log "pause $PAUSE_VERSION present: $dir/pause"
    return
  fi
  mkdir -p "$dir"
  (cd "$ROOT/test/node/go/pause" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$dir/pause.part" . >&2)
  mv "$dir/pause.part" "$dir/pause"
  log "pause built"
}

# debian_package NAME: `apt-get download` + `dpkg-deb -x` into $CACHE/debian/NAME-<version>/.
# Prints the unpacked root.
debian_package() {
  local name=$1 version dir
  version=$(apt-cache policy "$name" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    log "apt-get update (no candidate for $name)"
    apt-get update -qq >&2
    version=$(apt-cache policy "$name" | sed -n 's/^ *Candidate: //p')
  fi
  dir="$CACHE/debian/$name-${version//[:~+]/_}"
  if [ ! -f "$dir/.unpacked" ]; then
    rm -rf "$dir"
    mkdir -p "$dir/deb"
    log "downloading Debian's $name $version (unpacked into the cache, not installed)"
    (cd "$dir/deb" && apt-get download -q "$name=$version" >&2)
    dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
    touch "$dir/.unpacked"
  fi
  echo "$dir/root"
}

build_kube kubelet
build_kube kube-scheduler
build_kube kube-controller-manager
build_coredns
build_pause
debian_package containerd >/dev/null
debian_package busybox-static >/dev/null
for tool in runc iptables ip ; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing"; exit 1; }
done
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || {
  log "the CNI bridge and host-local plugins are missing (/usr/lib/cni): scripts/images.sh installs containernetworking-plugins with podman"
  exit 1
}
