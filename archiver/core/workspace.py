"""The workspace on disk: the only module that knows file and folder names.

::

    WORKSPACE/
      archiver.yaml              settings (optional)
      citations.yaml             citation fields set by hand per URL (archiver cite --set; optional):
                                 applied to every citation of the URL, never written into a manifest
      archive/                   WARC files: <capture-id>-<n>.warc.gz (".open" while being written)
      manifests/                 per capture: <capture-id>.yaml (the manifest, the seal),
                                 <capture-id>.sha256 (checksum list for sha256sum -c),
                                 <capture-id>.sha256.sig (Ed25519 signature of that list, when a key exists)
                                 <capture-id>.sha256.tsr, .sha256.2.tsr ... (RFC 3161 timestamp tokens over
                                 that list, one per authority, docs/timestamps.md)
                                 attestations/<time>-<fp8>.yaml (+ .yaml.sig): signed statements about keys
                                 (attestations of the chain head, rotations: fixity.key_history)
      keys/                      archiver-signing-key.pem (private, 0600) and .pub.pem (archiver keygen)
                                 <hex>.pem, <hex>.pub.pem: keys replaced by keygen --rotate, kept
      .archiver/                 derived and scratch state (lock file, chain-head cache, temporary bodies)
"""

from __future__ import annotations

import fcntl
import glob
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import WorkspaceError

ARCHIVE_DIR = "archive"
MANIFESTS_DIR = "manifests"
STATE_DIR = ".archiver"
KEYS_DIR = "keys"
CITATIONS_FILE = "citations.yaml"      # citation fields set by hand (citing.overrides)
ATTESTATIONS_DIR = "attestations"      # in manifests/: key statements (fixity.key_history)
OPEN_SUFFIX = ".open"
CAPTURE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")   # what a capture id may be: fullmatch it before
                                                              # it names a file


def new_capture_id(now: datetime | None = None, token: str | None = None) -> str:
    """A sortable, unique, file-name-safe id: ``20261129T150102Z-3fa9c2``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%S}Z-{token or secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class Workspace:
    """A folder holding archived captures."""

    root: Path

    @property
    def archive_dir(self) -> Path:
        return self.root / ARCHIVE_DIR

    @property
    def manifests_dir(self) -> Path:
        return self.root / MANIFESTS_DIR

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def ensure(self) -> Workspace:
        """Create the folders if needed and check they can be written; return self."""
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"workspace {self.root} is not a folder", path=str(self.root))
        try:
            for d in (self.archive_dir, self.manifests_dir, self.state_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folders in {self.root}: {exc.strerror}",
                                 path=str(self.root)) from None
        for d in (self.archive_dir, self.manifests_dir, self.state_dir):
            if not os.access(d, os.W_OK | os.X_OK):
                raise WorkspaceError(f"workspace folder {d} is not writable", path=str(d))
        return self

    def warc_path(self, capture_id: str, serial: int = 0) -> Path:
        return self.archive_dir / f"{capture_id}-{serial:05d}.warc.gz"

    def manifest_path(self, capture_id: str) -> Path:
        return self.manifests_dir / f"{capture_id}.yaml"

    def checksum_path(self, capture_id: str) -> Path:
        return self.manifests_dir / f"{capture_id}.sha256"

    def signature_path(self, capture_id: str) -> Path:
        return self.manifests_dir / f"{capture_id}.sha256.sig"

    def timestamp_path(self, capture_id: str, slot: int = 1) -> Path:
        """The RFC 3161 reply of the ``slot``-th timestamp authority (from 1) over the checksum list:
        ``<id>.sha256.tsr`` for the first, ``<id>.sha256.2.tsr``, ``.3.tsr`` ... for the others."""
        if slot < 1:
            raise ValueError(f"timestamp slots count from 1, not {slot}")
        return self.manifests_dir / (f"{capture_id}.sha256.tsr" if slot == 1 else f"{capture_id}.sha256.{slot}.tsr")

    def timestamp_paths(self, capture_id: str) -> dict[int, Path]:
        """The capture's timestamp tokens on disk, slot -> path, by slot (the names ``timestamp_path`` gives)."""
        found: dict[int, Path] = {}
        if not self.manifests_dir.is_dir():
            return found
        for path in self.manifests_dir.glob(f"{glob.escape(capture_id)}.sha256*.tsr"):
            slot = timestamp_slot(path.name)
            if slot is not None and path.name.startswith(f"{capture_id}.sha256.") and path.is_file():
                found[slot] = path
        return dict(sorted(found.items()))

    @property
    def private_key_path(self) -> Path:
        return self.root / KEYS_DIR / "archiver-signing-key.pem"

    @property
    def public_key_path(self) -> Path:
        return self.root / KEYS_DIR / "archiver-signing-key.pub.pem"

    @property
    def attestations_dir(self) -> Path:
        """Signed statements about keys over time: attestations of the chain head, key rotations."""
        return self.manifests_dir / ATTESTATIONS_DIR

    def retired_key_paths(self, fingerprint: str) -> tuple[Path, Path]:
        """(private, public) key files of a key replaced by ``keygen --rotate``: ``keys/<hex>.pem``, ``.pub.pem``."""
        hex_digest = fingerprint.removeprefix("sha256:")
        return self.root / KEYS_DIR / f"{hex_digest}.pem", self.root / KEYS_DIR / f"{hex_digest}.pub.pem"

    @property
    def citations_path(self) -> Path:
        return self.root / CITATIONS_FILE

    @property
    def head_cache_path(self) -> Path:
        return self.state_dir / "chain-head.json"

    def relative(self, path: Path) -> str:
        """A workspace path as recorded in manifests: relative, '/' separated."""
        return path.relative_to(self.root).as_posix()

    def manifest_paths(self) -> list[Path]:
        """Every manifest, oldest capture first (capture ids sort by time)."""
        if not self.manifests_dir.is_dir():
            return []
        return sorted(p for p in self.manifests_dir.glob("*.yaml") if not p.name.startswith("."))

    def scratch_dir(self, capture_id: str) -> Path:
        path = self.state_dir / "tmp" / capture_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def lock(self, name: str = "workspace") -> Iterator[None]:
        """An exclusive lock on the workspace. The kernel drops it if the process dies."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / f"{name}.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_TOKEN_NAME = re.compile(r"(?P<id>.+)\.sha256(?:\.(?P<slot>[2-9]|[1-9][0-9]))?\.tsr")


def timestamp_slot(name: str) -> int | None:
    """The slot of a timestamp token's file name (``X.sha256.tsr``: 1, ``X.sha256.2.tsr``: 2), else None."""
    match = _TOKEN_NAME.fullmatch(name)
    if match is None or not CAPTURE_ID.fullmatch(match["id"]):
        return None
    return int(match["slot"] or 1)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    # named before it exists, so that an interrupt at any moment leaves no temporary file behind
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
