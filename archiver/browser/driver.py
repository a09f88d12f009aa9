"""The Chromium driver: find a Chromium, start it behind the recording proxy, render one page.

Rendering a page: load it, scroll to its end in steps (lazy images and infinite lists load as they
come into view), make lazy images eager, then wait for the network to be idle, never longer than
the page's time bound: a page that never settles ends with what it had, ``settled`` False. Then the
page is recorded as the reader saw it: a screenshot of the viewport and of the whole page (PNG), a
PDF, and the DOM after its scripts ran, with its title and visible text.

Playwright is imported only here, and only when a browser capture starts: the static path needs
none of it. The browser reaches nothing but the proxy: every request goes to ``--proxy-server``
(loopback ones too: ``<-loopback>``), service workers are blocked, and background networking,
component updates, sync, pings and DNS prefetch are off.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from .proxy import USER

INSTALL = "install one: apt-get install -y chromium (and pip install 'archiver[browser]'), or set ARCHIVER_CHROMIUM"
WIDTH, HEIGHT = 1280, 800
MAX_SCROLL_STEPS = 40          # a page taller than 40 viewports is scrolled that far only
SCROLL_PAUSE_MS = 120
MAX_FULL_PAGE_PX = 16_000      # the full-page screenshot stops here (a 16,000 px PNG is some MB already)
MAX_DOM_CHARS = 50 * 2**20
LAZY_TO_EAGER = """() => {
  for (const img of document.querySelectorAll('img[loading="lazy"], iframe[loading="lazy"]')) img.loading = 'eager';
  return document.documentElement ? document.documentElement.scrollHeight : 0;
}"""
FLAGS = ["--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-pings", "--dns-prefetch-disable", "--disable-domain-reliability",
         "--disable-client-side-phishing-detection", "--no-first-run", "--no-default-browser-check",
         "--disable-features=NetworkTimeServiceQuerying,NetworkPrediction,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
         "--metrics-recording-only", "--disable-breakpad"]


def find_chromium(environ: dict[str, str] | None = None) -> str:
    """The Chromium to drive: ``ARCHIVER_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on
    PATH, else the one Playwright installed. UsageError naming how to install one when none is found,
    or when Playwright itself is missing."""
    env = os.environ if environ is None else environ
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise UsageError("--browser needs Playwright, which is not installed: pip install 'archiver[browser]' "
                         "(and apt-get install -y chromium)") from None
    given = env.get("ARCHIVER_CHROMIUM")
    if given:
        if not Path(given).is_file() or not os.access(given, os.X_OK):
            raise UsageError(f"ARCHIVER_CHROMIUM={given[:200]!r} is not an executable file; {INSTALL}")
        return given
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    bundled = _playwright_chromium()
    if bundled:
        return bundled
    raise UsageError(f"--browser needs Chromium, and none was found; {INSTALL}")


def _playwright_chromium() -> str | None:
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Error:
        return None
    return path if path and Path(path).is_file() else None


@dataclass(slots=True)
class Rendered:
    """What one page looked like in the browser, and what the browser asked for to show it."""

    url: str
    final_url: str = ""
    title: str = ""
    text: str = ""
    dom: bytes = b""
    viewport_png: bytes = b""
    full_page_png: bytes = b""
    pdf: bytes = b""
    settled: bool = True
    requested: list[str] = field(default_factory=list)
    error: str | None = None          # the browser crashed or hung: what it had is kept, if anything
    seconds: float = 0.0


class BrowserSession:
    """One Chromium process behind one proxy, in the thread that made it (Playwright's sync API is
    bound to its thread). ``render`` loads one page in a fresh tab."""

    def __init__(self, chromium: str, proxy: str, password: str, spki: str) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(
                executable_path=chromium, headless=True, args=[f"--ignore-certificate-errors-spki-list={spki}", *FLAGS],
                proxy={"server": proxy, "bypass": "<-loopback>", "username": USER, "password": password})
            self._context = self._browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, service_workers="block",
                                                      accept_downloads=False)
        except BaseException:
            self._pw.stop()
            raise
        self.pages = 0
        self.broken = False

    def close(self) -> None:
        try:
            self._browser.close()
        except Exception:  # noqa: BLE001 - a crashed browser cannot be closed politely; stopping is enough
            pass
        finally:
            self._pw.stop()

    def render(self, url: str, bound: float, clock: Callable[[], float] = time.monotonic) -> Rendered:
        """Render ``url`` within ``bound`` seconds (loading, scrolling and settling together; the
        recordings afterwards have their own bound)."""
        from playwright.sync_api import Error

        started = clock()
        deadline = started + bound
        result = Rendered(url)
        self.pages += 1
        page = self._context.new_page()
        page.on("request", lambda request: result.requested.append(request.url))
        try:
            self._load(page, url, deadline, result, clock)
            self._record(page, result, bound)
        except Error as exc:
            result.error = _one_line(str(exc))
            self.broken = self.broken or "crash" in result.error.lower() or "closed" in result.error.lower()
        finally:
            try:
                page.close()
            except Error:
                self.broken = True
        result.seconds = clock() - started
        return result

    def _load(self, page: Any, url: str, deadline: float, result: Rendered, clock: Callable[[], float]) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        def left_ms() -> float:
            return max(1.0, (deadline - clock()) * 1000)

        try:
            page.goto(url, wait_until="load", timeout=left_ms())
        except PlaywrightTimeout:
            result.settled = False
        height = page.evaluate(LAZY_TO_EAGER)
        step = HEIGHT - 100
        y = 0
        for _ in range(MAX_SCROLL_STEPS):
            if clock() >= deadline:
                result.settled = False
                break
            y += step
            page.evaluate(f"window.scrollTo(0, {y})")
            page.wait_for_timeout(SCROLL_PAUSE_MS)
            height = page.evaluate(LAZY_TO_EAGER)       # content may have grown as it scrolled
            if y >= height:
                break
        try:
            page.wait_for_load_state("networkidle", timeout=left_ms())
        except PlaywrightTimeout:
            result.settled = False
        page.evaluate("window.scrollTo(0, 0)")

    def _record(self, page: Any, result: Rendered, bound: float) -> None:
        ms = max(1000.0, bound * 1000)
        result.final_url = page.url
        result.title = page.title()[:2000]
        result.text = str(page.evaluate("() => document.body ? document.body.innerText : ''"))[:MAX_DOM_CHARS]
        result.dom = page.content()[:MAX_DOM_CHARS].encode("utf-8")
        result.viewport_png = page.screenshot(timeout=ms)
        height = min(MAX_FULL_PAGE_PX, int(page.evaluate("document.documentElement.scrollHeight") or 0))
        result.full_page_png = page.screenshot(timeout=ms, full_page=True, clip={
            "x": 0, "y": 0, "width": WIDTH, "height": max(1, height)}) if height else result.viewport_png
        result.pdf = page.pdf(print_background=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
