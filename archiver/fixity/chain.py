"""The chain of manifests: each records the sha256 of the manifest sealed before it, so removing or
editing any earlier capture breaks the chain. Pure: loaded manifests in, problems out."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.models import Manifest


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One manifest as the chain sees it."""

    capture_id: str
    sha256: str                      # of the manifest file's bytes
    sequence: int | None
    previous_id: str | None
    previous_sha256: str | None


@dataclass(frozen=True, slots=True)
class ChainReport:
    head: ChainLink | None
    problems: tuple[tuple[str, str], ...]   # (capture id, message)


def link_of(capture_id: str, sha256: str, manifest: Manifest) -> ChainLink:
    previous = manifest.previous
    return ChainLink(capture_id, sha256, manifest.sequence, previous.capture_id if previous else None,
                     previous.sha256 if previous else None)


def check_chain(links: list[ChainLink]) -> ChainReport:
    """Every manifest must point at an existing predecessor with the digest it recorded, and the
    manifests must form one line: one first capture, no forks."""
    by_id = {link.capture_id: link for link in links}
    problems: list[tuple[str, str]] = []
    successors: dict[str, list[str]] = {}
    firsts = []
    for link in links:
        if link.previous_id is None:
            firsts.append(link.capture_id)
            continue
        successors.setdefault(link.previous_id, []).append(link.capture_id)
        prev = by_id.get(link.previous_id)
        if prev is None:
            problems.append((link.capture_id, f"chain broken: capture {link.previous_id} is missing "
                                              f"(capture {link.capture_id} follows it)"))
        elif prev.sha256 != link.previous_sha256:
            problems.append((prev.capture_id, f"manifest edited: manifests/{prev.capture_id}.yaml has sha256 "
                                              f"{prev.sha256}, capture {link.capture_id} recorded {link.previous_sha256}"))
        elif prev.sequence is not None and link.sequence is not None and link.sequence != prev.sequence + 1:
            problems.append((link.capture_id, f"chain broken: sequence {link.sequence} follows {prev.sequence}"))
    if len(firsts) > 1:
        problems.append((firsts[1], f"chain broken: {len(firsts)} captures claim to be the first "
                                    f"({', '.join(sorted(firsts))})"))
    for prev_id, nexts in successors.items():
        if len(nexts) > 1:
            problems.append((prev_id, f"chain forked: captures {', '.join(sorted(nexts))} all follow {prev_id}"))
    heads = [link for link in links if link.capture_id not in successors]
    head = max(heads, key=lambda l: (l.sequence or 0, l.capture_id)) if heads else None
    return ChainReport(head=head, problems=tuple(problems))
