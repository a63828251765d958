#!/usr/bin/env bash
# Installs what the deploy/ tests (test/deploy/) need, idempotently, on a fresh Debian machine:
#   - promtool and prometheus from Debian's `prometheus` package (rule checks, rule unit tests and a
#     real server that scrapes the sidecar and the webhook in the metrics-match test);
#   - helm, built from source through the Go module proxy into the git-ignored .cache/tools/bin
#     (helm is in neither Debian nor npm here);
#   - kubectl is preinstalled on these machines; it is only checked for.
# Runs as root with no human. Prints what it does to stderr; on a warm machine it only checks.
set -euo pipefail

HELM_VERSION="v3.22.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_BIN="$ROOT/.cache/tools/bin"

log() { printf '[deploy-tools] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    log "need root to $1 (or install it by hand and re-run)"
    exit 1
  fi
}

install_prometheus() {
  if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    log "promtool and prometheus present: $(command -v promtool), $(command -v prometheus)"
    return
  fi
  need_root "apt-get install prometheus"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101 tells invoke-rc.d not to start services during this install, so Debian's
  # own prometheus service never grabs :9090 (our tests start their own servers on free ports).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  if ! apt-cache policy prometheus 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    log "apt-get update"
    apt-get update -qq >&2
  fi
  log "apt-get install -y prometheus"
  apt-get install -y -qq --no-install-recommends prometheus >&2
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
  stop_debian_prometheus
}

# If the package's service did start anyway (a machine with systemd, or policy-rc.d already
# allowing it), stop it and keep it from starting again: it would hold :9090 and scrape nothing useful.
stop_debian_prometheus() {
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    log "stopping and disabling Debian's prometheus service"
    systemctl disable --now prometheus >&2 || true
  elif command -v service >/dev/null 2>&1 && service prometheus status >/dev/null 2>&1; then
    log "stopping Debian's prometheus service"
    service prometheus stop >&2 || true
  fi
}

# helm's Makefile stamps its version and the Kubernetes version it assumes (`helm template` and
# `helm lint` check charts' kubeVersion against it) through -ldflags; a bare `go install` would
# leave them at v0.0.0 / v1.20, so set them the same way: Kubernetes 1.N for client-go v0.N.
helm_ldflags() {
  local gomod client_go minor
  gomod="$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
  client_go="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")"
  minor="$(printf '%s' "$client_go" | cut -d. -f2)"
  if [ -z "$minor" ]; then
    log "cannot read k8s.io/client-go's version from $gomod"
    exit 1
  fi
  printf -- '-s -w -X helm.sh/helm/v3/internal/version.version=%s' "$HELM_VERSION"
  printf -- ' -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=%s' "$minor"
  printf -- ' -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=%s' "$minor"
}

install_helm() {
  local stamp="$TOOLS_BIN/.helm-version"
  if [ -x "$TOOLS_BIN/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$HELM_VERSION" ]; then
    log "helm present: $TOOLS_BIN/helm ($HELM_VERSION)"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "go is missing: helm is built with 'go install' through the Go module proxy"
    exit 1
  fi
  mkdir -p "$TOOLS_BIN"
  log "building helm $HELM_VERSION with go install through the Go module proxy (cold: about 2 minutes)"
  local ldflags
  ldflags="$(helm_ldflags)"
  CGO_ENABLED=0 GOBIN="$TOOLS_BIN" go install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" >&2
  printf '%s\n' "$HELM_VERSION" >"$stamp"
  log "helm installed: $("$TOOLS_BIN/helm" version --short)"
}

check_kubectl() {
  if ! command -v kubectl >/dev/null 2>&1; then
    log "kubectl is missing (preinstalled on these machines; 'kubectl kustomize' builds deploy/kustomize)"
    exit 1
  fi
  log "kubectl present: $(kubectl version --client 2>/dev/null | head -1)"
}

install_prometheus
stop_debian_prometheus
install_helm
check_kubectl
