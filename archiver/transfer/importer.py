"""Importing captures made by other tools (wget --warc-file, pywb, browsertrix, ArchiveWeb.page) as
one new sealed capture. The public entry point is :func:`import_archive`; the checks of steps 2 and 3
are in ``warc_check``, which reads every WARC with archiver's one WARC reader.

Order, so that a bad input never touches the workspace:

1. unpack (a WACZ: refuse escaping paths, check ``datapackage-digest.json`` and every resource's
   hash and size, extract its ``archive/*.warc.gz``) into a temporary folder outside the workspace;
2. check every WARC fully, in one pass (``warc.framing``): the gzip framing, every record's syntax,
   every block and payload digest of any common algorithm (sha1, sha256, sha512, md5 ...; the payload
   by archiver's rule, docs/warc.md) and every header value within its bounds;
3. a WARC that is uncompressed, or gzipped as a whole, is re-framed as one gzip member per record.
   Only the gzip framing changes, never a record's bytes: the members hold exactly the input's bytes
   from one record's first byte to the next one's, so decompressing the stored file gives back the
   input byte for byte. A WARC already gzipped per record is stored as it came;
4. the citation metadata of every 2xx HTML page and PDF document, and the main text of every HTML page, are computed, the text stored as
   ``conversion`` records in ``archive/<capture-id>-derived.warc.gz``;
5. only then: copy the WARC files in (``.open`` name, fsync, rename), seal the manifest, index it.

A file whose sha256 is already recorded as ``imported_from.sha256`` by a capture of the workspace is
not imported again: :class:`AlreadyImported` names that capture, and nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..core.errors import ArchiverError, ManifestError, UsageError
from ..core.interrupts import temporary_folder
from ..core.models import (
    ArchivedResource,
    CaptureResult,
    Manifest,
    Original,
    Role,
    TextRecord,
    WarcFile,
)
from ..core.moments import parse_moment
from ..core.settings import Settings
from ..core.workspace import OPEN_SUFFIX, Workspace, fsync_dir, new_capture_id
from ..fixity.debris import running_capture
from ..fixity.manifest import build_manifest, read_manifest
from ..fixity.seal import seal, signing_key
from ..index.store import index_sealed
from ..page.main_text import main_text
from ..page.metadata import extract_metadata
from ..page.pdf_metadata import pdf_metadata
from ..warc.arc import ArcError, ArcFacts, convert_arc, is_arc_start, opening_of
from ..warc.reader import file_digest
from ..warc.writer import CONFORMS_TO, WarcFileWriter, write_conversion
from .wacz_unpack import ImportRefused, Unpacked, unpack_wacz
from .warc_check import Checked, Entry, check_warc, is_html

Clock = Callable[[], datetime]
_ROLES_NOTE = ("imported: via and depth are not known from the input; roles are inferred (seeds from "
               "pages.jsonl, else the first 2xx HTML page; other HTML pages source, the rest requisite)")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlreadyImported(ArchiverError):
    """The same file (same sha256) was imported before: nothing was written. Not a failure (exit 0)."""

    exit_code = 0

    def __init__(self, source: Path, capture_id: str) -> None:
        super().__init__(f"{source.name}: already imported as capture {capture_id}; nothing written")
        self.path = str(source)
        self.capture_id = capture_id


def imported_as(workspace: Workspace, sha256: str) -> str | None:
    """The capture whose manifest records an import of a file with this sha256, or None. Only the
    manifests holding the digest's text are parsed."""
    needle = sha256.encode("ascii")
    for path in workspace.manifest_paths():
        try:
            raw = path.read_bytes()
            if needle not in raw:
                continue
            manifest = read_manifest(path, raw)
        except (OSError, ManifestError):
            continue                  # verify reports an unreadable manifest; it records no import here
        if (manifest.imported_from or {}).get("sha256") == sha256:
            return manifest.capture_id
    return None


# -- the entry point -----------------------------------------------------------------------------

def import_archive(workspace: Workspace, source: Path, settings: Settings | None = None, *,
                   lenient: bool = False, clock: Clock = _utcnow) -> CaptureResult:
    """Import ``source`` (``.warc``, ``.warc.gz``, ``.wacz``, ``.arc`` or ``.arc.gz``) into ``workspace``
    as one new capture.

    Every input is checked fully first; ImportRefused (a UsageError) names the first bad record or
    file, and the workspace is then left exactly as it was. With ``lenient``, a damaged WARC is
    imported as it came, every defect recorded in the manifest (``imported_from.files[].defects``),
    never repaired. A file imported before (same sha256) is AlreadyImported, with nothing written.
    """
    settings = settings or Settings()
    from .package_import import AlreadyHere, import_package, is_archiver_package
    if is_archiver_package(source):         # archiver's own package: imported losslessly, ids and seals kept
        try:
            return import_package(workspace, source, settings, clock=clock).result
        except AlreadyHere as here:
            raise AlreadyImported(source, here.capture_id) from None
    kind = _kind_of(source)
    source_sha256, source_bytes = file_digest(source)
    earlier = imported_as(workspace, source_sha256)
    if earlier is not None:
        raise AlreadyImported(source, earlier)
    signing_key(workspace, settings.witness_file)    # a broken or replaced key stops it before any work
    level = settings.capture.compress_level
    with temporary_folder("archiver-import-") as tmp:
        unpacked = _unpack(source, kind, tmp, level)
        checked = [check_warc(path, label, tmp / f"{n:05d}.warc.gz", level, lenient=lenient)
                   for n, (label, path) in enumerate(unpacked.warcs)]
        started = clock()
        capture_id = new_capture_id(started)
        seeds = unpacked.seeds or _first_page(checked)
        texts, derived = _describe(checked, tmp, capture_id, started, level)
        workspace.ensure()
        placed: list[Path] = []              # every name given in archive/, listed before it is given
        try:
            with running_capture(workspace, capture_id):      # 'archiver clean' leaves these files alone
                files = _install_all(workspace, capture_id, checked, derived, placed)
                manifest, result = _manifest(settings, capture_id, started, clock(), seeds, checked, files, texts,
                                             _provenance(source, source_sha256, source_bytes, kind, checked,
                                                         files, unpacked), unpacked.notes)
                sealed = seal(workspace, manifest, witness_file=settings.witness_file,
                              authorities=settings.timestamp_authorities, roots=settings.timestamp_roots)
        except BaseException:
            # only what was never sealed is removed: once the manifest exists, the files are the capture's
            if not workspace.manifest_path(capture_id).exists():
                for path in placed:
                    path.unlink(missing_ok=True)
            raise
    index_sealed(workspace, sealed.document or manifest)
    return replace(result, manifest_path=workspace.relative(sealed.manifest), warnings=sealed.warnings)


def _kind_of(source: Path) -> str:
    name = source.name.lower()
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    for suffix, kind in ((".warc.gz", "warc.gz"), (".warc", "warc"), (".wacz", "wacz"), (".arc.gz", "arc.gz"),
                         (".arc", "arc")):
        if name.endswith(suffix):
            return kind
    raise UsageError(f"{source}: not a .warc, .warc.gz, .wacz, .arc or .arc.gz file")


def _unpack(source: Path, kind: str, tmp: Path, level: int) -> Unpacked:
    """The WARC files to check: a WACZ's, an ARC file's conversion (whatever its name says), or the file."""
    if kind == "wacz":
        return unpack_wacz(source, tmp)
    if kind.startswith("arc") or is_arc_start(opening_of(source)):
        out = tmp / "arc-converted.warc.gz"
        try:
            facts, _ = convert_arc(source, out, name=source.name, level=level, tmp=tmp)
        except ArcError as exc:
            raise ImportRefused(f"{exc} (a damaged ARC file is refused, even with --lenient: its records are "
                                "converted, not stored as they came)", path=source.name, offset=exc.offset) from None
        except OSError as exc:
            raise ImportRefused(f"cannot be read ({exc.strerror or exc})", path=source.name) from None
        return Unpacked([(source.name, out)], conversion=_arc_conversion(facts),
                        format="arc.gz" if facts.gzipped else "arc",
                        notes=[f"converted from ARC (version {facts.version}): each ARC record's content is the "
                               "block of one WARC record, byte for byte; the ARC header record and every record's "
                               "header line are kept in the last record of the WARC file (metadata)"])
    return Unpacked([(source.name, source)])


def _arc_conversion(facts: ArcFacts) -> dict[str, object]:
    return {"from": f"ARC version {facts.version}", "origin": facts.origin, "records": facts.records,
            "responses": facts.responses, "resources": facts.resources, "by": f"archiver/{__version__}",
            "rule": "each ARC record's content is the block of one WARC record (response when it is an HTTP "
                    "response of an http(s) URL, else resource), byte for byte; the header line's URL, address and "
                    "date are its WARC-Target-URI, WARC-IP-Address and WARC-Date; the ARC header record and every "
                    "header line are kept, byte for byte, in a last metadata record"}


# -- describing pages ----------------------------------------------------------------------------

def _first_page(checked: list[Checked]) -> list[str]:
    for c in checked:
        for e in c.entries:
            if e.type == "response" and e.url and e.status and 200 <= e.status < 300 and is_html(e.content_type):
                return [e.url]
    return []


@dataclass(slots=True)
class _Described:
    metadata: dict[str, dict[str, Any]]
    text: TextRecord | None


def _describe(checked: list[Checked], tmp: Path, capture_id: str, started: datetime,
              level: int) -> tuple[dict[str, _Described], Path | None]:
    """Citation metadata of every 2xx HTML or PDF response and the main text of every HTML one (by
    record id); the texts go into a small WARC file of conversion records."""
    out: dict[str, _Described] = {}
    path = tmp / f"{capture_id}-derived.warc.gz"
    writer: WarcFileWriter | None = None
    for entry in (e for c in checked for e in c.entries if e.pdf):
        data, entry.pdf = entry.pdf or b"", None
        out[entry.record_id] = _Described(pdf_metadata(data, whole=entry.pdf_whole).as_manifest(), None)
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

def _install_all(workspace: Workspace, capture_id: str, checked: list[Checked], derived: Path | None,
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
    with open(tmp, "xb") as fout:
        sha256, size = file_digest(src, also=fout.write)      # hashed as it is copied
        fout.flush()
        os.fsync(fout.fileno())
    if expected is not None and sha256 != expected:
        raise ImportRefused("the file changed while it was being imported", path=str(src))
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return WarcFile(workspace.relative(dest), size, sha256)


def _role(entry: Entry, seeds: set[str]) -> Role:
    if entry.url in seeds:
        return Role.SEED
    if urlsplit(entry.url or "").path == "/robots.txt":
        return Role.ROBOTS
    return Role.SOURCE if is_html(entry.content_type) else Role.REQUISITE


def _resources(checked: list[Checked], files: list[WarcFile], capture_id: str, seeds: list[str],
               texts: dict[str, _Described]) -> tuple[list[ArchivedResource], list[str]]:
    seed_set = set(seeds)
    requests = {e.record_id: e for c in checked for e in c.entries if e.type == "request"}
    asked_by = {link: e.record_id for e in requests.values() for link in e.links}
    out: list[ArchivedResource] = []
    originals: dict[str, ArchivedResource] = {}
    unresolved = 0
    for c, f in zip(checked, files):
        for e in c.entries:
            # a revisit with no HTTP head (server-not-modified, after a 304) takes its original's status
            headless = e.type == "revisit" and e.status is None
            if e.type not in ("response", "revisit") or not e.url or (e.status is None and not headless):
                continue
            if headless:
                stored = originals.get(e.refers_to or "") or _same_payload(originals, e)
                if stored is None:
                    unresolved += 1
                    continue
                e = replace(e, status=stored.status, content_type=stored.content_type)
            if not e.url or e.status is None:
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


def _same_payload(originals: dict[str, ArchivedResource], e: Entry) -> ArchivedResource | None:
    for res in originals.values():
        if res.url == e.url and e.payload_digest and res.warc_payload_digest == e.payload_digest:
            return res
    return None


_IMPORTED_NOTE = ("imported: the capture settings of the input are not known, so settings is empty; operator is "
                  "who imported it; what the input says of itself is in imported_from")


def _manifest(settings: Settings, capture_id: str, started: datetime, ended: datetime, seeds: list[str],
              checked: list[Checked], files: list[WarcFile], texts: dict[str, _Described],
              provenance: dict[str, Any], input_notes: list[str]) -> tuple[Manifest, CaptureResult]:
    resources, notes = _resources(checked, files, capture_id, seeds, texts)
    derived = files[len(checked)].path if len(files) > len(checked) else None
    if derived:                 # the conversion records live in the derived file
        resources = [replace(r, text=replace(r.text, warc=derived)) if r.text else r for r in resources]
    by_url = {r.url: r for r in resources}
    problems = [f"{s}: not in the imported file" if s not in by_url else f"{s}: HTTP {by_url[s].status}"
                for s in seeds if s not in by_url or by_url[s].status >= 400]
    result = CaptureResult(capture_id=capture_id, manifest_path="", seeds=tuple(seeds), warc_files=tuple(files),
                           resources=tuple(resources), failures=(), skipped=(), flags=(),
                           seed_problems=tuple(problems))
    manifest = build_manifest(result, started=started, ended=ended, options=settings.capture,
                              operator=settings.operator, redacted=[])
    defects = sum(len(c.defects) for c in checked)
    if defects:
        notes.append(f"imported with --lenient: {defects} defect(s) of the input are listed in "
                     "imported_from.files[].defects; the files are stored as they came (never repaired) and the "
                     "records the defects touch are not listed as resources")
    manifest = replace(manifest, settings={}, imported_from=provenance,
                       notes=(*input_notes, *notes, _ROLES_NOTE, _IMPORTED_NOTE))
    return manifest, result


def _provenance(source: Path, sha256: str, size: int, kind: str, checked: list[Checked], files: list[WarcFile],
                unpacked: Unpacked) -> dict[str, Any]:
    """What is known of the input, and only that: its name, sha256, size and format, the tool that wrote
    it when the input says so, how it was converted or checked."""
    out: dict[str, Any] = {"file": source.name, "sha256": sha256, "bytes": size, "format": unpacked.format or kind}
    software = unpacked.software if unpacked.conversion else (
        unpacked.software or next((c.software for c in checked if c.software), None))
    if software:
        out["software"] = software
    if unpacked.conversion:
        out["conversion"] = unpacked.conversion
    if unpacked.unhashed:
        out["unhashed"] = list(unpacked.unhashed)
    converted = {"converted": True} if unpacked.conversion else {}     # then its name is the ARC file's
    out["files"] = [{"name": c.label, "sha256": sha256 if converted else c.source_sha256, "stored": f.path,
                     "stored_sha256": c.sha256, "reframed": c.reframed, **converted,
                     **({"defects": [d.as_manifest() for d in c.defects]} if c.defects else {})}
                    for c, f in zip(checked, files)]
    return out


__all__ = ["AlreadyImported", "ImportRefused", "import_archive", "imported_as"]
