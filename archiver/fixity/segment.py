"""A chain segment: captures of one workspace's chain held somewhere else (an export package, or
another workspace that imported them), and the rules ``verify`` checks them by.

A workspace's chain is one line from its first capture. A package holds only some of its captures:
those exported and those whose WARC files hold the originals of their revisits. Their ``previous``
links may point at captures the package does not hold. The segment file (``chain.yaml``, written by
the export) states which captures the package holds, each manifest's sha256, every link that points
out of the package (``links_out``: the capture id and manifest sha256 named, never followed) and the
head. Verify then checks the captures held, and a link out is a problem only when the segment file
does not name it with that digest: nothing outside is reported missing.

A workspace that imports a package seals its own small *import* manifest (``imported_from.format:
archiver-package``) listing the same facts; its signature and its place in that workspace's chain
vouch for the imported manifests, which stay byte for byte as their own workspace sealed them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ManifestError
from ..core.models import Manifest
from .chain import ChainLink

SEGMENT_FORMAT = "archiver-package-chain"
SEGMENT_VERSION = 1
IMPORT_FORMAT = "archiver-package"      # imported_from.format of an import manifest
MAX_CAPTURES = 100_000                  # bounds on a segment read from outside
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Held:
    """One capture of the segment: its manifest's sha256, and whether it was chosen for export
    (else it is held for the originals of revisits)."""

    capture_id: str
    sha256: str
    sequence: int
    exported: bool = True


@dataclass(frozen=True, slots=True)
class Segment:
    """What a segment file (or an import manifest) states about the captures held."""

    captures: tuple[Held, ...]                # chain order
    links_out: dict[str, str]                 # capture id outside -> manifest sha256 a capture here names
    head: str | None                          # capture id of the newest held
    keys: dict[str, str]                      # key fingerprint -> public key file name, beside the segment file
    source: str                               # where it was stated: 'chain.yaml', 'import capture X'
    signed_by: str | None = None              # the key that signed the segment file (chain.yaml.sig)

    @property
    def ids(self) -> set[str]:
        return {h.capture_id for h in self.captures}


# -- writing -------------------------------------------------------------------------------------

def segment_document(links: list[ChainLink], exported: set[str], keys: dict[str, str]) -> dict[str, Any]:
    """The segment file's data for the captures ``links`` (their manifests as sealed)."""
    ordered = sorted(links, key=lambda l: (l.sequence or 0, l.capture_id))
    held = {l.capture_id for l in ordered}
    out = {l.previous_id: l.previous_sha256 for l in ordered if l.previous_id and l.previous_id not in held}
    head = ordered[-1] if ordered else None
    return {
        "format": SEGMENT_FORMAT, "format_version": SEGMENT_VERSION,
        "captures": [{"capture_id": l.capture_id, "sequence": l.sequence, "sha256": l.sha256,
                      "exported": l.capture_id in exported} for l in ordered],
        "links_out": [{"capture_id": cid, "sha256": digest} for cid, digest in sorted(out.items())],
        "head": {"capture_id": head.capture_id, "sequence": head.sequence, "sha256": head.sha256} if head else None,
        "signing_keys": [{"fingerprint": fp, "file": name} for fp, name in sorted(keys.items())],
    }


# -- reading -------------------------------------------------------------------------------------

def read_segment(data: Any, source: str) -> Segment:
    """A Segment from a segment file's loaded data; ManifestError naming the first bad value."""
    if not isinstance(data, dict) or data.get("format") != SEGMENT_FORMAT:
        raise ManifestError(f"{source}: not an archiver segment file (format {SEGMENT_FORMAT})", path=source)
    if data.get("format_version") != SEGMENT_VERSION:
        raise ManifestError(f"{source}: format_version {data.get('format_version')!r} is not {SEGMENT_VERSION}",
                            path=source)
    captures = tuple(_held(c, source) for c in _list(data.get("captures"), "captures", source))
    links = {_text(l, "capture_id", _ID, source): _text(l, "sha256", _HEX64, source)
             for l in _list(data.get("links_out"), "links_out", source)}
    head = data.get("head")
    keys = {_text(k, "fingerprint", _FINGERPRINT, source): _key_file(k, source)
            for k in _list(data.get("signing_keys"), "signing_keys", source)}
    signed_by = _text(data, "signed_by", _FINGERPRINT, source) if data.get("signed_by") is not None else None
    return Segment(captures, links, _text(head, "capture_id", _ID, source) if head is not None else None, keys,
                   source, signed_by)


def import_segment(imported_from: dict[str, Any], source: str) -> Segment:
    """The Segment an import manifest's ``imported_from`` states (the same keys as a segment file)."""
    return read_segment({**imported_from, "format": SEGMENT_FORMAT, "format_version": SEGMENT_VERSION}, source)


def imported_ids(manifest: Manifest) -> set[str]:
    """The captures an import manifest vouches for (none for any other manifest)."""
    imported = manifest.imported_from or {}
    if imported.get("format") != IMPORT_FORMAT or not isinstance(imported.get("captures"), list):
        return set()
    return {c["capture_id"] for c in imported["captures"] if isinstance(c, dict) and isinstance(c.get("capture_id"), str)}


def _list(value: Any, what: str, source: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CAPTURES:
        raise ManifestError(f"{source}: {what} must be a list of at most {MAX_CAPTURES}", path=source)
    return value


def _text(entry: Any, key: str, pattern: re.Pattern[str], source: str) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ManifestError(f"{source}: {key} {str(value)[:80]!r} is not valid", path=source)
    return value


def _held(entry: Any, source: str) -> Held:
    sequence = entry.get("sequence") if isinstance(entry, dict) else None
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 < sequence < 2**63:
        raise ManifestError(f"{source}: sequence {sequence!r} is not a positive integer", path=source)
    exported = entry.get("exported", True)
    if not isinstance(exported, bool):
        raise ManifestError(f"{source}: exported must be true or false", path=source)
    return Held(_text(entry, "capture_id", _ID, source), _text(entry, "sha256", _HEX64, source), sequence, exported)


def _key_file(entry: Any, source: str) -> str:
    name = _text(entry, "file", re.compile(r"[0-9a-f]{64}\.pub\.pem"), source)
    return name


def key_file_name(fingerprint: str) -> str:
    """The public key's file name in a package: the hex of its fingerprint, ``.pub.pem``."""
    return f"{fingerprint.removeprefix('sha256:')}.pub.pem"


# -- checking ------------------------------------------------------------------------------------

def segment_problems(segment: Segment, links: dict[str, ChainLink]) -> Iterator[tuple[str | None, str]]:
    """(capture id, message) for each way ``links`` (the manifests found, by capture id) break what
    the segment states: a capture missing or edited, a capture found but not stated, a link out the
    segment does not name with that digest, a fork, a sequence gap, a head that is not the newest."""
    stated = {h.capture_id: h for h in segment.captures}
    for held in segment.captures:
        link = links.get(held.capture_id)
        if link is None:
            yield held.capture_id, f"missing: {segment.source} lists this capture, its manifest is not here"
        elif link.sha256 != held.sha256:
            yield held.capture_id, (f"manifest edited: its sha256 is {link.sha256}, {segment.source} "
                                    f"says {held.sha256}")
    followers: dict[str, list[str]] = {}
    for cid in sorted(stated):
        link = links.get(cid)
        if link is None or link.previous_id is None:
            continue
        followers.setdefault(link.previous_id, []).append(cid)
        yield from _previous_problems(segment, link, links if link.previous_id in stated else None)
    for previous, nexts in followers.items():
        if len(nexts) > 1:
            yield previous, f"chain forked: captures {', '.join(nexts)} all follow {previous}"
    newest = max((h for h in segment.captures if h.capture_id in links), key=lambda h: h.sequence, default=None)
    if newest is not None and segment.head != newest.capture_id:
        yield None, f"{segment.source} names {segment.head} as the head, the newest capture held is {newest.capture_id}"


def _previous_problems(segment: Segment, link: ChainLink,
                       held: dict[str, ChainLink] | None) -> Iterator[tuple[str | None, str]]:
    previous = link.previous_id or ""
    if held is None:                                  # a link out of the segment
        named = segment.links_out.get(previous)
        if named is None:
            yield link.capture_id, (f"chain broken: its previous capture {previous} is neither held nor named "
                                    f"by {segment.source} as a link out")
        elif named != link.previous_sha256:
            yield link.capture_id, (f"chain broken: it names {previous} with sha256 {link.previous_sha256}, "
                                    f"{segment.source} says {named}")
        return
    prev = held[previous]
    if prev.sha256 != link.previous_sha256:
        yield previous, (f"manifest edited: manifests/{previous}.yaml has sha256 {prev.sha256}, capture "
                         f"{link.capture_id} recorded {link.previous_sha256}")
    elif prev.sequence is not None and link.sequence is not None and link.sequence != prev.sequence + 1:
        yield link.capture_id, f"chain broken: sequence {link.sequence} follows {prev.sequence}"


def key_path(segment: Segment, folder: Path, fingerprint: str | None) -> Path | None:
    """The public key file for ``fingerprint`` (or the segment's only key), in ``folder``."""
    name = segment.keys.get(fingerprint or "") or (next(iter(segment.keys.values())) if len(segment.keys) == 1 else None)
    return folder / name if name else None
