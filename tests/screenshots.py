"""Screenshots of the web UI for docs/ui.md, and the workspace the page tests share.

    python tests/screenshots.py            # writes docs/screenshots/*.png

Everything is real and local: the sample news site and a small "ferry" site are served on loopback
addresses and captured into a temporary workspace (the ferry page four times as it changes, is
removed and moves, then once more with its server down; a page titled with a script tag; the
article with its sources, signed), then ``archiver serve``'s UI app runs on a free loopback port and
Debian's Chromium (``ARCHIVER_CHROMIUM``, or ``chromium`` on the PATH) takes the pictures."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from archiver import capture
from archiver.core.settings import CaptureOptions, load_settings
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response, Site

if TYPE_CHECKING:
    from playwright.sync_api import Page

HTML = [("Content-Type", "text/html; charset=utf-8")]
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_PHRASE = "quokka lighthouse"
FERRY_TEXTS = ("The ferry to Saltmarsh Island leaves at nine every morning.",
               "The ferry to Saltmarsh Island leaves at ten every morning.")
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def html(body: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, (headers or []) + HTML, body.encode("utf-8"))


def ferry_page(text: str) -> str:
    return (f"<!doctype html><html lang='en'><head><title>Ferry timetable</title></head><body><main><article>"
            f"<h1>Ferry timetable</h1><p>{text}</p><p>Tickets are sold on board; bicycles travel free of "
            f"charge in the summer months.</p><p>The last boat back leaves the island at six.</p></article></main>"
            f"</body></html>")


HOSTILE_PAGE = (
    "<!doctype html><html lang='en'><head><title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"
    "<meta property='og:site_name' content='&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'></head><body><main><article>"
    "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"
    + "<p>A quokka lighthouse stands on the pier: &lt;script&gt;alert(3)&lt;/script&gt; and "
      "&lt;img src=x onerror=alert(4)&gt; are text on this page, [not] markup.</p>" * 3
    + "</article></main></body></html>")


def local_site(address: str = "127.0.0.31") -> tuple[Site, dict[str, Response]]:
    """A site whose ``/ferry.html`` answers whatever ``state["ferry"]`` holds at the time."""
    state = {"ferry": html(ferry_page(FERRY_TEXTS[0]))}
    site = Site([Host("ferry", address, routes={
        "/ferry.html": lambda _site, _path: state["ferry"],
        "/ferry-2027.html": html(ferry_page("From 2027 the ferry sails from the new quay.")),
        "/hostile.html": html(HOSTILE_PAGE),
        "/new.html": html("<!doctype html><title>A new page</title><main><p>Captured from the form.</p></main>"),
    })])
    return site, state


@dataclass(frozen=True, slots=True)
class Built:
    """What build_workspace captured."""

    workspace: Workspace
    ferry_url: str
    ferry_ids: tuple[str, ...]       # oldest first: 200, 200 changed, 404, 301, no response
    hostile_url: str
    hostile_id: str
    article_url: str
    article_id: str                  # the sample article with its sources, signed


def build_workspace(root: Path) -> Built:
    from archiver.fixity.signing import generate_key_pair

    ws = Workspace(root).ensure()
    options = CaptureOptions(timeout=10, depth=0)
    site, state = local_site()
    with site:
        ferry, hostile = site.url("ferry", "/ferry.html"), site.url("ferry", "/hostile.html")
        ids = [capture([ferry], ws, options).capture_id]
        state["ferry"] = html(ferry_page(FERRY_TEXTS[1]))
        ids.append(capture([ferry], ws, options).capture_id)
        state["ferry"] = html("<!doctype html><title>Not found</title><h1>Not found</h1>", status=404)
        ids.append(capture([ferry], ws, options).capture_id)
        state["ferry"] = html("<!doctype html><title>Moved</title>", status=301,
                              headers=[("Location", site.url("ferry", "/ferry-2027.html"))])
        ids.append(capture([ferry], ws, options).capture_id)
        hostile_id = capture([hostile], ws, options).capture_id
    ids.append(capture([ferry], ws, options).capture_id)          # the server is down now
    (ws.root / "keys").mkdir(exist_ok=True)
    generate_key_pair(ws.private_key_path, ws.public_key_path)
    with sample_site() as sample:
        article = sample.url("news", ARTICLE_PATH)
        article_id = capture([article], ws, CaptureOptions(timeout=10)).capture_id
    return Built(ws, ferry, tuple(ids), hostile, hostile_id, article, article_id)


# -- the server ----------------------------------------------------------------------------------

@contextmanager
def ui_server(workspace: Workspace, token: str | None = None) -> Iterator[str]:
    """``archiver serve``'s UI app (``create_app``) under uvicorn on a free loopback port, in a
    thread; yields its base URL. The replay port is reserved but not served (the pages link to it
    only from mementos)."""
    import uvicorn

    from archiver.serve.app import create_app, make_context

    ui, replay = socket.socket(), socket.socket()
    try:
        for sock in (ui, replay):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
        port, replay_port = ui.getsockname()[1], replay.getsockname()[1]
        ctx = make_context(workspace, load_settings(workspace.root), host="127.0.0.1", port=port,
                           replay_port=replay_port, public_url=None, token=token)
        server = uvicorn.Server(uvicorn.Config(create_app(ctx), log_level="warning", access_log=False,
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [ui]}, daemon=True, name="ui-server")
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the UI server did not start")
            time.sleep(0.02)
        try:
            yield ctx.ui_base
        finally:
            server.should_exit = True
            thread.join(15)
    finally:
        ui.close()
        replay.close()


def sign_in(page: Page, base: str, token: str) -> None:
    """Sign in through the token form, as a person would (a Playwright page)."""
    page.goto(base + "/session")
    page.fill("#token", token)
    page.click("form.token-form button[type=submit]")
    page.wait_for_url(base + "/")


# -- the screenshots -----------------------------------------------------------------------------

def chromium_path() -> str:
    path = os.environ.get("ARCHIVER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise SystemExit("Chromium is not installed: apt-get install -y chromium")
    return path


def take(out: Path = SHOTS) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    token = "screenshot-token"
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("ARCHIVER_STATE_HOME", str(Path(tmp) / "state"))
        built = build_workspace(Path(tmp) / "ws")
        with ui_server(built.workspace, token) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path())
            desk = browser.new_page(viewport={"width": 1280, "height": 860})
            sign_in(desk, base, token)
            _verify_first(desk, base, built.article_id)
            article, ferry = quote(built.article_url, safe=""), quote(built.ferry_url, safe="")
            shots = [
                ("captures.png", desk, "/"),
                ("capture.png", desk, f"/captures/{built.article_id}"),
                ("capture-provenance.png", desk, f"/captures/{built.article_id}#provenance"),
                ("url-timeline.png", desk, f"/url?u={ferry}"),
                ("search.png", desk, "/search?q=harbour"),
                ("cite.png", desk, f"/cite?url={article}"),
            ]
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            sign_in(phone, base, token)
            shots += [("captures-phone.png", phone, "/"),
                      ("capture-phone.png", phone, f"/captures/{built.article_id}"),
                      ("cite-phone.png", phone, f"/cite?url={article}")]
            for name, page, path in shots:
                page.goto(base + path)
                page.screenshot(path=str(out / name))
                written.append(out / name)
            written.append(_capture_running(desk, base, out / "capture-progress.png"))
            browser.close()
    return written


def _capture_running(page: Page, base: str, path: Path) -> Path:
    """The capture form with a capture of the sample site (served slowly) under way."""
    with sample_site(latency=0.3) as slow:
        page.goto(base + "/capture")
        page.fill("#urls", slow.url("news", ARTICLE_PATH))
        page.click("form.capture-form button[type=submit]")
        progress = page.locator("#capture-job progress")
        progress.wait_for()
        deadline = time.monotonic() + 60           # (the page's policy forbids wait_for_function's eval)
        while int(progress.get_attribute("value") or 0) < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        page.screenshot(path=str(path))
        page.wait_for_selector("#capture-job a.result-link", timeout=120_000)
    return path


def _verify_first(page: Page, base: str, capture_id: str) -> None:
    """Press "verify now" on the article's capture, so the list shows a verified capture."""
    page.goto(f"{base}/captures/{capture_id}")
    page.click("form[action$='/verify'] button")
    page.wait_for_selector(".verify-result", timeout=60_000)


if __name__ == "__main__":
    for path in take():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    sys.exit(0)
