#!/usr/bin/env bash
# Where `up -d` spends its time, per service: the phases devenv's JSON events
# (`--progress json`, each with its `ts`) show, on the benchmark stack of
# benches/stack.sh. Phases: create (creating → starting: the container is
# created and attached; a dependent's waits on its dependencies too), start
# (starting → probing: Docker's start call), ready (probing → ready: the
# service's own start-up as the probe sees it), and for a dependent the gap
# between the last `ready` before its own `starting` (its last dependency's,
# when it depends on every service, as the stack's app does) and that start.
# Medians of N runs, milliseconds.
#
# Usage: benches/trace.sh [RUNS]        (default 5)
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=benches/stack.sh
source "$REPO/benches/stack.sh"

for i in $(seq 1 "$RUNS"); do
  cleanup
  "$DEVENV" -f "$WORK/devenv.yaml" up -d --progress json >"$WORK/trace$i.jsonl" 2>/dev/null
done
cleanup
python3 - "$WORK" "$RUNS" <<'PY'
import json, sys, statistics
from datetime import datetime
work, runs = sys.argv[1], int(sys.argv[2])
ms = lambda ts: datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000
rows, totals = {}, []
for i in range(1, runs + 1):
    ev = [json.loads(l) for l in open(f"{work}/trace{i}.jsonl") if l.startswith("{")]
    t0 = min(ms(e["ts"]) for e in ev)
    at = {}
    for e in ev:
        if e["event"] == "service":
            at.setdefault((e["service"], e["status"]), ms(e["ts"]) - t0)
        elif e["event"] == "done":
            totals.append(ms(e["ts"]) - t0)
    waited = {e["service"] for e in ev if e.get("status") == "waiting"}
    for svc in sorted({s for s, _ in at}):
        g = lambda st: at.get((svc, st))
        r = rows.setdefault(svc, {k: [] for k in ("create", "start", "ready", "gap", "ready_at")})
        if None not in (g("creating"), g("starting")): r["create"].append(g("starting") - g("creating"))
        if None not in (g("starting"), g("probing")): r["start"].append(g("probing") - g("starting"))
        if None not in (g("probing"), g("ready")): r["ready"].append(g("ready") - g("probing"))
        if g("ready") is not None: r["ready_at"].append(g("ready"))
        # A service that waited: the last `ready` of another service before its start.
        before = [t for (s, st), t in at.items() if st == "ready" and s != svc and g("starting") is not None and t <= g("starting")]
        if svc in waited and before: r["gap"].append(g("starting") - max(before))
med = lambda v: f"{statistics.median(v):.0f}" if v else "–"
print(f"\n`up -d` of the benchmark stack, phases per service (ms, median of {runs}):\n")
print("| service | create | start (Docker) | probing → ready | last dependency ready → start | ready at |")
print("|---|---|---|---|---|---|")
for svc, r in sorted(rows.items(), key=lambda kv: statistics.median(kv[1]["ready_at"] or [0])):
    print(f"| {svc} | {med(r['create'])} | {med(r['start'])} | {med(r['ready'])} | {med(r['gap'])} | {med(r['ready_at'])} |")
print(f"| (whole `up -d`) | | | | | {med(totals)} |")
PY
