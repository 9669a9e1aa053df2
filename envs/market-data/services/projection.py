"""Projection service (port 8083): the read side — latest prices for clients.

  GET /health   liveness
  GET /prices   one entry per symbol: the bar from Redis (written by the
                aggregator) with the instrument's name and currency (from
                the enricher), and the change against the previous close
"""
from common import env, get_json
import resp
import web

REDIS_URL = env("REDIS_URL")
ENRICHER = env("ENRICHER_URL").rstrip("/")


def prices(_req):
    with resp.Redis(REDIS_URL) as r:
        day = r("GET", "market:trading-day")
        out = []
        for symbol in sorted(r("SMEMBERS", "bars")):
            flat = r("HGETALL", f"bar:{symbol}")
            bar = {k: float(v) for k, v in zip(flat[::2], flat[1::2])}
            _status, ref = get_json(f"{ENRICHER}/instruments/{symbol}")
            change = (bar["close"] / bar["prev_close"] - 1) * 100 if bar.get("prev_close") else None
            out.append({"symbol": symbol, "name": ref.get("name"), "currency": ref.get("currency"),
                        "last": bar["close"], "prev_close": bar.get("prev_close"),
                        "change_pct": round(change, 2) if change is not None else None,
                        "high": bar["high"], "low": bar["low"], "trades": int(bar["trades"]),
                        "vwap_usd": round(bar["vwap_usd"], 4)})
    return 200, {"trading_day": day, "prices": out}


if __name__ == "__main__":
    web.serve(8083, {("GET", "/health"): lambda _req: (200, "ok"), ("GET", "/prices"): prices}, name="projection")
