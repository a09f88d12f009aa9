"""The browser side of a capture (``--browser``): pages rendered in Chromium behind the recording
proxy, every request the browser makes fetched and archived by the capture itself.

Threads: each tab (``--browser-tabs``) is a thread owning one Chromium and one recording proxy
(:mod:`archiver.browser`). A request reaching a tab's proxy becomes a :class:`BrowserRequest`: the
capture's main loop (the only writer of the WARC file) fetches it like any target, archives it, and
answers the request's future with the exchange's bytes, which the proxy relays to the browser. A
rendered page comes back as a future too. Nothing here writes the WARC file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

from ..browser.ca import CaptureCA
from ..browser.driver import BrowserSession, Rendered
from ..browser.processes import kill_marked
from ..browser.proxy import RecordingProxy, Refused, Relay
from ..core.errors import UsageError
from ..core.models import Role, Target
from ..core.urls import canonical, resolve_link

PAGE_ROLES = (Role.SEED, Role.SOURCE)
RESTART_AFTER = 25              # pages one Chromium renders before it is replaced (memory stays bounded)
HANG_GRACE = 5.0                # seconds past three times the page's bound (load, screenshots) before a tab's browser is killed


@dataclass(slots=True)
class BrowserRequest:
    """A request the browser made, waiting for the main loop to fetch and archive it."""

    target: Target
    page: str                                       # the page being rendered when it came
    reply: Future[Relay] = field(default_factory=Future)


@dataclass(slots=True)
class _Job:
    target: Target
    done: Future[Rendered]


class _Tab(threading.Thread):
    """One Chromium behind one proxy; renders the jobs it takes from the pool's queue, one at a time."""

    def __init__(self, pool: BrowserPool, number: int) -> None:
        super().__init__(name=f"archiver-tab-{number}", daemon=True)
        self.pool = pool
        self.page: Target | None = None
        self.documents: set[str] = set()          # the page's URL and where its redirects led
        self.lock = threading.Lock()
        self.proxy = RecordingProxy(self.fetch, pool.ca.context_for, pool.refused)

    def run(self) -> None:
        session: BrowserSession | None = None
        with self.proxy:
            try:
                while (job := self.pool.jobs.get()) is not None:
                    if not job.done.set_running_or_notify_cancel():
                        continue
                    try:
                        if session is None or session.broken or session.pages >= self.pool.restart_after:
                            if session is not None:
                                session.close()
                            session = None
                            session = BrowserSession(self.pool.chromium, self.proxy.address, self.proxy.password,
                                                     self.pool.ca.spki)
                        job.done.set_result(self._render(session, job.target))
                    except Exception as exc:  # noqa: BLE001 - a browser that will not start or dies: that page fails
                        if session is not None:
                            session.broken = True
                        job.done.set_result(Rendered(job.target.url, settled=False,
                                                     error=f"the browser failed: {' '.join(str(exc).split())[:300]}"))
            finally:
                if session is not None:
                    session.close()

    def _render(self, session: BrowserSession, target: Target) -> Rendered:
        """Render one page; past its bound and the recordings' (a script in an endless loop, a
        browser that stopped answering) the watchdog kills this tab's Chromium: the page fails, the
        next one gets a new browser."""
        with self.lock:
            self.page, self.documents = target, {target.url}
        hung: list[int] = []
        watchdog = threading.Timer(self.pool.bound * 3 + HANG_GRACE, lambda: hung.append(
            kill_marked(f"--proxy-server={self.proxy.address}")))
        watchdog.daemon = True
        watchdog.start()
        try:
            rendered = session.render(target.url, self.pool.bound)
        finally:
            watchdog.cancel()
            with self.lock:
                self.page = None
        if hung:
            session.broken = True
            rendered.settled = False
            rendered.error = (f"the browser hung: killed after {self.pool.bound * 3 + HANG_GRACE:g} s"
                              + (f" ({rendered.error})" if rendered.error else ""))
        return rendered

    def fetch(self, raw_url: str) -> Relay:
        """In a proxy thread: hand the request to the capture and wait for its bytes."""
        try:
            url = canonical(raw_url)
        except UsageError:
            raise Refused(400, f"not a URL archiver fetches: {raw_url[:200]!r}") from None
        with self.lock:
            page, document = self.page, url in self.documents
        if page is None:
            raise Refused(503, "no page is being captured in this tab")
        if document:
            target = Target(url, page.role, page.depth, via=page.via if url == page.url else page.url,
                            hops=page.hops + (url != page.url))
        else:
            target = Target(url, Role.REQUISITE, page.depth, via=page.url)
        request = BrowserRequest(target, page.url)
        self.pool.submit(request)
        try:
            relay = request.reply.result(timeout=self.pool.wait_bound)
        except FutureTimeout:
            raise Refused(504, "the capture did not fetch this in time") from None
        location = relay.head.get("Location") if document and 300 <= relay.head.status < 400 else None
        if location:
            followed = resolve_link(url, location)
            if followed:
                with self.lock:
                    self.documents.add(followed)
        return relay


def chromium_path() -> str:
    """The Chromium to drive; UsageError naming how to install it if there is none."""
    from ..browser.driver import find_chromium

    return find_chromium()


class BrowserPool:
    """The tabs of a capture and the requests they wait on. ``wake`` is a future that is done when
    a request is waiting: the main loop waits on it beside its fetches."""

    def __init__(self, *, chromium: str, tabs: int, scratch: Path, bound: float, wait_bound: float,
                 restart_after: int | None = None, refused: Callable[[str, str], None] | None = None) -> None:
        self.chromium, self.bound, self.wait_bound = chromium, bound, wait_bound
        self.restart_after = restart_after or RESTART_AFTER
        self.refused = refused
        self.ca = CaptureCA(scratch / "browser-ca")
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.wake: Future[None] = Future()
        self._waiting: list[BrowserRequest] = []
        self._lock = threading.Lock()
        self._closed = False
        self.tabs = [_Tab(self, n) for n in range(tabs)]
        for tab in self.tabs:
            tab.start()

    def render(self, target: Target) -> Future[Rendered]:
        job = _Job(target, Future())
        self.jobs.put(job)
        return job.done

    def submit(self, request: BrowserRequest) -> None:
        with self._lock:
            if self._closed:
                request.reply.set_exception(Refused(503, "the capture has ended"))
                return
            self._waiting.append(request)
            if not self.wake.done():
                self.wake.set_result(None)

    def take(self) -> list[BrowserRequest]:
        """The requests waiting; a fresh ``wake`` for the next ones."""
        with self._lock:
            taken, self._waiting = self._waiting, []
            if self.wake.done():
                self.wake = Future()
            return taken

    def close(self, now: bool = False) -> None:
        """Stop the tabs (their browsers closed) and refuse what still waits; ``now`` (the capture
        was interrupted or failed): kill the browsers rather than wait for their pages."""
        with self._lock:
            self._closed = True
            waiting, self._waiting = self._waiting, []
        for request in waiting:
            request.reply.set_exception(Refused(503, "the capture has ended"))
        while True:                             # pages not started are not started now
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.done.cancel()
        for _ in self.tabs:
            self.jobs.put(None)
        if now:
            for tab in self.tabs:
                kill_marked(f"--proxy-server={tab.proxy.address}")
        for tab in self.tabs:
            tab.join(timeout=5 if now else self.bound + 30)
