"""The replay origin: the sample article replayed by the vendored ReplayWeb.page engine in real
headless Chromium, from the archive only; the WACZ it reads, with Range requests; what it refuses."""

from __future__ import annotations

import hashlib
import http.client
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from archiver import capture
from archiver.core.settings import CaptureOptions, Settings
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response, Site
from archiver.serve.app import create_replay_app, make_context
from archiver.serve.replay import ENGINE_FILES, STATIC_PREFIX, RangeNotSatisfiable, byte_range

if TYPE_CHECKING:
    from playwright.sync_api import Request

STATIC = Path(__file__).resolve().parent.parent / "archiver" / "serve" / "static" / "replay"


@contextmanager
def replay_server(ws: Workspace, ui_port: int | None = None) -> Iterator[str]:
    """The replay origin's app under uvicorn in a thread, on a free loopback port; yields its base URL.
    The UI origin's app does not run: ``ui_port`` is where the test serves what stands in for it."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ctx = make_context(ws, Settings(), host="127.0.0.1", port=ui_port or (port + 1 if port < 65535 else port - 1),
                       replay_port=port, public_url=None, token=None)
    server = uvicorn.Server(uvicorn.Config(create_replay_app(ctx), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the replay server did not start"
        time.sleep(0.02)
    try:
        yield ctx.replay_base
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Tripwire:
    """Listeners on the addresses and ports the stopped site had: any connection to them is recorded
    (and answered, so that a request that does get through succeeds and shows as such)."""

    hits: list[str] = field(default_factory=list)
    socks: list[socket.socket] = field(default_factory=list)

    def arm(self, origins: list[str]) -> None:
        for origin in origins:
            parts = urlsplit(origin)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((parts.hostname, parts.port))
            sock.listen(8)
            sock.settimeout(0.1)
            self.socks.append(sock)
            threading.Thread(target=self._watch, args=(sock, origin), daemon=True).start()

    def _watch(self, sock: socket.socket, origin: str) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.hits.append(origin)
            try:
                conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            conn.close()

    def disarm(self) -> None:
        for sock in self.socks:
            sock.close()


def capture_sample(ws: Workspace) -> tuple[str, str, str, list[str]]:
    """Capture the sample article, then stop the site: (capture id, article URL, its 14-digit time, origins)."""
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        result = capture([article], ws, CaptureOptions(timeout=10))
        origins = [site.origin(name) for name in site.hosts]
    assert result.ok, result.seed_problems
    seed = next(r for r in result.resources if r.url == article)
    ts = re.sub(r"[^0-9]", "", seed.date)[:14]
    return result.capture_id, article, ts, origins


def replayed_frame(page, article: str, timeout: float = 60.0):
    """The frame in which the engine shows the archived article (…/<ts>mp_/<article>)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "mp_/" in frame.url and frame.url.endswith(article):
                return frame
        page.wait_for_timeout(200)       # lets Playwright deliver the frames' events meanwhile
    raise AssertionError(f"no replayed frame of {article}; frames: {[f.url for f in page.frames]}")


CSP_BLOCKED = ("csp", "net::ERR_BLOCKED_BY_CSP")
PROBE = """u => {
    fetch(u, {mode: 'no-cors'}).catch(() => 0);
    navigator.sendBeacon(u, 'x');
    new Image().src = u + '.png';
    const s = document.createElement('link'); s.rel = 'stylesheet'; s.href = u + '.css'; document.head.append(s);
}"""


def test_replayed_article_shows_text_figure_and_styles_from_the_replay_origin_only(
        chromium: str, workspace: Workspace) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    capture_id, article, ts, origins = capture_sample(workspace)
    tripwire = Tripwire()
    tripwire.arm(origins)
    seen: list[Request] = []
    try:
        with replay_server(workspace) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium)
            try:
                context = browser.new_context()
                context.on("request", lambda r: seen.append(r))   # the pages', their workers' and the service worker's
                page = context.new_page()
                page.on("request", lambda r: seen.append(r))
                page.goto(f"{base}/embed/{capture_id}/{ts}/{article}")
                frame = replayed_frame(page, article)
                frame.wait_for_load_state("load")
                frame.wait_for_function("() => { const i = document.querySelector('figure.lead-image img');"
                                        " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
                shown = frame.evaluate("""() => ({
                    h1: document.querySelector('article h1').textContent,
                    body: document.querySelector('.story-body').innerText,
                    image: document.querySelector('figure.lead-image img').naturalWidth,
                    border: getComputedStyle(document.querySelector('.masthead')).borderBottomStyle,
                    kicker: getComputedStyle(document.querySelector('.kicker')).textTransform,
                })""")
                workers = [w.url for w in context.service_workers]
                outside = f"{origins[0]}/probe"  # the stopped site's address: each try must be kept in
                frame.evaluate(PROBE, outside)   # the replayed page (the engine rewrites or its CSP blocks)
                page.evaluate(PROBE, outside)    # the embed page (the replay origin's CSP blocks)
                from_worker = context.service_workers[0].evaluate(
                    "u => fetch(u, {mode: 'no-cors'}).then(() => 'fetched', e => 'refused: ' + e)", outside)
                page.wait_for_timeout(500)      # requests the page makes once loaded are recorded too
                requests = [(r.url, r.service_worker is not None, r.failure) for r in seen]
            finally:
                browser.close()
    finally:
        tripwire.disarm()
    elapsed = time.monotonic() - started

    assert shown["h1"] == "Council awards £4.2m harbour dredging contract amid questions over tender"
    assert "Gullrock Marine Services" in shown["body"]
    assert shown["image"] > 0
    assert shown["border"] == "double" and shown["kicker"] == "uppercase"     # only site.css sets these
    assert from_worker.startswith("refused"), from_worker   # sw.js's CSP is the service worker's own
    assert workers and all(w.startswith(f"{base}{STATIC_PREFIX}sw.js") for w in workers)
    assert any(by_worker for _, by_worker, _ in requests), "no request of the service worker was recorded"
    assert any(url.startswith(f"{base}/wacz/{capture_id}.wacz") for url, _, _ in requests)
    # a request the CSP blocked is reported, failed with "csp", and never left the browser
    blocked = {url for url, _, failure in requests if failure in CSP_BLOCKED}
    assert f"{outside}.png" in blocked and f"{outside}.css" in blocked         # the embed page's probes
    network = [url for url, _, failure in requests
               if not url.startswith(("data:", "blob:")) and failure not in CSP_BLOCKED]
    elsewhere = sorted({url for url in network if not url.startswith(base + "/")})
    assert not elsewhere, f"requests left the replay origin: {elsewhere[:10]}"
    assert not tripwire.hits, f"connections to the original site: {tripwire.hits}"
    assert elapsed < 120, f"replaying the article took {elapsed:.1f} s"


class FramingPage:
    """A page on its own loopback port whose only content is an iframe of ``src`` (set once known)."""

    def __init__(self) -> None:
        self.src = "about:blank"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = (f'<!doctype html><title>Around</title>'
                        f'<iframe src="{outer.src}" width="900" height="600"></iframe>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_embed_replays_framed_by_the_ui_origin_and_refuses_other_framers(chromium: str, serve,
                                                                         workspace: Workspace) -> None:
    from playwright.sync_api import sync_playwright

    capture_id, url = one_page_capture(serve, workspace)
    ui, other = FramingPage(), FramingPage()          # the UI origin's stand-in, and a stranger
    try:
        with replay_server(workspace, ui_port=ui.port) as base, sync_playwright() as pw:
            ui.src = other.src = f"{base}/embed/{capture_id}/2026/{url}"
            browser = pw.chromium.launch(executable_path=chromium)
            try:
                page = browser.new_page()
                page.goto(ui.url)
                frame = replayed_frame(page, url)
                frame.wait_for_load_state("load")
                assert frame.title() == "Range" and "range bytes" in frame.inner_text("p")
                page.goto(other.url)
                page.wait_for_timeout(1500)
                hosting = [f.url for f in page.frames if f.url.startswith(base)]
                assert hosting == [], f"a stranger framed the replay: {hosting}"
            finally:
                browser.close()
    finally:
        ui.close()
        other.close()


def one_page_capture(serve, ws: Workspace) -> tuple[str, str]:
    """A capture of one page on its own loopback host: (capture id, its URL)."""
    body = b"<!doctype html><title>Range</title><p>" + b"range bytes " * 4000 + b"</p>"
    site: Site = serve([Host("one", "127.0.0.21", routes={"/": Response(200, [("Content-Type", "text/html")],
                                                                          body)})])
    result = capture([site.url("one", "/")], ws, CaptureOptions(timeout=10))
    assert result.ok, result.seed_problems
    return result.capture_id, site.url("one", "/")


def test_wacz_is_made_once_into_the_state_folder_and_served_with_ranges(serve, workspace: Workspace) -> None:
    capture_id, _ = one_page_capture(serve, workspace)
    with replay_server(workspace) as base, httpx.Client(base_url=base) as client:
        url = f"/wacz/{capture_id}.wacz"
        full = client.get(url)
        cached = workspace.state_dir / "replay" / f"{capture_id}.wacz"
        data = cached.read_bytes()
        made = (cached.stat().st_ino, cached.stat().st_mtime_ns)
        assert full.status_code == 200 and full.content == data
        assert full.headers["accept-ranges"] == "bytes" and full.headers["content-length"] == str(len(data))
        with zipfile.ZipFile(cached) as zf:
            names = zf.namelist()
        assert "datapackage.json" in names and any(n.startswith("archive/") for n in names)
        size = len(data)

        part = client.get(url, headers={"Range": "bytes=10-109"})
        assert part.status_code == 206 and part.content == data[10:110]
        assert part.headers["content-range"] == f"bytes 10-109/{size}"
        assert part.headers["content-length"] == "100"
        assert client.get(url, headers={"Range": "bytes=-30"}).content == data[-30:]
        assert client.get(url, headers={"Range": f"bytes={size - 5}-"}).content == data[-5:]
        assert client.get(url, headers={"Range": f"bytes=0-{size * 2}"}).content == data
        head = client.head(url, headers={"Range": "bytes=0-9"})
        assert head.status_code == 206 and head.headers["content-length"] == "10" and head.content == b""
        stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"another-version"'})
        assert stale.status_code == 200 and stale.content == data

        for bad in (f"bytes={size}-", f"bytes={size + 100}-{size + 200}", "bytes=20-10", "bytes=abc",
                    "bytes=-0", "bytes=-"):
            answer = client.get(url, headers={"Range": bad})
            assert answer.status_code == 416, bad
            assert answer.headers["content-range"] == f"bytes */{size}", bad
            assert "range" in answer.text.lower(), bad

        assert client.get(url).content == data
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == made      # served from the cache, not made again
    leftovers = [p.name for p in cached.parent.iterdir() if p != cached]
    assert leftovers == []
    assert not list(workspace.archive_dir.glob("*.wacz")) and not list(workspace.manifests_dir.glob("*.wacz"))


def test_two_first_requests_at_once_make_one_wacz(serve, workspace: Workspace) -> None:
    capture_id, _ = one_page_capture(serve, workspace)
    bodies: list[bytes] = []
    with replay_server(workspace) as base:
        def fetch() -> None:
            bodies.append(httpx.get(f"{base}/wacz/{capture_id}.wacz", timeout=30).content)

        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    files = sorted(p.name for p in (workspace.state_dir / "replay").iterdir())
    assert files == [f"{capture_id}.wacz"]
    assert len(bodies) == 4 and len({hashlib.sha256(b).hexdigest() for b in bodies}) == 1
    assert bodies[0] == (workspace.state_dir / "replay" / files[0]).read_bytes()


def test_a_changed_warc_is_not_made_into_a_wacz(serve, workspace: Workspace) -> None:
    capture_id, _ = one_page_capture(serve, workspace)
    warc = next(workspace.archive_dir.glob(f"{capture_id}-*.warc.gz"))
    data = bytearray(warc.read_bytes())
    data[-40] ^= 0xFF
    warc.write_bytes(bytes(data))
    with replay_server(workspace) as base:
        answer = httpx.get(f"{base}/wacz/{capture_id}.wacz")
    assert answer.status_code == 500 and answer.headers["content-type"].startswith("text/plain")
    assert f"cannot make the WACZ of {capture_id}" in answer.text and "run archiver verify" in answer.text
    assert "Traceback" not in answer.text and str(workspace.root) not in answer.text
    assert not (workspace.state_dir / "replay" / f"{capture_id}.wacz").exists()
    assert [p.name for p in (workspace.state_dir / "replay").iterdir()] == []     # no temporary left


def raw_get(base: str, path: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A GET with the path (and Host header) sent exactly as written (no client normalising '..' away)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def test_unknown_ids_paths_outside_and_bad_embeds_are_refused_with_headers(serve, workspace: Workspace) -> None:
    capture_id, _ = one_page_capture(serve, workspace)
    (workspace.root / "secret.wacz").write_bytes(b"not to be served")
    with replay_server(workspace) as base:
        for path in ("/wacz/../../etc/passwd", "/wacz/..%2F..%2Fetc%2Fpasswd", "/wacz/%2e%2e/secret.wacz",
                     "/wacz/../secret.wacz", "/wacz/20991231T000000Z-abcdef.wacz", "/wacz/nope.wacz",
                     f"/wacz/{capture_id}.zip", f"/wacz/{capture_id}", "/wacz/.wacz", "/wacz/",
                     f"{STATIC_PREFIX}../replay.py", f"{STATIC_PREFIX}LICENSE", f"{STATIC_PREFIX}..%2Freplay.py",
                     "/embed/nope/20260101/http://example.org/", "/etc/passwd", "/"):
            status, headers, body = raw_get(base, path)
            assert status == 404, (path, status)
            assert headers["content-type"].startswith("text/plain"), path
            assert b"root:" not in body, path
            assert b"not to be served" not in body and b"def routes" not in body, path
            assert headers["x-content-type-options"] == "nosniff", path
            assert "connect-src 'self'" in headers["content-security-policy"], path
        for path, status in ((f"/embed/{capture_id}/2026-01-01/http://example.org/", 400),
                             (f"/embed/{capture_id}/20260101/javascript:alert(1)", 400)):
            assert raw_get(base, path)[0] == status, path
    assert not (workspace.state_dir / "replay").exists() or \
        [p.name for p in (workspace.state_dir / "replay").iterdir()] == []


def test_embed_page_hosts_the_engine_escaped_and_engine_files_have_their_types(serve,
                                                                                workspace: Workspace) -> None:
    capture_id, _ = one_page_capture(serve, workspace)
    url = 'http://example.org/a%20b?q="><script>alert(1)</script>'
    with replay_server(workspace) as base, httpx.Client(base_url=base) as client:
        status, headers, body = raw_get(base, f"/embed/{capture_id}/20261130120000/{url.replace(' ', '%20')}")
        page = body.decode()
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "<script>alert(1)" not in page and "&#34;&gt;&lt;script&gt;" in page
        tag = re.search(r"<replay-web-page [^>]*>", page)
        assert tag is not None
        assert f'source="/wacz/{capture_id}.wacz"' in tag.group(0)
        assert 'url="http://example.org/a%20b?q=' in tag.group(0)          # as sent: not percent-decoded
        assert 'ts="20261130120000"' in tag.group(0) and 'embed="replayonly"' in tag.group(0)
        assert f'replayBase="{STATIC_PREFIX}"' in tag.group(0)
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'self' http://127.0.0.1:" in csp
        embed = f"/embed/{capture_id}/2026/http://example.org/"
        port = urlsplit(base).port
        by_name = raw_get(base, embed, host=f"localhost:{port}")[1]["content-security-policy"]
        assert re.search(r"frame-ancestors 'self' http://127\.0\.0\.1:\d+ http://localhost:\d+$", by_name)
        odd = raw_get(base, embed, host="evil;script-src *")[1]["content-security-policy"]
        assert "script-src *" not in odd and odd.count(";") == csp.count(";")
        assert headers["cross-origin-resource-policy"] == "same-origin"
        for name, media_type in ENGINE_FILES.items():
            answer = client.get(f"{STATIC_PREFIX}{name}")
            assert answer.status_code == 200 and answer.headers["content-type"] == media_type
            assert answer.content == (STATIC / name).read_bytes()
            assert "connect-src 'self'" in answer.headers["content-security-policy"]   # sw.js: the worker's policy


def test_vendored_engine_matches_its_readme() -> None:
    readme = (STATIC / "README.md").read_text()
    for name in (*ENGINE_FILES, "LICENSE"):
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme, f"{name} differs from the sha256 its README lists"
    assert "AGPL-3.0-or-later" in readme and "GNU AFFERO GENERAL PUBLIC LICENSE" in (STATIC / "LICENSE").read_text()


@pytest.mark.parametrize(("header", "size", "expected"), [
    ("bytes=0-0", 10, (0, 1)),
    ("bytes=2-5", 10, (2, 6)),
    ("bytes=5-", 10, (5, 10)),
    ("bytes=-3", 10, (7, 10)),
    ("bytes=-30", 10, (0, 10)),
    ("bytes=8-100", 10, (8, 10)),
    (" Bytes = 1 - 2 ", 10, (1, 3)),
    ("items=0-5", 10, None),
    ("bytes=0-1,4-5", 10, None),
])
def test_byte_range_reads_single_ranges(header: str, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=5-4", "bytes=x-", "bytes=-0", "bytes=",
                                    "bytes=1-2-3", "bytes=-"])
def test_byte_range_refuses_bad_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        byte_range(header, 10)
    assert caught.value.size == 10
