"""One-shot load test (profile `load`): upload synthetic datasets through the
API, wait until both worker passes finished them, print the throughput.

Exits 0 when every dataset is done within LOADGEN_TIMEOUT seconds, else 1
(so `devenv up --profile load` fails loudly if the pipeline is stuck).
"""
import json
import os
import sys
import time
import urllib.request

API = os.environ["API_URL"].rstrip("/")
DATASETS = int(os.environ.get("LOADGEN_DATASETS", "5"))
ROWS = int(os.environ.get("LOADGEN_ROWS", "200"))
TIMEOUT = float(os.environ.get("LOADGEN_TIMEOUT", "60"))


def call(method, path, body=None):
    req = urllib.request.Request(API + path, data=body, method=method, headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def synthetic(n, seed):
    lines = ["name,email,phone,country,note"]
    for i in range(n):
        j = i % (n - n // 10)            # about 10 % duplicates
        lines.append(f" user {seed}-{j} ,User{seed}.{j}@Load.Example,+1 555 01{j % 100:02d},usa,call +1 555 01{j % 100:02d}")
    return "\n".join(lines).encode()


def main():
    started = time.time()
    ids = [call("POST", f"/datasets?name=load-{k}", synthetic(ROWS, k))["id"] for k in range(DATASETS)]
    pending = set(ids)
    while pending and time.time() - started < TIMEOUT:
        pending = {i for i in pending if call("GET", f"/datasets/{i}")["status"] not in ("done", "failed")}
        time.sleep(0.2)
    failed = [i for i in ids if call("GET", f"/datasets/{i}")["status"] == "failed"]
    took = time.time() - started
    if pending or failed:
        print(f"loadgen: not finished after {took:.1f}s: pending {sorted(pending)}, failed {failed}", file=sys.stderr)
        sys.exit(1)
    print(f"loadgen: {DATASETS} datasets x {ROWS} records sanitized in {took:.1f}s "
          f"({DATASETS * ROWS / took:.0f} records/s)", flush=True)


if __name__ == "__main__":
    main()
