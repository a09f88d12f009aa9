"""Importing captures made by other tools (wget --warc-file, pywb, browsertrix, ArchiveWeb.page) as
one new sealed capture. The public entry point is :func:`import_archive`; this module is warcio's home.

Order, so that a bad input never touches the workspace:

1. unpack (a WACZ: refuse escaping paths, check ``datapackage-digest.json`` and every resource's
   hash and size, extract its ``archive/*.warc.gz``) into a temporary folder outside the workspace;
2. check every WARC fully: the gzip framing, every record's syntax (warcio) and every block and
   payload digest of any algorithm (warcio) and by archiver's own rule (``scan_warc``);
3. a WARC that is uncompressed, or gzipped as a whole, is re-framed as one gzip member per record.
   Only the gzip framing changes, never a record's bytes: the members hold exactly the input's bytes
   from one record's first byte to the next one's, so decompressing the stored file gives back the
   input byte for byte. A WARC already gzipped per record is stored as it came;
4. the main text and citation metadata of every 2xx HTML page are computed, the text stored as
   ``conversion`` records in ``archive/<capture-id>-derived.warc.gz``;
5. only then: copy the WARC files in (``.open`` name, fsync, rename), seal the manifest, index it.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from . import __version__, codec
from . import importbounds as bounds
from .content import decode_for_parsing
from .errors import UsageError
from .fetch import PARSE_PREFIX_BYTES
from .httpwire import ChunkedDecoder, ProtocolError
from .index import index_sealed
from .links import decode
from .maintext import main_text
from .manifest import build_manifest
from .metadata import extract_metadata
from .models import (
    ArchivedResource,
    CaptureResult,
    Original,
    Role,
    TextRecord,
    WarcFile,
)
from .seal import seal, signing_key
from .settings import Settings
from .surt import surt
from .timeparse import iso, parse_moment
from .waczunpack import ImportRefused, Unpacked, unpack_wacz
from .warc import CONFORMS_TO, WarcFileWriter, write_conversion
from .warcscan import scan_warc
from .workspace import OPEN_SUFFIX, Workspace, fsync_dir, new_capture_id

Clock = Callable[[], datetime]
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_COPY_BLOCK = 1 << 20
_ROLES_NOTE = ("imported: via and depth are not known from the input; roles are inferred (seeds from "
               "pages.jsonl, else the first 2xx HTML page; other HTML pages source, the rest requisite)")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- what a checked input holds ------------------------------------------------------------------

@dataclass(slots=True)
class _Entry:
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
class _Checked:
    """An input WARC that passed every check, framed one gzip member per record."""

    label: str                           # its name in the input, for messages and provenance
    path: Path                           # the per-record gzip file to store
    sha256: str                          # of the stored file
    size: int
    source_sha256: str                   # of the input file as given
    entries: list[_Entry]
    software: str | None
    reframed: bool


# -- the entry point -----------------------------------------------------------------------------

def import_archive(workspace: Workspace, source: Path, settings: Settings | None = None, *,
                   clock: Clock = _utcnow) -> CaptureResult:
    """Import ``source`` (``.warc``, ``.warc.gz`` or ``.wacz``) into ``workspace`` as one new capture.

    Every input is checked fully first; ImportRefused (a UsageError) names the first bad record or
    file, and the workspace is then left exactly as it was.
    """
    settings = settings or Settings()
    kind = _kind_of(source)
    signing_key(workspace, settings.witness_file)    # a broken or replaced key stops it before any work
    level = settings.capture.compress_level
    with tempfile.TemporaryDirectory(prefix="archiver-import-") as tmp_name:
        tmp = Path(tmp_name)
        unpacked = unpack_wacz(source, tmp) if kind == "wacz" else Unpacked([(source.name, source)])
        checked = [_check_warc(path, label, tmp / f"{n:05d}.warc.gz", level)
                   for n, (label, path) in enumerate(unpacked.warcs)]
        started = clock()
        capture_id = new_capture_id(started)
        seeds = unpacked.seeds or _first_page(checked)
        texts, derived = _describe(checked, tmp, capture_id, started, level)
        workspace.ensure()
        placed: list[Path] = []              # every name given in archive/, listed before it is given
        try:
            files = _install_all(workspace, capture_id, checked, derived, placed)
            manifest, result = _manifest(settings, source, kind, capture_id, started, clock(), seeds, checked,
                                         files, texts, unpacked)
            sealed = seal(workspace, manifest, witness_file=settings.witness_file)
        except BaseException:
            # only what was never sealed is removed: once the manifest exists, the files are the capture's
            if not workspace.manifest_path(capture_id).exists():
                for path in placed:
                    path.unlink(missing_ok=True)
            raise
    index_sealed(workspace, manifest)
    return replace(result, manifest_path=workspace.relative(sealed.manifest))


def _kind_of(source: Path) -> str:
    name = source.name.lower()
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    for suffix, kind in ((".warc.gz", "warc.gz"), (".warc", "warc"), (".wacz", "wacz")):
        if name.endswith(suffix):
            return kind
    raise UsageError(f"{source}: not a .warc, .warc.gz or .wacz file")


# -- WACZ ----------------------------------------------------------------------------------------

def _check_warc(path: Path, label: str, reframed_path: Path, level: int) -> _Checked:
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
    source_sha256 = scan.sha256 if per_record else _sha256_of(path)
    return _Checked(label, stored, scan.sha256, scan.size, source_sha256, entries, software, not per_record)


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


def _read_records(data: Path, label: str, members: dict[int, int] | None) -> tuple[list[_Entry], str | None]:
    """Parse every record of the decompressed WARC ``data`` with warcio, digests checked. Offsets in
    messages are of the input file: a gzip member's, else (whole-file gzip) of the decompressed data."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed
    from warcio.statusandheaders import StatusAndHeadersParserException

    entries: list[_Entry] = []
    software = None
    with open(data, "rb") as fh:
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


def _entry_of(record: Any, label: str) -> _Entry:
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
    entry = _Entry(start=0, record_id=record_id, type=record.rec_type or "", date=date,
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


def _read_http(record: Any, entry: _Entry, label: str) -> None:
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
    entry.status = status
    entry.content_type = http.get_header("Content-Type")
    entry.language = http.get_header("Content-Language")
    if 300 <= entry.status < 400:
        entry.location = http.get_header("Location")
    if entry.type != "response":
        return
    chunked = ChunkedDecoder() if "chunked" in (http.get_header("Transfer-Encoding") or "").lower() else None
    keep = 200 <= entry.status < 300 and _is_html(entry.content_type)
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


def _is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in _HTML_TYPES


def _warcinfo_software(record: Any) -> str | None:
    for line in record.raw_stream.read(64 * 1024).decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "software" and value.strip():
            return value.strip()
    return None


def _reframe(data: Path, entries: list[_Entry], out: Path, level: int) -> Path:
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


# -- describing pages ----------------------------------------------------------------------------

def _first_page(checked: list[_Checked]) -> list[str]:
    for c in checked:
        for e in c.entries:
            if e.type == "response" and e.url and e.status and 200 <= e.status < 300 and _is_html(e.content_type):
                return [e.url]
    return []


@dataclass(slots=True)
class _Described:
    metadata: dict[str, dict[str, Any]]
    text: TextRecord | None


def _describe(checked: list[_Checked], tmp: Path, capture_id: str, started: datetime,
              level: int) -> tuple[dict[str, _Described], Path | None]:
    """Citation metadata and main text of every 2xx HTML response (by record id); the texts go
    into a small WARC file of conversion records."""
    out: dict[str, _Described] = {}
    path = tmp / f"{capture_id}-derived.warc.gz"
    writer: WarcFileWriter | None = None
    for entry in (e for c in checked for e in c.entries if e.html):
        html, entry.html = entry.html or "", None
        meta = extract_metadata(html, fallback_language=entry.language).as_manifest()
        extracted = main_text(html, entry.url)
        text = None
        if extracted is not None:
            if writer is None:
                writer = WarcFileWriter(path, _derived_info(capture_id), started, level)
            data = extracted.text.encode("utf-8")
            buf = io.BytesIO()
            record_id, length = write_conversion(buf, url=entry.url or "", date=parse_moment(entry.date),
                                                 refers_to=entry.record_id, warcinfo_id=writer.warcinfo_id,
                                                 text=data, level=level)
            offset = writer.append(buf)
            text = TextRecord(record_id, offset, length, hashlib.sha256(data).hexdigest(), len(extracted.text))
        out[entry.record_id] = _Described(meta, text)
    if writer is None:
        return out, None
    writer.finish(path.name)
    return out, path


def _derived_info(capture_id: str) -> dict[str, str]:
    return {"software": f"archiver/{__version__}", "format": "WARC File Format 1.1", "conformsTo": CONFORMS_TO,
            "isPartOf": capture_id,
            "description": "main text of imported pages, extracted by archiver at import"}


# -- into the workspace --------------------------------------------------------------------------

def _install_all(workspace: Workspace, capture_id: str, checked: list[_Checked], derived: Path | None,
                 placed: list[Path]) -> list[WarcFile]:
    files = [_install(workspace, c.path, workspace.warc_path(capture_id, n), c.sha256, placed)
             for n, c in enumerate(checked)]
    if derived is not None:
        files.append(_install(workspace, derived, workspace.archive_dir / derived.name, None, placed))
    return files


def _install(workspace: Workspace, src: Path, dest: Path, expected: str | None, placed: list[Path]) -> WarcFile:
    """Copy under a ``.open`` name, fsync, check the hash, rename. Both names go into ``placed``
    before they exist, so that whoever cleans up after an interruption knows every one."""
    tmp = dest.with_name(dest.name + OPEN_SUFFIX)
    placed += [tmp, dest]
    h, size = hashlib.sha256(), 0
    with open(src, "rb") as fin, open(tmp, "xb") as fout:
        for chunk in _chunks(fin):
            h.update(chunk)
            size += fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    if expected is not None and h.hexdigest() != expected:
        raise ImportRefused("the file changed while it was being imported", path=str(src))
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return WarcFile(workspace.relative(dest), size, h.hexdigest())


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(_COPY_BLOCK):
        yield chunk


def _role(entry: _Entry, seeds: set[str]) -> Role:
    if entry.url in seeds:
        return Role.SEED
    if urlsplit(entry.url or "").path == "/robots.txt":
        return Role.ROBOTS
    return Role.SOURCE if _is_html(entry.content_type) else Role.REQUISITE


def _resources(checked: list[_Checked], files: list[WarcFile], capture_id: str, seeds: list[str],
               texts: dict[str, _Described]) -> tuple[list[ArchivedResource], list[str]]:
    seed_set = set(seeds)
    requests = {e.record_id: e for c in checked for e in c.entries if e.type == "request"}
    asked_by = {link: e.record_id for e in requests.values() for link in e.links}
    out: list[ArchivedResource] = []
    originals: dict[str, ArchivedResource] = {}
    unresolved = 0
    for c, f in zip(checked, files):
        for e in c.entries:
            if e.type not in ("response", "revisit") or not e.url or e.status is None:
                continue
            request_id = next((i for i in e.links if i in requests), asked_by.get(e.record_id, ""))
            described = texts.get(e.record_id)
            res = ArchivedResource(
                url=e.url, role=_role(e, seed_set), via=None, depth=0 if e.url in seed_set else 1,
                status=e.status, content_type=e.content_type,
                payload_sha256=e.entity_sha256 or hashlib.sha256(b"").hexdigest(), payload_bytes=e.entity_bytes,
                warc=f.path, offset=e.offset, length=e.length, record_id=e.record_id,
                request_record_id=request_id, date=e.date, remote_address=e.ip, location=e.location,
                truncated=e.truncated,
                metadata=described.metadata if described else None, text=described.text if described else None,
                warc_payload_digest=e.payload_digest)
            if e.type == "revisit":
                original = originals.get(e.refers_to or "") or _same_payload(originals, e)
                if original is None:
                    unresolved += 1
                    res = replace(res, warc_payload_digest=None)   # never offered as an original for dedup
                else:
                    res = replace(res, payload_sha256=original.payload_sha256, payload_bytes=original.payload_bytes,
                                  revisit_of=Original(capture_id, original.record_id, original.url, original.date,
                                                      original.warc_payload_digest or "", original.warc,
                                                      original.offset))
            else:
                originals[e.record_id] = res
            out.append(res)
    notes = []
    if unresolved:
        notes.append(f"{unresolved} revisit record(s) refer to originals that are not in this import or the "
                     "workspace: kept as they are, without revisit_of; their payload is not archived here")
    return out, notes


def _same_payload(originals: dict[str, ArchivedResource], e: _Entry) -> ArchivedResource | None:
    for res in originals.values():
        if res.url == e.url and e.payload_digest and res.warc_payload_digest == e.payload_digest:
            return res
    return None


def _manifest(settings: Settings, source: Path, kind: str, capture_id: str, started: datetime,
              ended: datetime, seeds: list[str], checked: list[_Checked], files: list[WarcFile],
              texts: dict[str, _Described], unpacked: Unpacked) -> tuple[dict[str, Any], CaptureResult]:
    resources, notes = _resources(checked, files, capture_id, seeds, texts)
    by_url = {r.url: r for r in resources}
    problems = [f"{s}: not in the imported file" if s not in by_url else f"{s}: HTTP {by_url[s].status}"
                for s in seeds if s not in by_url or by_url[s].status >= 400]
    result = CaptureResult(capture_id=capture_id, manifest_path="", seeds=tuple(seeds), warc_files=tuple(files),
                           resources=tuple(resources), failures=(), skipped=(), flags=(),
                           seed_problems=tuple(problems))
    manifest = build_manifest(result, started=started, ended=ended, options=settings.capture,
                              operator=settings.operator, redacted=[])
    derived = files[len(checked)].path if len(files) > len(checked) else None
    for res in manifest["resources"]:
        if derived and res.get("text"):
            res["text"]["warc"] = derived          # the conversion record lives in the derived file
    manifest["imported_from"] = _provenance(source, kind, checked, unpacked)
    manifest["notes"] = [*unpacked.notes, *notes, _ROLES_NOTE]
    return manifest, result


def _provenance(source: Path, kind: str, checked: list[_Checked], unpacked: Unpacked) -> dict[str, Any]:
    software = unpacked.software or next((c.software for c in checked if c.software), None)
    return {"file": source.name, "sha256": _sha256_of(source), "format": kind, "software": software,
            "files": [{"name": c.label, "sha256": c.source_sha256, "stored_sha256": c.sha256,
                       "reframed": c.reframed} for c in checked]}


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in _chunks(fh):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["ImportRefused", "import_archive"]
