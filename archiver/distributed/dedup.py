"""Revisit records in queued captures: a worker that reaches the capture's workspace reads its index
read-only (the process that queued the capture brought it up to date first, and is the only one to
write it) and writes a revisit record for a payload the workspace stored before, as a local capture
does; a worker without the workspace (a store instead of a shared folder), or whose index cannot be
read, writes full records. The same payload fetched twice within one capture is not a revisit in a
local capture either: a URL is fetched once per capture. With dedup, and unless --no-conditional,
such a worker also asks with the stored payload's validators and archives a 304 as a local capture
does (index/validators.py: the same read-only index, and the WARC files of the workspace)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from ..capturing.exchange import FindOriginal, FindPrior
from ..core.workspace import Workspace
from ..index.store import DedupLookup, holds_payloads


def read_only_dedup(workspace: Workspace) -> FindOriginal | None:
    """Lookups of earlier payloads in ``workspace``'s index, opened read-only; None when there is no
    index, it cannot be read, or it holds no stored payload (a first capture: no lookup per exchange)."""
    path = workspace.state_dir / "index.sqlite"
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
            earlier = holds_payloads(db)
    except sqlite3.Error:
        return None
    return DedupLookup(workspace) if earlier else None


def read_only_prior(workspace: Workspace, dedup: FindOriginal | None, conditional: bool) -> FindPrior | None:
    """The validators of stored payloads for a worker's conditional requests: only where its dedup
    lookup is (the workspace holds stored payloads) and the capture did not say --no-conditional."""
    from ..index.validators import prior_lookup

    return prior_lookup(workspace, dedup is not None, conditional)
