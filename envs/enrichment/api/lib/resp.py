"""A minimal Redis client speaking RESP2 over a socket, standard library only.

    r = Redis("redis://cache:6379/0")
    r("SET", "greeting", "hello")        # -> "OK"
    r("HGETALL", "user:1")               # -> ["name", "Ada", ...]

Replies: simple strings and bulk strings as str, integers as int, arrays as
lists, nil as None; an error reply raises RedisError. Not thread-safe: use one
client per thread. This file is the same in every example environment
(envs/*/): each one stands alone, so each carries its own copy.
"""
import socket
import urllib.parse


class RedisError(Exception):
    pass


class Redis:
    def __init__(self, url, timeout=10):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname or "localhost", u.port or 6379), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        if u.password:
            self("AUTH", *([urllib.parse.unquote(u.username)] if u.username else []), urllib.parse.unquote(u.password))
        db = u.path.lstrip("/")
        if db and db != "0":
            self("SELECT", db)

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            data = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def settimeout(self, seconds):
        """None blocks forever (for BLPOP with timeout 0)."""
        self.sock.settimeout(seconds)

    def _reply(self):
        line = self.rfile.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)[:-2]
            return data.decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
