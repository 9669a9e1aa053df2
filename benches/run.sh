#!/usr/bin/env bash
# Benchmark: `devenv run -- true` on the preset stack (postgres + redis + clickhouse +
# Kafka-protocol broker + one app), cold (nothing up; includes teardown) and warm
# (already up: `run --keep`), vs `docker compose up -d --wait && true && docker
# compose down -v` on the same stack (healthchecks at interval 10s and 1s).
# Same stand-in images for every tool. Medians of N runs.
#
# Usage: benches/run.sh [RUNS]        (default 5)
# Needs: a Docker engine, the devenv-test/* images, `docker compose` (v2).
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=benches/stack.sh
source "$REPO/benches/stack.sh"

compose_cycle() { docker compose -f "$1" up -d --wait && true && docker compose -f "$1" down -v -t 1; }

declare -a COLD WARM C10 C1
for i in $(seq 1 "$RUNS"); do
  cleanup
  COLD+=("$(timed "$DEVENV" -f "$WORK/devenv.yaml" run -- true)")
  "$DEVENV" -f "$WORK/devenv.yaml" up -d >/dev/null 2>&1
  WARM+=("$(timed "$DEVENV" -f "$WORK/devenv.yaml" run --keep -- true)")
  cleanup
  C10+=("$(timed compose_cycle "$WORK/compose10.yaml")")
  C1+=("$(timed compose_cycle "$WORK/compose1.yaml")")
  printf 'run %d: devenv cold %ss warm %ss  compose@10s %ss  compose@1s %ss\n' "$i" "${COLD[-1]}" "${WARM[-1]}" "${C10[-1]}" "${C1[-1]}" >&2
done
cleanup
cold=$(median "${COLD[@]}"); warm=$(median "${WARM[@]}"); c10=$(median "${C10[@]}"); c1=$(median "${C1[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "\`run -- true\` on the preset stack, median of $RUNS runs:"
echo
echo "| what | median | ÷ compose@10s | ÷ compose@1s |"
echo "|---|---|---|---|"
echo "| devenv run -- true, cold (up + run + teardown) | ${cold}s | $(ratio "$cold" "$c10") | $(ratio "$cold" "$c1") |"
echo "| devenv run --keep -- true, warm (already up) | ${warm}s | $(ratio "$warm" "$c10") | $(ratio "$warm" "$c1") |"
echo "| compose up -d --wait && true && down -v, interval 10s | ${c10}s | 1.00 | |"
echo "| compose up -d --wait && true && down -v, interval 1s | ${c1}s | | 1.00 |"
