"""Who seals a queued capture, and the seal itself.

A capture is sealed once its frontier is exhausted (``Queue.idle``: nothing pending and no lease held,
an expired lease included: its URL is work not done until another worker fetches it again and
reports it). Exactly one process seals it: the one that holds its **sealer lease**, a Redis key
``PREFIX:cap:ID:sealer`` taken with ``SET NX PX`` and renewed by a thread while its holder lives.
``capture --queue`` takes it when it queues the capture and renews it while it waits; if that
process dies the lease lapses, and any ``archiver worker`` that finds the capture idle takes it and
seals the capture itself (``capture --queue --detach`` never takes it: a worker seals). The seal runs
under the workspace lock and refuses a capture id that has a manifest already, so the chain stays
linear and no capture is sealed twice.

A worker seals only a workspace it can prove it reaches: the process that queued the capture wrote
a random mark in ``.archiver/queued/<capture-id>`` and put the same mark in the queue; every WARC
file a worker reported must be there with its size. The seal's settings (operator, witness file,
timestamp authorities) and signing key are the workspace's own (``archiver.yaml``, ``keys/``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.capture_options import CaptureOptions
from ..core.errors import ArchiverError, CaptureError, ManifestError, UsageError
from ..core.models import ArchivedResource, BrowserPage, CaptureResult, Failure, PageFlag, Role, ServerSeen, Skipped, WarcFile
from ..core.moments import parse_moment
from ..core.settings import Settings, load_settings
from ..core.workspace import Workspace, atomic_write
from ..fixity.debris import QUEUED_DIR
from ..fixity.manifest import build_manifest, manifest_of
from ..fixity.seal import seal
from ..index.store import index_sealed
from .queue import Queue
from .spec import CaptureSpec, report_pages, requisite_flags
from .store import Store, open_store
from .store_copies import fetch_reported, push_sealed

SEALER_LEASE_MS = 30_000     # a sealer that stops renewing for this long is taken over by a worker
MAX_MARK = 200               # bytes of a mark file read back

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Meta:
    """What the queuing process tells a later sealer: when it started, for which schedule, its mark."""

    started: datetime
    schedule: str | None
    mark: str
    queued_at_ms: int          # Redis time when queued
    queued_by: str

    def data(self) -> dict[str, Any]:
        return {"started": self.started.isoformat(), "schedule": self.schedule, "mark": self.mark,
                "queued_at_ms": self.queued_at_ms, "queued_by": self.queued_by}

    @classmethod
    def of(cls, raw: Any) -> Meta:
        """Read back from the queue, checked; UsageError when it is not archiver's."""
        try:
            schedule, mark, by = raw.get("schedule"), str(raw["mark"]), str(raw["queued_by"])
            if not (schedule is None or isinstance(schedule, str) and len(schedule) <= 64) or \
                    not 16 <= len(mark) <= 64 or len(by) > 300:
                raise ValueError("a value is out of bounds")
            return cls(parse_moment(str(raw["started"])[:64]), schedule, mark, int(raw["queued_at_ms"]), by)
        except (KeyError, TypeError, ValueError, AttributeError, UsageError) as exc:
            raise UsageError(f"a capture in the queue has a meta this archiver cannot read: {exc}") from None


def holder_name(role: str) -> str:
    return f"{role} pid {os.getpid()} on {socket.gethostname()[:100]} {secrets.token_hex(3)}"


def meta_of(queue: Queue, capture_id: str) -> Meta | None:
    raw = queue.patient(queue.redis.get, queue.key(capture_id, "meta"))
    return Meta.of(json.loads(raw)) if raw is not None and len(raw) < 4096 else None


def open_meta(queue: Queue, workspace: Workspace, capture_id: str, started: datetime, schedule: str | None,
              holder: str) -> Meta:
    """Write the workspace's mark of the capture, then its meta in the queue (before the spec)."""
    seconds, micros = queue.patient(queue.redis.time)
    meta = Meta(started, schedule, secrets.token_hex(16), int(seconds) * 1000 + int(micros) // 1000, holder)
    folder = workspace.state_dir / QUEUED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / capture_id, meta.mark.encode("ascii"))
    queue.patient(queue.redis.set, queue.key(capture_id, "meta"), json.dumps(meta.data()))
    return meta


def forget_mark(workspace: Workspace, capture_id: str) -> None:
    """The capture is sealed or out of the queue: ``clean`` no longer keeps its files for it."""
    try:
        (workspace.state_dir / QUEUED_DIR / capture_id).unlink(missing_ok=True)
    except OSError:
        pass


class SealerLease:
    """The sealer leases this process holds, renewed by a thread every third of a lease until closed."""

    def __init__(self, queue: Queue, holder: str, lease_ms: int = SEALER_LEASE_MS) -> None:
        self.queue, self.holder, self.lease_ms = queue, holder, lease_ms
        self.held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renew = queue.redis.register_script(_RENEW)
        self._release = queue.redis.register_script(_RELEASE)

    def take(self, capture_id: str) -> bool:
        """True if this process now holds the capture's sealer lease (nobody held it)."""
        if not self.queue.patient(self.queue.redis.set, self.queue.key(capture_id, "sealer"), self.holder, nx=True,
                                  px=self.lease_ms):
            return False
        with self._lock:
            self.held.add(capture_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="archiver-sealer-lease", daemon=True)
                self._thread.start()
        return True

    def holds(self, capture_id: str) -> bool:
        """Renewed now, and still this process's (a process frozen past its lease has lost it)."""
        return bool(self.queue.patient(self._renew, keys=[self.queue.key(capture_id, "sealer")],
                                       args=[self.holder, self.lease_ms]))

    def release(self, capture_id: str) -> None:
        with self._lock:
            self.held.discard(capture_id)
        self.queue.patient(self._release, keys=[self.queue.key(capture_id, "sealer")], args=[self.holder])

    def _run(self) -> None:
        while not self._stop.wait(self.lease_ms / 3000):
            with self._lock:
                held = list(self.held)
            for capture_id in held:
                try:
                    self.holds(capture_id)
                except Exception:  # noqa: BLE001 - Redis gone for a moment: the main thread sees it
                    pass

    def __enter__(self) -> SealerLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for capture_id in list(self.held):
            try:
                self.release(capture_id)
            except Exception:  # noqa: BLE001 - Redis gone: the lease lapses by itself
                pass


def seal_queued(queue: Queue, spec: CaptureSpec, meta: Meta, workspace: Workspace, settings: Settings,
                options: CaptureOptions, store: Store | None = None) -> CaptureResult:
    """Gather every worker's report (with ``store``, copy each file here, checked), seal the capture
    under the workspace lock, index it, and take it out of the queue (with ``store``, then upload the
    seal files). The caller holds the sealer lease and saw the capture idle."""
    result = gathered(queue, spec)
    if store is not None:
        fetch_reported(store, workspace, spec.capture_id, result.warc_files)
    for warc in result.warc_files:
        path = workspace.root / warc.path
        if not path.is_file() or path.stat().st_size != warc.bytes:
            raise CaptureError(f"capture {spec.capture_id}: {warc.path}, reported by a worker, is not in {workspace.root} "
                               "with its size: nothing sealed", capture_id=spec.capture_id)
    manifest = build_manifest(result, started=meta.started, ended=datetime.now(UTC), options=options,
                              operator=settings.operator, redacted=[], schedule=meta.schedule)
    try:
        sealed = seal(workspace, manifest, witness_file=settings.witness_file,
                      authorities=settings.timestamp_authorities, roots=settings.timestamp_roots)
    except ManifestError:
        if workspace.manifest_path(spec.capture_id).exists():   # sealed already by a sealer whose lease lapsed
            queue.close_capture(spec.capture_id)
        raise
    index_sealed(workspace, sealed.document or manifest)
    queue.close_capture(spec.capture_id)
    forget_mark(workspace, spec.capture_id)
    stored = push_sealed(store, workspace, spec.capture_id) if store is not None else ()
    return replace(result, manifest_path=workspace.relative(sealed.manifest), warnings=sealed.warnings + stored)


def gathered(queue: Queue, spec: CaptureSpec) -> CaptureResult:
    """Every worker's report, read back through the manifest's checks."""
    warcs: list[WarcFile] = []
    resources: list[ArchivedResource] = []
    failures: list[Failure] = []
    skipped: list[Skipped] = []
    flags: list[PageFlag] = []
    pages: list[str] = []
    rendered: list[BrowserPage] = []
    servers: list[ServerSeen] = []          # each worker's own connections: an origin once per WARC file
    for i, report in enumerate(queue.results(spec.capture_id)):
        try:
            part = manifest_of({**report, "sequence": 1, "started": "x", "ended": "x"}, f"report {i + 1} in the queue")
            pages += report_pages(report, len(part.resources))
        except ManifestError as exc:
            raise CaptureError(f"capture {spec.capture_id}: a worker's report cannot be read: {exc}",
                               capture_id=spec.capture_id) from None
        warcs += part.warc_files
        resources += part.resources
        failures += part.failures
        skipped += part.skipped
        flags += part.flags
        rendered += part.browser_pages
        servers += part.servers
    flags += requisite_flags(pages, resources, failures)
    skipped += [Skipped(str(s["url"])[:8192], Role(s["role"]), s.get("via"), str(s["reason"])[:1000])
                for s in queue.skipped(spec.capture_id)]
    archived = {r.url for r in resources}
    problems = [f"{seed}: not captured" for seed in spec.seeds if seed not in archived]
    return CaptureResult(capture_id=spec.capture_id, manifest_path="", seeds=spec.seeds, warc_files=tuple(warcs),
                         resources=tuple(resources), failures=tuple(failures), skipped=tuple(skipped),
                         flags=tuple(flags), seed_problems=tuple(problems), browser_pages=tuple(rendered),
                         servers=tuple(servers))


def reach(spec: CaptureSpec, meta: Meta) -> Workspace | str:
    """The capture's workspace if this machine reaches that very workspace (its mark is there), else why not."""
    if not spec.workspace:
        return "its spec names no workspace (queued with a store by an older archiver): only its queuing process seals it"
    ws = Workspace(Path(spec.workspace))
    mark = ws.state_dir / QUEUED_DIR / spec.capture_id
    try:
        with open(mark, "rb") as fh:
            found = fh.read(MAX_MARK)
    except OSError as exc:
        return f"cannot read {mark} ({exc.strerror or exc}): the workspace is not reachable here"
    if found.strip() != meta.mark.encode("ascii"):
        return f"{mark} holds another mark: {spec.workspace} here is not the workspace that queued it"
    return ws


def seal_abandoned(queue: Queue, holder: str, lease_ms: int, refused: set[str],
                   log: Callable[[str], None]) -> int:
    """Seal, one by one, each queued capture that is idle and whose sealer lease nobody holds (its
    queuing process died, or it was queued with --detach). ``refused``: captures this worker cannot
    seal (another workspace, an error), logged once. Returns how many it sealed."""
    count = 0
    for capture_id in queue.captures():
        if capture_id in refused or not queue.idle(capture_id) or \
                queue.patient(queue.redis.exists, queue.key(capture_id, "sealer")):
            continue
        with SealerLease(queue, holder, lease_ms) as lease:
            if not lease.take(capture_id):
                continue                      # another process took it first
            if not queue.idle(capture_id):     # look again, now that nobody else can seal it
                continue
            try:
                raw_spec, meta = queue.spec(capture_id), meta_of(queue, capture_id)
                if raw_spec is None:
                    continue                  # sealed and closed meanwhile
                if meta is None:
                    raise UsageError("it has no meta in the queue (queued by an older archiver): its process seals it")
                spec = CaptureSpec.of(raw_spec)
                ws = reach(spec, meta)
                if isinstance(ws, str):
                    raise UsageError(ws)
                settings = load_settings(ws.root)
                result = seal_queued(queue, spec, meta, ws, settings, spec.options,
                                     open_store(spec.store) if spec.store else None)
            except ArchiverError as exc:
                refused.add(capture_id)
                log(f"{holder}: capture {capture_id} not sealed here: {exc}")
                continue
            count += 1
            log(f"{holder}: sealed capture {capture_id} (its queuing process is gone): {result.manifest_path}")
    return count
