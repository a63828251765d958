#!/usr/bin/env bash
# Prints the path of actionlint (the GitHub Actions workflow linter), building it first when it is
# missing: `go install` through the Go module proxy, into the per-user cache keyed by version like
# the other tools (scripts/e2e-tools.sh): ~/.cache/vault-autounseal/actionlint-<version>/actionlint
# (or $VAULT_AUTOUNSEAL_CACHE). About 40 s cold on 2 cores; a warm machine only checks.
# test/release/workflow.test.ts runs it on .github/workflows/.
set -euo pipefail
ACTIONLINT_VERSION=v1.7.12
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
dir="$CACHE/actionlint-$ACTIONLINT_VERSION"
if [ ! -x "$dir/actionlint" ]; then
  command -v go >/dev/null 2>&1 || {
    echo "[actionlint] go is missing: actionlint is built through the Go module proxy" >&2
    exit 1
  }
  echo "[actionlint] building actionlint $ACTIONLINT_VERSION through the Go module proxy" >&2
  mkdir -p "$dir"
  started=$SECONDS
  CGO_ENABLED=0 GOBIN="$dir/.part" go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
  mv "$dir/.part/actionlint" "$dir/actionlint"
  rmdir "$dir/.part"
  echo "[actionlint] built in $((SECONDS - started))s" >&2
fi
echo "$dir/actionlint"
