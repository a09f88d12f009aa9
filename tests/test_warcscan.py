"""The one-pass WARC scanner: digests checked, entity digests computed, odd shapes handled."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from archiver.warc.reader import scan_warc
from archiver.warc.writer import write_record


def response(path: Path, head: bytes, body: bytes, payload_digest: bytes | None = None) -> None:
    block = head + body
    headers = [("WARC-Type", "response"), ("WARC-Record-ID", "<urn:uuid:1>"), ("WARC-Target-URI", "http://x/"),
               ("WARC-Block-Digest", f"sha256:{hashlib.sha256(block).hexdigest()}"),
               ("WARC-Payload-Digest", f"sha256:{hashlib.sha256(payload_digest or body).hexdigest()}"),
               ("Content-Type", "application/http; msgtype=response")]
    out = io.BytesIO()
    for _ in range(3):
        write_record(out, headers, [block], len(block), 6)
    path.write_bytes(out.getvalue())


def test_a_head_larger_than_the_search_window(tmp_path: Path) -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * 200_000 + b"\r\nContent-Length: 4\r\n\r\n"
    response(tmp_path / "a.warc.gz", head, b"body")
    scan = scan_warc(tmp_path / "a.warc.gz")
    assert scan.error is None and len(scan.records) == 3
    assert all(not r.problems and r.entity_sha256 == hashlib.sha256(b"body").hexdigest() for r in scan.records)


def test_chunked_entity_digest_and_a_wrong_payload_digest(tmp_path: Path) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    framed = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    response(tmp_path / "c.warc.gz", head, framed)
    scan = scan_warc(tmp_path / "c.warc.gz")
    assert not any(r.problems for r in scan.records)
    assert scan.records[0].entity_sha256 == hashlib.sha256(b"hello world").hexdigest()
    response(tmp_path / "w.warc.gz", b"HTTP/1.1 200 OK\r\n\r\n", b"abc", payload_digest=b"xyz")
    assert all("payload digest mismatch" in r.problems[0] for r in scan_warc(tmp_path / "w.warc.gz").records)


def test_member_offsets_and_lengths(tmp_path: Path) -> None:
    response(tmp_path / "m.warc.gz", b"HTTP/1.1 200 OK\r\n\r\n", b"x" * 100_000)
    data = (tmp_path / "m.warc.gz").read_bytes()
    scan = scan_warc(tmp_path / "m.warc.gz")
    assert scan.records[0].offset == 0
    assert sum(r.length for r in scan.records) == len(data) == scan.size
    assert scan.sha256 == hashlib.sha256(data).hexdigest()


def test_a_member_that_decodes_to_many_blocks_and_ends_beside_the_next_one(tmp_path: Path) -> None:
    """A body of 20 MB of one byte compresses into a few KB: the member's output runs over several
    limited reads, and it ends inside the same compressed piece as the next member starts. The scan
    once looped there for ever (a finished decoder keeps its unconsumed tail)."""
    body = b"a" * 20_000_000
    response(tmp_path / "a.warc.gz", b"HTTP/1.1 200 OK\r\nContent-Length: 20000000\r\n\r\n", body)
    scan = scan_warc(tmp_path / "a.warc.gz")
    assert scan.error is None and len(scan.records) == 3
    assert all(not r.problems and r.entity_sha256 == hashlib.sha256(body).hexdigest() for r in scan.records)
    assert sum(r.length for r in scan.records) == (tmp_path / "a.warc.gz").stat().st_size


def test_read_block_returns_one_records_block_by_its_member(tmp_path: Path) -> None:
    import gzip

    import pytest

    from archiver.warc.reader import read_block

    body = "main text, é\r\n\r\n".encode()          # ends like a record's trailer: only Content-Length decides
    response(tmp_path / "a.warc.gz", b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n", body)
    records = scan_warc(tmp_path / "a.warc.gz").records
    second = records[1]
    block = read_block(tmp_path / "a.warc.gz", second.offset, second.length, 1 << 20)
    assert block == b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n" + body
    assert read_block(tmp_path / "a.warc.gz", second.offset, second.length, 10) == block[:10]
    (tmp_path / "b.gz").write_bytes(gzip.compress(b"not a record"))
    with pytest.raises(ValueError):
        read_block(tmp_path / "b.gz", 0, (tmp_path / "b.gz").stat().st_size, 100)
