"""The whole server as a reader meets it: a cited URL opened in headless Chromium replays the page
from the archive inside the UI's memento page, under either of the names the server is reached by
(127.0.0.1 and localhost), and a replayed script cannot read the UI origin's API."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from archiver import capture
from archiver.core.settings import CaptureOptions, Settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response
from archiver.net.surt import timestamp14
from archiver.serve.app import Server, make_context, start_in_thread

PROBE_PAGE = """<!doctype html><html><head><title>probe</title></head><body>
<h1>A page that tries to read the archive's own API</h1>
<p id="result">not run</p>
<script>
const targets = ["http://127.0.0.1:{port}/api/captures", "http://localhost:{port}/api/captures"];
Promise.all(targets.map(t => fetch(t, {{credentials: "include"}})
    .then(r => r.text()).then(t => t.includes('"captures"') ? "read the API" : "no API data")
    .catch(e => "blocked")))
  .then(results => {{ document.getElementById("result").textContent = results.join(", "); }});
</script></body></html>"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def probed(serve, workspace: Workspace) -> Iterator[tuple[Server, str, str]]:
    """A captured page whose script tries to read the UI's API, and the server that replays it."""
    port, replay = free_port(), free_port()
    page = Response(200, [("Content-Type", "text/html; charset=utf-8")], PROBE_PAGE.format(port=port).encode())
    site = serve([Host("probe", "127.0.0.181", routes={"/probe.html": page})])
    url = site.url("probe", "/probe.html")
    result = capture([url], workspace, CaptureOptions(depth=0, timeout=10))
    site.stop()
    stamp = timestamp14(result.resources[0].date)
    ctx = make_context(workspace, Settings(), host="127.0.0.1", port=port, replay_port=replay, public_url=None,
                       token="a token that the probe does not know")
    server = start_in_thread(ctx, host="127.0.0.1", port=port, replay_port=replay)
    yield server, url, stamp
    server.stop()


def replayed(page, url: str, timeout_ms: int = 60_000):
    """The frame showing the replayed ``url`` (the engine's ``…mp_/<url>`` frame)."""
    deadline = page.evaluate("Date.now()") + timeout_ms
    while page.evaluate("Date.now()") < deadline:
        for frame in page.frames:
            if "mp_/" in frame.url and frame.url.endswith(url):
                return frame
        page.wait_for_timeout(200)
    raise AssertionError(f"no replayed frame of {url}: {[f.url for f in page.frames]}")


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_a_cited_url_replays_and_its_script_cannot_read_the_ui_api(chromium: str, probed, name: str) -> None:
    from playwright.sync_api import sync_playwright

    server, url, stamp = probed
    port = server.ctx.ui_base.rsplit(":", 1)[1]
    cited = f"http://{name}:{port}/archive/{stamp}/{url}"
    api_requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            context = browser.new_context()
            context.on("request", lambda r: api_requests.append(r.url) if "/api/" in r.url else None)
            page = context.new_page()
            answer = page.goto(cited)
            assert answer is not None and answer.status == 200
            assert answer.headers.get("memento-datetime"), answer.headers
            frame = replayed(page, url)
            frame.wait_for_function("() => document.getElementById('result').textContent !== 'not run'",
                                    timeout=30_000)
            outcome = frame.evaluate("() => document.getElementById('result').textContent")
            assert frame.evaluate("() => document.querySelector('h1').textContent").startswith("A page that tries")
            assert "read the API" not in outcome, outcome
            # the replay origin's own document, not rewritten by the engine, cannot read it either
            embed = next(f for f in page.frames if "/embed/" in f.url)
            direct = embed.evaluate("""async (ui) => {
                try { const r = await fetch(ui + '/api/captures'); return 'read ' + r.status; }
                catch (e) { return 'blocked'; } }""", server.ctx.ui_base)
            assert direct == "blocked", direct
        finally:
            browser.close()
    # no request reached the UI origin's API: the engine answered the replayed script's fetches from the
    # archive (on the replay origin), and the replay origin's CSP stopped the direct one before it was sent
    reached = [u for u in api_requests if u.startswith((f"http://127.0.0.1:{port}/api/", f"http://localhost:{port}/api/"))]
    assert reached == [], reached
