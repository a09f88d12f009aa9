"""Browser capture on workers (issue #19): ``capture --queue --browser on`` rendered by two worker
processes in real Chromium, through a real Redis. Three pages whose text exists only in the DOM
after their scripts ran, sharing their stylesheet, font and scripts: the capture is sealed once,
verifies, replays with the text the scripts wrote, archives every URL once, and its manifest has
the shape of the same capture made locally (``capture --browser on``), which archives a URL again
when another page's browser asks for it again."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from browser_site import PNG, SHELL, TITLE, RawSite, assert_browsers_end, kill_while_busy, routes
from test_distributed import ARCHIVER, finish, queue, queued, run, start  # noqa: F401 - queue, start: fixtures

SECOND = """<!doctype html><html><head><meta charset="utf-8"><title>Gauges</title>
<link rel="stylesheet" href="/css/site.css"><script src="/js/vendor.js"></script>
<script src="/js/runtime.js"></script><script src="/js/second.js"></script></head>
<body><div id="out">Loading…</div></body></html>"""
SECOND_JS = """addEventListener('DOMContentLoaded', () => {
  document.getElementById('out').innerHTML = '<h1 class="fancy">Gauges</h1>' +
    '<p>Written by script: eleven tide gauges on the northern coast, read every hour since 1998.</p>'.repeat(8);
});"""
WRITTEN = "eleven tide gauges on the northern coast"


def site_pages() -> dict[str, tuple[str, bytes]]:
    pages = routes()
    pages["/"] = ("text/html; charset=utf-8",
                  SHELL.replace("</body>", '<a href="/second.html">gauges</a><a href="/third.html">more</a></body>')
                  .encode())
    pages["/second.html"] = pages["/third.html"] = ("text/html; charset=utf-8", SECOND.encode())
    pages["/favicon.ico"] = ("image/png", PNG)        # asked by Chromium or not, as it likes: served
    pages["/js/second.js"] = ("text/javascript", SECOND_JS.encode())
    return pages


def shape(manifest: dict) -> dict:
    """What must match between a local and a queued capture: not ids, times or file names."""
    resources = [r for r in manifest["resources"] if not r["url"].endswith("/favicon.ico")]
    return {
        "keys": sorted(manifest),
        "servers": sorted({(s["host"], s["port"], s["scheme"]) for s in manifest["servers"]}),
        "resources": sorted({(r["url"], r["role"], r["status"]) for r in resources}),    # a set: see above
        "resource_keys": sorted({k for r in resources for k in r} - {"remote_address"}),
        "metadata": {r["url"]: r["metadata"]["title"]["value"] for r in resources if r.get("metadata")},
        "flags": sorted((f["url"], f["flag"]) for f in manifest["flags"]),
        "failures": sorted((f["url"], f["kind"]) for f in manifest["failures"]),
        "browser_pages": sorted((p["url"], p["why"], p["settled"], p["shell_resolved"], p["title"],
                                 tuple(sorted(r["kind"] for r in p["records"])), tuple(sorted(p)))
                                for p in manifest["browser_pages"]),
    }


def test_two_workers_render_a_scripted_site_like_a_local_capture(chromium: str, queue: str, start,  # noqa: F811
                                                                 tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)        # the workers start with the test's environment
    site = RawSite("127.0.0.234", pages=site_pages()).start()
    try:
        seed = site.origin + "/"
        site.delay = 0.05                       # responses overlap: the requests in flight are seen
        local = subprocess.run([*ARCHIVER, "-w", str(tmp_path / "local"), "capture", seed, "--browser", "on",
                                "--timeout", "20", "--per-host", "2", "--json"], capture_output=True, text=True,
                               timeout=300)
        assert local.returncode == 0, local.stderr
        assert 1 <= site.peak <= 2, site.peak   # a local capture holds the browser's requests back too
        site.sent.clear()
        site.peak = 0
        ws = tmp_path / "ws"
        capture = start("-w", str(ws), "capture", seed, "--queue", queue, "--browser", "on", "--timeout", "20",
                        "--per-host", "2", "--json", cwd=tmp_path)
        queued(queue, tmp_path)
        workers = [start("worker", "--queue", queue, "--once", "--lease", "30", "--json", cwd=tmp_path)
                   for _ in range(2)]
        code, out, err = finish(capture)
        assert code == 0, err
        done = [finish(w) for w in workers]
        assert all(c == 0 for c, _, _ in done), done
    finally:
        site.stop()

    assert 1 <= site.peak <= 2, site.peak                  # what the browsers asked for waited for a slot too
    manifest = yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())
    urls = [r["url"] for r in manifest["resources"]]
    assert len(urls) == len(set(urls)), urls                              # each URL archived once
    assert {site.origin + p for p in ("/", "/second.html", "/css/site.css", "/js/second.js", "/api/article.json",
                                      "/fonts/fancy.woff2", "/img/figure-0.png")} <= set(urls)
    assert all("-w" in w["path"] for w in manifest["warc_files"])
    pages = {p["url"]: p for p in manifest["browser_pages"]}
    assert set(pages) == {seed, site.origin + "/second.html", site.origin + "/third.html"}
    assert all(p["settled"] and p["archived"] == p["requested"] for p in pages.values()), pages
    renderers = {re.search(r"-(w\d+)-\d+\.warc\.gz$", p["records"][0]["warc"]).group(1) for p in pages.values()}
    assert len(renderers) == 2, renderers                                 # rendered by both workers
    assert sum(json.loads(o)["archived"] for _, o, _ in done) == len(urls) - 1    # all but robots.txt
    local_manifest = yaml.safe_load((tmp_path / "local" / json.loads(local.stdout)["manifest"]).read_text())
    assert shape(manifest) == shape(local_manifest)

    verified = run("-w", str(ws), "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    cited = run("-w", str(ws), "cite", seed, "--style", "markdown", cwd=tmp_path)
    assert cited.returncode == 0 and TITLE in cited.stdout and "Loading" not in cited.stdout, cited.stderr
    dom = _dom_of(ws, pages[site.origin + "/second.html"])
    assert WRITTEN.encode() in dom and WRITTEN.encode() not in SECOND.encode()
    assert _replayed_text(ws, chromium, json.loads(out)["capture_id"], manifest, site.origin + "/second.html")


def _dom_of(ws: Path, page: dict) -> bytes:
    from warc_reading import read_records

    [dom] = [r for r in page["records"] if r["kind"] == "dom"]
    by_id = {rec.headers["WARC-Record-ID"]: rec for rec in read_records(ws / dom["warc"])}
    return by_id[dom["record_id"]].block


def _replayed_text(ws: Path, chromium: str, capture_id: str, manifest: dict, url: str) -> bool:
    """archiver serve's replay runs the archived page's script against the archive: its text shows."""
    from playwright.sync_api import sync_playwright
    from test_replay import replay_server, replayed_frame

    from archiver.core.workspace import Workspace

    response = next(r for r in manifest["resources"] if r["url"] == url)
    stamp = "".join(ch for ch in response["date"] if ch.isdigit())[:14]
    with replay_server(Workspace(ws)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page()
            page.goto(f"{base}/embed/{capture_id}/{stamp}/{url}")
            frame = replayed_frame(page, url)
            frame.wait_for_function(f"() => document.body && document.body.innerText.includes({WRITTEN!r})",
                                    timeout=60_000)
            return True
        finally:
            browser.close()


def test_browser_auto_on_workers_renders_only_the_shell_and_a_killed_worker_leaves_no_chromium(
        chromium: str, queue: str, start, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    import signal


    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    pages = routes()
    pages["/"] = ("text/html; charset=utf-8", SHELL.replace("</body>", '<a href="/article.html">a</a></body>').encode())
    site = RawSite("127.0.0.235", pages=pages).start()
    try:
        seed = site.origin + "/"
        ws = tmp_path / "ws"
        capture = start("-w", str(ws), "capture", seed, "--queue", queue, "--browser", "auto", "--timeout", "20",
                        "--json", cwd=tmp_path)
        queued(queue, tmp_path)
        worker = start("worker", "--queue", queue, "--once", "--json", cwd=tmp_path)
        code, out, err = finish(capture)
        assert code == 0, err
        assert finish(worker)[0] == 0
        manifest = yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())
        [page] = manifest["browser_pages"]                  # the shell only; the static article is not rendered
        assert page["url"] == seed and page["why"] == "auto: javascript-shell" and page["shell_resolved"] is True
        assert [r["url"] for r in manifest["resources"]].count(seed) == 2     # static, then the browser's, as locally
        assert site.origin + "/article.html" in {r["url"] for r in manifest["resources"]}
        assert run("-w", str(ws), "verify", cwd=tmp_path).returncode == 0

        # a worker SIGKILLed while its Chromium renders a page that never settles: the browser goes too
        busy = start("-w", str(tmp_path / "ws2"), "capture", site.origin + "/busy.html", "--queue", queue,
                     "--browser", "on", "--timeout", "60", cwd=tmp_path)
        queued(queue, tmp_path)
        victim = start("worker", "--queue", queue, cwd=tmp_path)
        browsers = kill_while_busy(victim, site, "the worker's browser")
        busy.send_signal(signal.SIGINT)                     # the capture leaves the queue, nothing sealed
        assert busy.wait(30) != 0
    finally:
        site.stop()
    assert_browsers_end(browsers, "the killed worker")


def test_a_worker_without_chromium_stops_in_one_line_before_claiming(queue: str, start, tmp_path: Path,  # noqa: F811
                                                                     monkeypatch) -> None:
    import signal

    monkeypatch.setenv("ARCHIVER_CHROMIUM", str(tmp_path / "no-chromium"))
    capture = start("-w", str(tmp_path / "ws"), "capture", "http://127.0.0.236:9/", "--queue", queue, "--browser",
                    "on", cwd=tmp_path)
    queued(queue, tmp_path)
    code, _, err = finish(start("worker", "--queue", queue, "--once", cwd=tmp_path))
    assert code == 2 and len(err.splitlines()) == 1 and "ARCHIVER_CHROMIUM=" in err, err
    pending = json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)["captures"]
    assert [(c["pending"], c["leased"]) for c in pending] == [(1, 0)], pending      # the seed still waits, unclaimed
    capture.send_signal(signal.SIGINT)
    assert capture.wait(30) != 0


def test_a_worker_s_browser_asks_conditionally_and_builds_the_page_from_the_stored_bodies(
        chromium: str, queue: str, start, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    """The browser re-capture of tests/test_browser_conditional.py, rendered by a worker: the worker
    reads the workspace's validators, the server answers 304, the worker's Chromium gets the stored
    responses and its scripts build the page from them."""
    from test_browser_conditional import APP, BUILT, TIDES
    from test_browser_conditional import SHELL as PAGE_SHELL

    from archiver.demo.server import Host, Response, Site

    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    paths = {"/": ("text/html; charset=utf-8", PAGE_SHELL), "/app.js": ("text/javascript", APP),
             "/tides.json": ("application/json", TIDES)}
    host = Host("h", "127.0.0.236", routes={p: Response(200, [("Content-Type", kind)], body)
                                            for p, (kind, body) in paths.items()})
    site = Site([host], validators=True).start()
    ws = tmp_path / "ws"
    try:
        seed = site.url("h", "/")
        first = run("-w", str(ws), "capture", seed, "--browser", "on", "--timeout", "20", cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        capture = start("-w", str(ws), "capture", seed, "--queue", queue, "--browser", "on", "--timeout", "20",
                        "--json", cwd=tmp_path)
        queued(queue, tmp_path)
        worker = start("worker", "--queue", queue, "--once", "--lease", "30", cwd=tmp_path)
        code, out, err = finish(capture)
        assert code == 0, err
        assert finish(worker)[0] == 0
    finally:
        site.stop()
    statuses = {p: [s.status for s in site.served if s.url == site.url("h", p)] for p in paths}
    assert statuses == {p: [200, 304] for p in paths}, statuses          # nothing sent twice
    manifest = yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())
    [page] = manifest["browser_pages"]
    assert page["settled"] and page["title"] == "Tide table", page
    assert BUILT in _dom_of(ws, page)                                     # the scripts ran on the stored bodies
    revisits = {r["url"] for r in manifest["resources"] if r.get("revisit_of")}
    assert {site.url("h", p) for p in paths} <= revisits
    verified = run("-w", str(ws), "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
