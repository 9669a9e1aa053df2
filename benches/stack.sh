# Shared by benches/startup.sh and benches/run.sh: the benchmark stack —
# postgres + redis + clickhouse + Kafka-protocol broker + one app depending on
# all four — as a devenv.yaml with presets and as the compose files a compose
# user writes (same stand-in images, env and checks; healthchecks at 10s and 1s).
# Sourced with REPO set; defines DEVENV (built if missing), WORK, cleanup, the
# three files, and the timing helpers `timed` and `median`.
DEVENV="${DEVENV_BIN:-$REPO/target/release/devenv}"
if [[ ! -x "$DEVENV" ]]; then (cd "$REPO" && cargo build --release --locked >/dev/null); fi
docker compose version >/dev/null 2>&1 || { echo "docker compose v2 is required (see ../shared/testing.md)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'cleanup; rm -rf "$WORK"' EXIT
export DEVENV_IMAGE_MAP="$REPO/fixtures/images/map.yaml" DEVENV_PROGRESS=plain NO_COLOR=1

cat >"$WORK/devenv.yaml" <<'YAML'
name: bench-devenv
services:
  db:     {preset: postgres, env: {POSTGRES_DB: bench}, ports: ["25432:5432"]}
  cache:  {preset: redis, ports: ["26379:6379"]}
  olap:   {preset: clickhouse, env: {CLICKHOUSE_DB: bench}, ports: ["28123:8123", "29000:9000"]}
  events: {preset: kafka, ports: ["29092:9092"]}
  app:
    image: devenv-test/app:1
    ports: ["28080:8080"]
    health: {http: /health, port: 8080}
    depends_on: {db: healthy, cache: healthy, olap: healthy, events: healthy}
YAML

# The same stack as a compose user writes it (same images, env, healthchecks doing
# the same checks from inside the containers).
compose_file() {  # compose_file INTERVAL PROJECT
  cat <<YAML
name: $2
services:
  db:
    image: devenv-test/postgres:15
    environment: {POSTGRES_USER: devenv, POSTGRES_PASSWORD: devenv, POSTGRES_DB: bench}
    ports: ["127.0.0.1:25432:5432"]
    healthcheck: {test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U devenv -d bench"], interval: $1, timeout: 5s, retries: 30}
  cache:
    image: devenv-test/redis:7
    ports: ["127.0.0.1:26379:6379"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: $1, timeout: 5s, retries: 30}
  olap:
    image: devenv-test/clickhouse:18
    environment: {CLICKHOUSE_USER: devenv, CLICKHOUSE_PASSWORD: devenv, CLICKHOUSE_DB: bench}
    ports: ["127.0.0.1:28123:8123", "127.0.0.1:29000:9000"]
    healthcheck: {test: ["CMD-SHELL", "clickhouse-client --user devenv --password devenv --query 'SELECT 1'"], interval: $1, timeout: 5s, retries: 30}
  events:
    image: devenv-test/kafka:1
    environment:
      KAFKA_LISTENERS: "HOST://:9092,INTERNAL://:19092,CONTROLLER://:9093"
      KAFKA_ADVERTISED_LISTENERS: "HOST://127.0.0.1:29092,INTERNAL://events:19092"
    ports: ["127.0.0.1:29092:9092"]
    healthcheck: {test: ["CMD", "tansu", "topic", "list", "--broker", "tcp://localhost:19092"], interval: $1, timeout: 5s, retries: 30}
  app:
    image: devenv-test/app:1
    ports: ["127.0.0.1:28080:8080"]
    healthcheck: {test: ["CMD", "python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8080), 1)"], interval: $1, timeout: 5s, retries: 30}
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_healthy}
      olap: {condition: service_healthy}
      events: {condition: service_healthy}
YAML
}
compose_file 10s bench-compose10 >"$WORK/compose10.yaml"
compose_file 1s bench-compose1 >"$WORK/compose1.yaml"

cleanup() {
  "$DEVENV" -f "$WORK/devenv.yaml" down -v -t 1 >/dev/null 2>&1 || true
  for f in compose10 compose1; do docker compose -f "$WORK/$f.yaml" down -v -t 1 >/dev/null 2>&1 || true; done
}


# shellcheck source=benches/timing.sh
source "$REPO/benches/timing.sh"
