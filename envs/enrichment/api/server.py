"""Enrichment API: documents in Postgres, a dictionary and a cache in Redis,
full-text search in Elasticsearch.

  GET  /health            liveness (devenv's readiness probe)
  GET  /stats             counts read from all three backing services
  GET  /search?q=WORDS    full-text search (Elasticsearch)
  GET  /documents/ID      a document with its entities (cached in Redis)
  POST /enrich            enrich every document not enriched yet
"""
import json
import os
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import pgwire  # noqa: E402
import resp  # noqa: E402
import web  # noqa: E402
from enrich import category, entities  # noqa: E402

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
ES = os.environ["ELASTICSEARCH_URL"].rstrip("/")
INDEX = os.environ.get("SEARCH_INDEX", "documents")
CACHE_TTL = int(os.environ.get("CACHE_TTL_SECONDS", "300"))
ENRICH_LOCK = threading.Lock()


def es(method, path, body=None, ndjson=False):
    data = None
    if body is not None:
        data = body.encode() if ndjson else json.dumps(body).encode()
    req = urllib.request.Request(ES + path, data=data, method=method,
                                 headers={"Content-Type": "application/x-ndjson" if ndjson else "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def health(_req):
    return 200, "ok"


def stats(_req):
    with pgwire.connect(DATABASE_URL) as db:
        documents = db.one("SELECT count(*) FROM documents")
        enriched = db.one("SELECT count(*) FROM documents WHERE enriched_at IS NOT NULL")
        entity_count = db.one("SELECT count(*) FROM entities")
    with resp.Redis(REDIS_URL) as r:
        known_orgs = r("SCARD", "enrich:orgs")
        cached = count_keys(r, "enrich:doc:*")
    indexed = es("GET", f"/{INDEX}/_count")["count"]
    return 200, {
        "postgres": {"documents": documents, "enriched": enriched, "entities": entity_count},
        "redis": {"known_orgs": known_orgs, "cached_documents": cached},
        "elasticsearch": {"index": INDEX, "documents": indexed},
    }


def count_keys(r, pattern):
    cursor, n = "0", 0
    while True:
        cursor, keys = r("SCAN", cursor, "MATCH", pattern, "COUNT", 100)
        n += len(keys)
        if cursor == "0":
            return n


def search(req):
    q = req.query.get("q", "")
    query = {"multi_match": {"query": q, "fields": ["title^2", "body"]}} if q else {"match_all": {}}
    found = es("POST", f"/{INDEX}/_search", {"query": query, "size": 10})
    hits = [{"id": h["_id"], "title": h["_source"].get("title"), "category": h["_source"].get("category"),
             "orgs": h["_source"].get("orgs", []), "score": h["_score"]} for h in found["hits"]["hits"]]
    return 200, {"query": q, "total": found["hits"]["total"]["value"], "hits": hits}


def document(req):
    doc_id = req.path_rest
    if not doc_id.isdigit():
        return 400, {"error": "document ids are numbers"}
    with resp.Redis(REDIS_URL) as r:
        cached = r("GET", f"enrich:doc:{doc_id}")
        if cached:
            return 200, dict(json.loads(cached), cached=True)
        with pgwire.connect(DATABASE_URL) as db:
            rows = db.query("SELECT id, source_id, title, body, category, enriched_at::text FROM documents WHERE id = $1", [doc_id])
            if not rows:
                return 404, {"error": f"no document {doc_id}"}
            ents = db.query("SELECT kind, value FROM entities WHERE document_id = $1 ORDER BY kind, value", [doc_id])
        keys = ["id", "source", "title", "body", "category", "enriched_at"]
        doc = dict(zip(keys, rows[0]), entities=[{"kind": k, "value": v} for k, v in ents])
        r("SET", f"enrich:doc:{doc_id}", json.dumps(doc), "EX", CACHE_TTL)
    return 200, dict(doc, cached=False)


def enrich_all(_req):
    if not ENRICH_LOCK.acquire(blocking=False):
        return 409, {"error": "an enrichment run is already in progress"}
    try:
        with resp.Redis(REDIS_URL) as r, pgwire.connect(DATABASE_URL) as db:
            orgs = r("SMEMBERS", "enrich:orgs")
            flat = r("HGETALL", "enrich:categories")
            keywords = dict(zip(flat[::2], flat[1::2]))
            pending = db.query("SELECT id, source_id, title, body, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM documents WHERE enriched_at IS NULL ORDER BY id")
            bulk = []
            for doc_id, source, title, body, received in pending:
                text = f"{title}\n{body}"
                found, cat = entities(text, orgs), category(text, keywords)
                db.query("BEGIN")
                for kind, value in found:
                    db.query("INSERT INTO entities (document_id, kind, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [doc_id, kind, value])
                db.query("UPDATE documents SET category = $2, enriched_at = now() WHERE id = $1", [doc_id, cat])
                db.query("COMMIT")
                r("DEL", f"enrich:doc:{doc_id}")
                source_doc = {"title": title, "body": body, "source": source, "category": cat,
                              "orgs": [v for k, v in found if k == "org"], "received_at": received}
                bulk.append(json.dumps({"index": {"_index": INDEX, "_id": str(doc_id)}}))
                bulk.append(json.dumps(source_doc))
            if bulk:
                result = es("POST", "/_bulk?refresh=true", "\n".join(bulk) + "\n", ndjson=True)
                if result.get("errors"):
                    return 502, {"error": "some documents were not indexed", "items": result["items"]}
        return 200, {"enriched": len(pending)}
    finally:
        ENRICH_LOCK.release()


if __name__ == "__main__":
    web.serve(int(os.environ.get("PORT", "3000")), {
        ("GET", "/health"): health,
        ("GET", "/stats"): stats,
        ("GET", "/search"): search,
        ("GET", "/documents/"): document,
        ("POST", "/enrich"): enrich_all,
    }, name="api")
