"""The web UI: server-rendered HTML pages on the UI origin, each working without JavaScript where it
can (htmx, vendored under ``static/ui/htmx/``, only makes job progress live; a small script adds
copy buttons). Every page sends a strict Content-Security-Policy (scripts from this origin only, no
inline script) and every archived string is escaped by Jinja2's autoescaping.

=====================================  ===========================================================
``/``                                  captures, newest first (``pages_captures``)
``/captures/{id}``                     one capture: resources, failures, provenance, downloads
``/captures/{id}/files/{name}``        a file the capture's manifest lists, or one of its seal files
``/captures/{id}/export.wacz``         the capture as WACZ, made on request
``/captures/{id}/export-bag.zip``      the capture as a zipped BagIt bag, made on request
``/captures/{id}/bibliography``        its pages' citations in every style (``pages_find``)
``/url?u=``                            a URL's history: each capture, what changed, its citation
``/search?q=&host=&from=&to=``         full-text search
``/cite?url=&at=``                     a citation in every style
``/capture``                           the capture form; POST starts a capture (``pages_jobs``)
``/captures/{id}/verify``              POST: verify now
``/jobs/{id}``, ``/jobs/{id}/fragment`` a job's progress (page, and the fragment htmx polls)
``/session``                           the sign-in form (posts the token to ``/api/session``)
``/static/ui/...``                     stylesheet, scripts
=====================================  ===========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import pages_captures, pages_find, pages_jobs
from .context import ServeContext
from .pages_view import STATIC, View

if TYPE_CHECKING:
    from starlette.routing import BaseRoute


def routes(ctx: ServeContext) -> list[BaseRoute]:
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    view = View.create(ctx)
    return [
        *pages_captures.routes(view),
        *pages_find.routes(view),
        *pages_jobs.routes(view),
        Mount("/static/ui", app=StaticFiles(directory=STATIC), name="ui-static"),
    ]
