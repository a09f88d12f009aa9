"""A loopback site for the browser capture tests and bench/browser_capture.py: an article whose
text arrives by fetch() of JSON, whose images load on scroll, whose font comes from CSS; every
response gzip-coded and chunked, and every byte sent per request logged, so a test can compare what
the server sent with what the WARC file holds."""

from __future__ import annotations

import base64
import gzip
import signal
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
TITLE = "Rivers of the North Carry Ten Times More Silt"

SHELL = """<!doctype html><html><head><meta charset="utf-8"><title>Loading…</title>
<link rel="stylesheet" href="/css/site.css">
<script src="/js/vendor.js"></script><script src="/js/runtime.js"></script><script src="/js/app.js"></script>
</head><body><div id="app">Loading…</div><noscript>Please enable JavaScript.</noscript></body></html>"""

APP_JS = """
fetch('/api/article.json').then(r => r.json()).then(a => {
  document.title = a.title;
  const app = document.getElementById('app');
  app.innerHTML = '<article><h1 class="fancy">' + a.title + '</h1>' +
    a.paragraphs.map(p => '<p>' + p + '</p>').join('') +
    '<div style="height: 2400px"></div>' +
    a.images.map(src => '<img loading="lazy" width="40" height="40" src="' + src + '" alt="">').join('') +
    '</article>';
});
"""
CSS = """@font-face { font-family: fancy; src: url(/fonts/fancy.woff2) format("woff2") }
body { background: #fdf6e3; color: #073642; font: 18px serif } .fancy { font-family: fancy, serif; color: #b58900 }"""


STATIC = """<!doctype html><html><head><meta charset="utf-8"><title>Silt: the sources</title>
<link rel="stylesheet" href="/css/site.css"></head><body><article><h1>Silt: the sources</h1>
<p>{text}</p><p>The measurements are explained in <a href="/">the article</a>; a live page of gauge
readings is <a href="/busy.html">here</a>.</p></article></body></html>"""

BUSY = """<!doctype html><html><head><meta charset="utf-8"><title>Live gauges</title>
<script src="/js/vendor.js"></script><script src="/js/runtime.js"></script>
<script>setInterval(() => fetch('/api/tick.json?' + Date.now()), 150);</script>
</head><body><div id="gauges">Loading…</div></body></html>"""


def article(n: int = 0) -> bytes:
    paragraphs = [f"Paragraph {i} of article {n}: sediment loads measured at gauging stations along the rivers "
                  "rose over two decades, as permafrost thaw opened banks that had been frozen for centuries."
                  for i in range(6)]
    images = [f"/img/figure-{i}.png" for i in range(3)]
    return (f'{{"title": "{TITLE}", "paragraphs": {paragraphs!r}, "images": {images!r}}}'
            .replace("'", '"').encode())


def routes() -> dict[str, tuple[str, bytes]]:
    found = {"/": ("text/html; charset=utf-8", SHELL.encode()), "/css/site.css": ("text/css", CSS.encode()),
             "/js/vendor.js": ("text/javascript", b"window.vendor = 1;"),
             "/js/runtime.js": ("text/javascript", b"window.runtime = 1;"),
             "/js/app.js": ("text/javascript", APP_JS.encode()),
             "/api/article.json": ("application/json", article()),
             "/fonts/fancy.woff2": ("font/woff2", b"wOF2 not a real font" * 20),
             "/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n"),
             "/article.html": ("text/html; charset=utf-8", STATIC.replace("{text}", "Gauging stations. " * 40).encode()),
             "/busy.html": ("text/html; charset=utf-8", BUSY.encode()),
             "/api/tick.json": ("application/json", b'{"level": 3}'),
             "/crash.html": ("text/html", b'<!doctype html><title>c</title><p>x</p><img src="/hold.png">'),
             "/hold.png": ("image/png", PNG),
             "/loop.html": ("text/html", b"<!doctype html><title>l</title><p>y</p><script>for (;;) {}</script>"),
             "/sources.html": ("text/html", b'<!doctype html><title>s</title><a href="/crash.html">c</a>'
                               b'<a href="/loop.html">l</a><a href="/article.html">a</a>')}
    for i in range(3):
        found[f"/img/figure-{i}.png"] = ("image/png", PNG)
    return found


@dataclass(slots=True)
class RawSite:
    """One host on ``address``: GET only, HTTP/1.1 kept alive, each body gzip-coded and chunked;
    ``sent`` holds, per path, the exact bytes of each response."""

    address: str
    pages: dict[str, tuple[str, bytes]] = field(default_factory=routes)
    sent: dict[str, list[bytes]] = field(default_factory=dict)
    holds: dict[str, tuple[threading.Event, threading.Event]] = field(default_factory=dict)   # path: (asked, go on)
    delay: float = 0.0                  # seconds each response takes, so requests in flight overlap
    peak: int = 0                       # the most requests in flight at once, as this server saw them
    _now: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.ThreadingTCPServer | None = None

    def start(self) -> RawSite:
        site = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 10

            def handle(self) -> None:
                while True:
                    try:
                        line = self.rfile.readline(8192)
                    except OSError:
                        return
                    if not line:
                        return
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    path = line.split(b" ")[1].decode("latin-1")
                    with site._lock:
                        site._now += 1
                        site.peak = max(site.peak, site._now)
                    try:
                        if site.delay:
                            time.sleep(site.delay)
                        answer = site.response(path)
                    finally:
                        with site._lock:
                            site._now -= 1
                    self.wfile.write(answer)

        self._server = socketserver.ThreadingTCPServer((self.address, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"http://{self.address}:{self._server.server_address[1]}"

    def response(self, path: str) -> bytes:
        if path in self.holds:
            asked, go_on = self.holds[path]
            asked.set()
            go_on.wait(30)
        kind, body = self.pages.get(path.split("?", 1)[0], ("text/plain", b"not found"))
        status = "200 OK" if path.split("?", 1)[0] in self.pages else "404 Not Found"
        coded = gzip.compress(body, mtime=0)
        chunks = b"".join(f"{len(coded[i:i + 300]):x}\r\n".encode() + coded[i:i + 300] + b"\r\n"
                          for i in range(0, len(coded), 300)) + b"0\r\n\r\n"
        head = (f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Encoding: gzip\r\n"
                f"Transfer-Encoding: chunked\r\nCache-Control: max-age=60\r\n\r\n").encode()
        self.sent.setdefault(path, []).append(head + chunks)
        return head + chunks

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def kill_while_busy(proc: subprocess.Popen, site: RawSite, who: str) -> list[int]:
    """Wait until the browser under ``proc`` renders busy.html (its script's ticks reach ``site``),
    SIGKILL ``proc``, and return the browser processes it had."""
    from archiver.browser.processes import descendants

    deadline = time.monotonic() + 60
    while len(site.sent.get("/js/runtime.js", [])) < 1 or not any(p.startswith("/api/tick.json") for p in site.sent):
        assert proc.poll() is None and time.monotonic() < deadline, f"{who} never loaded the page"
        time.sleep(0.05)
    browsers = descendants(proc.pid)
    assert browsers
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    return browsers


def assert_browsers_end(browsers: list[int], who: str) -> None:
    """The browser goes with its driver's closed pipe: within 30 s none of ``browsers`` runs."""
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
              for pid in browsers):
        assert time.monotonic() < deadline, f"Chromium outlived {who}"
        time.sleep(0.1)
