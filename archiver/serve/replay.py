"""The replay origin: archived pages replayed by ReplayWeb.page's client-side engine, served from a
port of their own so that nothing archived ever runs with the UI's origin.

::

    /embed/{capture_id}/{ts}/{url}   a page hosting <replay-web-page> for that capture, URL and time
    /wacz/{capture_id}.wacz          the capture as a WACZ, made on first request and kept in
                                     .archiver/replay/; Range requests (206, 416)
    /static/replay/ui.js, sw.js      the vendored engine (static/replay/README.md); its service worker
                                     runs with scope /static/replay/, where the engine replays
                                     (/static/replay/w/<collection>/<ts>mp_/<url>)

The engine fetches the WACZ with Range requests and replays from it inside the browser; nothing is
rewritten on the server. Every response, errors included, carries ``REPLAY_HEADERS`` and ``CSP``, a
Content-Security-Policy that allows requests to this origin only (and the data:/blob: URLs the engine
makes), so neither the engine nor its service worker, whose policy is the one sent with sw.js, can
reach the live web. Replayed documents themselves are made by the service worker, which gives them
its own policy (``default-src 'self' ...``). See docs/replay.md.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Mapping
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ArchiverError, UsageError
from ..core.workspace import CAPTURE_ID

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from .context import ServeContext

STATIC_PREFIX = "/static/replay/"
REPLAY_DIR = "replay"                     # under the workspace's state folder: the derived WACZ files
TIMESTAMP = re.compile(r"[0-9]{1,14}")
WACZ_NAME = re.compile(r"(.+)\.wacz")
WACZ_TYPE = "application/wacz"
HOST_NAME = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")      # a host name, IPv4 or IPv6 address (no brackets)
CHUNK = 256 * 1024
RANGE = re.compile(r"\s*([0-9]*)\s*-\s*([0-9]*)\s*")

ENGINE_FILES = {                          # every file the replay origin serves from static/replay/
    "ui.js": "text/javascript; charset=utf-8",
    "sw.js": "text/javascript; charset=utf-8",
}

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",   # the engine's web components (lit) set inline styles
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "media-src 'self' data: blob:",
    "connect-src 'self' data:",            # data:: the engine's one icon, fetched from a data: URL
    "worker-src 'self' blob:",
    "frame-src 'self' blob: data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
])

REPLAY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "same-origin",
}

EMBED_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Archived: {{ url }}</title>
<link rel="icon" href="data:,">
<script src="{{ static }}ui.js"></script>
<style>html, body { margin: 0; height: 100%; } replay-web-page { display: block; height: 100vh; }</style>
</head>
<body>
<replay-web-page source="{{ source }}" url="{{ url }}" ts="{{ ts }}" replayBase="{{ static }}"
  newWindowBase="{{ static }}" embed="replayonly" coll="{{ coll }}"></replay-web-page>
</body>
</html>
"""

INDEX_PAGE = """<!doctype html>
<html><head><script src="./ui.js"></script></head><body><replay-app-main></replay-app-main></body></html>
"""


def routes(ctx: ServeContext) -> list[BaseRoute]:
    """The replay origin's routes, all behind ``ReplayHeaders`` (unknown paths too)."""
    from jinja2 import Environment
    from starlette.routing import Mount, Route, Router

    embed_page = Environment(autoescape=True).from_string(EMBED_PAGE)

    async def embed(request: Request) -> Response:
        from starlette.responses import HTMLResponse

        capture_id, ts = request.path_params["capture_id"], request.path_params["ts"]
        url = archived_url(request)
        if not known_capture(ctx, capture_id):
            return not_found(f"no capture {capture_id[:100]!r} in this workspace")
        if not TIMESTAMP.fullmatch(ts):
            return plain(400, f"not a timestamp: {ts[:40]!r} (1 to 14 digits, e.g. 20261129150447)")
        if not url.startswith(("http://", "https://")):
            return plain(400, f"not an http(s) URL: {url[:200]!r}")
        html = embed_page.render(static=STATIC_PREFIX, source=f"/wacz/{capture_id}.wacz", url=url, ts=ts,
                                 coll=f"capture-{capture_id}")
        csp = f"{CSP}; frame-ancestors {' '.join(frame_ancestors(ctx, request))}"
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    async def wacz(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        match = WACZ_NAME.fullmatch(request.path_params["name"])
        capture_id = match.group(1) if match else ""
        if not known_capture(ctx, capture_id):
            return not_found(f"no capture {capture_id[:100] or request.path_params['name'][:100]!r} "
                             "in this workspace")
        try:
            path = await run_in_threadpool(cached_wacz, ctx, capture_id)
        except ArchiverError as exc:             # e.g. a WARC that no longer has its manifest's sha256
            reason = str(exc).replace(f"{ctx.workspace.root}/", "")    # paths shown within the workspace
            return plain(500, f"cannot make the WACZ of {capture_id}: {reason}")
        try:
            return file_response(path, WACZ_TYPE, request.headers, head=request.method == "HEAD")
        except RangeNotSatisfiable as exc:
            return plain(416, str(exc), {"Content-Range": f"bytes */{exc.size}"})

    async def engine_file(request: Request) -> Response:
        from starlette.responses import FileResponse

        name = request.path_params["name"]
        if name not in ENGINE_FILES:
            return not_found(f"no file {name[:100]!r} here")
        return FileResponse(Path(__file__).parent / "static" / "replay" / name, media_type=ENGINE_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    async def engine_index(request: Request) -> Response:
        """The engine's frame as it loads before the service worker controls it (it then reloads)."""
        from starlette.responses import HTMLResponse

        return HTMLResponse(INDEX_PAGE)

    inner = Router(routes=[
        Route("/embed/{capture_id}/{ts}/{url:path}", embed, methods=["GET", "HEAD"]),
        Route("/wacz/{name:path}", wacz, methods=["GET", "HEAD"]),
        Route(STATIC_PREFIX, engine_index, methods=["GET", "HEAD"]),
        Route(STATIC_PREFIX + "{name:path}", engine_file, methods=["GET", "HEAD"]),
    ], default=_not_found_app)
    # the engine's own frames sit inside the embed page inside the UI's memento page: every ancestor counts
    headers = {**REPLAY_HEADERS, "Content-Security-Policy": f"{CSP}; frame-ancestors 'self' {' '.join(ctx.ui_origins())}"}
    return [Mount("", app=ReplayHeaders(inner, headers))]


def frame_ancestors(ctx: ServeContext, request: Request) -> list[str]:
    """Who may frame an embed page: this origin, every origin the UI is reached by
    (``ServeContext.ui_origins``), and the UI origin under the host name this request came by (a
    browser at http://localhost:8080 frames http://localhost:8081: the service worker needs the frame
    to be same-site with the page around it)."""
    from urllib.parse import urlsplit

    out = ["'self'", *ctx.ui_origins()]
    ui_port = urlsplit(ctx.ui_base).port
    host = (request.url.hostname or "").lower()
    if ui_port and HOST_NAME.fullmatch(host):        # never a Host header's stray ';' into the policy
        shown = f"[{host}]" if ":" in host else host
        out.append(f"{request.url.scheme}://{shown}:{ui_port}")
    return list(dict.fromkeys(out))


def archived_url(request: Request) -> str:
    """The URL after ``/embed/{capture_id}/{ts}/`` as the browser sent it: not percent-decoded (the
    engine looks it up as archived), with its query string."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    url = raw.decode("latin-1").split("/", 4)[4] if raw.count(b"/") >= 4 else ""
    query = request.url.query
    return f"{url}?{query}" if query else url


def known_capture(ctx: ServeContext, capture_id: str) -> bool:
    """A capture id is only used to name files once it is well formed and its manifest exists."""
    return bool(CAPTURE_ID.fullmatch(capture_id)) and ctx.workspace.manifest_path(capture_id).is_file()


def cached_wacz(ctx: ServeContext, capture_id: str) -> Path:
    """The capture's WACZ under ``.archiver/replay/``, exported on first use. The export writes a
    temporary name and renames it; the lock makes a second request wait for the first one's file."""
    from ..transfer.wacz_export import export_wacz

    ws = ctx.workspace
    target = ws.state_dir / REPLAY_DIR / f"{capture_id}.wacz"
    if target.is_file():
        return target
    with ws.lock(REPLAY_DIR):
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            export_wacz(ws, [capture_id], target, ctx.settings)
    return target


def plain(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def not_found(message: str) -> Response:
    return plain(404, message)


async def _not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    await not_found("nothing here: the replay origin serves /embed/..., /wacz/... and /static/replay/")(
        scope, receive, send)


class ReplayHeaders:
    """ASGI middleware: every response of the replay origin, errors included, carries ``headers``
    (a route's own value wins). An exception before the response started becomes a plain 500."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                from starlette.datastructures import MutableHeaders

                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await plain(500, "internal error")(scope, receive, send_with_headers)
            raise


# Files as the replay origin sends them: a byte range of a file (RFC 9110 section 14).

class RangeNotSatisfiable(UsageError):
    """A Range header that is malformed or lies outside the file (HTTP 416)."""

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The ``[start, end)`` a Range header asks of a file of ``size`` bytes; None when the header is to be
    ignored (another unit, or several ranges: the whole file is then sent, as RFC 9110 allows);
    RangeNotSatisfiable for a malformed range or one that starts past the end."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    match = RANGE.fullmatch(spec)
    if not match or not (match.group(1) or match.group(2)):
        raise RangeNotSatisfiable(f"malformed Range header: {header[:100]!r}", size=size)
    first, last = match.group(1), match.group(2)
    if not first:                                   # "-N": the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"range {spec.strip()!r} is empty", size=size)
        return max(0, size - suffix), size
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:
        raise RangeNotSatisfiable(f"range {spec.strip()!r} ends before it starts", size=size)
    if start >= size:
        raise RangeNotSatisfiable(f"range {spec.strip()!r} starts past the end ({size} bytes)", size=size)
    return start, min(end, size)


def validators(path: Path) -> tuple[int, dict[str, str]]:
    """A file's size, and the ETag and Last-Modified that say which version of it a range is from."""
    st = os.stat(path)
    etag = hashlib.sha256(f"{st.st_size}-{st.st_mtime_ns}-{st.st_ino}".encode()).hexdigest()[:32]
    return st.st_size, {"ETag": f'"{etag}"', "Last-Modified": formatdate(st.st_mtime, usegmt=True)}


def file_response(path: Path, media_type: str, request_headers: Mapping[str, str], *, head: bool) -> Response:
    """The file, or the byte range the request asks for (206); RangeNotSatisfiable for a bad range.
    An ``If-Range`` naming another version of the file gets the whole file (200)."""
    from starlette.responses import Response, StreamingResponse

    size, headers = validators(path)
    headers["Accept-Ranges"] = "bytes"
    wanted = request_headers.get("range")
    if_range = request_headers.get("if-range")
    span = None
    if wanted is not None and (if_range is None or if_range in (headers["ETag"], headers["Last-Modified"])):
        span = byte_range(wanted, size)
    start, end = span or (0, size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if head:
        return Response(b"", status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(_read(path, start, end), status_code=status, headers=headers, media_type=media_type)


async def _read(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    import anyio

    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(start)
        left = end - start
        while left > 0:
            data = await fh.read(min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data
