#!/usr/bin/env bash
# The Kubernetes tooling `devenv k8s` is tested with (called by .ci/run; idempotent, cached):
#   - PyPI's kubernetes-validate (pinned) in a venv: $DEVENV_CI_CACHE/kubernetes-validate
#   - Debian trixie's kind and kubectl packages, unpacked (not installed, the system's
#     apt sources are not touched): $DEVENV_CI_CACHE/k8s-tools/usr/bin/{kind,kubectl}
# No cluster is ever created by CI: kind's node image cannot be pulled here.
set -euo pipefail

CACHE="${DEVENV_CI_CACHE:-/var/cache/devenv-ci}"
KV_VERSION=1.37.0
VENV="$CACHE/kubernetes-validate"
TOOLS="$CACHE/k8s-tools"
LOG="$CACHE/k8s-tools.log"
mkdir -p "$CACHE"
: >"$LOG"

fail() { tail -n 30 "$LOG" >&2 || true; echo "ERROR: $*" >&2; exit 1; }

# ---- kubernetes-validate ------------------------------------------------------
if [[ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null || true)" == "$KV_VERSION" ]]; then
  echo "kubernetes-validate $KV_VERSION: cached ($VENV)"
else
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    echo "installing python3-venv from Debian"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; } >>"$LOG" 2>&1 || fail "apt-get could not install python3-venv (log: $LOG)"
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV" >>"$LOG" 2>&1 || fail "python3 -m venv failed (log: $LOG)"
  "$VENV/bin/pip" install --quiet "kubernetes-validate==$KV_VERSION" >>"$LOG" 2>&1 || fail "pip could not install kubernetes-validate (log: $LOG)"
  echo "kubernetes-validate $("$VENV/bin/kubernetes-validate" --version) installed ($VENV)"
fi

# ---- kind + kubectl (Debian trixie packages, unpacked) --------------------------
if [[ -x "$TOOLS/usr/bin/kind" && -x "$TOOLS/usr/bin/kubectl" ]]; then
  echo "kind $("$TOOLS/usr/bin/kind" version | awk '{print $2}'), kubectl $("$TOOLS/usr/bin/kubectl" version --client 2>/dev/null | head -1 | awk '{print $3}'): cached ($TOOLS)"
else
  T="$CACHE/trixie-apt"
  mkdir -p "$T/lists/partial" "$T/cache/archives/partial" "$T/debs"
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' >"$T/sources.list"
  O=(-o "Dir::Etc::sourcelist=$T/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$T/lists" -o "Dir::Cache=$T/cache")
  apt-get "${O[@]}" update >>"$LOG" 2>&1 || fail "apt-get update (trixie lists) failed (log: $LOG)"
  # Ask for trixie's versions explicitly: an installed kubectl from another source must not win.
  kind_v="$(apt-cache "${O[@]}" madison kind | awk '$5 ~ /trixie/ || /deb.debian.org/ {print $3; exit}')"
  kubectl_v="$(apt-cache "${O[@]}" madison kubectl | awk '/deb.debian.org/ {print $3; exit}')"
  [[ -n "$kind_v" && -n "$kubectl_v" ]] || fail "kind/kubectl not found in Debian trixie (log: $LOG)"
  (cd "$T/debs" && rm -f ./*.deb && apt-get "${O[@]}" download "kind=$kind_v" "kubectl=$kubectl_v") >>"$LOG" 2>&1 || fail "apt-get download kind kubectl failed (log: $LOG)"
  rm -rf "$TOOLS.new" && mkdir -p "$TOOLS.new"
  for deb in "$T"/debs/*.deb; do dpkg-deb -x "$deb" "$TOOLS.new"; done
  rm -rf "$TOOLS" && mv "$TOOLS.new" "$TOOLS"
  echo "kind $kind_v, kubectl $kubectl_v unpacked ($TOOLS/usr/bin)"
fi
