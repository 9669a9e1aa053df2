"""Normalization service (port 8080): raw vendor ticks from Kafka -> ClickHouse.

Reads every partition of the raw topic from the offset committed in Redis,
turns each vendor record ({"s": " aapl", "p": "189.12", "q": 100, "t": <ms>,
"x": "XNAS"}) into a normalized row — symbol upper-cased and checked against
the reference data (through the enricher), price and quantity validated,
price converted to USD with the FX rates in Redis — inserts the batch into
ClickHouse, then commits the next offset (at-least-once delivery).

  GET /health   503 until the consumer has connected to Kafka, then 200
  GET /stats    consumed / inserted / rejected, committed offsets
"""
import datetime
import json
import threading
import time
import traceback

from common import OFFSETS_KEY, TOPIC, ClickHouse, env, get_json
import kafkawire
import resp
import web

KAFKA = env("KAFKA_BOOTSTRAP")
ENRICHER = env("ENRICHER_URL").rstrip("/")
CH = ClickHouse(env("CLICKHOUSE_URL"))
REDIS_URL = env("REDIS_URL")
STATS = {"ready": False, "consumed": 0, "inserted": 0, "rejected": 0, "partitions": {}}
INSTRUMENTS = {}                                  # symbol -> instrument (or None: unknown)


def instrument(symbol):
    if symbol not in INSTRUMENTS:
        status, body = get_json(f"{ENRICHER}/instruments/{symbol}")
        if status not in (200, 404):
            raise RuntimeError(f"enricher answered {status}: {body}")
        INSTRUMENTS[symbol] = body if status == 200 else None
    return INSTRUMENTS[symbol]


def normalize(value, fx):
    """A ClickHouse row for one raw record, or None to reject it."""
    try:
        raw = json.loads(value)
        symbol, price, qty = str(raw["s"]).strip().upper(), float(raw["p"]), int(raw["q"])
        when = datetime.datetime.fromtimestamp(int(raw["t"]) / 1000, tz=datetime.timezone.utc)
    except (ValueError, KeyError, TypeError):
        return None
    ref = instrument(symbol) if symbol else None
    if ref is None or price <= 0 or qty <= 0:
        return None
    return {"symbol": symbol, "venue": ref["venue"], "ts": when.strftime("%Y-%m-%d %H:%M:%S"), "ms": when.microsecond // 1000,
            "price": price, "currency": ref["currency"], "price_usd": round(price * float(fx[ref["currency"]]), 6),
            "qty": qty, "source": "live"}


def consume_once(kafka, r, partitions):
    """One pass over all partitions; the number of records consumed."""
    total = 0
    flat = r("HGETALL", "fx:usd")
    fx = dict(zip(flat[::2], flat[1::2]))
    for p in partitions:
        offset = int(r("HGET", OFFSETS_KEY, f"{TOPIC}:{p}") or 0)
        records = kafka.fetch(TOPIC, p, offset, max_wait_ms=100)
        if not records:
            continue
        rows = [row for row in (normalize(value, fx) for _off, _key, value in records) if row]
        if rows:
            CH.insert("ticks", rows)
        r("HSET", OFFSETS_KEY, f"{TOPIC}:{p}", records[-1][0] + 1)     # commit after the insert
        STATS["partitions"][p] = records[-1][0] + 1
        STATS["consumed"] += len(records)
        STATS["inserted"] += len(rows)
        STATS["rejected"] += len(records) - len(rows)
        total += len(records)
    return total


def consume_forever():
    while True:
        try:
            kafka, r = kafkawire.Kafka(KAFKA, client_id="normalizer"), resp.Redis(REDIS_URL)
            partitions = kafka.partitions(TOPIC)
            STATS["ready"] = True
            print(f"[normalizer] consuming {TOPIC} partitions {partitions}", flush=True)
            while True:
                if consume_once(kafka, r, partitions) == 0:
                    time.sleep(0.2)
        except Exception:  # a broken connection: report, reconnect
            traceback.print_exc()
            time.sleep(1)


def health(_req):
    return (200, "ok") if STATS["ready"] else (503, "not consuming yet")


def stats(_req):
    return 200, {"topic": TOPIC, **STATS}


if __name__ == "__main__":
    threading.Thread(target=consume_forever, daemon=True).start()
    web.serve(8080, {("GET", "/health"): health, ("GET", "/stats"): stats}, name="normalizer")
