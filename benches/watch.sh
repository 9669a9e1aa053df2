#!/usr/bin/env bash
# Hot-reload benchmark: edit → visible in the container, devenv vs `docker compose watch`;
# devenv twice: as the machine is, and with a CPU hog beside (a busy loop);
# then idle CPU and peak RSS of `devenv watch` (IDLE_SECONDS=0 skips it).
#
#   benches/watch.sh [EDITS=100] [IDLE_SECONDS=600]
#   DEVENV_BIN=path/to/devenv benches/watch.sh …   (default: a release build)
#
# An in-container reader (python3 in devenv-test/app:1) polls the synced file
# every 1 ms and logs when new content appears; host and container share the
# kernel clock, so latency = seen - written. One edit at a time, 250 ms apart.
set -euo pipefail
EDITS=${1:-100}
IDLE=${2:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVENV="${DEVENV_BIN:-$ROOT/target/release/devenv}"
[[ -n "${DEVENV_BIN:-}" ]] || cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
WORK=$(mktemp -d)
trap 'cd "$WORK" && { "$DEVENV" down -t 1 >/dev/null 2>&1 || true; docker compose -p benchwatch-compose down -t 1 >/dev/null 2>&1 || true; }; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir -p src out app
for d in $(seq 1 50); do mkdir -p "src/pkg$d"; for f in $(seq 1 20); do echo "x" > "src/pkg$d/f$f.py"; done; done
printf 'FROM devenv-test/app:1\n' > app/Dockerfile
cat > out/reader.py <<'PY'
import os, sys, time
p, log = sys.argv[1], sys.argv[2]
last = None
with open(log, "a", buffering=1) as out:
    while True:
        try:
            with open(p) as f:
                c = f.read()
        except OSError:
            c = None
        if c and c != last and c.endswith("\n"):
            out.write(f"{c.split()[0]} {time.time_ns()}\n")
            last = c
        time.sleep(0.001)
PY
cat > devenv.yaml <<YAML
name: benchwatch
services:
  app:
    build: ./app
    command: [python3, /out/reader.py, /app/src/probe.txt, /out/seen-devenv.log]
    volumes: ["./out:/out"]
    watch:
      - path: ./src
        target: /app/src
YAML
cat > compose.yaml <<YAML
services:
  app:
    build: ./app
    command: [python3, /out/reader.py, /app/src/probe.txt, /out/seen-compose.log]
    volumes: ["./out:/out"]
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app/src
YAML

drive() { # $1 = label, $2 = the reader's log (default: the label's); the watcher must already run
  python3 - "$1" "$EDITS" "${2:-$1}" <<'PY'
import os, sys, time, statistics
label, n, reader = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = f"out/seen-{reader}.log"
def seen():
    try:
        return {l.split()[0]: int(l.split()[1]) for l in open(log) if len(l.split()) == 2}
    except OSError:
        return {}
lat = []
for i in range(n):
    key = f"{label}{i}"
    t = time.time_ns()
    with open("src/probe.txt.new", "w") as f:
        f.write(f"{key} {t}\n")
    os.replace("src/probe.txt.new", "src/probe.txt")  # atomic, like an editor's save
    deadline = time.time() + 10
    while time.time() < deadline:
        s = seen()
        if key in s:
            lat.append((s[key] - t) / 1e6)
            break
        time.sleep(0.002)
    else:
        print(f"{label}: edit {i} never arrived", file=sys.stderr)
    time.sleep(0.25)
lat.sort()
q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
p50, p95 = statistics.median(lat), q[94]
print(f"{label} {len(lat)} {p50:.1f} {p95:.1f}")
PY
}

# devenv
echo warmup > src/probe.txt
"$DEVENV" up -d --progress quiet
"$DEVENV" watch --progress plain 2>devenv-watch.log &
WPID=$!
until grep -q watching devenv-watch.log; do sleep 0.1; done
sleep 1
D=$(drive devenv)
sh -c 'while :; do :; done' &
HOG=$!
L=$(drive devenvloaded devenv)
kill "$HOG"; wait "$HOG" 2>/dev/null || true
kill -INT $WPID; wait $WPID || true
"$DEVENV" down -t 1 --progress quiet

# docker compose watch (v2)
docker compose -p benchwatch-compose up -d --build --quiet-pull >/dev/null 2>&1
docker compose -p benchwatch-compose watch >compose-watch.log 2>&1 &
CPID=$!
sleep 5
C=$(drive compose)
kill -INT $CPID; wait $CPID || true
docker compose -p benchwatch-compose down -t 1 >/dev/null 2>&1

read -r _ dn dp50 dp95 <<<"$D"
read -r _ ln lp50 lp95 <<<"$L"
read -r _ cn cp50 cp95 <<<"$C"
echo
echo "edits: devenv $dn/$EDITS arrived ($ln/$EDITS with the hog), compose $cn/$EDITS arrived"
echo "| tool | p50 | p95 | devenv ÷ compose (p50) |"
echo "|---|---|---|---|"
echo "| \`devenv watch\` (sync rule, adaptive settle ≤ 50 ms) | ${dp50} ms | ${dp95} ms | **$(python3 -c "print(f'{$dp50/$cp50:.2f}')")** |"
echo "| \`devenv watch\`, a CPU hog beside | ${lp50} ms | ${lp95} ms | **$(python3 -c "print(f'{$lp50/$cp50:.2f}')")** |"
echo "| \`docker compose watch\` ($(docker compose version --short)) | ${cp50} ms | ${cp95} ms | 1.00 |"
[[ "$IDLE" -gt 0 ]] || exit 0

# idle: devenv watch over the 1000-file tree, nothing edited
"$DEVENV" up -d --progress quiet
"$DEVENV" watch --progress plain 2>idle.log &
WPID=$!
until grep -q watching idle.log; do sleep 0.1; done
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$WPID/stat; }
C0=$(cpu); RSS0=$(awk '/VmRSS/{print $2}' /proc/$WPID/status)
sleep "$IDLE"
C1=$(cpu); RSS1=$(awk '/VmRSS/{print $2}' /proc/$WPID/status); HWM=$(awk '/VmHWM/{print $2}' /proc/$WPID/status)
kill -INT $WPID; wait $WPID || true

echo
echo "idle over ${IDLE} s (1000 files, 51 directories): CPU $(python3 -c "print(f'{($C1-$C0)/$TICK/$IDLE*100:.3f}')") % of one core; RSS ${RSS0} kB at start, ${RSS1} kB at end, peak ${HWM} kB"
