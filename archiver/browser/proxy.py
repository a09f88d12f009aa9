"""The recording proxy: a local HTTP proxy the browser is pointed at, which fetches nothing itself.

Each request the browser makes (plain HTTP in absolute form, or HTTPS inside a CONNECT tunnel that
is decrypted with the capture's own CA, :mod:`.ca`) is handed to a ``fetch`` callback: the capture,
which fetches the URL with archiver's fetcher (its address policy, limits, robots rules, politeness,
secret redaction), archives the exchange, and returns the response bytes exactly as the server sent
them: status line, headers, chunked framing and content coding untouched. The proxy relays those
bytes to the browser, so what the browser rendered is what the WARC file holds.

Only GET is relayed; other methods (a form post, a beacon) are answered ``405`` and reported to the
callback's owner through ``refused``. Listens on 127.0.0.1 only, an ephemeral port, and serves only
whoever knows its password (``Proxy-Authorization: Basic``, a random secret per proxy given to its
Chromium alone): another local process cannot make the capture fetch and archive what it likes.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import shutil
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, cast

from ..net.wire import ProtocolError, ResponseHead, find_head_end, has_no_body

MAX_REQUEST_HEAD = 64 * 1024     # the browser's request line and headers
MAX_REQUEST_BODY = 1 << 20       # a body the proxy reads and drops (non-GET requests)
IDLE = 30.0                      # seconds a browser connection may wait between requests


@dataclass(slots=True)
class Relay:
    """A response to send back: the head and the body exactly as the server sent them."""

    head: ResponseHead
    body: IO[bytes]
    complete: bool               # the body ended where its framing said (not cut by a limit)


class Refused(Exception):  # noqa: N818
    """The capture will not fetch this URL (robots.txt, address policy, a failure): ``status`` and
    ``reason`` make the short response the browser gets instead."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


Fetch = Callable[[str], Relay]
"""Called in a proxy thread with a canonical-enough URL; returns the Relay or raises Refused."""
Notice = Callable[[str, str], None]
"""Called with (method, url) for a request the proxy refused to relay (not GET, malformed)."""


def reusable(relay: Relay) -> bool:
    """Whether the browser's connection can carry another request after this response."""
    head = relay.head
    tokens = {t.strip().lower() for v in head.get_all("Connection") for t in v.split(",")}
    if not relay.complete or head.version.upper() != "HTTP/1.1" or "close" in tokens:
        return False
    try:
        return has_no_body(head.status) or head.is_chunked or head.content_length() is not None
    except ProtocolError:
        return False


USER = "archiver"
_CHALLENGE = (b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="archiver"\r\n'
              b"Content-Length: 0\r\n\r\n")


def short_response(status: int, reason: str) -> bytes:
    body = (reason[:500] + "\n").encode("utf-8", "replace")
    return (f"HTTP/1.1 {status} archiver proxy\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n").encode() + body


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]


def _read_request(stream: IO[bytes]) -> _Request | None:
    """One request head from the browser (None when the connection ended); its body, if any, is
    read and dropped. ValueError for what is not an HTTP/1.x request."""
    head = b""
    while find_head_end(head) < 0:
        line = stream.readline(MAX_REQUEST_HEAD + 1)
        if not line:
            if head.strip():
                raise ValueError("connection closed inside a request head")
            return None
        if not head and not line.strip():
            continue                   # stray CRLF between requests
        head += line
        if len(head) > MAX_REQUEST_HEAD:
            raise ValueError(f"request head larger than {MAX_REQUEST_HEAD} bytes")
    lines = head.decode("latin-1").split("\n")
    parts = lines[0].strip().split(" ")
    headers: list[tuple[str, str]] = []
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x request line: {lines[0][:80]!r}")
    for text in lines[1:]:
        name, sep, value = text.partition(":")
        if sep and name.strip():
            headers.append((name.strip(), value.strip()))
    length = next((v for n, v in headers if n.lower() == "content-length"), "0")
    if not length.isdigit() or int(length) > MAX_REQUEST_BODY:
        raise ValueError(f"request body of {length[:20]!r} bytes")
    if int(length):
        stream.read(int(length))
    return _Request(parts[0].upper(), parts[1], headers)


class RecordingProxy:
    """``with RecordingProxy(fetch, tls_for) as proxy:`` then point the browser at ``proxy.address``.
    ``tls_for(host)`` gives the TLS server context for a host (the capture's CA)."""

    def __init__(self, fetch: Fetch, tls_for: Callable[[str], ssl.SSLContext], refused: Notice | None = None) -> None:
        self.fetch, self.tls_for, self.refused = fetch, tls_for, refused
        self.password = secrets.token_urlsafe(24)
        self._expected = b"Basic " + base64.b64encode(f"{USER}:{self.password}".encode())
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = IDLE

            def handle(self) -> None:
                owner._serve(self.connection, cast(IO[bytes], self.rfile), None)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.allow_reuse_address = True
        self._server.server_bind()
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, name="archiver-proxy", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _serve(self, conn: socket.socket, stream: IO[bytes], origin: str | None) -> None:
        """Requests on one browser connection until it closes; ``origin`` inside a CONNECT tunnel."""
        while True:
            try:
                request = _read_request(stream)
            except (ValueError, OSError):
                return
            if request is None:
                return
            if origin is None and not self._authorized(request):
                if not self._send(conn, _CHALLENGE):
                    return
                continue                   # the browser asks again, with the password
            if request.method == "CONNECT" and origin is None:
                self._tunnel(conn, request.target)
                return
            url = origin + request.target if origin and request.target.startswith("/") else request.target
            if request.method != "GET" or not url.lower().startswith(("http://", "https://")):
                if self.refused:
                    self.refused(request.method, url[:2000])
                self._send(conn, short_response(405, f"archiver's proxy relays GET only, not {request.method[:20]}"))
                return
            if not self._relay(conn, url):
                return

    def _relay(self, conn: socket.socket, url: str) -> bool:
        """Fetch through the capture and send the bytes; True if the connection may carry more."""
        try:
            relay = self.fetch(url)
        except Refused as exc:
            self._send(conn, short_response(exc.status, exc.reason))
            return False
        except Exception as exc:  # noqa: BLE001 - the browser gets an answer whatever broke; the capture lists it
            self._send(conn, short_response(502, f"archiver's proxy failed: {type(exc).__name__}: {exc}"))
            return False
        try:
            conn.sendall(relay.head.raw)
            relay.body.seek(0)
            shutil.copyfileobj(relay.body, _SocketWriter(conn))
        except OSError:
            return False
        finally:
            relay.body.close()
        return reusable(relay)

    def _tunnel(self, conn: socket.socket, authority: str) -> None:
        host, _, port = authority.rpartition(":")
        if not host or not port.isdigit():
            self._send(conn, short_response(400, f"CONNECT needs host:port, not {authority[:100]!r}"))
            return
        if not self._send(conn, b"HTTP/1.1 200 Connection Established\r\n\r\n"):
            return
        try:
            tls = self.tls_for(host.strip("[]")).wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError, ValueError):
            return
        try:
            origin = f"https://{host}" + ("" if port == "443" else f":{port}")
            self._serve(tls, tls.makefile("rb"), origin)
        finally:
            try:
                tls.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass

    def _authorized(self, request: _Request) -> bool:
        given = next((v for n, v in request.headers if n.lower() == "proxy-authorization"), "")
        return hmac.compare_digest(given.encode("latin-1", "replace"), self._expected)

    @staticmethod
    def _send(conn: socket.socket, data: bytes) -> bool:
        try:
            conn.sendall(data)
            return True
        except OSError:
            return False


class _SocketWriter:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> int:
        self.conn.sendall(data)
        return len(data)
