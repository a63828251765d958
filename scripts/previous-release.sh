#!/usr/bin/env bash
# The previous release, reconstructed from git for the upgrade test (test/node/upgrade.test.ts):
# 0.1.0 was never published, so its images and chart are rebuilt from the commit it was, with its
# own Dockerfiles and chart, exactly as an operator built them then. Written once into the per-user
# cache ($CACHE/previous-<version>-<commit>/: sidecar.tar and webhook.tar as OCI archives that
# carry their names, localhost/vault-autounseal-{sidecar,webhook}:<version>, and chart/, the chart
# directory), so a warm run costs nothing. Called by scripts/node-tools.sh; prints that directory.
#
# Needs the commit in this clone's history (a shallow clone has not: `git fetch --unshallow`),
# root (buildah), and the stand-in base images (scripts/images/base-images.sh, built here when
# missing). Exits non-zero when anything cannot be had: the upgrade test then fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
# The last commit of 0.1.0: main as it landed before 0.2.0's release work (CHANGELOG.md, [0.1.0]).
# As test/node/harness/images.ts (PREVIOUS).
PREVIOUS_VERSION=0.1.0
PREVIOUS_COMMIT=50a9a405ee20c98181ac75e833731e75cf4eef2f
OUT="$CACHE/previous-$PREVIOUS_VERSION-${PREVIOUS_COMMIT:0:12}"

log() { printf '[previous-release] %s\n' "$*" >&2; }

if [[ -f "$OUT/sidecar.tar" && -f "$OUT/webhook.tar" && -f "$OUT/chart/Chart.yaml" ]]; then
  log "$PREVIOUS_VERSION present in $OUT"
  echo "$OUT"
  exit 0
fi

if ! git -C "$ROOT" cat-file -e "$PREVIOUS_COMMIT^{commit}" 2>/dev/null; then
  log "commit $PREVIOUS_COMMIT ($PREVIOUS_VERSION) is not in this clone: a shallow clone? run git fetch --unshallow"
  exit 1
fi

SRC=$(mktemp -d /tmp/vau-previous-XXXXXX)
WORK="$OUT.partial"
cleanup() { rm -rf "$SRC" "$WORK"; }
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"
git -C "$ROOT" archive "$PREVIOUS_COMMIT" | tar -x -C "$SRC"
version=$(node -p "require('$SRC/package.json').version")
if [[ "$version" != "$PREVIOUS_VERSION" ]]; then
  log "commit $PREVIOUS_COMMIT says version $version, not $PREVIOUS_VERSION"
  exit 1
fi

# The Dockerfiles of 0.1.0 name the same two base images as today's: the stand-ins serve both.
for standin in build_runtime_standin build_build_standin; do
  CACHE="$ROOT/.cache/images" bash -euo pipefail -c 'source "$1" && "$2"' _ \
    "$ROOT/scripts/images/base-images.sh" "$standin" >&2
done

for program in sidecar webhook; do
  image="localhost/vault-autounseal-$program:$PREVIOUS_VERSION"
  started=$SECONDS
  log "building $image from $PREVIOUS_COMMIT's Dockerfile.$program"
  buildah bud --pull=never --isolation chroot --layers --force-rm --quiet \
    --build-arg "NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-}" \
    --build-arg "VERSION=$PREVIOUS_VERSION" --build-arg "REVISION=$PREVIOUS_COMMIT" \
    -f "$SRC/Dockerfile.$program" -t "$image" "$SRC" >&2
  podman save --quiet --format oci-archive -o "$WORK/$program.tar" "$image"
  log "$image built and saved in $((SECONDS - started)) s"
done
cp -r "$SRC/deploy/helm/vault-autounseal" "$WORK/chart"
rm -rf "$OUT"
mv "$WORK" "$OUT"
log "$PREVIOUS_VERSION written to $OUT"
echo "$OUT"
