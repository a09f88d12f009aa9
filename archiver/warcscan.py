"""One pass over a WARC file: the file's sha256, and every record's block and payload digest checked.

Reads the compressed file once in large blocks; each block feeds the file hash and the gzip
decoder; the decoded records feed the record hashes. zlib and hashlib release the GIL, so several
files scan in parallel threads.

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

from . import codec
from .httpwire import ChunkedDecoder, ProtocolError, find_head_end, parse_head

READ_BLOCK = 4 * 2**20
_MAX_WARC_HEAD = 1 * 2**20
_MAX_HTTP_HEAD = 1 * 2**20
_HEAD_WINDOW = 64 * 1024


@dataclass(slots=True)
class ScannedRecord:
    offset: int
    length: int = 0                    # compressed member length
    record_id: str | None = None
    type: str | None = None
    target_uri: str | None = None
    payload_digest: str | None = None  # the WARC-Payload-Digest header
    entity_sha256: str | None = None   # HTTP entity, chunked framing removed
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScanResult:
    path: Path
    sha256: str = ""
    size: int = 0
    records: list[ScannedRecord] = field(default_factory=list)
    error: str | None = None


def _digest_matches(expected: str, hasher: hashlib._Hash) -> bool | None:
    """Compare a labelled digest (``sha256:<hex|base32>``) with a hasher; None if unknown algorithm."""
    algo, _, value = expected.partition(":")
    if algo.lower().replace("-", "") != hasher.name.replace("-", ""):
        return None
    raw = hasher.digest()
    return value.lower() == raw.hex() or value.upper().rstrip("=") == base64.b32encode(raw).decode().rstrip("=")


class _RecordParser:
    """Receives the decoded bytes of one gzip member (one record) and checks its digests."""

    def __init__(self, record: ScannedRecord) -> None:
        self.rec = record
        self.head = bytearray()
        self.state = "warc-head"
        self.block_left = 0
        self.block_hash = hashlib.sha256()
        self.payload_hash: hashlib._Hash | None = None
        self.entity_hash: hashlib._Hash | None = None
        self.chunked: ChunkedDecoder | None = None
        self.http_head = bytearray()
        self.block_digest: str | None = None
        self.is_http = False

    def feed(self, data: bytes | memoryview) -> None:
        if self.state == "warc-head":
            if self.head:
                self.head += data
                data = bytes(self.head)
                self.head.clear()
            end = data.find(b"\r\n\r\n", 0, _MAX_WARC_HEAD)
            if end < 0:
                if len(data) > _MAX_WARC_HEAD:
                    self._fail("WARC header block too long or missing")
                else:
                    self.head += data
                return
            self._parse_warc_head(data[:end])
            if self.state == "failed":
                return
            self.state = "block"
            data = memoryview(data)[end + 4:]
        if self.state == "block" and data:
            take = memoryview(data)[: self.block_left] if len(data) > self.block_left else data
            self.block_left -= len(take)
            self.block_hash.update(take)
            self._payload(take)
            if self.block_left == 0:
                self.state = "tail"

    def _fail(self, message: str) -> None:
        self.rec.problems.append(message)
        self.state = "failed"

    def _parse_warc_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"WARC/"):
            self._fail(f"not a WARC record (starts {lines[0][:20]!r})")
            return
        fields: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields.setdefault(name.strip().decode("utf-8", "replace").lower(), value.strip().decode("utf-8", "replace"))
        rec = self.rec
        rec.record_id, rec.type = fields.get("warc-record-id"), fields.get("warc-type")
        rec.target_uri, rec.payload_digest = fields.get("warc-target-uri"), fields.get("warc-payload-digest")
        self.block_digest = fields.get("warc-block-digest")
        try:
            self.block_left = int(fields.get("content-length", ""))
        except ValueError:
            self._fail("missing or invalid Content-Length")
            return
        self.is_http = (fields.get("content-type") or "").startswith("application/http") and rec.type in (
            "response", "request", "revisit")
        if rec.type == "revisit":
            self.is_http = False
        elif not self.is_http and rec.payload_digest:
            self.payload_hash = hashlib.sha256()

    def _payload(self, data: bytes | memoryview) -> None:
        if not self.is_http:
            if self.payload_hash is not None:
                self.payload_hash.update(data)
            return
        if self.payload_hash is None:
            # the HTTP head is looked for in the first 64 KiB first: most heads are small
            if self.http_head:
                self.http_head += data
                data = bytes(self.http_head)
                self.http_head = bytearray()
            end = find_head_end(bytes(data[:_HEAD_WINDOW]))
            if end < 0 and len(data) > _HEAD_WINDOW:
                data = bytes(data)
                end = find_head_end(data)
            if end < 0:
                self.http_head += data
                if len(self.http_head) > _MAX_HTTP_HEAD:
                    self.is_http = False
                return
            head_bytes = bytes(data[:end])
            data = memoryview(data)[end:]
            self.payload_hash = hashlib.sha256()
            self.entity_hash = self.payload_hash
            if self.rec.type == "response":
                try:
                    if parse_head(head_bytes).is_chunked:
                        self.chunked = ChunkedDecoder()
                        self.entity_hash = hashlib.sha256()
                except ProtocolError:
                    pass
        self.payload_hash.update(data)
        if self.chunked is not None and not self.chunked.done:
            try:
                self.entity_hash.update(self.chunked.feed(bytes(data)))  # type: ignore[union-attr]
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


FEED = 64 * 1024     # compressed bytes handed to zlib at a time: what is left over at a member's end is small


def scan_warc(path: Path, check_records: bool = True) -> ScanResult:
    """Hash ``path`` and, with ``check_records``, check every record in it."""
    result = ScanResult(path)
    file_hash = hashlib.sha256()
    decomp: Any | None = None
    parser: _RecordParser | None = None
    member_start = 0
    consumed = 0
    try:
        with open(path, "rb", buffering=0) as fh:
            while block := fh.read(READ_BLOCK):
                file_hash.update(block)
                result.size += len(block)
                if not check_records:
                    continue
                view = memoryview(block)
                pos = 0
                while pos < len(view):
                    if decomp is None:
                        decomp = codec.decompressobj(31)
                        member_start = consumed
                        parser = _RecordParser(ScannedRecord(offset=member_start))
                    piece = view[pos:pos + FEED]
                    out = decomp.decompress(piece, READ_BLOCK)
                    while decomp.unconsumed_tail:
                        parser.feed(out)  # type: ignore[union-attr]
                        out = decomp.decompress(decomp.unconsumed_tail, READ_BLOCK)
                    parser.feed(out)  # type: ignore[union-attr]
                    used = len(piece) - len(decomp.unused_data) if decomp.eof else len(piece)
                    consumed += used
                    pos += used
                    if decomp.eof:
                        parser.rec.length = consumed - member_start  # type: ignore[union-attr]
                        parser.finish()  # type: ignore[union-attr]
                        result.records.append(parser.rec)  # type: ignore[union-attr]
                        decomp, parser = None, None
    except codec.error as exc:
        result.error = f"gzip data corrupt in the member starting at offset {member_start}: {exc}"
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror}"
    if decomp is not None and result.error is None:
        result.error = f"file ends inside the record starting at offset {member_start} (truncated)"
    result.sha256 = file_hash.hexdigest()
    if result.error and check_records:
        result.sha256 = _hash_only(path)
    return result


def _hash_only(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb", buffering=0) as fh:
            while block := fh.read(READ_BLOCK):
                h.update(block)
    except OSError:
        return ""
    return h.hexdigest()
