"""``archiver worker``: claims URLs of the captures in the queue, one at a time per host lease, fetches
each through the same ExchangeWorker as a local capture, writes its records to this worker's own
WARC file (``archive/<capture>-w<N>-NNNNN.warc.gz``), and when the file is finished (the worker
found nothing more to claim, or the file holds ``BATCH`` URLs) reports it and what it holds in one
atomic step that also marks its URLs done. A worker killed before that step reports nothing: its
URL leases expire and other workers fetch the URLs again; its unfinished file is debris that
``archiver clean`` removes."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..capturing.exchange import ExchangeWorker, WorkResult
from ..capturing.run import archive_fetched
from ..capturing.servers import record_servers
from ..capturing.text_flags import CarriedFlags, repeated_flags
from ..core.capture_options import CaptureOptions
from ..core.errors import UnavailableError, UsageError
from ..core.models import ArchivedResource, BrowserPage, Failure, Link, PageFlag, Role, Skipped, Target
from ..core.urls import host_key, parse_http_url, resolve_link
from ..core.workspace import Workspace
from ..fixity.manifest import manifest_document
from ..net.address_policy import policy_for
from ..net.fetch import Fetcher
from ..net.request_plan import RequestPlanner
from ..page.fidelity import shell_flags
from ..warc.writer import CONFORMS_TO, WarcFileWriter, settings_json
from .dedup import read_only_dedup, read_only_prior
from .queue import Queue
from .robots import SharedRobots
from .sealing import SEALER_LEASE_MS, seal_abandoned
from .spec import MAX_URL, CaptureSpec, partial_manifest
from .store import Store, open_store

if TYPE_CHECKING:
    from .rendering import WorkerBrowser

MAX_DEPTH = 1000      # depth and redirect hops read back from the queue
BATCH = 50          # URLs per WARC file at most: what a killed worker can lose and has to be fetched again
IDLE_POLL = 0.2     # seconds between looks at the requests in flight
IDLE_FIRST, IDLE_MOST = 0.01, 0.5   # seconds between looks at a queue with nothing to claim: doubling from the first


@dataclass(slots=True)
class _Session:
    """This worker's part of one capture: its open WARC file and what it holds."""

    spec: CaptureSpec
    options: CaptureOptions
    fetcher: Fetcher
    exchange: ExchangeWorker
    writer: WarcFileWriter
    scratch: Path
    exclude: list[re.Pattern[str]]
    warc: str                                              # the WARC file's path in the workspace
    held: list[str] = field(default_factory=list)          # URLs whose records are in the open file
    resources: list[ArchivedResource] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    store: Store | None = None                             # with a store: the file goes there before it is reported
    local: Path | None = None                              # ... from this temporary folder, not the workspace
    flags: list[PageFlag] = field(default_factory=list)    # the flags of its pages that need only the page
    pages: list[str] = field(default_factory=list)         # URLs parsed as HTML: the seal flags their requisites
    carried: CarriedFlags | None = None                    # revisits' flags from their originals' manifests
    parsed: dict[str, object] = field(default_factory=dict)          # --browser: URL -> the page's parsed HTML
    browser_pages: list[BrowserPage] = field(default_factory=list)   # --browser: pages rendered here


class Worker:
    def __init__(self, queue: Queue, *, lease_ms: int = 30_000, threads: int = 4,
                 log: Callable[[str], None] | None = None) -> None:
        self.queue = queue
        self.threads = threads
        self.lease_ms = lease_ms
        self.name = queue.worker_id()
        self.sessions: dict[str, _Session] = {}
        self.serials: dict[str, int] = {}
        self.stores: dict[str, Store] = {}
        self.log = log or (lambda line: None)
        self.archived = 0
        self.refused: set[str] = set()        # captures this worker cannot seal (another workspace)
        self.browser: WorkerBrowser | None = None     # --browser: this worker's Chromium, kept for its life

    def run(self, *, once: bool = False, stop: Callable[[], bool] = lambda: False) -> int:
        """Work until ``stop()``; ``once``: until no capture is left in the queue, once there was one.
        Returns the number of URLs this worker reported archived."""
        seen_work, idle = False, IDLE_FIRST
        in_flight: dict[Future[WorkResult], tuple[str, Target, str]] = {}
        try:
            with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="archiver-worker") as pool:
                while not stop():
                    captures = self.queue.captures()
                    if once and seen_work and not captures and not self.sessions:
                        break
                    seen_work |= bool(captures)
                    claimed = self._claim_all(captures, pool, in_flight)
                    browser = self.browser
                    if browser is not None:
                        browser.dispatch(pool)            # what the browser asked for
                    if in_flight or (browser is not None and browser.busy()):
                        done, _ = wait([*in_flight, *(browser.waitables() if browser else ())], timeout=IDLE_POLL,
                                       return_when=FIRST_COMPLETED)
                        for future in done:
                            if future in in_flight:
                                self._finished(future, in_flight)
                            elif browser is not None and browser.owns(future):
                                browser.finished(future)
                        self._flush_full(in_flight)
                    self._renew(in_flight)
                    rendering = self.browser is not None and self.browser.busy()     # a render started just now
                    if not in_flight and not claimed and not rendering:
                        self._flush_all()
                        self._status([])
                        seal_abandoned(self.queue, f"worker {self.name}", SEALER_LEASE_MS, self.refused, self.log)
                        time.sleep(idle)
                        idle = min(idle * 2, IDLE_MOST)
                    else:
                        idle = IDLE_FIRST
                for future in in_flight:      # stopping: what is in flight is not archived; its leases expire
                    future.cancel()
                if self.browser is not None:  # pages not rendered yet are not reported; their leases expire
                    self.browser.close(now=self.browser.busy())
        finally:
            if self.browser is not None:
                self.browser.close(now=True)
            self._leave()
        return self.archived

    def _leave(self) -> None:
        """Report what is finished and say goodbye; past --outage-limit (Redis gone), each file is
        finished but left unlisted (its URLs' leases expire and other workers fetch them again)."""
        for capture_id in list(self.sessions):
            with suppress(UnavailableError):
                self._flush(capture_id)
        with suppress(UnavailableError):
            self.queue.status(self.name, None)

    def _status(self, urls: list[str]) -> None:
        self.queue.status(self.name, {"host": socket.gethostname(), "pid": os.getpid(), "urls": urls,
                                      "captures": sorted(self.sessions), "archived": self.archived,
                                      "seen": datetime.now(UTC).isoformat(timespec="seconds")})

    def _claim_all(self, captures: list[str], pool: ThreadPoolExecutor,
                   in_flight: dict[Future[WorkResult], tuple[str, Target, str]]) -> bool:
        """Claim URLs until every thread has one or nothing can be claimed; True if any was."""
        claimed = False
        for capture_id in captures:
            spec = self.queue.spec(capture_id)
            if spec is None:
                continue
            capture = CaptureSpec.of(spec)
            if capture.store:        # opened (fsspec imported) before any lease is held: no lease ages meanwhile
                self.stores.setdefault(capture.store, open_store(capture.store))
            render = capture.options.browser == "on"
            while len(in_flight) < self.threads:
                if render and not self._browser(capture).free():
                    break             # every tab renders a page: a page claimed now would wait, holding its host
                session = self.sessions.get(capture_id)
                mine = sum(1 for c, _, _ in in_flight.values() if c == capture_id)
                if session is not None and len(session.held) + mine >= BATCH:
                    break             # this file is full: it is reported once its requests are in
                entry = self.queue.claim(capture_id, self.name, capture.options.per_host, self.lease_ms)
                if entry is None:
                    break
                target = _target(entry)
                if session is not None and target.url in session.held:    # this worker's own lease, expired
                    self.queue.release_host(self.name, target.url, str(entry["host"]))  # while it stalled and
                    continue                                                # claimed back: archived once
                if any(t.url == target.url and c == capture_id for c, t, _ in in_flight.values()) or \
                        (self.browser is not None and target.url in self.browser.leased(capture_id)):
                    continue
                session = session or self._open(capture)
                claimed = True
                if render and target.role in (Role.SEED, Role.SOURCE):
                    self._browser(capture).render(capture_id, target, str(entry["host"]), "--browser")
                    continue
                in_flight[pool.submit(session.exchange.run, target)] = (capture_id, target, str(entry["host"]))
        if claimed:
            pages = self.browser.leased_pages() if self.browser is not None else []
            self._status(pages + [t.url for _, t, _ in in_flight.values()])
        return claimed

    def _browser(self, capture: CaptureSpec) -> WorkerBrowser:
        """This worker's browser, started for the first capture that needs one and kept for its life
        (its tabs and its bound from that capture's options)."""
        if self.browser is None:
            from .rendering import WorkerBrowser

            self.browser = WorkerBrowser(self, tabs=capture.options.browser_tabs, bound=capture.options.timeout)
        return self.browser

    def _finished(self, future: Future[WorkResult], in_flight: dict[Future[WorkResult], tuple[str, Target, str]]) -> None:
        capture_id, target, host = in_flight.pop(future)
        self.queue.release_host(self.name, target.url, host)
        session = self.sessions[capture_id]
        result = future.result()
        self._absorb(session, result)
        session.held.append(target.url)
        if session.options.browser == "auto" and result.page is not None:
            browser = self._browser(session.spec)
            if browser.shell(session.options.browser, result):
                browser.render(capture_id, target, None, "auto: javascript-shell")

    def _flush_full(self, in_flight: dict[Future[WorkResult], tuple[str, Target, str]]) -> None:
        """Report the files that hold BATCH URLs once nothing of their capture is in flight here."""
        for capture_id, session in list(self.sessions.items()):
            if len(session.held) >= BATCH and not any(c == capture_id for c, _, _ in in_flight.values()) \
                    and not (self.browser is not None and self.browser.busy(capture_id)):
                self._flush(capture_id)

    def _open(self, capture: CaptureSpec) -> _Session:
        store = self.stores[capture.store] if capture.store else None
        local = Path(tempfile.mkdtemp(prefix=f"archiver-{capture.capture_id}-{self.name}-")) if store else None
        ws = Workspace(local).ensure() if local else Workspace(Path(capture.workspace))
        serial = self.serials.get(capture.capture_id, 0) + 1
        self.serials[capture.capture_id] = serial
        scratch = ws.scratch_dir(f"{capture.capture_id}-{self.name}")
        scratch.mkdir(parents=True, exist_ok=True)
        opts = capture.options
        path = ws.archive_dir / f"{capture.capture_id}-{self.name}-{serial:05d}.warc.gz"
        info = {"software": f"archiver/{__version__}", "format": "WARC File Format 1.1", "conformsTo": CONFORMS_TO,
                "isPartOf": capture.capture_id, "http-header-user-agent": opts.user_agent,
                "robots": "ignore" if opts.ignore_robots else "obey (linked sources and requisites)",
                "archiver-worker": f"{self.name} on {socket.gethostname()}",
                "archiver-settings": settings_json(opts.public())}
        writer = WarcFileWriter(path, info, datetime.now(UTC), opts.compress_level)
        policy = policy_for([parse_http_url(u).host for u in capture.seeds], allow_private=opts.allow_private,
                            deny_private=opts.deny_private)
        fetcher = Fetcher(timeout=opts.timeout, max_bytes=opts.max_bytes, scratch=scratch,
                          address_check=policy.check, insecure=opts.insecure)
        shared = Workspace(Path(capture.workspace)) if capture.workspace and not store else None   # none with a store
        dedup = read_only_dedup(shared) if shared and opts.dedup else None
        exchange = ExchangeWorker(fetcher=fetcher, planner=RequestPlanner(opts), warcinfo_id=writer.warcinfo_id,
                                  level=opts.compress_level, scratch=scratch, obey_robots=not opts.ignore_robots,
                                  user_agent=opts.user_agent,
                                  dedup=dedup, conditional=read_only_prior(shared, dedup, opts.conditional)
                                  if shared else None)
        exchange.robots = SharedRobots(self.queue, capture.capture_id, self.lease_ms)
        session = _Session(capture, opts, fetcher, exchange, writer, scratch,
                           [re.compile(p) for p in opts.exclude], ws.relative(path), store=store, local=local,
                           carried=CarriedFlags(shared) if shared else None)
        self.sessions[capture.capture_id] = session
        return session

    def _absorb(self, session: _Session, result: WorkResult, follow: bool = True) -> None:
        """Archive a result; ``follow``: its redirects and links too (the browser's fetches: not here)."""
        capture_id = session.spec.capture_id
        for fetched in result.fetched:
            if fetched.target.role is Role.ROBOTS and not self.queue.first_archive(capture_id, fetched.target.url):
                fetched.fragment.close()       # another worker archived this robots.txt: read here, kept once
                continue
            resource = archive_fetched(fetched, session.writer, session.warc)
            session.resources.append(resource)
            session.flags += repeated_flags(resource.url, fetched.repeated)
            if fetched.revisit is not None and fetched.metadata is not None and session.carried is not None:
                session.flags += session.carried.of(resource.url, fetched.revisit)     # a page: as a local capture
            self.archived += fetched.target.role is not Role.ROBOTS
            if resource.truncated:
                session.failures.append(Failure(resource.url, resource.role, resource.via, "truncated",
                                                f"archived truncated ({resource.truncated})"))
            if resource.location and fetched.target.role is not Role.ROBOTS and follow:
                self._redirect(session, fetched.target, resource.location)
        if result.failure:
            session.failures.append(result.failure)
        if result.skipped:
            session.skipped.append(result.skipped)
        page = result.target
        if result.page is not None and page.url not in session.pages:    # --browser auto: a page fetched twice
            session.pages.append(page.url)
            if page.role in (Role.SEED, Role.SOURCE):
                session.flags += shell_flags(page.url, result.page)
                if session.options.browser != "off":
                    session.parsed[page.url] = result.page
        if result.page is not None and follow:
            self._follow(session, page, result.page.links)
        if result.css and follow:
            self._follow(session, page, result.css)

    def _redirect(self, session: _Session, target: Target, location: str) -> None:
        next_url = resolve_link(target.url, location)
        if next_url is None or target.hops + 1 > session.options.max_redirects:
            session.failures.append(Failure(target.url, target.role, target.via, "redirect",
                                            f"redirect to {location[:200]!r} not followed"))
            return
        self._add(session, Target(next_url, target.role, target.depth, via=target.url, hops=target.hops + 1))

    def _follow(self, session: _Session, page: Target, links: tuple[Link, ...] | list[Link]) -> None:
        for link in links:
            if link.role is Role.REQUISITE:
                self._add(session, Target(link.url, Role.REQUISITE, page.depth, via=page.url))
            elif page.role in (Role.SEED, Role.SOURCE) and page.depth < session.options.depth:
                self._add(session, Target(link.url, Role.SOURCE, page.depth + 1, via=page.url))

    def _add(self, session: _Session, target: Target) -> None:
        for pattern in session.exclude:
            if pattern.search(target.url):
                session.skipped.append(Skipped(target.url, target.role, target.via,
                                               f"matches --exclude {pattern.pattern!r}"))
                return
        add_target(self.queue, session.spec.capture_id, target, session.options.max_resources)

    def _renew(self, in_flight: dict[Future[WorkResult], tuple[str, Target, str]]) -> None:
        self.queue.alive(self.name, self.lease_ms)
        for capture_id, session in self.sessions.items():
            fetching = [t.url for c, t, _ in in_flight.values() if c == capture_id]
            fetching += self.browser.leased(capture_id) if self.browser is not None else []
            self.queue.renew(capture_id, self.name, session.held + fetching, self.lease_ms)

    def _flush_all(self) -> None:
        for capture_id in list(self.sessions):
            self._flush(capture_id)

    def _flush(self, capture_id: str) -> None:
        """Finish this worker's WARC file of the capture and report it with its URLs."""
        session = self.sessions.pop(capture_id)
        session.fetcher.close()
        ws = Workspace(session.local or Path(session.spec.workspace))
        servers = record_servers(session.fetcher.servers.servers(), session.resources, session.writer,   # as locally
                                 session.warc, session.options.compress_level, lambda: datetime.now(UTC))
        warc = session.writer.finish(ws.relative(session.writer.path))
        shutil.rmtree(session.scratch, ignore_errors=True)
        try:
            if session.store is not None:        # whole in the store, its size checked, before Redis hears of it
                session.store.put(session.writer.path, warc.path)
        finally:
            if session.local is not None:
                shutil.rmtree(session.local, ignore_errors=True)
        report = manifest_document(partial_manifest(session.spec, warc, session.resources, session.failures,
                                                    session.skipped, session.flags, session.browser_pages, servers))
        report["pages"] = session.pages
        where = session.store.where(warc.path) if session.store else warc.path
        if self.queue.report(capture_id, self.name, session.held, report):
            self.log(f"{self.name}: {where}: {len(session.held)} URL(s) of capture {capture_id}")
        else:        # a lease expired meanwhile: another worker fetches those URLs; this file stays unlisted
            self.log(f"{self.name}: {where} not reported: a lease of capture {capture_id} expired first")


def _target(entry: Any) -> Target:
    """A claimed frontier entry, checked: the queue is shared, its values come from outside."""
    try:
        url, via, depth, hops = str(entry["url"]), entry.get("via"), int(entry["depth"]), int(entry.get("hops", 0))
        if len(url) > MAX_URL or not 0 <= depth <= MAX_DEPTH or not 0 <= hops <= MAX_DEPTH or \
                not (via is None or isinstance(via, str) and len(via) <= MAX_URL):
            raise ValueError("a value is out of bounds")
        return Target(url, Role(entry["role"]), depth, via=via, hops=hops)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"the queue holds a frontier entry this archiver cannot read ({exc}): is it another "
                         "program's Redis database?") from None


def add_target(queue: Queue, capture_id: str, target: Target, max_resources: int) -> int:
    entry: dict[str, Any] = {"url": target.url, "role": target.role.value, "depth": target.depth,
                             "via": target.via, "hops": target.hops, "host": host_key(target.url)}
    skip = {"url": target.url, "role": target.role.value, "via": target.via,
            "reason": f"the capture reached --max-resources {max_resources}"}
    return queue.add(capture_id, target.url, entry, max_resources, skip)
