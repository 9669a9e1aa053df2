#!/usr/bin/env bash
# Benchmark: seed data throughput.
#  - 100 000 rows into Postgres: devenv `csv:` (COPY) vs the same rows as an INSERT
#    file through `psql -f` (autocommit, and `-1` single transaction) vs the image's
#    /docker-entrypoint-initdb.d (time to ready with the file minus without it);
#  - 100 000 Kafka messages (devenv `topic:` + `messages:`);
#  - 100 000 NDJSON documents bulk-loaded (against the Elasticsearch CONTRACT DOUBLE:
#    nothing real is obtainable here, so this measures devenv's side, not Elasticsearch).
# Same stand-in images as the tests (fixtures/images/build.sh). One run each (slow paths).
#
# Usage: benches/seed.sh [ROWS]     (default 100000)
# Needs: Docker, the devenv-test/* images, the psql client on the host.
set -euo pipefail

N="${1:-100000}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
command -v psql >/dev/null || { echo "psql (client) is required: apt-get install postgresql-client" >&2; exit 1; }
WORK="$(mktemp -d)"
export DEVENV_IMAGE_MAP="$REPO/fixtures/images/map.yaml" NO_COLOR=1
PGPORT_B=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
  "$DEVENV" -f "$WORK/devenv.yaml" down -v -t 1 >/dev/null 2>&1 || true
  docker rm -f bench-seed-initdb bench-seed-psql >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$WORK" "$N" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/users.csv", "w") as f:
    f.write("id,name,email,score\n")
    for i in range(n):
        f.write(f"{i},user {i},user{i}@example.com,{i % 1000}\n")
with open(f"{work}/inserts.sql", "w") as f:
    for i in range(n):
        f.write(f"INSERT INTO users (id, name, email, score) VALUES ({i}, 'user {i}', 'user{i}@example.com', {i % 1000});\n")
with open(f"{work}/ticks.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"key": f"sym-{i % 50}", "value": {"seq": i, "price": i * 0.01}}) + "\n")
with open(f"{work}/docs.ndjson", "w") as f:
    for i in range(n):
        f.write(json.dumps({"name": f"product {i}", "price": i * 0.5, "tags": ["a", "b"]}) + "\n")
PY
SCHEMA="CREATE TABLE users (id int PRIMARY KEY, name text, email text, score int);"
echo "$SCHEMA" >"$WORK/schema.sql"

cat >"$WORK/devenv.yaml" <<YAML
name: bench-seed
services:
  db:
    preset: postgres
    env: {POSTGRES_DB: bench}
    ports: ["127.0.0.1::5432"]
    seed:
      - sql: schema.sql
      - csv: users.csv
        table: users
  events:
    preset: kafka
    ports: ["127.0.0.1::9092"]
    seed:
      - topic: ticks
        partitions: 3
        messages: ticks.jsonl
  search:
    preset: elasticsearch
    ports: ["127.0.0.1::9200"]
    seed:
      - index: products
        documents: docs.ndjson
YAML

"$DEVENV" -f "$WORK/devenv.yaml" --progress json up -d >"$WORK/events.jsonl"
read -r PG_S PG_RATE KAFKA_S KAFKA_RATE ES_S ES_RATE < <(python3 - "$WORK/events.jsonl" <<'PY'
import json, sys
got = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("status") == "seed_applied":
        got[e["entry"].split()[0]] = (e["elapsed_ms"] / 1000, e["per_second"])
out = []
for k in ("csv", "topic", "index"):
    s, r = got.get(k, (float("nan"), 0))
    out += [f"{s:.2f}", str(r)]
print(" ".join(out))
PY
)

# psql -f with an INSERT file, against a fresh stand-in (autocommit, then one transaction).
docker run -d --name bench-seed-psql -e POSTGRES_USER=devenv -e POSTGRES_PASSWORD=devenv -e POSTGRES_DB=bench \
  -p "127.0.0.1:$PGPORT_B:5432" devenv-test/postgres:15 >/dev/null
export PGPASSWORD=devenv
until psql -h 127.0.0.1 -p "$PGPORT_B" -U devenv -d bench -qAtc 'select 1' >/dev/null 2>&1; do sleep 0.1; done
timed() { local t0; t0=$(date +%s.%N); "$@" >/dev/null; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
psql -h 127.0.0.1 -p "$PGPORT_B" -U devenv -d bench -q -c "$SCHEMA"
PSQL_S=$(timed psql -h 127.0.0.1 -p "$PGPORT_B" -U devenv -d bench -q -v ON_ERROR_STOP=1 -f "$WORK/inserts.sql")
psql -h 127.0.0.1 -p "$PGPORT_B" -U devenv -d bench -q -c "TRUNCATE users"
PSQL1_S=$(timed psql -h 127.0.0.1 -p "$PGPORT_B" -U devenv -d bench -q -1 -v ON_ERROR_STOP=1 -f "$WORK/inserts.sql")
docker rm -f bench-seed-psql >/dev/null

# /docker-entrypoint-initdb.d: time to ready with the INSERT file, minus without it.
ready_time() {  # ready_time [initdb dir]
  local port t0 args=()
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  [[ -n "${1:-}" ]] && args=(-v "$1:/docker-entrypoint-initdb.d:ro")
  t0=$(date +%s.%N)
  docker run -d --name bench-seed-initdb "${args[@]}" -e POSTGRES_USER=devenv -e POSTGRES_PASSWORD=devenv -e POSTGRES_DB=bench \
    -p "127.0.0.1:$port:5432" devenv-test/postgres:15 >/dev/null
  until psql -h 127.0.0.1 -p "$port" -U devenv -d bench -qAtc 'select 1' >/dev/null 2>&1; do sleep 0.1; done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
  docker rm -f bench-seed-initdb >/dev/null
}
mkdir -p "$WORK/initdb"; cp "$WORK/schema.sql" "$WORK/initdb/01-schema.sql"; cp "$WORK/inserts.sql" "$WORK/initdb/02-inserts.sql"
BASE_S=$(ready_time)
INIT_S=$(awk -v a="$(ready_time "$WORK/initdb")" -v b="$BASE_S" 'BEGIN { printf "%.2f", a - b }')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }
echo
echo "Seeding $N rows / messages / documents (one run each):"
echo
echo "| what | time | throughput | devenv speed-up |"
echo "|---|---|---|---|"
echo "| Postgres, devenv \`csv:\` (COPY) | ${PG_S}s | ${PG_RATE} rows/s | 1× |"
echo "| Postgres, \`psql -f\` INSERT file (autocommit) | ${PSQL_S}s | $(awk -v n="$N" -v s="$PSQL_S" 'BEGIN { printf "%.0f", n / s }') rows/s | $(ratio "$PSQL_S" "$PG_S")× |"
echo "| Postgres, \`psql -1 -f\` INSERT file (one transaction) | ${PSQL1_S}s | $(awk -v n="$N" -v s="$PSQL1_S" 'BEGIN { printf "%.0f", n / s }') rows/s | $(ratio "$PSQL1_S" "$PG_S")× |"
echo "| Postgres, /docker-entrypoint-initdb.d INSERT file | ${INIT_S}s | $(awk -v n="$N" -v s="$INIT_S" 'BEGIN { printf "%.0f", n / s }') rows/s | $(ratio "$INIT_S" "$PG_S")× |"
echo "| Kafka, devenv \`topic:\` + \`messages:\` (3 partitions) | ${KAFKA_S}s | ${KAFKA_RATE} msg/s | |"
echo "| Elasticsearch CONTRACT DOUBLE, devenv \`index:\` bulk | ${ES_S}s | ${ES_RATE} docs/s | |"
