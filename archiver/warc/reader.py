"""One pass over a WARC file: the file's sha256, and every record's block and payload digest checked.

``scan_warc`` reads the compressed file once in large blocks; each block feeds the file hash and
the gzip decoder; the decoded records feed the record hashes.

For several processes to share one file, the work also splits: ``file_digest`` hashes a file, and
``scan_range`` checks the records of one byte range, from the first gzip member that starts in it
to the first member end at or after its end. ``join_ranges`` puts the ranges of a file back
together and accepts them only when each range starts exactly where the one before it stopped:
the one before decoded member after member from a proven boundary (offset 0 at first), so that
start is a member boundary too, whatever bytes merely look like a gzip header inside a payload.

The payload digest is checked by archiver's rule (docs/warc.md): the bytes after the HTTP header
block as stored. For HTTP records the scanner also computes the entity digest with chunked framing
removed, which the manifest records as ``payload_sha256``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import deflate as codec
from ..net.wire import ChunkedDecoder, ProtocolError, find_head_end, parse_head

READ_BLOCK = 4 * 2**20
RANGE_BLOCK = 1 * 2**20      # read size of a range scan: it stops soon after its range ends
FEED = 64 * 1024             # compressed bytes handed to zlib at a time: what is left over at a member's end is small
_MAX_WARC_HEAD = 1 * 2**20
_MAX_HTTP_HEAD = 1 * 2**20
_HEAD_WINDOW = 64 * 1024
_WS = " \t\n\r\x0b\x0c"       # what bytes.strip() strips
_GZIP_MAGIC = b"\x1f\x8b\x08"
_PROBE = 64 * 1024           # compressed bytes a candidate member start may need to yield "WARC/"


@dataclass(slots=True)
class ScannedRecord:
    offset: int
    length: int = 0                    # compressed member length
    record_id: str | None = None
    type: str | None = None
    target_uri: str | None = None
    date: str | None = None            # the WARC-Date header, as written
    refers_to: str | None = None       # the WARC-Refers-To header
    payload_digest: str | None = None  # the WARC-Payload-Digest header
    entity_sha256: str | None = None   # HTTP entity, chunked framing removed
    block_sha256: str | None = None    # the whole block
    status: int | None = None          # HTTP status of a response or revisit record
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScanResult:
    path: Path
    sha256: str = ""
    size: int = 0
    records: list[ScannedRecord] = field(default_factory=list)
    error: str | None = None
    error_offset: int | None = None    # where the member the error is about starts


def _digest_matches(expected: str, hasher: Any) -> bool | None:
    """Compare a labelled digest (``sha256:<hex|base32>``) with a hasher; None if unknown algorithm."""
    algo, _, value = expected.partition(":")
    if algo.lower().replace("-", "") != hasher.name.replace("-", ""):
        return None
    raw = hasher.digest()
    return value.lower() == raw.hex() or value.upper().rstrip("=") == base64.b32encode(raw).decode().rstrip("=")


class _RecordParser:
    """Receives the decoded bytes of one gzip member (one record) and checks its digests."""

    __slots__ = ("rec", "head", "state", "block_left", "block_hash", "payload_hash", "entity_hash", "chunked",
                 "http_head", "block_digest", "is_http", "status_line")

    def __init__(self, record: ScannedRecord) -> None:
        self.rec = record
        self.head = b""
        self.state = "warc-head"
        self.block_left = 0
        self.block_hash = hashlib.sha256()
        self.payload_hash: Any = None
        self.entity_hash: Any = None
        self.chunked: ChunkedDecoder | None = None
        self.http_head = b""
        self.block_digest: str | None = None
        self.is_http = False
        self.status_line: bytes | None = None     # collected for the HTTP status of a response or revisit

    def feed(self, data: bytes) -> None:
        pos = 0
        if self.state == "warc-head":
            if self.head:
                data = self.head + data
                self.head = b""
            end = data.find(b"\r\n\r\n", 0, _MAX_WARC_HEAD)
            if end < 0:
                if len(data) > _MAX_WARC_HEAD:
                    self._fail("WARC header block too long or missing")
                else:
                    self.head = data
                return
            self._parse_warc_head(data[:end])
            if self.state == "failed":
                return
            self.state = "block"
            pos = end + 4
        if self.state == "block" and pos < len(data):
            stop = min(len(data), pos + self.block_left)
            take = memoryview(data)[pos:stop] if pos or stop < len(data) else data
            self.block_left -= stop - pos
            self.block_hash.update(take)
            if self.status_line is not None:
                self._status(take)
            if self.is_http and self.payload_hash is None:
                self._http_head(data, pos, stop)
            elif self.payload_hash is not None:
                self.payload_hash.update(take)
                if self.chunked is not None:
                    self._dechunk(take)
            if self.block_left == 0:
                self.state = "tail"

    def _fail(self, message: str) -> None:
        self.rec.problems.append(message)
        self.state = "failed"

    def _parse_warc_head(self, head: bytes) -> None:
        if not head.startswith(b"WARC/"):
            first = head.split(b"\r\n", 1)[0]
            self._fail(f"not a WARC record (starts {first[:20]!r})")
            return
        fields: dict[str, str] = {}
        # decoded whole: ':' and CRLF never fall inside a replaced UTF-8 sequence, so this equals
        # decoding each name and value on its own
        for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(_WS).lower(), value.strip(_WS))
        rec = self.rec
        rec.record_id, rec.type = fields.get("warc-record-id"), fields.get("warc-type")
        rec.target_uri, rec.payload_digest = fields.get("warc-target-uri"), fields.get("warc-payload-digest")
        rec.date, rec.refers_to = fields.get("warc-date"), fields.get("warc-refers-to")
        self.block_digest = fields.get("warc-block-digest")
        try:
            self.block_left = int(fields.get("content-length", ""))
        except ValueError:
            self._fail("missing or invalid Content-Length")
            return
        self.is_http = (fields.get("content-type") or "").startswith("application/http") and rec.type in (
            "response", "request", "revisit")
        if self.is_http and rec.type != "request":
            self.status_line = b""
        if rec.type == "revisit":
            self.is_http = False
        elif not self.is_http and rec.payload_digest:
            self.payload_hash = hashlib.sha256()

    def _http_head(self, data: bytes, pos: int, stop: int) -> None:
        """Block bytes ``data[pos:stop]`` before the end of the HTTP head was found."""
        if self.http_head:
            data, pos, stop = self.http_head + data[pos:stop], 0, len(self.http_head) + stop - pos
            self.http_head = b""
        # the HTTP head is looked for in the first 64 KiB first: most heads are small
        end = find_head_end(data, pos, min(stop, pos + _HEAD_WINDOW))
        if end < 0 and stop - pos > _HEAD_WINDOW:
            end = find_head_end(data, pos, stop)
        if end < 0:
            self.http_head = data[pos:stop]
            if len(self.http_head) > _MAX_HTTP_HEAD:
                self.is_http = False
            return
        self.payload_hash = self.entity_hash = hashlib.sha256()
        if self.rec.type == "response":
            head = data[pos:end]
            # is_chunked needs the word in a Transfer-Encoding value: no word, no parse
            if b"chunked" in head.lower():
                try:
                    if parse_head(head).is_chunked:
                        self.chunked = ChunkedDecoder()
                        self.entity_hash = hashlib.sha256()
                except ProtocolError:
                    pass
        rest = memoryview(data)[end:stop]
        self.payload_hash.update(rest)
        if self.chunked is not None:
            self._dechunk(rest)

    def _dechunk(self, data: bytes | memoryview) -> None:
        if self.chunked is not None and not self.chunked.done:
            try:
                self.entity_hash.update(self.chunked.feed(bytes(data)))
            except ProtocolError:
                self.chunked = None

    def finish(self) -> None:
        rec = self.rec
        if self.state == "failed":
            return
        if self.state in ("warc-head", "block"):
            rec.problems.append("record ends before its declared Content-Length")
            return
        if self.block_digest and _digest_matches(self.block_digest, self.block_hash) is False:
            rec.problems.append(f"block digest mismatch: the record says {self.block_digest}, "
                                f"its bytes hash to sha256:{self.block_hash.hexdigest()}")
        if self.is_http and self.payload_hash is None:     # headers only, no body
            self.payload_hash = hashlib.sha256()
            self.entity_hash = self.payload_hash
        if rec.payload_digest and self.payload_hash is not None and rec.type != "revisit":
            if _digest_matches(rec.payload_digest, self.payload_hash) is False:
                rec.problems.append(f"payload digest mismatch: the record says {rec.payload_digest}, "
                                    f"its payload hashes to sha256:{self.payload_hash.hexdigest()}")
        if self.entity_hash is not None:
            rec.entity_sha256 = self.entity_hash.hexdigest()
        rec.block_sha256 = self.block_hash.hexdigest()
        if self.status_line is not None:
            rec.status = _status_of(self.status_line)

    def _status(self, take: bytes | memoryview) -> None:
        """Collect the block's first line until it is whole (or 256 bytes), then read the status once."""
        line = (self.status_line or b"") + bytes(take[:256])
        if len(line) >= 256 or b"\n" in line:
            self.rec.status = _status_of(line)
            self.status_line = None
        else:
            self.status_line = line


def _status_of(line: bytes) -> int | None:
    """The status code of an HTTP/1.x status line, or None."""
    parts = line.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and len(parts[1]) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


class _Members:
    """Decodes consecutive gzip members, one record each, from the compressed bytes fed to it."""

    __slots__ = ("records", "until", "consumed", "member_start", "decomp", "parser")

    def __init__(self, start: int, records: list[ScannedRecord], until: int | None = None) -> None:
        self.records = records
        self.until = until            # stop at the first member end at or after this offset
        self.consumed = start         # file offset of the next byte to decode
        self.member_start = start
        self.decomp: Any = None       # the open member's decoder; None between members
        self.parser: _RecordParser | None = None

    def feed(self, block: bytes) -> bool:
        """Decode ``block``; False once a member ended at or after ``until`` (the rest is not decoded)."""
        view = memoryview(block)
        pos, size = 0, len(view)
        decomp, parser = self.decomp, self.parser
        try:
            while pos < size:
                if decomp is None:
                    if self.until is not None and self.consumed >= self.until:
                        return False
                    decomp = codec.decompressobj(31)
                    self.member_start = self.consumed
                    parser = _RecordParser(ScannedRecord(offset=self.consumed))
                assert parser is not None     # a parser is open whenever a member's decoder is
                piece = view[pos:pos + FEED]
                out = decomp.decompress(piece, READ_BLOCK)
                while decomp.unconsumed_tail and not decomp.eof:   # at its end, a member leaves the rest as unused_data
                    parser.feed(out)
                    out = decomp.decompress(decomp.unconsumed_tail, READ_BLOCK)
                parser.feed(out)
                used = len(piece) - len(decomp.unused_data) if decomp.eof else len(piece)
                self.consumed += used
                pos += used
                if decomp.eof:
                    parser.rec.length = self.consumed - self.member_start
                    parser.finish()
                    self.records.append(parser.rec)
                    decomp, parser = None, None
        finally:
            self.decomp, self.parser = decomp, parser
        return True

    def error(self, exc: Exception | None = None) -> str | None:
        """What went wrong: the decoder's error, or a member still open at the end of the file."""
        if exc is not None:
            return f"gzip data corrupt in the member starting at offset {self.member_start}: {exc}"
        if self.decomp is not None:
            return f"file ends inside the record starting at offset {self.member_start} (truncated)"
        return None


def scan_warc(path: Path, check_records: bool = True) -> ScanResult:
    """Hash ``path`` and, with ``check_records``, check every record in it."""
    result = ScanResult(path)
    file_hash = hashlib.sha256()
    members = _Members(0, result.records)
    try:
        with open(path, "rb", buffering=0) as fh:
            while block := fh.read(READ_BLOCK):
                file_hash.update(block)
                result.size += len(block)
                if check_records:
                    members.feed(block)
        result.error = members.error()
    except codec.error as exc:
        result.error = members.error(exc)
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror}"
    if result.error and check_records and not result.error.startswith("cannot read"):
        result.error_offset = members.member_start
    result.sha256 = file_hash.hexdigest()
    if result.error and check_records:
        result.sha256 = _hash_only(path)
    return result


def _hash_only(path: Path) -> str:
    try:
        return file_digest(path)[0]
    except OSError:
        return ""


def read_block(path: Path, offset: int, length: int, limit: int) -> bytes:
    """The block of one record, read by its gzip member's offset and length (as a manifest or the
    index records them): at most ``limit`` bytes of it. OSError when the file cannot be read,
    ValueError when the member is not one gzip-framed WARC record with a Content-Length."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    try:
        data = codec.decompressobj(31).decompress(raw, limit + _MAX_WARC_HEAD)
    except codec.error as exc:
        raise ValueError(f"gzip data corrupt: {exc}") from None
    end = data.find(b"\r\n\r\n", 0, _MAX_WARC_HEAD)
    if not data.startswith(b"WARC/") or end < 0:
        raise ValueError("not a WARC record")
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            size = int(value.strip())          # ValueError when it is not a number
            return data[end + 4: end + 4 + max(0, min(size, limit))]
    raise ValueError("no Content-Length")


def file_digest(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and size of the whole file; OSError if it cannot be read."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(READ_BLOCK):
            h.update(block)
            size += len(block)
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
            members = _Members(scan.start, scan.records, None if to_eof else until)
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
