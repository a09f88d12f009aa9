"""Conditional re-captures (issue #20): a re-capture asks with the stored payload's ETag and
Last-Modified; a 304 is archived as the exchange it was (request and 304 response) plus a revisit
record of the server-not-modified profile, and replays, verifies and reports as the stored page at
its new time. A real loopback server that honours conditional requests (demo Site, validators on),
real pywb, our archive routes under uvicorn, warcio check."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from test_memento import pywb_serving, raw_get, serving

from archiver import CaptureOptions, capture
from archiver.core.models import ArchivedResource, CaptureResult
from archiver.core.settings import Settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.fixity.verify import verify
from archiver.net.surt import timestamp14
from archiver.warc.reader import scan_warc
from archiver.warc.writer import NOT_MODIFIED_PROFILE
from archiver.watch.report import drift_report

PAGE = (b"<!doctype html><html><head><title>Harbour notes</title><link rel=stylesheet href=/style.css></head>"
        b"<body><main><h1>Harbour notes</h1><p>The harbour wall was repaired in the spring and the ferry "
        b"runs again every hour.</p><p><a href=/ticker>ticker</a></p></main></body></html>")
STYLE = b"body { font-family: serif; }"


def ticker(site: Site, path: str) -> Response:
    """A server that always sends its body, with the same ETag whatever the body."""
    served = sum(1 for url, _ in site.requests if url.endswith("/ticker"))
    body = (f"<!doctype html><title>Ticker</title><main><p>Reading number {served}: the tide is "
            f"{'high' if served % 2 else 'low'} today.</p></main>").encode()
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("ETag", '"always-the-same"')], body)


@dataclass
class Recaptured:
    root: Path
    site: Site
    first: CaptureResult
    second: CaptureResult

    def resource(self, result: CaptureResult, path: str) -> ArchivedResource:
        url = self.site.url("h", path)
        return next(r for r in result.resources if r.url == url)

    def warcs(self) -> list[Path]:
        return sorted((self.root / "archive").rglob("*.warc.gz"))


def at(days: int):   # type: ignore[no-untyped-def]
    return lambda: datetime.now(UTC) - timedelta(days=days)


@pytest.fixture(scope="module")
def recaptured(tmp_path_factory: pytest.TempPathFactory) -> Recaptured:
    root = tmp_path_factory.mktemp("conditional") / "ws"
    host = Host("h", "127.0.0.1", routes={"/": Response(200, [("Content-Type", "text/html; charset=utf-8")], PAGE),
                                          "/style.css": Response(200, [("Content-Type", "text/css")], STYLE),
                                          "/ticker": ticker})
    site = Site([host], validators=True).start()
    try:
        seed = site.url("h", "/")
        first = capture([seed], Workspace(root), CaptureOptions(depth=1), clock=at(2), schedule="harbour")
        second = capture([seed], Workspace(root), CaptureOptions(depth=1), clock=at(1), schedule="harbour")
    finally:
        site.stop()
    assert first.ok and second.ok
    return Recaptured(root, site, first, second)


def sent(site: Site, path: str) -> list[dict[str, str]]:
    return [dict(h) for url, h in site.requests if url == site.url("h", path)]


def test_first_capture_asks_unconditionally_the_recapture_with_the_stored_validators(recaptured: Recaptured) -> None:
    page = sent(recaptured.site, "/")
    assert len(page) == 2
    assert "If-None-Match" not in page[0] and "If-Modified-Since" not in page[0]
    first = recaptured.resource(recaptured.first, "/")
    assert page[1]["If-None-Match"] == '"' + hashlib.sha256(PAGE).hexdigest()[:16] + '"'
    assert page[1]["If-Modified-Since"] == "Mon, 02 Mar 2026 10:00:00 GMT"
    assert first.revisit_of is None
    robots = sent(recaptured.site, "/robots.txt")
    assert robots and all("If-None-Match" not in h and "If-Modified-Since" not in h for h in robots)
    statuses = [s.status for s in recaptured.site.served if s.url == recaptured.site.url("h", "/")]
    assert statuses == [200, 304]


def test_a_304_is_the_request_the_304_and_a_server_not_modified_revisit(recaptured: Recaptured) -> None:
    res = recaptured.resource(recaptured.second, "/")
    original = recaptured.resource(recaptured.first, "/")
    assert res.revisit_of is not None and res.revisit_of.record_id == original.record_id
    assert (res.status, res.payload_sha256, res.content_type) == (200, original.payload_sha256, original.content_type)
    records = {r.record_id: r for w in recaptured.warcs() for r in scan_warc(w).records}
    revisit = records[res.record_id]
    assert revisit.type == "revisit" and revisit.length == res.length
    warc = (recaptured.root / res.warc).read_bytes()
    member = gzip.decompress(warc[res.offset:res.offset + res.length])
    assert f"WARC-Profile: {NOT_MODIFIED_PROFILE}".encode() in member
    assert f"WARC-Refers-To-Target-URI: {original.url}".encode() in member
    assert f"WARC-Refers-To-Date: {original.date}".encode() in member
    assert f"WARC-Payload-Digest: {original.warc_payload_digest}".encode() in member
    request = records[res.request_record_id]
    assert request.type == "request"
    asked = gzip.decompress(warc[request.offset:res.offset])
    assert b"If-None-Match: " in asked and b"If-Modified-Since: " in asked
    # the 304 as received: a warc-fields metadata record right after the revisit (pywb skips those;
    # a 304 status in a response or revisit record of that second would replay as an empty 304)
    after = [r for r in scan_warc(recaptured.root / res.warc).records if r.offset > res.offset][0]
    assert after.type == "metadata"
    fields = gzip.decompress(warc[after.offset:after.offset + after.length])
    assert f"WARC-Concurrent-To: {res.record_id}".encode() in fields and b"WARC-Target-URI" not in fields
    assert b"http-status-line: HTTP/1.1 304 Not Modified\r\n" in fields
    assert b'\r\nETag: "' + hashlib.sha256(PAGE).hexdigest()[:16].encode() + b'"\r\n' in fields


def test_the_same_etag_with_another_body_is_recorded_as_changed(recaptured: Recaptured) -> None:
    before, after = (recaptured.resource(r, "/ticker") for r in (recaptured.first, recaptured.second))
    assert before.payload_sha256 != after.payload_sha256
    assert after.revisit_of is None and after.status == 200


def test_the_recapture_verifies_and_passes_warcio_check(recaptured: Recaptured) -> None:
    report = verify(Workspace(recaptured.root))
    assert report.ok, report.errors
    for warc in recaptured.warcs():
        done = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", str(warc)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_report_says_unchanged_for_the_304_and_changed_for_the_new_body(recaptured: Recaptured) -> None:
    lines = {line.change.url: line.change.verdict.value for line in drift_report(Workspace(recaptured.root), Settings())}
    assert lines[recaptured.site.url("h", "/")] == "unchanged"
    assert lines[recaptured.site.url("h", "/ticker")] == "changed"


def test_a_304_replays_as_the_stored_page_at_its_new_time(recaptured: Recaptured, tmp_path: Path) -> None:
    res = recaptured.resource(recaptured.second, "/")
    target = f"{timestamp14(res.date)}id_/{res.url}"
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=30) as client, \
            serving(recaptured.root) as ours, pywb_serving(recaptured.warcs(), tmp_path / "pywb") as theirs:
        for base in (ours, theirs):
            reply, body = raw_get(client, base + target)
            assert reply.status_code == 200, base
            assert body == PAGE, base
            assert reply.headers.get("memento-datetime") == \
                datetime.strptime(timestamp14(res.date), "%Y%m%d%H%M%S").strftime("%a, %d %b %Y %H:%M:%S GMT"), base


def test_no_conditional_sends_no_validators(tmp_path: Path) -> None:
    host = Host("h", "127.0.0.1", routes={"/": Response(200, [("Content-Type", "text/html; charset=utf-8")], PAGE)})
    with Site([host], validators=True) as site:
        seed = site.url("h", "/")
        capture([seed], Workspace(tmp_path / "ws"), CaptureOptions(), clock=at(2))
        result = capture([seed], Workspace(tmp_path / "ws"), CaptureOptions(conditional=False), clock=at(1))
        asked = sent(site, "/")
    assert len(asked) == 2 and all("If-None-Match" not in h and "If-Modified-Since" not in h for h in asked)
    assert [s.status for s in site.served if s.url == seed] == [200, 200]
    res = next(r for r in result.resources if r.url == seed)
    assert res.revisit_of is not None          # the body sent anyway is deduplicated as before


def test_a_304_we_did_not_ask_for_is_archived_as_it_is(tmp_path: Path) -> None:
    host = Host("h", "127.0.0.1", routes={"/": Response(304, [("ETag", '"x"')], b"")})
    with Site([host]) as site:
        result = capture([site.url("h", "/")], Workspace(tmp_path / "ws"), CaptureOptions())
    res = result.resources[0]
    assert res.status == 304 and res.revisit_of is None


def test_a_rebuilt_index_asks_with_the_same_validators(tmp_path: Path) -> None:
    """The validators come from the WARC files: after the index is rebuilt from the files, a
    re-capture asks exactly what it asked before, and gets its 304."""
    from archiver.index.store import rebuild

    host = Host("h", "127.0.0.1", routes={"/": Response(200, [("Content-Type", "text/html; charset=utf-8")], PAGE)})
    ws = Workspace(tmp_path / "ws")
    with Site([host], validators=True) as site:
        seed = site.url("h", "/")
        capture([seed], ws, CaptureOptions(), clock=at(3))
        capture([seed], ws, CaptureOptions(), clock=at(2))
        (ws.state_dir / "index.sqlite").unlink()
        rebuild(ws)
        result = capture([seed], ws, CaptureOptions(), clock=at(1))
        asked = sent(site, "/")
    assert len(asked) == 3 and "If-None-Match" not in asked[0]
    assert asked[1]["If-None-Match"] == asked[2]["If-None-Match"]
    assert asked[1]["If-Modified-Since"] == asked[2]["If-Modified-Since"]
    assert [s.status for s in site.served if s.url == seed] == [200, 304, 304]
    assert next(r for r in result.resources if r.url == seed).revisit_of is not None
    assert verify(ws).ok


def test_a_package_of_the_recapture_imports_with_its_304s(recaptured: Recaptured, tmp_path: Path) -> None:
    """A WACZ of the re-capture carries the originals; importing it keeps each 304's revisit, which
    takes its original's status (it has no HTTP head of its own), and the import verifies."""
    import json

    archiver = [sys.executable, "-m", "archiver"]
    wacz = tmp_path / "second.wacz"
    done = subprocess.run([*archiver, "export", "wacz", "-w", str(recaptured.root), recaptured.second.capture_id,
                           "-o", str(wacz)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    other = tmp_path / "other"
    done = subprocess.run([*archiver, "import", "-w", str(other), str(wacz)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert verify(Workspace(other)).ok
    listed = json.loads(subprocess.run([*archiver, "--json", "list", "-w", str(other)], capture_output=True, text=True,
                                       timeout=60).stdout)
    counts = sorted(c["resources"] for c in (listed["captures"] if isinstance(listed, dict) else listed))
    # the two captures with resources (the import may add one of none)
    assert [n for n in counts if n] == sorted([len(recaptured.first.resources), len(recaptured.second.resources)])


def test_cite_gives_the_stored_page_at_its_new_time(recaptured: Recaptured) -> None:
    from archiver.citing.citations import cite

    res = recaptured.resource(recaptured.second, "/")
    original = recaptured.resource(recaptured.first, "/")
    [item] = cite(Workspace(recaptured.root), [res.url], settings=Settings())
    assert item.capture_id == recaptured.second.capture_id
    assert item.payload_sha256 == original.payload_sha256
    assert item.title == "Harbour notes"          # the page's metadata, read from the stored payload
    assert timestamp14(res.date) in item.archived_url
