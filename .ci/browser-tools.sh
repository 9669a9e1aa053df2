#!/usr/bin/env bash
# The headless browser of tests/it/web_ui.rs (`devenv ui` end to end): Debian's
# `chromium` and npm's `playwright-core` (which drives it; no browser download).
# Called by test.sh; idempotent, cached, loud when it fails.
#
#   chromium         apt-get install (root only; otherwise the missing package is reported)
#   playwright-core  npm install, pinned, into $DEVENV_CI_CACHE/playwright (reused on reruns)
#
# Prints nothing else on success; tests/it/web_ui.rs finds them through
# DEVENV_CHROMIUM and DEVENV_PLAYWRIGHT_DIR (test.sh exports them).
set -euo pipefail

CACHE="${DEVENV_CI_CACHE:-/var/cache/devenv-ci}"
PW_VERSION="1.65.2"
PW_DIR="$CACHE/playwright"
LOG="$CACHE/browser-tools.log"
mkdir -p "$CACHE"

fail() { [[ -f "$LOG" ]] && tail -n 30 "$LOG" >&2; echo "ERROR: browser tools: $*" >&2; exit 1; }

if command -v chromium >/dev/null; then
  echo "chromium: present ($(chromium --version 2>/dev/null || echo '?'))"
elif [[ "$(id -u)" == 0 ]]; then
  echo "installing chromium (log: $LOG)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update && apt-get install -y --no-install-recommends chromium; } >"$LOG" 2>&1 || fail "apt-get install chromium failed"
else
  fail "chromium is not installed: sudo apt-get install -y chromium (or run test.sh as root)"
fi

command -v node >/dev/null || fail "node is not installed (Debian: apt-get install nodejs npm)"
if [[ -f "$PW_DIR/node_modules/playwright-core/package.json" ]] \
  && grep -q "\"version\": \"$PW_VERSION\"" "$PW_DIR/node_modules/playwright-core/package.json"; then
  echo "playwright-core $PW_VERSION: present in $PW_DIR"
else
  command -v npm >/dev/null || fail "npm is not installed (Debian: apt-get install npm)"
  echo "installing playwright-core $PW_VERSION into $PW_DIR (log: $LOG)"
  mkdir -p "$PW_DIR"
  # No browser download: the tests use Debian's chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$PW_DIR" --no-audit --no-fund "playwright-core@$PW_VERSION" >>"$LOG" 2>&1 \
    || fail "npm install playwright-core@$PW_VERSION failed"
fi
