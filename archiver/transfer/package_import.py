"""Importing a package archiver exported (a WACZ or a bag with a segment file, ``chain.yaml``),
losslessly: the captures keep their ids, and their manifests, checksum lists, signatures and
timestamp tokens are installed byte for byte, as their own workspace sealed them. So exporting them
again gives the same manifests, and their signatures still check under their own key.

Their ``previous`` links point into the chain of the workspace they came from. This workspace's
chain vouches for them without rewriting them: it seals a small *import* manifest of its own
(``imported_from.format: archiver-package``: each capture's id, sequence and manifest sha256, the
links out, the head and the signing keys, as the segment file states them), signed with this
workspace's key when it has one. ``verify`` checks the imported captures as that segment, under
their own key (kept in ``keys/imported/``), and leaves them out of this workspace's own chain.

Order, so that the workspace is never left claiming what it does not hold:

1. the whole package is verified first (transfer.package_check); any problem refuses it;
2. captures already here with the same manifest sha256 are skipped (all of them: AlreadyImported,
   nothing written); one here with another manifest refuses the import;
3. the WARC files are copied in (``.open`` name, fsync, check, rename) and the keys;
4. the import manifest is sealed (before the imported manifests exist, so the chain head it
   follows is this workspace's own);
5. each capture's seal files, its manifest last; then the index. An import stopped after step 4
   is completed by importing the package again.
"""

from __future__ import annotations

import os
import shutil
import socket
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import ManifestError
from ..core.interrupts import Interrupted, StopSignals
from ..core.models import CaptureResult, Manifest
from ..core.settings import Settings
from ..core.workspace import OPEN_SUFFIX, Workspace, atomic_write, fsync_dir, new_capture_id
from ..core.yamlload import safe_load
from ..fixity.debris import running_capture
from ..fixity.manifest import FORMAT, FORMAT_VERSION, iso, read_manifest, software_versions
from ..fixity.seal import seal_document, signing_key
from ..fixity.segment import IMPORT_FORMAT, Segment, read_segment
from ..fixity.segment_check import STAGING
from ..index.store import index_sealed
from ..warc.reader import file_digest
from .package_check import opened_package
from .package_proof import SEGMENT_FILE
from .wacz_unpack import ImportRefused

IMPORTED_KEYS = ("keys", "imported")          # where the imported captures' public keys are kept
NOTE = ("an import record: it archives nothing itself; it vouches, in this workspace's chain, for the captures "
        "listed in imported_from, imported unchanged from another workspace's chain")


def is_archiver_package(source: Path) -> bool:
    """A bag or WACZ that archiver exported with its segment file."""
    if source.is_dir():
        return (source / "bagit.txt").is_file() and (source / "data" / SEGMENT_FILE).is_file()
    if not (source.is_file() and source.name.lower().endswith(".wacz")):
        return False
    try:
        with zipfile.ZipFile(source) as zf:
            return f"archiver/{SEGMENT_FILE}" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


@dataclass(frozen=True, slots=True)
class PackageImport:
    import_id: str                    # the import manifest sealed in this workspace
    imported: tuple[str, ...]         # captures installed
    present: tuple[str, ...]          # captures already here, the same
    result: CaptureResult             # the import manifest's, for callers of import_archive


class AlreadyHere(Exception):  # noqa: N818 - not an error: importer.AlreadyImported says it
    def __init__(self, capture_id: str) -> None:
        super().__init__(capture_id)
        self.capture_id = capture_id


def import_package(workspace: Workspace, source: Path, settings: Settings, *,
                   clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> PackageImport:
    """Import the captures of an archiver package (module docstring); AlreadyHere when every one is."""
    signing_key(workspace, settings.witness_file)       # a broken or replaced key stops it before any work
    with opened_package(source) as (root, report):
        if not report.ok:
            first = next(p for p in report.problems if p.severity == "error")
            raise ImportRefused(f"the package does not verify: {first.line()}", path=str(source))
        raw = (root / SEGMENT_FILE).read_bytes()
        segment = read_segment(safe_load(raw), SEGMENT_FILE)
        manifests = {h.capture_id: read_manifest(root / "manifests" / f"{h.capture_id}.yaml")
                     for h in segment.captures}
        todo = _still_to_import(workspace, segment)
        if not todo:
            raise AlreadyHere(_importer_of(workspace, segment.captures[-1].capture_id))
        started = clock()
        import_id = new_capture_id(started)
        workspace.ensure()
        with ExitStack() as stack:
            for cid in (import_id, *todo):
                stack.enter_context(running_capture(workspace, cid))   # 'archiver clean' leaves these files alone
            record = _record_here(workspace, segment)
            placed: list[Path] = []
            sealed = None
            try:
                for cid in todo:
                    _install_warcs(workspace, root, manifests[cid], placed)
                _install_keys(workspace, root, segment)
                # from the import record's seal to the last seal file it vouches for, a first Ctrl-C or
                # SIGTERM waits: a record naming captures whose manifests are not here yet is a gap
                # verify would report (a second Ctrl-C still stops it; importing again completes it)
                with StopSignals(lambda: "stopping after the import's last step (its seal files, a moment)") \
                        as stop:
                    if record is None:
                        # the seal files wait in the import's scratch folder while its record is sealed, then
                        # move in by rename: killed in between, verify finds them there (unchanged, as the
                        # record lists them) and importing again completes it
                        staging = workspace.root / STAGING / import_id
                        for cid in todo:
                            _install_seal(staging, root, cid)
                        document = _import_document(import_id, segment, source, raw, settings, started, clock())
                        sealed = seal_document(workspace, document, witness_file=settings.witness_file)
                        for cid in todo:
                            _move_seal(staging, workspace, cid)
                        shutil.rmtree(staging, ignore_errors=True)
                    else:
                        for cid in todo:
                            _install_seal(workspace.manifests_dir, root, cid)
                        shutil.rmtree(workspace.root / STAGING / record, ignore_errors=True)
            except BaseException:
                if record is None and not workspace.manifest_path(import_id).exists():
                    for path in placed:
                        path.unlink(missing_ok=True)
                    shutil.rmtree(workspace.root / STAGING / import_id, ignore_errors=True)
                raise
            stopped = stop.requested
    for cid in todo:
        index_sealed(workspace, read_manifest(workspace.manifest_path(cid)))
    import_id = record or import_id
    if sealed is not None:
        index_sealed(workspace, read_manifest(sealed.manifest))
    present = tuple(h.capture_id for h in segment.captures if h.capture_id not in todo)
    if stopped:
        raise Interrupted("import finished before stopping: every capture it names is in place")
    return PackageImport(import_id, tuple(todo), present, _result(workspace, import_id))


def _still_to_import(workspace: Workspace, segment: Segment) -> list[str]:
    """The captures of the segment not here yet; ImportRefused when one is here with another manifest."""
    todo = []
    for held in segment.captures:
        path = workspace.manifest_path(held.capture_id)
        if not path.exists():
            todo.append(held.capture_id)
        elif file_digest(path)[0] != held.sha256:
            raise ImportRefused(f"capture {held.capture_id} is in this workspace with another manifest "
                                f"(sha256 {file_digest(path)[0]}, the package's is {held.sha256})", path=str(path))
    return todo


def _importer_of(workspace: Workspace, capture_id: str) -> str:
    """The import manifest that lists ``capture_id``, or the capture itself (it was sealed here)."""
    return _record_listing(workspace, capture_id) or capture_id


def _record_here(workspace: Workspace, segment: Segment) -> str | None:
    """An import manifest sealed here already listing every capture of the segment with the same
    digest: an earlier import of this package that stopped before its last step."""
    head = segment.captures[-1].capture_id
    found = _record_listing(workspace, head)
    if found is None:
        return None
    listed = {c["capture_id"]: c.get("sha256") for c in
              (read_manifest(workspace.manifest_path(found)).imported_from or {}).get("captures", [])}
    return found if all(listed.get(h.capture_id) == h.sha256 for h in segment.captures) else None


def _record_listing(workspace: Workspace, capture_id: str) -> str | None:
    needle = IMPORT_FORMAT.encode()
    for path in workspace.manifest_paths():
        try:
            raw = path.read_bytes()
            if needle not in raw or capture_id.encode() not in raw:
                continue
            imported = read_manifest(path, raw).imported_from or {}
        except (OSError, ManifestError):
            continue
        if imported.get("format") == IMPORT_FORMAT and any(
                isinstance(c, dict) and c.get("capture_id") == capture_id for c in imported.get("captures", [])):
            return path.stem
    return None


def _install_warcs(workspace: Workspace, root: Path, manifest: Manifest, placed: list[Path]) -> None:
    """Copy a capture's WARC files in: ``.open`` name, fsync, hash checked against the manifest, rename."""
    for w in manifest.warc_files:
        dest = workspace.root / w.path
        if dest.exists():
            if file_digest(dest)[0] != w.sha256:
                raise ImportRefused(f"{w.path} is in this workspace with other content", path=str(dest))
            continue
        tmp = dest.with_name(dest.name + OPEN_SUFFIX)
        placed += [tmp, dest]
        with open(tmp, "xb") as out:
            sha256, _ = file_digest(root / w.path, also=out.write)
            out.flush()
            os.fsync(out.fileno())
        if sha256 != w.sha256:
            raise ImportRefused("the file changed while it was being imported", path=w.path)
        os.replace(tmp, dest)
    fsync_dir(workspace.archive_dir)


def _install_keys(workspace: Workspace, root: Path, segment: Segment) -> None:
    folder = workspace.root.joinpath(*IMPORTED_KEYS)
    folder.mkdir(parents=True, exist_ok=True)
    for name in segment.keys.values():
        if not (folder / name).exists() and (root / name).is_file():
            atomic_write(folder / name, (root / name).read_bytes())


def _seal_names(folder: Path, capture_id: str) -> list[str]:
    """Checksum list, signature, tokens, then the manifest (the seal: moved last)."""
    return [*sorted(p.name for p in folder.glob(f"{capture_id}.sha256*")), f"{capture_id}.yaml"]


def _install_seal(folder: Path, root: Path, capture_id: str) -> None:
    """A capture's seal files into ``folder``, byte for byte, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in _seal_names(root / "manifests", capture_id):
        target = folder / name
        if not target.exists():
            atomic_write(target, (root / "manifests" / name).read_bytes())


def _move_seal(staging: Path, workspace: Workspace, capture_id: str) -> None:
    """The staged seal files into manifests/ by rename, the manifest last."""
    for name in _seal_names(staging, capture_id):
        os.replace(staging / name, workspace.manifests_dir / name)
    fsync_dir(workspace.manifests_dir)


def _import_document(import_id: str, segment: Segment, source: Path, raw: bytes, settings: Settings,
                     started: datetime, ended: datetime) -> dict[str, Any]:
    from hashlib import sha256

    captures = [{"capture_id": h.capture_id, "sequence": h.sequence, "sha256": h.sha256, "exported": h.exported}
                for h in segment.captures]
    head = segment.captures[-1]
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "capture_id": import_id, "seeds": [],
        "started": iso(started), "ended": iso(ended),
        "operator": {"name": settings.operator.name, "contact": settings.operator.contact},
        "host": socket.gethostname(), "software": software_versions(), "settings": {},
        "warc_files": [], "resources": [], "failures": [], "skipped": [], "flags": [], "seed_problems": [],
        "imported_from": {
            "format": IMPORT_FORMAT, "file": source.name, "sha256": sha256(raw).hexdigest(),
            "captures": captures,
            "links_out": [{"capture_id": cid, "sha256": digest} for cid, digest in sorted(segment.links_out.items())],
            "head": {"capture_id": head.capture_id, "sequence": head.sequence, "sha256": head.sha256},
            "signing_keys": [{"fingerprint": fp, "file": name} for fp, name in sorted(segment.keys.items())],
        },
        "notes": [NOTE],
    }


def _result(workspace: Workspace, import_id: str) -> CaptureResult:
    m = read_manifest(workspace.manifest_path(import_id))
    return CaptureResult(capture_id=import_id, manifest_path=workspace.relative(workspace.manifest_path(import_id)),
                         seeds=m.seeds, warc_files=m.warc_files, resources=m.resources, failures=m.failures,
                         skipped=m.skipped, flags=m.flags)
