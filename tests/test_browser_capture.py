"""Capture through a real browser (issue #17): Debian's Chromium behind archiver's recording proxy.

The site (tests/browser_site.py) is an empty shell whose article arrives by fetch() of JSON, whose
images load on scroll and whose font comes from CSS, every response gzip-coded and chunked: every
request the browser made must be in the WARC file byte for byte as the server sent it."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml
from browser_site import TITLE, RawSite, assert_browsers_end, kill_while_busy
from test_provenance import tls_site  # noqa: F401 - the fixture: a TLS server on loopback with a test CA
from warc_reading import read_records

from archiver import capture
from archiver.browser.processes import descendants
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of unfiltered pixel bytes) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, width, height, channels = 8, b"", 0, 0, 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunk = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        at += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            guess = {0: 0, 1: left, 2: up, 3: (left + up) // 2}.get(kind)
            if guess is None:                              # Paeth
                p = left + up - corner
                guess = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
            line[x] = (line[x] + guess) & 0xFF
        rows.append(bytes(line))
        previous = bytes(line)
    return width, height, rows


def test_every_browser_request_is_archived_as_sent_and_the_rendered_article_is_cited(
        chromium: str, workspace: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    site = RawSite("127.0.0.194").start()
    try:
        seed = site.origin + "/"
        result = capture([seed], workspace, CaptureOptions(browser="on", timeout=20))
    finally:
        site.stop()
    assert result.ok, result.seed_problems
    [page] = result.browser_pages
    assert page.settled and page.error is None
    assert page.requested >= 10 and page.archived == page.requested      # every browser request archived
    # what only the scripts and scrolling asked for: the article JSON and the lazy images
    assert {site.origin + p for p in ("/api/article.json", "/img/figure-0.png", "/img/figure-2.png")} \
        <= set(page.not_found_statically)
    assert page.shell_resolved is True and page.title == TITLE

    warc = workspace.root / result.warc_files[0].path
    records = read_records(warc)
    stored: dict[str, list[bytes]] = {}
    for rec in records:
        if rec.type == "response":
            stored.setdefault(rec.headers["WARC-Target-URI"], []).append(rec.block)
    sent = {path: blocks for path, blocks in site.sent.items() if path != "/robots.txt"}
    assert len(sent) >= 10
    for path, blocks in sent.items():               # each response byte for byte, gzip and chunks kept
        for block in blocks:
            assert block in stored.get(site.origin + path, []), f"{path}: not archived as the server sent it"
        assert b"Transfer-Encoding: chunked" in blocks[0] and b"Content-Encoding: gzip" in blocks[0]

    by_id = {rec.headers["WARC-Record-ID"]: rec for rec in records}
    seed_response = next(r for r in result.resources if r.url == seed)
    kinds = {r.kind: r for r in page.records}
    assert set(kinds) == {"screenshot", "screenshot-full-page", "pdf", "dom"}
    shot = by_id[kinds["screenshot"].record_id]
    assert shot.type == "resource" and shot.headers["WARC-Concurrent-To"] == seed_response.record_id
    assert by_id[kinds["dom"].record_id].headers["WARC-Refers-To"] == seed_response.record_id
    assert TITLE.encode() in by_id[kinds["dom"].record_id].block
    assert by_id[kinds["pdf"].record_id].block.startswith(b"%PDF-")
    width, height, rows = png_pixels(shot.block)
    assert (width, height) == (1280, 800)
    assert len(set(rows)) > 10                      # not blank: rows differ (text, background, title)

    manifest = yaml.safe_load((workspace.root / result.manifest_path).read_text())
    [listed] = manifest["browser_pages"]
    assert listed["shell_resolved"] is True and listed["requested"] == page.requested
    assert {r["kind"] for r in listed["records"]} == set(kinds)
    titled = next(r for r in manifest["resources"] if r["url"] == seed)
    assert titled["metadata"]["title"]["value"] == TITLE

    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", str(warc)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    cited = subprocess.run([sys.executable, "-m", "archiver", "cite", seed, "--style", "markdown",
                            "-w", str(workspace.root)], capture_output=True, text=True)
    assert cited.returncode == 0, cited.stderr
    assert TITLE in cited.stdout and "Loading" not in cited.stdout


def archiver(root: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "archiver", *args, "-w", str(root)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **environ})


def test_browser_auto_renders_only_the_flagged_pages_and_a_page_that_never_settles_ends_flagged(
        chromium: str, tmp_path: Path) -> None:
    site = RawSite("127.0.0.195").start()
    try:
        done = archiver(tmp_path / "ws", "capture", site.origin + "/article.html", "--browser", "auto",
                        "--browser-tabs", "2", "--timeout", "3", "--json", ARCHIVER_CHROMIUM=chromium)
    finally:
        site.stop()
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    rendered = {p["url"]: p for p in summary["browser_pages"]}
    # the seed has its text in its HTML: static only; its two shell pages were rendered too
    assert set(rendered) == {site.origin + "/", site.origin + "/busy.html"}
    shell, busy = rendered[site.origin + "/"], rendered[site.origin + "/busy.html"]
    assert shell["why"] == busy["why"] == "auto: javascript-shell"
    assert shell["settled"] and shell["shell_resolved"] is True and shell["archived"] == shell["requested"]
    assert not busy["settled"] and busy["error"] is None and busy["requested"] >= 5
    flags = {(f["url"], f["flag"]) for f in summary["flags"]}
    assert (site.origin + "/busy.html", "browser-unsettled") in flags
    assert len(site.sent["/article.html"]) == 1                   # the seed was not loaded in the browser
    assert archiver(tmp_path / "ws", "verify").returncode == 0


def test_without_chromium_a_browser_capture_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "no-browsers"
    empty.mkdir()
    done = archiver(tmp_path / "ws", "capture", "http://127.0.0.196:9/", "--browser", PATH=str(empty),
                    PLAYWRIGHT_BROWSERS_PATH=str(empty), ARCHIVER_CHROMIUM="")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "apt-get install -y chromium" in done.stderr and "pip install 'archiver[browser]'" in done.stderr
    assert not (tmp_path / "ws" / "archive").exists() or not any((tmp_path / "ws" / "archive").iterdir())


def test_a_browser_capture_replays_in_pywb_and_in_archiver_serve(chromium: str, workspace: Workspace,
                                                                   tmp_path: Path, monkeypatch) -> None:
    """Stopped site, replayed copy: pywb gives back the article JSON the script fetched, as archived;
    archiver serve's replay runs the page's script against the archive and shows the article."""
    import gzip

    from browser_site import article
    from playwright.sync_api import sync_playwright
    from pywbkit import fetch, wayback
    from test_replay import replay_server, replayed_frame

    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    site = RawSite("127.0.0.197").start()
    try:
        seed = site.origin + "/"
        result = capture([seed], workspace, CaptureOptions(browser="on", timeout=20))
    finally:
        site.stop()
    warc = workspace.root / result.warc_files[0].path
    stamp = "".join(ch for ch in result.resources[0].date if ch.isdigit())[:14]
    with wayback([warc], tmp_path / "pywb") as base:
        body, headers = fetch(f"{base}/coll/{stamp}id_/{site.origin}/api/article.json")
    assert (gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body) == article()

    with replay_server(workspace) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page()
            page.goto(f"{base}/embed/{result.capture_id}/{stamp}/{seed}")
            frame = replayed_frame(page, seed)
            frame.wait_for_function(f"() => document.querySelector('h1') && "
                                    f"document.querySelector('h1').textContent === {TITLE!r}", timeout=60_000)
            paragraphs = frame.evaluate("() => document.querySelectorAll('article p').length")
        finally:
            browser.close()
    assert paragraphs == 6

    # the memento page shows the screenshot the browser took beside the replay; the DOM is never served
    import hashlib
    import socket
    import urllib.error
    import urllib.request

    from archiver.core.settings import Settings
    from archiver.serve.app import make_context, start_in_thread

    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    ctx = make_context(workspace, Settings(), host="127.0.0.1", port=ports[0], replay_port=ports[1],
                       public_url=None, token=None)
    server = start_in_thread(ctx, host="127.0.0.1", port=ports[0], replay_port=ports[1])
    try:
        with urllib.request.urlopen(f"{ctx.ui_base}/archive/{stamp}/{seed}", timeout=30) as r:
            html = r.read().decode()
        src = f"/captures/{result.capture_id}/rendered/0/screenshot"
        assert f'<img src="{src}"' in html, html
        with urllib.request.urlopen(ctx.ui_base + src, timeout=30) as r:
            png, kind = r.read(), r.headers["Content-Type"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{ctx.ui_base}/captures/{result.capture_id}/rendered/0/dom", timeout=30)
    finally:
        server.stop()
    shot = next(r for r in result.browser_pages[0].records if r.kind == "screenshot")
    assert kind == "image/png" and png.startswith(b"\x89PNG") and hashlib.sha256(png).hexdigest() == shot.sha256
    assert refused.value.code == 404


def test_a_browser_that_crashes_or_hangs_fails_that_page_only_and_the_capture_is_sealed(
        chromium: str, workspace: Workspace, monkeypatch) -> None:
    import threading

    from archiver.browser.processes import kill_marked

    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    site = RawSite("127.0.0.198").start()
    asked, go_on = threading.Event(), threading.Event()
    site.holds["/hold.png"] = (asked, go_on)
    killed: list[int] = []

    def crash_when_asked() -> None:          # Chromium dies while /crash.html waits for its image
        if asked.wait(60):
            killed.append(kill_marked("--ignore-certificate-errors-spki-list"))
        go_on.set()

    killer = threading.Thread(target=crash_when_asked)
    killer.start()
    try:
        result = capture([site.origin + "/sources.html"], workspace,
                         CaptureOptions(browser="on", timeout=1.5, depth=1))
    finally:
        go_on.set()
        killer.join()
        site.stop()
    assert killed and killed[0] >= 1
    pages = {p.url.removeprefix(site.origin): p for p in result.browser_pages}
    assert set(pages) == {"/sources.html", "/crash.html", "/loop.html", "/article.html"}
    assert pages["/crash.html"].error and pages["/loop.html"].error and "hung" in pages["/loop.html"].error
    assert pages["/article.html"].error is None and pages["/article.html"].records   # a new browser took over
    failed = {f.url.removeprefix(site.origin): f.kind for f in result.failures}
    assert failed.get("/crash.html") == failed.get("/loop.html") == "browser"
    assert result.manifest_path and archiver(workspace.root, "verify").returncode == 0


def test_sigkill_during_a_browser_capture_leaves_nothing_sealed_and_no_browser_running(
        chromium: str, tmp_path: Path) -> None:
    import os



    site = RawSite("127.0.0.199").start()
    root = tmp_path / "ws"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "archiver", "capture", site.origin + "/busy.html", "--browser",
                                 "--timeout", "60", "-w", str(root)], env={**os.environ, "ARCHIVER_CHROMIUM": chromium},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        browsers = kill_while_busy(proc, site, "the browser")
    finally:
        site.stop()
    assert not list((root / "manifests").glob("*.yaml"))
    verify = archiver(root, "verify", "--json")
    report = json.loads(verify.stdout)
    assert report["captures"] == [] and report["chain_head"] is None, verify.stdout      # nothing sealed
    assert any(p["path"].endswith(".warc.gz.open") and "orphan" in p["message"] for p in report["problems"])
    assert_browsers_end(browsers, "the killed capture")


def test_https_goes_through_the_capture_ca_and_the_fetcher_checks_the_real_server(
        chromium: str, tls_site, workspace: Workspace, monkeypatch) -> None:  # noqa: F811 - the imported fixture
    """The browser's HTTPS is decrypted with the capture's own CA (pinned for that Chromium only);
    the fetcher speaks TLS to the real server, checking its certificate against the system's roots."""
    url, ca = tls_site
    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.root_pem))      # the capture trusts the test root, as a system would
    result = capture([url], workspace, CaptureOptions(browser="on", timeout=20))
    [page] = result.browser_pages
    assert page.error is None and page.title == "Tls" and page.archived == page.requested >= 2
    archived = {r.url: r for r in result.resources}
    assert archived[url + "pic.png"].status == 200 and archived[url].remote_address == "127.0.0.141"
    [server] = result.servers
    assert server.tls is not None and "CN=127.0.0.141" in server.tls.chain[0].subject    # the real server's leaf

    monkeypatch.delenv("SSL_CERT_FILE")                        # the real server untrusted: the browser gets nothing
    again = capture([url], workspace, CaptureOptions(browser="on", timeout=20))
    assert not again.ok and any(f.kind == "tls" for f in again.failures)


def test_the_browser_s_requests_obey_the_capture_s_exclusions_and_address_policy(
        chromium: str, workspace: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    site = RawSite("127.0.0.200").start()
    try:
        seed = site.origin + "/"
        excluded = capture([seed], workspace, CaptureOptions(browser="on", timeout=20, exclude=(r"figure-1",)))
        denied = capture([seed], workspace, CaptureOptions(browser="on", timeout=20, deny_private=True))
    finally:
        site.stop()
    figure = site.origin + "/img/figure-1.png"
    assert figure not in {r.url for r in excluded.resources}
    assert any(s.url == figure and "--exclude" in s.reason for s in excluded.skipped)
    [page] = excluded.browser_pages
    assert page.archived == page.requested - 1 and page.shell_resolved is True
    # --deny-private: the seed is named by the user; what the browser asks for next is found, and refused
    refused = {f.url.removeprefix(site.origin) for f in denied.failures}
    assert {"/js/app.js", "/css/site.css"} <= refused
    assert {r.url for r in denied.resources if r.role.value != "robots"} == {seed}
    [shell] = denied.browser_pages
    assert shell.shell_resolved is False and shell.archived == 1      # the script never ran: still a shell


def test_ctrl_c_during_a_browser_capture_seals_what_was_archived_as_interrupted(chromium: str, tmp_path: Path) -> None:
    import os
    import signal
    import time

    site = RawSite("127.0.0.201").start()
    root = tmp_path / "ws"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "archiver", "capture", site.origin + "/busy.html", "--browser",
                                 "--timeout", "120", "--json", "-w", str(root)],
                                env={**os.environ, "ARCHIVER_CHROMIUM": chromium}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while sum(p.startswith("/api/tick.json") for p in site.sent) < 3:     # the page is polling
            assert proc.poll() is None and time.monotonic() < deadline, "the browser never loaded the page"
            time.sleep(0.05)
        browsers = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)          # the page would poll for 120 s: it is not waited for
    finally:
        site.stop()
    assert proc.returncode == 130, err
    lines = err.splitlines()
    assert len(lines) == 3 and "interrupted capture" in lines[1] and lines[2] == "archiver: interrupted", err
    [manifest] = (root / "manifests").glob("*.yaml")
    document = yaml.safe_load(manifest.read_text())
    assert document["interrupted"] is True
    assert {r["url"].removeprefix(site.origin) for r in document["resources"]} >= {"/busy.html", "/js/vendor.js"}
    assert archiver(root, "verify").returncode == 0
    assert not any(Path(f"/proc/{pid}").exists() and b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
                   for pid in browsers)


def test_each_tab_s_browser_is_replaced_after_its_quota_of_pages(chromium: str, workspace: Workspace,
                                                                  monkeypatch) -> None:
    """Memory stays bounded on long captures: a tab's Chromium is closed and a new one started after
    RESTART_AFTER pages (set to 1 here: each of the four pages gets its own browser process)."""
    import threading

    from archiver.capturing import browsing

    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    monkeypatch.setattr(browsing, "RESTART_AFTER", 1)
    site = RawSite("127.0.0.202").start()
    site.pages["/crash.html"] = site.pages["/article.html"]      # nothing crashes or hangs here
    site.pages["/loop.html"] = site.pages["/article.html"]
    browsers: set[bytes] = set()
    done = threading.Event()

    def watch() -> None:                       # each browser launched has its own new profile folder
        while not done.is_set():
            for pid in descendants():
                try:
                    words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"--ignore-certificate-errors-spki-list" in b" ".join(words):
                    browsers.update(w for w in words if w.startswith(b"--user-data-dir="))
            done.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = capture([site.origin + "/sources.html"], workspace, CaptureOptions(browser="on", timeout=10))
    finally:
        done.set()
        watcher.join()
        site.stop()
    assert len(result.browser_pages) == 4 and not any(p.error for p in result.browser_pages)
    assert len(browsers) == 4, browsers


def test_a_static_capture_imports_no_browser_code(tmp_path: Path) -> None:
    """Playwright is an optional extra: the static path neither needs nor imports it (nor archiver.browser)."""
    site = RawSite("127.0.0.203").start()
    script = ("import sys; from pathlib import Path; from archiver import capture, Workspace, CaptureOptions; "
              f"r = capture([{site.origin + '/article.html'!r}], Workspace(Path({str(tmp_path / 'ws')!r})), "
              "CaptureOptions(depth=0)); assert r.ok; "
              "print(sorted(m for m in sys.modules if 'playwright' in m or m.startswith('archiver.browser')))")
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    finally:
        site.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
