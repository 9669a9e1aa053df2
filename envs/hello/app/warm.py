"""One-shot job: write a key into Redis with a raw RESP command, then exit 0."""
import os
import socket
import sys

host = os.environ.get("CACHE_HOST", "cache")
port = int(os.environ.get("CACHE_PORT", "6379"))
with socket.create_connection((host, port), timeout=5) as s:
    s.sendall(b"*3\r\n$3\r\nSET\r\n$8\r\nwarmed:1\r\n$3\r\nyes\r\n")
    reply = s.recv(64)
if not reply.startswith(b"+OK"):
    print(f"unexpected reply from redis: {reply!r}", file=sys.stderr)
    sys.exit(1)
print(f"cache warmed at {host}:{port}", flush=True)
