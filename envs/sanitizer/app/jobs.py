"""A reliable work queue on Redis lists, shared by both workers.

An id is moved atomically from the queue to `<queue>:processing` (BLMOVE),
handled, then removed from there; ids a crashed run left in `processing` are
put back at startup. (With several replicas of one worker each would need its
own processing list; this dev setup runs one of each.)
"""
import os
import signal
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import pgwire  # noqa: E402
import resp  # noqa: E402

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
STOP = []


def run(name, queue, handle):
    """Call handle(dataset_id, redis) for each id taken from `queue`, until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: STOP.append(True))
    r = resp.Redis(REDIS_URL)
    processing = queue + ":processing"
    while r("LMOVE", processing, queue, "RIGHT", "LEFT") is not None:
        print(f"[{name}] re-queued an unfinished dataset", flush=True)
    # devenv's readiness probe for this service waits for this line (health: log).
    print(f"[{name}] worker ready, waiting on {queue}", flush=True)
    while not STOP:
        item = r("BLMOVE", queue, processing, "LEFT", "RIGHT", 1)     # 1 s, so SIGTERM is seen quickly
        if item is None:
            continue
        dataset = int(item)
        try:
            handle(dataset, r)
        except Exception:  # one bad dataset must not stop the worker
            traceback.print_exc()
            with pgwire.connect(DATABASE_URL) as db:
                db.query("UPDATE datasets SET status = 'failed' WHERE id = $1", [dataset])
        r("LREM", processing, 1, item)
    print(f"[{name}] stopping", flush=True)
