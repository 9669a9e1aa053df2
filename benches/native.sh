#!/usr/bin/env bash
# Benchmark: compose healthchecks asked natively vs exec'd, devenv alone.
# postgres + redis + clickhouse + an app gated on all three, written as a
# compose file with the healthchecks of benches/stack.sh (`pg_isready`,
# `redis-cli ping`, `clickhouse-client … --query 'SELECT 1'`: forms devenv
# recognises and asks on the wire), and the same file with each test made
# unrecognisable by `&& true` (so devenv `docker exec`s it every poll, as it
# did for every test before). `devenv -f FILE up -d --wait`, medians of N
# runs, alternating. Needs no compose and no Kafka image.
#
# Usage: benches/native.sh [RUNS]        (default 5; DEVENV_BIN picks the binary)
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
WORK="$(mktemp -d)"
cleanup() { for f in native exec; do "$DEVENV" -f "$WORK/$f.yaml" down -v -t 1 >/dev/null 2>&1 || true; done; }
trap 'cleanup; rm -rf "$WORK"' EXIT
export NO_COLOR=1 DEVENV_PROGRESS=plain
# shellcheck source=benches/timing.sh
source "$REPO/benches/timing.sh"

stack() {  # stack PROJECT SUFFIX: SUFFIX is appended to each database check
  cat <<YAML
name: $1
services:
  db:
    image: devenv-test/postgres:15
    environment: {POSTGRES_USER: devenv, POSTGRES_PASSWORD: devenv, POSTGRES_DB: bench}
    healthcheck: {test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U devenv -d bench$2"], interval: 1s, timeout: 5s, retries: 30}
  cache:
    image: devenv-test/redis:7
    healthcheck: {test: ["CMD-SHELL", "redis-cli ping$2"], interval: 1s, timeout: 5s, retries: 30}
  olap:
    image: devenv-test/clickhouse:18
    environment: {CLICKHOUSE_USER: devenv, CLICKHOUSE_PASSWORD: devenv, CLICKHOUSE_DB: bench}
    healthcheck: {test: ["CMD-SHELL", "clickhouse-client --user devenv --password devenv --query 'SELECT 1'$2"], interval: 1s, timeout: 5s, retries: 30}
  app:
    image: devenv-test/app:1
    healthcheck: {test: ["CMD", "python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8080), 1)"], interval: 1s, timeout: 5s, retries: 30}
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_healthy}
      olap: {condition: service_healthy}
YAML
}
stack bench-native "" >"$WORK/native.yaml"
stack bench-exec " && true" >"$WORK/exec.yaml"

declare -a N E
for i in $(seq 1 "$RUNS"); do
  cleanup
  N+=("$(timed "$DEVENV" -f "$WORK/native.yaml" up -d --wait)")
  cleanup
  E+=("$(timed "$DEVENV" -f "$WORK/exec.yaml" up -d --wait)")
  printf 'run %d: native %ss exec %ss\n' "$i" "${N[-1]}" "${E[-1]}" >&2
done
n=$(median "${N[@]}"); e=$(median "${E[@]}")
echo
echo "postgres + redis + clickhouse + app as a compose file, up -d --wait, median of $RUNS runs:"
echo "| database healthchecks | devenv | native ÷ exec |"
echo "|---|---|---|"
echo "| recognised, asked on the wire | ${n} s | $(awk -v a="$n" -v b="$e" 'BEGIN { printf "%.2f", a / b }') |"
echo "| the same tests + \`&& true\`, docker exec'd | ${e} s | 1.00 |"
