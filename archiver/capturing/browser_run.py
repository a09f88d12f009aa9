"""The capture's main loop, for pages rendered in the browser (``--browser on|auto``).

``on``: every page (seed or linked source) is rendered instead of fetched statically; its document
and everything the browser asks for are fetched by the capture as the browser asks. What static
extraction finds in the page and its stylesheets is still fetched, after the page is rendered, when
the browser did not ask for it. ``auto``: pages are fetched statically; a page the fidelity check
flags as a JavaScript shell is then rendered too.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from ..browser.driver import Rendered
from ..browser.proxy import Refused, Relay
from ..core.models import BrowserPage, Link, PageFlag, Role, Target
from ..core.urls import host_key
from ..page.fidelity import is_javascript_shell
from ..page.links import PageLinks
from ..warc.writer import WarcFileWriter
from .browsing import BrowserPool, BrowserRequest
from .exchange import ExchangeWorker, WorkResult
from .rendered import record_render

if TYPE_CHECKING:
    from .run import _Run

PAGE_ROLES = (Role.SEED, Role.SOURCE)


class BrowserRun:
    def __init__(self, run: _Run, pool: BrowserPool) -> None:
        self.run, self.pool = run, pool
        self.mode = run.options.browser
        self.requests: dict[Future[Any], BrowserRequest] = {}
        self.renders: dict[Future[Any], str] = {}            # render -> why
        self.deferred: dict[str, list[Target]] = {}          # page -> requisites found statically meanwhile
        self.root: dict[str, str] = {}                       # URL -> the page it was found for
        self.static: dict[str, set[str]] = {}                # page -> URLs static extraction found for it
        self.pages: list[BrowserPage] = []
        self.flags: list[PageFlag] = []
        self.released: set[Future[Any]] = set()              # renders: they gave their host slot back
        self.waiting: list[BrowserRequest] = []              # asked for while their host had no free slot

    @property
    def wake(self) -> Future[None]:
        return self.pool.wake

    def claims(self, target: Target) -> bool:
        return self.mode == "on" and target.role in PAGE_ROLES

    def render(self, target: Target, why: str = "--browser") -> Future[Any]:
        future = self.pool.render(target)
        self.renders[future] = why
        self.run.frontier.finished(target)     # a render is no request: its page's document takes a slot
        self.released.add(future)              # when the browser asks for it (a render may wait for a tab)
        self.deferred.setdefault(target.url, [])
        return future

    def dispatch(self, pool: Executor, worker: ExchangeWorker) -> None:
        """Start fetching what the browser asked for, each once its host has a slot free: --per-host
        holds for the browser's requests too."""
        frontier = self.run.frontier
        asked, self.waiting = [*self.waiting, *self.pool.take()], []
        for request in asked:
            if frontier.in_flight.get(host_key(request.target.url), 0) >= frontier.per_host:
                self.waiting.append(request)
                continue
            skipped = frontier.claim(request.target)
            if skipped is not None:
                self.run._skip(skipped)
                request.reply.set_exception(Refused(403, f"archiver did not fetch this: {skipped.reason}"))
                continue
            self._submit(request, pool, worker)

    def _submit(self, request: BrowserRequest, pool: Executor, worker: ExchangeWorker) -> None:
        self.root.setdefault(request.target.url, request.page)
        future = pool.submit(worker.run, request.target, True)
        self.requests[future] = request
        self.run.in_flight[future] = request.target

    def holds_slot(self, future: Future[Any]) -> bool:
        """Whether a future the loop saw end holds a host slot (a render gave its slot back)."""
        if future in self.released:
            self.released.discard(future)
            return False
        return True

    def owns(self, future: Future[Any]) -> bool:
        return future in self.requests or future in self.renders

    def finished(self, future: Future[Any], writer: WarcFileWriter) -> None:
        if future in self.renders:
            self._rendered(future.result(), self.renders.pop(future), writer)
            return
        request = self.requests.pop(future)
        result: WorkResult = future.result()
        relay = _relay(result)
        try:
            self.run._absorb(result, writer, browsed=True)
        except BaseException:
            if relay is not None:
                relay.body.close()
            request.reply.set_exception(Refused(502, "the capture stopped"))
            raise
        answer(request, result, relay)

    # what static extraction finds, per page
    def found(self, target: Target, links: tuple[Link, ...] | list[Link]) -> None:
        page = target.url if target.role in PAGE_ROLES else self.root.get(target.url, target.via or target.url)
        urls = self.static.setdefault(page, set())
        for link in links:
            urls.add(link.url)
            self.root.setdefault(link.url, page)

    def defer(self, target: Target) -> bool:
        """Keep a requisite found statically until its page is rendered; False if no render waits."""
        via = target.via or ""
        page = via if via in self.deferred else self.root.get(via, via)    # found in the page, or in its CSS
        if page in self.deferred:
            self.deferred[page].append(target)
            return True
        return False

    def after_static(self, result: WorkResult) -> None:
        """--browser auto: a page the fidelity check calls a shell is rendered too."""
        target = result.target
        if self.mode != "auto" or target.role not in PAGE_ROLES or not isinstance(result.page, PageLinks):
            return
        if is_javascript_shell(result.page) and target.url not in self.deferred:
            if self.run.frontier.claim(target) is None:       # a closed capture renders no more
                self.run.in_flight[self.render(target, "auto: javascript-shell")] = target

    def _rendered(self, rendered: Rendered, why: str, writer: WarcFileWriter) -> None:
        run = self.run
        outcome = record_render(rendered, why, run.tally.resources, run.tally.pages.get(rendered.url),
                                static=self.static.get(rendered.url, set()), writer=writer,
                                warc=run.ws.relative(writer.path), options=run.options, date=run.clock(),
                                scratch=run.ws.scratch_dir(run.capture_id))
        self.pages.append(outcome.page)
        run.tally.failures += outcome.failures
        self.flags += outcome.flags
        for target in self.deferred.pop(rendered.url, []):
            run._add(target)

    def close(self, now: bool = False) -> None:
        """Refuse what the browser still waits for, then stop the tabs (``now``: kill their browsers)."""
        for request in [*self.requests.values(), *self.waiting]:
            if not request.reply.done():
                request.reply.set_exception(Refused(503, "the capture has ended"))
        self.pool.close(now)


def answer(request: BrowserRequest, result: WorkResult, relay: Relay | None = None) -> None:
    """Give the browser what was fetched for it (the exchange's bytes), or why not."""
    relay = relay or _relay(result)
    if relay is not None:
        request.reply.set_result(relay)
    else:
        request.reply.set_exception(_refusal(result))


def refuse(request: BrowserRequest, status: int, reason: str) -> None:
    """Tell the browser this request is not fetched (the proxy answers ``status`` with ``reason``)."""
    if not request.reply.done():
        request.reply.set_exception(Refused(status, reason))


def _relay(result: WorkResult) -> Relay | None:
    fetched = next((f for f in result.fetched if f.target.url == result.target.url), None)
    if fetched is None or fetched.body is None:
        return None
    return Relay(fetched.body_head or fetched.exchange.head, fetched.body, not fetched.exchange.truncated)


def _refusal(result: WorkResult) -> Refused:
    if result.failure is not None:
        return Refused(502, f"archiver could not fetch this: {result.failure.reason}")
    if result.skipped is not None:
        return Refused(403, f"archiver did not fetch this: {result.skipped.reason}")
    return Refused(502, "archiver could not fetch this")
