"""Checking an input WARC before anything is imported: every record read by archiver's one WARC
reader (``warc.framing``, with import's ``Keep``: every header, digests of every algorithm), every
header value within bounds. A WARC not gzipped per record is re-framed, one gzip member per record,
its bytes unchanged, and the re-framed file read back as verify will read it (``scan_warc``).

With ``lenient``, a damaged file is not refused: each defect (a record that is not read, a digest
that does not match, a value out of bounds, a truncated or corrupt end) is kept as a ``Defect``,
the records it touches are not listed, and the file is stored as it came (gzipped per record), or
re-framed with every byte kept. Nothing is repaired. A file whose gzip stream is damaged and that is
not gzipped per record cannot be stored as it came: it is refused even then."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core import bounds
from ..core.errors import UsageError
from ..core.moments import iso, parse_moment
from ..net.content_coding import decode_for_parsing
from ..net.fetch import PARSE_PREFIX_BYTES
from ..net.surt import surt
from ..page.links import decode
from ..warc.framing import FramedRead, read_framed, reframe
from ..warc.reader import scan_warc
from ..warc.records import HttpHead, Keep, Kept, ScannedRecord
from .wacz_unpack import ImportRefused

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SOFTWARE_BYTES = 64 * 1024          # of a warcinfo block, read for its software field


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
    pdf: bytes | None = None             # the first bytes of a 2xx PDF response's body, for describing
    pdf_whole: bool = False              # ``pdf`` holds the whole body
    language: str | None = None
    offset: int = 0                      # of its gzip member in the stored file
    length: int = 0


@dataclass(frozen=True, slots=True)
class Defect:
    """What is wrong with an input imported with ``lenient``: where (the record's offset in the input,
    its id, when known) and why."""

    offset: int | None
    record_id: str | None
    reason: str

    def as_manifest(self) -> dict[str, object]:
        return {k: v for k, v in (("offset", self.offset), ("record_id", self.record_id), ("reason", self.reason))
                if v is not None}


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
    defects: list[Defect] = field(default_factory=list)


# -- one input WARC -----------------------------------------------------------------------------

def check_warc(path: Path, label: str, reframed_path: Path, level: int, *, lenient: bool = False) -> Checked:
    """Every record read and every digest checked, in one pass; re-framed per record when needed.
    With ``lenient``, defects are kept instead of refused (see the module docstring)."""
    reading = _Reading(label, lenient)
    read = read_framed(path, Keep(prefix_of=_prefix_of), reading.on_record)
    if read.error:
        if not lenient:
            raise ImportRefused(read.error, path=label, offset=read.error_offset, record_id=read.error_record_id)
        reading.defects.append(Defect(read.error_offset, read.error_record_id, f"{read.error}: nothing after it read"))
    entries = reading.entries
    if not entries:
        raise ImportRefused("holds no WARC records" if not reading.defects else
                            f"holds no WARC record that could be read ({reading.defects[0].reason})", path=label)
    if read.per_record or (lenient and _per_record_so_far(read)):
        lengths = dict(read.members)
        for entry in entries:
            entry.offset = read.member_starts[entry.start]
            entry.length = lengths[entry.offset]
        return Checked(label, path, read.sha256, read.size, read.sha256, entries, reading.software, False,
                       reading.defects)
    if read.error and read.gzipped:
        raise ImportRefused(f"{read.error}, and it is not gzipped one member per record: it cannot be stored as it "
                            "came, even with --lenient", path=label, offset=read.error_offset)
    reframe(path, read, reframed_path, level)
    scan = scan_warc(reframed_path)           # the stored file, read as verify will read it
    member = {start: n for n, start in enumerate(read.record_starts)}
    for entry in entries:
        n = member.get(entry.start)
        rec = scan.records[n] if n is not None and n < len(scan.records) else None
        if rec is None or rec.record_id != entry.record_id or rec.problems or (scan.error and not lenient):
            raise ImportRefused("the re-framed file does not read back as the input's records", path=label)
        entry.offset, entry.length = rec.offset, rec.length
    return Checked(label, reframed_path, scan.sha256, scan.size, read.sha256, entries, reading.software, True,
                   reading.defects)


def _per_record_so_far(read: FramedRead) -> bool:
    """Gzipped one member per record up to where the reading stopped (a damaged file)."""
    starts = list(read.member_starts)
    return read.gzipped and read.record_starts == starts[:len(read.record_starts)]


def _prefix_of(rec: ScannedRecord, http: HttpHead | None) -> int:
    """What import keeps of a record's first bytes: a warcinfo's fields, a 2xx HTML page's entity."""
    if rec.type == "warcinfo":
        return _SOFTWARE_BYTES
    if rec.type == "response" and http is not None and (is_html(http.get("Content-Type"))
                                                        or is_pdf(http.get("Content-Type"))):
        status, _ = bounds.status_of(http.statusline)
        if status is not None and 200 <= status < 300:
            return PARSE_PREFIX_BYTES
    return 0


class _Reading:
    """Receives each record as the reader ends it: checked, kept as an Entry, or refused."""

    def __init__(self, label: str, lenient: bool = False) -> None:
        self.label, self.lenient = label, lenient
        self.entries: list[Entry] = []
        self.software: str | None = None
        self.defects: list[Defect] = []

    def on_record(self, rec: ScannedRecord, kept: Kept) -> None:
        try:
            self._take(rec, kept)
        except ImportRefused as refused:
            if not self.lenient:
                raise
            offset = refused.offset if refused.offset is not None else kept.offset
            self.defects.append(Defect(offset, refused.record_id or rec.record_id,
                                       f"{refused.reason}: the record is not listed"))

    def _take(self, rec: ScannedRecord, kept: Kept) -> None:
        label, at = self.label, kept.offset
        if kept.unreadable and not kept.headers:        # headers read: their bounds are checked first
            if not self.entries and kept.opening.startswith(b"filedesc:"):
                raise ImportRefused("is ARC, not WARC; convert it first (warcio recompress)", path=label)
            last = self.entries[-1] if self.entries else None
            where = f"after record {last.record_id}" if last else "at its start"
            raise ImportRefused(f"not readable as WARC {where}: {kept.unreadable}", path=label, offset=at)
        entry = _entry_of(rec, kept, label)
        if entry.type == "warcinfo" and self.software is None:
            software = _warcinfo_software(kept.prefix)
            if software and (problem := bounds.text_problem("its software", software, bounds.MAX_HEADER_VALUE)):
                raise ImportRefused(problem, path=label, record_id=entry.record_id)
            self.software = software
        if rec.problems:
            raise ImportRefused("; ".join(rec.problems) if self.lenient else rec.problems[0], path=label, offset=at,
                                record_id=entry.record_id)
        self.entries.append(entry)


def _first(kept: Kept, name: str) -> str | None:
    """The first value of WARC header ``name`` (lower case)."""
    return next((value for key, value in kept.headers if key.lower() == name), None)


def _entry_of(rec: ScannedRecord, kept: Kept, label: str) -> Entry:
    record_id = rec.record_id or ""
    if not record_id:
        raise ImportRefused("a record has no WARC-Record-ID", path=label)
    if problem := bounds.record_id_problem("WARC-Record-ID", record_id):
        raise ImportRefused(problem, path=label)
    _check_headers(kept, label, record_id)
    raw_date = rec.date or ""
    try:
        moment = parse_moment(raw_date[: bounds.MAX_DATE + 1])
        date = iso(moment)
    except (UsageError, ValueError, OverflowError):
        raise ImportRefused(f"WARC-Date {bounds.shown(raw_date)} is not a date", path=label,
                            record_id=record_id) from None
    if problem := bounds.date_problem("WARC-Date", moment):
        raise ImportRefused(problem, path=label, record_id=record_id)
    url = rec.target_uri
    entry = Entry(start=kept.start, record_id=record_id, type=rec.type or "", date=date,
                  url=url.strip("<>") if url else None, ip=_first(kept, "warc-ip-address"),
                  payload_digest=rec.payload_digest, refers_to=rec.refers_to,
                  links=tuple(v for k, v in kept.headers if k.lower() == "warc-concurrent-to"))
    if entry.type == "response":
        entry.truncated = _first(kept, "warc-truncated")
    if entry.type in ("response", "revisit"):
        if kept.http_too_long:
            raise ImportRefused("its HTTP header block does not end within 1 MiB", path=label, record_id=record_id)
        if kept.http is not None:
            _read_http(rec, kept, kept.http, entry, label)
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


def _check_headers(kept: Kept, label: str, record_id: str) -> None:
    """Every WARC header archiver keeps (or that steers the reading) within its bounds."""
    for name, value in kept.headers:
        check = _HEADER_CHECKS.get(name.lower())
        problem = check(value) if check is not None else None
        if problem:
            raise ImportRefused(problem, path=label, record_id=record_id)


def _read_http(rec: ScannedRecord, kept: Kept, http: HttpHead, entry: Entry, label: str) -> None:
    """Status and headers; for a response, the entity as the reader counted it (chunked framing
    removed) and, for a 2xx HTML page, its first bytes decoded for describing."""
    status, problem = bounds.status_of(http.statusline)
    problem = problem or _url_problem(entry.url)
    if problem is None:
        for name, limit in (("Content-Type", bounds.MAX_HEADER_VALUE), ("Content-Language", bounds.MAX_HEADER_VALUE),
                            ("Location", bounds.MAX_URL)):
            value = http.get(name)
            if value is not None and (problem := bounds.text_problem(name, value, limit)):
                break
    if problem is None and rec.status != status:      # verify reads the status by the strict rule
        problem = f"HTTP status line {bounds.shown(http.statusline)} is not 'HTTP/1.x <3 digits> ...'"
    if problem:
        raise ImportRefused(problem, path=label, record_id=entry.record_id)
    assert status is not None       # status_of gives a problem whenever it gives no status
    entry.status = status
    entry.content_type = http.get("Content-Type")
    entry.language = http.get("Content-Language")
    if 300 <= status < 400:
        entry.location = http.get("Location")
    if entry.type != "response":
        return
    entry.entity_bytes, entry.entity_sha256 = kept.entity_bytes, rec.entity_sha256
    if kept.prefix and is_pdf(entry.content_type):
        body = decode_for_parsing(bytes(kept.prefix), http.get("Content-Encoding"))
        entry.pdf = body or None
        entry.pdf_whole = bool(body) and http.get("Content-Encoding") is None and entry.entity_bytes <= len(kept.prefix)
    elif kept.prefix:
        body = decode_for_parsing(bytes(kept.prefix), http.get("Content-Encoding"))
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


def is_pdf(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/pdf"


def _warcinfo_software(fields: bytearray) -> str | None:
    for line in fields.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "software" and value.strip():
            return value.strip()
    return None
