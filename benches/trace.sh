#!/usr/bin/env bash
# Where `up -d` spends its time, per service: the phases devenv's JSON events
# (`--progress json`, each with its `ts`) show, on the benchmark stack of
# benches/stack.sh. Phases: create (creating → starting: the container is
# created and attached; a dependent's waits on its dependencies too), start
# (starting → probing: Docker's start call), ready (probing → ready: the
# service's own start-up as the probe sees it), and for a dependent the gap
# between the last `ready` before its own `starting` (its last dependency's,
# when it depends on every service, as the stack's app does) and that start.
# From the `probed` event before each `ready`: when the first check answered
# (ms after probing began, whatever it said), how many checks were made, and
# what said ready (`probe`: a protocol/http probe; `native`/`command`: a
# recognised healthcheck asked natively / the command as written); and
# ready → seeded for a service with seeds.
# Medians of N runs, milliseconds.
#
# Usage: benches/trace.sh [RUNS] [FILE]   (default 5, the stack's devenv.yaml;
#                                          FILE: any devenv.yaml or compose file)

set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=benches/stack.sh
source "$REPO/benches/stack.sh"

FILE="${2:-$WORK/devenv.yaml}"
down() { cleanup; "$DEVENV" -f "$FILE" down -v -t 1 >/dev/null 2>&1 || true; }
for i in $(seq 1 "$RUNS"); do
  down
  "$DEVENV" -f "$FILE" up -d --progress json >"$WORK/trace$i.jsonl" 2>/dev/null
done
down
python3 - "$WORK" "$RUNS" <<'PY'
import json, sys, statistics
from datetime import datetime
work, runs = sys.argv[1], int(sys.argv[2])
ms = lambda ts: datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000
rows, totals, probed = {}, [], {}
for i in range(1, runs + 1):
    ev = [json.loads(l) for l in open(f"{work}/trace{i}.jsonl") if l.startswith("{")]
    t0 = min(ms(e["ts"]) for e in ev)
    at = {}
    for e in ev:
        if e["event"] == "service":
            at.setdefault((e["service"], e["status"]), ms(e["ts"]) - t0)
            if e["status"] == "probed":
                p = probed.setdefault(e["service"], {"first": [], "probes": [], "by": set()})
                p["first"].append(e["first_answer_ms"]); p["probes"].append(e["probes"]); p["by"].add(e["answered_by"])
        elif e["event"] == "done":
            totals.append(ms(e["ts"]) - t0)
    waited = {e["service"] for e in ev if e.get("status") == "waiting"}
    for svc in sorted({s for s, _ in at}):
        g = lambda st: at.get((svc, st))
        r = rows.setdefault(svc, {k: [] for k in ("create", "start", "ready", "gap", "ready_at", "seeded")})
        if None not in (g("ready"), g("seeded")): r["seeded"].append(g("seeded") - g("ready"))
        if None not in (g("creating"), g("starting")): r["create"].append(g("starting") - g("creating"))
        if None not in (g("starting"), g("probing")): r["start"].append(g("probing") - g("starting"))
        if None not in (g("probing"), g("ready")): r["ready"].append(g("ready") - g("probing"))
        if g("ready") is not None: r["ready_at"].append(g("ready"))
        # A service that waited: the last `ready` of another service before its start.
        before = [t for (s, st), t in at.items() if st == "ready" and s != svc and g("starting") is not None and t <= g("starting")]
        if svc in waited and before: r["gap"].append(g("starting") - max(before))
med = lambda v: f"{statistics.median(v):.0f}" if v else "–"
print(f"\n`up -d` of the benchmark stack, phases per service (ms, median of {runs}):\n")
print("| service | create | start (Docker) | probing → first answer | probing → ready | checks | said ready | ready → seeded | last dependency ready → start | ready at |")
print("|---|---|---|---|---|---|---|---|---|---|")
for svc, r in sorted(rows.items(), key=lambda kv: statistics.median(kv[1]["ready_at"] or [0])):
    p = probed.get(svc, {"first": [], "probes": [], "by": set()})
    print(f"| {svc} | {med(r['create'])} | {med(r['start'])} | {med(p['first'])} | {med(r['ready'])} | {med(p['probes'])} | {'/'.join(sorted(p['by'])) or '–'} | {med(r['seeded'])} | {med(r['gap'])} | {med(r['ready_at'])} |")
print(f"| (whole `up -d`) | | | | | | | | | {med(totals)} |")
PY
