"""The frontend: static files from STATIC_DIR, and /api/* passed to the API.

In production this is nginx in front of a built single-page app; here a few
lines of standard-library Python do the same two jobs. Files are read from
disk on every request, so devenv's `watch` sync shows an edit on the next
reload, without a restart.
"""
import mimetypes
import os
import signal
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATIC = os.environ.get("STATIC_DIR", "/srv/static")
API = os.environ["API_URL"].rstrip("/")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send(self, status, data, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def proxy(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        req = urllib.request.Request(API + self.path[len("/api"):], data=body, method=self.command)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                self.send(r.status, r.read(), r.headers.get("Content-Type", "application/json"))
        except urllib.error.HTTPError as e:
            self.send(e.code, e.read(), e.headers.get("Content-Type", "application/json"))
        except OSError as e:
            self.send(502, f'{{"error": "api unreachable: {e}"}}'.encode(), "application/json")

    def do_GET(self):
        if self.path == "/health":
            return self.send(200, b"ok", "text/plain")
        if self.path.startswith("/api/"):
            return self.proxy()
        name = self.path.split("?")[0].lstrip("/") or "index.html"
        path = os.path.realpath(os.path.join(STATIC, name))
        if not path.startswith(os.path.realpath(STATIC) + os.sep) or not os.path.isfile(path):
            return self.send(404, b"not found", "text/plain")
        with open(path, "rb") as f:
            self.send(200, f.read(), mimetypes.guess_type(path)[0] or "application/octet-stream")

    def do_POST(self):
        if self.path.startswith("/api/"):
            return self.proxy()
        self.send(405, b"method not allowed", "text/plain")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"[frontend] listening on {port}, API at {API}", flush=True)
    server.serve_forever()
