"""The hostile web: whatever a server does, the capture ends within its limits, records what happened
(archived as received, or a failure with a precise reason), archives everything else, and verify
passes afterwards. docs/reliability.md lists these cases; test_reliability_doc keeps it true."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer, drip, endless, gzip_bomb, ok, raw, reset_mid_body, stall

from archiver import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.fixity.verify import verify

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    server = FaultServer("127.0.0.120", {"/ok.png": ok(PNG, "image/png")})
    yield server
    server.stop()


def run(server: FaultServer, workspace: Workspace, path: str, behaviour, *, as_page: bool = False,
        bound: float = 20.0, **options):
    """Capture a page that needs /ok.png and the faulty URL; return (result, faulty URL, seconds)."""
    server.routes[path] = behaviour
    if as_page:
        seed = server.url(path)
        server.routes[path] = behaviour
    else:
        seed = server.url("/page")
        server.routes["/page"] = ok(f'<img src="/ok.png"><img src="{path}">'.encode())
    start = time.monotonic()
    result = capture([seed], workspace, CaptureOptions(**{"timeout": 2, "ignore_robots": True, **options}))
    took = time.monotonic() - start
    assert took < bound, f"capture took {took:.1f} s"
    assert verify(workspace).ok, [p.line() for p in verify(workspace).problems]
    if not as_page:
        assert server.url("/ok.png") in {r.url for r in result.resources}   # the rest is archived
    return result, server.url(path), took


def archived(result, url: str):
    return next(r for r in result.resources if r.url == url)


def failure(result, url: str):
    return next(f for f in result.failures if f.url == url)


def test_connection_reset_mid_body(faults, workspace) -> None:
    result, url, _ = run(faults, workspace, "/reset", reset_mid_body())
    res = archived(result, url)
    assert res.truncated == "disconnect" and res.payload_bytes == 5000
    assert "connection" in failure(result, url).reason


def test_truncated_chunked_body(faults, workspace) -> None:
    body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3e8\r\n" + b"z" * 500
    result, url, _ = run(faults, workspace, "/chunks", raw(body))
    assert archived(result, url).truncated == "disconnect"


def test_content_length_larger_than_body(faults, workspace) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nContent-Type: text/plain\r\n\r\n"
    result, url, _ = run(faults, workspace, "/short", raw(head + b"q" * 100))
    assert archived(result, url).truncated == "disconnect"
    assert "after 100 of 10000 body bytes" in failure(result, url).reason


def test_content_length_smaller_than_body(faults, workspace) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n"
    result, url, _ = run(faults, workspace, "/long", raw(head + b"0123456789EXTRA-BYTES"))
    res = archived(result, url)
    assert res.payload_bytes == 10 and res.truncated is None


def test_a_server_that_drips_one_byte_at_a_time(faults, workspace) -> None:
    result, url, took = run(faults, workspace, "/drip", drip(8), timeout=2, bound=6)
    assert archived(result, url).truncated == "time"
    assert "not complete within 2 s" in failure(result, url).reason


def test_a_body_that_never_ends(faults, workspace) -> None:
    result, url, _ = run(faults, workspace, "/endless", endless(64 << 20), max_bytes=1_000_000, timeout=10)
    res = archived(result, url)
    assert res.truncated == "length" and res.payload_bytes == 1_000_000


def test_a_body_far_over_max_bytes(faults, workspace) -> None:
    result, url, _ = run(faults, workspace, "/big", ok(b"B" * 5_000_000, "application/octet-stream"),
                         max_bytes=100_000)
    assert archived(result, url).truncated == "length"
    assert "per-resource limit of 100000 bytes" in failure(result, url).reason


def test_a_gzip_bomb_is_archived_as_sent_and_decoded_only_to_a_bound(faults, workspace) -> None:
    bomb = gzip_bomb(256 << 20)          # 256 MiB of HTML behind ~250 KB of gzip
    result, url, _ = run(faults, workspace, "/bomb", bomb, as_page=True)
    import hashlib

    res = archived(result, url)
    assert res.payload_sha256 == hashlib.sha256(bomb.body).hexdigest() and res.payload_bytes == len(bomb.body)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/html,hello"])
def test_redirect_to_other_schemes_is_refused(faults, workspace, target: str) -> None:
    head = f"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n".encode()
    result, url, _ = run(faults, workspace, "/redir", raw(head))
    assert archived(result, url).status == 302
    assert "not an http(s) URL" in failure(result, url).reason


def test_invalid_status_line(faults, workspace) -> None:
    result, url, _ = run(faults, workspace, "/garbage", raw(b"SPAM 200 maybe\r\n\r\nbody"))
    f = failure(result, url)
    assert f.kind == "protocol" and "invalid status line" in f.reason


def test_header_lines_with_invalid_bytes_are_archived_as_sent(faults, workspace) -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Odd: \xff\xfe\x01 value\r\nContent-Length: 2\r\n\r\nok"
    result, url, _ = run(faults, workspace, "/odd", raw(head))
    res = archived(result, url)
    import gzip as gz

    record = gz.decompress((workspace.root / res.warc).read_bytes()[res.offset:res.offset + res.length])
    assert b"X-Odd: \xff\xfe\x01 value\r\n" in record


def test_a_huge_header_block(faults, workspace) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"h" * 400_000 + b"\r\n\r\nbody"
    result, url, _ = run(faults, workspace, "/huge-head", raw(head))
    assert "response head larger than" in failure(result, url).reason


def test_html_mislabelled_and_binary_labelled_html(faults, workspace) -> None:
    mislabelled = ok("<p>caf\u00e9 <img src='/ok.png'></p>".encode("utf-8"), "text/html; charset=utf-16")
    result, url, _ = run(faults, workspace, "/mislabelled", mislabelled, as_page=True)
    assert archived(result, url).status == 200
    import os

    binary = ok(os.urandom(200_000), "text/html")
    result, url, _ = run(faults, workspace, "/binary", binary, as_page=True)
    assert archived(result, url).payload_bytes == 200_000


def test_a_page_with_100000_links(faults, workspace) -> None:
    links = "".join(f'<a href="/l{i}">{i}</a>' for i in range(100_000)).encode()
    result, url, _ = run(faults, workspace, "/links", ok(links), as_page=True, max_resources=30, bound=60)
    assert len(result.resources) <= 30
    import yaml

    manifest = yaml.safe_load((workspace.root / result.manifest_path).read_text())
    assert len(manifest["skipped"]) == 1000
    assert sum(manifest["skipped_unlisted"].values()) + 1000 + len(result.resources) >= 100_000 - 1


def test_deep_nesting_and_broken_css(faults, workspace) -> None:
    deep = ("<div>" * 10_000 + "<img src='/ok.png'>" + "</div>" * 10_000).encode()
    faults.routes["/broken.css"] = ok(b"body { background: url(/ok.png; } @import 'nope ; {{{{ url(", "text/css")
    result, url, _ = run(faults, workspace, "/deep", ok(deep + b"<link rel=stylesheet href=/broken.css>"), as_page=True)
    assert faults.url("/ok.png") in {r.url for r in result.resources}
    assert faults.url("/broken.css") in {r.url for r in result.resources}


def test_odd_urls_idn_percent_credentials_and_10000_characters(faults, workspace) -> None:
    long_path = "/" + "x" * 10_000
    page = (f'<img src="http://b\u00fccher.invalid/cover.png"><img src="/a%20b?q=%ZZ">'
            f'<img src="http://user:s3cret@127.0.0.120:{faults.origin.rsplit(":", 1)[1]}/ok.png">'
            f'<img src="{long_path}">').encode()
    faults.routes[long_path] = ok(b"long")
    result, url, _ = run(faults, workspace, "/odd-urls", ok(page), as_page=True)
    assert failure(result, "http://xn--bcher-kva.invalid/cover.png").kind == "dns"
    assert faults.url("/a%20b?q=%ZZ") in {r.url for r in result.resources}
    assert faults.url(long_path) in {r.url for r in result.resources}
    from warc_reading import read_records

    records = [r for p in workspace.archive_dir.glob("*.warc.gz") for r in read_records(p)]
    requests = b"".join(r.block for r in records if r.type == "request")
    uris = " ".join(r.headers.get("WARC-Target-URI", "") for r in records)
    assert b"s3cret" not in requests and "s3cret" not in uris and b"Authorization" not in requests
    assert "s3cret" not in (workspace.root / result.manifest_path).read_text()
    assert faults.url("/ok.png") in {r.url for r in result.resources}     # fetched without the credentials


def test_robots_txt_huge_invalid_or_timing_out(faults, workspace) -> None:
    page = ok(f'<a href="{faults.url("/late")}">x</a>'.encode())
    filler = b"User-agent: *\n" + b"Disallow: /nothing-here\n" * 25_000 + b"Disallow: /late\n"   # rule past 500 KiB
    faults.routes.update({"/robots.txt": ok(filler, "text/plain"), "/late": ok(b"late page")})
    result, _, _ = run(faults, workspace, "/r1", page, as_page=True, ignore_robots=False)
    assert faults.url("/late") in {r.url for r in result.resources}
    faults.routes["/robots.txt"] = ok(bytes(range(256)) * 100, "text/plain")          # invalid: no rules
    result, _, _ = run(faults, workspace, "/r2", page, as_page=True, ignore_robots=False)
    assert faults.url("/late") in {r.url for r in result.resources}
    faults.routes["/robots.txt"] = stall()                                              # times out
    result, _, _ = run(faults, workspace, "/r3", page, as_page=True, ignore_robots=False, timeout=1)
    skipped = {s.url: s.reason for s in result.skipped}
    assert "RFC 9309 treats the site as disallowed" in skipped[faults.url("/late")]


def test_dns_failure_of_an_invalid_host(workspace) -> None:
    result = capture(["http://no-such-host.invalid/"], workspace, CaptureOptions(timeout=3))
    assert not result.ok and result.failures[0].kind == "dns"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    import ipaddress
    import socket

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.121")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.121"))]), False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    sock = socket.socket()
    sock.bind(("127.0.0.121", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                tls = ctx.wrap_socket(conn, server_side=True)
                tls.recv(65536)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nsecret article")
                tls.close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.121:{sock.getsockname()[1]}/"
    stop.set()
    sock.close()


def test_self_signed_tls_fails_by_default_and_archives_with_insecure(tls_server: str, workspace) -> None:
    result = capture([tls_server], workspace, CaptureOptions(timeout=3))
    assert not result.ok and result.failures[0].kind == "tls" and "certificate" in result.failures[0].reason
    result = capture([tls_server], workspace, CaptureOptions(timeout=3, insecure=True))
    assert result.ok and result.resources[0].payload_bytes == 14
    import yaml

    assert yaml.safe_load((workspace.root / result.manifest_path).read_text())["settings"]["insecure"] is True
    assert verify(workspace).ok


def test_reliability_doc_names_only_tests_that_exist() -> None:
    text = DOC.read_text()
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", text))
    here = {name for name in globals() if name.startswith("test_")}
    others = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        others |= set(re.findall(r"^def (test_[a-z0-9_]+)", path.read_text(), re.MULTILINE))
    assert named, "docs/reliability.md names no test"
    assert named <= here | others, f"docs/reliability.md names missing tests: {named - here - others}"
    assert {n for n in here if n != "test_reliability_doc_names_only_tests_that_exist"} <= named, \
        f"tests not in docs/reliability.md: {sorted(here - named)}"
