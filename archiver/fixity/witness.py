"""The witness: what this user has seen sealed in each workspace, kept where the workspace is not.

A workspace holds everything needed to check itself, and so everything an attacker with write
access to it needs to rewrite it: delete the newest captures with their seals (a rollback), or
replace the signing key and re-sign. The witness is the memory that lies outside the workspace:

- per user, in ``$ARCHIVER_STATE_HOME`` (else ``$XDG_STATE_HOME/archiver``, else
  ``~/.local/state/archiver``): ``witness/<id>.jsonl``, one file per workspace (``<id>`` is derived
  from the workspace's absolute path);
- optionally in a second file the workspace's settings name (``witness: PATH`` in archiver.yaml),
  for example on another disk or a synchronised folder.

Each line is one JSON object, appended and fsynced, never rewritten:

- ``{"event": "key", "key": "sha256:<hex>", "at": ..., "workspace": ...}``: the signing key was
  pinned (``archiver keygen``, the first capture signed, or ``verify --accept-key``);
- ``{"event": "seal", "capture_id": ..., "sequence": N, "sha256": ..., "signed": bool, "key": ...,
  "at": ..., "workspace": ...}``: a capture was sealed.

``verify`` reads both: a capture the witness saw sealed that is gone or whose manifest changed is an
error, and so is a workspace key other than the one pinned. A line that cannot be read is reported,
never fatal to reading the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_LINE = 64 * 1024                 # a longer line is not ours: skipped, reported
MAX_FILE = 256 * 2**20               # read at most this much of a witness file


@dataclass(frozen=True, slots=True)
class SealSeen:
    capture_id: str
    sequence: int
    sha256: str
    signed: bool
    key: str | None
    at: str


@dataclass(slots=True)
class Witnessed:
    """What the witness files say about one workspace."""

    files: list[Path] = field(default_factory=list)
    seals: dict[str, SealSeen] = field(default_factory=dict)   # by capture id, the last line wins
    key: str | None = None                                       # the key pinned last
    key_pinned_at: str | None = None
    unreadable: list[str] = field(default_factory=list)          # messages about lines skipped

    @property
    def head(self) -> SealSeen | None:
        return max(self.seals.values(), key=lambda s: s.sequence, default=None)


def state_home() -> Path:
    """The per-user state folder (not created here)."""
    explicit = os.environ.get("ARCHIVER_STATE_HOME")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "archiver"


def user_witness_path(workspace_root: Path) -> Path:
    where = str(workspace_root.resolve())
    return state_home() / "witness" / f"{hashlib.sha256(where.encode('utf-8', 'surrogateescape')).hexdigest()[:32]}.jsonl"


def witness_paths(workspace_root: Path, extra: Path | None = None) -> list[Path]:
    """Where this workspace's witness lines go: the user's file, and ``extra`` when the settings name one."""
    return [user_witness_path(workspace_root)] + ([extra] if extra is not None else [])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _append(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def record(paths: list[Path], entry: dict[str, Any]) -> list[str]:
    """Append ``entry`` (with a time) to every path; returns one message per path that failed.
    A failure never undoes what was witnessed: the caller has sealed already."""
    entry = {**entry, "at": _now()}
    failed = []
    for path in paths:
        try:
            _append(path, entry)
        except OSError as exc:
            failed.append(f"cannot write the witness file {path}: {exc.strerror or exc}")
    return failed


def record_seal(paths: list[Path], workspace_root: Path, *, capture_id: str, sequence: int, sha256: str,
                key: str | None) -> list[str]:
    return record(paths, {"event": "seal", "workspace": str(workspace_root.resolve()), "capture_id": capture_id,
                          "sequence": sequence, "sha256": sha256, "signed": key is not None, "key": key})


def record_key(paths: list[Path], workspace_root: Path, key: str) -> list[str]:
    return record(paths, {"event": "key", "workspace": str(workspace_root.resolve()), "key": key})


def read(paths: list[Path]) -> Witnessed:
    """Everything the witness files say; missing files say nothing."""
    out = Witnessed()
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_FILE)
        except FileNotFoundError:
            continue
        except OSError as exc:
            out.unreadable.append(f"witness file {path} cannot be read: {exc.strerror or exc}")
            continue
        out.files.append(path)
        for n, line in enumerate(data.splitlines(), 1):
            if line.strip():
                _take(out, line, f"{path}:{n}")
    return out


def _take(out: Witnessed, line: bytes, where: str) -> None:
    try:
        if len(line) > MAX_LINE:
            raise ValueError("line too long")
        entry = json.loads(line)
        if not isinstance(entry, dict):
            raise ValueError("not an object")
        if entry.get("event") == "key":
            out.key, out.key_pinned_at = _text(entry, "key"), _text(entry, "at")
        elif entry.get("event") == "seal":
            seen = SealSeen(_text(entry, "capture_id"), _positive(entry, "sequence"), _text(entry, "sha256"),
                            entry.get("signed") is True, entry.get("key") if isinstance(entry.get("key"), str) else None,
                            _text(entry, "at"))
            out.seals[seen.capture_id] = seen
        else:
            raise ValueError("unknown event")
    except (ValueError, TypeError) as exc:      # json.JSONDecodeError is a ValueError
        out.unreadable.append(f"witness line {where} skipped: {exc}")


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise ValueError(f"{key!r} is not a string")
    return value


def _positive(entry: dict[str, Any], key: str) -> int:
    value = entry.get(key)
    if type(value) is not int or not 1 <= value < 2**63:
        raise ValueError(f"{key!r} is not a positive integer")
    return value
