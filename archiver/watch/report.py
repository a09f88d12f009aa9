"""``archiver report``: the rot and drift table of a workspace, from the index.

Each watched URL (one a schedule names, or a page of a capture a schedule made, even if the
schedule was removed since; every captured page when there were never schedules) is followed
through all its captures, manual and scheduled; ``drift`` judges each step. For a source that is gone,
moved or changed, the report gives the citation of its last good capture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..citing.citations import citation_data, with_overrides
from ..core.errors import ArchiverError
from ..core.humane import moment_ago, parse_moment, span
from ..core.settings import Settings
from ..core.urls import canonical
from ..core.workspace import Workspace
from ..index.store import Index, Memento
from .drift import SEVERITY, Change, Observation, Verdict, changes_over_time

_PAGE_ROLES = ("seed", "source")


@dataclass(frozen=True, slots=True)
class ReportLine:
    change: Change
    citation: str | None          # the last good capture, for gone / moved / changed sources


def build_history(index: Index, schedule_urls: Iterable[str] = ()) -> tuple[dict[str, list[Observation]],
                                                                       dict[tuple[str, str], Memento]]:
    """Every capture of each watched URL, manual or scheduled. A URL is watched when a schedule names
    it (``schedule_urls``) or a scheduled capture, of a schedule kept or removed since, had it as a page;
    with neither, every captured page is watched."""
    history: dict[str, list[Observation]] = {}
    mementos: dict[tuple[str, str], Memento] = {}
    watched = {_key(u) for u in schedule_urls}
    scheduled = False
    for cap in index.captures():
        seen = _observe(index, cap.capture_id, cap.started, history, mementos)
        if cap.schedule:
            scheduled = True
            watched |= {_key(u) for u in seen}
    if scheduled or watched:
        history = {url: obs for url, obs in history.items() if _key(url) in watched}
        mementos = {k: m for k, m in mementos.items() if k[0] in history}
    return history, mementos


def _observe(index: Index, cid: str, started: str | None, history: dict[str, list[Observation]],
             mementos: dict[tuple[str, str], Memento]) -> list[str]:
    """Add one capture's pages (and pages it failed to get) to ``history``; return their URLs."""
    urls = []
    for m in index.capture_mementos(cid):
        if m.role not in _PAGE_ROLES:
            continue
        mementos[(m.url, cid)] = m
        urls.append(m.url)
        history.setdefault(m.url, []).append(Observation(
            url=m.url, datetime=m.datetime, capture_id=cid, status=m.status, location=m.location,
            text=_text(index, m), payload_sha256=m.payload_sha256))
    for f in index.failures_of(cid):
        if f.role in _PAGE_ROLES and started is not None:
            urls.append(f.url)
            history.setdefault(f.url, []).append(Observation(
                url=f.url, datetime=started, capture_id=cid, status=None, failure=f.reason))
    return urls


def _key(url: str) -> str:
    """Every spelling of a URL as one."""
    try:
        return canonical(url)
    except (ArchiverError, ValueError):
        return url


def schedule_urls(workspace: Workspace, settings: Settings) -> list[str]:
    """The URLs the workspace's schedules name (a urls file that cannot be read adds none)."""
    urls: list[str] = []
    for sched in settings.schedules:
        try:
            urls += sched.all_urls(workspace.root)
        except ArchiverError:
            urls += sched.urls
    return urls


def _text(index: Index, m: Memento) -> str | None:
    if m.revisit_of:
        return index.text_of(m.revisit_of.capture_id, m.revisit_of.record_id)
    return index.text_of(m.capture_id, m.record_id)


def drift_report(workspace: Workspace, settings: Settings, since: str | None = None,
                 style: str = "apa") -> list[ReportLine]:
    """``style``: any style ``archiver cite --style`` takes (checked before anything is read)."""
    from ..citing.formats import renderer

    render = renderer(style)

    with Index.open(workspace) as index:
        history, mementos = build_history(index, schedule_urls(workspace, settings))
    changes = changes_over_time(history, since) if since else latest_events(history)
    lines = []
    for change in changes:
        citation = None
        if change.verdict in (Verdict.GONE, Verdict.MOVED, Verdict.CHANGED):
            good = _last_good(history.get(change.url, []), change)
            if good is not None:
                memento = mementos[(good.url, good.capture_id)]
                citation = render(with_overrides(workspace, [citation_data(memento, settings)])).strip()
        lines.append(ReportLine(change, citation))
    return lines


def latest_events(history: dict[str, list[Observation]]) -> list[Change]:
    """Per URL, its latest event: the last step that changed something (a source gone two runs ago
    and still gone is reported gone); a URL that never changed is unchanged (or new)."""
    by_url: dict[str, list[Change]] = {}
    for change in changes_over_time(history):
        by_url.setdefault(change.url, []).append(change)
    picked = []
    for steps in by_url.values():
        steps.sort(key=lambda c: c.after.datetime)
        events = [c for c in steps if c.verdict not in (Verdict.UNCHANGED, Verdict.NEW)]
        picked.append(events[-1] if events else steps[-1])
    return sorted(picked, key=lambda c: (SEVERITY[c.verdict], c.url))


def _last_good(observations: list[Observation], change: Change) -> Observation | None:
    """The latest capture before the change that had the page (2xx)."""
    before = [o for o in observations if o.datetime < change.after.datetime and o.status is not None
              and 200 <= o.status < 300]
    return max(before, key=lambda o: o.datetime) if before else None


def report_json(lines: list[ReportLine]) -> list[dict[str, Any]]:
    return [{"url": l.change.url, "verdict": str(l.change.verdict), "detail": l.change.detail,
             "capture_id": l.change.after.capture_id, "datetime": l.change.after.datetime,
             "previous_capture_id": l.change.before.capture_id if l.change.before else None,
             "diff": list(l.change.diff), "last_good_citation": l.citation} for l in lines]


def _when_seen(change: Change, now: datetime) -> str:
    """"seen 2026-11-30 22:04:31 UTC (3 hours ago) in capture ..., 1 day 2 hours after the one before"."""
    after = parse_moment(change.after.datetime)
    text = f"seen {moment_ago(change.after.datetime, now)} in capture {change.after.capture_id}"
    before = parse_moment(change.before.datetime) if change.before else None
    if after is not None and before is not None:
        text += f", {span((after - before).total_seconds())} after the capture before"
    return text


def left_out(workspace: Workspace) -> list[tuple[str, str, str]]:
    """(capture id, item, reason) of what the index left out of sealed manifests: values out of range
    or of the wrong type (a hand edit, an older archiver). The report cannot follow those."""
    with Index.open(workspace) as index:
        return index.left_out()


def left_out_text(items: list[tuple[str, str, str]]) -> list[str]:
    return [f"left out of the index: capture {cid} {item}: {reason}" for cid, item, reason in items]


def report_text(lines: list[ReportLine], left: list[tuple[str, str, str]] | None = None, *,
                now: datetime | None = None) -> str:
    """The report as a person reads it: each verdict, when it was seen (the time with its zone and how
    long ago, and how long after the capture before), the diff and the last good capture."""
    now = now or datetime.now(UTC)
    if not lines:
        return "\n".join(["nothing watched yet: no capture in this workspace", *left_out_text(left or [])])
    out = []
    for l in lines:
        out.append(f"{str(l.change.verdict).upper():<10} {l.change.url}  ({l.change.detail})")
        out.append(f"             {_when_seen(l.change, now)}")
        out += [f"             {d}" for d in l.change.diff]
        if l.citation:
            out.append(f"             last good capture: {l.citation}")
    counts: dict[str, int] = {}
    for l in lines:
        counts[str(l.change.verdict)] = counts.get(str(l.change.verdict), 0) + 1
    out.append("summary: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return "\n".join(out + left_out_text(left or []))
