"""Lookup, search, cite and reindex over real captures of a site that changes between captures."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from archiver import capture
from archiver.core.models import ArchivedResource, Failure, Manifest, Original, Role, TextRecord
from archiver.core.moments import parse_moment
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.index.store import Index

ARCHIVER = [sys.executable, "-m", "archiver"]
ARTICLE = """<html lang="en"><head><title>{title}</title>
<meta name="citation_title" content="{title}"><meta name="citation_author" content="Okafor, Ngozi">
<meta name="citation_publication_date" content="2026-10-01"><meta property="og:site_name" content="Delta Post">
</head><body><article><h1>{title}</h1><p>{body}</p><p>The port authority published figures on Monday showing
that cargo volumes fell for the third quarter running, while fees rose.</p>
<a href="/source.html">the report</a></article></body></html>"""


def cli(ws: Workspace, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*ARCHIVER, "-w", str(ws.root), *args], capture_output=True, text=True)


@pytest.fixture
def history(serve, workspace: Workspace) -> tuple[Site, Workspace, list]:
    state = {"n": 0}

    def article(site: Site, path: str) -> Response:
        body = ["The harbour fees will stay the same this year, the mayor said.",
                "The harbour fees will rise by a tenth, the mayor said.",
                "The harbour fees will rise by a fifth, the mayor said after a tense meeting."][state["n"]]
        html = ARTICLE.format(title=f"Harbour fees, version {state['n'] + 1}", body=body)
        return Response(200, [("Content-Type", "text/html; charset=utf-8")], html.encode())

    site = serve([Host("h", "127.0.0.91", routes={
        "/article": article,
        "/source.html": Response(200, [("Content-Type", "text/html")],
                                 b"<html><title>Port report</title><body><p>Quarterly cargo volumes and "
                                 b"harbour dues for the third quarter, published by the port authority.</p></body></html>")})])
    results = []
    for n in range(3):
        state["n"] = n
        results.append(capture([site.url("h", "/article")], workspace, CaptureOptions(timeout=5)))
    return site, workspace, results


def test_timemap_any_spelling(history) -> None:
    site, ws, results = history
    url = site.url("h", "/article")
    spelled = url.replace("http://", "HTTP://").replace("127.0.0.91", "127.0.0.91") + "#comments"
    proc = cli(ws, "lookup", spelled, "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["mementos"]
    assert [m["capture_id"] for m in found] == [r.capture_id for r in results]
    assert found == sorted(found, key=lambda m: m["datetime"])
    assert all(m["status"] == 200 and m["warc"]["path"].startswith("archive/") for m in found)


def test_timegate_nearest_with_ties_to_the_earlier(history) -> None:
    site, ws, results = history
    url = site.url("h", "/article")
    with Index.open(ws) as index:
        times = [parse_moment(m.datetime) for m in index.timemap(url)]
        nearer_first = times[0] + (times[1] - times[0]) * 0.4
        best, distance = index.nearest(url, nearer_first)
        assert best.capture_id == results[0].capture_id
        assert distance == pytest.approx((times[1] - times[0]).total_seconds() * 0.4, abs=1e-5)
        later, _ = index.nearest(url, times[1] + (times[2] - times[1]) * 0.9)
        assert later.capture_id == results[2].capture_id
        before_all, gap = index.nearest(url, parse_moment("2000-01-01"))
        assert before_all.capture_id == results[0].capture_id and gap > 0
    proc = cli(ws, "lookup", url, "--at", "2999-01-01", "--json")
    report = json.loads(proc.stdout)
    assert report["mementos"][0]["capture_id"] == results[2].capture_id and report["distance_seconds"] > 0


def test_lookup_errors(history) -> None:
    site, ws, _ = history
    missing = cli(ws, "lookup", site.url("h", "/never"))
    assert missing.returncode == 1 and "has not been captured" in missing.stderr
    bad = cli(ws, "lookup", site.url("h", "/article"), "--at", "next tuesday")
    assert bad.returncode == 2 and "not a date or time" in bad.stderr


def test_reindex_gives_identical_answers(history) -> None:
    site, ws, _ = history
    queries = [("lookup", site.url("h", "/article"), "--json"), ("lookup", site.url("h", "/source.html"), "--json"),
               ("search", "harbour fees", "--json"), ("cite", site.url("h", "/article"), "--style", "csl-json")]
    before = [cli(ws, *q).stdout for q in queries]
    (ws.state_dir / "index.sqlite").unlink()
    assert cli(ws, "reindex").returncode == 0
    assert [cli(ws, *q).stdout for q in queries] == before
    assert cli(ws, "reindex").returncode == 0
    assert [cli(ws, *q).stdout for q in queries] == before


def test_search_is_ranked_with_snippets(history) -> None:
    site, ws, results = history
    proc = cli(ws, "search", '"rise by a fifth"', "--json")
    hits = json.loads(proc.stdout)["results"]
    assert [h["capture_id"] for h in hits] == [results[2].capture_id]
    assert "[rise] [by] [a] [fifth]" in hits[0]["snippet"] or "[rise by a fifth]" in hits[0]["snippet"]
    both = json.loads(cli(ws, "search", "harbour", "--json").stdout)["results"]
    assert {h["url"] for h in both} == {site.url("h", "/article"), site.url("h", "/source.html")}
    assert json.loads(cli(ws, "search", "zebra", "--json").stdout)["results"] == []
    cited = cli(ws, "search", "cargo volumes", "--cite", "ris")
    assert cited.stdout.count("TY  - ELEC") >= 2


def test_cite_capture_bibliography_to_a_file(history, tmp_path: Path) -> None:
    site, ws, results = history
    out = tmp_path / "sources.bib"
    proc = cli(ws, "cite", results[1].capture_id, "--style", "bibtex", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.count("@online{") == 2                     # the article and its linked source
    assert "Harbour fees, version 2" in text and "Port report" in text
    assert "Okafor, Ngozi" in text
    at = cli(ws, "cite", site.url("h", "/article"), "--at", "2000-01-01", "--style", "apa")
    assert "version 1" in at.stdout and results[0].capture_id in at.stdout
    assert cli(ws, "cite", "20990101T000000Z-abcdef", "--style", "apa").returncode == 1


def resource(date: str, n: int, url: str = "http://tie.example/a") -> ArchivedResource:
    return ArchivedResource(url=url, role=Role.SEED, via=None, depth=0, status=200, content_type=None,
                            payload_sha256=f"{n:064x}", payload_bytes=1, warc="archive/x.warc.gz", offset=n, length=1,
                            record_id=f"<urn:uuid:{n}>", request_record_id=None, date=date, remote_address=None)


def manifest(capture_id: str, date: str, resources: list[ArchivedResource], failures: tuple[Failure, ...] = (),
             sequence: int | None = 1) -> Manifest:
    return Manifest(capture_id=capture_id, seeds=(), started=date, ended=date, software={}, settings={},
                    warc_files=(), resources=tuple(resources), failures=failures, skipped=(), sequence=sequence)


def test_an_exact_tie_goes_to_the_earlier_capture(workspace: Workspace) -> None:
    workspace.ensure()
    with Index.open(workspace) as index:
        for n, date in enumerate(["2026-01-01T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"]):
            index.add(manifest(f"2026010{n + 1}T000000Z-00000{n}", date, [resource(date, n)], sequence=n + 1))
        best, distance = index.nearest("http://tie.example/a", parse_moment("2026-01-02T00:00:00Z"))
        assert best.datetime.startswith("2026-01-01") and distance == 86400
        best, _ = index.nearest("http://tie.example/a", parse_moment("2026-01-02T00:00:01Z"))
        assert best.datetime.startswith("2026-01-03")


def test_values_out_of_the_index_bounds_are_left_out_and_listed_never_an_error(workspace: Workspace) -> None:
    """read_manifest checks each value's type; what is typed right but out of the bounds imports are
    held to is left out of the index and listed, and the rest of the capture is indexed."""
    workspace.ensure()
    date = "2026-01-01T00:00:00.000000Z"
    good = resource(date, 1, "http://odd.example/ok")
    odd = [{"status": 42}, {"url": "ftp://x/"}, {"url": "http:///nohost"}, {"date": "0001-01-01T00:00:00Z"},
           {"date": "not a date"}, {"warc": "/etc/passwd"}, {"warc": "archive/../../x.warc.gz"},
           {"record_id": "<" + "x" * 1000 + ">"}]
    clamped = [{"content_type": "x" * 100_000}, {"location": "http://odd.example/" + "x" * 100_000},
               {"warc_payload_digest": "no digest\r\nat all"}, {"text": TextRecord("<urn:uuid:t>", 0, 2**40, "a" * 64, 1)}]
    dated = {"metadata": {"title": {"value": parse_moment(date)}}}     # YAML's timestamp, indexed as text
    failures = (Failure("nonsense", Role.SOURCE, None, "dns", "x"),
                Failure("http://odd.example/gone", Role.SOURCE, None, "dns", "no such host"))
    with Index.open(workspace) as index:
        index.add(manifest("20260101T000000Z-0dd000", date,
                           [good, *(replace(good, **o) for o in odd), *(replace(good, **c) for c in clamped),
                            replace(good, **dated)],
                           failures, sequence=2**70))
        index.add(manifest("20260101T000001Z-0dd001", "99999-01-01", [], failures))
        mementos = index.capture_mementos("20260101T000000Z-0dd000")
        left = index.left_out()
        found = index.failures_of("20260101T000000Z-0dd000")
        captures = {c.capture_id: c for c in index.captures()}
    assert len(mementos) == 1 + len(clamped) + 1
    assert all(m.url == "http://odd.example/ok" and m.status == 200 for m in mementos)
    items = {item.split(" ")[0] for _, item, _ in left}
    assert {f"resources[{i}]" for i in range(1, len(odd) + 1 + len(clamped))} <= items
    assert f"resources[{len(odd) + len(clamped) + 1}]" not in items
    assert "failures[0]" in items and [f.url for f in found] == ["http://odd.example/gone"]
    assert captures["20260101T000000Z-0dd000"].sequence is None and "20260101T000001Z-0dd001" in captures
    assert ("20260101T000001Z-0dd001", "started") in {(cid, item) for cid, item, _ in left}
    assert [m.metadata for m in mementos if m.metadata] == [{"title": {"value": "2026-01-01 00:00:00+00:00"}}]


def test_revisits_take_metadata_in_their_order_even_through_a_revisit_indexed_with_them(workspace: Workspace) -> None:
    """A revisit without metadata takes its original's; when the original is another revisit of the
    same capture, it has that one's only if that one came first and took its own by then (read in
    bulk per capture, index/revisits.py, as one query per revisit in their order gave)."""
    workspace.ensure()
    date, page = "2026-01-01T00:00:00.000000Z", {"title": {"value": "Harbour fees"}}
    first, second, third = "20260101T000000Z-aaaaaa", "20260102T000000Z-bbbbbb", "20260103T000000Z-cccccc"

    def revisit(n: int, of: ArchivedResource, capture_id: str) -> ArchivedResource:
        return replace(resource(date, n, f"http://tie.example/{n}"), revisit_of=Original(
            capture_id, of.record_id, of.url, date, f"sha256:{of.payload_sha256}", of.warc, of.offset))

    original = replace(resource(date, 1, "http://tie.example/1"), metadata=page)
    middle = revisit(2, original, first)
    late = revisit(4, original, first)
    with Index.open(workspace) as index:
        index.add(manifest(first, date, [original]))
        index.add(manifest(second, date, [middle, revisit(3, middle, second)], sequence=2))
        index.add(manifest(third, date, [revisit(5, late, third), late], sequence=3))
        got = {m.record_id: m.metadata for c in (second, third) for m in index.capture_mementos(c)}
    assert got["<urn:uuid:2>"] == page and got["<urn:uuid:3>"] == page       # through the one before it
    assert got["<urn:uuid:4>"] == page and got["<urn:uuid:5>"] is None        # its original came after it
