#!/usr/bin/env bash
# Prints the path of a Python that has matplotlib, making it when missing: a venv in a per-user
# cache keyed by the matplotlib version, ~/.cache/vault-autounseal/plot-venv-<version>
# (or $VAULT_AUTOUNSEAL_CACHE), with matplotlib and everything it pulls in pinned below and taken
# from PyPI as wheels only (nothing compiles). `npm run chaos -- --soak` calls it to draw its plot
# (scripts/plot-soak.py); a warm machine only checks the import.
set -euo pipefail

MATPLOTLIB_VERSION=3.11.2
# What matplotlib $MATPLOTLIB_VERSION pulls in on Python 3.11, pinned so two machines draw with the
# same code.
PINS=(
  "matplotlib==$MATPLOTLIB_VERSION"
  contourpy==1.3.3
  cycler==0.12.1
  fonttools==4.68.0
  kiwisolver==1.5.1
  numpy==2.4.6
  packaging==26.4
  pillow==13.0.0
  pyparsing==3.3.3
  python-dateutil==4.0.0
  tzdata==2026.6
)
CACHE="${VAULT_AUTOUNSEAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-autounseal}"
VENV="$CACHE/plot-venv-$MATPLOTLIB_VERSION"
PY="$VENV/bin/python"

log() { printf '[plot-tools] %s\n' "$*" >&2; }

# check: the venv's Python imports the pinned matplotlib.
check() {
  local out
  out=$("$PY" -c 'import matplotlib; print(matplotlib.__version__)' 2>&1) || {
    log "$PY cannot import matplotlib: $out"
    return 1
  }
  [ "$out" = "$MATPLOTLIB_VERSION" ] || {
    log "$PY has matplotlib $out, not $MATPLOTLIB_VERSION"
    return 1
  }
}

if [ -x "$PY" ] && check 2>/dev/null; then
  echo "$PY"
  exit 0
fi

command -v python3 >/dev/null 2>&1 || {
  log "python3 is missing: the plot is drawn with matplotlib"
  exit 1
}

# One install at a time per cache (a second soak waits for the first).
mkdir -p "$CACHE"
exec 9>"$CACHE/.plot-venv.lock"
flock 9
if [ -x "$PY" ] && check 2>/dev/null; then
  echo "$PY"
  exit 0
fi

log "installing matplotlib $MATPLOTLIB_VERSION into $VENV"
# Made afresh: a venv left half-made by an interrupted install failed check() above.
rm -rf "$VENV"
python3 -m venv "$VENV"
"$PY" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  "${PINS[@]}" >&2
check
log "matplotlib $MATPLOTLIB_VERSION ($PY)"
echo "$PY"
