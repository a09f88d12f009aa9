"""Checking an input WARC before anything is imported: every record parsed by warcio and by
archiver's reader, every digest and every header value within bounds. A WARC not gzipped per record
is re-framed, one gzip member per record, its bytes unchanged."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core import bounds
from ..core import deflate as codec
from ..core.errors import UsageError
from ..core.moments import iso, parse_moment
from ..net.content_coding import decode_for_parsing
from ..net.fetch import PARSE_PREFIX_BYTES
from ..net.surt import surt
from ..net.wire import ChunkedDecoder, ProtocolError
from ..page.links import decode
from ..warc.reader import file_digest, scan_warc
from .wacz_unpack import ImportRefused

Clock = Callable[[], datetime]
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_COPY_BLOCK = 1 << 20
_ROLES_NOTE = ("imported: via and depth are not known from the input; roles are inferred (seeds from "
               "pages.jsonl, else the first 2xx HTML page; other HTML pages source, the rest requisite)")


# -- what a checked input holds ------------------------------------------------------------------

@dataclass(slots=True)
class Entry:
    """One record of a checked input WARC, with what the manifest needs of it."""

    start: int                           # of the record in the decompressed WARC data
    record_id: str
    type: str
    url: str | None
    date: str
    ip: str | None
    payload_digest: str | None           # the WARC-Payload-Digest header, as written
    links: tuple[str, ...] = ()          # WARC-Concurrent-To ids
    refers_to: str | None = None
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    truncated: str | None = None         # WARC-Truncated of a response
    entity_bytes: int = 0
    entity_sha256: str | None = None
    html: str | None = None              # decoded body of a 2xx HTML response, for describing
    language: str | None = None
    offset: int = 0                      # of its gzip member in the stored file
    length: int = 0


@dataclass(slots=True)
class Checked:
    """An input WARC that passed every check, framed one gzip member per record."""

    label: str                           # its name in the input, for messages and provenance
    path: Path                           # the per-record gzip file to store
    sha256: str                          # of the stored file
    size: int
    source_sha256: str                   # of the input file as given
    entries: list[Entry]
    software: str | None
    reframed: bool


# -- WACZ ----------------------------------------------------------------------------------------

def check_warc(path: Path, label: str, reframed_path: Path, level: int) -> Checked:
    """Every record parsed and every digest checked; re-framed per record when needed."""
    members: dict[int, int] | None = None
    data = path
    if _is_gzip(path):
        data = reframed_path.with_suffix(".raw")
        members = _gunzip(path, data, label)
    entries, software = _read_records(data, label, members)
    per_record = members is not None and list(members) == [e.start for e in entries]
    stored = path if per_record else _reframe(data, entries, reframed_path, level)
    scan = scan_warc(stored)
    if scan.error:
        raise ImportRefused(scan.error, path=label)
    if len(scan.records) != len(entries):
        raise ImportRefused(f"{len(scan.records)} gzip members for {len(entries)} records", path=label)
    for rec, entry in zip(scan.records, entries):
        at = rec.offset if per_record else entry.start if members is None else members.get(entry.start)
        if rec.record_id != entry.record_id:
            raise ImportRefused("the records do not read the same with two readers", path=label,
                                offset=at, record_id=entry.record_id)
        if rec.problems:
            raise ImportRefused(rec.problems[0], path=label, offset=at, record_id=rec.record_id)
        entry.offset, entry.length, entry.entity_sha256 = rec.offset, rec.length, rec.entity_sha256
    if data != path:
        data.unlink()
    source_sha256 = scan.sha256 if per_record else file_digest(path)[0]
    return Checked(label, stored, scan.sha256, scan.size, source_sha256, entries, software, not per_record)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _gunzip(path: Path, out: Path, label: str) -> dict[int, int]:
    """Decompress every gzip member of ``path`` into ``out``; return, for each member, where its data
    starts in ``out`` -> its offset in ``path``. A corrupt or truncated member is refused, naming the
    record it holds."""
    starts: dict[int, int] = {}
    written = 0
    consumed = 0
    decomp: Any = None
    member_offset = last_start = 0
    with open(path, "rb") as src, open(out, "wb") as dst:
        try:
            while block := src.read(_COPY_BLOCK):
                view = memoryview(block)
                while view:
                    if decomp is None:
                        decomp, member_offset = codec.decompressobj(31), consumed
                        starts[written] = consumed
                        last_start = written
                    data = decomp.decompress(view)
                    written += dst.write(data)
                    used = len(view) - len(decomp.unused_data) if decomp.eof else len(view)
                    consumed += used
                    view = view[used:]
                    if decomp.eof:
                        decomp = None
        except codec.error as exc:
            dst.flush()
            raise ImportRefused(f"gzip data corrupt ({exc})", path=label, offset=member_offset,
                                record_id=_record_id_at(out, last_start)) from None
    if decomp is not None:
        raise ImportRefused("the file ends inside this record's gzip member (truncated)", path=label,
                            offset=member_offset, record_id=_record_id_at(out, last_start))
    return starts


def _record_id_at(path: Path, start: int) -> str | None:
    with open(path, "rb") as fh:
        fh.seek(start)
        head = fh.read(64 * 1024).split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[:-1]:      # the last line may be cut short
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"warc-record-id":
            return value.strip().decode("utf-8", "replace")
    return None


def _read_records(data: Path, label: str, members: dict[int, int] | None) -> tuple[list[Entry], str | None]:
    """Parse every record of the decompressed WARC ``data`` with warcio, digests checked. Offsets in
    messages are of the input file: a gzip member's, else (whole-file gzip) of the decompressed data."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed
    from warcio.statusandheaders import StatusAndHeadersParserException

    entries: list[Entry] = []
    software = None
    # warcio writes its own warnings to stderr; archiver says what is wrong in one line (err_count below)
    with open(data, "rb") as fh, contextlib.redirect_stderr(io.StringIO()):
        records = ArchiveIterator(fh, check_digests=True)
        try:
            for record in records:
                entry = _entry_of(record, label)
                if entry.type == "warcinfo" and software is None:
                    software = _warcinfo_software(record)
                    if software and (problem := bounds.text_problem("its software", software,
                                                                    bounds.MAX_HEADER_VALUE)):
                        raise ImportRefused(problem, path=label, record_id=entry.record_id)
                records.read_to_end()
                entry.start = records.get_record_offset()
                at = entry.start if members is None else members.get(entry.start)
                problems = record.digest_checker.problems if record.digest_checker else []
                if problems:
                    raise ImportRefused(problems[0], path=label, offset=at, record_id=entry.record_id)
                if records.err_count:
                    raise ImportRefused("the record is not followed by its blank lines: is its Content-Length "
                                        "wrong?", path=label, offset=at, record_id=entry.record_id)
                entries.append(entry)
        # warcio meets malformed input with its own errors, and some of Python's (a response record with
        # no WARC-Target-URI: AttributeError): any of them means the file cannot be read as WARC
        except (ArchiveLoadFailed, StatusAndHeadersParserException, ValueError, EOFError, AttributeError,
                TypeError, LookupError, OverflowError) as exc:
            last = entries[-1] if entries else None
            where = f"after record {last.record_id}" if last else "at its start"
            raise ImportRefused(f"not readable as WARC {where}: {' '.join(str(exc).split())}", path=label) from None
    if not entries:
        raise ImportRefused("holds no WARC records", path=label)
    return entries, software


def _entry_of(record: Any, label: str) -> Entry:
    if record.format != "warc":
        raise ImportRefused(f"is {record.format.upper()}, not WARC; convert it first (warcio recompress)", path=label)
    h = record.rec_headers
    record_id = h.get_header("WARC-Record-ID") or ""
    if not record_id:
        raise ImportRefused("a record has no WARC-Record-ID", path=label)
    if problem := bounds.record_id_problem("WARC-Record-ID", record_id):
        raise ImportRefused(problem, path=label)
    _check_headers(h, label, record_id)
    raw_date = h.get_header("WARC-Date") or ""
    try:
        moment = parse_moment(raw_date[: bounds.MAX_DATE + 1])
        date = iso(moment)
    except (UsageError, ValueError, OverflowError):
        raise ImportRefused(f"WARC-Date {bounds.shown(raw_date)} is not a date", path=label,
                            record_id=record_id) from None
    if problem := bounds.date_problem("WARC-Date", moment):
        raise ImportRefused(problem, path=label, record_id=record_id)
    url = h.get_header("WARC-Target-URI")
    entry = Entry(start=0, record_id=record_id, type=record.rec_type or "", date=date,
                   url=url.strip("<>") if url else None, ip=h.get_header("WARC-IP-Address"),
                   payload_digest=h.get_header("WARC-Payload-Digest"), refers_to=h.get_header("WARC-Refers-To"),
                   links=tuple(v for k, v in h.headers if k.lower() == "warc-concurrent-to"))
    if entry.type == "response":
        entry.truncated = h.get_header("WARC-Truncated")
    if entry.type in ("response", "revisit") and record.http_headers is not None:
        _read_http(record, entry, label)
    return entry


# a record's WARC header -> the check of its value (the record id is checked first, on its own)
_HEADER_CHECKS: dict[str, Callable[[str], str | None]] = {
    "content-length": bounds.content_length_problem,
    "warc-target-uri": lambda v: bounds.url_problem("WARC-Target-URI", v),
    "warc-ip-address": bounds.ip_problem,
    "warc-payload-digest": lambda v: bounds.digest_problem("WARC-Payload-Digest", v),
    "warc-block-digest": lambda v: bounds.digest_problem("WARC-Block-Digest", v),
    "warc-truncated": bounds.truncated_problem,
    "warc-refers-to": lambda v: bounds.record_id_problem("WARC-Refers-To", v),
    "warc-concurrent-to": lambda v: bounds.record_id_problem("WARC-Concurrent-To", v),
    "warc-type": lambda v: bounds.text_problem("WARC-Type", v, 64),
}


def _check_headers(h: Any, label: str, record_id: str) -> None:
    """Every WARC header archiver keeps (or that steers the reading) within its bounds."""
    for name, value in h.headers:
        check = _HEADER_CHECKS.get(name.strip().lower())
        problem = check(value) if check is not None else None
        if problem:
            raise ImportRefused(problem, path=label, record_id=record_id)


def _read_http(record: Any, entry: Entry, label: str) -> None:
    """Status and headers; for a response, the entity counted with chunked framing removed and,
    for a 2xx HTML page, decoded for describing."""
    http = record.http_headers
    status, problem = bounds.status_of(http.statusline)
    problem = problem or _url_problem(entry.url)
    if problem is None:
        for name, limit in (("Content-Type", bounds.MAX_HEADER_VALUE), ("Content-Language", bounds.MAX_HEADER_VALUE),
                            ("Location", bounds.MAX_URL)):
            value = http.get_header(name)
            if value is not None and (problem := bounds.text_problem(name, value, limit)):
                break
    if problem:
        raise ImportRefused(problem, path=label, record_id=entry.record_id)
    assert status is not None       # status_of gives a problem whenever it gives no status
    entry.status = status
    entry.content_type = http.get_header("Content-Type")
    entry.language = http.get_header("Content-Language")
    if 300 <= status < 400:
        entry.location = http.get_header("Location")
    if entry.type != "response":
        return
    chunked = ChunkedDecoder() if "chunked" in (http.get_header("Transfer-Encoding") or "").lower() else None
    keep = 200 <= status < 300 and is_html(entry.content_type)
    prefix = bytearray()
    while block := record.raw_stream.read(_COPY_BLOCK):
        if chunked is not None and not chunked.done:
            try:
                block = chunked.feed(block)
            except ProtocolError:
                chunked = None
        entry.entity_bytes += len(block)
        if keep and len(prefix) < PARSE_PREFIX_BYTES:
            prefix += block[: PARSE_PREFIX_BYTES - len(prefix)]
    if keep and prefix:
        body = decode_for_parsing(bytes(prefix), http.get_header("Content-Encoding"))
        entry.html = decode(body, entry.content_type) if body else None


def _url_problem(url: str | None) -> str | None:
    """The target of an HTTP response becomes a resource: it must be an http(s) URL the index can key."""
    if not url:
        return "an HTTP response or revisit has no WARC-Target-URI"
    try:
        surt(url)
    except (UsageError, ValueError):
        return f"WARC-Target-URI {bounds.shown(url)} is not an http(s) URL with a valid host and port"
    return None


def is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in _HTML_TYPES


def _warcinfo_software(record: Any) -> str | None:
    for line in record.raw_stream.read(64 * 1024).decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "software" and value.strip():
            return value.strip()
    return None


def _reframe(data: Path, entries: list[Entry], out: Path, level: int) -> Path:
    """One gzip member per record, each holding the input's bytes from its record's start to the next's."""
    bounds = [e.start for e in entries[1:]] + [data.stat().st_size]
    with open(data, "rb") as src, open(out, "wb") as dst:
        src.seek(entries[0].start)
        pos = entries[0].start
        for end in bounds:
            comp = codec.compressobj(level, codec.DEFLATED, 31)
            while pos < end:
                chunk = src.read(min(_COPY_BLOCK, end - pos))
                if not chunk:
                    break
                pos += len(chunk)
                dst.write(comp.compress(chunk))
            dst.write(comp.flush())
    return out
