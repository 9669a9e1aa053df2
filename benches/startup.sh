#!/usr/bin/env bash
# Benchmark: time to "everything ready" for one stack —
#   postgres + redis + clickhouse + Kafka-protocol broker + one app depending on all four —
# `devenv up -d` vs `docker compose up -d --wait` (healthchecks at interval 10s, the
# common default, and tuned at 1s), and vs the critical path (the slowest backing
# service's own time to ready when started alone, plus the app's own).
# Same stand-in images for every tool (fixtures/images/build.sh). Medians of N runs.
#
# Usage: benches/startup.sh [RUNS]        (default 5)
# Needs: a Docker engine, the devenv-test/* images, `docker compose` (v2).
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=benches/stack.sh
source "$REPO/benches/stack.sh"


declare -a T_DEVENV T_C10 T_C1 T_APP
declare -A T_ALONE   # service -> space-separated times
for i in $(seq 1 "$RUNS"); do
  cleanup
  T_DEVENV+=("$(timed "$DEVENV" -f "$WORK/devenv.yaml" up -d --trace)")
  # Where that run's time went (`up --trace`): kept for the slowest run's table below.
  sed -n '/^trace:/,$p' "$WORK/last.log" >"$WORK/trace$i.txt"
  cleanup
  T_C10+=("$(timed docker compose -f "$WORK/compose10.yaml" up -d --wait)")
  cleanup
  T_C1+=("$(timed docker compose -f "$WORK/compose1.yaml" up -d --wait)")
  cleanup
  # Critical path parts: each backing service alone (fresh), then the app's own
  # start with its dependencies already ready.
  for svc in db cache olap events; do
    "$DEVENV" -f "$WORK/devenv.yaml" down -v -t 1 >/dev/null 2>&1 || true
    T_ALONE[$svc]+="$(timed "$DEVENV" -f "$WORK/devenv.yaml" up -d "$svc") "
  done
  "$DEVENV" -f "$WORK/devenv.yaml" up -d db cache olap events >/dev/null 2>&1
  T_APP+=("$(timed "$DEVENV" -f "$WORK/devenv.yaml" up -d app)")
  printf 'run %d: devenv %ss  compose@10s %ss  compose@1s %ss  alone: %s\n' "$i" "${T_DEVENV[-1]}" "${T_C10[-1]}" "${T_C1[-1]}" \
    "$(for s in db cache olap events; do printf '%s=%ss ' "$s" "$(echo "${T_ALONE[$s]}" | awk '{print $NF}')"; done)app=${T_APP[-1]}s" >&2
done
cleanup

d=$(median "${T_DEVENV[@]}"); c10=$(median "${T_C10[@]}"); c1=$(median "${T_C1[@]}")
# Critical path: the slowest backing service's median time alone + the app's median.
slowest=0; slowest_name=""
for s in db cache olap events; do
  # shellcheck disable=SC2086
  m=$(median ${T_ALONE[$s]})
  if awk -v a="$m" -v b="$slowest" 'BEGIN { exit !(a > b) }'; then slowest=$m; slowest_name=$s; fi
done
crit=$(awk -v a="$slowest" -v b="$(median "${T_APP[@]}")" 'BEGIN { printf "%.3f", a + b }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
fast=1 slow=1
for i in $(seq 1 "$RUNS"); do
  awk -v a="${T_DEVENV[$((i - 1))]}" -v b="${T_DEVENV[$((fast - 1))]}" 'BEGIN { exit !(a < b) }' && fast=$i || true
  awk -v a="${T_DEVENV[$((i - 1))]}" -v b="${T_DEVENV[$((slow - 1))]}" 'BEGIN { exit !(a > b) }' && slow=$i || true
done
echo
echo "devenv's fastest run ($fast, ${T_DEVENV[$((fast - 1))]}s) and slowest ($slow, ${T_DEVENV[$((slow - 1))]}s), from \`up --trace\`:"
echo; cat "$WORK/trace$fast.txt"; echo; cat "$WORK/trace$slow.txt"
echo
echo "Startup to all-ready, median of $RUNS runs (postgres + redis + clickhouse + kafka-protocol + app):"
echo
echo "| tool | median | devenv ÷ tool | target |"
echo "|---|---|---|---|"
echo "| devenv up -d | ${d}s | 1.00 | |"
echo "| docker compose up -d --wait, interval 10s | ${c10}s | $(ratio "$d" "$c10") | ≤ 0.35 |"
echo "| docker compose up -d --wait, interval 1s | ${c1}s | $(ratio "$d" "$c1") | ≤ 0.90 |"
echo "| critical path ($slowest_name alone ${slowest}s + app) | ${crit}s | $(ratio "$d" "$crit") | ≤ 1.15 |"
