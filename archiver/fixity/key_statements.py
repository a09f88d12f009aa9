"""Keys over time: signed statements that a workspace's key made, written as new files, never
rewriting a sealed one (docs/manifest.md, "Key statements").

- An **attestation**: at a moment, a key attests the chain head then (capture id, sequence, the
  manifest's sha256). Through the chain it vouches for every capture up to that head, so captures
  sealed before the workspace had a key are vouched for once ``archiver keygen --attest`` ran.
- A **rotation**: the workspace's key replaced by a new one (``archiver keygen --rotate``). The
  statement names both keys (with their public keys, PEM) and the chain head, and is signed by
  both: by the old key (``.yaml.sig``: the change comes from the old key's holder) and by the new one
  (``.yaml.new.sig``: the new key's holder claims the old key's history). It attests the head too.

Files: ``manifests/attestations/<YYYYMMDDTHHMMSSZ>-<fp8>.yaml`` (fp8: the first 8 hex digits of the
signing key's fingerprint; a rotation ``...-<old fp8>-to-<new fp8>.yaml``), each signature the raw
64 bytes of Ed25519 over the file's exact bytes, as for checksum lists:
``openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin -in F.yaml -sigfile F.yaml.sig``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core import yamlemit
from ..core.errors import WorkspaceError
from ..core.workspace import Workspace, atomic_write

FORMAT = "archiver-key-statement"
FORMAT_VERSION = 1
MAX_STATEMENT = 64 * 1024           # a longer file is not one of ours
MAX_STATEMENTS = 10_000
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class HeadRef:
    capture_id: str
    sequence: int
    sha256: str


@dataclass(frozen=True, slots=True)
class KeyRef:
    fingerprint: str
    public_key: bytes               # PEM


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement file as read: what it says and the bytes its signatures cover."""

    path: Path
    kind: str                       # "attestation" or "rotation"
    made: str                       # UTC, YYYY-MM-DDTHH:MM:SSZ
    key: KeyRef                     # the signer (a rotation: the old key)
    head: HeadRef | None            # None: no capture was sealed yet
    new_key: KeyRef | None          # a rotation: the key that replaces ``key``
    data: bytes


def _stamp(now: datetime) -> tuple[str, str]:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y%m%dT%H%M%SZ")


def statement_document(kind: str, made: str, key: KeyRef, head: HeadRef | None,
                       new_key: KeyRef | None = None) -> bytes:
    """The statement's YAML bytes, the exact bytes its signatures cover."""
    def ref(k: KeyRef) -> dict[str, str]:
        return {"fingerprint": k.fingerprint, "public_key": k.public_key.decode("ascii")}

    doc: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "statement": kind, "made": made,
                           "key": ref(key),
                           "head": None if head is None else {"capture_id": head.capture_id, "sequence": head.sequence,
                                                              "sha256": head.sha256}}
    if new_key is not None:
        doc["new_key"] = ref(new_key)
    return yamlemit.dump(doc).encode("utf-8")


def write_statement(workspace: Workspace, kind: str, key: KeyRef, private: Any, head: HeadRef | None, *,
                    now: datetime | None = None, new_key: KeyRef | None = None, new_private: Any = None) -> Path:
    """Write a statement and its signature(s) (``private``: the signer's key object; a rotation's
    ``new_private`` signs too); call under the workspace lock. Never replaces a file."""
    made, stamp = _stamp(now or datetime.now(UTC))
    name = f"{stamp}-{key.fingerprint[7:15]}" + (f"-to-{new_key.fingerprint[7:15]}" if new_key else "")
    path = workspace.attestations_dir / f"{name}.yaml"
    if path.exists():
        raise WorkspaceError(f"{workspace.relative(path)} exists already: one statement per key a second", path=str(path))
    workspace.attestations_dir.mkdir(parents=True, exist_ok=True)
    data = statement_document(kind, made, key, head, new_key)
    atomic_write(path.with_name(path.name + ".sig"), bytes(private.sign(data)))
    if new_private is not None:
        atomic_write(path.with_name(path.name + ".new.sig"), bytes(new_private.sign(data)))
    atomic_write(path, data)             # last: a statement exists once its signatures do
    return path


def statement_paths(workspace: Workspace) -> list[Path]:
    folder = workspace.attestations_dir
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("."))[:MAX_STATEMENTS]


def read_statement(path: Path) -> Statement:
    """A statement file, every field checked; ValueError says what is wrong."""
    import yaml

    from ..core.yamlload import safe_load

    with open(path, "rb") as fh:
        data = fh.read(MAX_STATEMENT + 1)
    if len(data) > MAX_STATEMENT:
        raise ValueError(f"longer than {MAX_STATEMENT} bytes")
    try:
        doc = safe_load(data)
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"not an {FORMAT} of version {FORMAT_VERSION}")
    kind = doc.get("statement")
    if kind not in ("attestation", "rotation"):
        raise ValueError("'statement' is neither attestation nor rotation")
    made = doc.get("made")
    if type(made) is not str or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", made):
        raise ValueError("'made' is not a UTC time")
    new_key = _key(doc.get("new_key"), "new_key") if kind == "rotation" else None
    return Statement(path, kind, made, _key(doc.get("key"), "key"), _head(doc.get("head")), new_key, data)


def _key(value: Any, what: str) -> KeyRef:
    from .signing import fingerprint, public_key_of_pem

    if not isinstance(value, dict) or type(value.get("fingerprint")) is not str \
            or not _FINGERPRINT.match(value["fingerprint"]) or type(value.get("public_key")) is not str:
        raise ValueError(f"'{what}' needs a fingerprint (sha256:<hex>) and a public_key")
    pem = value["public_key"].encode("ascii", "replace")
    key = public_key_of_pem(pem)
    if key is None or fingerprint(key) != value["fingerprint"]:
        raise ValueError(f"'{what}': the public key is not an Ed25519 key of fingerprint {value['fingerprint']}")
    return KeyRef(value["fingerprint"], pem)


def _head(value: Any) -> HeadRef | None:
    if value is None:
        return None
    if not (isinstance(value, dict) and type(value.get("capture_id")) is str and type(value.get("sequence")) is int
            and 1 <= value["sequence"] < 2**63 and type(value.get("sha256")) is str and _HEX64.match(value["sha256"])):
        raise ValueError("'head' needs capture_id, a positive sequence and a sha256 of 64 hex digits")
    return HeadRef(value["capture_id"], value["sequence"], value["sha256"])


def signature_paths(statement_path: Path) -> tuple[Path, Path]:
    """(the signer's signature, a rotation's new key's signature)."""
    return statement_path.with_name(statement_path.name + ".sig"), statement_path.with_name(statement_path.name + ".new.sig")
