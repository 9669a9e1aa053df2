"""Sanitizer API: accepts CSV uploads, queues them for the workers, reports progress.

  GET  /api/v1/health        liveness (devenv's readiness probe)
  GET  /stats                counts from Postgres and the Redis queues
  POST /datasets?name=NAME   body: CSV with header name,email,phone,country,note
  GET  /datasets/ID          status, counts and a sample of the cleaned records
"""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import pgwire  # noqa: E402
import resp  # noqa: E402
import web  # noqa: E402

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
COLUMNS = ["name", "email", "phone", "country", "note"]


def health(_req):
    return 200, "ok"


def stats(_req):
    with pgwire.connect(DATABASE_URL) as db:
        by_status = dict(db.query("SELECT status, count(*) FROM datasets GROUP BY status"))
        raw = db.one("SELECT count(*) FROM raw_records")
        clean = db.one("SELECT count(*) FROM clean_records")
    with resp.Redis(REDIS_URL) as r:
        queues = {q: r("LLEN", f"sanitize:{q}") for q in ("pass1", "pass2")}
        done = int(r("GET", "sanitize:datasets_done") or 0)
    return 200, {
        "postgres": {"datasets": by_status, "raw_records": raw, "clean_records": clean},
        "redis": {"queued": queues, "datasets_done": done},
    }


def upload(req):
    name = req.query.get("name", "upload")
    rows = list(csv.DictReader(io.StringIO(req.body().decode("utf-8"))))
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        return 400, {"error": f"expected a CSV with the header {','.join(COLUMNS)}", "missing": missing}
    with pgwire.connect(DATABASE_URL) as db:
        db.query("BEGIN")
        dataset = db.one("INSERT INTO datasets (name) VALUES ($1) RETURNING id", [name])
        for line, row in enumerate(rows, start=1):
            db.query("INSERT INTO raw_records (dataset_id, line, name, email, phone, country, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     [dataset, line] + [row.get(c) for c in COLUMNS])
        db.query("COMMIT")
    with resp.Redis(REDIS_URL) as r:
        r("RPUSH", "sanitize:pass1", dataset)
    return 201, {"id": dataset, "records": len(rows), "status": "queued"}


def dataset(req):
    if not req.path_rest.isdigit():
        return 400, {"error": "dataset ids are numbers"}
    with pgwire.connect(DATABASE_URL) as db:
        rows = db.query("SELECT id, name, status, records, duplicates, masked FROM datasets WHERE id = $1", [req.path_rest])
        if not rows:
            return 404, {"error": f"no dataset {req.path_rest}"}
        sample = db.query("SELECT line, name, email, phone, country, note FROM clean_records WHERE dataset_id = $1 ORDER BY line LIMIT 5", [req.path_rest])
    out = dict(zip(["id", "name", "status", "records", "duplicates", "masked"], rows[0]))
    out["sample"] = [dict(zip(["line"] + COLUMNS[:3] + ["country", "note"], s)) for s in sample]
    return 200, out


if __name__ == "__main__":
    web.serve(int(os.environ.get("PORT", "8000")), {
        ("GET", "/api/v1/health"): health,
        ("GET", "/stats"): stats,
        ("POST", "/datasets"): upload,
        ("GET", "/datasets/"): dataset,
    }, name="api")
