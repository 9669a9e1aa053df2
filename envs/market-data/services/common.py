"""Shared by the four services: configuration from the environment, and the
two HTTP clients they need (ClickHouse's HTTP interface, and each other's
JSON APIs). The protocol clients are in lib/."""
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

TOPIC = os.environ.get("RAW_TOPIC", "market.raw.ticks.v1")
OFFSETS_KEY = "offsets:normalizer"          # Redis hash: "<topic>:<partition>" -> next offset


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set (see devenv.yaml)")
    return value


class ClickHouse:
    """ClickHouse over HTTP: http://user:password@host:8123/?database=db (devenv's ${olap.url})."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.base = f"{u.scheme}://{u.hostname}:{u.port or 8123}/"
        self.params = dict(urllib.parse.parse_qsl(u.query))
        auth = f"{urllib.parse.unquote(u.username or 'default')}:{urllib.parse.unquote(u.password or '')}"
        self.headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}

    def query(self, sql, data=None):
        """Run sql (with `data` as the INSERT payload, if any); the response body as text."""
        params = dict(self.params, query=sql) if data is not None else self.params
        body = data if data is not None else sql
        req = urllib.request.Request(self.base + "?" + urllib.parse.urlencode(params), data=body.encode(), headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"clickhouse: {e.read().decode().strip()}") from None

    def rows(self, sql):
        """A SELECT's rows as dicts (FORMAT JSON)."""
        return json.loads(self.query(sql + " FORMAT JSON"))["data"]

    def insert(self, table, rows):
        payload = "\n".join(json.dumps(r) for r in rows)
        self.query(f"INSERT INTO {table} FORMAT JSONEachRow", payload)


def get_json(url, timeout=10):
    """GET url -> (status, parsed JSON body); 404s are answers, not errors."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
