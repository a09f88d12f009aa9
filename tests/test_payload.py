"""Reading one archived response back (archiver.warc.payload) from real captures of the loopback
sample site: status line, headers as archived, the payload de-chunked with its content coding kept
(so it hashes to the manifest's payload_sha256), revisits read through their original, bounded
memory on a large record, and typed errors for bytes that are not a response record.

``archive`` is also what tests/test_memento.py and tests/test_cdx_api.py capture and compare with pywb."""

from __future__ import annotations

import gzip
import hashlib
import random
import sqlite3
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver import CaptureOptions, Workspace, capture
from archiver.core.models import ArchivedResource, CaptureResult
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response, Site
from archiver.warc.payload import OUT, ArchivedPayload, PayloadError, RecordAt, open_payload, read_head
from archiver.warc.reader import scan_warc

HTML = b"<!doctype html><title>Encodings</title>\n" + b"<p>A paragraph of the test page.</p>\n" * 120
BIG = 5 * 2**20
HOSTILE_TITLE = '<script>alert("title")</script> & <b>bold</b>'
HOSTILE = (b'<!doctype html><html><head><title>' + HOSTILE_TITLE.replace("&", "&amp;").encode()
           + b'</title></head><body><p>A page whose title is markup.</p></body></html>')
SEED_PATHS = ("/chunked.html", "/gzip.html", "/big.bin", "/odd.txt", "/odd.txt?b=2&a=1", "/hostile.html")


@dataclass
class Archive:
    """Two captures of the sample site and an encodings host, a day apart (the second made of revisits)."""

    root: Path
    results: list[CaptureResult]
    site: Site
    extra: Site
    big: bytes
    gzip_body: bytes

    @property
    def warcs(self) -> list[Path]:
        return [self.root / w.path for r in self.results for w in r.warc_files]

    def url(self, host: str, path: str) -> str:
        return (self.extra if host == "enc" else self.site).url(host, path)

    def resources(self) -> Iterator[tuple[CaptureResult, ArchivedResource]]:
        for result in self.results:
            for res in result.resources:
                yield result, res

    def resource(self, url: str, which: int = 0) -> ArchivedResource:
        return next(r for r in self.results[which].resources if r.url == url)


def encodings_host() -> tuple[Host, bytes, bytes]:
    big = random.Random(13).randbytes(BIG)      # incompressible: stored as it is, 5 MB in the WARC
    gzipped = gzip.compress(HTML, mtime=0)
    page = [("Content-Type", "text/html; charset=utf-8")]
    host = Host("enc", "127.0.0.21", routes={
        "/chunked.html": Response(200, page, HTML, chunked=True),
        "/gzip.html": Response(200, [*page, ("Content-Encoding", "gzip")], gzipped),
        "/big.bin": Response(200, [("Content-Type", "application/octet-stream")], big),
        "/odd.txt": Response(200, [("X-Odd-CASE", "1"), ("content-type", "text/plain"), ("X-Odd-CASE", "2")],
                             b"odd headers"),
        "/hostile.html": Response(200, page, HOSTILE),
    })
    return host, big, gzipped


def capture_archive(root: Path) -> Archive:
    """Capture the sample article (depth 1) and the encodings pages twice, two days and one day ago."""
    host, big, gzipped = encodings_host()
    results = []
    with sample_site() as site, Site([host]) as extra:
        seeds = [site.url("news", ARTICLE_PATH)] + [extra.url("enc", p) for p in SEED_PATHS]
        for days in (2, 1):
            shift = timedelta(days=days)
            result = capture(seeds, Workspace(root), CaptureOptions(depth=1),
                             clock=lambda shift=shift: datetime.now(UTC) - shift)    # type: ignore[misc]
            assert result.ok, result.seed_problems
            results.append(result)
    return Archive(root, results, site, extra, big, gzipped)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return capture_archive(tmp_path_factory.mktemp("payload-ws"))


def original_at(root: Path, res: ArchivedResource) -> RecordAt | None:
    """Where a revisit's payload is, its length from the index (as the server finds it)."""
    if res.revisit_of is None:
        return None
    db = sqlite3.connect(root / ".archiver" / "index.sqlite")
    row = db.execute("SELECT length FROM mementos WHERE capture_id = ? AND record_id = ?",
                     (res.revisit_of.capture_id, res.revisit_of.record_id)).fetchone()
    db.close()
    return RecordAt(root / res.revisit_of.warc, res.revisit_of.offset, row[0])


def read_all(payload: ArchivedPayload) -> bytes:
    with payload:
        return b"".join(payload.blocks)


def test_every_payload_hashes_to_the_manifest(archive: Archive) -> None:
    revisits = 0
    for _, res in archive.resources():
        at = RecordAt(archive.root / res.warc, res.offset, res.length)
        payload = open_payload(at, original_at(archive.root, res))
        assert payload.http.status == res.status, res.url
        assert payload.record.target_uri == res.url and payload.record.record_id == res.record_id
        body = read_all(payload)
        assert hashlib.sha256(body).hexdigest() == res.payload_sha256, res.url
        revisits += res.revisit_of is not None
    assert revisits >= 10            # the second capture's unchanged responses


def test_chunked_framing_removed_content_coding_kept(archive: Archive) -> None:
    chunked = archive.resource(archive.url("enc", "/chunked.html"))
    payload = open_payload(RecordAt(archive.root / chunked.warc, chunked.offset, chunked.length))
    assert payload.chunked and payload.length is None
    assert payload.http.get("Transfer-Encoding") == "chunked"
    assert payload.stored_length > len(HTML)          # the stored bytes hold the chunk-size lines
    assert read_all(payload) == HTML

    gzipped = archive.resource(archive.url("enc", "/gzip.html"))
    payload = open_payload(RecordAt(archive.root / gzipped.warc, gzipped.offset, gzipped.length))
    assert not payload.chunked and payload.length == len(archive.gzip_body)
    assert payload.http.get("content-encoding") == "gzip"
    assert read_all(payload) == archive.gzip_body == archive.extra.served_for(gzipped.url).body


def test_headers_as_archived_order_and_case_kept(archive: Archive) -> None:
    res = archive.resource(archive.url("enc", "/odd.txt"))
    record, http = read_head(RecordAt(archive.root / res.warc, res.offset, res.length))
    assert record.type == "response" and http.version == "HTTP/1.1" and http.reason == "OK"
    odd = [(n, v) for n, v in http.headers if n.lower() in ("x-odd-case", "content-type")]
    assert odd == [("X-Odd-CASE", "1"), ("content-type", "text/plain"), ("X-Odd-CASE", "2")]
    assert http.raw.endswith(b"\r\n\r\n")


def test_large_record_streams_in_bounded_memory(archive: Archive) -> None:
    res = archive.resource(archive.url("enc", "/big.bin"))
    at = RecordAt(archive.root / res.warc, res.offset, res.length)
    assert res.length > BIG                           # stored, not deflated
    digest, sizes = hashlib.sha256(), []
    tracemalloc.start()
    try:
        with open_payload(at) as payload:
            assert payload.length == BIG
            for block in payload.blocks:
                sizes.append(len(block))
                digest.update(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == res.payload_sha256 == hashlib.sha256(archive.big).hexdigest()
    assert sum(sizes) == BIG and max(sizes) <= OUT and len(sizes) > 10
    assert peak < 2 * 2**20, f"peak {peak} bytes while reading a {BIG}-byte payload"


def test_revisit_head_is_its_own_payload_is_the_originals(archive: Archive) -> None:
    res = archive.resource(archive.url("news", ARTICLE_PATH), which=1)
    assert res.revisit_of is not None
    at = RecordAt(archive.root / res.warc, res.offset, res.length)
    record, http = read_head(at)
    assert record.type == "revisit" and http.status == 200
    assert record.truncated == "length"          # WARC 1.1 6.7.2: the block is the response cut to its head
    with pytest.raises(PayloadError, match="revisit"):
        open_payload(at)
    original = original_at(archive.root, res)
    assert original is not None
    unknown_length = RecordAt(original.path, original.offset, None)      # read to the member's end
    for where in (original, unknown_length):
        payload = open_payload(at, where)
        assert payload.record.type == "revisit" and payload.http.raw == http.raw
        assert hashlib.sha256(read_all(payload)).hexdigest() == res.payload_sha256


def test_what_is_not_a_response_record_is_a_typed_error(archive: Archive, tmp_path: Path) -> None:
    res = archive.resource(archive.url("news", ARTICLE_PATH))
    warc = archive.root / res.warc
    cases = {
        "warcinfo": RecordAt(warc, 0, None),                               # the file's first record
        "off by one": RecordAt(warc, res.offset + 1, res.length),
        "too short": RecordAt(warc, res.offset, 40),
    }
    for name, at in cases.items():
        with pytest.raises(PayloadError) as caught:
            read_all(open_payload(at))
        assert isinstance(caught.value, ValueError) and warc.name in str(caught.value), name
        assert "\n" not in str(caught.value)
    others = [r for r in scan_warc(warc).records if r.type in ("request", "conversion")]
    assert {r.type for r in others} == {"request", "conversion"}
    for other in others:
        with pytest.raises(PayloadError, match=f"a {other.type} record, not an HTTP response"):
            read_head(RecordAt(warc, other.offset, other.length))

    # a copy cut inside the big record: the head reads, the stream fails where the bytes end
    big = archive.resource(archive.url("enc", "/big.bin"))
    cut = tmp_path / "cut.warc.gz"
    with open(archive.root / big.warc, "rb") as fh:
        fh.seek(big.offset)
        cut.write_bytes(fh.read(big.length // 2))
    payload = open_payload(RecordAt(cut, 0, big.length))
    with pytest.raises(PayloadError, match="ends early"):
        read_all(payload)

    # a flipped byte inside the deflated head
    data = bytearray(warc.read_bytes()[res.offset:res.offset + res.length])
    data[40] ^= 0xFF
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(PayloadError):
        read_all(open_payload(RecordAt(broken, 0, len(data))))

    with pytest.raises(OSError):
        read_head(RecordAt(tmp_path / "missing.warc.gz", 0, 100))
