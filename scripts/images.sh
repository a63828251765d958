#!/usr/bin/env bash
# `npm run images`: builds the two container images from the real Dockerfiles and runs them.
#
# 1. Installs buildah, podman, runc and mmdebstrap from Debian when they are missing.
# 2. Makes local stand-ins for the base images when they are missing (scripts/images/base-images.sh):
#    no image registry is reachable here.
# 3. Builds Dockerfile.sidecar and Dockerfile.webhook with buildah (--pull=never, layer cache on).
# 4. Runs both images with podman as uid 65532 on a read-only root filesystem and checks that they
#    do their job (scripts/images/check.mjs): the sidecar unseals a real OpenBao, the webhook answers
#    a real AdmissionReview over TLS; and that /app holds no dev dependencies, sources or tests.
#
# It is a test suite: it ends with one line `images: N passed, M failed` and exits non-zero when any
# check failed. A step that cannot run (a tool that will not install, a build that fails) is a
# failed check, never a skip. The full output is also written to .cache/images/last-run.log.
# Runs as root (CI does): buildah mounts images and podman runs containers with runc.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CACHE="$ROOT/.cache/images"
mkdir -p "$CACHE"
LOG="$CACHE/last-run.log"
exec 3>&1 > >(tee "$LOG") 2>&1
TEE_PID=$!
STARTED=$(date +%s)

# Exit only once tee has written everything, so the summary line is the last thing printed.
quit() {
  exec >&3 2>&3
  wait "$TEE_PID" 2>/dev/null || true
  exit "$1"
}

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
finish() {
  echo "[images] took $(($(date +%s) - STARTED))s; log: ${LOG#"$ROOT"/}"
  echo "images: $PASSED passed, $FAILED failed"
  if ((FAILED > 0)); then quit 1; fi
  quit 0
}

VERSION=$(node -p "require('./package.json').version")
REVISION=$(git rev-parse HEAD 2>/dev/null || true)
SIDECAR_IMAGE="localhost/vault-autounseal-sidecar:$VERSION"
WEBHOOK_IMAGE="localhost/vault-autounseal-webhook:$VERSION"

# ---- 1. tools ------------------------------------------------------------------------------------
if [[ $EUID -ne 0 ]]; then
  fail "scripts/images.sh must run as root (buildah mount, podman with runc); it ran as uid $EUID"
  finish
fi
missing=()
for tool in buildah podman runc mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
  echo "[images] installing ${missing[*]} (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
tools_ok=1
for tool in buildah podman runc mmdebstrap; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    fail "$tool is not installed and apt-get could not install it"
    tools_ok=0
  fi
done
((tools_ok)) || finish
echo "[images] $(buildah --version | head -n 1); $(podman --version); $(runc --version | head -n 1)"

# ---- 2. the host build: the checks import the test harness from dist/ ----------------------------
if ! node scripts/prepare.mjs images; then
  fail "npm ci / npm run build on the host (the checks need dist/test/harness)"
  finish
fi

# ---- 3. base images --------------------------------------------------------------------------------
# Each in its own shell with errexit: inside `if !` this shell would ignore a failing step.
standin() {
  CACHE="$CACHE" bash -euo pipefail -c 'source "$1" && "$2"' _ "$ROOT/scripts/images/base-images.sh" "$1"
}
if ! standin build_runtime_standin; then
  fail "stand-in base image gcr.io/distroless/nodejs24-debian12:nonroot"
  finish
fi
if ! standin build_build_standin; then
  fail "stand-in base image node:24-bookworm-slim"
  finish
fi

# ---- 4. the images, from the real Dockerfiles --------------------------------------------------
build_image() { # $1 dockerfile, $2 tag
  local started=$SECONDS
  echo "[images] buildah bud -f $1 -t $2"
  if buildah bud --pull=never --isolation chroot --layers --force-rm --quiet \
    --build-arg "NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-}" \
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
    -f "$1" -t "$2" . >"$CACHE/build-$(basename "$1").log" 2>&1; then
    pass "$1 builds with buildah --pull=never ($((SECONDS - started))s)"
  else
    tail -n 40 "$CACHE/build-$(basename "$1").log"
    fail "$1 builds with buildah --pull=never (log: .cache/images/build-$(basename "$1").log)"
    return 1
  fi
}
sidecar_arg=(--sidecar "$SIDECAR_IMAGE")
webhook_arg=(--webhook "$WEBHOOK_IMAGE")
build_image Dockerfile.sidecar "$SIDECAR_IMAGE" || sidecar_arg=()
build_image Dockerfile.webhook "$WEBHOOK_IMAGE" || webhook_arg=()

# ---- 5. run them --------------------------------------------------------------------------------
# check.mjs adds its own checks to these counts and prints the final `images:` line.
node scripts/images/check.mjs "${sidecar_arg[@]}" "${webhook_arg[@]}" \
  --passed "$PASSED" --failed "$FAILED" --started "$STARTED" --log "${LOG#"$ROOT"/}"
quit $?
