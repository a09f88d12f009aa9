"""The flags a page gets from its payload alone, the same whoever fetched it: paragraphs repeated in
its main text, and, for a revisit (the payload stored before), the text-derived flags its original's
sealed manifest gave it. A local capture and the workers of a distributed one both say them here."""

from __future__ import annotations

from dataclasses import replace

from ..core.models import Original, PageFlag
from ..core.workspace import Workspace

TEXT_FLAGS = frozenset({"repeated-paragraphs"})   # flags derived from a page's payload alone, carried to its revisits


def repeated_flags(url: str, repeated: tuple[tuple[str, int], ...]) -> list[PageFlag]:
    return [PageFlag(url, "repeated-paragraphs", f"a paragraph appears {times} times: {head!r}")
            for head, times in repeated]


class CarriedFlags:
    """The text-derived flags of the originals of a capture's revisits, read (once per original
    capture) from their sealed manifests in ``workspace``; none when a manifest cannot be read."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.originals: dict[str, dict[str, list[PageFlag]]] = {}   # per original capture: its text flags by URL

    def of(self, url: str, original: Original) -> list[PageFlag]:
        """The flags for the revisit of ``url`` whose payload is ``original``'s."""
        by_url = self.originals.get(original.capture_id)
        if by_url is None:
            from ..fixity.manifest import read_manifest
            from ..index.rows import DATA_ERRORS

            by_url = {}
            try:
                flags = read_manifest(self.ws.manifest_path(original.capture_id)).flags
            except (*DATA_ERRORS, OSError):
                flags = ()
            for flag in flags:
                if flag.flag in TEXT_FLAGS:
                    by_url.setdefault(flag.url, []).append(flag)
            self.originals[original.capture_id] = by_url
        return [replace(f, url=url) for f in by_url.get(original.url, [])]
