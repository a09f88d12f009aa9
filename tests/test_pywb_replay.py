"""pywb replays archiver's WARC files with the bytes the server sent.

Each test captures from the loopback demo site, loads the WARC into a fresh pywb collection
(``wb-manager init`` / ``wb-manager add``), starts ``wayback`` and fetches captures in ``id_``
(identity) mode, which serves the archived payload without rewriting.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pywbkit import fetch, wayback

from archiver import CaptureOptions, Workspace, capture
from archiver.core.models import ArchivedResource, CaptureResult
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response, Site

WARCIO = Path(sys.executable).parent / "warcio"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def timestamp(resource: ArchivedResource) -> str:
    """WARC-Date 2026-11-29T15:04:47.123456Z -> pywb timestamp 20261129150447."""
    return "".join(ch for ch in resource.date if ch.isdigit())[:14]


def resource(result: CaptureResult, url: str) -> ArchivedResource:
    return next(r for r in result.resources if r.url == url)


def warc_paths(root: Path, result: CaptureResult) -> list[Path]:
    return [root / w.path for w in result.warc_files]


def warcio_check(warc: Path) -> None:
    done = subprocess.run([str(WARCIO), "check", str(warc)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"warcio check {warc.name} failed:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[list[Path]], str]]:
    """``pywb(warcs)`` loads the WARCs into collection ``coll`` of a new wayback; returns its base URL."""
    with ExitStack() as stack:
        yield lambda warcs: stack.enter_context(wayback(warcs, tmp_path_factory.mktemp("pywb")))


@pytest.fixture(scope="module")
def sample_replay(tmp_path_factory: pytest.TempPathFactory, pywb) -> tuple[Site, CaptureResult, str]:
    """The sample article captured at depth 1, checked by warcio, served by one wayback."""
    root = tmp_path_factory.mktemp("sample-ws")
    with sample_site() as site:
        result = capture([site.url("news", ARTICLE_PATH)], Workspace(root), CaptureOptions(depth=1))
    assert result.ok, result.seed_problems
    warcs = warc_paths(root, result)
    for warc in warcs:
        warcio_check(warc)
    return site, result, pywb(warcs)


@pytest.mark.parametrize(("host", "path"), [
    ("news", ARTICLE_PATH),                     # (a) the article
    ("data", "/tables/contracts.html"),          # (b) a linked source page
    ("library", "/docs/council-minutes.pdf"),    # (c) the PDF
    ("legacy", "/archives/1998-notice.html"),    # (d) the windows-1252 page
    ("news", "/media/harbour-800.png"),          # (e) an image
])
def test_sample_site_replays_original_bytes(sample_replay, host: str, path: str) -> None:
    site, result, base = sample_replay
    url = site.url(host, path)
    res = resource(result, url)
    body, _ = fetch(f"{base}/coll/{timestamp(res)}id_/{url}")
    assert sha256(body) == site.served_for(url).sha256 == res.payload_sha256
    if host == "legacy":  # the windows-1252 bytes come back as they were, not re-encoded
        assert any(b >= 0x80 for b in body)
        assert body.decode("cp1252").encode("cp1252") == body


def test_chunked_and_gzip_replay(tmp_path: Path, pywb) -> None:
    html = b"<!doctype html><title>Encodings</title>\n" + b"<p>A paragraph of the test page.</p>\n" * 120
    assert len(html) > 3000  # the demo server sends 1000-byte chunks: several of them
    page = [("Content-Type", "text/html; charset=utf-8")]
    site = Site([Host("enc", "127.0.0.21", routes={
        "/chunked.html": Response(200, page, html, chunked=True),
        "/gzip.html": Response(200, [*page, ("Content-Encoding", "gzip")], gzip.compress(html)),
    })])
    with site:
        urls = [site.url("enc", "/chunked.html"), site.url("enc", "/gzip.html")]
        result = capture(urls, Workspace(tmp_path / "ws"), CaptureOptions(depth=0, ignore_robots=True))
    assert result.ok and not result.failures, (result.seed_problems, result.failures)
    warcs = warc_paths(tmp_path / "ws", result)
    for warc in warcs:
        warcio_check(warc)
    base = pywb(warcs)
    chunked_url, gzip_url = urls
    sent_gzip = site.served_for(gzip_url).body

    # Chunked: the record keeps the chunk framing; pywb de-chunks it, so id_ gives the entity body.
    res = resource(result, chunked_url)
    body, headers = fetch(f"{base}/coll/{timestamp(res)}id_/{chunked_url}")
    assert body == html
    assert sha256(body) == site.served_for(chunked_url).sha256 == res.payload_sha256
    assert headers.get("X-Archive-Orig-Transfer-Encoding") == "chunked"

    # Gzip: pywb 2.x (rewrite/content_rewriter.py) decides per request. In id_ mode it passes the
    # stored gzip bytes through, with Content-Encoding: gzip, only when the client's
    # Accept-Encoding names gzip; otherwise it decompresses, and the original header is kept only
    # as X-Archive-Orig-Content-Encoding. urllib sends "Accept-Encoding: identity" by default.
    res = resource(result, gzip_url)
    replay = f"{base}/coll/{timestamp(res)}id_/{gzip_url}"
    body, headers = fetch(replay, {"Accept-Encoding": "gzip"})
    assert body == sent_gzip
    assert headers.get("Content-Encoding") == "gzip"
    assert sha256(body) == site.served_for(gzip_url).sha256 == res.payload_sha256
    body, headers = fetch(replay)
    assert body == html
    assert "Content-Encoding" not in headers
    assert headers.get("X-Archive-Orig-Content-Encoding") == "gzip"
