"""Full verify in ranges: a file checked as byte ranges in several processes reports exactly what one
pass over it reports, damage in any range is found and named, and a range that starts at bytes
which only look like a gzip member is never trusted."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
from dataclasses import astuple
from pathlib import Path

import pytest

from archiver import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response
from archiver.fixity import verify as verifying
from archiver.fixity.verify import verify
from archiver.warc.reader import RangeScan, ScanResult, file_digest, join_ranges, plan_ranges, scan_range, scan_warc
from archiver.warc.writer import write_record

# a gzip member holding the start of a WARC record: stored inside a payload, its bytes look like a
# member start in the middle of the file
FAKE_MEMBER = gzip.compress(b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n")


def record(out: io.BytesIO, n: int, body: bytes, store: bool) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    block = head + body
    headers = [("WARC-Type", "response"), ("WARC-Record-ID", f"<urn:uuid:{n}>"), ("WARC-Target-URI", f"http://x/{n}"),
               ("WARC-Block-Digest", f"sha256:{hashlib.sha256(block).hexdigest()}"),
               ("WARC-Payload-Digest", f"sha256:{hashlib.sha256(body).hexdigest()}"),
               ("Content-Type", "application/http; msgtype=response")]
    write_record(out, headers, [block], len(block), 6, store_after=len(head) if store else None)


def mixed_warc(path: Path, records: int = 60, seed: int = 1, fakes: bool = True) -> bytes:
    """Text records and stored random ones; with ``fakes``, some payloads hold a gzip member of a WARC
    record."""
    rng = random.Random(seed)
    out = io.BytesIO()
    for n in range(records):
        if n % 3 == 0:
            body = rng.randbytes(rng.randint(100, 6000)) + (FAKE_MEMBER if fakes else b"") + rng.randbytes(3000)
            record(out, n, body, store=True)
        else:
            words = [rng.choice(("alpha", "beta", "gamma", "delta", "<p>", "</p>\n")) for _ in range(rng.randint(5, 800))]
            record(out, n, " ".join(words).encode(), store=False)
    path.write_bytes(out.getvalue())
    return out.getvalue()


def in_ranges(path: Path, part: int) -> tuple[ScanResult | None, list[RangeScan]]:
    sha256, size = file_digest(path)
    cuts = plan_ranges(size, part)
    ranges = [scan_range(path, begin, until, n == len(cuts) - 1) for n, (begin, until) in enumerate(cuts)]
    return join_ranges(path, sha256, size, ranges), ranges


def same(a: ScanResult, b: ScanResult) -> bool:
    return ((a.sha256, a.size, a.error) == (b.sha256, b.size, b.error)
            and [astuple(r) for r in a.records] == [astuple(r) for r in b.records])


@pytest.mark.parametrize("fakes", [False, True])
@pytest.mark.parametrize("part", [1, 997, 4096, 20_000, 10**9])
def test_ranges_report_what_one_pass_reports(tmp_path: Path, part: int, fakes: bool) -> None:
    path = tmp_path / "m.warc.gz"
    data = mixed_warc(path, fakes=fakes)
    one = scan_warc(path)
    assert one.error is None and len(one.records) == 60 and not any(r.problems for r in one.records)
    joined, ranges = in_ranges(path, part)
    if joined is None:          # a range began at a fake member: not trusted, the file is scanned in one pass
        assert fakes
        assert any(r.start is not None and data[r.start:r.start + len(FAKE_MEMBER)] == FAKE_MEMBER for r in ranges)
    else:
        assert same(joined, one)


def test_a_range_starting_at_a_fake_member_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "f.warc.gz"
    data = mixed_warc(path)
    fake = data.index(FAKE_MEMBER)
    # the second range begins just before the fake member, inside the record that holds it
    ranges = [scan_range(path, 0, fake - 1), scan_range(path, fake - 1, len(data), True)]
    assert ranges[1].start == fake and ranges[0].end > fake
    assert join_ranges(path, *file_digest(path), ranges) is None


def test_corrupt_byte_in_the_second_range_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.warc.gz"
    mixed_warc(path, fakes=False)
    members = scan_warc(path).records
    size = path.stat().st_size
    cuts = plan_ranges(size, size // 3)
    victim = next(r for r in members if cuts[1][0] + 100 < r.offset and r.offset + r.length < cuts[1][1])
    data = bytearray(path.read_bytes())
    data[victim.offset + victim.length // 2] ^= 0x55
    path.write_bytes(bytes(data))
    one = scan_warc(path)
    assert one.error and f"member starting at offset {victim.offset}:" in one.error
    joined, _ = in_ranges(path, size // 3)
    assert joined is not None and same(joined, one)


def test_tiny_and_empty_files(tmp_path: Path) -> None:
    tiny = tmp_path / "t.warc.gz"
    out = io.BytesIO()
    record(out, 1, b"x", store=False)
    tiny.write_bytes(out.getvalue())
    for part in (1, 7, 10**6):
        joined, _ = in_ranges(tiny, part)
        assert joined is not None and same(joined, scan_warc(tiny)) and len(joined.records) == 1
    empty = tmp_path / "e.warc.gz"
    empty.write_bytes(b"")
    joined, _ = in_ranges(empty, 16)
    assert joined is not None and same(joined, scan_warc(empty)) and joined.records == []


def test_truncated_file_in_ranges(tmp_path: Path) -> None:
    path = tmp_path / "t.warc.gz"
    data = mixed_warc(path, fakes=False)
    path.write_bytes(data[:-50])
    one = scan_warc(path)
    assert one.error and "(truncated)" in one.error
    joined, _ = in_ranges(path, 5000)
    assert joined is not None and same(joined, one)


def test_not_a_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "n.warc.gz"
    path.write_bytes(b"WARC/1.1\r\n" * 5000)
    joined, _ = in_ranges(path, 4096)
    one = scan_warc(path)
    assert one.error and "offset 0" in one.error
    assert joined is not None and same(joined, one)


# --------------------------------------------------------------------------- verify, end to end


@pytest.fixture
def site(serve):
    rng = random.Random(7)
    routes = {"/a": Response(200, [("Content-Type", "text/html")],
                             b"".join(f'<p>text {n}</p><img src="/i{n}.jpg">'.encode() for n in range(12)))}
    for n in range(12):
        routes[f"/i{n}.jpg"] = Response(200, [("Content-Type", "image/jpeg")],
                                        b"\xff\xd8\xff\xe0" + rng.randbytes(20_000) + FAKE_MEMBER)
    return serve([Host("h", "127.0.0.72", routes=routes)])


def lines(report: verifying.VerifyReport) -> list[str]:
    return [p.line() for p in report.problems]


def test_verify_in_small_ranges_with_two_workers(site, workspace: Workspace, monkeypatch) -> None:
    results = [capture([site.url("h", "/a")], workspace, CaptureOptions(timeout=5, dedup=False)) for _ in range(2)]
    one = verify(workspace, workers=1)
    assert one.ok and one.records_checked > 2 * 26
    for part in (3000, 20_000, 10**9):
        monkeypatch.setattr(verifying, "RANGE_BYTES", part)
        two = verify(workspace, workers=2)
        assert two.ok and (two.records_checked, two.bytes_hashed) == (one.records_checked, one.bytes_hashed)
    # one flipped byte in the middle of the second capture's file: same report with ranges and without
    res = results[1].resources[len(results[1].resources) // 2]
    warc = workspace.root / res.warc
    data = bytearray(warc.read_bytes())
    data[res.offset + res.length // 2] ^= 0x55
    warc.write_bytes(bytes(data))
    one = verify(workspace, workers=1)
    assert not one.ok and any(f"member starting at offset {res.offset}:" in line and res.warc in line
                              for line in lines(one))
    monkeypatch.setattr(verifying, "RANGE_BYTES", 3000)
    two = verify(workspace, workers=2)
    assert lines(two) == lines(one)
    assert verify(workspace, [results[0].capture_id], workers=2).ok      # the other capture is intact
