#!/usr/bin/env bash
# Benchmark: teardown of 3 small services whose PID 1 ignores SIGTERM (`sleep`
# without a handler), in a dependency chain a <- b <- c, devenv vs compose:
#   `run -- true` (up + nothing + teardown), `down -v` after `up -d` (the data
#   goes: devenv kills at once), and plain `down -t 1` (graceful, reverse
#   dependency order: one grace period per wave).
# Same stand-in image for both tools. Medians of N runs.
#
# Usage: benches/teardown.sh [RUNS]        (default 5)
# Needs: a Docker engine, the devenv-test/app:1 image, `docker compose` (v2).
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
docker compose version >/dev/null 2>&1 || { echo "docker compose v2 is required" >&2; exit 1; }
WORK="$(mktemp -d)"
export DEVENV_PROGRESS=plain NO_COLOR=1
# shellcheck source=benches/timing.sh
source "$REPO/benches/timing.sh"

deaf() { printf '  %s:\n    image: devenv-test/app:1\n    command: [sleep, infinity]\n' "$1"; [[ -z "${2:-}" ]] || printf '    depends_on: [%s]\n' "$2"; }
{ echo "name: bench-td-devenv"; echo "services:"; deaf a; deaf b a; deaf c b; } >"$WORK/devenv.yaml"
{ echo "name: bench-td-compose"; echo "services:"; deaf a; deaf b a; deaf c b; } >"$WORK/compose.yaml"
cleanup() {
  "$DEVENV" -f "$WORK/devenv.yaml" down -v >/dev/null 2>&1 || true
  docker compose -f "$WORK/compose.yaml" down -v -t 0 >/dev/null 2>&1 || true
}
trap 'cleanup; rm -rf "$WORK"' EXIT

dv() { "$DEVENV" -f "$WORK/devenv.yaml" "$@"; }
dc() { docker compose -f "$WORK/compose.yaml" "$@"; }
compose_run() { dc up -d --wait && true && dc down -v; }

declare -a RUN CRUN DOWNV CDOWNV DOWN CDOWN
for i in $(seq 1 "$RUNS"); do
  cleanup
  RUN+=("$(timed dv run -- true)")
  CRUN+=("$(timed compose_run)")
  dv up -d >/dev/null 2>&1; dc up -d --wait >/dev/null 2>&1
  DOWNV+=("$(timed dv down -v)")
  CDOWNV+=("$(timed dc down -v)")
  dv up -d >/dev/null 2>&1; dc up -d --wait >/dev/null 2>&1
  DOWN+=("$(timed dv down -t 1)")
  CDOWN+=("$(timed dc down -t 1)")
  printf 'run %d: run %ss (compose %ss)  down -v %ss (compose %ss)  down -t 1 %ss (compose %ss)\n' "$i" \
    "${RUN[-1]}" "${CRUN[-1]}" "${DOWNV[-1]}" "${CDOWNV[-1]}" "${DOWN[-1]}" "${CDOWN[-1]}" >&2
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "Teardown of 3 services ignoring SIGTERM (chain a <- b <- c), median of $RUNS runs:"
echo
echo "| what | devenv | compose | devenv ÷ compose |"
echo "|---|---|---|---|"
for what in "run -- true (compose: up -d --wait && true && down -v)|RUN|CRUN" "down -v|DOWNV|CDOWNV" "down -t 1 (graceful)|DOWN|CDOWN"; do
  IFS='|' read -r label dn cn <<<"$what"
  declare -n da="$dn" ca="$cn"
  d=$(median "${da[@]}"); c=$(median "${ca[@]}")
  echo "| $label | ${d}s | ${c}s | $(ratio "$d" "$c") |"
done
