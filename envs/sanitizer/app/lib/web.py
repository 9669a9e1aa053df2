"""A tiny JSON-over-HTTP server on the standard library (http.server).

    def stats(req):            # req: the BaseHTTPRequestHandler
        return 200, {"rows": 42}
    serve(8000, {("GET", "/stats"): stats})

A route key is (method, path); a path ending in "/" matches every path under
it (req.path_rest then holds the remainder). Handlers return (status, body):
a dict/list is sent as JSON, a str as text. An exception becomes a 500 with
its message, so a dependency that is down shows up in the answer.
This file is the same in every example environment (envs/*/): each one
stands alone, so each carries its own copy.
"""
import json
import signal
import sys
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port, routes, name="app"):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if "/health" not in self.path:
                print(f"[{name}] {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def json(self):
            raw = self.body()
            return json.loads(raw) if raw else {}

        def handle_any(self):
            url = urllib.parse.urlsplit(self.path)
            self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
            handler = routes.get((self.command, url.path))
            if handler is None:
                for (method, prefix), h in routes.items():
                    if method == self.command and prefix.endswith("/") and url.path.startswith(prefix):
                        self.path_rest, handler = url.path[len(prefix):], h
                        break
            try:
                status, body = handler(self) if handler else (404, {"error": f"no route for {self.command} {url.path}"})
            except Exception as e:  # the answer names the failing dependency
                traceback.print_exc()
                status, body = 500, {"error": f"{type(e).__name__}: {e}"}
            self.reply(status, body)

        def reply(self, status, body):
            if isinstance(body, (dict, list)):
                data, ctype = json.dumps(body, indent=2).encode() + b"\n", "application/json"
            else:
                data, ctype = str(body).encode(), "text/plain; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    print(f"[{name}] listening on {port}", flush=True)
    server.serve_forever()
