"""Consumer-lag monitor (port 8084, profile `monitoring`).

Compares each partition's end offset in Kafka with the offset the normalizer
committed in Redis: the lag is how many records it still has to process.

  GET /health    liveness
  GET /lag       per partition: end offset, committed offset, lag
  GET /metrics   the same in Prometheus' text format
"""
from common import OFFSETS_KEY, TOPIC, env
import kafkawire
import resp
import web

KAFKA = env("KAFKA_BOOTSTRAP")
REDIS_URL = env("REDIS_URL")


def measure():
    kafka = kafkawire.Kafka(KAFKA, client_id="lag-monitor")
    try:
        with resp.Redis(REDIS_URL) as r:
            parts = []
            for p in kafka.partitions(TOPIC):
                end = kafka.offset(TOPIC, p, latest=True)
                committed = int(r("HGET", OFFSETS_KEY, f"{TOPIC}:{p}") or 0)
                parts.append({"partition": p, "end_offset": end, "committed": committed, "lag": end - committed})
    finally:
        kafka.close()
    return parts


def lag(_req):
    parts = measure()
    return 200, {"topic": TOPIC, "consumer": "normalizer", "partitions": parts, "total_lag": sum(p["lag"] for p in parts)}


def metrics(_req):
    lines = ["# HELP kafka_consumer_lag Records the normalizer has not processed yet.", "# TYPE kafka_consumer_lag gauge"]
    lines += [f'kafka_consumer_lag{{topic="{TOPIC}",partition="{p["partition"]}"}} {p["lag"]}' for p in measure()]
    return 200, "\n".join(lines) + "\n"


if __name__ == "__main__":
    web.serve(8084, {
        ("GET", "/health"): lambda _req: (200, "ok"),
        ("GET", "/lag"): lag,
        ("GET", "/metrics"): metrics,
    }, name="lag-monitor")
