"""Aggregation service (port 8082): ClickHouse -> per-symbol bars in Redis.

Every AGGREGATE_EVERY seconds, one ClickHouse query turns the day's live
ticks into a bar per symbol (open/high/low/close, trades, VWAP in USD) next
to the previous close from the seeded history, and writes each bar to the
Redis hash bar:<SYMBOL> (the set `bars` lists them).

  GET /health   503 until the first aggregation succeeded, then 200
  GET /stats    tick counts in ClickHouse by source, bars in Redis
"""
import os
import threading
import time
import traceback

from common import ClickHouse, env
import resp
import web

CH = ClickHouse(env("CLICKHOUSE_URL"))
REDIS_URL = env("REDIS_URL")
EVERY = float(os.environ.get("AGGREGATE_EVERY", "1"))
STATE = {"ready": False, "runs": 0}

BARS = """
SELECT symbol,
       argMinIf(price, toUInt64(ts) * 1000 + ms, source = 'live') AS open,
       maxIf(price, source = 'live')                              AS high,
       minIf(price, source = 'live')                              AS low,
       argMaxIf(price, toUInt64(ts) * 1000 + ms, source = 'live') AS close,
       countIf(source = 'live')                                   AS trades,
       sumIf(price_usd * qty, source = 'live') / sumIf(qty, source = 'live') AS vwap_usd,
       argMaxIf(price, toUInt64(ts) * 1000 + ms, source = 'history') AS prev_close
FROM ticks
GROUP BY symbol
HAVING trades > 0
ORDER BY symbol
"""


def aggregate(r):
    bars = CH.rows(BARS)
    for bar in bars:
        fields = [x for k in ("open", "high", "low", "close", "trades", "vwap_usd", "prev_close") for x in (k, bar[k])]
        r("HSET", f"bar:{bar['symbol']}", *fields)
        r("SADD", "bars", bar["symbol"])
    return len(bars)


def run_forever():
    while True:
        try:
            with resp.Redis(REDIS_URL) as r:
                while True:
                    aggregate(r)
                    STATE["ready"], STATE["runs"] = True, STATE["runs"] + 1
                    time.sleep(EVERY)
        except Exception:
            traceback.print_exc()
            time.sleep(1)


def stats(_req):
    by_source = {row["source"]: int(row["n"]) for row in CH.rows("SELECT source, count() AS n FROM ticks GROUP BY source")}
    with resp.Redis(REDIS_URL) as r:
        bars = r("SCARD", "bars")
    return 200, {"clickhouse": {"ticks": by_source}, "redis": {"bars": bars}, "runs": STATE["runs"]}


if __name__ == "__main__":
    threading.Thread(target=run_forever, daemon=True).start()
    web.serve(8082, {
        ("GET", "/health"): lambda _req: (200, "ok") if STATE["ready"] else (503, "no aggregation yet"),
        ("GET", "/stats"): stats,
    }, name="aggregator")
