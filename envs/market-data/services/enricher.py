"""Enrichment service (port 8081): instrument reference data, Postgres behind a Redis cache.

  GET /health              liveness
  GET /instruments/SYMBOL  {symbol, name, venue, currency, tick_size, lot_size}; 404 if unknown
  GET /stats               instruments in Postgres, entries in the cache
"""
import os

from common import env
import pgwire
import resp
import web

DATABASE_URL = env("DATABASE_URL")
REDIS_URL = env("REDIS_URL")
TTL = int(os.environ.get("CACHE_TTL_SECONDS", "3600"))
FIELDS = ["symbol", "name", "venue", "currency", "tick_size", "lot_size"]


def lookup(req):
    symbol = req.path_rest.upper()
    with resp.Redis(REDIS_URL) as r:
        cached = r("HGETALL", f"instrument:{symbol}")
        if cached:
            return 200, dict(zip(cached[::2], cached[1::2]), cached=True)
        with pgwire.connect(DATABASE_URL) as db:
            rows = db.query(f"SELECT {', '.join(FIELDS)} FROM instruments WHERE symbol = $1", [symbol])
        if not rows:
            return 404, {"error": f"unknown instrument {symbol!r}"}
        found = dict(zip(FIELDS, rows[0]))
        r("HSET", f"instrument:{symbol}", *[x for kv in found.items() for x in kv])
        r("EXPIRE", f"instrument:{symbol}", TTL)
    return 200, dict(found, cached=False)


def stats(_req):
    with pgwire.connect(DATABASE_URL) as db:
        instruments = db.one("SELECT count(*) FROM instruments")
    with resp.Redis(REDIS_URL) as r:
        cursor, cached = "0", 0
        while True:
            cursor, keys = r("SCAN", cursor, "MATCH", "instrument:*", "COUNT", 100)
            cached += len(keys)
            if cursor == "0":
                break
    return 200, {"postgres": {"instruments": instruments}, "redis": {"cached_instruments": cached}}


if __name__ == "__main__":
    web.serve(8081, {
        ("GET", "/health"): lambda _req: (200, "ok"),
        ("GET", "/instruments/"): lookup,
        ("GET", "/stats"): stats,
    }, name="enricher")
