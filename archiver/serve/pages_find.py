"""Finding and citing: a URL's history (``/url``), full-text search (``/search``), citations
(``/cite``) and a capture's bibliography (``/captures/{id}/bibliography``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..citing.citations import citation_data, cite, replay_url, with_overrides
from ..citing.formats import FORMATS
from ..core.errors import UsageError
from ..core.moments import parse_moment
from ..index.store import Index, Memento
from ..watch.drift import Change, Observation, changes_over_time
from .pages_view import View, capture_id_of, param, title_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

MAX_QUERY = 1000            # characters of a search query
SEARCHED = 500              # best hits read from the index before the host and date filters
SHOWN = 50                  # hits shown
STYLE_NAMES = {"apa": "APA", "mla": "MLA", "chicago": "Chicago", "bibtex": "BibTeX", "ris": "RIS",
               "csl-json": "CSL-JSON", "robust-link": "Robust Link (HTML)", "markdown": "Markdown"}
TIMELINE_STYLE = "apa"


def routes(view: View) -> list[BaseRoute]:
    def timeline(request: Request) -> Response:
        return _timeline(view, request)

    def search(request: Request) -> Response:
        return _search(view, request)

    def citation(request: Request) -> Response:
        return _cite(view, request)

    def bibliography(request: Request) -> Response:
        return _bibliography(view, request)

    return [
        view.route("/url", timeline),
        view.route("/search", search),
        view.route("/cite", citation),
        view.route("/captures/{capture_id}/bibliography", bibliography),
    ]


# -- a URL's history -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Version:
    """One capture of the URL, judged against the one before it."""

    change: Change
    memento: Memento | None         # None: the capture failed to get it (change.after.failure says why)
    citation: str | None            # in TIMELINE_STYLE, for a version that can be cited


def _timeline(view: View, request: Request) -> Response:
    url = param(request, "u")
    if not url:
        return view.page(request, "url.html", url="", versions=[])
    with Index.open(view.ctx.workspace) as index:
        pairs: list[tuple[Observation, Memento | None]] = [(_observed(index, m), m) for m in index.timemap(url)]
        pairs += [(o, None) for o in _failures_of(index, url)]
    memento_of = {id(o): m for o, m in pairs}
    changes = changes_over_time({url: [o for o, _ in pairs]})
    versions = [Version(c, memento_of.get(id(c.after)), _citation(view, memento_of.get(id(c.after))))
                for c in reversed(changes)]
    return view.page(request, "url.html", url=url, versions=versions)


def _observed(index: Index, m: Memento) -> Observation:
    stored = m.revisit_of
    text = index.text_of(stored.capture_id, stored.record_id) if stored else index.text_of(m.capture_id, m.record_id)
    return Observation(url=m.url, datetime=m.datetime, capture_id=m.capture_id, status=m.status,
                       location=m.location, text=text, payload_sha256=m.payload_sha256)


def _failures_of(index: Index, url: str) -> list[Observation]:
    """The captures that tried ``url`` (any spelling) and got no response."""
    from ..net.surt import surt

    rows = index.db.execute("SELECT url, capture_id, datetime, kind, reason FROM failures WHERE surt = ?",
                            (surt(url),))
    return [Observation(url=u, datetime=when, capture_id=cid, status=None, failure=f"{kind}: {reason}")
            for u, cid, when, kind, reason in rows]


def _citation(view: View, m: Memento | None) -> str | None:
    if m is None or not 200 <= m.status < 300:
        return None
    return FORMATS[TIMELINE_STYLE](with_overrides(view.ctx.workspace, [citation_data(m, view.ctx.settings)])).strip()


# -- search --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Hit:
    memento: Memento
    title: str | None
    snippet: str
    archived_url: str


def _search(view: View, request: Request) -> Response:
    query, host = param(request, "q", MAX_QUERY), param(request, "host", 300).lower()
    start, end = _moment(request, "from", end=False), _moment(request, "to", end=True)
    hits, more = _hits(view, query, host, start, end) if query else ([], False)
    return view.page(request, "search.html", query=query, host=host, start=param(request, "from", 40),
                     end=param(request, "to", 40), hits=hits, more=more)


def _hits(view: View, query: str, host: str, start: datetime | None, end: datetime | None) -> tuple[list[Hit], bool]:
    """The best SHOWN hits within the filters, and whether there may be more (beyond SHOWN, or
    beyond the SEARCHED best the index was asked for)."""
    with Index.open(view.ctx.workspace) as index:
        found = index.search(query, SEARCHED)
    kept = [(m, snippet) for m, snippet, _ in found
            if _host_matches(m.url, host) and _in_range(m.datetime, start, end)]
    hits = [Hit(m, title_of(m.metadata), snippet, replay_url(view.ctx.settings, m)) for m, snippet in kept[:SHOWN]]
    return hits, len(kept) > SHOWN or len(found) == SEARCHED


def _moment(request: Request, name: str, end: bool) -> datetime | None:
    """A date filter; a ``to`` date without a time takes in the whole of that day."""
    text = param(request, name, 40)
    if not text:
        return None
    moment = parse_moment(text)
    whole_day = len(text) == 10 or (text.isdigit() and len(text) <= 8)
    return moment + timedelta(days=1) - timedelta(microseconds=1) if end and whole_day else moment


def _host_matches(url: str, host: str) -> bool:
    if not host:
        return True
    wanted = (urlsplit(host).hostname or "") if "://" in host else host.split(":")[0]
    try:
        found = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return found == wanted or found.endswith("." + wanted)


def _in_range(moment: str, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    try:
        at = parse_moment(moment)
    except UsageError:
        return False
    return (start is None or at >= start) and (end is None or at <= end)


# -- citations -----------------------------------------------------------------------------------

def _styles() -> list[str]:
    known = [s for s in STYLE_NAMES if s in FORMATS]
    return known + [s for s in FORMATS if s not in known]


def _cite(view: View, request: Request) -> Response:
    url, at_text = param(request, "url"), param(request, "at", 40)
    if not url:
        return view.page(request, "cite.html", url="", at=at_text, items=[], styles=[], names=STYLE_NAMES,
                         heading="Cite an archived page", capture_id=None)
    items = cite(view.ctx.workspace, [url], at=parse_moment(at_text) if at_text else None, settings=view.ctx.settings)
    styles = [(s, FORMATS[s](items).strip()) for s in _styles()]
    return view.page(request, "cite.html", url=url, at=at_text, items=items, styles=styles, names=STYLE_NAMES,
                     heading="Cite " + url, capture_id=None)


def _bibliography(view: View, request: Request) -> Response:
    capture_id = capture_id_of(request)
    items = cite(view.ctx.workspace, [capture_id], settings=view.ctx.settings)
    styles = [(s, FORMATS[s](items).strip()) for s in _styles()] if items else []
    return view.page(request, "cite.html", url="", at="", items=items, styles=styles, names=STYLE_NAMES,
                     heading=f"Bibliography of capture {capture_id}", capture_id=capture_id)
