"""``archiver run``: capture every schedule that is due, once (or, watching, as they fall due).

When each schedule last ran, and how many of its runs failed in a row, is read from the index
(derived from the manifests, which name their schedule), so nothing but the files keeps state.
Schedules run one after another, so per-host politeness holds across all of them; a failing
schedule backs off (``due.next_due``) and never stops the others.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from ..capturing.run import capture
from ..core.errors import ArchiverError, UsageError, WorkspaceError
from ..core.moments import parse_moment
from ..core.schedule_times import next_due
from ..core.settings import Schedule, Settings
from ..core.workspace import Workspace, atomic_write
from ..index.store import CaptureRow, Index

EX_TEMPFAIL = 75
SEEN_FILE = "schedules-seen.json"


class RunBusy(WorkspaceError):
    """Another ``archiver run`` holds this workspace's run lock."""

    exit_code = EX_TEMPFAIL


@dataclass(frozen=True, slots=True)
class ScheduleState:
    schedule: Schedule
    last_run: datetime | None
    failures: int                 # consecutive failed runs, latest first
    last_outcome: str             # "ok", "failed", or "never run"
    next_due: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    schedule: str
    capture_id: str | None
    ok: bool
    detail: str


def states(workspace: Workspace, settings: Settings, now: datetime) -> list[ScheduleState]:
    with Index.open(workspace) as index:
        out = []
        seen = _first_seen(workspace, [s for s in settings.schedules if s.when.cron is not None
                                       and not index.captures(schedule=s.name)], now)
        for sched in settings.schedules:
            runs = index.captures(schedule=sched.name)
            failures = 0
            for run in reversed(runs):
                if run.ok:
                    break
                failures += 1
            last = _last_run(runs)
            outcome = "never run" if not runs else ("ok" if runs[-1].ok else "failed")
            out.append(ScheduleState(sched, last, failures, outcome, next_due(sched.when, last, now, failures,
                                                                                  seen.get(sched.name))))
    return out


def note_added(workspace: Workspace, schedule: Schedule, now: datetime) -> None:
    """``schedule add`` notes when a cron schedule was added: it is first due at its first fire time
    after that (not at the first fire time after someone next lists or runs the schedules)."""
    if schedule.when.cron is not None:
        _first_seen(workspace, [schedule], now)


def _first_seen(workspace: Workspace, never_run: list[Schedule], now: datetime) -> dict[str, datetime]:
    """When each never-run cron schedule was first seen (a new ``--cron '0 6 * * *'`` is due at the
    next 06:00 after that, not at once), kept in the state folder; a schedule seen for the first time
    (``schedule add`` sees each as it is added) is noted at ``now``. Keyed by name and cron, so a
    changed expression starts again."""
    import json

    path = workspace.state_dir / SEEN_FILE
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    out, changed = {}, False
    for sched in never_run:
        key = f"{sched.name} {sched.when}"
        try:
            out[sched.name] = parse_moment(known[key])
        except (KeyError, TypeError, UsageError):
            known[key], changed = now.astimezone(UTC).isoformat(), True
            out[sched.name] = now
    if changed:
        try:
            atomic_write(path, json.dumps(known, indent=1, sort_keys=True).encode("utf-8"))
        except OSError:      # a read-only workspace: the schedule counts from now, as before
            pass
    return out


def _last_run(runs: list[CaptureRow]) -> datetime | None:
    """When the latest run whose start time can be read started (a hand-edited manifest may have
    an unreadable one: it does not stop the schedule)."""
    for run in reversed(runs):
        try:
            return parse_moment(run.started or "")
        except UsageError:
            continue
    return None


@contextmanager
def run_lock(workspace: Workspace) -> Iterator[None]:
    """The run lock, taken without waiting: RunBusy if another run holds it. The kernel drops it
    when a run dies, so a killed run never leaves a stale lock."""
    workspace.ensure()
    with open(workspace.state_dir / "run.lock", "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusy("another archiver run is busy in this workspace; nothing done",
                          path=str(workspace.root)) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def run_due(workspace: Workspace, settings: Settings, now: datetime | None = None,
            stop: Callable[[], bool] = lambda: False) -> list[Outcome]:
    """Capture each schedule that is due at ``now``, once. The caller holds the run lock."""
    now = now or datetime.now(UTC)
    outcomes = []
    for state in states(workspace, settings, now):
        if stop():
            break
        if state.next_due > now:
            continue
        outcomes.append(_run_one(workspace, settings, state.schedule))
    return outcomes


def _run_one(workspace: Workspace, settings: Settings, sched: Schedule) -> Outcome:
    try:
        result = capture(sched.all_urls(workspace.root), workspace, sched.options, settings=settings,
                         schedule=sched.name)
    except ArchiverError as exc:
        return Outcome(sched.name, None, False, str(exc))
    detail = "ok" if result.ok else result.seed_problems[0]
    return Outcome(sched.name, result.capture_id, result.ok, detail)


def watch(workspace: Workspace, settings: Settings, stop: Callable[[], bool],
          report: Callable[[list[Outcome]], None], clock: Callable[[], datetime] | None = None,
          max_sleep: float = 60.0, due: Callable[..., list[Outcome]] = run_due) -> None:
    """Run schedules as they fall due until ``stop()``; a capture in progress always finishes.
    ``due``: how the due schedules run (``run_due`` here, or on the pool: watch.pool)."""
    clock = clock or (lambda: datetime.now(UTC))
    while not stop():
        outcomes = due(workspace, settings, clock(), stop)
        if outcomes:
            report(outcomes)
        upcoming = [s.next_due for s in states(workspace, settings, clock())]
        wait = min([(d - clock()).total_seconds() for d in upcoming] + [max_sleep])
        deadline = time.monotonic() + max(1.0, wait)
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.2)
