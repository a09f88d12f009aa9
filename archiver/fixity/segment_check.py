"""How ``verify`` splits the manifests it finds into the workspace's own chain and the segments
held from other chains (``fixity.segment``), and which key checks each held capture's signature.

- Verifying a package: every manifest belongs to the package's one segment, stated by its
  ``chain.yaml``; its keys lie beside that file. There is no own chain.
- Verifying a workspace: each import manifest (``imported_from.format: archiver-package``) states a
  segment; the captures it names are checked against it, their signatures under their own key
  (kept in ``keys/imported/``), and are left out of the workspace's own chain, which the import
  manifest itself belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ArchiverError
from ..core.models import Manifest
from ..core.workspace import Workspace
from .chain import ChainLink
from .segment import IMPORT_FORMAT, Segment, import_segment, key_file_name, key_path, segment_problems
from .trust_rules import Finding, Level, SigState, judge_signatures
from .witness import Witnessed


@dataclass(frozen=True, slots=True)
class PackageView:
    """A package laid out as a workspace (``archive/``, ``manifests/``), with its segment file read."""

    segment: Segment
    key_folder: Path             # where the segment's key files are


@dataclass(slots=True)
class Split:
    own: list[ChainLink]                                   # the workspace's own chain
    segments: list[tuple[Segment, Path]] = field(default_factory=list)     # each with its key folder
    problems: list[tuple[str | None, str]] = field(default_factory=list)
    pending: list[tuple[str | None, str]] = field(default_factory=list)   # warnings: imports to complete
    held: dict[str, int] = field(default_factory=dict)     # capture id -> index into segments
    head: ChainLink | None = None                          # a package's head
    keys: dict[Path, Any] = field(default_factory=dict)    # key files loaded

    def key_for(self, capture_id: str, manifest: Manifest, default: Any) -> Any:
        """The public key that checks a capture's signature: its segment's, else ``default``."""
        n = self.held.get(capture_id)
        if n is None:
            return default
        segment, folder = self.segments[n]
        path = key_path(segment, folder, manifest.signing_key)
        if path is None or not path.is_file():
            return default
        if path not in self.keys:
            from .signing import load_public_key

            try:
                self.keys[path] = load_public_key(path)
            except ArchiverError as exc:
                self.problems.append((capture_id, str(exc)))
                self.keys[path] = None
        return self.keys[path] or default


def split_chain(workspace: Workspace, links: dict[str, ChainLink], manifests: dict[str, Manifest],
                package: PackageView | None) -> Split:
    if package is not None:
        split = Split(own=[], segments=[(package.segment, package.key_folder)])
        split.held = {cid: 0 for cid in links}
        for cid in sorted(set(links) - package.segment.ids):
            split.problems.append((cid, f"in the package, but {package.segment.source} does not list it"))
        held = [links[h.capture_id] for h in package.segment.captures if h.capture_id in links]
        split.head = max(held, key=lambda l: (l.sequence or 0, l.capture_id), default=None)
    else:
        split = Split(own=[])
        folder = workspace.root / "keys" / "imported"
        for cid, m in manifests.items():
            if (m.imported_from or {}).get("format") != IMPORT_FORMAT:
                continue
            try:
                segment = import_segment(m.imported_from or {}, f"import capture {cid}")
            except ArchiverError as exc:
                split.problems.append((cid, str(exc)))
                continue
            split.segments.append((segment, folder))
            split.held.update({h.capture_id: len(split.segments) - 1 for h in segment.captures})
            staged = _staged(workspace, cid, segment, links)
            for waiting in staged:
                split.pending.append((waiting, f"import capture {cid} stopped before its last step: this capture's "
                                               f"seal files wait, unchanged, in {STAGING}/{cid}/; importing the "
                                               "same package again completes it"))
            links = {**links, **staged}
        split.own = [link for cid, link in links.items() if cid not in split.held]
    for segment, _ in split.segments:
        split.problems += segment_problems(segment, links)
    return split


STAGING = ".archiver/tmp"          # an import's scratch folder: <STAGING>/<import record id>/


def _staged(workspace: Workspace, record_id: str, segment: Segment, links: dict[str, ChainLink]) -> dict[str, ChainLink]:
    """Captures an import record lists that are not in manifests/ but whose manifest waits in the
    import's scratch folder with the very sha256 the record lists (an import killed between sealing
    its record and moving the seal files in): capture id -> its chain link."""
    import hashlib

    from .chain import link_of
    from .manifest import read_manifest

    out: dict[str, ChainLink] = {}
    folder = workspace.root / STAGING / record_id
    for held in segment.captures:
        path = folder / f"{held.capture_id}.yaml"
        if held.capture_id in links or not path.is_file():
            continue
        try:
            raw = path.read_bytes()
            if hashlib.sha256(raw).hexdigest() == held.sha256:
                out[held.capture_id] = link_of(held.capture_id, held.sha256, read_manifest(path, raw))
        except (OSError, ArchiverError):
            continue
    return out


def judge_segments(split: Split | None, seals: list[SigState], *, trusted_key: str | None) -> list[Finding]:
    """The signature rules (trust_rules) applied to each segment's captures, under its own key."""
    out: list[Finding] = []
    if split is None:
        return out
    none = Witnessed()
    for n, (segment, folder) in enumerate(split.segments):
        states = [s for s in seals if split.held.get(s.capture_id) == n]
        key_id = trusted_key or _only_key(segment)
        path = key_path(segment, folder, key_id)
        out += judge_signatures(states, key_id=key_id, key_source=path.name if path and not trusted_key else None,
                                trusted=trusted_key is not None, witnessed=none)
    return out


def segment_signature(package: PackageView, data: bytes, signature: bytes | None) -> list[Finding]:
    """The package's segment file against its signature by the exporter's key."""
    from .signing import load_public_key, signature_valid

    signer = package.segment.signed_by
    if signature is None:
        if package.segment.keys:
            return [Finding(Level.WARNING, f"{package.segment.source} is not signed: that the package holds "
                                           "every capture it was exported with is its own word")]
        return []
    path = package.key_folder / key_file_name(signer) if signer else None    # the exporter's key, maybe no signer's
    if path is None or not path.is_file():
        return [Finding(Level.ERROR, f"{package.segment.source} is signed, but the package holds no key {signer}")]
    try:
        valid = signature_valid(load_public_key(path), data, signature)
    except ArchiverError as exc:
        return [Finding(Level.ERROR, str(exc))]
    if not valid:
        return [Finding(Level.ERROR, f"{package.segment.source}: invalid signature (chain.yaml.sig) under the key "
                                     f"{signer}: the segment file or its signature was altered")]
    return []


def _only_key(segment: Segment) -> str | None:
    return next(iter(segment.keys)) if len(segment.keys) == 1 else None
