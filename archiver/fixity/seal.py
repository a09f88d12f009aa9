"""Sealing a capture: chain its manifest to the previous one, write the checksum list, sign it,
and write the manifest last, all under the workspace lock.

Order on disk (each file written to a temporary name, fsynced and renamed):
``<id>.sha256`` -> ``<id>.sha256.sig`` (when the workspace has a key) -> ``<id>.yaml``.
The manifest is the seal: until it exists the capture is debris that ``verify`` reports as an
orphan, and once it exists everything it vouches for is already on disk. A signed manifest names
its key's fingerprint (``signing_key``). After the manifest, the seal is told to the witness
(``archiver.witness``), outside the workspace, so that a later rollback can be seen. Last, outside
the lock, each timestamp authority configured is asked for a token over the checksum list
(``fixity.timestamps``); the manifest lists them. A token that cannot be had never undoes the seal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ManifestError, WorkspaceError
from ..core.models import ChainRef, Manifest
from ..core.workspace import Workspace, atomic_write
from .chain import ChainLink, check_chain, link_of
from .manifest import dump_manifest, manifest_document, read_manifest
from .segment import imported_ids
from .signing import fingerprint, load_private_key
from .witness import read as read_witness
from .witness import record_key, record_seal, witness_paths

if TYPE_CHECKING:
    from .timestamps import Stamp


@dataclass(frozen=True, slots=True)
class Sealed:
    manifest: Path
    checksums: Path
    signature: Path | None
    sequence: int
    witness_problems: tuple[str, ...] = ()     # witness files that could not be written (the seal stands)
    previous: ChainLink | None = None          # the manifest this one follows in the chain
    signing_key: str | None = None             # fingerprint of the key that signed it
    document: Manifest | None = None           # the manifest as sealed (``seal``'s; None from ``seal_document``)
    timestamps: tuple[Stamp, ...] = ()         # each authority asked for a token, and what came of it

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per token that could not be had: the seal stands."""
        return tuple(f"no timestamp token yet from {s.authority}: {s.problem} ('archiver timestamp' asks again)"
                     for s in self.timestamps if s.problem is not None)


def checksum_list(entries: list[tuple[str, str]]) -> bytes:
    """``sha256sum`` format: '<hex>  <path>' lines, paths relative to the workspace."""
    return "".join(f"{digest}  {path}\n" for digest, path in entries).encode("utf-8")


def signing_key(workspace: Workspace, witness_file: Path | None = None) -> Any | None:
    """The workspace's private key, checked: readable, Ed25519, matching its public key and the key
    this user pinned for the workspace. None when the workspace has no key. Call it before a capture
    starts, so that a broken or replaced key stops it before anything is fetched."""
    return _key_and_pin(workspace, witness_file)[0]


def _key_and_pin(workspace: Workspace, witness_file: Path | None) -> tuple[Any | None, str | None]:
    """(the checked key or None, the fingerprint this user pinned or None): one read of the witness."""
    if not workspace.private_key_path.exists():
        return None, None
    key = load_private_key(workspace.private_key_path, workspace.public_key_path)
    pinned = read_witness(witness_paths(workspace.root, witness_file)[:1]).key
    if pinned is not None and pinned != fingerprint(key.public_key()):
        raise WorkspaceError(f"the signing key {workspace.relative(workspace.private_key_path)} has fingerprint "
                             f"{fingerprint(key.public_key())}, but this user pinned {pinned} for this workspace: "
                             "refusing to sign with a replaced key (archiver verify --accept-key, if you replaced it)",
                             path=str(workspace.private_key_path))
    return key, pinned


def seal(workspace: Workspace, manifest: Manifest, *, witness_file: Path | None = None,
         authorities: tuple[str, ...] = (), roots: tuple[Path, ...] = ()) -> Sealed:
    """Chain, checksum, sign and write ``manifest``, then ask ``authorities`` for timestamp tokens
    (checked against ``roots`` when given); returns the files written and the manifest as sealed."""
    sealed = seal_document(workspace, manifest_document(manifest), witness_file=witness_file,
                           authorities=authorities, roots=roots)
    previous = ChainRef(sealed.previous.capture_id, sealed.previous.sha256) if sealed.previous else None
    return dataclasses.replace(sealed, document=dataclasses.replace(
        manifest, sequence=sealed.sequence, previous=previous, signing_key=sealed.signing_key,
        timestamp_authorities=authorities or manifest.timestamp_authorities))


def seal_document(workspace: Workspace, document: dict[str, Any], *, witness_file: Path | None = None,
                  authorities: tuple[str, ...] = (), roots: tuple[Path, ...] = ()) -> Sealed:
    """Seal a manifest given as plain data (``manifest_document``'s), written as it is but for the
    chain fields. ``seal`` is the way for a Manifest; this is the way for data of another shape, such
    as a test's manifest with odd values."""
    capture_id = document["capture_id"]
    path = workspace.manifest_path(capture_id)
    with workspace.lock():
        if path.exists():
            raise ManifestError("a manifest for this capture id exists already; manifests are never rewritten",
                                path=str(path))
        key, pinned = _key_and_pin(workspace, witness_file)
        key_id = fingerprint(key.public_key()) if key is not None else None
        head = find_head(workspace)
        sequence = (head.sequence or 0) + 1 if head else 1
        document = {**document, "sequence": sequence,
                    "previous": {"capture_id": head.capture_id, "sha256": head.sha256} if head else None}
        if key_id is not None:
            document["signing_key"] = key_id
        if authorities:
            document["timestamp_authorities"] = list(authorities)
        body = dump_manifest(document)
        digest = hashlib.sha256(body).hexdigest()
        entries = [(w["sha256"], w["path"]) for w in document["warc_files"]]
        entries.append((digest, workspace.relative(path)))
        checksums = checksum_list(entries)
        signature = key.sign(checksums) if key is not None else None
        atomic_write(workspace.checksum_path(capture_id), checksums)
        if signature is not None:
            atomic_write(workspace.signature_path(capture_id), signature)
        atomic_write(path, body)
        _remember_head(workspace, ChainLink(capture_id, digest, sequence, None, None))
        problems = _witness(workspace, witness_file, capture_id, sequence, digest, key_id,
                            pin=key_id is not None and pinned is None)
    stamps: tuple[Stamp, ...] = ()
    if authorities:
        from .timestamps import stamp_capture

        stamps = tuple(stamp_capture(workspace, capture_id, enumerate(authorities, 1), roots))
    return Sealed(path, workspace.checksum_path(capture_id), workspace.signature_path(capture_id) if signature else None,
                  sequence, problems, head, key_id, timestamps=stamps)


def _witness(workspace: Workspace, witness_file: Path | None, capture_id: str, sequence: int, digest: str,
             key_id: str | None, *, pin: bool) -> tuple[str, ...]:
    paths = witness_paths(workspace.root, witness_file)
    problems: list[str] = []
    if pin and key_id is not None:
        problems += record_key(paths, workspace.root, key_id)        # pinned on first use
    problems += record_seal(paths, workspace.root, capture_id=capture_id, sequence=sequence, sha256=digest,
                            key=key_id)
    return tuple(problems)


def find_head(workspace: Workspace) -> ChainLink | None:
    """The last sealed manifest: from the cache when it is still right, else by reading them all."""
    paths = workspace.manifest_paths()
    if not paths:
        return None
    cached = _cached_head(workspace, len(paths))
    if cached is not None:
        return cached
    links = []
    held: set[str] = set()            # captures imported from another chain (fixity.segment): not in this one
    for p in paths:
        try:
            data = read_manifest(p)
        except ManifestError:
            continue
        links.append(link_of(data.capture_id, hashlib.sha256(p.read_bytes()).hexdigest(), data))
        held |= imported_ids(data)
    return check_chain([link for link in links if link.capture_id not in held]).head


def _cached_head(workspace: Workspace, count: int) -> ChainLink | None:
    try:
        data = json.loads(workspace.head_cache_path.read_text())
        path = workspace.manifest_path(data["capture_id"])
        if data["count"] != count or hashlib.sha256(path.read_bytes()).hexdigest() != data["sha256"]:
            return None
        return ChainLink(data["capture_id"], data["sha256"], data["sequence"], None, None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember_head(workspace: Workspace, head: ChainLink) -> None:
    data = {"capture_id": head.capture_id, "sha256": head.sha256, "sequence": head.sequence,
            "count": len(workspace.manifest_paths())}
    atomic_write(workspace.head_cache_path, json.dumps(data).encode())
