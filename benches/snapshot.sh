#!/usr/bin/env bash
# Benchmark: back to the seeded state — re-seeding (`devenv seed --reset --yes S`)
# vs `devenv snapshot restore seeded S`, per preset, plus `snapshot save`; and,
# for Postgres, the template-database reset that testcontainers-go drives
# through `docker exec psql` (DROP DATABASE … WITH (FORCE); CREATE DATABASE …
# TEMPLATE …) as the comparator. Same stand-in images as the tests.
#
#   Postgres    ROWS rows (csv: → COPY)            default 1 000 000
#   Redis       ROWS keys (redis: SET lines)       default 1 000 000
#   ClickHouse  ROWS rows (csv: → INSERT)          default 1 000 000
#   Kafka       ROWS/10 messages (topic: messages:) default   100 000
#
# Usage: benches/snapshot.sh [RUNS] [ROWS]      (defaults 3, 1000000)
# Needs: a Docker engine and the devenv-test/* images. Medians of RUNS runs.
set -euo pipefail

RUNS="${1:-3}"
ROWS="${2:-1000000}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
WORK="$(mktemp -d)"
export DEVENV_IMAGE_MAP="$REPO/fixtures/images/map.yaml" DEVENV_PROGRESS=quiet NO_COLOR=1 DEVENV_PORTS=random
dv() { "$DEVENV" -f "$WORK/devenv.yaml" "$@"; }
cleanup() {
  dv down -v -t 1 >/dev/null 2>&1 || true
  for v in $(docker volume ls -q --filter label=dev.devenv.snapshot-of=bench-snap); do docker volume rm -f "$v" >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=benches/timing.sh
source "$REPO/benches/timing.sh"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

python3 - "$WORK" "$ROWS" <<'PY'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{work}/seed", exist_ok=True)
with open(f"{work}/seed/pg.sql", "w") as f:
    f.write("CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric);\n")
with open(f"{work}/seed/items.csv", "w") as f:
    f.write("id,name,price\n")
    f.writelines(f"{i},item-{i},{i % 1000}.{i % 100:02d}\n" for i in range(n))
with open(f"{work}/seed/ch.sql", "w") as f:
    f.write("CREATE TABLE items (id UInt64, name String, price Float64) ENGINE = MergeTree ORDER BY id;\n")
with open(f"{work}/seed/cache.redis", "w") as f:
    f.writelines(f"SET item:{i} {i}\n" for i in range(n))
with open(f"{work}/seed/ticks.jsonl", "w") as f:
    f.writelines(f'{{"key": "{i}", "value": "tick {i}"}}\n' for i in range(n // 10))
PY
cat >"$WORK/devenv.yaml" <<'YAML'
name: bench-snap
services:
  db:
    preset: postgres
    env: {POSTGRES_DB: bench}
    seed:
      - sql: seed/pg.sql
      - csv: seed/items.csv
        table: items
  cache:
    preset: redis
    persist: true
    seed:
      - redis: seed/cache.redis
  olap:
    preset: clickhouse
    env: {CLICKHOUSE_DB: bench}
    seed:
      - sql: seed/ch.sql
      - csv: seed/items.csv
        table: items
  events:
    preset: kafka
    seed:
      - topic: ticks
        partitions: 3
        messages: seed/ticks.jsonl
YAML

echo "seeding (first up) …" >&2
UP=$(timed dv up -d)
echo "first up with seeding: ${UP}s" >&2
db_container=$(docker ps -q --filter label=dev.devenv.project=bench-snap --filter label=dev.devenv.service=db)
psql_exec() { docker exec "$db_container" psql -U devenv -d postgres -qtAc "$1"; }
# testcontainers-go's Postgres snapshot: a template copy of the database, restored by exec psql.
psql_exec "CREATE DATABASE bench_tpl TEMPLATE bench" >/dev/null
SAVE=$(timed dv snapshot save seeded)
echo "snapshot save (all four): ${SAVE}s" >&2
template_reset() {
  psql_exec "DROP DATABASE bench WITH (FORCE)" && psql_exec "CREATE DATABASE bench TEMPLATE bench_tpl"
}

declare -A RESEED RESTORE
TPL=()
for svc in db cache olap events; do
  for i in $(seq 1 "$RUNS"); do
    a=$(timed dv seed --reset --yes --no-jobs "$svc")
    b=$(timed dv snapshot restore seeded "$svc")
    RESEED[$svc]+="$a "; RESTORE[$svc]+="$b "
    echo "$svc run $i: re-seed ${a}s, restore ${b}s" >&2
  done
done
db_container=$(docker ps -q --filter label=dev.devenv.project=bench-snap --filter label=dev.devenv.service=db)
for i in $(seq 1 "$RUNS"); do TPL+=("$(timed template_reset)"); done

echo
echo "Back to the seeded state, median of $RUNS runs ($ROWS rows/keys; Kafka $((ROWS / 10)) messages; $(basename "$DEVENV") build at $DEVENV):"
echo
echo "| service | re-seed (\`seed --reset\`) | \`snapshot restore\` | re-seed ÷ restore |"
echo "|---|---|---|---|"
for svc in db cache olap events; do
  # shellcheck disable=SC2086
  a=$(median ${RESEED[$svc]}); b=$(median ${RESTORE[$svc]})
  echo "| $svc | ${a}s | ${b}s | $(ratio "$a" "$b")× |"
done
t=$(median "${TPL[@]}")
echo
echo "Postgres, template database through \`docker exec psql\` (testcontainers-go's way): ${t}s per reset."
echo "\`snapshot save\` of all four: ${SAVE}s (one run). First \`up\` with seeding: ${UP}s."
