"""The JSON API under ``/api/``, described by the OpenAPI document it serves at ``/api/openapi.json``
(``openapi.json`` beside this module; tests/test_serve_api.py checks every answer against it).

Reading needs nothing; writing (starting a capture or a verify) needs the token (``security``)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from ..core.errors import ArchiverError, NotArchivedError, UsageError
from ..core.settings import MAX_TOKEN
from .context import ServeContext
from .jobs import Jobs, TooBusy, last_verify
from .security import COOKIE, may_write

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

MAX_QUERY = 1000             # characters of a search query
MAX_URLS = 100               # seeds of one capture started from the API
MAX_BODY = 64 * 1024         # bytes of a request body


def routes(ctx: ServeContext) -> list[BaseRoute]:
    from starlette.routing import Route

    def handler(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request, ctx)
            except (UsageError, TooBusy) as exc:
                return _error(429 if isinstance(exc, TooBusy) else 400, str(exc))
            except NotArchivedError as exc:
                return _error(404, str(exc))
            except ArchiverError as exc:
                return _error(500, str(exc))
        return endpoint

    return [
        Route("/api/openapi.json", handler(_openapi)),
        Route("/api/captures", handler(_captures), methods=["GET"]),
        Route("/api/captures", handler(_start_capture), methods=["POST"]),
        Route("/api/captures/{capture_id}", handler(_capture)),
        Route("/api/captures/{capture_id}/verify", handler(_start_verify), methods=["POST"]),
        Route("/api/jobs/{job_id}", handler(_job)),
        Route("/api/search", handler(_search)),
        Route("/api/cite", handler(_cite)),
        Route("/api/session", handler(_session), methods=["POST"]),
        Route(FALLBACK, _unknown, methods=["GET", "POST"]),
    ]


FALLBACK = "/api/{rest:path}"        # anything else under /api/: a JSON 404, not the HTML one


async def _unknown(request: Request) -> Response:
    return _error(404, f"no such API route: {request.url.path[:200]} (see /api/openapi.json)")


def _json(data: Any, status: int = 200) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def _error(status: int, message: str) -> Response:
    return _json({"error": " ".join(message.split())}, status)


def openapi_document() -> dict[str, Any]:
    return json.loads(files("archiver.serve").joinpath("openapi.json").read_text(encoding="utf-8"))


async def _openapi(request: Request, ctx: ServeContext) -> Response:
    doc = openapi_document()
    doc["servers"] = [{"url": ctx.ui_base}]
    return _json(doc)


def _param(request: Request, name: str, limit: int, required: bool = False) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        if required:
            raise UsageError(f"the query parameter {name!r} is required")
        return None
    if len(value) > limit:
        raise UsageError(f"the query parameter {name!r} is longer than {limit} characters")
    return value


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = _param(request, name, 20)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise UsageError(f"the query parameter {name!r} must be a whole number from {low} to {high}")
    return int(value)


def _jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


def _refuse_write(request: Request, ctx: ServeContext) -> Response | None:
    if may_write(request, ctx):
        return None
    if ctx.token is None:
        return _error(403, "this server is read-only: start it with --token (or serve_token in archiver.yaml) "
                           "to capture and verify from the browser")
    return _error(403, "writing needs the server's token (Authorization: Bearer <token>, or sign in on the page)")


async def _body(request: Request) -> Any:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise UsageError(f"the request body is larger than {MAX_BODY} bytes")
    if not raw:
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            return json.loads(raw)
        except ValueError:
            raise UsageError("the request body is not JSON") from None
    from urllib.parse import parse_qs

    form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=MAX_URLS + 10)
    return {k: v if k == "urls" else v[0] for k, v in form.items()}


# -- captures ------------------------------------------------------------------------------------

async def _captures(request: Request, ctx: ServeContext) -> Response:
    from starlette.concurrency import run_in_threadpool

    from ..index.catalog import captures_page

    limit = _int_param(request, "limit", 100, 1, 1000)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    page = await run_in_threadpool(captures_page, ctx.workspace, offset, limit)
    return _json({"total": page.total, "captures": [_with_verify(ctx, c.public()) for c in page.captures]})


def _with_verify(ctx: ServeContext, data: dict[str, Any]) -> dict[str, Any]:
    state = last_verify(ctx.workspace, data["capture_id"])
    return {**data, "verify": state.public() if state else None}


async def _capture(request: Request, ctx: ServeContext) -> Response:
    from starlette.concurrency import run_in_threadpool

    from ..index.catalog import show_capture

    detail = await run_in_threadpool(show_capture, ctx.workspace, _capture_id(request))
    return _json(_with_verify(ctx, detail.public()))


def _capture_id(request: Request) -> str:
    from ..core.workspace import CAPTURE_ID

    capture_id = str(request.path_params["capture_id"])
    if not CAPTURE_ID.fullmatch(capture_id):
        raise NotArchivedError(f"{capture_id[:80]!r} is not a capture id")
    return capture_id


async def _start_capture(request: Request, ctx: ServeContext) -> Response:
    from ..core.capture_options import CaptureOptions, OptionError

    if (refused := _refuse_write(request, ctx)) is not None:
        return refused
    body = await _body(request)
    urls = body.get("urls") if isinstance(body, dict) else None
    if isinstance(urls, str):
        urls = urls.split()
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u.strip() for u in urls):
        raise UsageError("give 'urls': a list of the URLs to capture")
    if len(urls) > MAX_URLS:
        raise UsageError(f"at most {MAX_URLS} URLs in one capture")
    depth = body.get("depth", ctx.settings.capture.depth)
    try:
        depth = int(depth)
        options = CaptureOptions(**{**_options_of(ctx), "depth": depth})
    except (ValueError, TypeError, OptionError) as exc:
        raise UsageError(f"depth: {exc}") from None
    job = _jobs(request).start_capture([u.strip() for u in urls], options)
    return _json({"job": job.public(), "status_url": f"/api/jobs/{job.id}"}, 202)


def _options_of(ctx: ServeContext) -> dict[str, Any]:
    from dataclasses import fields

    options = ctx.settings.capture
    return {f.name: getattr(options, f.name) for f in fields(options)}


async def _start_verify(request: Request, ctx: ServeContext) -> Response:
    if (refused := _refuse_write(request, ctx)) is not None:
        return refused
    capture_id = _capture_id(request)
    if not ctx.workspace.manifest_path(capture_id).exists():
        raise NotArchivedError(f"no capture {capture_id} in this workspace")
    job = _jobs(request).start_verify(capture_id)
    return _json({"job": job.public(), "status_url": f"/api/jobs/{job.id}"}, 202)


async def _job(request: Request, ctx: ServeContext) -> Response:
    job = _jobs(request).get(str(request.path_params["job_id"])[:64])
    if job is None:
        raise NotArchivedError("no such job (finished jobs are kept for a while, then forgotten)")
    return _json({"job": job.public()})


# -- search, cite, session -----------------------------------------------------------------------

async def _search(request: Request, ctx: ServeContext) -> Response:
    from starlette.concurrency import run_in_threadpool

    from ..citing.citations import replay_url
    from ..index.store import Index

    query = _param(request, "q", MAX_QUERY, required=True) or ""
    limit = _int_param(request, "limit", 20, 1, 200)

    def run() -> list[dict[str, Any]]:
        with Index.open(ctx.workspace) as index:
            hits = index.search(query, limit)
        return [{"url": m.url, "datetime": m.datetime, "capture_id": m.capture_id, "record_id": m.record_id,
                 "snippet": snippet, "archived_url": replay_url(ctx.settings, m)} for m, snippet, _ in hits]

    return _json({"query": query, "hits": await run_in_threadpool(run)})


async def _cite(request: Request, ctx: ServeContext) -> Response:
    from starlette.concurrency import run_in_threadpool

    from ..citing.citations import cite
    from ..citing.formats import FORMATS
    from ..core.moments import parse_moment

    target = _param(request, "url", 8192, required=True) or ""
    style = _param(request, "style", 40) or "apa"
    if style not in FORMATS:
        raise UsageError(f"style {style!r} is not one of {', '.join(FORMATS)}")
    at_text = _param(request, "at", 40)
    at = parse_moment(at_text) if at_text else None
    items = await run_in_threadpool(lambda: cite(ctx.workspace, [target], at=at, settings=ctx.settings))
    return _json({"style": style, "citation": FORMATS[style](items),
                  "sources": [{"url": i.url, "archived_url": i.archived_url} for i in items]})


async def _session(request: Request, ctx: ServeContext) -> Response:
    """Sign in: the token from a form becomes an HttpOnly, SameSite=Strict cookie."""
    from starlette.responses import RedirectResponse

    body = await _body(request)
    token = body.get("token") if isinstance(body, dict) else None
    if ctx.token is None:
        return _error(403, "this server is read-only: there is no token to sign in with")
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token != ctx.token:
        if "text/html" in request.headers.get("accept", ""):       # a browser's form: back to it, saying so
            return RedirectResponse("/session?refused=1", status_code=303)
        return _error(403, "that is not the server's token")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
