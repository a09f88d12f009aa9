"""Which captures an export takes: the ids named, every capture (``--all``), or those started at or
after a moment (``--since``). Read from the index's captures table, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime

from ..core.errors import NotArchivedError, UsageError
from ..core.moments import parse_moment
from ..core.workspace import Workspace
from ..index.store import Index


def select_captures(workspace: Workspace, capture_ids: list[str], *, every: bool = False,
                    since: datetime | None = None) -> list[str]:
    """The capture ids to export, oldest first for ``every``/``since``; the named ids as named.

    Exactly one way of choosing is allowed (UsageError otherwise); ``every`` or ``since`` that choose
    nothing is NotArchivedError. Named ids are checked by the exporters themselves."""
    ways = sum((bool(capture_ids), every, since is not None))
    if ways != 1:
        raise UsageError("name the captures to export: capture ids, --all or --since WHEN (one of them)")
    if capture_ids:
        return list(dict.fromkeys(capture_ids))
    with Index.open(workspace) as index:
        rows = index.captures()
    if every:
        chosen = [r.capture_id for r in rows]
        if not chosen:
            raise NotArchivedError("this workspace holds no captures to export")
        return chosen
    assert since is not None
    chosen = [r.capture_id for r in rows if r.started and _started(r.started) >= since]
    if not chosen:
        raise NotArchivedError(f"no capture started at or after {since.isoformat().replace('+00:00', 'Z')}")
    return chosen


def _started(text: str) -> datetime:
    try:
        return parse_moment(text)
    except UsageError:          # an odd value in a sealed manifest: never chosen by --since
        return datetime.min.replace(tzinfo=UTC)
