"""The captures of a workspace, listed and shown: what ``archiver list`` and ``archiver show`` print
and the web UI and JSON API show, from one place.

A list comes from the index (ids, times, outcome, counts) and, for what the index does not hold
(seeds, fidelity flags, the signing key, WARC bytes), from those few top-level fields of each
manifest, cut out of its text and parsed alone: its long lists (resources, failures, skipped) are
never parsed for a list. ``show_capture`` reads
one manifest whole, with the same checks ``verify`` applies (``read_manifest``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ManifestError, NotArchivedError
from ..core.models import Failure, Manifest, PageFlag, Skipped
from ..core.workspace import CAPTURE_ID, Workspace
from ..fixity.manifest_browser import browser_pages_document
from ..fixity.manifest_servers import servers_document
from .store import Index, Memento

if TYPE_CHECKING:
    from ..warc.payload import ArchivedPayload

_HEAD_KEYS = (b"capture_id", b"seeds", b"warc_files", b"flags", b"signing_key", b"imported_from")
_PACKAGE_IMPORT = "archiver-package"          # imported_from.format of an import record (fixity.segment)
_NEXT_KEY = re.compile(rb"\n[^ \t\n#-]")     # a line that starts the next top-level field


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """One capture as a list shows it."""

    capture_id: str
    started: str | None          # None when the manifest's is not a date the index takes
    ended: str | None
    sequence: int | None         # its place in the workspace's chain
    seeds: tuple[str, ...]
    resources: int               # archived responses (revisits included)
    failures: int                # URLs that could not be archived
    flags: tuple[str, ...]       # fidelity flags, as ``flag: url``, one each
    signing_key: str | None      # the fingerprint of the key that signed it; None: unsigned
    ok: bool                     # every seed was captured
    warc_bytes: int
    schedule: str | None
    problem: str | None = None   # the manifest cannot be read: nothing above but the id is known
    imports: tuple[str, ...] = ()  # an import record of archiver packages: the captures it vouches for

    @property
    def signed(self) -> bool:
        return self.signing_key is not None

    def public(self) -> dict[str, Any]:
        """As JSON (``archiver list --json``, ``GET /api/captures``)."""
        return {"capture_id": self.capture_id, "started": self.started, "ended": self.ended,
                "sequence": self.sequence, "seeds": list(self.seeds), "resources": self.resources,
                "failures": self.failures, "flags": len(self.flags), "flag_list": list(self.flags),
                "signed": self.signed, "signing_key": self.signing_key, "ok": self.ok,
                "warc_bytes": self.warc_bytes, "schedule": self.schedule, "problem": self.problem,
                "imports": list(self.imports)}


@dataclass(frozen=True, slots=True)
class CapturePage:
    """Part of the list, newest first, and how many captures there are in all."""

    total: int
    captures: tuple[CaptureSummary, ...]


def list_captures(workspace: Workspace) -> list[CaptureSummary]:
    """Every capture, newest first (by start time, then id); unreadable manifests last, each with
    its ``problem``."""
    return list(captures_page(workspace).captures)


def captures_page(workspace: Workspace, offset: int = 0, limit: int | None = None) -> CapturePage:
    """``limit`` captures from the ``offset``-th, newest first; only their manifests are read."""
    with Index.open(workspace) as index:
        rows = index.captures()
        resources = _counts(index, "SELECT capture_id, count(*) FROM mementos GROUP BY capture_id")
        failures = _counts(index, "SELECT capture_id, count(*) FROM failures GROUP BY capture_id")
        left_out = {cid: reason for cid, item, reason in index.left_out() if item == "capture"}
    rows.sort(key=lambda r: (r.started or "", r.capture_id), reverse=True)
    ids = [r.capture_id for r in rows] + sorted(left_out, reverse=True)
    chosen = ids[offset:] if limit is None else ids[offset: offset + limit]
    by_id = {r.capture_id: r for r in rows}
    out = []
    for cid in chosen:
        row = by_id.get(cid)
        if row is None:
            out.append(_unreadable(cid, left_out[cid]))
            continue
        try:
            head = manifest_head(workspace, cid)
        except ManifestError as exc:
            out.append(_unreadable(cid, str(exc)))
            continue
        out.append(CaptureSummary(
            capture_id=cid, started=row.started, ended=row.ended, sequence=row.sequence, seeds=head.seeds,
            resources=resources.get(cid, 0), failures=failures.get(cid, 0), flags=head.flags,
            signing_key=head.signing_key, ok=row.ok, warc_bytes=head.warc_bytes, schedule=row.schedule,
            imports=head.imports))
    return CapturePage(total=len(ids), captures=tuple(out))


def _counts(index: Index, sql: str) -> dict[str, int]:
    return {cid: int(n) for cid, n in index.db.execute(sql)}


def _unreadable(capture_id: str, problem: str) -> CaptureSummary:
    return CaptureSummary(capture_id=capture_id, started=None, ended=None, sequence=None, seeds=(), resources=0,
                          failures=0, flags=(), signing_key=None, ok=False, warc_bytes=0, schedule=None,
                          problem=" ".join(problem.split())[:500])


@dataclass(frozen=True, slots=True)
class ManifestHead:
    """What a list needs of a manifest beyond the index: read without parsing its long lists."""

    seeds: tuple[str, ...]
    flags: tuple[str, ...]
    signing_key: str | None
    warc_bytes: int
    imports: tuple[str, ...] = ()     # the captures an import record of archiver packages vouches for


def manifest_head(workspace: Workspace, capture_id: str) -> ManifestHead:
    """The seeds, flags, signing key and WARC bytes of a manifest, parsing only those top-level
    fields (and ``capture_id``), never its long lists; a manifest laid out otherwise than archiver
    writes it is read whole (``read_manifest``). ManifestError when it cannot be read."""
    from ..core.yamlload import safe_load

    path = workspace.manifest_path(capture_id)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot be read: {exc.strerror or exc}", path=workspace.relative(path)) from None
    # archiver writes the long lists between ``resources:`` and ``flags:``: look for the few fields
    # before and after them only (a file laid out otherwise is searched whole)
    long_from, long_to = raw.find(b"\nresources:"), raw.rfind(b"\nflags:")
    parts = (raw[:long_from + 1], raw[long_to + 1:]) if 0 < long_from < long_to else (raw,)
    try:
        text = b"".join(_top_level(part, key) for key in _HEAD_KEYS for part in parts)
        head = _head_of(safe_load(text), capture_id)
    except Exception:  # noqa: BLE001 - not laid out as archiver writes it: the whole reader decides
        head = None
    if head is not None:
        return head
    return _head_of_manifest(read_manifest_of(workspace, capture_id))


def _top_level(raw: bytes, key: bytes) -> bytes:
    """The lines of top-level field ``key`` in a manifest as yamlemit writes it (a top-level key at the
    start of a line; its value on the following lines, indented or ``- `` list items); b"" if absent."""
    if raw.startswith(key + b":"):
        start = 0
    else:
        start = raw.find(b"\n" + key + b":") + 1
        if start == 0:
            return b""
    end = _NEXT_KEY.search(raw, start + len(key))
    return raw[start:end.start() + 1 if end else len(raw)].rstrip(b"\n") + b"\n"


def _head_of(data: Any, capture_id: str) -> ManifestHead | None:
    """The head of loaded top-level fields, or None if any is not what archiver writes."""
    if not isinstance(data, dict) or data.get("capture_id") != capture_id:
        return None
    seeds, flags, key, files = data.get("seeds"), data.get("flags") or [], data.get("signing_key"), \
        data.get("warc_files")
    if not (isinstance(seeds, list) and all(isinstance(s, str) for s in seeds) and isinstance(flags, list)
            and all(isinstance(f, dict) and isinstance(f.get("flag"), str) and isinstance(f.get("url"), str)
                    for f in flags)
            and (key is None or isinstance(key, str)) and isinstance(files, list)
            and all(isinstance(w, dict) and type(w.get("bytes")) is int for w in files)):
        return None
    return ManifestHead(seeds=tuple(seeds), flags=_flag_lines(PageFlag(f["url"], f["flag"], "") for f in flags),
                        signing_key=key, warc_bytes=sum(w["bytes"] for w in files),
                        imports=_imports(data.get("imported_from")))


def _head_of_manifest(m: Manifest) -> ManifestHead:
    return ManifestHead(seeds=m.seeds, flags=_flag_lines(m.flags), signing_key=m.signing_key,
                        warc_bytes=m.warc_bytes, imports=_imports(m.imported_from))


def _imports(imported_from: Any) -> tuple[str, ...]:
    """The capture ids an import record of archiver packages lists; () for anything else."""
    if not isinstance(imported_from, dict) or imported_from.get("format") != _PACKAGE_IMPORT:
        return ()
    captures = imported_from.get("captures")
    return tuple(c["capture_id"] for c in captures if isinstance(c, dict) and isinstance(c.get("capture_id"), str)) \
        if isinstance(captures, list) else ()


def _flag_lines(flags: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{f.flag}: {f.url}" for f in flags))


def read_manifest_of(workspace: Workspace, capture_id: str) -> Manifest:
    """The manifest of ``capture_id`` (any string: checked before it names a file); NotArchivedError
    when there is no such capture, ManifestError when it cannot be read."""
    from ..fixity.manifest import read_manifest

    shown = capture_id[:100].encode("unicode_escape").decode("ascii")
    if not CAPTURE_ID.fullmatch(capture_id):
        raise NotArchivedError(f"{shown!r} is not a capture id (e.g. 20261129T150447Z-bce0ff)", target=capture_id)
    path = workspace.manifest_path(capture_id)
    if not path.is_file():
        raise NotArchivedError(f"no capture {shown} in this workspace", target=capture_id)
    manifest = read_manifest(path)
    if manifest.capture_id != capture_id:
        raise ManifestError(f"its capture_id {manifest.capture_id[:100]!r} is not its file name",
                            path=workspace.relative(path))
    return manifest


# -- one capture -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CaptureFile:
    """A file of a capture: its WARC files and its seal (manifest, checksum list, signature)."""

    kind: str                  # "warc", "manifest", "checksums", "signature"
    path: str                  # relative to the workspace
    bytes: int | None          # on disk now; None when it is missing
    sha256: str | None = None  # what the manifest records (WARC files)


@dataclass(frozen=True, slots=True)
class CaptureDetail:
    """One capture: its manifest, whole, and its files as they are on disk."""

    manifest: Manifest
    files: tuple[CaptureFile, ...]

    @property
    def signed(self) -> bool:
        return self.manifest.signing_key is not None

    def public(self) -> dict[str, Any]:
        """As JSON (``archiver show --json``, ``GET /api/captures/{id}``)."""
        m = self.manifest
        return {
            "capture_id": m.capture_id, "started": m.started, "ended": m.ended, "ok": not m.seed_problems,
            "seeds": list(m.seeds), "seed_problems": list(m.seed_problems),
            "resources": [_resource_json(r) for r in m.resources],
            "failures": [_failure_json(f) for f in m.failures],
            "skipped": [_skipped_json(s) for s in m.skipped],
            "skipped_unlisted": m.skipped_unlisted or {},
            "flags": [{"url": f.url, "flag": f.flag, "detail": f.detail} for f in m.flags],
            "provenance": {
                "operator": m.operator, "host": m.host, "software": m.software, "settings": m.settings,
                "started": m.started, "ended": m.ended, "schedule": m.schedule,
                "remote_addresses": remote_addresses(m), "redacted_headers": list(m.redacted_headers),
                "sequence": m.sequence,
                "previous": {"capture_id": m.previous.capture_id, "sha256": m.previous.sha256} if m.previous else None,
                "signed": self.signed, "signing_key": m.signing_key, "imported_from": m.imported_from,
                "notes": list(m.notes), "format_version": m.format_version,
                "servers": servers_document(m.servers)},
            "files": [{"kind": f.kind, "path": f.path, "bytes": f.bytes, "sha256": f.sha256,
                       "present": f.bytes is not None} for f in self.files],
            "warc_bytes": m.warc_bytes, "payload_bytes": m.payload_bytes,
            "browser_pages": browser_pages_document(m.browser_pages)}


def _resource_json(r: Any) -> dict[str, Any]:
    revisit = r.revisit_of
    return {"url": r.url, "role": r.role.value, "status": r.status, "content_type": r.content_type,
            "payload_bytes": r.payload_bytes, "payload_sha256": r.payload_sha256, "via": r.via, "depth": r.depth,
            "date": r.date, "remote_address": r.remote_address, "location": r.location, "truncated": r.truncated,
            "record_id": r.record_id, "warc": r.warc, "offset": r.offset, "length": r.length,
            "revisit_of": {"capture_id": revisit.capture_id, "url": revisit.url, "date": revisit.date,
                           "record_id": revisit.record_id} if revisit else None}


def _failure_json(f: Failure) -> dict[str, Any]:
    return {"url": f.url, "role": f.role.value, "via": f.via, "kind": f.kind, "reason": f.reason}


def _skipped_json(s: Skipped) -> dict[str, Any]:
    return {"url": s.url, "role": s.role.value, "via": s.via, "reason": s.reason}


def remote_addresses(m: Manifest) -> list[str]:
    """The addresses that answered, each once, in the order they first did."""
    return list(dict.fromkeys(r.remote_address for r in m.resources if r.remote_address))


def show_capture(workspace: Workspace, capture_id: str) -> CaptureDetail:
    """One capture, from its manifest (read whole and checked); NotArchivedError for an unknown id."""
    manifest = read_manifest_of(workspace, capture_id)
    files = [CaptureFile("warc", w.path, _size(workspace, w.path), w.sha256) for w in manifest.warc_files]
    for kind, path in (("manifest", workspace.manifest_path(capture_id)),
                       ("checksums", workspace.checksum_path(capture_id)),
                       ("signature", workspace.signature_path(capture_id))):
        size = _size(workspace, workspace.relative(path))
        if size is not None or kind != "signature" or manifest.signing_key is not None:
            files.append(CaptureFile(kind, workspace.relative(path), size))
    for path in workspace.timestamp_paths(capture_id).values():      # RFC 3161 tokens (docs/timestamps.md)
        files.append(CaptureFile("timestamp", workspace.relative(path), _size(workspace, workspace.relative(path))))
    return CaptureDetail(manifest=manifest, files=tuple(files))


def _size(workspace: Workspace, relative: str) -> int | None:
    try:
        return (workspace.root / relative).stat().st_size
    except (OSError, ValueError):
        return None


# -- one archived payload --------------------------------------------------------------------------

def open_memento(workspace: Workspace, index: Index, memento: Memento) -> ArchivedPayload:
    """The archived response of ``memento``, its payload ready to stream (chunked framing removed,
    content coding kept: the bytes hash to ``memento.payload_sha256``); a revisit's payload from
    its original. ValueError when the index names a file outside ``archive/``; OSError, PayloadError."""
    from ..warc.payload import RecordAt, open_payload

    at = RecordAt(warc_path(workspace, memento.warc), memento.offset, memento.length)
    original = None
    if memento.revisit_of is not None:
        o = memento.revisit_of
        row = index.db.execute("SELECT length FROM mementos WHERE capture_id = ? AND record_id = ? AND warc = ? "
                               "AND offset = ? AND revisit_of IS NULL",
                               (o.capture_id, o.record_id, o.warc, o.offset)).fetchone()
        original = RecordAt(warc_path(workspace, o.warc), o.offset, int(row[0]) if row else None)
    return open_payload(at, original)


def warc_path(workspace: Workspace, relative: str) -> Path:
    """A WARC file a manifest or the index names, never outside the workspace's archive folder."""
    root = workspace.archive_dir.resolve()
    path = (workspace.root / relative).resolve()
    if not relative.startswith("archive/") or not path.is_relative_to(root):
        raise ValueError(f"the index names a file outside archive/: {relative[:200]!r}")
    return path
