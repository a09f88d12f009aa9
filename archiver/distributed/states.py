"""What each queued capture is waiting for, as ``archiver workers`` shows it, and ``--drop``.

- ``working``: URLs pending or leased, and some worker is alive;
- ``waiting for workers``: URLs pending or leased (an expired lease is work not done) and no worker
  alive; after ``failed_after`` seconds without a live worker (since the last worker was alive, or
  since the capture was queued if later) it is reported ``failed``;
- ``sealing``: the frontier is exhausted and a process holds its sealer lease;
- ``waiting for a sealer``: exhausted, nobody holds the lease (its queuing process died, or it was
  detached): the next idle worker that reaches its workspace seals it; ``failed`` likewise after the bound.

A failed capture is never sealed half: a new worker resumes it (fetches what is left, then seals it),
or ``archiver workers --drop ID`` takes it out of the queue without sealing it.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ArchiverError, NotArchivedError, UsageError
from ..core.workspace import CAPTURE_ID
from .queue import Queue
from .sealing import SealerLease, forget_mark, holder_name, meta_of, reach
from .spec import CaptureSpec

MAX_HOLDER = 300          # characters of a sealer's name read back


def with_states(queue: Queue, overview: dict[str, Any], failed_after: float) -> dict[str, Any]:
    """``overview`` (Queue.overview) with each capture's state, sealer and, when failed, a hint."""
    anyone = any(w.get("alive") for w in overview["workers"].values())
    seconds, micros = queue.redis.time()
    now = int(seconds) * 1000 + int(micros) // 1000
    raw = queue.redis.get(f"{queue.prefix}:last-alive")
    last_alive = int(raw) if raw is not None and raw.isdigit() and len(raw) < 20 else 0
    for cap in overview["captures"]:
        capture_id = cap["capture_id"]
        holder = queue.redis.get(queue.key(capture_id, "sealer"))
        meta = meta_of(queue, capture_id)
        quiet_since = max(last_alive, meta.queued_at_ms if meta else 0)
        quiet = not anyone and now - quiet_since > failed_after * 1000
        if cap["pending"] or cap["leased"]:
            state = "working" if anyone else ("failed" if quiet else "waiting for workers")
        else:
            state = "sealing" if holder is not None else ("failed" if quiet else "waiting for a sealer")
        cap["state"] = state
        cap["sealer"] = holder.decode("utf-8", "replace")[:MAX_HOLDER] if holder is not None else None
        cap["schedule"] = meta.schedule if meta else None
        cap["no_live_worker_for"] = round((now - quiet_since) / 1000, 1) if not anyone else 0
        cap["hint"] = (f"no live worker for {failed_after:g} s: start a worker (archiver worker --queue URL) to "
                       f"resume it, or 'archiver workers --queue URL --drop {capture_id}' to take it out of the queue "
                       "without sealing it") if state == "failed" else None
    return overview


def drop(queue: Queue, capture_id: str) -> str:
    """Take a capture out of the queue without sealing it; what was said. Refused while a live process
    holds its sealer lease (its queuing process waits, or it is being sealed)."""
    if not CAPTURE_ID.fullmatch(capture_id):
        raise UsageError(f"--drop {capture_id[:100]!r} is not a capture id (such as 20261129T150447Z-bce0ff)")
    if capture_id not in queue.captures():
        raise NotArchivedError(f"no capture {capture_id} in the queue", target=capture_id)
    with SealerLease(queue, holder_name("workers --drop")) as lease:
        if not lease.take(capture_id):
            holder = queue.redis.get(queue.key(capture_id, "sealer")) or b"another process"
            raise ArchiverError(f"capture {capture_id} is held by {holder.decode('utf-8', 'replace')[:MAX_HOLDER]} "
                                "(its queuing process, or a sealer): stop that process (Ctrl-C takes it out of the "
                                "queue) or wait for it; nothing dropped")
        raw_spec, meta = queue.spec(capture_id), meta_of(queue, capture_id)
        queue.close_capture(capture_id)
    said = f"capture {capture_id} taken out of the queue, not sealed"
    if raw_spec is not None and meta is not None:
        ws = reach(CaptureSpec.of(raw_spec), meta)
        if not isinstance(ws, str):
            forget_mark(ws, capture_id)
            said += f"; its workers' WARC files stay in {ws.root}/archive ('archiver clean' lists them)"
    return said
