"""The archive's routes on the UI origin, under ``/{collection}/`` as pywb lays them out:

- ``cdx?url=...``                      the CDX server API (``cdx``)
- ``timemap/link/{url}``, ``timemap/json/{url}``   TimeMaps (``memento``)
- ``{ts}id_/{url}``                    the archived payload, exactly, its headers as ``X-Archive-Orig-*``
- ``{ts}/{url}``                       the memento: a page framing the replay origin's copy, with its
                                       capture, time and citation, and Memento headers
- ``{url}``                            the TimeGate: a redirect to the memento nearest ``Accept-Datetime``

The URL is taken from the raw request path and query string (pywb's rule): a scheme whose double
slash a proxy folded (``http:/x``) gets it back, a URL without a scheme is ``http://``. Archived
content never runs here: the memento page only frames the replay origin, every answer carries a
Content-Security-Policy, and ``id_`` is ``sandbox``ed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..core.errors import ArchiverError, UsageError
from ..core.workspace import Workspace
from ..index.catalog import open_memento
from ..index.store import Index, Memento
from ..net.surt import surt, timestamp14
from ..warc.payload import ArchivedPayload, PayloadError
from . import cdx, memento
from .context import ServeContext

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

ARCHIVED_POLICY = "sandbox"                                   # id_: archived bytes never run on this origin
TEXT_POLICY = "default-src 'none'; sandbox"                    # CDX, TimeMaps, messages
_REPLAY = re.compile(r"([0-9]{1,32})([a-z]+_)?/{1,3}(.+)", re.S)
_TIMEMAP = re.compile(r"timemap/([a-z]*)/(.*)", re.S)
_SCHEME = re.compile(r"[a-zA-Z0-9+-.]+(:/)")                     # pywb's WbUrl.SCHEME_RX
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_URL_SAFE = frozenset(range(0x21, 0x7F)) - frozenset(b'"<>\\^`{|}')
_PASSED = {"content-type", "content-encoding"}                 # sent as archived; the rest as X-Archive-Orig-*
_NO_BODY = {204, 304}
CHUNK = 64 * 1024
QUICK_ROWS = 1000           # captures of one URL a CDX query may list on the event loop


class IndexPool:
    """Index connections for the server's threads: a request borrows one and gives it back. Every
    ``resync`` seconds one borrower first brings the index up to date with the manifests."""

    def __init__(self, workspace: Workspace, resync: float = 2.0, idle: int = 32) -> None:
        self.workspace, self.resync, self.idle = workspace, resync, idle
        self.free: list[Index] = []
        self.lock = threading.Lock()
        self.synced = -resync
        self.ready = False

    @contextmanager
    def borrow(self) -> Iterator[Index]:
        with self.lock:
            index = self.free.pop() if self.free else None
            due = time.monotonic() - self.synced >= self.resync
            if due:
                self.synced = time.monotonic()
        if index is None:
            index = self._open()
        if due:
            try:
                index.sync()
            except (ArchiverError, OSError, sqlite3.Error):
                pass                    # answered from the index as it is; the next borrower tries again
        try:
            yield index
        finally:
            with self.lock:
                if len(self.free) < self.idle:
                    self.free.append(index)
                    index = None
            if index is not None:
                index.close()

    def _open(self) -> Index:
        if not self.ready:
            Index.open(self.workspace, sync=False).close()    # created, or rebuilt for a new schema
            self.ready = True
        db = sqlite3.connect(self.workspace.state_dir / "index.sqlite", timeout=60, check_same_thread=False)
        db.execute("PRAGMA mmap_size = 1073741824")
        return Index(self.workspace, db)

    def close(self) -> None:
        with self.lock:
            for index in self.free:
                index.close()
            self.free.clear()


# --------------------------------------------------------------------------- responses


def _text(message: str, status: int) -> Response:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(message.splitlines()[0] + "\n" if message else "\n", status_code=status,
                             headers={"Content-Security-Policy": TEXT_POLICY, "X-Content-Type-Options": "nosniff"})


def header_url(url: str) -> str:
    """A URL fit for a header and a link-format entry: non-ASCII, controls, spaces, quotes and
    angle brackets percent-encoded."""
    raw = url.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if b in _URL_SAFE else f"%{b:02X}" for b in raw)


def target_of(rest: str, query: bytes) -> str:
    """The archived URL a request names, pywb's way: the query string appended, a folded ``//``
    after the scheme restored, ``http://`` for a URL without a scheme."""
    url = rest + ("?" + header_url(query.decode("latin-1")) if query else "")
    match = _SCHEME.match(url)
    if match is None:
        return "http://" + url
    after = match.end(1)
    return url if url[after:after + 1] == "/" else url[:after] + "/" + url[after:]


def _raw_rest(request: Request, prefix: str) -> str:
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8", "surrogateescape")
    path = header_url(raw.decode("latin-1"))
    return path[len(prefix):] if path.startswith(prefix) else path.split("/", 2)[-1]


class ArchiveRoutes:
    """The handlers of ``/{collection}/...``, sharing one index pool."""

    def __init__(self, ctx: ServeContext, pool: IndexPool, chunk: int = CHUNK) -> None:
        from jinja2 import Environment

        self.ctx, self.pool, self.chunk = ctx, pool, chunk
        self.prefix = f"/{ctx.collection}/"
        self.template = Environment(autoescape=True).from_string(PAGE)

    def urls(self, request: Request) -> memento.Urls:
        return memento.Urls(str(request.base_url).rstrip("/") + self.prefix)

    def is_quick(self, request: Request) -> bool:
        """Whether the answer is a few indexed lookups, to be given on the event loop: a TimeGate, an
        id_ head, a CDX query of one URL with at most ``QUICK_ROWS`` captures. Threads would only add
        a hop and contention for the GIL; what may take longer (other CDX queries, TimeMaps, the
        memento page with its citation) runs in a thread."""
        rest = _raw_rest(request, self.prefix)
        if rest == "cdx":
            try:
                query = cdx.parse_query(request.query_params.multi_items())
            except UsageError:
                return True
            if query.end is not None:
                return False
            with self.pool.borrow() as index:
                return index.db.execute("SELECT 1 FROM mementos WHERE surt = ? LIMIT 1 OFFSET ?",
                                        (query.start, QUICK_ROWS)).fetchone() is None
        if rest.startswith("timemap/"):
            return False
        replay = _REPLAY.fullmatch(rest)
        return replay is None or replay.group(2) == "id_"

    def dispatch(self, request: Request) -> Response:
        rest = _raw_rest(request, self.prefix)
        query: bytes = request.scope.get("query_string", b"")
        try:
            if rest == "cdx":
                return self.cdx(request)
            if timemap := _TIMEMAP.fullmatch(rest):
                return self.timemap(request, timemap.group(1), target_of(timemap.group(2), query))
            if replay := _REPLAY.fullmatch(rest):
                timestamp, modifier, url = replay.groups()
                if len(timestamp) > 14:
                    timestamp = timestamp[:14]          # pywb ignores digits past the second
                return self.replay(request, timestamp, modifier or "", target_of(url, query))
            if not rest:
                return _text(f"name an archived URL: {self.prefix}<url>, {self.prefix}<timestamp>/<url> or "
                             f"{self.prefix}cdx?url=<url>", 404)
            return self.timegate(request, target_of(rest, query))
        except UsageError as exc:
            return _text(str(exc), 400)

    def _check_url(self, url: str) -> None:
        try:
            surt(url)
        except (ArchiverError, ValueError):
            raise UsageError(f"not an http(s) URL: {url[:200]}") from None

    def cdx(self, request: Request) -> Response:
        """The CDX answer: whole when it is small (most are), else streamed as the rows come."""
        from starlette.responses import Response, StreamingResponse

        query = cdx.parse_query(request.query_params.multi_items())
        collection = self.ctx.collection

        def body() -> Iterator[bytes]:
            with self.pool.borrow() as index:
                rows = cdx.search(index.db, query)
                yield from _batched(cdx.render(rows, query, collection), self.chunk)

        chunks = body()
        first = next(chunks, b"")
        rest = next(chunks, None)
        headers = {"Content-Security-Policy": TEXT_POLICY, "X-Content-Type-Options": "nosniff"}
        media = cdx.OUTPUTS[query.output]
        if rest is None:
            return Response(first, media_type=media, headers=headers)
        return StreamingResponse(itertools.chain((first, rest), chunks), media_type=media, headers=headers)

    def timemap(self, request: Request, kind: str, url: str) -> Response:
        from starlette.responses import Response

        if kind not in ("link", "json"):
            raise UsageError(f"a TimeMap is link or json: {self.prefix}timemap/link/<url>")
        self._check_url(url)
        urls, shown = self.urls(request), header_url(url)
        with self.pool.borrow() as index:
            if kind == "link":
                text = memento.timemap_link(index, shown, urls, self.ctx.collection)
            else:
                text = "".join(memento.timemap_json(index, url)) or None
        if text is None:
            return _text(f"not archived: {shown}", 404)
        return Response(text, media_type="application/link-format" if kind == "link" else "text/x-ndjson",
                        headers={"Link": memento.link_header(urls, shown), "Vary": "accept-datetime",
                                 "Content-Security-Policy": TEXT_POLICY, "X-Content-Type-Options": "nosniff"})

    def timegate(self, request: Request, url: str) -> Response:
        self._check_url(url)
        with self.pool.borrow() as index:
            found = memento.timegate_choice(index, url, request.headers.get("accept-datetime"))
        if found is None:
            return _text(f"not archived: {header_url(url)}", 404)
        return self._redirect(request, found, "", vary=True)

    def _redirect(self, request: Request, found: Memento, modifier: str, vary: bool = False) -> Response:
        from starlette.responses import Response

        urls = self.urls(request)
        headers = {"Location": header_url(urls.of(found, modifier)),
                   "Link": memento.link_header(urls, header_url(found.url), _safe(found)),
                   "Content-Security-Policy": TEXT_POLICY}
        if vary:
            headers["Vary"] = "accept-datetime"
        return Response(status_code=302, headers=headers)

    def replay(self, request: Request, timestamp: str, modifier: str, url: str) -> Response:
        self._check_url(url)
        if modifier not in ("", "id_"):
            from starlette.responses import RedirectResponse

            target = self.urls(request).memento(timestamp, header_url(url))
            return RedirectResponse(target, status_code=302, headers={"Content-Security-Policy": TEXT_POLICY})
        with self.pool.borrow() as index:
            found, exact = memento.memento_at(index, url, timestamp)
            if found is None:
                return _text(f"not archived: {header_url(url)}", 404)
            if not exact or len(timestamp) < 14:
                return self._redirect(request, found, modifier)
            if modifier == "id_":
                return self.payload(request, index, found)
            return self.page(request, found)

    def page(self, request: Request, found: Memento) -> Response:
        """The memento page: the replay origin's copy in a frame, what it is and how to cite it."""
        from starlette.responses import HTMLResponse

        from ..citing.citations import citation_data, with_overrides
        from ..citing.formats import FORMATS

        urls, safe = self.urls(request), _safe(found)
        timestamp = timestamp14(found.datetime)
        data = with_overrides(self.ctx.workspace, [citation_data(found, self.ctx.settings)])[0]
        replay = self.ctx.replay_origin(request.headers.get("host"))     # the same host name: a same-site frame
        html = self.template.render(
            url=found.url, title=data.title, when=memento.memento_datetime(found), iso=found.datetime,
            capture_id=found.capture_id, status=found.status, mime=found.mime, sha256=found.payload_sha256,
            revisit=found.revisit_of is not None,
            frame=f"{replay}/embed/{found.capture_id}/{timestamp}/{found.url}",
            capture=f"/captures/{found.capture_id}", timemap=urls.timemap(safe.url),
            raw=urls.memento(timestamp, safe.url, "id_"),
            screenshot=self.screenshot(found),
            apa=FORMATS["apa"]([data]).strip(), bibtex=FORMATS["bibtex"]([data]).strip())
        return HTMLResponse(html, headers={
            "Memento-Datetime": memento.memento_datetime(found),
            "Link": memento.link_header(urls, safe.url, safe),
            "Content-Security-Policy": page_policy(replay),
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})

    def screenshot(self, found: Memento) -> dict[str, str] | None:
        """Where the screenshot the browser took of this page is (``--browser``), if it took one."""
        from ..index.catalog import read_manifest_of
        from .pages_captures import rendered_record

        if found.role not in ("seed", "source"):
            return None
        try:        # most captures render nothing: a look at the bytes spares parsing their manifest
            if b"\nbrowser_pages:" not in self.ctx.workspace.manifest_path(found.capture_id).read_bytes():
                return None
            manifest = read_manifest_of(self.ctx.workspace, found.capture_id)
        except (ArchiverError, OSError):
            return None
        shot = rendered_record(manifest, found.url, "screenshot")
        if shot is None:
            return None
        base = f"/captures/{found.capture_id}/rendered/{shot[0]}"
        full = rendered_record(manifest, found.url, "screenshot-full-page")
        return {"src": f"{base}/screenshot", "full": f"{base}/screenshot-full-page" if full else f"{base}/screenshot"}

    def payload(self, request: Request, index: Index, found: Memento) -> Response:
        try:
            archived = open_memento(self.ctx.workspace, index, found)
        except (PayloadError, OSError, ValueError) as exc:
            return _text(f"cannot read the archived record of {header_url(found.url)}: {exc}", 500)
        return _payload_response(archived, found, self.urls(request), self.ctx.collection)


def _safe(found: Memento) -> Memento:
    """The memento with its URL fit for headers."""
    from dataclasses import replace

    url = header_url(found.url)
    return found if url == found.url else replace(found, url=url)


def _batched(lines: Iterator[str], size: int = CHUNK) -> Iterator[bytes]:
    parts: list[str] = []
    length = 0
    for line in lines:
        parts.append(line)
        length += len(line)
        if length >= size:
            yield "".join(parts).encode("utf-8")
            parts, length = [], 0
    if parts:
        yield "".join(parts).encode("utf-8")


def _payload_response(archived: ArchivedPayload, found: Memento, urls: memento.Urls, collection: str) -> Response:
    from starlette.responses import StreamingResponse

    status = archived.http.status
    if not 200 <= status <= 599:
        archived.close()
        return _text(f"the archived response's status {status} cannot be served", 502)
    safe = _safe(found)

    def body() -> Iterator[bytes]:
        try:
            if status not in _NO_BODY:
                yield from archived.blocks
        finally:
            archived.close()

    response = StreamingResponse(body(), status_code=status)
    headers = response.raw_headers
    headers[:] = [h for h in headers if h[0] != b"content-type"]
    for name, value in archived.http.headers:
        lname = name.lower()
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            continue
        if lname == "location":
            target = urljoin(found.url, value)
            headers.append((b"location", header_url(urls.memento(timestamp14(found.datetime), target, "id_"))
                            .encode("latin-1")))
        if lname in _PASSED:
            headers.append((lname.encode("latin-1"), value.encode("latin-1")))
        else:
            headers.append((f"x-archive-orig-{name}".encode("latin-1"), value.encode("latin-1")))
    own = {"memento-datetime": memento.memento_datetime(found),
           "link": memento.link_header(urls, safe.url, safe, collection=collection),
           "content-security-policy": ARCHIVED_POLICY, "x-content-type-options": "nosniff"}
    if archived.length is not None and status not in _NO_BODY:
        own["content-length"] = str(archived.length)
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in own.items()]
    return response


STYLE = """
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d1d1f;background:#f6f6f4}
header,section{padding:.6rem 1rem}header{background:#fff;border-bottom:1px solid #ddd}
h1{font-size:1.05rem;margin:0 0 .2rem;overflow-wrap:anywhere}p{margin:.2rem 0}
.url{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
iframe{display:block;width:100%;height:75vh;border:0;border-bottom:1px solid #ddd;background:#fff}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;padding:.5rem;border:1px solid #ddd}
h2{font-size:1rem;margin:.6rem 0 .3rem}
figure{margin:.6rem 1rem}figure img{max-width:min(100%,480px);border:1px solid #ddd;background:#fff}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title or url }} (archived {{ when }})</title><style>""" + STYLE + """</style></head>
<body>
<header>
<h1>{{ title or url }}</h1>
<p class="url">{{ url }}</p>
<p>Archived <time datetime="{{ iso }}">{{ when }}</time> in capture <a href="{{ capture }}">{{ capture_id }}</a>
&middot; HTTP {{ status }}{% if mime %} &middot; {{ mime }}{% endif %}{% if revisit %} &middot; unchanged since an earlier
capture (revisit){% endif %}</p>
<p><a href="{{ timemap }}">Every capture of this URL (TimeMap)</a> &middot; <a href="{{ raw }}">The archived bytes</a>
&middot; payload sha256 <span class="url">{{ sha256 }}</span></p>
</header>
<iframe src="{{ frame }}" title="The archived page, replayed from the archive" referrerpolicy="no-referrer"></iframe>
{% if screenshot %}<figure><a href="{{ screenshot.full }}"><img src="{{ screenshot.src }}" alt="The page as the browser
showed it when it was captured"></a><figcaption>The page as the browser showed it when it was captured (a screenshot
archived with it; the whole page: follow the image)</figcaption></figure>{% endif %}
<section>
<h2>Cite this archived copy</h2>
<p>{{ apa }}</p>
<pre>{{ bibtex }}</pre>
</section>
</body></html>
"""


def page_policy(replay_base: str) -> str:
    """The memento page's Content-Security-Policy: its own style, the replay origin in a frame, nothing else."""
    return (f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; frame-src {replay_base}; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def routes(ctx: ServeContext, *, chunk: int = CHUNK) -> list[BaseRoute]:
    """The catch-all under ``/{collection}/``: mounted last, after the API's and the pages' routes.
    ``chunk``: the size of a CDX answer's parts (a larger answer is streamed in parts of this size)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    handlers = ArchiveRoutes(ctx, IndexPool(ctx.workspace), chunk)

    async def endpoint(request: Request) -> Response:
        # one indexed lookup (a TimeGate, a redirect, an id_ head) is answered on the event loop:
        # threads would only add a hop and GIL contention; what may take longer runs in a thread
        if handlers.is_quick(request):
            return handlers.dispatch(request)
        return await run_in_threadpool(handlers.dispatch, request)

    return [Route(f"/{ctx.collection}/{{rest:path}}", endpoint, methods=["GET", "HEAD"])]
