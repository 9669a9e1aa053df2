"""A minimal Kafka consumer over the wire protocol, standard library only.

Enough for an example app on a single-broker development cluster: list a
topic's partitions (Metadata v1), read offsets (ListOffsets v1) and fetch
records (Fetch v4, record batches v2, uncompressed). Every request goes to the
broker you connect to, which on a one-node cluster leads every partition; a
production consumer would use a real client library (consumer groups,
rebalancing, leader changes, compression).

    k = Kafka("events:19092")
    for p in k.partitions("ticks"):
        for offset, key, value in k.fetch("ticks", p, 0):
            ...
"""
import socket
import struct


class KafkaError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value[0] if len(value) == 1 else value

    def string(self):
        n = self.take("!h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def array(self, item):
        n = self.take("!i")
        return [] if n < 0 else [item() for _ in range(n)]

    def varint(self):
        shift = result = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return (result >> 1) ^ -(result & 1)      # zigzag
            shift += 7

    def vbytes(self):
        n = self.varint()
        if n < 0:
            return None
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def string(s):
    data = s.encode()
    return struct.pack("!h", len(data)) + data


class Kafka:
    def __init__(self, bootstrap, client_id="envs-example", timeout=10):
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client_id, self.correlation = client_id, 0

    def _call(self, api_key, version, body):
        self.correlation += 1
        header = struct.pack("!hhi", api_key, version, self.correlation) + string(self.client_id)
        msg = header + body
        self.sock.sendall(struct.pack("!i", len(msg)) + msg)
        size = struct.unpack("!i", self._read(4))[0]
        r = Reader(self._read(size))
        if r.take("!i") != self.correlation:
            raise KafkaError("response out of order")
        return r

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("kafka closed the connection")
            buf += chunk
        return buf

    def partitions(self, topic):
        """Partition numbers of a topic (Metadata v1)."""
        r = self._call(3, 1, struct.pack("!i", 1) + string(topic))
        r.array(lambda: (r.take("!i"), r.string(), r.take("!i"), r.string()))    # brokers
        r.take("!i")                                                             # controller
        found = {}
        for _ in range(r.take("!i")):
            error, name, _internal = r.take("!h"), r.string(), r.take("!b")
            parts = r.array(lambda: (r.take("!h"), r.take("!i"), r.take("!i"), r.array(lambda: r.take("!i")), r.array(lambda: r.take("!i")))[1])
            found[name] = (error, sorted(parts))
        error, parts = found.get(topic, (3, []))
        if error:
            raise KafkaError(f"topic {topic}: error code {error}")
        return parts

    def offset(self, topic, partition, latest=True):
        """The next offset to be written (latest) or the first one still kept (earliest)."""
        body = struct.pack("!ii", -1, 1) + string(topic) + struct.pack("!iiq", 1, partition, -1 if latest else -2)
        r = self._call(2, 1, body)
        for _ in range(r.take("!i")):
            r.string()
            for _ in range(r.take("!i")):
                _p, error, _ts, offset = r.take("!ihqq")
                if error:
                    raise KafkaError(f"{topic}/{partition}: ListOffsets error code {error}")
                return offset
        raise KafkaError(f"{topic}/{partition}: no offset returned")

    def fetch(self, topic, partition, offset, max_wait_ms=500, max_bytes=1 << 20):
        """Records at or after `offset`: a list of (offset, key, value) with bytes key/value."""
        body = struct.pack("!iiiib", -1, max_wait_ms, 1, max_bytes, 0) + struct.pack("!i", 1) + string(topic)
        body += struct.pack("!iiqi", 1, partition, offset, max_bytes)
        r = self._call(1, 4, body)
        r.take("!i")                                             # throttle time
        records = []
        for _ in range(r.take("!i")):
            r.string()
            for _ in range(r.take("!i")):
                _p, error, _hw, _lso = r.take("!ihqq")
                r.array(lambda: r.take("!qq"))                   # aborted transactions
                if error:
                    raise KafkaError(f"{topic}/{partition}: Fetch error code {error}")
                size = r.take("!i")
                if size > 0:
                    records += self._batches(r.data[r.pos:r.pos + size], offset)
                    r.pos += size
        return records

    @staticmethod
    def _batches(data, min_offset):
        out, pos = [], 0
        while pos + 12 <= len(data):
            base, length = struct.unpack_from("!qi", data, pos)
            if pos + 12 + length > len(data):
                break                                            # a partial batch at the end
            b = Reader(data[pos + 12:pos + 12 + length])
            _epoch, magic, _crc, attributes = b.take("!ibih")
            if magic != 2 or attributes & 0x07:
                raise KafkaError("only uncompressed v2 record batches are supported")
            b.take("!iqqqhi")                                    # offsets, timestamps, producer
            for _ in range(b.take("!i")):
                b.varint()                                       # record length
                b.take("!b")
                b.varint()                                       # timestamp delta
                off = base + b.varint()
                key, value = b.vbytes(), b.vbytes()
                for _ in range(b.varint()):
                    b.vbytes(), b.vbytes()                       # headers
                if off >= min_offset:
                    out.append((off, key, value))
            pos += 12 + length
        return out

    def close(self):
        self.sock.close()
