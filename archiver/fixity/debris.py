"""Debris: what killed captures leave in a workspace, found (``verify`` reports it) and removed
(``archiver clean``).

A capture stopped by Ctrl-C or SIGTERM leaves nothing (it seals what it archived, or removes its
files). One killed (SIGKILL, a power cut) can leave an unfinished ``.open`` WARC file, a finished WARC
file no manifest lists, the checksum list and signature of a seal that never wrote its manifest, its
scratch folder under ``.archiver/tmp/`` and hidden temporary files. None of it is evidence: what
no manifest lists was never sealed, so nothing can cite it.

Running captures are not debris. A capture holds a running lock for its whole life
(:func:`running_capture`: ``flock`` on ``.archiver/running/<capture-id>.lock``, dropped by the kernel
when the process dies, however it dies); it takes that lock while holding the workspace lock, and
:func:`clean` holds the workspace lock from its first look to its last removal. So every capture
either started before clean looked, and clean sees its lock and keeps every file named after it, or
starts after clean has finished. The workspace lock is also the seal's: no seal is half written
while clean looks. Index temporary databases are kept while younger than ``STALE_SECONDS`` (a
``reindex`` may be writing one; it holds no lock until its end).

Never removed: a manifest, or a file a readable manifest lists or owns; every file named after a
manifest that cannot be read (it may list it).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.workspace import CAPTURE_ID, OPEN_SUFFIX, Workspace, timestamp_slot

RUNNING_DIR = "running"
QUEUED_DIR = "queued"
SCRATCH_DIR = "tmp"
STALE_SECONDS = 600.0
UNLISTED_WARC = "WARC file no manifest lists"
SCRATCH_ENDED = "scratch folder of a capture that ended"


@dataclass(frozen=True, slots=True)
class Debris:
    path: str           # workspace-relative, '/' separated
    what: str           # e.g. "unfinished WARC file"
    bytes: int
    folder: bool = False


@dataclass(frozen=True, slots=True)
class Kept:
    path: str
    why: str


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What :func:`clean` removed (or, with ``dry_run``, would remove) and what it left, and why."""

    removed: tuple[Debris, ...]
    kept: tuple[Kept, ...]
    dry_run: bool

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.removed)


def find_debris(workspace: Workspace, listed: set[str], owners: set[str]) -> list[Debris]:
    """Files in archive/ that no manifest lists (``listed``: workspace-relative WARC paths) and files
    in manifests/ that are neither a manifest nor the seal files of a capture in ``owners``."""
    found: list[Debris] = []
    if workspace.archive_dir.is_dir():
        for path in sorted(workspace.archive_dir.iterdir()):
            rel = workspace.relative(path)
            if path.name == "README.md" or rel in listed:
                continue
            what = "unfinished WARC file" if path.name.endswith(OPEN_SUFFIX) else UNLISTED_WARC
            found.append(Debris(rel, what, _size(path), path.is_dir()))
    if workspace.manifests_dir.is_dir():
        for path in sorted(workspace.manifests_dir.iterdir()):
            name = path.name
            if name == "README.md" or (name.endswith(".yaml") and not name.startswith(".")):
                continue
            if path == workspace.attestations_dir and path.is_dir():
                continue          # signed key statements (fixity.key_history): never debris, never removed
            if name.endswith((".sha256", ".sha256.sig")) and name.split(".", 1)[0] in owners:
                continue
            if timestamp_slot(name) is not None:
                continue          # a timestamp token: never debris, never removed (docs/timestamps.md)
            what = "temporary file" if name.endswith(".tmp") else "seal file no sealed capture owns"
            found.append(Debris(workspace.relative(path), what, _size(path), path.is_dir()))
    return found


@contextmanager
def running_capture(workspace: Workspace, capture_id: str) -> Iterator[None]:
    """Mark ``capture_id`` as running for as long as the block lasts (see the module docstring)."""
    folder = workspace.state_dir / RUNNING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{capture_id}.lock"
    with workspace.lock():
        fh = open(path, "a+b")  # noqa: SIM115 - held past this block, closed in the finally below
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        fh.close()


def clean(workspace: Workspace, *, dry_run: bool = False, unsealed: bool = False) -> Cleaned:
    """Remove the debris of killed captures (or, ``dry_run``, only say what it is).

    A finished WARC file that no manifest lists (a capture killed after closing it) may hold the only
    copy of a page that is gone since: it is kept, with a note that ``archiver import`` seals it as a
    capture, unless a capture already imported a file with its sha256 (it is then removed) or
    ``unsealed`` is given."""
    from .manifest import read_manifest

    with workspace.lock():
        listed: set[str] = set()
        owners: set[str] = set()
        unreadable: set[str] = set()
        imported: dict[str, str] = {}
        for path in workspace.manifest_paths():
            try:
                manifest = read_manifest(path)
            except Exception:  # noqa: BLE001 - any manifest that cannot be read protects its files
                unreadable.add(path.stem)
                continue
            owners.add(path.stem)
            listed.update(w.path for w in manifest.warc_files)
            source = (manifest.imported_from or {}).get("sha256")
            if isinstance(source, str):
                imported.setdefault(source, manifest.capture_id)
        running = _running(workspace)
        kept: list[Kept] = []
        removed: list[Debris] = []
        for item in [*find_debris(workspace, listed, owners), *_state_debris(workspace, running)]:
            name = item.path.rsplit("/", 1)[-1]
            if any(name.startswith(cid) for cid in running) and not item.path.startswith(".archiver/running/"):
                kept.append(Kept(item.path, "a capture that is running now is writing it"))
            elif item.what == SCRATCH_ENDED and _holds_staged_seals(workspace, item.path):
                kept.append(Kept(item.path, "the seal files of an import stopped before its last step, which its "
                                            "sealed record names: importing the same package again completes it"))
            elif any(name.startswith(cid) for cid in unreadable):
                kept.append(Kept(item.path, "named after a manifest that cannot be read (it may list it)"))
            elif item.what.startswith("index temporary") and _age(workspace.root / item.path) < STALE_SECONDS:
                kept.append(Kept(item.path, f"younger than {STALE_SECONDS:g} s: a reindex may be writing it"))
            elif item.what == UNLISTED_WARC and not item.folder:
                holder = imported.get(_sha256(workspace.root / item.path) or "")
                if holder is not None:
                    removed.append(Debris(item.path, f"{UNLISTED_WARC}, imported as capture {holder}", item.bytes))
                elif unsealed:
                    removed.append(item)
                else:
                    kept.append(Kept(item.path, f"a finished WARC file no manifest lists: 'archiver import "
                                                f"{item.path}' seals what it holds as a capture (clean then "
                                                "removes this copy); 'archiver clean --unsealed' removes it"))
            else:
                removed.append(item)
        if not dry_run:
            for item in removed:
                _remove(workspace.root / item.path)
    return Cleaned(tuple(removed), tuple(kept), dry_run)


def _running(workspace: Workspace) -> set[str]:
    """The capture ids whose running lock some process holds, and those queued for workers and not
    sealed yet (a mark in ``.archiver/queued/``, archiver.distributed.sealing): their workers write now."""
    folder = workspace.state_dir / RUNNING_DIR
    queued = workspace.state_dir / QUEUED_DIR
    found: set[str] = {p.name for p in queued.iterdir() if CAPTURE_ID.fullmatch(p.name)} if queued.is_dir() else set()
    if not folder.is_dir():
        return found
    for path in folder.glob("*.lock"):
        try:
            with open(path, "rb") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    found.add(path.name[: -len(".lock")])
                else:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        except OSError:
            continue
    return found


def _state_debris(workspace: Workspace, running: set[str]) -> Iterable[Debris]:
    """Scratch folders and running locks of captures no longer running; index temporary databases."""
    state = workspace.state_dir
    scratch = state / SCRATCH_DIR
    if scratch.is_dir():
        for path in sorted(scratch.iterdir()):
            if CAPTURE_ID.fullmatch(path.name):
                yield Debris(workspace.relative(path), SCRATCH_ENDED, _size(path), path.is_dir())
    locks = state / RUNNING_DIR
    if locks.is_dir():
        for path in sorted(locks.glob("*.lock")):
            if path.name[: -len(".lock")] not in running:
                yield Debris(workspace.relative(path), "running lock of a capture that ended", _size(path))
    if state.is_dir():
        for path in sorted(state.iterdir()):
            if path.name.startswith(".index.sqlite.") and ".tmp" in path.name:
                yield Debris(workspace.relative(path), "index temporary database", _size(path))


def _size(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        return path.lstat().st_size
    except OSError:
        return 0


def _holds_staged_seals(workspace: Workspace, rel: str) -> bool:
    """Whether a scratch folder is that of a sealed import record and holds manifests it stages."""
    folder = workspace.root / rel
    return workspace.manifest_path(folder.name).is_file() and any(
        p.suffix == ".yaml" and not workspace.manifest_path(p.stem).exists() for p in folder.glob("*.yaml"))


def _sha256(path: Path) -> str | None:
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _age(path: Path) -> float:
    try:
        return time.time() - path.lstat().st_mtime
    except OSError:
        return STALE_SECONDS


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
