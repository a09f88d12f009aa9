"""Kept-alive connections: reused only after a complete, properly framed HTTP/1.1 response; a
connection the server closed while idle is replaced without a failure; bytes stay exact."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from warc_reading import read_records

from archiver import capture
from archiver.core.settings import CaptureOptions
from archiver.core.urls import parse_http_url
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response
from archiver.fixity.verify import verify
from archiver.net.fetch import Fetcher
from archiver.net.request_plan import RequestPlanner


def test_a_capture_reuses_connections_and_archives_every_body_exactly(serve, workspace: Workspace) -> None:
    images = {f"/i{n}.png": b"\x89PNG\r\n\x1a\n" + bytes([n]) * (5000 + n) for n in range(8)}
    page = "".join(f'<img src="{path}">' for path in images).encode()
    routes = {"/": Response(200, [("Content-Type", "text/html")], b"<p>text</p>" + page),
              "/robots.txt": Response(200, [], b"User-agent: *\nDisallow:\n"),
              **{p: Response(200, [("Content-Type", "image/png")], b) for p, b in images.items()},
              "/chunked.css": Response(200, [("Content-Type", "text/css")], b"p{color:red}" * 300, chunked=True)}
    routes["/"].body += b'<link rel=stylesheet href="/chunked.css">'
    site = serve([Host("h", "127.0.0.81", routes=routes)], keep_alive=True)
    result = capture([site.url("h", "/")], workspace, CaptureOptions(timeout=5))
    assert result.ok and len(result.resources) == 10
    assert site.connections["h"] <= 4 < len(result.resources)     # 2 at a time, each reused
    served = {s.url: hashlib.sha256(s.body).hexdigest() for s in site.served}
    assert {r.url: r.payload_sha256 for r in result.resources} == served
    records = read_records(workspace.root / result.warc_files[0].path)
    requests = [r.block for r in records if r.type == "request"]
    assert len(requests) == 10 and not any(b"Connection: close" in b for b in requests)
    assert verify(workspace).ok


class RawServer:
    """A listener on 127.0.0.82 whose connections are answered by ``handle(conn, number)``."""

    def __init__(self, handle: Callable[[socket.socket, int], None]) -> None:
        self.listener = socket.create_server(("127.0.0.82", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.handle = handle
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.handle, args=(conn, self.accepted), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.82:{self.port}{path}"


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], RawServer]]:
    started: list[RawServer] = []

    def start(handle: Callable[[socket.socket, int], None]) -> RawServer:
        started.append(RawServer(handle))
        return started[-1]

    yield start
    for server in started:
        server.listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def fetch_three(url: str, tmp_path: Path) -> list[bytes]:
    fetcher = Fetcher(timeout=5, max_bytes=10**6, scratch=tmp_path)
    planner = RequestPlanner(CaptureOptions())
    bodies = []
    try:
        for _ in range(3):
            exchange = fetcher.fetch(parse_http_url(url), planner.plan(url))
            bodies.append(exchange.body.read())
            exchange.close()
    finally:
        fetcher.close()
    return bodies


def test_a_connection_closed_while_idle_is_replaced(raw_server, tmp_path: Path) -> None:
    def one_answer_then_close(conn: socket.socket, number: int) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + str(number).encode().rjust(3, b"0"))
        conn.close()                   # no 'Connection: close': the client learns it on reuse

    server = raw_server(one_answer_then_close)
    assert fetch_three(server.url("/x"), tmp_path) == [b"001", b"002", b"003"]
    assert server.accepted == 3


def test_a_kept_connection_serves_several_requests(raw_server, tmp_path: Path) -> None:
    def keep_answering(conn: socket.socket, number: int) -> None:
        for n in range(1, 10):
            if not read_request(conn):
                break
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n" + b"%d-%d" % (number, n)
                         + b"\r\n0\r\n\r\n")
        conn.close()

    server = raw_server(keep_answering)
    assert fetch_three(server.url("/x"), tmp_path) == [b"3\r\n1-1\r\n0\r\n\r\n", b"3\r\n1-2\r\n0\r\n\r\n",
                                                       b"3\r\n1-3\r\n0\r\n\r\n"]
    assert server.accepted == 1


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK",                 # bytes past the body
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",  # the server says close
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",                    # HTTP/1.0
])
def test_a_connection_is_not_reused_unless_the_response_allows_it(raw_server, tmp_path: Path,
                                                                  response: bytes) -> None:
    reused: list[int] = []

    def answer_and_wait(conn: socket.socket, number: int) -> None:
        read_request(conn)
        conn.sendall(response)
        conn.settimeout(2)
        try:
            if read_request(conn):     # a second request on this connection: it was reused
                reused.append(number)
        except OSError:
            pass
        conn.close()

    server = raw_server(answer_and_wait)
    assert fetch_three(server.url("/x"), tmp_path) == [b"ok", b"ok", b"ok"]
    assert server.accepted == 3 and reused == []
