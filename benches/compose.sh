#!/usr/bin/env bash
# Benchmark: the same compose file, run by `devenv` and by `docker compose`.
# The stack of benches/stack.sh (postgres + redis + clickhouse + Kafka-protocol
# broker + an app gated on all four with `condition: service_healthy`), written
# as a compose file with healthchecks at interval 10s and at 1s.
#   devenv -f compose.yaml up -d --wait   vs   docker compose -f compose.yaml up -d --wait
# devenv runs each healthcheck test itself every 100 ms; compose waits on
# Docker's interval. Medians of N runs, as ratios.
#
# Usage: benches/compose.sh [RUNS]        (default 5)
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=benches/stack.sh
source "$REPO/benches/stack.sh"

cleanup_all() {
  cleanup
  for f in compose10 compose1; do "$DEVENV" -f "$WORK/$f.yaml" down -v -t 1 >/dev/null 2>&1 || true; done
}

declare -a D10 C10 D1 C1
for i in $(seq 1 "$RUNS"); do
  cleanup_all
  D10+=("$(timed "$DEVENV" -f "$WORK/compose10.yaml" up -d --wait)")
  cleanup_all
  C10+=("$(timed docker compose -f "$WORK/compose10.yaml" up -d --wait)")
  cleanup_all
  D1+=("$(timed "$DEVENV" -f "$WORK/compose1.yaml" up -d --wait)")
  cleanup_all
  C1+=("$(timed docker compose -f "$WORK/compose1.yaml" up -d --wait)")
  printf 'run %d: interval 10s: devenv %ss compose %ss | interval 1s: devenv %ss compose %ss\n' "$i" "${D10[-1]}" "${C10[-1]}" "${D1[-1]}" "${C1[-1]}" >&2
done
cleanup_all

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
d10=$(median "${D10[@]}"); c10=$(median "${C10[@]}"); d1=$(median "${D1[@]}"); c1=$(median "${C1[@]}")
echo
echo "One compose file, up to all-ready, median of $RUNS runs (postgres + redis + clickhouse + kafka-protocol + app):"
echo
echo "| healthcheck interval | devenv -f compose.yaml up -d --wait | docker compose up -d --wait | devenv ÷ compose |"
echo "|---|---|---|---|"
echo "| 10s | ${d10}s | ${c10}s | $(ratio "$d10" "$c10") |"
echo "| 1s | ${d1}s | ${c1}s | $(ratio "$d1" "$c1") |"
