"""End-to-end captures against real multi-host sites on loopback addresses."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from warc_reading import read_records

from archiver import capture
from archiver.core.models import Role
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response, Site

HTML = [("Content-Type", "text/html; charset=utf-8")]


def page(body: str, status: int = 200, headers: list[tuple[str, str]] | None = None, **kw: object) -> Response:
    return Response(status, (headers or []) + HTML, body.encode("utf-8"), **kw)  # type: ignore[arg-type]


def by_url(result) -> dict:
    return {r.url: r for r in result.resources}


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", str(path)],
                          capture_output=True, text=True)


def test_sample_site_every_served_body_is_archived_byte_for_byte(workspace: Workspace) -> None:
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        result = capture([article], workspace, CaptureOptions(timeout=10))
        served = list(site.served)
    archived = by_url(result)
    assert result.ok, result.seed_problems
    assert len(served) >= 25
    for s in served:
        assert s.url in archived, f"served but not archived: {s.url}"
        assert archived[s.url].payload_sha256 == s.sha256, s.url
    roles = {r.url: r.role for r in result.resources}
    assert roles[article] is Role.SEED
    assert roles[site.url("library", "/docs/council-minutes.pdf")] is Role.SOURCE
    assert roles[site.url("legacy", "/archives/1998-notice.html")] is Role.SOURCE
    assert roles[site.url("legacy", "/img/crest.gif")] is Role.REQUISITE          # a source's requisite
    assert roles[site.url("news", "/static/fonts/courier-serif.woff2")] is Role.REQUISITE  # via CSS @font-face
    redirect = archived[site.url("library", "/old/report")]
    assert redirect.status == 301 and redirect.location == site.url("library", "/reports/water-2026.html")
    assert archived[site.url("library", "/reports/water-2026.html")].via == redirect.url
    assert archived[site.url("data", "/missing.html")].status == 404                # 404s are evidence
    failures = {f.url: f for f in result.failures}
    assert failures[site.url("dead", "/statement.html")].kind == "refused"
    skipped = {s.url: s.reason for s in result.skipped}
    assert skipped[site.url("library", "/private/draft-tender.html")] == "disallowed by robots.txt"
    for warc in result.warc_files:
        check = warcio_check(workspace.root / warc.path)
        assert check.returncode == 0, check.stdout
        assert "digest pass" in check.stdout and "fail" not in check.stdout


def test_manifest_lists_files_resources_failures(workspace: Workspace) -> None:
    with sample_site() as site:
        result = capture([site.url("news", ARTICLE_PATH)], workspace, CaptureOptions(timeout=10))
    data = yaml.safe_load((workspace.root / result.manifest_path).read_text())
    assert data["format"] == "archiver-manifest" and data["format_version"] == 2
    assert data["sequence"] == 1 and data["previous"] is None
    assert data["capture_id"] == result.capture_id and data["seeds"] == list(result.seeds)
    assert data["started"] <= data["ended"]
    warc = data["warc_files"][0]
    assert warc["bytes"] == (workspace.root / warc["path"]).stat().st_size
    assert warc["sha256"] == hashlib.sha256((workspace.root / warc["path"]).read_bytes()).hexdigest()
    res = data["resources"][0]
    for key in ("url", "role", "status", "content_type", "payload_sha256", "warc", "offset", "length",
                "record_id", "remote_address", "date"):
        assert key in res, key
    assert all(r["remote_address"].startswith("127.0.0.") for r in data["resources"])
    assert {"url", "kind", "reason"} <= set(data["failures"][0])
    assert data["settings"]["per_host"] == 2 and data["software"]["archiver"]
    # the offset/length of each resource point at its response record's gzip member
    raw = (workspace.root / warc["path"]).read_bytes()
    for r in data["resources"]:
        member = gzip.decompress(raw[r["offset"]:r["offset"] + r["length"]])
        assert member.startswith(b"WARC/1.1\r\nWARC-Type: response\r\n")
        assert f"WARC-Record-ID: {r['record_id']}".encode() in member


def test_warc_records_pair_requests_and_responses(workspace: Workspace) -> None:
    with sample_site() as site:
        result = capture([site.url("news", ARTICLE_PATH)], workspace, CaptureOptions(timeout=10, depth=0))
    records = read_records(workspace.root / result.warc_files[0].path)
    assert records[0].type == "warcinfo"
    assert "WARC-Target-URI" not in records[0].headers
    info = records[0].raw_payload.decode()
    assert f"isPartOf: {result.capture_id}" in info and "software: archiver/" in info
    warcinfo_id = records[0].headers["WARC-Record-ID"]
    conversions = [r for r in records if r.type == "conversion"]
    assert len(conversions) == 1                          # the article's main text
    by_id = {r.headers["WARC-Record-ID"]: r for r in records}
    original = by_id[conversions[0].headers["WARC-Refers-To"]]
    assert original.type == "response" and original.headers["WARC-Target-URI"] == result.seeds[0]
    assert b"eleven votes to four" in conversions[0].block
    assert conversions[0].block.count(b"eleven votes to four") == 1   # the tripled paragraph, once
    records = [r for r in records if r.type != "conversion"]
    for req, resp in zip(records[1::2], records[2::2]):
        assert (req.type, resp.type) == ("request", "response")
        assert resp.headers["WARC-Concurrent-To"] == req.headers["WARC-Record-ID"]
        assert req.headers["WARC-Date"] == resp.headers["WARC-Date"]
        assert resp.headers["WARC-IP-Address"].startswith("127.0.0.")
        assert resp.headers["WARC-Warcinfo-ID"] == warcinfo_id
        assert resp.headers["WARC-Payload-Digest"].startswith("sha256:")
        assert req.block.startswith(b"GET ") and req.block.endswith(b"\r\n\r\n")
        # the request record names neither the warcinfo (the file's first record) nor the address
        assert "WARC-Warcinfo-ID" not in req.headers and "WARC-IP-Address" not in req.headers
        # the page is asked for as a document; its requisites (and robots.txt) as any type
        accept = "text/html,application/xhtml+xml" if resp.headers["WARC-Target-URI"] in result.seeds else "*/*\r\n"
        assert f"\r\nAccept: {accept}" in req.block.decode()
    assert not list(workspace.archive_dir.glob("*.open"))


LINKS_PAGE = """<!doctype html><html><head><base href="/docs/v2/">
<link rel="stylesheet" href="style.css"><link rel=icon href="/favicon.png">
<style>body { background: url('bg.png') } @import "extra.css";</style></head>
<body style="background-image:url(&quot;inline.png&quot;)">
<img src="fig.png" srcset="fig-2x.png 2x, /abs/fig-3x.png 3x">
<picture><source srcset="pic.webp 1x"></picture><video poster="poster.jpg"></video>
<a href="page.html#sec">relative source</a> <a href="#top">fragment</a>
<a href="mailto:someone@example.org">mail</a> <a href="javascript:alert(1)">js</a>
<a href="/article">back to the article</a> <a href="/article#comments">back with fragment</a>
<a href="{{other}}/elsewhere.html">other host</a>
</body></html>"""


def test_relative_base_srcset_css_fragments_and_skipped_schemes(serve, workspace: Workspace) -> None:
    site = serve([
        Host("main", "127.0.0.41", routes={
            "/article": page(LINKS_PAGE.replace("{{other}}", "http://127.0.0.42:1")),
            "/docs/v2/style.css": Response(200, [("Content-Type", "text/css")],
                                           b"@import url(print.css); .a { background: url( 'img/a.png' ) }"),
            "/docs/v2/print.css": Response(200, [("Content-Type", "text/css")], b"/* url(commented.png) */ p{}"),
        }),
    ])
    result = capture([site.url("main", "/article")], workspace, CaptureOptions(timeout=5, ignore_robots=True))
    urls = {r.url: r for r in result.resources}
    base = site.origin("main")
    expected_requisites = ["/docs/v2/style.css", "/favicon.png", "/docs/v2/bg.png", "/docs/v2/extra.css",
                           "/docs/v2/inline.png", "/docs/v2/fig.png", "/docs/v2/fig-2x.png", "/abs/fig-3x.png",
                           "/docs/v2/pic.webp", "/docs/v2/poster.jpg", "/docs/v2/print.css", "/docs/v2/img/a.png"]
    for path in expected_requisites:
        assert base + path in urls, path
        assert urls[base + path].role is Role.REQUISITE
    assert urls[base + "/docs/v2/page.html"].role is Role.SOURCE
    assert base + "/docs/v2/commented.png" not in urls
    fetched = [r.url for r in result.resources]
    assert fetched.count(base + "/article") == 1                   # links back and fragments: not again
    assert not any(u.startswith(("mailto", "javascript")) for u in fetched)
    assert all("#" not in u for u in fetched)


def test_redirect_loop_ends_and_each_hop_is_recorded(serve, workspace: Workspace) -> None:
    site = serve([Host("h", "127.0.0.43", routes={
        "/a": lambda s, p: Response(302, [("Location", s.url("h", "/b"))]),
        "/b": lambda s, p: Response(302, [("Location", "/a")]),
    })])
    result = capture([site.url("h", "/a")], workspace, CaptureOptions(timeout=5))
    statuses = {r.url: r.status for r in result.resources}
    assert statuses == {site.url("h", "/a"): 302, site.url("h", "/b"): 302}
    assert not result.ok and "redirect loop" in result.seed_problems[0]


def test_long_redirect_chain_is_cut_at_the_limit(serve, workspace: Workspace) -> None:
    site = serve([Host("h", "127.0.0.44", routes={
        f"/r{i}": (lambda i: lambda s, p: Response(302, [("Location", f"/r{i + 1}")]))(i) for i in range(40)})])
    result = capture([site.url("h", "/r0")], workspace, CaptureOptions(timeout=5, max_redirects=20))
    assert len(result.resources) == 21
    assert any("more than 20 redirects" in f.reason for f in result.failures)
    assert not result.ok


def test_robots_disallow_applies_to_found_urls_not_to_seeds(serve, workspace: Workspace) -> None:
    robots = Response(200, [("Content-Type", "text/plain")], b"User-agent: *\nDisallow: /private\n")
    site = serve([Host("h", "127.0.0.45", routes={
        "/robots.txt": robots,
        "/private/seed.html": page('<a href="/private/linked.html">x</a><img src="/private/img.png">'),
        "/private/linked.html": page("linked"),
    })])
    result = capture([site.url("h", "/private/seed.html")], workspace, CaptureOptions(timeout=5))
    archived = by_url(result)
    assert archived[site.url("h", "/private/seed.html")].status == 200
    assert site.url("h", "/private/linked.html") not in archived
    skipped = {s.url: s.reason for s in result.skipped}
    assert skipped[site.url("h", "/private/linked.html")] == "disallowed by robots.txt"
    assert archived[site.url("h", "/private/img.png")].role is Role.REQUISITE   # the seed needs it
    assert archived[site.url("h", "/robots.txt")].role is Role.ROBOTS     # the evidence of why

    ignoring = capture([site.url("h", "/private/seed.html")], workspace,
                       CaptureOptions(timeout=5, ignore_robots=True))
    assert site.url("h", "/private/linked.html") in by_url(ignoring)


def test_depth_zero_takes_requisites_but_no_sources(workspace: Workspace) -> None:
    with sample_site() as site:
        result = capture([site.url("news", ARTICLE_PATH)], workspace, CaptureOptions(depth=0, timeout=10))
    roles = {r.role for r in result.resources}
    assert roles == {Role.SEED, Role.REQUISITE}      # no source, so no robots.txt either
    assert len(result.resources) == 11             # the article and its 10 requisites


def test_chunked_response_is_archived_with_its_framing_and_warcio_accepts_it(serve, workspace: Workspace) -> None:
    body = ("<p>" + "chunked text " * 400 + "</p>").encode()
    site = serve([Host("h", "127.0.0.46", routes={"/c": Response(200, HTML, body, chunked=True)})])
    result = capture([site.url("h", "/c")], workspace, CaptureOptions(timeout=5))
    res = by_url(result)[site.url("h", "/c")]
    assert res.payload_sha256 == hashlib.sha256(body).hexdigest()       # entity, framing removed
    rec = [r for r in read_records(workspace.root / res.warc) if r.type == "response"][0]
    assert rec.raw_payload.startswith(b"3e8\r\n") and rec.raw_payload.endswith(b"0\r\n\r\n")
    assert ("Transfer-Encoding", "chunked") in rec.http_headers        # headers as sent
    assert warcio_check(workspace.root / res.warc).returncode == 0


def test_gzip_body_archived_as_sent_and_still_parsed_for_links(serve, workspace: Workspace) -> None:
    html = b'<html><body><img src="/pic.png"><p>compressed</p></body></html>'
    sent = gzip.compress(html)
    site = serve([Host("h", "127.0.0.47", routes={
        "/z": Response(200, HTML + [("Content-Encoding", "gzip")], sent),
        "/pic.png": Response(200, [("Content-Type", "image/png")], b"\x89PNG fake")})])
    result = capture([site.url("h", "/z")], workspace, CaptureOptions(timeout=5))
    archived = by_url(result)
    assert archived[site.url("h", "/z")].payload_sha256 == hashlib.sha256(sent).hexdigest()
    assert site.url("h", "/pic.png") in archived


def test_per_host_limit_is_respected(serve, workspace: Workspace) -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    lock = threading.Lock()

    def slow(s: Site, path: str) -> Response:
        with lock:
            in_flight[path[:3]] = in_flight.get(path[:3], 0) + 1
            peak[path[:3]] = max(peak.get(path[:3], 0), in_flight[path[:3]])
        time.sleep(0.05)
        with lock:
            in_flight[path[:3]] -= 1
        return page("ok")

    links = "".join(f'<img src="/i/{n}.png">' for n in range(12))
    site = serve([Host("h", "127.0.0.48", routes={"/": page(links), **{f"/i/{n}.png": slow for n in range(12)}})])
    result = capture([site.url("h", "/")], workspace, CaptureOptions(timeout=5, per_host=2, concurrency=8))
    assert len(result.resources) == 13          # the page and its 12 images
    assert peak["/i/"] == 2


def test_truncation_at_max_bytes_keeps_what_arrived(serve, workspace: Workspace) -> None:
    big = b"x" * 50_000
    site = serve([Host("h", "127.0.0.49", routes={"/": page('<img src="/big.bin">'),
                                                    "/big.bin": Response(200, [("Content-Type", "application/octet-stream")], big)})])
    result = capture([site.url("h", "/")], workspace, CaptureOptions(timeout=5, max_bytes=10_000))
    res = by_url(result)[site.url("h", "/big.bin")]
    assert res.truncated == "length" and res.payload_bytes == 10_000
    assert any(f.kind == "truncated" and "10000" in f.reason for f in result.failures)
    rec = [r for r in read_records(workspace.root / res.warc) if r.headers.get("WARC-Target-URI") == res.url
           and r.type == "response"][0]
    assert rec.headers["WARC-Truncated"] == "length"
    assert warcio_check(workspace.root / res.warc).returncode == 0


def test_exclude_and_max_resources(workspace: Workspace) -> None:
    with sample_site() as site:
        result = capture([site.url("news", ARTICLE_PATH)], workspace,
                         CaptureOptions(timeout=10, exclude=(r"\.png$",), max_resources=15))
    urls = [r.url for r in result.resources]
    assert not any(u.endswith(".png") for u in urls)
    assert any("--exclude" in s.reason for s in result.skipped)
    assert any("--max-resources 15" in s.reason for s in result.skipped)
    assert len({u for u in urls if not u.endswith("robots.txt")}) <= 15


def test_headers_and_cookies_are_sent_and_redacted(workspace: Workspace, tmp_path: Path) -> None:
    seen: list[str] = []
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.51\tFALSE\t/\tFALSE\t0\tsession\tS3CRET\n"
                       "127.0.0.51\tFALSE\t/\tFALSE\t1000\tstale\tOLD\n")
    options = CaptureOptions(timeout=5, headers=(("Authorization", "Bearer T0KEN"), ("Accept-Language", "fr")),
                             cookies_file=str(cookies))
    # a raw listener to see the request as sent
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.51", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def accept() -> None:
        conn, _ = listener.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        seen.append(data.decode())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    result = capture([f"http://127.0.0.51:{port}/p"], workspace, options)
    t.join(5)
    listener.close()
    assert "Authorization: Bearer T0KEN" in seen[0] and "Cookie: session=S3CRET\r\n" in seen[0]
    req = [r for r in read_records(workspace.root / result.warc_files[0].path) if r.type == "request"][0]
    stored = req.block.decode()
    assert "T0KEN" not in stored and "S3CRET" not in stored
    assert "Authorization: [redacted by archiver]" in stored and "Accept-Language: fr" in stored
    manifest = yaml.safe_load((workspace.root / result.manifest_path).read_text())
    assert manifest["redacted_headers"] == ["authorization", "cookie"]
    assert "T0KEN" not in (workspace.root / result.manifest_path).read_text()


def test_keep_secrets_archives_the_values(workspace: Workspace, serve) -> None:
    site = serve([Host("h", "127.0.0.52", routes={"/": page("x")})])
    result = capture([site.url("h", "/")], workspace,
                     CaptureOptions(timeout=5, headers=(("X-Api-Key", "K3Y"),), keep_secrets=True))
    req = [r for r in read_records(workspace.root / result.warc_files[0].path) if r.type == "request"][0]
    assert b"X-Api-Key: K3Y" in req.block


def test_javascript_shell_and_failed_requisites_are_flagged(serve, workspace: Workspace) -> None:
    shell = ('<html><head><script src="/a.js"></script><script src="/b.js"></script><script src="/c.js">'
             '</script></head><body><noscript>Please enable JavaScript to read this article.</noscript>'
             '<div id="root"></div><img src="/missing.png"></body></html>')
    site = serve([Host("h", "127.0.0.53", routes={"/": page(shell), **{f"/{n}.js": Response(200, [], b"//")
                                                                      for n in "abc"}})])
    result = capture([site.url("h", "/")], workspace, CaptureOptions(timeout=5))
    flags = {f.flag: f for f in result.flags}
    assert "javascript-shell" in flags and "asks to enable JavaScript" in flags["javascript-shell"].detail
    assert "1 of 4 requisites failed" in flags["requisites-failed"].detail


def test_unreachable_seed_fails_the_capture_but_writes_a_manifest(workspace: Workspace, serve) -> None:
    site = serve([Host("dead", "127.0.0.54", listening=False)])
    result = capture([site.url("dead", "/x")], workspace, CaptureOptions(timeout=2))
    assert not result.ok and "refused" in result.seed_problems[0]
    assert (workspace.root / result.manifest_path).exists()


def test_timeout_is_a_wall_clock_deadline(serve, workspace: Workspace) -> None:
    def drip(s: Site, path: str) -> Response:
        time.sleep(10)
        return page("late")

    site = serve([Host("h", "127.0.0.55", routes={"/slow": drip})])
    start = time.monotonic()
    result = capture([site.url("h", "/slow")], workspace, CaptureOptions(timeout=1))
    assert time.monotonic() - start < 6          # the server would take 10 s; the deadline is 1 s
    assert result.failures[0].kind == "timeout"
