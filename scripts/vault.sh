#!/usr/bin/env bash
# Builds HashiCorp Vault v1.21.0 through the Go module proxy into a per-user cache keyed by version,
# ~/.cache/vault-autounseal/vault-1.21.0/vault (or $VAULT_AUTOUNSEAL_CACHE), when it is missing,
# and checks it with `vault version`. Prints the binary's path on stdout; `npm run test:vault`
# runs the integration project against it.
#
# Vault is under the BUSL 1.1: it is built only to test against. It lives outside the repository,
# and nothing that is shipped holds it: the only image with it is the real node's test image, made by
# scripts/node-tools.sh into the same per-user cache, loaded into the test cluster's containerd and
# never pushed or released.
#
# Cold: about 15 minutes on 2 cores (a ~500 MB binary); warm: only the check. A fresh clone on the
# same machine reuses the cache. v1.21.4 does not build this way (its tree needs an sdk version that
# was never published), hence v1.21.0.
set -euo pipefail

VAULT_VERSION=1.21.0
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
DIR="$CACHE/vault-$VAULT_VERSION"
BIN="$DIR/vault"

log() { printf '[vault] %s\n' "$*" >&2; }

# check: the binary runs and says it is the version we built.
check() {
  local out
  out=$("$BIN" version 2>&1) || {
    log "$BIN does not run: $out"
    return 1
  }
  case "$out" in
    "Vault v$VAULT_VERSION"*) log "$out ($BIN)" ;;
    *)
      log "$BIN is not Vault v$VAULT_VERSION: $out"
      return 1
      ;;
  esac
}

if [ -x "$BIN" ] && check; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || {
  log "go is missing: Vault is built through the Go module proxy"
  exit 1
}

# One build at a time per cache (a second `npm run test:vault` waits for the first).
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ -x "$BIN" ] && check; then
  echo "$BIN"
  exit 0
fi

# A module of our own that requires Vault, with the two `replace` lines of Vault's own go.mod that
# do not point into its tree (the others do, and a required module's replaces are ignored).
MOD="$DIR/module"
rm -rf "$MOD"
mkdir -p "$MOD"
cat >"$MOD/go.mod" <<MODEOF
module vault-autounseal.local/vault

go 1.25

require github.com/hashicorp/vault v$VAULT_VERSION

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1
MODEOF

log "building Vault v$VAULT_VERSION through the Go module proxy into $DIR (cold: about 15 min on 2 cores)"
started=$SECONDS
# The version package's defaults would say the tree's own version; stamp it as the release does.
(cd "$MOD" && GOFLAGS=-mod=mod go build -trimpath -o "$BIN.part" \
  -ldflags "-s -w -X github.com/hashicorp/vault/version.Version=$VAULT_VERSION -X github.com/hashicorp/vault/version.VersionPrerelease=" \
  github.com/hashicorp/vault >&2)
mv "$BIN.part" "$BIN"
log "built in $((SECONDS - started))s"
check
echo "$BIN"
