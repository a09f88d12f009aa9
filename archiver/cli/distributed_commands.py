"""``archiver worker``, ``archiver workers`` and ``archiver capture --queue``: the command line of
archiver.distributed (imported only when one of them runs; the extra 'distributed' brings redis)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.errors import ArchiverError, UsageError
from ..core.interrupts import StopSignals

MAX_LEASE = 3600.0
FAILED_AFTER = 600.0      # archiver.distributed.states.FAILED_AFTER (not imported: redis stays unloaded)
MAX_THREADS = 64


def add_distributed_commands(sub: Any, later: Callable[[str, str], Any]) -> None:
    """``worker`` and ``workers``; their code is imported when they run (``later``)."""
    wrk = sub.add_parser("worker", help="fetch URLs of queued captures, as one of many workers (Redis)",
                         description="Claim URLs of the captures queued with 'archiver capture --queue', at most "
                                     "--per-host requests in flight per host across all workers, and archive them "
                                     "into this worker's own WARC files in the shared workspace named by the capture, "
                                     "or, for a capture with --store, in a temporary folder, uploaded to the store "
                                     "before they are reported.")
    wrk.epilog = """example:
  archiver worker --queue redis://queue-host:6379/0              # work until Ctrl-C or SIGTERM
  archiver worker --queue redis://127.0.0.1:6379/0 --once --json  # stop when no capture is left"""
    wrk.formatter_class = argparse.RawDescriptionHelpFormatter
    wrk.add_argument("--queue", required=True, metavar="REDIS_URL", help="redis://HOST:PORT/DB")
    wrk.add_argument("--once", action="store_true", help="stop when no capture is left in the queue")
    wrk.add_argument("--lease", type=float, default=30.0, metavar="SECONDS",
                     help="how long a URL and a host slot stay this worker's without renewal (default 30)")
    wrk.add_argument("--threads", type=int, default=4, metavar="N",
                     help="requests this worker has in flight at once, 1-64 (default 4); --per-host holds across "
                          "all workers whatever this is")
    _outage_flag(wrk)
    wrk.add_argument("--json", action="store_true", help="print what this worker archived as JSON")
    wrk.set_defaults(func=later("distributed_commands", "cmd_worker"))

    wks = sub.add_parser("workers", help="who is working on what, queue depth, requests in flight per host",
                         description="Show the workers of a Redis queue, each queued capture's state (working, "
                                     "waiting for workers, sealing, waiting for a sealer, failed) with its pending, "
                                     "leased and archived URLs, and the requests in flight per host.")
    wks.epilog = """example:
  archiver workers --queue redis://queue-host:6379/0 --json
  archiver workers --queue redis://queue-host:6379/0 --failed-after 120
  archiver workers --queue redis://queue-host:6379/0 --drop 20261129T150447Z-bce0ff"""
    wks.formatter_class = argparse.RawDescriptionHelpFormatter
    wks.add_argument("--queue", required=True, metavar="REDIS_URL", help="redis://HOST:PORT/DB")
    wks.add_argument("--json", action="store_true", help="print it as JSON")
    wks.add_argument("--failed-after", type=float, default=FAILED_AFTER, metavar="SECONDS",
                     help="a capture whose work has had no live worker for this long is shown failed "
                          f"(default {FAILED_AFTER:g})")
    wks.add_argument("--drop", metavar="CAPTURE_ID",
                     help="take this capture out of the queue without sealing it (its workers' WARC files stay)")
    wks.set_defaults(func=later("distributed_commands", "cmd_workers"))


def add_queue_flags(parser: argparse.ArgumentParser, *, detach: bool) -> None:
    """``--queue`` and ``--local`` of ``capture`` and ``run`` (and ``capture --detach``)."""
    what = "the capture" if detach else "the due schedules' captures"
    parser.add_argument("--queue", metavar="REDIS_URL",
                        help=f"hand {what} to 'archiver worker' processes through this Redis queue "
                             "(redis://HOST:PORT/DB; default: queue in archiver.yaml), wait, and seal here "
                             "(docs/distributed.md)")
    parser.add_argument("--local", action="store_true",
                        help="capture on this machine even when archiver.yaml names a queue")
    if detach:
        parser.add_argument("--detach", action="store_true",
                            help="with a queue: queue the capture, print its id and exit 0; a worker seals it")
    _outage_flag(parser)


def queue_of(args: argparse.Namespace, settings: Any) -> str | None:
    """The queue to send captures to: --queue, else archiver.yaml's queue unless --local; None: here."""
    if args.local and args.queue:
        raise UsageError("--local and --queue contradict each other: choose one")
    url: str | None = None if args.local else args.queue or settings.queue
    if getattr(args, "detach", False) and not url:
        raise UsageError("--detach goes with a queue (--queue REDIS_URL, or queue: in archiver.yaml)")
    return url


def _outage_flag(parser: Any) -> None:
    parser.add_argument("--outage-limit", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait for a Redis that stopped answering (restarting, loading its "
                             "append-only file) before giving up with exit 69 (default 300)")


def _no_workspace(args: argparse.Namespace) -> None:
    if args.workspace:
        raise UsageError(f"{args.command} takes no -w/--workspace ({args.workspace}): each queued capture names "
                         "its workspace, a folder every worker reaches")


@contextmanager
def _redis_errors(url: str) -> Iterator[None]:
    """Redis gone or refusing mid-run: one line (exit 1), not a traceback."""
    from ..distributed.queue import redis_error

    try:
        yield
    except redis_error() as exc:
        raise ArchiverError(f"queue {url}: Redis: {exc}") from None


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _queue(url: str, outage_limit: float | None = None) -> Any:
    from ..distributed.outage import MAX_LIMIT, Patience
    from ..distributed.queue import Queue, parse_queue

    limit = 300.0 if outage_limit is None else outage_limit
    if not 0 <= limit <= MAX_LIMIT:
        raise UsageError(f"--outage-limit must be from 0 to {MAX_LIMIT:.0f} seconds, not {outage_limit}")
    address = parse_queue(url)
    queue = Queue(address, patience=Patience(url, limit, log=_say))
    queue.ping(url)
    return queue


def add_store_flag(parser: argparse.ArgumentParser, *, verify: bool) -> None:
    """``--store URL`` of ``capture`` (with --queue) and ``verify``."""
    parser.add_argument("--store", metavar="URL", help=(
        "also check the store's copies (s3://BUCKET/PREFIX, file:///PATH or a folder) byte for byte against the "
        "sealed manifests" if verify else
        "with --queue: workers put their WARC files in this store (s3://BUCKET/PREFIX, file:///PATH or a folder) "
        "and need no shared folder; the sealed manifest goes there too (default: archiver.yaml's store)"))


def checked_store(url: str) -> Any:
    """The store ``url`` names, asked whether it can be used; UsageError (exit 2) when not."""
    from ..distributed.store import open_store

    store = open_store(url)
    store.check()
    return store


def store_copies(workspace: Any, store: Any, report: Any, named: list[str]) -> Any:
    from ..distributed.store_check import check_store

    return check_store(workspace, store, report, named)


def _warn_persistence(queue: Any, url: str) -> str | None:
    """One line on stderr when a Redis restart would lose the queue (distributed/outage.py)."""
    from ..distributed.outage import persistence

    said = queue.patient(persistence, queue.redis)
    if said:
        _say(f"warning: queue {url}: {said}")
    return said


def run_queued_capture(urls: list[str], root: Path, options: Any, settings: Any, url: str,
                       store_url: str | None = None, *, detach: bool = False,
                       outage_limit: float | None = None) -> Any:
    """The sealed capture, or with ``detach`` the id of the capture queued."""
    from ..core.workspace import Workspace
    from ..distributed.capture import detached_capture, queued_capture
    from ..distributed.spec import check_options

    check_options(options)        # before Redis is asked anything
    store_url = store_url or getattr(settings, "store", None)
    store = checked_store(store_url) if store_url else None
    with _redis_errors(url):
        queue = _queue(url, outage_limit)
        _warn_persistence(queue, url)
        if detach:
            return detached_capture(urls, Workspace(root), queue, options, settings, store=store)
        return queued_capture(urls, Workspace(root), queue, options, settings=settings, store=store)


def run_due_queued(workspace: Any, settings: Any, url: str, stop: Callable[[], bool], now: Any = None,
                   outage_limit: float | None = None) -> Any:
    """``archiver run --queue``: the due schedules' outcomes, queued to the pool and sealed here."""
    from ..watch.pool import run_due_on

    store = checked_store(settings.store) if settings.store else None
    with _redis_errors(url):
        return run_due_on(_queue(url, outage_limit), workspace, settings, now, stop=stop, store=store)


def cmd_worker(args: argparse.Namespace) -> int:
    from ..distributed.worker import Worker

    _no_workspace(args)
    if not 1 <= args.threads <= MAX_THREADS:
        raise UsageError(f"--threads must be from 1 to {MAX_THREADS}, not {args.threads}")
    if not 0.5 <= args.lease <= MAX_LEASE:
        raise UsageError(f"--lease must be from 0.5 to {MAX_LEASE:.0f} seconds, not {args.lease}")
    queue = _queue(args.queue, args.outage_limit)
    log = (lambda line: None) if args.json else _say
    worker = Worker(queue, lease_ms=int(args.lease * 1000), threads=args.threads, log=log)
    stop = StopSignals(lambda: f"worker {worker.name} stopping: finishing its WARC file")
    with stop, _redis_errors(args.queue):
        archived = worker.run(once=args.once, stop=lambda: stop.requested)
    if args.json:
        print(json.dumps({"worker": worker.name, "archived": archived}))
    else:
        print(f"worker {worker.name}: {archived} URL(s) archived")
    return 0


def cmd_workers(args: argparse.Namespace) -> int:
    from ..distributed.states import drop, with_states

    _no_workspace(args)
    if not 0 <= args.failed_after <= 30 * 86400:
        raise UsageError(f"--failed-after must be from 0 to {30 * 86400} seconds, not {args.failed_after}")
    if args.drop is not None:
        from ..core.workspace import CAPTURE_ID

        if not CAPTURE_ID.fullmatch(args.drop):      # before Redis is asked anything
            raise UsageError(f"--drop {args.drop[:100]!r} is not a capture id (such as 20261129T150447Z-bce0ff)")
        with _redis_errors(args.queue):
            said = drop(_queue(args.queue), args.drop)
        print(json.dumps({"dropped": args.drop, "detail": said}) if args.json else said)
        return 0
    with _redis_errors(args.queue):
        queue = _queue(args.queue)
        overview = with_states(queue, queue.overview(), args.failed_after)
        overview["persistence_warning"] = _warn_persistence(queue, args.queue)   # None: Redis keeps its data (AOF)
    if args.json:
        print(json.dumps(overview, indent=2))
        return 0
    for name, status in sorted(overview["workers"].items()):
        gone = "" if status.get("alive") else " (gone: no sign of life for a lease)"
        urls = ", ".join(status.get("urls") or ()) or "idle"
        print(f"{name}{gone}  {status.get('host')} pid {status.get('pid')}  {urls}  "
              f"({status.get('archived')} archived, seen {status.get('seen')})")
    for cap in overview["captures"]:
        print(f"capture {cap['capture_id']}: {cap['state']}; {cap['pending']} pending, {cap['leased']} leased "
              f"({cap['expired']} expired), {cap['archived']} archived")
        if cap["hint"]:
            print(f"  {cap['hint']}")
    for host, n in sorted(overview["in_flight_per_host"].items()):
        print(f"host {host}: {n} in flight")
    if not overview["workers"] and not overview["captures"]:
        print("no worker and no capture in the queue")
    return 0
