"""A fault-injecting HTTP server for the hostile-web tests: one listening socket on a loopback
address; each request path picks a behaviour that writes raw bytes, stalls, or drops the
connection. Loopback only; every behaviour ends by itself."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable

Behaviour = Callable[[socket.socket], None]


def _head(status: str = "200 OK", headers: list[str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(headers or []), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def ok(body: bytes, ctype: str = "text/html", extra: list[str] | None = None) -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(_head(headers=[f"Content-Type: {ctype}", f"Content-Length: {len(body)}", *(extra or [])]) + body)
    return run


def raw(data: bytes) -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(data)
    return run


def reset_mid_body() -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(_head(headers=["Content-Type: text/plain", "Content-Length: 100000"]) + b"x" * 5000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    return run


def drip(seconds: float) -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(_head(headers=["Content-Type: text/plain", "Content-Length: 1000"]))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn.sendall(b"x")
            time.sleep(0.5)
    return run


def endless(limit_bytes: int) -> Behaviour:
    """A body that does not end (no length, no close) until the client stops reading."""
    def run(conn: socket.socket) -> None:
        conn.sendall(_head(headers=["Content-Type: application/octet-stream"]))
        block = b"y" * 65536
        sent = 0
        try:
            while sent < limit_bytes:
                conn.sendall(block)
                sent += len(block)
        except OSError:
            pass
    return run


def gzip_bomb(expanded: int) -> Behaviour:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"<p>" + b"a" * (1 << 20)
    parts = [comp.compress(chunk) for _ in range(expanded >> 20)]
    body = b"".join(parts) + comp.flush()

    def run(conn: socket.socket) -> None:
        conn.sendall(_head(headers=["Content-Type: text/html", "Content-Encoding: gzip",
                                    f"Content-Length: {len(body)}"]) + body)
    run.body = body  # type: ignore[attr-defined]
    return run


def stall() -> Behaviour:
    def run(conn: socket.socket) -> None:
        time.sleep(5)
    return run


class FaultServer:
    def __init__(self, address: str, routes: dict[str, Behaviour]) -> None:
        self.routes = routes
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(64)
        self.origin = f"http://{address}:{self.sock.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str) -> str:
        return self.origin + path

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 1 << 20:
                piece = conn.recv(65536)
                if not piece:
                    return
                data += piece
            path = data.split(b" ", 2)[1].decode("latin-1")
            behaviour = self.routes.get(path) or self.routes.get(path.split("?")[0]) or ok(b"<h1>nothing</h1>", extra=[])
            behaviour(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self._stop = True
        self.sock.close()


__all__ = ["FaultServer", "ok", "raw", "reset_mid_body", "drip", "endless", "gzip_bomb", "stall", "gzip"]
