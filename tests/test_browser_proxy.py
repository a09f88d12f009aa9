"""The recording proxy on its own (archiver/browser/proxy.py): it serves only the browser that knows
its password, relays the bytes the capture hands it unchanged, and answers what it will not relay."""

from __future__ import annotations

import base64
import io
import socket
from pathlib import Path

from archiver.browser.ca import CaptureCA
from archiver.browser.proxy import USER, RecordingProxy, Refused, Relay
from archiver.net.wire import parse_head

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
BODY = b"5\r\n\x1f\x8b\x08\x00\x00\r\n0\r\n\r\n"          # framing and bytes relayed as they are, whatever they hold


def exchange(address: str, request: bytes) -> bytes:
    host, port = address.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_only_the_password_holder_is_served_and_bytes_pass_unchanged(tmp_path: Path) -> None:
    asked: list[str] = []

    def fetch(url: str) -> Relay:
        asked.append(url)
        if url.endswith("/robots-says-no"):
            raise Refused(403, "archiver did not fetch this: robots.txt")
        return Relay(parse_head(HEAD), io.BytesIO(BODY), complete=True)

    with RecordingProxy(fetch, CaptureCA(tmp_path / "ca").context_for) as proxy:
        anonymous = exchange(proxy.address, b"GET http://127.0.0.9:8080/a HTTP/1.1\r\nHost: 127.0.0.9:8080\r\n\r\n")
        wrong = base64.b64encode(f"{USER}:guess".encode()).decode()
        guessed = exchange(proxy.address, f"GET http://127.0.0.9:8080/a HTTP/1.1\r\nProxy-Authorization: Basic {wrong}"
                                          "\r\n\r\n".encode())
        tunnel = exchange(proxy.address, b"CONNECT 127.0.0.9:443 HTTP/1.1\r\nHost: 127.0.0.9:443\r\n\r\n")
        assert not asked                                     # nothing fetched for anyone without the password
        right = base64.b64encode(f"{USER}:{proxy.password}".encode()).decode()
        served = exchange(proxy.address, f"GET http://127.0.0.9:8080/a HTTP/1.1\r\nProxy-Authorization: Basic {right}"
                                         "\r\n\r\n".encode())
        refused = exchange(proxy.address, f"GET http://127.0.0.9:8080/robots-says-no HTTP/1.1\r\n"
                                          f"Proxy-Authorization: Basic {right}\r\n\r\n".encode())
        posted = exchange(proxy.address, f"POST http://127.0.0.9:8080/form HTTP/1.1\r\nProxy-Authorization: Basic "
                                         f"{right}\r\nContent-Length: 3\r\n\r\nabc".encode())
    for answer in (anonymous, guessed, tunnel):
        assert answer.startswith(b"HTTP/1.1 407 ") and b'Proxy-Authenticate: Basic realm="archiver"' in answer
    assert served == HEAD + BODY                              # exactly what the capture handed over
    assert refused.startswith(b"HTTP/1.1 403 ") and refused.endswith(b"robots.txt\n")
    assert posted.startswith(b"HTTP/1.1 405 ")
    assert asked == ["http://127.0.0.9:8080/a", "http://127.0.0.9:8080/robots-says-no"]
