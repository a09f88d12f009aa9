"""A WARC of any framing, read record by record: gzipped per record (as archiver and most crawlers
write), gzipped as one whole-file member, or not compressed at all; and re-framed one gzip member
per record.

``read_framed`` reads the file once: the file's sha256, the gzip members (``members``), and the
decoded bytes as one stream of records cut by their Content-Length, each followed by CRLF CRLF
(``RecordStream``). Every record is parsed by the one record parser (``records``) with ``Keep`` on,
so that import gets every header, digests of every algorithm checked, and the first bytes of
entities, and is handed to ``on_record`` as soon as it ends. The file is gzipped per record when
each member starts exactly where a record starts.

``reframe`` writes one gzip member per record, each holding exactly the decoded bytes from one
record's first byte to the next one's: decompressing the result gives back the input byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..core import deflate as codec
from .members import GzipMembers
from .reader import file_digest
from .records import Keep, Kept, RecordParser, ScannedRecord

OnRecord = Callable[[ScannedRecord, Kept], None]
_BLANK = b"\r\n"
_ID_FIELD = b"warc-record-id"


@dataclass(slots=True)
class FramedRead:
    """What ``read_framed`` found. ``members`` are (offset, length) of each gzip member."""

    sha256: str = ""
    size: int = 0
    gzipped: bool = False
    record_starts: list[int] = field(default_factory=list)     # in the decoded stream
    members: list[tuple[int, int]] = field(default_factory=list)
    member_starts: dict[int, int] = field(default_factory=dict)  # decoded offset -> member offset
    error: str | None = None           # the framing is broken (corrupt gzip, truncated file)
    error_offset: int | None = None
    error_record_id: str | None = None

    @property
    def per_record(self) -> bool:
        """Gzipped one member per record: each member starts a record, each record starts a member."""
        return (self.gzipped and len(self.members) == len(self.record_starts)
                and list(self.member_starts) == self.record_starts)

    def offset_of(self, start: int) -> int | None:
        """Where the record starting at ``start`` of the decoded stream starts in the file, if known."""
        return self.member_starts.get(start) if self.gzipped else start


class RecordStream:
    """A decoded WARC stream cut into records: each record's head and Content-Length bytes go to a
    parser of its own, then CRLF CRLF must follow; blank lines between records are skipped."""

    __slots__ = ("keep", "on_record", "read", "base", "state", "parser", "tail")

    def __init__(self, keep: Keep, on_record: OnRecord, read: FramedRead) -> None:
        self.keep, self.on_record, self.read = keep, on_record, read
        self.base = 0                  # decoded offset of the piece being fed
        self.state = "between"         # between | record | tail | failed
        self.parser: RecordParser | None = None
        self.tail = b""

    def feed(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size and self.state != "failed":
            if self.state == "between":
                while pos < size and data[pos] in _BLANK:
                    pos += 1
                if pos == size:
                    break
                self.parser = RecordParser(ScannedRecord(offset=self.base + pos), self.keep, self.base + pos)
                self.read.record_starts.append(self.base + pos)
                self.state = "record"
            assert self.parser is not None
            if self.state == "record":
                pos = self.parser.feed(data, pos)
                if self.parser.state == "failed":
                    self._end()
                elif self.parser.state == "tail":
                    self.state, self.tail = "tail", b""
            if self.state == "tail" and pos < size:
                take = data[pos:pos + 4 - len(self.tail)]
                self.tail += take
                pos += len(take)
                if len(self.tail) == 4:
                    self._end()
        self.base += size

    def _end(self) -> None:
        """The current record is over: finished and handed on. After a record whose end is not
        where its Content-Length says, nothing can be read any more."""
        parser = self.parser
        assert parser is not None and parser.kept is not None
        parser.finish()
        bad_tail = self.state == "tail" and self.tail != b"\r\n\r\n"
        if bad_tail:    # the cause comes first: a wrong Content-Length also makes the block digest wrong
            parser.rec.problems.insert(0, "the record is not followed by its blank lines: is its Content-Length wrong?")
        self.state = "failed" if bad_tail or parser.state in ("failed", "block") else "between"
        self.parser = None
        parser.kept.offset = self.read.offset_of(parser.kept.start)
        self.on_record(parser.rec, parser.kept)

    def close(self) -> None:
        """The stream ended: a record still open is cut short."""
        if self.state in ("record", "tail"):
            self._end()

    def record_id(self) -> str | None:
        """The id of the record being read, also from a head that is not whole yet."""
        parser = self.parser
        if parser is None:
            return None
        if parser.rec.record_id or not parser.head:
            return parser.rec.record_id
        for line in parser.head.split(b"\r\n")[1:-1]:      # the last line may be cut short
            name, _, value = line.partition(b":")
            if name.strip().lower() == _ID_FIELD:
                return value.strip().decode("utf-8", "replace")
        return None


class _MemberStarts:
    """Import's member sink: every member feeds the one record stream; where each starts is noted."""

    def __init__(self, stream: RecordStream, read: FramedRead) -> None:
        self.stream, self.read = stream, read

    def begin(self, offset: int) -> RecordStream:
        self.read.member_starts.setdefault(self.stream.base, offset)
        self.read.members.append((offset, 0))
        return self.stream

    def end(self, feeder: RecordStream, length: int) -> None:
        offset, _ = self.read.members[-1]
        self.read.members[-1] = (offset, length)


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def read_framed(path: Path, keep: Keep, on_record: OnRecord) -> FramedRead:
    """Read every record of ``path`` (see the module docstring). A broken framing is reported in
    ``error``; a broken record reaches ``on_record`` with its problems, and reading stops after it.
    Whatever ``on_record`` raises stops the reading. OSError if the file cannot be read."""
    read = FramedRead(gzipped=is_gzip(path))
    stream = RecordStream(keep, on_record, read)
    if not read.gzipped:
        read.sha256, read.size = file_digest(path, also=stream.feed)
        stream.close()
        return read
    members = GzipMembers(0, _MemberStarts(stream, read))
    try:
        read.sha256, read.size = file_digest(path, also=members.feed)
    except codec.error as exc:
        read.error = f"gzip data corrupt ({exc})"
    else:
        if members.open:
            read.error = "the file ends inside this record's gzip member (truncated)"
    if read.error:
        read.error_offset, read.error_record_id = members.member_start, stream.record_id()
    else:
        stream.close()
    return read


class _Reframer:
    """Decoded bytes in, one gzip member per record out: a new member at each record start."""

    def __init__(self, out: BinaryIO, starts: list[int], level: int) -> None:
        self.out, self.level = out, level
        self.starts = starts
        self.next = 1                        # index of the record whose start is the next cut
        self.pos = 0
        self.comp = codec.compressobj(level, codec.DEFLATED, 31)

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        if self.pos < self.starts[0]:        # bytes before the first record (blank lines) are dropped
            skip = min(len(view), self.starts[0] - self.pos)
            view, self.pos = view[skip:], self.pos + skip
        while view:
            cut = self.starts[self.next] if self.next < len(self.starts) else -1   # -1: the last runs to the end
            take = len(view) if cut < 0 else min(len(view), cut - self.pos)
            self.out.write(self.comp.compress(view[:take]))
            view, self.pos = view[take:], self.pos + take
            if self.pos == cut:
                self.out.write(self.comp.flush())
                self.comp = codec.compressobj(self.level, codec.DEFLATED, 31)
                self.next += 1

    def finish(self) -> None:
        self.out.write(self.comp.flush())


class _ReframeSink:
    def __init__(self, reframer: _Reframer) -> None:
        self.reframer = reframer

    def begin(self, offset: int) -> _Reframer:
        return self.reframer

    def end(self, feeder: _Reframer, length: int) -> None:
        pass


def reframe(source: Path, read: FramedRead, out: Path, level: int) -> None:
    """Write ``out``: the records of ``source`` (as ``read_framed`` found them) one gzip member
    each, at compression ``level``; see the module docstring."""
    with open(out, "wb") as fh:
        reframer = _Reframer(fh, read.record_starts, level)
        feed = GzipMembers(0, _ReframeSink(reframer)).feed if read.gzipped else reframer.feed
        file_digest(source, also=feed)
        reframer.finish()
