"""Conditional re-captures through the browser (issue #20): a page built by its scripts, captured
twice by real Chromium behind archiver's proxy from a loopback server that honours conditional
requests. The second capture asks for what the workspace holds with its validators; the server
answers 304, archiver archives the 304 exchange and gives the browser the stored response, so
the scripts run and the page is built as it was, from bytes the server did not send again."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warc_reading import read_records

from archiver import capture
from archiver.core.models import CaptureResult
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.fixity.verify import verify
from archiver.warc.writer import NOT_MODIFIED_PROFILE

SHELL = (b"<!doctype html><html><head><title>Loading</title><script src=/app.js></script></head>"
         b"<body><main id=tides>Loading the tide table</main></body></html>")
APP = (b"fetch('/tides.json').then(r => r.json()).then(t => {"
       b"document.title = 'Tide table'; document.getElementById('tides').textContent = "
       b"'High water at ' + t.high + ', low water at ' + t.low; });")
TIDES = b'{"high": "06:42", "low": "12:55"}'
BUILT = b"High water at 06:42, low water at 12:55"


def _captured(result: CaptureResult, root: Path) -> tuple[str, bytes]:
    """The rendered page's title and the DOM archiver recorded of it."""
    [page] = result.browser_pages
    assert page.settled and page.error is None, page
    dom = next(r for r in page.records if r.kind == "dom")
    warc = root / result.warc_files[0].path
    [record] = [r for r in read_records(warc) if r.headers["WARC-Record-ID"] == dom.record_id]
    return page.title or "", record.block


def test_a_browser_recapture_asks_conditionally_and_builds_the_page_from_the_stored_bodies(
        chromium: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    html, js, json = "text/html; charset=utf-8", "text/javascript", "application/json"
    host = Host("h", "127.0.0.196", routes={"/": Response(200, [("Content-Type", html)], SHELL),
                                            "/app.js": Response(200, [("Content-Type", js)], APP),
                                            "/tides.json": Response(200, [("Content-Type", json)], TIDES)})
    site = Site([host], validators=True).start()
    try:
        seed = site.url("h", "/")
        results = [capture([seed], workspace, CaptureOptions(browser="on", timeout=20),
                           clock=lambda days=days: datetime.now(UTC) - timedelta(days=days)) for days in (2, 1)]
    finally:
        site.stop()
    assert all(r.ok for r in results), [r.seed_problems for r in results]
    first, second = results
    paths = ("/", "/app.js", "/tides.json")
    statuses = {p: [s.status for s in site.served if s.url == site.url("h", p)] for p in paths}
    assert statuses == {p: [200, 304] for p in paths}, statuses    # nothing sent twice
    asked = {p: [dict(h) for u, h in site.requests if u == site.url("h", p)] for p in paths}
    assert all("If-None-Match" not in a[0] and "If-None-Match" in a[1] for a in asked.values()), asked

    # the browser got the stored bodies: the scripts ran and built the page as the first time
    assert _captured(first, workspace.root)[0] == _captured(second, workspace.root)[0] == "Tide table"
    assert BUILT in _captured(first, workspace.root)[1] and BUILT in _captured(second, workspace.root)[1]

    # each 304 archived as the exchange it was, with a server-not-modified revisit of the stored payload
    warc = workspace.root / second.warc_files[0].path
    revisits = {r.headers["WARC-Target-URI"]: r for r in read_records(warc) if r.type == "revisit"}
    for path in paths:
        revisit = revisits[site.url("h", path)]
        assert revisit.headers["WARC-Profile"] == NOT_MODIFIED_PROFILE
        entry = next(r for r in second.resources if r.url == site.url("h", path))
        original = next(r for r in first.resources if r.url == site.url("h", path))
        assert entry.revisit_of is not None and entry.revisit_of.record_id == original.record_id
        assert entry.status == 200 and entry.payload_sha256 == original.payload_sha256
    assert verify(workspace).ok
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(warc)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_no_conditional_sends_the_browser_s_requests_without_validators(
        chromium: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVER_CHROMIUM", chromium)
    host = Host("h", "127.0.0.197", routes={
        "/": Response(200, [("Content-Type", "text/html; charset=utf-8")], SHELL),
        "/app.js": Response(200, [("Content-Type", "text/javascript")], APP),
        "/tides.json": Response(200, [("Content-Type", "application/json")], TIDES)})
    site = Site([host], validators=True).start()
    try:
        seed = site.url("h", "/")
        for conditional in (True, False):
            assert capture([seed], workspace, CaptureOptions(browser="on", timeout=20, conditional=conditional)).ok
    finally:
        site.stop()
    assert [s.status for s in site.served if s.url == site.url("h", "/app.js")] == [200, 200]
