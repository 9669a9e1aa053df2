"""The hello app: GET /health -> ok; GET / -> a greeting and whether the cache was warmed."""
import os
import signal
import socket
import sys

PORT = int(os.environ.get("PORT", "8080"))
GREETING = os.environ.get("GREETING", "hello")
CACHE = (os.environ.get("CACHE_HOST", "cache"), int(os.environ.get("CACHE_PORT", "6379")))


def warmed():
    try:
        with socket.create_connection(CACHE, timeout=2) as s:
            s.sendall(b"*2\r\n$3\r\nGET\r\n$8\r\nwarmed:1\r\n")
            return s.recv(64).startswith(b"$3\r\nyes")
    except OSError:
        return False


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", PORT))
    srv.listen(16)
    print(f"listening on {PORT}", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            request = conn.recv(4096).decode(errors="replace")
            path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
            if path == "/health":
                body = "ok"
            else:
                body = f'{{"greeting": "{GREETING}", "cache_warmed": {str(warmed()).lower()}}}'
            data = body.encode()
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                         + str(len(data)).encode() + b"\r\n\r\n" + data)


if __name__ == "__main__":
    main()
