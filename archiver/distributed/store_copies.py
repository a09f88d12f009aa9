"""The sealing process and the store: each WARC file a worker reported is copied from the store into
the workspace's ``archive/`` (a temporary file, renamed once its sha256 and length are those of the
report) before any manifest names it; once sealed, the capture's seal files and manifest go to the
store, the manifest last."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

from ..core.errors import CaptureError, StoreError
from ..core.models import WarcFile
from ..core.workspace import Workspace, fsync_dir
from .store import CHUNK, Store

REPORTED = re.compile(r"archive/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.warc\.gz")    # what a worker may report


def fetch_reported(store: Store, workspace: Workspace, capture_id: str, warcs: tuple[WarcFile, ...]) -> None:
    """Copy every reported file here, checked against its report; CaptureError (nothing sealed) when
    one is missing from the store or its bytes differ."""
    scratch = workspace.scratch_dir(capture_id)
    try:
        for warc in warcs:
            _fetch(store, workspace, capture_id, warc, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fetch(store: Store, workspace: Workspace, capture_id: str, warc: WarcFile, scratch: Path) -> None:
    if not REPORTED.fullmatch(warc.path):       # a report is read from Redis: outside input
        raise CaptureError(f"capture {capture_id}: a worker reported {warc.path[:200]!r}, not a WARC file in "
                           "archive/: not sealed", capture_id=capture_id)
    dest = workspace.root / warc.path
    if dest.is_file() and file_digest(dest) == (warc.sha256, warc.bytes):
        return                      # already here (a worker that shared the folder), and right
    part = scratch / f"{dest.name}.{secrets.token_hex(4)}.part"
    try:
        with open(part, "xb") as out:
            got = store.digest(warc.path, warc.bytes, out)
            out.flush()
            os.fsync(out.fileno())
        if got is None:
            raise CaptureError(f"capture {capture_id}: {store.where(warc.path)} was reported by a worker but is "
                               "not in the store: not sealed", capture_id=capture_id)
        if got != (warc.sha256, warc.bytes):
            raise CaptureError(f"capture {capture_id}: {store.where(warc.path)} is {_said(*got)} but the worker "
                               f"reported {_said(warc.sha256, warc.bytes)}: not sealed", capture_id=capture_id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            raise CaptureError(f"capture {capture_id}: {workspace.relative(dest)} exists already with other bytes "
                               "than the worker reported: not sealed", capture_id=capture_id)
        os.replace(part, dest)
        fsync_dir(dest.parent)
    finally:
        part.unlink(missing_ok=True)


def seal_files(workspace: Workspace, capture_id: str) -> list[Path]:
    """What a sealed capture has in manifests/, the manifest last: what the store gets of it."""
    seals = [workspace.checksum_path(capture_id), workspace.signature_path(capture_id),
             *sorted(workspace.timestamp_paths(capture_id).values())]
    return [p for p in seals if p.is_file()] + [workspace.manifest_path(capture_id)]


def push_sealed(store: Store, workspace: Workspace, capture_id: str) -> tuple[str, ...]:
    """Upload the sealed capture's seal files and manifest; a failure is a warning (the seal stands)."""
    for path in seal_files(workspace, capture_id):
        try:
            store.put(path, workspace.relative(path))
        except StoreError as exc:
            return (f"the sealed manifest is not in the store yet: {exc}",)
    return ()


def file_digest(path: Path) -> tuple[str, int]:
    sha, length = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            length += len(chunk)
    return sha.hexdigest(), length


def _said(sha256: str, length: int) -> str:
    return f"{length} bytes with sha256 {sha256}"
