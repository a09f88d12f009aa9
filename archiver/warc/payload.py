"""One archived HTTP response read back: its status line, its headers as archived, and its payload.

A record is found by its gzip member's offset and length, as the manifest and the index give them.
``read_head`` returns the record's WARC fields and its HTTP head; ``open_payload`` also streams the
payload in blocks, chunked transfer framing removed and content coding kept, so that the bytes hash
to the manifest's ``payload_sha256``. A revisit record holds only an HTTP head: its payload is read
from the original record the caller names (the head stays the revisit's, as pywb serves it). A
revisit with an empty block (the server-not-modified record written after a 304) has no head: the
original's head is served, as pywb does.

Memory stays bounded whatever the record: the gzip member is inflated a block at a time, the WARC
head may take at most 1 MiB and the HTTP head ``wire.MAX_HEAD_BYTES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..core import deflate as codec
from ..net.wire import MAX_HEAD_BYTES, ChunkedDecoder, ProtocolError, ResponseHead, find_head_end, parse_head

READ = 64 * 1024               # compressed bytes read at a time
OUT = 256 * 1024               # decompressed bytes produced at a time, at most
MAX_WARC_HEAD = 1 * 2**20
_HTTP_TYPES = ("response", "revisit")


class PayloadError(ValueError):
    """The bytes at a record's offset are not a gzip-framed WARC response (or revisit) record."""

    def __init__(self, message: str, *, path: Path, offset: int) -> None:
        super().__init__(f"{path.name} at offset {offset}: {message}")
        self.path, self.offset = path, offset


@dataclass(frozen=True, slots=True)
class RecordAt:
    """Where a record's gzip member is: its file, offset and compressed length (None: to the member's end)."""

    path: Path
    offset: int
    length: int | None = None


@dataclass(frozen=True, slots=True)
class RecordHead:
    """The WARC fields of the record that were asked for."""

    type: str                      # response | revisit
    record_id: str | None
    target_uri: str | None
    date: str | None               # WARC-Date, as written
    truncated: str | None          # WARC-Truncated: the payload was cut at capture
    block_length: int              # the record's Content-Length


@dataclass(slots=True)
class ArchivedPayload:
    """An archived response: heads read, payload streamed by iterating ``blocks``. Close it (or use
    ``with``) when not read to the end."""

    record: RecordHead
    http: ResponseHead              # the status line and headers as archived (order and case kept)
    chunked: bool                   # the stored payload has chunked framing (removed in ``blocks``)
    stored_length: int              # bytes stored after the HTTP head, framing included
    blocks: Iterator[bytes]
    _files: list[IO[bytes]] = field(default_factory=list, repr=False)

    @property
    def length(self) -> int | None:
        """The payload's length when it is known before reading it (not chunked)."""
        return None if self.chunked else self.stored_length

    def close(self) -> None:
        close = getattr(self.blocks, "close", None)
        if close is not None:
            close()
        for fh in self._files:
            fh.close()

    def __enter__(self) -> ArchivedPayload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Member:
    """The decoded bytes of one gzip member, pulled on demand into ``buf``."""

    def __init__(self, fh: IO[bytes], at: RecordAt) -> None:
        self.at = at
        self.buf = bytearray()
        self.pieces = self._inflate(fh)

    def fail(self, message: str) -> PayloadError:
        return PayloadError(message, path=self.at.path, offset=self.at.offset)

    def _inflate(self, fh: IO[bytes]) -> Iterator[bytes]:
        decomp = codec.decompressobj(31)
        left = self.at.length
        while not decomp.eof:
            raw = fh.read(READ if left is None else min(READ, left))
            if not raw:
                raise self.fail("the record's gzip member ends early (truncated file or wrong length)")
            if left is not None:
                left -= len(raw)
            data = raw
            while True:
                try:
                    out = decomp.decompress(data, OUT)
                except codec.error as exc:
                    raise self.fail(f"gzip data corrupt: {exc}") from None
                if out:
                    yield out
                data = decomp.unconsumed_tail
                if decomp.eof or (not data and len(out) < OUT):
                    break

    def fill(self) -> bool:
        """Append the next decoded piece to ``buf``; False at the member's end."""
        piece = next(self.pieces, None)
        if piece is None:
            return False
        self.buf += piece
        return True

    def warc_head(self) -> bytes | None:
        """The WARC head (up to its blank line), taken out of ``buf``; None if the member ends first."""
        start = 0
        while True:
            end = self.buf.find(b"\r\n\r\n", max(0, start - 3))
            if 0 <= end <= MAX_WARC_HEAD:
                taken = bytes(self.buf[:end + 4])
                del self.buf[:end + 4]
                return taken
            if len(self.buf) > MAX_WARC_HEAD:
                raise self.fail(f"WARC head longer than {MAX_WARC_HEAD} bytes")
            start = len(self.buf)
            if not self.fill():
                return None

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer if the member ends first), taken out of ``buf``."""
        while len(self.buf) < size and self.fill():
            pass
        taken = bytes(self.buf[:size])
        del self.buf[:size]
        return taken


def _warc_head(member: _Member) -> RecordHead:
    raw = member.warc_head()
    if raw is None or not raw.startswith(b"WARC/"):
        raise member.fail("not a WARC record")
    fields: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip().lower(), value.strip())
    try:
        block_length = int(fields.get("content-length", ""))
    except ValueError:
        raise member.fail("no valid Content-Length") from None
    kind = fields.get("warc-type", "")
    empty_revisit = kind == "revisit" and block_length == 0     # server-not-modified: no block, no Content-Type
    if kind not in _HTTP_TYPES or not (empty_revisit or fields.get("content-type", "").startswith("application/http")):
        raise member.fail(f"a {kind or 'untyped'} record, not an HTTP response or revisit")
    if block_length < 0:
        raise member.fail("negative Content-Length")
    return RecordHead(kind, fields.get("warc-record-id"), fields.get("warc-target-uri"), fields.get("warc-date"),
                      fields.get("warc-truncated"), block_length)


def _http_head(member: _Member, block_length: int) -> ResponseHead:
    """The HTTP head at the start of the block: up to its blank line, or the whole block when it
    has none (a revisit record written without one)."""
    limit = min(MAX_HEAD_BYTES, block_length)
    while True:
        end = find_head_end(bytes(member.buf[:limit]))
        if end >= 0:
            raw = member.take(end)
            break
        if len(member.buf) >= limit or not member.fill():
            if block_length > MAX_HEAD_BYTES:
                raise member.fail(f"no HTTP head within its first {MAX_HEAD_BYTES} bytes")
            raw = member.take(block_length)
            break
    try:
        return parse_head(raw)
    except ProtocolError as exc:
        raise member.fail(f"no HTTP response head: {exc}") from None


def _open(at: RecordAt) -> tuple[IO[bytes], _Member, RecordHead, ResponseHead | None]:
    fh = open(at.path, "rb")
    try:
        fh.seek(at.offset)
        member = _Member(fh, at)
        record = _warc_head(member)
        empty_revisit = record.type == "revisit" and record.block_length == 0
        http = None if empty_revisit else _http_head(member, record.block_length)
    except BaseException:
        fh.close()
        raise
    return fh, member, record, http


def read_head(at: RecordAt) -> tuple[RecordHead, ResponseHead]:
    """The WARC fields and the HTTP head of a response or revisit record. OSError when the file
    cannot be read, PayloadError when the bytes there are not such a record."""
    fh, member, record, http = _open(at)
    fh.close()
    if http is None:
        raise member.fail("a revisit record with an empty block holds no HTTP head: read its original's")
    return record, http


def open_payload(at: RecordAt, original: RecordAt | None = None, as_sent: bool = False) -> ArchivedPayload:
    """The response at ``at`` with its payload ready to stream. For a revisit record, ``original``
    names the response that holds the payload; its own head decides the chunked framing. ``as_sent``:
    the body as the server sent it, chunked framing kept (what follows the head in the record)."""
    fh, member, record, http = _open(at)
    files = [fh]
    source_member, source_record, source_http = member, record, http
    try:
        if record.type == "revisit":
            if original is None:
                raise member.fail("a revisit record holds no payload: name its original")
            fh.close()
            ofh, source_member, source_record, source_http = _open(original)
            files = [ofh]
            if source_record.type != "response" or source_http is None:
                raise source_member.fail("the original of a revisit is not a response record")
            if http is None:
                http = source_http
        if http is None or source_http is None:
            raise member.fail("a record without an HTTP head")
    except BaseException:
        for f in files:
            f.close()
        raise
    stored = max(0, source_record.block_length - len(source_http.raw))
    chunked = source_http.is_chunked
    blocks = _body(source_member, stored, chunked and not as_sent)
    return ArchivedPayload(record, http, chunked, stored, blocks, files)


def _body(member: _Member, stored: int, chunked: bool) -> Iterator[bytes]:
    """The ``stored`` payload bytes after the HTTP head, de-chunked when ``chunked``."""
    decoder = ChunkedDecoder() if chunked else None
    left = stored
    while left > 0:
        if not member.buf and not member.fill():
            raise member.fail(f"the record ends {left} bytes before its Content-Length")
        piece = bytes(member.buf[:left])
        member.buf.clear()
        left -= len(piece)
        if decoder is None:
            yield piece
            continue
        try:
            out = decoder.feed(piece)
        except ProtocolError as exc:
            raise member.fail(f"chunked framing broken: {exc}") from None
        if out:
            yield out
        if decoder.done:
            break
