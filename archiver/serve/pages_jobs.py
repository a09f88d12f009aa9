"""Work started from the pages: the capture form (``/capture``), "verify now"
(``POST /captures/{id}/verify``), a job's progress (``/jobs/{id}``, and the fragment htmx polls,
``/jobs/{id}/fragment``) and the sign-in form (``/session``, which posts to ``/api/session``).

The forms post here as plain HTML forms, so they work without JavaScript: the answer is a 303 to the
job's page, which refreshes itself (a ``<noscript>`` refresh) until the job ends. With htmx the form
asks for the job's fragment instead, which polls itself until the job ends. Both start the same jobs
as the JSON API (``request.app.state.jobs``), under the same rule: only a request carrying the
server's token may write (``security.may_write``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..core.capture_options import CaptureOptions, parse_size
from ..core.errors import NotArchivedError, UsageError
from .jobs import Job, Jobs
from .pages_view import Forbidden, View, capture_id_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

MAX_FORM = 64 * 1024        # bytes of a posted form
MAX_URLS = 100              # seeds of one capture started from the form
READ_ONLY = ("this server is read-only: start it with a token (archiver serve --token TOKEN, or serve_token in "
             "archiver.yaml) to capture and verify from the browser")


def routes(view: View) -> list[BaseRoute]:
    async def start_capture(request: Request) -> Response:
        return _started(view, request, _start_capture(view, request, await _form(request)))

    async def start_verify(request: Request) -> Response:
        return _started(view, request, _start_verify(view, request))

    def form(request: Request) -> Response:
        return view.page(request, "capture_form.html", options=view.ctx.settings.capture, **_access(view, request))

    def job(request: Request) -> Response:
        return view.page(request, "job.html", job=_job(request), **_access(view, request))

    def fragment(request: Request) -> Response:
        return view.page(request, "job_fragment.html", job=_job(request))

    def session(request: Request) -> Response:
        return view.page(request, "session.html", refused=request.query_params.get("refused") == "1",
                         **_access(view, request))

    return [
        view.route("/capture", form),
        view.route("/capture", start_capture, methods=["POST"]),
        view.route("/captures/{capture_id}/verify", start_verify, methods=["POST"]),
        view.route("/jobs/{job_id}", job),
        view.route("/jobs/{job_id}/fragment", fragment),
        view.route("/session", session),
    ]


def _access(view: View, request: Request) -> dict[str, Any]:
    from .security import may_write

    return {"writable": view.ctx.writable, "may_write": may_write(request, view.ctx), "read_only": READ_ONLY}


def _jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


def _job(request: Request) -> Job:
    job = _jobs(request).get(str(request.path_params["job_id"])[:64])
    if job is None:
        raise NotArchivedError("no such job (finished jobs are kept for a while, then forgotten)")
    return job


def _started(view: View, request: Request, job: Job) -> Response:
    """htmx asked (``HX-Request``): the job's fragment, polling; a plain form post: 303 to the job's page."""
    from starlette.responses import RedirectResponse

    if request.headers.get("hx-request") == "true":
        return view.page(request, "job_fragment.html", status=202, job=job)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _check_write(view: View, request: Request) -> None:
    from .security import may_write

    if not view.ctx.writable:
        raise Forbidden(READ_ONLY)
    if not may_write(request, view.ctx):
        raise Forbidden("starting work needs the server's token: sign in at /session first")


async def _form(request: Request) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body (what an HTML form posts), at most MAX_FORM bytes."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM:
            raise UsageError(f"the form is larger than {MAX_FORM} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and kind != "application/x-www-form-urlencoded":
        raise UsageError("send the form as application/x-www-form-urlencoded (the JSON API is at /api/captures)")
    try:
        return parse_qs(raw.decode("utf-8"), max_num_fields=MAX_URLS + 20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"the form cannot be read: {exc}") from None


def _start_capture(view: View, request: Request, form: dict[str, list[str]]) -> Job:
    _check_write(view, request)
    urls = [u for text in form.get("urls", []) for u in text.split()]
    if not urls:
        raise UsageError("give at least one URL to capture")
    if len(urls) > MAX_URLS:
        raise UsageError(f"at most {MAX_URLS} URLs in one capture")
    return _jobs(request).start_capture(urls, capture_options(view.ctx.settings.capture, form))


def capture_options(base: CaptureOptions, form: dict[str, list[str]]) -> CaptureOptions:
    """The form's options over the workspace's defaults; UsageError naming a bad one."""
    def one(name: str) -> str | None:
        value = (form.get(name) or [""])[0].strip()
        return value or None

    changes: dict[str, Any] = {}
    try:
        for name, kind in (("depth", int), ("max_resources", int), ("timeout", float)):
            text = one(name)
            if text is not None:
                changes[name] = kind(text)
        if (text := one("max_bytes")) is not None:
            changes["max_bytes"] = parse_size(text)
        if (text := one("exclude")) is not None:
            changes["exclude"] = tuple(line.strip() for line in text.splitlines() if line.strip())
        changes["ignore_robots"] = one("ignore_robots") is not None
        changes["dedup"] = one("no_dedup") is None
        return replace(base, **changes)
    except ValueError as exc:
        raise UsageError(f"a capture option is not a number: {exc}") from None


def _start_verify(view: View, request: Request) -> Job:
    _check_write(view, request)
    capture_id = capture_id_of(request)
    if not view.ctx.workspace.manifest_path(capture_id).is_file():
        raise NotArchivedError(f"no capture {capture_id} in this workspace")
    return _jobs(request).start_verify(capture_id)
