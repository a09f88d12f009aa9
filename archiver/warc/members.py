"""Gzip members, one after the other: ``GzipMembers`` decodes the compressed bytes fed to it and
hands each member's decoded bytes to a ``MemberSink``, which says who receives them.

Verify's sink (``RecordPerMember``) gives every member a record parser of its own, as archiver writes
one record per member. Import's sink (``framing``) sends every member into one stream of records,
whatever the members hold. Re-framing's sink cuts the decoded stream into new members.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from ..core import deflate as codec
from .records import RecordParser, ScannedRecord

READ_BLOCK = 4 * 2**20
FEED = 64 * 1024             # compressed bytes handed to zlib at a time: what is left over at a member's end is small


class Feeder(Protocol):
    def feed(self, data: bytes) -> object: ...


F = TypeVar("F", bound=Feeder)


class MemberSink(Protocol[F]):
    """Who receives the decoded bytes: ``begin`` at a member's start (its offset in the compressed
    file) returns what its bytes are fed to; ``end`` is told its compressed length."""

    def begin(self, offset: int) -> F: ...

    def end(self, feeder: F, length: int) -> None: ...


class RecordPerMember:
    """Verify's sink: each member holds one record, checked by a parser of its own."""

    __slots__ = ("records",)

    def __init__(self, records: list[ScannedRecord]) -> None:
        self.records = records

    def begin(self, offset: int) -> RecordParser:
        return RecordParser(ScannedRecord(offset=offset))

    def end(self, feeder: RecordParser, length: int) -> None:
        feeder.rec.length = length
        feeder.finish()
        self.records.append(feeder.rec)


class GzipMembers(Generic[F]):
    """Decodes consecutive gzip members from the compressed bytes fed to it, starting at a member
    start (``start``, an offset in the file); see the module docstring."""

    __slots__ = ("sink", "until", "consumed", "member_start", "decomp", "feeder")

    def __init__(self, start: int, sink: MemberSink[F], until: int | None = None) -> None:
        self.sink = sink
        self.until = until            # stop at the first member end at or after this offset
        self.consumed = start         # file offset of the next byte to decode
        self.member_start = start
        self.decomp: Any = None       # the open member's decoder; None between members
        self.feeder: F | None = None

    def feed(self, block: bytes) -> bool:
        """Decode ``block``; False once a member ended at or after ``until`` (the rest is not decoded).
        Corrupt data raises ``codec.error``."""
        view = memoryview(block)
        pos, size = 0, len(view)
        decomp, feeder = self.decomp, self.feeder
        try:
            while pos < size:
                if decomp is None:
                    if self.until is not None and self.consumed >= self.until:
                        return False
                    decomp = codec.decompressobj(31)
                    self.member_start = self.consumed
                    feeder = self.sink.begin(self.consumed)
                assert feeder is not None     # a feeder is open whenever a member's decoder is
                piece = view[pos:pos + FEED]
                out = decomp.decompress(piece, READ_BLOCK)
                while decomp.unconsumed_tail and not decomp.eof:   # at its end, a member leaves the rest as unused_data
                    feeder.feed(out)
                    out = decomp.decompress(decomp.unconsumed_tail, READ_BLOCK)
                feeder.feed(out)
                used = len(piece) - len(decomp.unused_data) if decomp.eof else len(piece)
                self.consumed += used
                pos += used
                if decomp.eof:
                    self.sink.end(feeder, self.consumed - self.member_start)
                    decomp, feeder = None, None
        finally:
            self.decomp, self.feeder = decomp, feeder
        return True

    @property
    def open(self) -> bool:
        """Whether a member is still open (at the end of a file: it is truncated)."""
        return self.decomp is not None

    def error(self, exc: Exception | None = None) -> str | None:
        """What went wrong: the decoder's error, or a member still open at the end of the file."""
        if exc is not None:
            return f"gzip data corrupt in the member starting at offset {self.member_start}: {exc}"
        if self.decomp is not None:
            return f"file ends inside the record starting at offset {self.member_start} (truncated)"
        return None
