"""A minimal PostgreSQL client over the wire protocol (v3), standard library only.

Enough for an example app: SCRAM-SHA-256 / MD5 / trust authentication, the
extended query protocol with text parameters ($1, $2, ...) for safe queries,
and the simple protocol for multi-statement scripts (migrations).

    db = connect("postgres://devenv:devenv@db:5432/shop")
    rows = db.query("SELECT id, name FROM users WHERE id > $1", [10])
    db.script(open("001_init.sql").read())

Values come back as Python ints, floats, bools, None or strings (by type OID).
This file is the same in every example environment (envs/*/): each one stands
alone, so each carries its own copy.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import urllib.parse

INTS = {20, 21, 23, 26}          # int8, int2, int4, oid
FLOATS = {700, 701, 1700}        # float4, float8, numeric
BOOL = 16


class PgError(Exception):
    """An ErrorResponse from the server: .code is the SQLSTATE."""

    def __init__(self, fields):
        self.code = fields.get("C", "")
        super().__init__(f'{fields.get("S", "ERROR")}: {fields.get("M", "?")} (SQLSTATE {self.code})')


def connect(url, timeout=10):
    u = urllib.parse.urlsplit(url)
    return Connection(u.hostname or "localhost", u.port or 5432, urllib.parse.unquote(u.username or "postgres"),
                      urllib.parse.unquote(u.password or ""), u.path.lstrip("/") or (u.username or "postgres"), timeout)


class Connection:
    def __init__(self, host, port, user, password, database, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        self.user, self.password = user, password
        params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in
                          [("user", user), ("database", database), ("application_name", "envs-example")])
        body = struct.pack("!i", 196608) + params + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._authenticate()
        self._until_ready()

    # -- framing ---------------------------------------------------------
    @staticmethod
    def _msg(kind, payload=b""):
        return kind + struct.pack("!i", len(payload) + 4) + payload

    def _send(self, kind, payload=b""):
        self.sock.sendall(self._msg(kind, payload))

    def _recv(self):
        head = self.rfile.read(5)
        if len(head) < 5:
            raise ConnectionError("postgres closed the connection")
        kind, length = head[:1], struct.unpack("!i", head[1:])[0]
        return kind, self.rfile.read(length - 4)

    @staticmethod
    def _fields(payload):
        out = {}
        for part in payload.split(b"\0"):
            if part:
                out[chr(part[0])] = part[1:].decode(errors="replace")
        return out

    # -- authentication -------------------------------------------------
    def _authenticate(self):
        scram = None
        while True:
            kind, payload = self._recv()
            if kind == b"E":
                raise PgError(self._fields(payload))
            if kind != b"R":
                raise ConnectionError(f"unexpected message {kind!r} during authentication")
            code = struct.unpack("!i", payload[:4])[0]
            if code == 0:
                return
            if code == 3:                                   # cleartext
                self._send(b"p", self.password.encode() + b"\0")
            elif code == 5:                                 # md5
                inner = hashlib.md5((self.password + self.user).encode()).hexdigest()
                outer = hashlib.md5(inner.encode() + payload[4:8]).hexdigest()
                self._send(b"p", b"md5" + outer.encode() + b"\0")
            elif code == 10:                                # SASL: SCRAM-SHA-256
                scram = Scram(self.password)
                first = scram.client_first()
                self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
            elif code == 11:
                self._send(b"p", scram.client_final(payload[4:]))
            elif code == 12:
                scram.verify(payload[4:])
            else:
                raise ConnectionError(f"unsupported authentication method {code}")

    def _until_ready(self):
        error = None
        while True:
            kind, payload = self._recv()
            if kind == b"E":
                error = PgError(self._fields(payload))
            elif kind == b"Z":
                if error:
                    raise error
                return

    # -- queries ---------------------------------------------------------
    def query(self, sql, params=()):
        """Run one statement with $n parameters; return a list of row tuples."""
        enc = [None if p is None else str(p).encode() for p in params]
        bind = b"\0\0" + struct.pack("!hh", 0, len(enc))
        for value in enc:
            bind += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
        bind += struct.pack("!h", 0)
        # Parse, Bind, Describe, Execute, Sync: one write, one round trip.
        self.sock.sendall(self._msg(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!h", 0))
                          + self._msg(b"B", bind) + self._msg(b"D", b"P\0")
                          + self._msg(b"E", b"\0" + struct.pack("!i", 0)) + self._msg(b"S"))
        return self._collect()

    def script(self, sql):
        """Run several statements in one go (simple protocol); returns the last result's rows."""
        self._send(b"Q", sql.encode() + b"\0")
        return self._collect()

    def one(self, sql, params=()):
        """The first column of the first row, or None."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def _collect(self):
        rows, types, error = [], [], None
        while True:
            kind, payload = self._recv()
            if kind == b"T":
                types, rows = self._row_types(payload), []
            elif kind == b"D":
                rows.append(self._row(payload, types))
            elif kind == b"E":
                error = PgError(self._fields(payload))
            elif kind == b"Z":
                if error:
                    raise error
                return rows

    @staticmethod
    def _row_types(payload):
        count, pos, types = struct.unpack("!h", payload[:2])[0], 2, []
        for _ in range(count):
            pos = payload.index(b"\0", pos) + 1                 # column name
            types.append(struct.unpack("!i", payload[pos + 6:pos + 10])[0])
            pos += 18
        return types

    @staticmethod
    def _row(payload, types):
        count, pos, row = struct.unpack("!h", payload[:2])[0], 2, []
        for i in range(count):
            n = struct.unpack("!i", payload[pos:pos + 4])[0]
            pos += 4
            if n < 0:
                row.append(None)
                continue
            text = payload[pos:pos + n].decode()
            pos += n
            oid = types[i] if i < len(types) else 25
            row.append(int(text) if oid in INTS else float(text) if oid in FLOATS else text == "t" if oid == BOOL else text)
        return tuple(row)

    def close(self):
        try:
            self._send(b"X")
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Scram:
    """SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it: no channel binding."""

    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def client_first(self):
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first):
        text = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in text.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ConnectionError("SCRAM: server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        without_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), self.auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_key = hmac.digest(salted, b"Server Key", "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final):
        expected = base64.b64encode(hmac.digest(self.server_key, self.auth_message, "sha256")).decode()
        if server_final.decode() != f"v={expected}":
            raise ConnectionError("SCRAM: the server's signature does not match")
