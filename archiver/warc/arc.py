"""ARC files (the Internet Archive's format before WARC: version 1, and version 2 as Heritrix wrote it),
read by a small parser of our own and converted to WARC 1.1, one gzip member per record.

An ARC file is a ``filedesc://`` record (the file's own header: its version and origin) and then
records, each one header line (``URL IP-address Archive-date Content-type Archive-length``; version
2 adds five fields before the length) and ``Archive-length`` bytes of content, then a newline.
Plain, gzipped per record (as the Internet Archive stores them) or gzipped whole.

The conversion, in order (``convert_arc``):

- a ``warcinfo`` record saying what was converted (file name, sha256, ARC version, origin);
- for each ARC record, one WARC record whose block is the record's content, byte for byte: a
  ``response`` (``application/http; msgtype=response``) when the content is an HTTP response of an
  http(s) URL, else a ``resource`` of the record's content type (``dns:`` lookups, for example).
  ``WARC-Target-URI``, ``WARC-IP-Address`` and ``WARC-Date`` are the header line's URL, address and
  date (an address of ``0.0.0.0``, ``0`` or ``-`` means none was recorded);
- a last ``metadata`` record holding the ARC file's header record and every record's header line,
  byte for byte, in order, so that nothing the ARC file said is lost.

Record ids are derived from the ARC file's sha256 and the record's place, so the same ARC file
always converts to the same WARC. Every header value is bounded; a record whose header line or
length cannot be read stops the conversion with :class:`ArcError` naming the offset.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .. import __version__
from ..core import bounds
from ..core import deflate as codec
from ..net.wire import find_head_end
from .members import GzipMembers
from .reader import file_digest
from .writer import CONFORMS_TO, warcinfo_fields, write_record

MAX_LINE = bounds.MAX_URL + 1024           # bytes of one header line
MAX_FILEDESC = 1 * 2**20                   # bytes of the file's own header record
_SPOOL = 8 * 2**20                         # content bytes kept in memory before spooling to disk
_HTTP_HEAD = 1 * 2**20                     # bytes of content searched for the end of an HTTP head
_FIELDS = {"1": 5, "2": 10}                # header line fields by ARC version
_DATE = re.compile(r"[0-9]{14}")
_NAMESPACE = uuid.UUID("5b0f6f7e-6a0d-4c55-9a3e-2f1e4c0a7b21")   # archiver's, for ARC record ids
NO_ADDRESS = frozenset({"0.0.0.0", "0", "-", ""})


class ArcError(ValueError):
    """An ARC file that cannot be read: names the offset (of the record's gzip member when gzipped)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(slots=True)
class ArcFacts:
    """What a conversion found, for the manifest."""

    version: str = ""                       # "1" or "2", from the file's header record
    origin: str = ""                        # the origin code of the header record ("Alexa Internet")
    records: int = 0                        # ARC records converted, the header record not counted
    gzipped: bool = False
    responses: int = 0
    resources: int = 0


@dataclass(frozen=True, slots=True)
class ArcHeader:
    """One header line, read and bounded."""

    url: str
    address: str | None
    date: datetime
    mime: str
    length: int
    line: bytes                             # as written, newline included


def is_arc_start(opening: bytes) -> bool:
    """Whether a file's first decoded bytes are an ARC file's header record."""
    return opening.lstrip(b"\r\n").startswith(b"filedesc://")


def parse_header(line: bytes, fields: int) -> ArcHeader:
    """A header line (without its newline) of ``fields`` fields; ValueError naming what is wrong."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("its header line is not UTF-8") from None
    parts = text.rstrip("\r").rsplit(" ", fields - 1)     # the URL may hold spaces, the other fields never
    if len(parts) != fields or not parts[0]:
        raise ValueError(f"its header line has not the {fields} fields of this ARC version: {bounds.shown(text)}")
    url, address, stamp, mime, length = parts[0], parts[1], parts[2], parts[3], parts[-1]
    problem = (bounds.url_problem("its URL", url) or bounds.text_problem("its content type", mime, 256)
               or bounds.content_length_problem(length))
    if problem is None and address not in NO_ADDRESS:
        problem = bounds.ip_problem(address)
    if problem is None and not _DATE.fullmatch(stamp):
        problem = f"its date {bounds.shown(stamp)} is not 14 digits (YYYYMMDDhhmmss)"
    if problem:
        raise ValueError(problem)
    try:
        date = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"its date {stamp} is not a date") from None
    if problem := bounds.date_problem("its date", date):
        raise ValueError(problem)
    return ArcHeader(url, None if address in NO_ADDRESS else address, date, mime, int(length), line + b"\n")


class _Spool:
    """One record's content as it arrives: in memory, then on disk past 8 MiB; its sha256 kept."""

    def __init__(self, tmp: Path) -> None:
        self.fh: IO[bytes] = tempfile.SpooledTemporaryFile(_SPOOL, dir=str(tmp))
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self.fh.write(data)
        self.sha.update(data)
        self.size += len(data)

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        self.fh.seek(start)
        while chunk := self.fh.read(1 << 20):
            yield chunk

    def close(self) -> None:
        self.fh.close()


@dataclass(slots=True)
class _Writer:
    """The WARC records of one conversion, written as they are made."""

    out: IO[bytes]
    source_sha256: str
    level: int
    warcinfo_id: str = ""
    made: int = 0
    lines: list[bytes] = field(default_factory=list)

    def record_id(self, what: str) -> str:
        return f"<urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.source_sha256}/{what}')}>"

    def warcinfo(self, name: str, date: datetime, facts: ArcFacts) -> None:
        self.warcinfo_id = self.record_id("warcinfo")
        block = warcinfo_fields({
            "software": f"archiver/{__version__}", "format": "WARC File Format 1.1", "conformsTo": CONFORMS_TO,
            "description": f"converted from the ARC file {name}: each ARC record's content is the block of one "
                           "WARC record, byte for byte; the ARC file's header record and every record's header "
                           "line are kept, byte for byte, in the last record (metadata)",
            "arc-file": name, "arc-sha256": self.source_sha256, "arc-version": facts.version,
            "arc-origin": facts.origin})
        self._write("warcinfo", self.warcinfo_id, date, None, "application/warc-fields", [block], len(block),
                    hashlib.sha256(block).hexdigest(), None)

    def record(self, header: ArcHeader, spool: _Spool, facts: ArcFacts) -> None:
        self.made += 1
        payload = _http_payload_sha256(spool) if header.url.lower().startswith(("http://", "https://")) else None
        kind = "response" if payload is not None else "resource"
        content_type = ("application/http; msgtype=response" if payload is not None
                        else header.mime if header.mime not in ("-", "no-type", "") else "application/octet-stream")
        if kind == "response":
            facts.responses += 1
        else:
            facts.resources += 1
        self._write(kind, self.record_id(f"record/{self.made}"), header.date, header, content_type, spool.chunks(),
                    spool.size, spool.sha.hexdigest(), payload or spool.sha.hexdigest())

    def headers_record(self, filedesc: ArcHeader, block: _Spool) -> None:
        self._write("metadata", self.record_id("arc-headers"), filedesc.date, filedesc, "text/plain",
                    block.chunks(), block.size, block.sha.hexdigest(), None)

    def _write(self, kind: str, record_id: str, date: datetime, header: ArcHeader | None, content_type: str,
               block: Iterator[bytes] | list[bytes], length: int, block_sha: str, payload_sha: str | None) -> None:
        headers = [("WARC-Type", kind), ("WARC-Record-ID", record_id),
                   ("WARC-Date", date.strftime("%Y-%m-%dT%H:%M:%SZ"))]
        if header is not None:
            headers.append(("WARC-Target-URI", header.url))
            if header.address and kind != "metadata":
                headers.append(("WARC-IP-Address", header.address))
        if self.warcinfo_id and kind != "warcinfo":
            headers.append(("WARC-Warcinfo-ID", self.warcinfo_id))
        headers.append(("Content-Type", content_type))
        headers.append(("WARC-Block-Digest", f"sha256:{block_sha}"))
        if payload_sha is not None:
            headers.append(("WARC-Payload-Digest", f"sha256:{payload_sha}"))
        write_record(self.out, headers, block, length, self.level)


def _http_payload_sha256(spool: _Spool) -> str | None:
    """The sha256 of what follows the HTTP head, when the content is an HTTP response; else None."""
    spool.fh.seek(0)
    start = spool.fh.read(_HTTP_HEAD)
    if not re.match(rb"HTTP/\d(\.\d)? +\d{3}( |\r?\n|$)", start[:64]):
        return None
    end = find_head_end(start)
    if end < 0:
        return None
    h = hashlib.sha256()
    for chunk in spool.chunks(end):
        h.update(chunk)
    return h.hexdigest()


class _ArcStream:
    """Decoded ARC bytes in, WARC records out: a header line, its content, separating newlines."""

    def __init__(self, writer: _Writer, name: str, tmp: Path, facts: ArcFacts) -> None:
        self.writer, self.name, self.tmp, self.facts = writer, name, tmp, facts
        self.pos = 0                       # decoded offset
        self.member = 0                    # file offset of the gzip member being decoded (gzipped files)
        self.where = 0                     # file offset of the record being read, for messages
        self.line = bytearray()
        self.header: ArcHeader | None = None
        self.left = 0
        self.spool: _Spool | None = None
        self.filedesc: ArcHeader | None = None
        self.headers = _Spool(tmp)         # the ARC header record and every header line, for the last record

    def begin(self, offset: int) -> _ArcStream:    # a gzip member starts: the sink of GzipMembers
        self.member = offset
        return self

    def end(self, feeder: _ArcStream, length: int) -> None:
        pass

    def _at(self) -> int:
        return self.member if self.facts.gzipped else self.pos

    def feed(self, data: bytes | memoryview) -> None:
        view, at = memoryview(data), 0
        while at < len(view):
            if self.header is None:
                at = self._line(view, at)
            else:
                take = min(self.left, len(view) - at)
                assert self.spool is not None
                self.spool.write(view[at:at + take])
                self.left -= take
                at += take
                if self.left == 0:
                    self._content_done()
        self.pos += len(view)

    def _line(self, view: memoryview, at: int) -> int:
        if not self.line:
            while at < len(view) and view[at] in b"\r\n":     # newlines between records
                at += 1
            if at == len(view):
                return at
            self.where = self.member if self.facts.gzipped else self.pos + at
        stop = bytes(view[at:at + MAX_LINE + 1 - len(self.line)]).find(b"\n")
        if stop < 0:
            self.line += view[at:at + MAX_LINE + 1 - len(self.line)]
            if len(self.line) > MAX_LINE:
                raise ArcError(f"a header line longer than {MAX_LINE} bytes", self.where)
            return len(view)
        self.line += view[at:at + stop]
        self._header(bytes(self.line))
        self.line.clear()
        return at + stop + 1

    def _header(self, line: bytes) -> None:
        first = self.filedesc is None
        if first and not line.startswith(b"filedesc://"):
            raise ArcError("not an ARC file: it does not start with a filedesc:// record", self.where)
        try:
            header = parse_header(line, 5 if first else _FIELDS[self.facts.version])
        except ValueError as exc:
            raise ArcError(f"the record's {exc}" if not first else f"the ARC file's header record: {exc}",
                           self.where) from None
        if first and header.length > MAX_FILEDESC:
            raise ArcError(f"the ARC file's header record is {header.length} bytes (at most {MAX_FILEDESC})",
                           self.where)
        self.header, self.left = header, header.length
        self.spool = _Spool(self.tmp)
        self.headers.write(header.line)
        if self.left == 0:
            self._content_done()

    def _content_done(self) -> None:
        header, spool = self.header, self.spool
        assert header is not None and spool is not None
        self.header, self.spool = None, None
        try:
            if self.filedesc is None:
                self._filedesc(header, spool)
            else:
                self.facts.records += 1
                self.writer.record(header, spool, self.facts)
        finally:
            spool.close()

    def _filedesc(self, header: ArcHeader, spool: _Spool) -> None:
        """The header record: its first line is ``version reserved origin``."""
        self.filedesc = header
        block = b"".join(spool.chunks())
        self.headers.write(block)
        first = block.split(b"\n", 1)[0].decode("utf-8", "replace").split(" ", 2)
        version = first[0] if first else ""
        if version not in _FIELDS:
            raise ArcError(f"ARC version {bounds.shown(version)} is neither 1 nor 2", self.where)
        origin = first[2].strip() if len(first) > 2 else ""
        if problem := bounds.text_problem("the ARC file's origin", origin, 256):
            raise ArcError(problem, self.where)
        self.facts.version, self.facts.origin = version, origin
        self.writer.warcinfo(self.name, header.date, self.facts)

    def close(self) -> None:
        if self.header is not None:
            raise ArcError(f"the file ends inside a record ({self.left} of its {self.header.length} bytes missing)",
                           self.where)
        if self.line.strip():
            raise ArcError("the file ends inside a header line", self.where)
        if self.filedesc is None:
            raise ArcError("not an ARC file: no filedesc:// record", 0)
        self.writer.headers_record(self.filedesc, self.headers)
        self.headers.close()


def convert_arc(source: Path, out: Path, *, name: str, level: int, tmp: Path) -> tuple[ArcFacts, str]:
    """Write ``out``, the WARC conversion of the ARC file ``source`` (see the module docstring); return
    what was found and the source's sha256. ArcError names the first record that cannot be read."""
    sha256 = file_digest(source)[0]
    facts = ArcFacts()
    with open(source, "rb") as fh:
        facts.gzipped = fh.read(2) == b"\x1f\x8b"
    with open(out, "wb") as fh:
        stream = _ArcStream(_Writer(fh, sha256, level), name, tmp, facts)
        if facts.gzipped:
            members = GzipMembers(0, stream)
            try:
                file_digest(source, also=members.feed)
            except codec.error as exc:
                raise ArcError(f"gzip data corrupt ({exc})", members.member_start) from None
            if members.open:
                raise ArcError("the file ends inside a gzip member (truncated)", members.member_start)
        else:
            file_digest(source, also=stream.feed)
        stream.close()
    return facts, sha256


def opening_of(source: Path) -> bytes:
    """The first decoded bytes of a file, gzipped or not (for telling ARC from WARC)."""
    with open(source, "rb") as fh:
        start = fh.read(64 * 1024)
    if start[:2] == b"\x1f\x8b":
        try:
            return codec.decompressobj(31).decompress(start, 4096)
        except codec.error:
            return b""
    return start[:4096]


__all__ = ["ArcError", "ArcFacts", "convert_arc", "is_arc_start", "opening_of", "parse_header"]
