"""``archiver capture --queue`` and ``archiver run --queue``: queue captures for the workers, wait until
each one's frontier is exhausted (nothing pending, no lease held, an expired one included), then seal
it here, once, under the workspace lock, with every worker's WARC file listed: the chain stays linear
however many captures seal at once. While it waits this process holds each capture's sealer lease
(distributed/sealing.py); if it dies, a worker seals instead. ``--detach`` queues and returns: a
worker seals."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

from ..capturing.run import Progress
from ..core.errors import ArchiverError, CaptureError, UnavailableError, UsageError
from ..core.models import CaptureResult, Role, Target
from ..core.settings import CaptureOptions, Settings
from ..core.urls import canonical
from ..core.workspace import Workspace, new_capture_id
from ..fixity.debris import running_capture
from ..fixity.seal import signing_key
from .queue import Queue
from .sealing import Meta, SealerLease, forget_mark, holder_name, open_meta, seal_queued
from .spec import CaptureSpec, check_options
from .store import Store
from .worker import add_target

POLL = 0.2      # seconds between looks at the frontier


@dataclass(frozen=True, slots=True)
class Queued:
    """A capture this process queued."""

    spec: CaptureSpec
    meta: Meta
    options: CaptureOptions
    store: Store | None = None


def queue_capture(seeds: list[str], workspace: Workspace, queue: Queue, options: CaptureOptions, settings: Settings, *,
                  sealer: SealerLease | None, schedule: str | None = None, store: Store | None = None) -> Queued:
    """Put a capture in the queue, its seeds pending before any worker can see it; with ``sealer``
    this process holds its sealer lease, without it (detached) the first idle worker seals it. With
    ``store`` (checked by the caller) workers put their files there and need no shared folder; the
    spec still names the workspace, so a worker on a machine that reaches it can seal the capture
    (from the store's copies) when this process is gone."""
    if not seeds:
        raise UsageError("no URL to capture")
    check_options(options)
    seed_urls = list(dict.fromkeys(canonical(s) for s in seeds))
    workspace.ensure()
    signing_key(workspace, settings.witness_file)
    started = datetime.now(UTC)
    capture_id = new_capture_id(started)
    spec = CaptureSpec(capture_id, str(workspace.root.resolve()), tuple(seed_urls), options,
                       store.url if store else None)
    if options.dedup and store is None:
        _index_up_to_date(workspace)      # workers read it, read-only, for revisits (dedup.py)
    try:
        meta = open_meta(queue, workspace, capture_id, started, schedule,
                         sealer.holder if sealer else holder_name("capture --detach"))
        if sealer is not None and not sealer.take(capture_id):
            raise CaptureError(f"capture {capture_id}: its sealer lease is taken already", capture_id=capture_id)
        for url in seed_urls:
            add_target(queue, capture_id, Target(url, Role.SEED, 0), options.max_resources)
        queue.open_capture(capture_id, spec.data())      # now the workers see it, its seeds pending
    except UnavailableError:        # Redis gone past --outage-limit: nothing more is asked of it
        forget_mark(workspace, capture_id)
        raise
    except BaseException:
        queue.close_capture(capture_id)
        forget_mark(workspace, capture_id)
        raise
    return Queued(spec, meta, options, store)


def seal_when_done(queue: Queue, queued: list[Queued], workspace: Workspace, settings: Settings,
                   sealer: SealerLease, *, progress: Callable[[Progress], None] | None = None,
                   sealed: Callable[[Queued, CaptureResult | ArchiverError], None] | None = None
                   ) -> dict[str, CaptureResult | ArchiverError]:
    """Wait for each capture's frontier to be exhausted and seal it, as each finishes. Interrupted
    (Ctrl-C) while waiting: the captures not sealed leave the queue (workers stop claiming them)."""
    left = {q.spec.capture_id: q for q in queued}
    out: dict[str, CaptureResult | ArchiverError] = {}
    with ExitStack() as running:
        for capture_id in left:
            running.enter_context(running_capture(workspace, capture_id))
        try:
            while left:
                for capture_id, q in list(left.items()):
                    outcome = _look(queue, q, workspace, settings, sealer)
                    if outcome is not None:
                        del left[capture_id]
                        out[capture_id] = outcome
                        if sealed:
                            sealed(q, outcome)
                if left and progress and len(queued) == 1:
                    reports = queue.results(queued[0].spec.capture_id)
                    progress(Progress(done=sum(len(r.get("resources", ())) for r in reports)))
                if left:
                    time.sleep(POLL)
        except UnavailableError:    # Redis gone past --outage-limit: they stay queued (with AOF, Redis keeps
            raise                   # them) and a worker seals each once Redis is back and their sealer lease lapsed
        except BaseException:       # Ctrl-C while waiting: the workers stop claiming them; nothing is sealed
            for capture_id in left:
                queue.close_capture(capture_id)
                forget_mark(workspace, capture_id)
            raise
    return out


def _look(queue: Queue, q: Queued, workspace: Workspace, settings: Settings,
          sealer: SealerLease) -> CaptureResult | ArchiverError | None:
    """The capture sealed (or why not) if its frontier is exhausted; None while workers work on it."""
    capture_id = q.spec.capture_id
    if queue.spec(capture_id) is None:
        return CaptureError(f"capture {capture_id} left the queue before it was sealed here "
                            "(archiver workers --drop, or another process sealed it): nothing sealed here",
                            capture_id=capture_id)
    if not queue.idle(capture_id):
        return None
    if not sealer.holds(capture_id):
        return CaptureError(f"capture {capture_id}: this process lost its sealer lease (it stopped for longer than "
                            f"{sealer.lease_ms / 1000:g} s); a worker seals it", capture_id=capture_id)
    try:
        return seal_queued(queue, q.spec, q.meta, workspace, settings, q.options, q.store)
    except UnavailableError:
        raise
    except ArchiverError as exc:        # a report or a stored file that does not check: nothing sealed,
        queue.close_capture(capture_id)  # the capture leaves the queue
        forget_mark(workspace, capture_id)
        return exc


def queued_capture(seeds: list[str], workspace: Workspace, queue: Queue, options: CaptureOptions | None = None, *,
                   settings: Settings | None = None, progress: Callable[[Progress], None] | None = None,
                   store: Store | None = None) -> CaptureResult:
    """One capture queued, waited for and sealed here (or by a worker if this process dies, when the
    workers share the workspace's folder)."""
    settings = settings or Settings()
    options = options or settings.capture
    with SealerLease(queue, holder_name("capture --queue")) as sealer:
        q = queue_capture(seeds, workspace, queue, options, settings, sealer=sealer, store=store)
        outcome = seal_when_done(queue, [q], workspace, settings, sealer, progress=progress)[q.spec.capture_id]
    if isinstance(outcome, ArchiverError):
        raise outcome
    return outcome


def detached_capture(seeds: list[str], workspace: Workspace, queue: Queue, options: CaptureOptions,
                     settings: Settings, store: Store | None = None) -> str:
    """Queue a capture and return its id at once: the first idle worker that reaches the workspace seals it."""
    return queue_capture(seeds, workspace, queue, options, settings, sealer=None, store=store).spec.capture_id


def _index_up_to_date(workspace: Workspace) -> None:
    import sqlite3

    from ..index.store import Index

    try:
        Index.open(workspace).close()
    except sqlite3.Error:
        pass          # an index that cannot be brought up to date: workers find fewer revisits, never wrong ones
