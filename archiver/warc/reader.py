"""One pass over a WARC file: the file's sha256, and every record's block and payload digest checked.

``scan_warc`` reads the compressed file once in large blocks (``file_digest``, the one file hasher);
each block feeds the file hash and the gzip member walker (``members``); the decoded records feed
the record parsers (``records``), one per member, which hash the blocks and payloads.

For several processes to share one file, the work also splits: ``file_digest`` hashes a file, and
``scan_range`` checks the records of one byte range, from the first gzip member that starts in it
to the first member end at or after its end. ``join_ranges`` puts the ranges of a file back
together and accepts them only when each range starts exactly where the one before it stopped:
the one before decoded member after member from a proven boundary (offset 0 at first), so that
start is a member boundary too, whatever bytes merely look like a gzip header inside a payload.

The payload digest is checked by archiver's rule (docs/warc.md): the bytes after the HTTP header
block as stored. For HTTP records the scanner also computes the entity digest with chunked framing
removed, which the manifest records as ``payload_sha256``. Import reads a WARC of any framing with
the same parser (``framing``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import deflate as codec
from .members import READ_BLOCK, GzipMembers, RecordPerMember
from .records import MAX_WARC_HEAD, ScannedRecord

RANGE_BLOCK = 1 * 2**20      # read size of a range scan: it stops soon after its range ends
_GZIP_MAGIC = b"\x1f\x8b\x08"
_PROBE = 64 * 1024           # compressed bytes a candidate member start may need to yield "WARC/"


@dataclass(slots=True)
class ScanResult:
    path: Path
    sha256: str = ""
    size: int = 0
    records: list[ScannedRecord] = field(default_factory=list)
    error: str | None = None
    error_offset: int | None = None    # where the member the error is about starts


def scan_warc(path: Path, check_records: bool = True) -> ScanResult:
    """Hash ``path`` and, with ``check_records``, check every record in it."""
    result = ScanResult(path)
    members = GzipMembers(0, RecordPerMember(result.records))
    try:
        result.sha256, result.size = file_digest(path, also=members.feed if check_records else None)
        result.error = members.error()
    except codec.error as exc:
        result.error = members.error(exc)
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror}"
    if result.error and check_records and not result.error.startswith("cannot read"):
        result.error_offset = members.member_start
    if result.error and check_records:
        result.sha256, result.size = _hash_only(path)
    return result


def _hash_only(path: Path) -> tuple[str, int]:
    try:
        return file_digest(path)
    except OSError:
        return "", 0


def read_block(path: Path, offset: int, length: int, limit: int) -> bytes:
    """The block of one record, read by its gzip member's offset and length (as a manifest or the
    index records them): at most ``limit`` bytes of it. OSError when the file cannot be read,
    ValueError when the member is not one gzip-framed WARC record with a Content-Length."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    try:
        data = codec.decompressobj(31).decompress(raw, limit + MAX_WARC_HEAD)
    except codec.error as exc:
        raise ValueError(f"gzip data corrupt: {exc}") from None
    end = data.find(b"\r\n\r\n", 0, MAX_WARC_HEAD)
    if not data.startswith(b"WARC/") or end < 0:
        raise ValueError("not a WARC record")
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            size = int(value.strip())          # ValueError when it is not a number
            return data[end + 4: end + 4 + max(0, min(size, limit))]
    raise ValueError("no Content-Length")


def file_digest(path: Path, algorithm: str = "sha256", *,
                also: Callable[[bytes], object] | None = None) -> tuple[str, int]:
    """The digest (hex, of hashlib's ``algorithm``) and size of the whole file, read once in large
    blocks; each block is also handed to ``also`` (a copy's ``write``, a gzip walker's ``feed``) as
    it is read. OSError if the file cannot be read."""
    h = hashlib.new(algorithm)
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(READ_BLOCK):
            h.update(block)
            size += len(block)
            if also is not None:
                also(block)
    return h.hexdigest(), size


# --------------------------------------------------------------------------- a file in ranges


@dataclass(slots=True)
class RangeScan:
    """The records of one byte range of a file, from the first member starting in [begin, until)."""

    begin: int
    until: int
    start: int | None = None           # where decoding started; None: no member start found in the range
    end: int = 0                       # where it stopped: the first member end >= until, EOF, or the error
    records: list[ScannedRecord] = field(default_factory=list)
    error: str | None = None
    unreadable: str | None = None      # OSError's text: the range says nothing


def plan_ranges(size: int, part: int) -> list[tuple[int, int]]:
    """Cut ``size`` bytes into (begin, until) ranges of about ``part`` bytes each (at least one range)."""
    count = max(1, round(size / part)) if part > 0 else 1
    cuts = [size * i // count for i in range(count + 1)]
    return list(zip(cuts, cuts[1:])) or [(0, 0)]


def _looks_like_member(data: bytes, at: int) -> bool:
    """Whether a gzip member starting at ``at`` decodes to the start of a WARC record."""
    try:
        decomp = codec.decompressobj(31)
        out = decomp.decompress(memoryview(data)[at:at + _PROBE], 5)
    except codec.error:
        return False
    return out == b"WARC/"


def _first_member(fh: Any, begin: int, until: int) -> int | None:
    """Offset of the first thing in [begin, until) that looks like the start of a record's member.

    Only a candidate: random payload bytes can look like one. ``join_ranges`` accepts it only if the
    range before this one stopped at exactly this offset."""
    at = begin
    while at < until:
        fh.seek(at)
        data = fh.read(min(RANGE_BLOCK, until - at) + _PROBE)
        if not data:
            return None
        found = data.find(_GZIP_MAGIC)
        while 0 <= found and at + found < until:
            if _looks_like_member(data, found):
                return at + found
            found = data.find(_GZIP_MAGIC, found + 1)
        at += min(RANGE_BLOCK, until - at)
    return None


def scan_range(path: Path, begin: int, until: int, to_eof: bool = False) -> RangeScan:
    """Check the records of the members starting in [begin, until) of ``path``, and of every member
    after them up to the first that ends at or after ``until`` (with ``to_eof``, up to the end of
    the file). Offset 0 is a member start; elsewhere the first apparent member start is used."""
    scan = RangeScan(begin, until)
    try:
        with open(path, "rb", buffering=0) as fh:
            scan.start = 0 if begin == 0 else _first_member(fh, begin, until)
            if scan.start is None:
                return scan
            fh.seek(scan.start)
            members = GzipMembers(scan.start, RecordPerMember(scan.records), None if to_eof else until)
            try:
                while (block := fh.read(RANGE_BLOCK)) and members.feed(block):
                    pass
                scan.error = members.error()
            except codec.error as exc:
                scan.error = members.error(exc)
            scan.end = members.member_start if scan.error else members.consumed
    except OSError as exc:
        scan.unreadable = f"cannot read: {exc.strerror}"
    return scan


def join_ranges(path: Path, sha256: str, size: int, ranges: list[RangeScan]) -> ScanResult | None:
    """The scan of a whole file from its ranges (in file order), as ``scan_warc`` reports it; None if
    a range did not start where the one before it stopped (then scan the file in one pass)."""
    result = ScanResult(path, sha256, size)
    pos = 0
    for scan in ranges:
        if scan.unreadable:
            return None
        if pos >= scan.until and scan.begin > 0:
            continue            # the range before decoded past this one: its last member spans it
        if scan.start != pos:
            return None
        result.records += scan.records
        if scan.error:
            result.error, result.error_offset = scan.error, scan.end
            return result
        pos = scan.end
    return result if pos == size else None
