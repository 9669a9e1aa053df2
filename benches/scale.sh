#!/usr/bin/env bash
# Benchmark: how `up -d` and `down` grow with the number of services, devenv vs
# compose. N trivial services (`sleep infinity` in devenv-test/app:1 behind
# `init: true`, so SIGTERM stops it at once; no ports, no dependencies, no
# healthcheck) for each N in SIZES. Medians of RUNS runs.
#
# Usage: benches/scale.sh [RUNS] [SIZES...]     (default 5; 10 40 100)
# Needs: a Docker engine, the devenv-test/app:1 image, `docker compose` (v2).
set -euo pipefail

RUNS="${1:-5}"; shift || true
SIZES=("${@:-10 40 100}"); read -r -a SIZES <<<"${SIZES[*]}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
docker compose version >/dev/null 2>&1 || { echo "docker compose v2 is required" >&2; exit 1; }
WORK="$(mktemp -d)"
export DEVENV_PROGRESS=plain NO_COLOR=1
# shellcheck source=benches/timing.sh
source "$REPO/benches/timing.sh"

stack() {  # stack NAME N
  echo "name: $1"; echo "services:"
  for i in $(seq 1 "$2"); do printf '  s%d:\n    image: devenv-test/app:1\n    command: [sleep, infinity]\n    init: true\n' "$i"; done
}
cleanup() {
  local m
  for m in "${SIZES[@]}"; do
    "$DEVENV" -f "$WORK/devenv$m.yaml" down -v >/dev/null 2>&1 || true
    docker compose -f "$WORK/compose$m.yaml" down -v -t 0 >/dev/null 2>&1 || true
  done
}
trap 'cleanup; rm -rf "$WORK"' EXIT
# Project names of this invocation only: a network an earlier, failed run left
# behind (Docker can keep a stale endpoint after mass removals) is not reused.
for n in "${SIZES[@]}"; do
  stack "bench-scale-devenv-$$" "$n" >"$WORK/devenv$n.yaml"
  stack "bench-scale-compose-$$" "$n" >"$WORK/compose$n.yaml"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
per() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.0f", a * 1000 / n }'; }
declare -A ROWS
for n in "${SIZES[@]}"; do
  declare -a UP=() DOWN=() CUP=() CDOWN=()
  for i in $(seq 1 "$RUNS"); do
    cleanup
    UP+=("$(timed "$DEVENV" -f "$WORK/devenv$n.yaml" up -d)")
    DOWN+=("$(timed "$DEVENV" -f "$WORK/devenv$n.yaml" down)")
    CUP+=("$(timed docker compose -f "$WORK/compose$n.yaml" up -d)")
    CDOWN+=("$(timed docker compose -f "$WORK/compose$n.yaml" down)")
    printf 'N=%d run %d: devenv up %ss down %ss  compose up %ss down %ss\n' "$n" "$i" "${UP[-1]}" "${DOWN[-1]}" "${CUP[-1]}" "${CDOWN[-1]}" >&2
  done
  u=$(median "${UP[@]}"); d=$(median "${DOWN[@]}"); cu=$(median "${CUP[@]}"); cd=$(median "${CDOWN[@]}")
  ROWS[$n]="| $n | ${u}s ($(per "$u" "$n") ms/svc) | ${cu}s ($(per "$cu" "$n") ms/svc) | $(ratio "$u" "$cu") | ${d}s ($(per "$d" "$n") ms/svc) | ${cd}s ($(per "$cd" "$n") ms/svc) | $(ratio "$d" "$cd") |"
done
echo
echo "\`up -d\` / \`down\` of N trivial services, median of $RUNS runs:"
echo
echo "| N | devenv up -d | compose up -d | ÷ | devenv down | compose down | ÷ |"
echo "|---|---|---|---|---|---|---|"
for n in "${SIZES[@]}"; do echo "${ROWS[$n]}"; done
