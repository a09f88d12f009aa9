"""Browser capture on a worker (``capture --queue --browser on|auto``): the pages a worker claims
are rendered in Chromium through the same parts as a local capture (``capturing.browsing`` for the
tabs and the recording proxy, ``capturing.rendered`` for the records and the manifest entries), and
everything the browser asks for is fetched by this worker, archived into its own WARC file, and
relayed to the browser byte for byte.

The shared frontier knows what the browser fetched: a URL the browser asks for is **taken** (one
Lua script) by the worker whose browser asked, when it is new to the capture or still waiting in
``pending``: it is then seen, leased and owned by that worker, reported with its WARC file and
marked done, so no other worker fetches it. A URL another worker holds or has archived is fetched
for the browser and relayed, **not archived again** (the capture has it once). A URL the browser
asks for twice while rendering one page is archived once too. The page's own document is the one
exception, as in a local capture: with ``--browser auto`` the page fetched statically is fetched
again by the browser, and that response is archived beside the static one.

A worker keeps one :class:`WorkerBrowser` for its life: ``--browser-tabs`` Chromiums (each replaced
after its quota of pages, as locally) behind their proxies, closed when the worker stops.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..capturing.browser_run import answer, refuse
from ..capturing.browsing import BrowserPool, BrowserRequest, chromium_path
from ..capturing.exchange import WorkResult
from ..capturing.rendered import record_render
from ..core.models import Link, Role, Skipped, Target
from ..core.urls import host_key
from ..page.fidelity import is_javascript_shell
from ..page.links import PageLinks

if TYPE_CHECKING:
    from .worker import Worker, _Session

PAGE_ROLES = (Role.SEED, Role.SOURCE)

_TAKE = """
-- KEYS: seen pending entries leases owner ; ARGV: url, worker, lease_ms, entry, max_resources, host_key,
-- per_host, relay_only
-- 3: the host has --per-host requests in flight in the whole pool: nothing taken, ask again later;
-- 2: new, but the capture reached --max-resources; otherwise a host lease is taken for the fetch and
-- 1: the URL is taken by this worker (new to the capture, or taken out of pending); 0: another worker
-- holds it or has archived it, or relay_only: fetched for the browser only
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', ARGV[6], '-inf', now)
if redis.call('ZCARD', ARGV[6]) >= tonumber(ARGV[7]) then
  return 3
end
local expiry = now + tonumber(ARGV[3])
local function host_lease(answer)
  redis.call('ZADD', ARGV[6], expiry, ARGV[2] .. ' ' .. ARGV[1])
  redis.call('PEXPIRE', ARGV[6], tonumber(ARGV[3]) * 2)
  return answer
end
if ARGV[8] == '1' then
  return host_lease(0)
end
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  if redis.call('SCARD', KEYS[1]) > tonumber(ARGV[5]) then
    redis.call('SREM', KEYS[1], ARGV[1])
    return 2
  end
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
elseif redis.call('LREM', KEYS[2], 1, ARGV[1]) == 0 then
  return host_lease(0)
end
redis.call('ZADD', KEYS[4], expiry, ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
return host_lease(1)
"""


@dataclass(slots=True)
class _Render:
    capture_id: str
    target: Target
    host: str | None                    # the host lease the claim took for the page, held until its document is in
    why: str
    archived: set[str] = field(default_factory=set)    # URLs archived for this render
    elsewhere: set[str] = field(default_factory=set)   # URLs it asked for that another worker archives
    static: set[str] = field(default_factory=set)      # URLs static extraction found in the page and its CSS
    deferred: list[tuple[Target, list[Link]]] = field(default_factory=list)   # followed once it is rendered


@dataclass(slots=True)
class _Asked:
    render: _Render
    request: BrowserRequest
    archive: bool                       # False: another worker has it; fetched for the browser only
    host: str | None                    # the host lease taken with it (None: the page's own, render.host)


class WorkerBrowser:
    def __init__(self, worker: Worker, *, tabs: int, bound: float) -> None:
        self.worker = worker
        chromium = chromium_path()         # none: one line (UsageError) before any URL is claimed
        self.scratch = Path(tempfile.mkdtemp(prefix=f"archiver-{worker.name}-browser-"))
        self.pool = BrowserPool(chromium=chromium, tabs=tabs, scratch=self.scratch, bound=bound,
                                wait_bound=bound * 3 + 10)
        self.tabs = tabs
        self.renders: dict[Future[Any], _Render] = {}
        self.requests: dict[Future[WorkResult], _Asked] = {}
        self.waiting: list[BrowserRequest] = []      # asked for while their host had no free slot in the pool
        self._take = worker.queue.redis.register_script(_TAKE)
        self.closed = False

    # -- what the worker's loop asks
    def free(self) -> bool:
        return len(self.renders) < self.tabs

    def busy(self, capture_id: str | None = None) -> bool:
        return any(capture_id in (None, r.capture_id) for r in self.renders.values()) or \
            any(capture_id in (None, a.render.capture_id) for a in self.requests.values()) or \
            (bool(self.waiting) and capture_id is None)

    def owns(self, future: Future[Any]) -> bool:
        return future in self.renders or future in self.requests

    def waitables(self) -> list[Future[Any]]:
        return [*self.renders, *self.requests, self.pool.wake]

    def leased_pages(self) -> list[str]:
        return [r.target.url for r in self.renders.values()]

    def leased(self, capture_id: str) -> list[str]:
        """URLs this worker holds for the capture's renders: their pages and what their browsers asked."""
        pages = [r.target.url for r in self.renders.values() if r.capture_id == capture_id]
        return pages + [a.request.target.url for a in self.requests.values()
                        if a.archive and a.render.capture_id == capture_id]

    def shell(self, mode: str, result: WorkResult) -> bool:
        """--browser auto: the page fetched statically looks empty without JavaScript."""
        return mode == "auto" and result.target.role in PAGE_ROLES and isinstance(result.page, PageLinks) \
            and is_javascript_shell(result.page)

    def render(self, capture_id: str, target: Target, host: str | None, why: str) -> None:
        self.renders[self.pool.render(target)] = _Render(capture_id, target, host, why)

    def dispatch(self, pool: Executor) -> None:
        """Start fetching what the browsers asked for, each once its host has a free slot in the whole
        pool (--per-host holds for what browsers ask too); the rest waits for the next look."""
        asked, self.waiting = [*self.waiting, *self.pool.take()], []
        for request in asked:
            render = next((r for r in self.renders.values() if r.target.url == request.page), None)
            session = self.worker.sessions.get(render.capture_id) if render else None
            if render is None or session is None:
                refuse(request, 503, "no page of this worker is being rendered")
                continue
            archive = self._claim(session, render, request.target)
            if archive is None:
                self.waiting.append(request)
                continue
            if isinstance(archive, Skipped):
                session.skipped.append(archive)
                refuse(request, 403, f"archiver did not fetch this: {archive.reason}")
                continue
            own_page = archive is True and request.target.url == render.target.url      # leased with its claim
            host = None if own_page else host_key(request.target.url)
            future = pool.submit(session.exchange.run, request.target, True)
            self.requests[future] = _Asked(render, request, archive, host)

    def finished(self, future: Future[Any]) -> None:
        if future in self.renders:
            self._rendered(self.renders.pop(future), future.result())
            return
        asked = self.requests.pop(future)
        result: WorkResult = future.result()
        session = self.worker.sessions[asked.render.capture_id]
        url = result.target.url
        if asked.host is not None:
            self.worker.queue.release_host(self.worker.name, url, asked.host)
        elif url == asked.render.target.url and asked.render.host is not None:    # the page's document is in
            self.worker.queue.release_host(self.worker.name, url, asked.render.host)
            asked.render.host = None
        if asked.archive:
            self.worker._absorb(session, result, follow=False)   # the browser follows its redirects itself
            asked.render.archived.add(url)
            if url not in session.held:
                session.held.append(url)
            links = [*(result.page.links if result.page is not None else ()), *result.css]
            asked.render.static.update(link.url for link in links)
            asked.render.deferred.append((result.target, links))
        else:                        # archived by another worker: relayed only (robots.txt kept as always)
            if url not in asked.render.archived:
                asked.render.elsewhere.add(url)
            robots = [f for f in result.fetched if f.target.role is Role.ROBOTS]
            for fetched in result.fetched:
                if fetched.target.role is not Role.ROBOTS:
                    fetched.fragment.close()
            self.worker._absorb(session, WorkResult(result.target, robots), follow=False)
        answer(asked.request, result)

    def close(self, now: bool = False) -> None:
        """Refuse what the browsers still wait for and close them (``now``: kill them); once."""
        if self.closed:
            return
        self.closed = True
        for asked in self.requests.values():
            refuse(asked.request, 503, "the worker is stopping")
        for request in self.waiting:
            refuse(request, 503, "the worker is stopping")
        self.pool.close(now)
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- inside
    def _claim(self, session: _Session, render: _Render, target: Target) -> bool | Skipped | None:
        """True: this worker archives it; False: fetched for the browser only; Skipped: refused; None:
        its host has no free slot now. A host lease is taken for every fetch but the page's own."""
        url = target.url
        if url == render.target.url and url not in render.archived:
            return True                  # the page itself: claimed with its host lease already
        if target.role is not Role.SEED:
            for pattern in session.exclude:
                if pattern.search(url):
                    return Skipped(url, target.role, target.via, f"matches --exclude {pattern.pattern!r}")
        relay_only = url in render.archived or url in session.held    # asked again: fetched, not archived
        opts = session.options
        entry = {"url": url, "role": target.role.value, "depth": target.depth, "via": target.via,
                 "hops": target.hops, "host": host_key(url)}
        taken = int(self._take(keys=[self.worker.queue.key(session.spec.capture_id, n)
                                     for n in ("seen", "pending", "entries", "leases", "owner")],
                               args=[url, self.worker.name, self.worker.lease_ms, json.dumps(entry),
                                     opts.max_resources, f"{self.worker.queue.prefix}:host:{host_key(url)}",
                                     opts.per_host, int(relay_only)]))
        if taken == 3:
            return None
        if taken == 2:
            return Skipped(url, target.role, target.via, f"the capture reached --max-resources {opts.max_resources}")
        return taken == 1

    def _rendered(self, render: _Render, rendered: Any) -> None:
        worker = self.worker
        session = worker.sessions[render.capture_id]
        url = render.target.url
        outcome = record_render(rendered, render.why, session.resources, session.parsed.get(url),
                                static=render.static, writer=session.writer, warc=session.warc,
                                options=session.options, date=datetime.now(UTC), scratch=session.scratch,
                                elsewhere=render.elsewhere)
        session.browser_pages.append(outcome.page)
        session.failures += outcome.failures
        session.flags += outcome.flags
        if render.host is not None:
            worker.queue.release_host(worker.name, url, render.host)
        if url not in session.held:              # the browser never asked for it: its failure is reported
            session.held.append(url)
        for target, links in render.deferred:
            worker._follow(session, target, links)
