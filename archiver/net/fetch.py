"""Fetching one URL: one HTTP/1.1 exchange over a socket, bytes kept exactly as they crossed the wire.

requests/urllib3 sit on http.client, which removes chunked framing and re-parses header lines, so
the bytes a server sent could not be archived as sent. This module speaks HTTP/1.1 itself (stdlib
``socket`` and ``ssl``): the request bytes it sends and the response bytes it receives are what
go into the WARC record. Bodies stream into a spooled temporary file, hashed as they arrive; a
wall-clock deadline and a size limit bound every exchange.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ..core.errors import FetchError
from ..core.urls import HttpUrl
from .content_coding import PARSE_BYTES
from .exchange import Exchange, RequestPlan
from .servers import ServerLog, tls_facts
from .wire import (
    MAX_HEAD_BYTES,
    ChunkedDecoder,
    ProtocolError,
    ResponseHead,
    build_request,
    find_head_end,
    has_no_body,
    parse_head,
)

PARSE_PREFIX_BYTES = PARSE_BYTES   # entity bytes kept in memory for link extraction (8 MiB)
SPOOL_IN_MEMORY = 1 * 2**20       # bodies larger than this spill to disk
_RECV = 256 * 1024
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"   # for pages (seeds, sources)
ACCEPT_ANY = "*/*"   # for requisites and robots.txt: the server's default representation
# bodies of these types (and any text/*) are kept in memory up to PARSE_PREFIX_BYTES for parsing
PARSED_TYPES = frozenset({"application/xhtml+xml", "application/xml", "application/json",
                          "application/pdf"})     # a PDF's title, author and date (page/pdf_metadata.py)

AddressCheck = Callable[[str, str], None]
"""Called with (url, peer IP) before a request is sent; raises FetchError to refuse."""


class _Reader:
    """Accumulates one response body, applying the limits and computing the digests."""

    def __init__(self, spool: IO[bytes], head: ResponseHead, max_bytes: int) -> None:
        ctype = (head.content_type or "").split(";")[0].strip().lower()
        self.keep_prefix = not ctype or ctype.startswith("text/") or ctype in PARSED_TYPES
        self.spool = spool
        self.max_bytes = max_bytes
        self.block = hashlib.sha256(head.raw)
        self.payload = hashlib.sha256()
        self.raw_bytes = 0
        self.entity_bytes = 0
        self.prefix = bytearray()
        self.chunked = ChunkedDecoder() if head.is_chunked else None
        # without chunked framing the entity is the payload: one hash serves both
        self.entity = hashlib.sha256() if self.chunked else self.payload
        length = None if self.chunked else head.content_length()
        self.remaining = length
        self.done = length == 0
        self.truncated: str | None = None
        self.truncated_reason: str | None = None
        self.overrun = False          # bytes arrived past the response's framing

    @property
    def framed_and_complete(self) -> bool:
        """The body ended where its Content-Length or last chunk said, and nothing came after it."""
        return (self.done and not self.truncated and not self.overrun
                and (self.remaining == 0 or (self.chunked is not None and self.chunked.done)))

    def feed(self, data: bytes) -> None:
        if self.remaining is not None:
            if len(data) > self.remaining:
                self.overrun = True
                data = data[: self.remaining]
            self.remaining -= len(data)
            self.done = self.remaining == 0
        if self.raw_bytes + len(data) > self.max_bytes:
            data = data[: self.max_bytes - self.raw_bytes]
            self.truncated = "length"
            self.truncated_reason = f"body exceeds the per-resource limit of {self.max_bytes} bytes"
            self.done = True
        if self.chunked is not None:
            entity = self.chunked.feed(data)
            if self.chunked.done:
                self.overrun = self.chunked.last_used < len(data)
                data = data[: self.chunked.last_used]   # bytes after the last chunk are not ours
                self.done = True
        else:
            entity = data
        self.spool.write(data)
        self.block.update(data)
        self.payload.update(data)
        self.raw_bytes += len(data)
        if self.chunked is not None:
            self.entity.update(entity)
        self.entity_bytes += len(entity)
        if self.keep_prefix:
            room = PARSE_PREFIX_BYTES - len(self.prefix)
            if room > 0:
                self.prefix += entity[:room]

    def end_of_stream(self) -> None:
        """The connection closed: fine for a close-delimited body, a truncation otherwise."""
        if self.done:
            return
        if self.remaining is not None or self.chunked is not None:
            self.truncated = "disconnect"
            expected = f" of {self.raw_bytes + self.remaining}" if self.remaining is not None else ""
            self.truncated_reason = f"connection closed after {self.raw_bytes}{expected} body bytes"
        self.done = True


def _keeps_alive(head: ResponseHead) -> bool:
    """HTTP/1.1 keeps a connection open unless the server says ``Connection: close``."""
    tokens = {t.strip().lower() for v in head.get_all("Connection") for t in v.split(",")}
    return head.version.upper() == "HTTP/1.1" and "close" not in tokens


class _Stale(Exception):  # noqa: N818
    """A kept-alive connection the server had closed before our request: use a new one."""


IDLE_SECONDS = 4.0        # a kept-alive connection idle longer than this is closed, not reused
_IDLE_PER_ORIGIN = 4


class Fetcher:
    """Performs exchanges; safe to share between threads (it holds no per-request state).

    A connection whose response was complete and properly framed (Content-Length or chunked, and
    HTTP/1.1 without ``Connection: close``) is kept for the next request to the same origin, so a
    host's requisites do not each pay a TCP and TLS handshake. ``close`` closes what is kept.

    Host names are looked up once per Fetcher (one capture): the addresses are kept for the
    capture's later requests to that host, and every connection is still checked against the
    address policy. A lookup that fails is not kept.

    ``abort`` (a capture told to stop) makes every request in flight end at once: it shuts down the
    sockets in use, which wakes a thread blocked in connect, send or receive (the request then
    fails), and every later request fails before it connects. A host name lookup in flight cannot
    be woken; it ends within the resolver's own timeout."""

    def __init__(self, *, timeout: float, max_bytes: int, scratch: Path,
                 address_check: AddressCheck | None = None, insecure: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.scratch = scratch
        self.address_check = address_check
        self.clock = clock
        self._addresses: dict[tuple[str, int], list[Any]] = {}
        self._addresses_lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[tuple[socket.socket, str, float]]] = {}
        self._idle_lock = threading.Lock()
        self._active: set[socket.socket] = set()      # sockets of requests in flight, for abort
        self._active_lock = threading.Lock()
        self._aborted = False
        self.servers = ServerLog()       # what each server proved about itself (net/servers.py)
        self.insecure = insecure
        self._tls_context: ssl.SSLContext | None = None   # made at the first https request (tls)
        self._tls_lock = threading.Lock()

    def fetch(self, url: HttpUrl, plan: RequestPlan, *, trusted: bool = False) -> Exchange:
        """One exchange; ``trusted`` (a URL the user named) skips the address check."""
        deadline = time.monotonic() + self.timeout
        headers = [("Host", url.authority), *plan.headers]
        sent = build_request("GET", url.target, headers)
        stored = sent if not plan.secret_names else build_request("GET", url.target, [
            (n, "[redacted by archiver]" if n.lower() in plan.secret_names else v) for n, v in headers])
        redacted = tuple(sorted({n for n, _ in headers if n.lower() in plan.secret_names}))
        check = None if trusted else self.address_check
        self._refuse_if_aborted(url)
        kept = self._take_idle(url)
        if kept is not None:
            sock, peer = kept
            try:
                self._track(sock, url)
                if check:
                    check(url.url, peer)
            except BaseException:
                self._untrack(sock)
                sock.close()
                raise
            try:
                return self._exchange(sock, peer, url, deadline, sent, stored, redacted, reused=True)
            except _Stale:
                pass                      # the server closed it while it was idle: a new connection
        sock, peer = self._connect(url, deadline, check)
        return self._exchange(sock, peer, url, deadline, sent, stored, redacted, reused=False)

    def _exchange(self, sock: socket.socket, peer: str, url: HttpUrl, deadline: float, sent: bytes,
                  stored: bytes, redacted: tuple[str, ...], reused: bool) -> Exchange:
        keep = False
        try:
            date = self.clock()
            try:
                sock.sendall(sent)
            except OSError as exc:
                if reused:
                    raise _Stale from None
                raise FetchError(url.url, "reset", f"sending the request failed: {exc}") from None
            exchange, keep = self._receive(sock, url, deadline, date, stored, peer, redacted, reused)
            return exchange
        finally:
            self._untrack(sock)
            if keep and not self._aborted:
                self._put_idle(url, sock, peer)
            else:
                sock.close()

    def _take_idle(self, url: HttpUrl) -> tuple[socket.socket, str] | None:
        key = (url.scheme, url.host, url.port)
        now = time.monotonic()
        with self._idle_lock:
            kept = self._idle.get(key, [])
            while kept:
                sock, peer, since = kept.pop()
                if now - since <= IDLE_SECONDS:
                    return sock, peer
                sock.close()
        return None

    def _put_idle(self, url: HttpUrl, sock: socket.socket, peer: str) -> None:
        with self._idle_lock:
            kept = self._idle.setdefault((url.scheme, url.host, url.port), [])
            if len(kept) < _IDLE_PER_ORIGIN:
                kept.append((sock, peer, time.monotonic()))
                return
        sock.close()

    def abort(self) -> None:
        """End every request in flight now and refuse new ones (see the class docstring)."""
        with self._active_lock:
            self._aborted = True
            active = list(self._active)
        for sock in active:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass                      # not connected yet, or closed meanwhile: it fails anyway

    def _refuse_if_aborted(self, url: HttpUrl) -> None:
        if self._aborted:
            raise FetchError(url.url, "interrupted", "the capture was interrupted before this request")

    def _track(self, sock: socket.socket, url: HttpUrl) -> None:
        with self._active_lock:
            if not self._aborted:
                self._active.add(sock)
                return
        sock.close()
        self._refuse_if_aborted(url)

    def _untrack(self, sock: socket.socket) -> None:
        with self._active_lock:
            self._active.discard(sock)

    def close(self) -> None:
        """Close the connections kept for reuse."""
        with self._idle_lock:
            kept = [sock for conns in self._idle.values() for sock, _, _ in conns]
            self._idle.clear()
        for sock in kept:
            sock.close()

    def _connect(self, url: HttpUrl, deadline: float,
                 address_check: AddressCheck | None) -> tuple[socket.socket, str]:
        try:
            infos = self._lookup(url.host, url.port)
        except socket.gaierror as exc:
            raise FetchError(url.url, "dns", f"DNS lookup of {url.host} failed: {exc.strerror}") from None
        except UnicodeError:
            raise FetchError(url.url, "dns", f"host name {url.host!r} cannot be looked up") from None
        self.servers.resolved(url.scheme, url.host, url.port, [str(info[4][0]) for info in infos])
        last: FetchError | None = None
        for family, kind, proto, _, address in infos:
            peer = str(address[0])
            if address_check:
                address_check(url.url, peer)
            sock = socket.socket(family, kind, proto)
            self._track(sock, url)
            try:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.connect(address)
            except ConnectionRefusedError:
                last = FetchError(url.url, "refused", f"connection to {peer} port {url.port} refused")
            except TimeoutError:
                last = FetchError(url.url, "timeout", f"connecting to {peer} port {url.port} timed out")
            except OSError as exc:
                last = FetchError(url.url, "connect", f"connecting to {peer} port {url.port} failed: {exc.strerror}")
            else:
                tls = None
                if url.scheme == "https":
                    wrapped = self._tls(sock, url, deadline)
                    sock = wrapped
                    if self.servers.wants_tls(url.scheme, url.host, url.port):
                        tls = tls_facts(wrapped)
                self.servers.connected(url.scheme, url.host, url.port, peer, self.clock(), tls)
                return sock, peer
            self._untrack(sock)
            sock.close()
            self._refuse_if_aborted(url)
        raise last or FetchError(url.url, "dns", f"no address found for {url.host}")

    def _lookup(self, host: str, port: int) -> list[Any]:
        key = (host, port)
        with self._addresses_lock:
            infos = self._addresses.get(key)
        if infos is None:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            with self._addresses_lock:
                infos = self._addresses.setdefault(key, infos)
        return infos

    @property
    def tls(self) -> ssl.SSLContext:
        """The TLS context of this capture's https requests, made at the first: loading the system's
        certificate authorities costs about 20 ms, which a capture of http URLs alone never pays."""
        with self._tls_lock:
            if self._tls_context is None:
                context = ssl.create_default_context()
                if self.insecure:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                self._tls_context = context
            return self._tls_context

    def _tls(self, sock: socket.socket, url: HttpUrl, deadline: float) -> ssl.SSLSocket:
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            wrapped = self.tls.wrap_socket(sock, server_hostname=url.host)
        except ssl.SSLCertVerificationError as exc:
            self._untrack(sock)
            sock.close()
            raise FetchError(url.url, "tls", f"TLS certificate not trusted: {exc.verify_message}") from None
        except (ssl.SSLError, OSError) as exc:
            self._untrack(sock)
            sock.close()
            self._refuse_if_aborted(url)
            raise FetchError(url.url, "tls", f"TLS handshake failed: {exc}") from None
        self._untrack(sock)               # detached by wrap_socket: the wrapped socket is the one to shut
        self._track(wrapped, url)
        return wrapped

    def _recv(self, sock: socket.socket, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        return sock.recv(_RECV)

    def _receive(self, sock: socket.socket, url: HttpUrl, deadline: float, date: datetime,
                 stored: bytes, peer: str, redacted: tuple[str, ...], reused: bool) -> tuple[Exchange, bool]:
        buffer, head = self._read_head(sock, url, deadline, reused)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=str(self.scratch))
        try:
            try:
                reader = _Reader(spool, head, self.max_bytes)
            except ProtocolError as exc:
                raise FetchError(url.url, "protocol", str(exc)) from None
            if has_no_body(head.status):
                reader.done = True
                reader.remaining = 0
                reader.overrun = bool(buffer)
            self._read_body(sock, url, deadline, reader, buffer)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        keep = reader.framed_and_complete and _keeps_alive(head)
        return Exchange(url=url.url, date=date, request=stored, head=head, body=spool,
                        body_bytes=reader.raw_bytes, block_digest=reader.block.hexdigest(),
                        payload_digest=reader.payload.hexdigest(), entity_digest=reader.entity.hexdigest(),
                        entity_bytes=reader.entity_bytes, prefix=bytes(reader.prefix), remote_address=peer,
                        truncated=reader.truncated, truncated_reason=reader.truncated_reason, redacted=redacted), keep

    def _read_head(self, sock: socket.socket, url: HttpUrl, deadline: float,
                   reused: bool = False) -> tuple[bytes, ResponseHead]:
        """The final response head and the bytes received after it. On a kept-alive connection
        (``reused``) that ends before any byte arrives, raises _Stale."""
        buffer = b""
        received = False
        while True:
            end = find_head_end(buffer)
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise FetchError(url.url, "protocol", f"response head larger than {MAX_HEAD_BYTES} bytes")
                try:
                    data = self._recv(sock, deadline)
                except TimeoutError:
                    raise FetchError(url.url, "timeout",
                                     f"no complete response head within {self.timeout:g} s") from None
                except OSError as exc:
                    if reused and not received:
                        raise _Stale from None
                    raise FetchError(url.url, "reset", f"connection failed before a response: {exc}") from None
                if not data:
                    if reused and not received:
                        raise _Stale
                    what = "closed the connection without a response" if not buffer else \
                        "closed the connection inside the response head"
                    raise FetchError(url.url, "protocol", f"server {what}")
                received = True
                buffer += data
                continue
            if end > MAX_HEAD_BYTES:
                raise FetchError(url.url, "protocol", f"response head larger than {MAX_HEAD_BYTES} bytes")
            try:
                head = parse_head(buffer[:end])
            except ProtocolError as exc:
                raise FetchError(url.url, "protocol", str(exc)) from None
            if 100 <= head.status < 200 and head.status != 101:
                buffer = buffer[end:]   # interim response (100, 103): the final one follows
                continue
            return buffer[end:], head

    def _read_body(self, sock: socket.socket, url: HttpUrl, deadline: float, reader: _Reader,
                   first: bytes) -> None:
        if first and not reader.done:
            reader.feed(first)
        while not reader.done:
            try:
                data = self._recv(sock, deadline)
            except TimeoutError:
                reader.truncated = "time"
                reader.truncated_reason = f"body not complete within {self.timeout:g} s ({reader.raw_bytes} bytes)"
                return
            except OSError as exc:
                reader.truncated = "disconnect"
                reader.truncated_reason = f"connection failed after {reader.raw_bytes} body bytes: {exc}"
                return
            if not data:
                reader.end_of_stream()
                return
            try:
                reader.feed(data)
            except ProtocolError as exc:
                reader.truncated = "disconnect"
                reader.truncated_reason = f"malformed chunked body after {reader.raw_bytes} bytes: {exc}"
                return
