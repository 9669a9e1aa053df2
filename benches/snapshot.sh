#!/usr/bin/env bash
# Benchmark: back to the seeded state — re-seeding (`devenv seed --reset --yes S`)
# vs `devenv reset S` (the seeded snapshot; Postgres inside the server) vs
# `devenv snapshot restore seeded S`, per preset, plus `snapshot save`; and,
# for Postgres, the template-database reset that testcontainers-go drives
# through `docker exec psql` (DROP DATABASE … WITH (FORCE); CREATE DATABASE …
# TEMPLATE …) as the comparator, and the time devenv's own reset reports for
# the data being back (its in-server swap, without process start and
# config loading). Same stand-in images as the tests.
#
# SERVICES="db cache" benches/snapshot.sh …  — only those (default: all four).
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
read -r -a SVCS <<<"${SERVICES:-db cache olap events}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
WORK="$(mktemp -d)"
export DEVENV_IMAGE_MAP="$REPO/fixtures/images/map.yaml" DEVENV_PROGRESS=quiet NO_COLOR=1 DEVENV_PORTS=random
dv() { "$DEVENV" -f "$WORK/devenv.yaml" "$@"; }
cleanup() {
  dv down -v -t 1 >/dev/null 2>&1 || true
  for v in $(docker volume ls -q --filter label=dev.devenv.snapshot-of=bench-snap) $(docker volume ls -q --filter label=dev.devenv.seeded-of=bench-snap); do docker volume rm -f "$v" >/dev/null; done
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
UP=$(timed dv up -d "${SVCS[@]}")
echo "first up with seeding: ${UP}s" >&2
db_container=$(docker ps -q --filter label=dev.devenv.project=bench-snap --filter label=dev.devenv.service=db)
psql_exec() { docker exec "$db_container" psql -U devenv -d postgres -qtAc "$1"; }
# testcontainers-go's Postgres snapshot: a template copy of the database, restored by exec psql.
if [[ -n "$db_container" ]]; then
  psql_exec "CREATE DATABASE bench_tpl TEMPLATE bench" >/dev/null
  # A template (as testcontainers-go marks it): not one of the user's databases devenv snapshots.
  psql_exec "ALTER DATABASE bench_tpl WITH IS_TEMPLATE true" >/dev/null
fi
SAVE=$(timed dv snapshot save seeded "${SVCS[@]}")
echo "snapshot save (${SVCS[*]}): ${SAVE}s" >&2
# `reset` and `save` return once their own work is done; a detached devenv
# then prepares the next restore, holding the project's lock. `settled` waits
# for it (as a test suite does, by running its next test meanwhile), so each
# timed command starts on a prepared server.
LOCKS="${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/devenv/locks}"
LOCKS="${LOCKS:-$HOME/.cache/devenv/locks}"
settled() { flock -w 600 "$LOCKS/bench-snap.lock" true 2>/dev/null || true; }
# devenv's own report of the in-server swap: "(data back in N ms)".
back_ms() { settled; "$DEVENV" -f "$WORK/devenv.yaml" --progress plain reset db 2>&1 | sed -n 's/.*data back in \([0-9]*\) ms.*/\1/p'; }
# `devenv reset S`, or "-" where S has no seeded snapshot (seeding under 10 s and no in-server path).
reset_or_dash() { settled; if dv reset "$1" >/dev/null 2>&1; then settled; timed dv reset "$1"; else echo "-"; fi; }
template_reset() {
  psql_exec "DROP DATABASE bench WITH (FORCE)" && psql_exec "CREATE DATABASE bench TEMPLATE bench_tpl"
}

declare -A RESEED RESTORE RESET
TPL=() BACK=()
for svc in "${SVCS[@]}"; do
  for i in $(seq 1 "$RUNS"); do
    settled; a=$(timed dv seed --reset --yes --no-jobs "$svc")
    settled; b=$(timed dv snapshot restore seeded "$svc")
    c=$(reset_or_dash "$svc")
    RESEED[$svc]+="$a "; RESTORE[$svc]+="$b "; RESET[$svc]+="$c "
    echo "$svc run $i: re-seed ${a}s, restore ${b}s, reset ${c}s" >&2
  done
done
if [[ " ${SVCS[*]} " == *" db "* ]]; then
  for i in $(seq 1 "$RUNS"); do BACK+=("$(back_ms)"); done
fi
db_container=$(docker ps -q --filter label=dev.devenv.project=bench-snap --filter label=dev.devenv.service=db)
if [[ -n "$db_container" ]]; then for i in $(seq 1 "$RUNS"); do TPL+=("$(timed template_reset)"); done; fi

echo
echo "Back to the seeded state, median of $RUNS runs ($ROWS rows/keys; Kafka $((ROWS / 10)) messages; $(basename "$DEVENV") build at $DEVENV):"
echo
echo "| service | re-seed (\`seed --reset\`) | \`reset\` | \`snapshot restore\` | re-seed ÷ reset | re-seed ÷ restore |"
echo "|---|---|---|---|---|---|"
for svc in "${SVCS[@]}"; do
  # shellcheck disable=SC2086
  a=$(median ${RESEED[$svc]}); b=$(median ${RESTORE[$svc]})
  # shellcheck disable=SC2086
  if [[ "${RESET[$svc]}" == *-* ]]; then c="-"; r="-"; else c="$(median ${RESET[$svc]})s"; r="$(ratio "$a" "${c%s}")×"; fi
  echo "| $svc | ${a}s | $c | ${b}s | $r | $(ratio "$a" "$b")× |"
done
if ((${#BACK[@]})); then
  echo
  echo "Postgres \`reset\`, the data back (devenv's own report, the in-server swap): $(median "${BACK[@]}") ms (median of ${BACK[*]})."
fi
if ((${#TPL[@]})); then
  echo
  echo "Postgres, template database through \`docker exec psql\` (testcontainers-go's way): $(median "${TPL[@]}")s per reset."
fi
echo "\`snapshot save\` of ${SVCS[*]}: ${SAVE}s (one run). First \`up\` with seeding: ${UP}s."
