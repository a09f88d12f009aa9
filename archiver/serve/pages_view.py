"""What every HTML page shares: the Jinja2 templates (autoescaping on, so every archived string is
text), the page's Content-Security-Policy, the error page, and the small formatting filters.

Jinja2's one home module: the other ``pages_*`` modules render through ``View``."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from ..core.errors import ArchiverError, NotArchivedError, UsageError
from ..net.surt import timestamp14
from .context import ServeContext
from .jobs import TooBusy

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static" / "ui"

# The pages' own policy: scripts and styles from this origin only (no inline script, no eval), no
# frames, forms posting only here. Stricter than the memento page's, which frames the replay origin.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
MAX_PARAM = 8192                # characters of one query parameter (a URL may be long)

Handler = Callable[["Request"], "Response | Awaitable[Response]"]


class Forbidden(ArchiverError):
    """A writing request without the server's token, or on a read-only server (HTTP 403)."""


_STATUS: list[tuple[type[Exception], int]] = [(UsageError, 400), (Forbidden, 403), (NotArchivedError, 404),
                                              (TooBusy, 429)]


@dataclass(frozen=True, slots=True)
class View:
    """The templates and what pages need of the server. One per app (``pages.routes``)."""

    ctx: ServeContext
    env: jinja2.Environment

    @classmethod
    def create(cls, ctx: ServeContext) -> View:
        import jinja2

        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                                 autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        view = cls(ctx, env)
        env.filters.update(when=when, size=size, marked=marked, plural=plural, title=title_of)
        env.globals.update(ctx=ctx, collection=ctx.collection, memento_href=view.memento_href,
                           timeline_href=timeline_href, cite_href=cite_href)
        return view

    def memento_href(self, url: str, date: str) -> str:
        """The archived copy on this server: ``/<collection>/<14 digits>/<url>`` (pywb's layout)."""
        return f"/{self.ctx.collection}/{timestamp14(date)}/{url}"

    def page(self, request: Request, template: str, status: int = 200, **data: Any) -> Response:
        from starlette.responses import HTMLResponse

        html = self.env.get_template(template).render(request=request, path=request.url.path, **data)
        return HTMLResponse(html, status_code=status, headers={
            "Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store",
            # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with a
            # form's POST, and security.may_write rightly refuses a cookie from an unnamed origin
            "Referrer-Policy": "same-origin"})

    def error(self, request: Request, status: int, message: str) -> Response:
        """The error page; to htmx (which swaps every answer in), the error as a fragment."""
        template = "error_fragment.html" if request.headers.get("hx-request") == "true" else "error.html"
        return self.page(request, template, status=status, status_code=status, message=" ".join(message.split()))

    def route(self, path: str, handler: Handler, methods: list[str] | None = None) -> BaseRoute:
        """A route whose handler's errors become the error page (one line, never a traceback);
        a plain function runs in the thread pool (it reads files and SQLite)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.routing import Route

        async def endpoint(request: Request) -> Response:
            try:
                if inspect.iscoroutinefunction(handler):
                    return await cast("Callable[[Request], Awaitable[Response]]", handler)(request)
                return await run_in_threadpool(cast("Callable[[Request], Response]", handler), request)
            except ArchiverError as exc:
                status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
                return self.error(request, status, str(exc))

        return Route(path, endpoint, methods=methods or ["GET"])


# -- query parameters ----------------------------------------------------------------------------

def param(request: Request, name: str, limit: int = MAX_PARAM) -> str:
    """A query parameter, stripped ('' when absent); UsageError when longer than ``limit``."""
    value = request.query_params.get(name, "").strip()
    if len(value) > limit:
        raise UsageError(f"the parameter {name!r} is longer than {limit} characters")
    if not value.isprintable():
        raise UsageError(f"the parameter {name!r} holds control characters")
    return value


def capture_id_of(request: Request) -> str:
    """The capture id of the path, checked before it names any file."""
    from ..core.workspace import CAPTURE_ID

    capture_id = str(request.path_params["capture_id"])
    if not CAPTURE_ID.fullmatch(capture_id):
        raise NotArchivedError(f"{capture_id[:80]!r} is not a capture id")
    return capture_id


# -- links and filters ---------------------------------------------------------------------------

def timeline_href(url: str) -> str:
    return "/url?u=" + quote(url, safe="")


def cite_href(url: str, date: str | None = None) -> str:
    return "/cite?url=" + quote(url, safe="") + (f"&at={timestamp14(date)}" if date else "")


def when(value: str | None) -> str:
    """'2026-11-30T19:24:07.183669Z' -> '2026-11-30 19:24:07 UTC'; what cannot be read, as it is."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def size(value: int | None) -> str:
    """Bytes as people read them: 950 B, 48.6 kB, 3.2 MB (powers of 1000, as the CLI prints)."""
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{value} B"


def title_of(metadata: dict[str, Any] | None) -> str | None:
    """The title in a resource's citation metadata (``{"title": {"value": ..., "source": ...}}``)."""
    field = (metadata or {}).get("title")
    value = field.get("value") if isinstance(field, dict) else None
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


_MARKERS = re.compile(r"[\[\]]")


def marked(snippet: str) -> Markup:
    """A search snippet with its matches between '[' and ']' (Index.search) as <mark>: the text is
    escaped first, then the markers become tags, opened and closed in turn so the HTML stays whole."""
    from markupsafe import Markup, escape

    out, open_ = [], False
    text = str(escape(snippet))
    last = 0
    for match in _MARKERS.finditer(text):
        out.append(text[last:match.start()])
        if match.group() == "[" and not open_:
            out.append("<mark>")
            open_ = True
        elif match.group() == "]" and open_:
            out.append("</mark>")
            open_ = False
        else:
            out.append(match.group())
        last = match.end()
    out.append(text[last:])
    if open_:
        out.append("</mark>")
    return Markup("".join(out))
