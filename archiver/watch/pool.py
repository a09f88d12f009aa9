"""``archiver run --queue``: the due schedules go to the pool of ``archiver worker`` processes.

Each due schedule becomes one queued capture (its manifest names the schedule, as a local run's does,
so ``schedule list``, ``report`` and the next ``run`` see it the same way); this process holds every
one's sealer lease and seals each as its frontier is exhausted. If it dies, workers seal them. A
schedule whose capture is still in the queue (a run that died, its capture not sealed yet) is not
queued again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..core.errors import ArchiverError, UsageError
from ..core.workspace import Workspace
from ..distributed.capture import Queued, queue_capture, seal_when_done
from ..distributed.sealing import SealerLease, holder_name, meta_of
from ..distributed.spec import CaptureSpec
from .runs import Outcome, states


def run_due_on(queue: Any, workspace: Workspace, settings: Any, now: datetime | None = None,
               stop: Callable[[], bool] = lambda: False, store: Any = None) -> list[Outcome]:
    """Queue each schedule due at ``now`` and seal its capture here; the caller holds the run lock.
    ``store``: archiver.yaml's, where the workers put their files (distributed.store)."""
    now = now or datetime.now(UTC)
    waiting = _in_the_queue(queue, workspace)
    outcomes: list[Outcome] = []
    queued: list[Queued] = []
    with SealerLease(queue, holder_name("run --queue")) as sealer:
        for state in states(workspace, settings, now):
            sched = state.schedule
            if stop() or state.next_due > now:
                continue
            if sched.name in waiting:
                outcomes.append(Outcome(sched.name, waiting[sched.name], True,
                                        "still in the queue from an earlier run: not queued again"))
                continue
            try:
                queued.append(queue_capture(sched.all_urls(workspace.root), workspace, queue, sched.options, settings,
                                            sealer=sealer, schedule=sched.name, store=store))
            except ArchiverError as exc:
                outcomes.append(Outcome(sched.name, None, False, str(exc)))
        done = seal_when_done(queue, queued, workspace, settings, sealer)
    for q in queued:
        result = done[q.spec.capture_id]
        name = q.meta.schedule or ""
        if isinstance(result, ArchiverError):
            outcomes.append(Outcome(name, q.spec.capture_id, False, str(result)))
        else:
            outcomes.append(Outcome(name, result.capture_id, result.ok, "ok" if result.ok else result.seed_problems[0]))
    return outcomes


def _in_the_queue(queue: Any, workspace: Workspace) -> dict[str, str]:
    """Schedule name -> capture id, of this workspace's scheduled captures still in the queue."""
    root = str(workspace.root.resolve())
    found: dict[str, str] = {}
    for capture_id in queue.captures():
        raw = queue.spec(capture_id)
        try:
            meta = meta_of(queue, capture_id)
            spec = CaptureSpec.of(raw) if raw is not None else None
        except UsageError:
            continue
        if meta is not None and meta.schedule and spec is not None and spec.workspace == root:
            found[meta.schedule] = capture_id
    return found
