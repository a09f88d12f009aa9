"""Capturing: an article, its linked sources and every page's requisites, into a WARC file and a
manifest. The public entry point is :func:`capture`.

Interrupted (SIGINT, Ctrl-C, or SIGTERM, in the main thread): the capture stops within a second. The
requests in flight are abandoned (their sockets shut down, ``Fetcher.abort``) and listed as failures
of kind ``interrupted``, the URLs not yet requested as skipped. The rule is always the same: what was
fully archived is sealed as a capture marked ``interrupted: true``; if nothing but robots.txt was
archived, nothing is sealed and the unfinished WARC file is removed. Either way no ``.open`` file is
left and :class:`~archiver.core.interrupts.Interrupted` is raised (the command line exits 130). A
second Ctrl-C abandons the capture: its unfinished WARC file is removed, nothing is sealed."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..core.errors import CaptureError, UsageError
from ..core.interrupts import Interrupted, StopSignals
from ..core.models import (
    ArchivedResource,
    CaptureResult,
    Failure,
    Link,
    PageFlag,
    Role,
    ServerSeen,
    Skipped,
    Target,
    TextRecord,
    WarcFile,
)
from ..core.settings import CaptureOptions, Settings
from ..core.urls import canonical, resolve_link
from ..core.workspace import Workspace, new_capture_id
from ..fixity.debris import running_capture
from ..fixity.manifest import build_manifest
from ..fixity.seal import seal, signing_key
from ..index.store import index_sealed
from ..net.fetch import Fetcher
from ..net.request_plan import RequestPlanner
from ..page.fidelity import page_flags
from ..warc.writer import CONFORMS_TO, WarcFileWriter, settings_json, warc_date
from .exchange import ExchangeWorker, Fetched, FindOriginal, WorkResult
from .page_work import POOL_CPU, PagePool
from .servers import record_servers
from .text_flags import CarriedFlags, repeated_flags

if TYPE_CHECKING:
    from .browser_run import BrowserRun


@dataclass(slots=True)
class Progress:
    """A snapshot for a progress display."""

    done: int = 0
    queued: int = 0
    failures: int = 0
    bytes: int = 0


ProgressCallback = Callable[[Progress], None]
LISTED_SKIPS = 1000
Clock = Callable[[], datetime]
STOP_POLL = 0.2          # seconds between looks at a stop request while requests are in flight
INTERRUPTED = "interrupted"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Tally:
    resources: list[ArchivedResource] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    pages: dict[str, object] = field(default_factory=dict)


def capture(seeds: list[str], workspace: Workspace, options: CaptureOptions | None = None, *,
            settings: Settings | None = None, progress: ProgressCallback | None = None,
            clock: Clock = _utcnow, schedule: str | None = None, pages: PagePool | None = None) -> CaptureResult:
    """Capture ``seeds`` (and, to ``options.depth``, what they link to) into ``workspace``.

    ``pages``: the processes that read pages beside the capture's own (page_work.py), brought up
    before the first fetch and closed at the end; ``PagePool(0)``: none; None (automatic): see
    :func:`_auto_pages`. What is archived is the same either way.

    Failures of single resources are recorded, never raised; the result says whether every seed
    was captured (``result.ok``). Raises UsageError for malformed seeds and WorkspaceError when
    the workspace cannot be written.
    """
    settings = settings or Settings()
    options = options or settings.capture
    if not seeds:
        raise UsageError("no URL to capture")
    seed_urls = list(dict.fromkeys(canonical(s) for s in seeds))
    planner = RequestPlanner(options)      # reads --cookies: bad input fails before anything is written
    chromium = _chromium() if options.browser != "off" else None    # none: one line, before anything is written
    workspace.ensure()
    signing_key(workspace, settings.witness_file)    # a broken or replaced key stops it before any fetch
    started = clock()
    capture_id = new_capture_id(started)
    with running_capture(workspace, capture_id):     # 'archiver clean' keeps its files meanwhile
        scratch = workspace.scratch_dir(capture_id)
        try:
            run = _Run(workspace, options, settings, capture_id, seed_urls, planner, progress, clock)
            run.pages, run.pages_now = (pages, True) if pages is not None else (_auto_pages(options), False)
            run.schedule, run.chromium = schedule, chromium
            return run.run(started)
        except OSError as exc:      # network errors are FetchErrors already: this is the workspace's disk
            where = f" ({exc.filename})" if exc.filename else ""
            raise CaptureError(f"capture {capture_id} stopped: {exc.strerror or exc}{where} writing to workspace "
                               f"{workspace.root}; what it wrote is left as debris that 'archiver verify' reports "
                               "and 'archiver clean' removes", capture_id=capture_id) from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _auto_pages(options: CaptureOptions) -> PagePool:
    """None for the pages named alone (--depth 0) or all rendered in Chromium; else one process per
    core but one, up to 4, started in the background once reading pages in this process has cost
    POOL_CPU seconds (a process costs about 0.4 s of CPU to start: small pages never pay for it)."""
    if options.depth < 1 or options.browser == "on":
        return PagePool(0)
    return PagePool(max(0, min((os.cpu_count() or 1) - 1, 4)), start_after=POOL_CPU)


def _dedup(workspace: Workspace) -> FindOriginal | None:
    """Earlier payloads of this workspace, from the index (brought up to date first)."""
    import sqlite3

    from ..index.store import DedupLookup, Index, holds_payloads

    try:
        with Index.open(workspace) as index:
            earlier = holds_payloads(index.db)
    except sqlite3.Error:
        return None
    return DedupLookup(workspace) if earlier else None


class _Run:
    def __init__(self, workspace: Workspace, options: CaptureOptions, settings: Settings, capture_id: str,
                 seeds: list[str], planner: RequestPlanner, progress: ProgressCallback | None,
                 clock: Clock) -> None:
        from .frontier import Frontier

        self.ws, self.options, self.settings = workspace, options, settings
        self.capture_id, self.seeds, self.clock = capture_id, seeds, clock
        self.progress = progress
        self.frontier = Frontier(depth=options.depth, exclude=options.exclude,
                                 max_resources=options.max_resources, per_host=options.per_host)
        self.tally = _Tally()
        self.state = Progress()
        self.planner = planner
        self.repeats: dict[str, tuple[tuple[str, int], ...]] = {}
        self.carried: dict[str, list[PageFlag]] = {}       # a revisit's text-derived flags, from its original
        self.carried_flags = CarriedFlags(workspace)
        self.schedule: str | None = None
        self.skip_counts: dict[str, int] = {}
        self.in_flight: dict[Future[Any], Target] = {}
        self.browser: BrowserRun | None = None     # --browser: pages rendered in Chromium (browser_run.py)
        self.chromium: str | None = None
        self.stop = StopSignals(self._stopping)
        self.abandoned = 0                  # requests in flight abandoned, URLs left unrequested
        self.servers: tuple[ServerSeen, ...] = ()
        self.pages = PagePool(0)            # page_work.py: pages read in other processes, started at
        self.pages_now = False              # ... once, or (automatic) when reading pages here costs enough

    def _warcinfo(self) -> dict[str, str]:
        op = self.settings.operator
        return {"software": f"archiver/{__version__}", "format": "WARC File Format 1.1",
                "conformsTo": CONFORMS_TO, "isPartOf": self.capture_id,
                "robots": "ignore" if self.options.ignore_robots else "obey (linked sources and requisites)",
                "http-header-user-agent": self.options.user_agent,
                "operator": f"{op.name} <{op.contact}>" if op.name or op.contact else "",
                "payload-digest-rule": "sha256 of the HTTP body as stored (chunked framing included when sent)",
                "archiver-settings": settings_json(self.options.public())}

    def run(self, started: datetime) -> CaptureResult:
        scratch = self.ws.scratch_dir(self.capture_id)
        writer = WarcFileWriter(self.ws.warc_path(self.capture_id), self._warcinfo(), started,
                                self.options.compress_level)
        from ..core.urls import parse_http_url
        from ..index.validators import prior_lookup
        from ..net.address_policy import policy_for

        policy = policy_for([parse_http_url(u).host for u in self.seeds], allow_private=self.options.allow_private,
                            deny_private=self.options.deny_private)
        dedup = _dedup(self.ws) if self.options.dedup else None
        fetcher = Fetcher(timeout=self.options.timeout, max_bytes=self.options.max_bytes, scratch=scratch,
                          clock=self.clock, address_check=policy.check, insecure=self.options.insecure)
        worker = ExchangeWorker(fetcher=fetcher, planner=self.planner, warcinfo_id=writer.warcinfo_id,
                                level=self.options.compress_level, scratch=scratch,
                                obey_robots=not self.options.ignore_robots, user_agent=self.options.user_agent,
                                dedup=dedup, conditional=prior_lookup(self.ws, dedup is not None, self.options.conditional),
                                pages=self.pages)
        with self.stop:
            try:
                if self.pages_now:
                    self.pages.start(wait=True)
                if self.chromium is not None:
                    self.browser = _browser(self, scratch, self.chromium)
                for url in self.seeds:
                    self.frontier.add(Target(url, Role.SEED, 0))
                self._loop(worker, writer, fetcher)
                if self.stop.requested and not self._archived_any():
                    raise Interrupted(f"capture {self.capture_id} interrupted before anything was archived: "
                                      "nothing sealed")
                self.servers = record_servers(fetcher.servers.servers(), self.tally.resources, writer,
                                              self.ws.relative(writer.path), self.options.compress_level, self.clock)
                warc = writer.finish(self.ws.relative(writer.path))
            except BaseException as exc:
                writer.abandon()
                if isinstance(exc, KeyboardInterrupt):     # interrupted: nothing sealed, nothing left
                    writer.open_path.unlink(missing_ok=True)
                raise
            finally:
                if self.browser is not None:
                    # stopped, or failing: the browsers are killed, not waited for
                    self.browser.close(now=self.stop.requested or sys.exc_info()[0] is not None)
                self.pages.close()
                fetcher.close()
            result = self._seal(started, warc)
            if self.stop.requested:
                what = (f"interrupted capture {self.capture_id} sealed: {len(result.resources)} resource(s)"
                        f" archived, {self.abandoned} abandoned (listed in its manifest)")
                self.stop.say(what)
                raise Interrupted(what, result)
        return result

    def _stopping(self) -> str:
        """The line a stop request prints (in the signal handler: reads, never waits)."""
        nothing = not self._archived_any()
        return (f"stopping capture {self.capture_id}: abandoning {len(self.in_flight)} request(s) in flight; "
                + ("nothing archived yet, so nothing will be sealed" if nothing else
                   "sealing what was archived as an interrupted capture")
                + " (Ctrl-C again to abandon it all)")

    def _archived_any(self) -> bool:
        return any(r.role is not Role.ROBOTS for r in self.tally.resources)

    def _loop(self, worker: ExchangeWorker, writer: WarcFileWriter, fetcher: Fetcher) -> None:
        in_flight, browser = self.in_flight, self.browser
        with ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="archiver") as pool:
            try:
                while not self.stop.requested:
                    while len(in_flight) < self.options.concurrency:
                        target = self.frontier.next_ready()
                        if target is None:
                            break
                        in_flight[browser.render(target) if browser and browser.claims(target)
                                  else pool.submit(worker.run, target)] = target
                    if browser:
                        browser.dispatch(pool, worker)       # what the browser asked for
                    if not in_flight:
                        break
                    done, _ = wait([*in_flight, browser.wake] if browser else in_flight, timeout=STOP_POLL,
                                   return_when=FIRST_COMPLETED)
                    if self.stop.requested:
                        break
                    for future in done:
                        if future not in in_flight:
                            continue                         # the browser's wake-up call
                        target = in_flight.pop(future)
                        if not browser or browser.holds_slot(future):
                            self.frontier.finished(target)
                        if browser and browser.owns(future):
                            browser.finished(future, writer)
                        else:
                            self._absorb(future.result(), writer)
                    self._report()
                if self.stop.requested:
                    fetcher.abort()          # the worker threads return at once: the pool's shutdown is quick
                    self._abandon()
            except BaseException:
                fetcher.abort()
                for future in in_flight:
                    future.cancel()
                raise

    def _abandon(self) -> None:
        """List the requests in flight as failures and what was still queued as skipped."""
        for future, target in self.in_flight.items():
            future.cancel()
            self.tally.failures.append(Failure(target.url, target.role, target.via, INTERRUPTED,
                                               "abandoned: the capture was interrupted while this request "
                                               "was in flight"))
            self.abandoned += 1
        self.in_flight.clear()
        if not self.frontier.closed_reason:
            for skipped in self.frontier.close("the capture was interrupted before this was requested"):
                self._skip(skipped)
                self.abandoned += 1

    def _report(self) -> None:
        if self.progress:
            self.state.queued = self.frontier.queued
            self.state.done = len(self.tally.resources)
            self.state.failures = len(self.tally.failures)
            self.progress(self.state)

    def _absorb(self, result: WorkResult, writer: WarcFileWriter, browsed: bool = False) -> None:
        """Archive a result; ``browsed``: the browser asked for it (it follows redirects itself)."""
        for fetched in result.fetched:
            self._archive(fetched, writer, redirect=not browsed)
        if result.failure:
            self.tally.failures.append(result.failure)
        if result.skipped:
            self.tally.skipped.append(result.skipped)
        target = result.target
        if result.page is not None:
            self.tally.pages[target.url] = result.page
            self._follow(target, result.page.links, None if browsed else result.page.refresh)
        if result.css:
            self._follow(target, result.css, None)
        if self.browser is not None and not browsed:
            self.browser.after_static(result)
        if writer.size > self.options.max_total_bytes and not self.frontier.closed_reason:
            for skipped in self.frontier.close(
                    f"the capture reached its size limit of {self.options.max_total_bytes} bytes"):
                self._skip(skipped)

    def _archive(self, fetched: Fetched, writer: WarcFileWriter, redirect: bool = True) -> None:
        ex, target = fetched.exchange, fetched.target
        resource = archive_fetched(fetched, writer, self.ws.relative(writer.path))
        location = resource.location
        if fetched.repeated:
            self.repeats[ex.url] = fetched.repeated
        if fetched.revisit is not None and fetched.metadata is not None:    # a page: its original's flags hold
            self.carried[ex.url] = self.carried_flags.of(ex.url, fetched.revisit)
        self.tally.resources.append(resource)
        self.state.bytes += resource.payload_bytes
        if ex.truncated:
            self.tally.failures.append(Failure(ex.url, target.role, target.via, "truncated",
                                               f"archived truncated ({ex.truncated}): {ex.truncated_reason}"))
        if location and redirect and target.role is not Role.ROBOTS:
            self._redirect(target, location)

    def _redirect(self, target: Target, location: str) -> None:
        next_url = resolve_link(target.url, location)
        if next_url is None:
            self.tally.failures.append(Failure(target.url, target.role, target.via, "redirect",
                                               f"redirect to {location[:200]!r}, which is not an http(s) URL"))
            return
        if target.hops + 1 > self.options.max_redirects:
            self.tally.failures.append(Failure(next_url, target.role, target.url, "redirect",
                                               f"more than {self.options.max_redirects} redirects"))
            return
        self._add(Target(next_url, target.role, target.depth, via=target.url, hops=target.hops + 1))

    def _follow(self, page: Target, links: tuple[Link, ...] | list[Link], refresh: str | None) -> None:
        if refresh:
            self._add(Target(refresh, page.role, page.depth, via=page.url, hops=page.hops + 1))
        if self.browser is not None:
            self.browser.found(page, links)
        for link in links:
            if link.role is Role.REQUISITE:
                requisite = Target(link.url, Role.REQUISITE, page.depth, via=page.url)
                if self.browser is None or not self.browser.defer(requisite):
                    self._add(requisite)
            elif page.role in (Role.SEED, Role.SOURCE) and page.depth < self.options.depth:
                self._add(Target(link.url, Role.SOURCE, page.depth + 1, via=page.url))

    def _add(self, target: Target) -> None:
        skipped = self.frontier.add(target)
        if skipped:
            self._skip(skipped)

    def _skip(self, skipped: Skipped) -> None:
        """List a skipped URL; past LISTED_SKIPS for one reason, only count it (a page with
        100,000 links must not make a 100,000-line manifest)."""
        seen = self.skip_counts.get(skipped.reason, 0)
        self.skip_counts[skipped.reason] = seen + 1
        if seen < LISTED_SKIPS:
            self.tally.skipped.append(skipped)

    def _seal(self, started: datetime, warc: WarcFile) -> CaptureResult:
        flags: list[PageFlag] = page_flags(self.tally.pages, self.tally.resources, self.tally.failures)
        flags += [flag for url, repeats in self.repeats.items() for flag in repeated_flags(url, repeats)]
        flags += [flag for carried in self.carried.values() for flag in carried]
        flags += self.browser.flags if self.browser else []
        result = CaptureResult(
            capture_id=self.capture_id, manifest_path="", seeds=tuple(self.seeds), warc_files=(warc,),
            resources=tuple(self.tally.resources), failures=tuple(self.tally.failures),
            skipped=tuple(self.tally.skipped), flags=tuple(flags), seed_problems=tuple(self._seed_problems()),
            interrupted=self.stop.requested and self.abandoned > 0, servers=self.servers,
            browser_pages=tuple(self.browser.pages) if self.browser else ())
        unlisted = {reason: n - LISTED_SKIPS for reason, n in self.skip_counts.items() if n > LISTED_SKIPS}
        manifest = build_manifest(result, started=started, ended=self.clock(), options=self.options,
                                  operator=self.settings.operator, redacted=sorted(self.planner.secrets),
                                  schedule=self.schedule, skipped_unlisted=unlisted,
                                  interrupted=result.interrupted)
        sealed = seal(self.ws, manifest, witness_file=self.settings.witness_file,
                      authorities=self.settings.timestamp_authorities, roots=self.settings.timestamp_roots)
        index_sealed(self.ws, sealed.document or manifest)
        return replace(result, manifest_path=self.ws.relative(sealed.manifest), warnings=sealed.warnings)

    def _seed_problems(self) -> list[str]:
        by_url = {r.url: r for r in self.tally.resources if r.role is not Role.ROBOTS}
        failed = {f.url: f for f in self.tally.failures if f.kind != "truncated"}
        problems = []
        for seed in self.seeds:
            url, visited = seed, set()
            while url in by_url and by_url[url].location and url not in visited:
                visited.add(url)
                url = resolve_link(url, by_url[url].location or "") or url
            if url in failed:
                problems.append(f"{seed}: {failed[url].reason}")
            elif url in visited:
                problems.append(f"{seed}: redirect loop")
            elif url not in by_url:
                problems.append(f"{seed}: not captured")
            elif by_url[url].status >= 400:
                problems.append(f"{seed}: HTTP {by_url[url].status} (archived as evidence)")
        return problems


def archive_fetched(fetched: Fetched, writer: WarcFileWriter, warc: str) -> ArchivedResource:
    """Append one exchange's records to ``writer`` (its file named ``warc`` in the manifest) and
    describe what was archived."""
    ex, rec, target = fetched.exchange, fetched.records, fetched.target
    offset = writer.append(fetched.fragment)
    fetched.fragment.close()
    location = ex.head.get("Location") if 300 <= ex.head.status < 400 else None
    status, ctype, sha256, size = ex.head.status, ex.head.content_type, ex.entity_digest, ex.entity_bytes
    prior = fetched.not_modified
    if prior is not None:     # a 304: the entry is the revisit record, and describes the stored payload it holds to
        status, ctype, sha256, size, location = prior.status, prior.mime, prior.payload_sha256, prior.payload_bytes, None
    return ArchivedResource(
        url=ex.url, role=target.role, via=target.via, depth=target.depth, status=status,
        content_type=ctype, payload_sha256=sha256, payload_bytes=size,
        warc=warc, offset=offset + rec.request_length,
        length=rec.response_length, record_id=rec.response_id, request_record_id=rec.request_id,
        date=warc_date(ex.date), remote_address=ex.remote_address, location=location,
        truncated=ex.truncated, metadata=fetched.metadata.as_manifest() if fetched.metadata else None,
        text=TextRecord(fetched.text[0], offset + rec.request_length + rec.response_length, fetched.text[1],
                        fetched.text[2], fetched.text[3]) if fetched.text else None,
        warc_payload_digest=fetched.revisit.payload_digest if fetched.revisit else f"sha256:{ex.payload_digest}",
        revisit_of=fetched.revisit, limits=list(fetched.limits) or None)


def _chromium() -> str:
    """The Chromium to drive; UsageError naming how to install it if there is none."""
    from ..browser.driver import find_chromium

    return find_chromium()


def _browser(run: _Run, scratch: Any, chromium: str) -> BrowserRun:
    """The browser side of a capture: its tabs started."""
    from .browser_run import BrowserRun
    from .browsing import BrowserPool

    pool = BrowserPool(chromium=chromium, tabs=run.options.browser_tabs, scratch=scratch, bound=run.options.timeout,
                       wait_bound=run.options.timeout * 3 + 10)
    return BrowserRun(run, pool)
