"""A rescue from document to robust copy: find the URLs, capture those without an archived copy
(one sealed capture, every URL a seed), judge each, write the outputs beside the document and
keep the report in the workspace. The public entry point is :func:`rescue`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ..capturing.run import ProgressCallback, capture
from ..citing.citations import citation_data, cite, with_overrides
from ..citing.formats import Renderer
from ..citing.formats.data import CitationData
from ..core.errors import ArchiverError
from ..core.models import ArchivedResource, CaptureResult
from ..core.settings import CaptureOptions, Settings
from ..core.urls import resolve_link
from ..core.workspace import Workspace, atomic_write
from ..index.store import Index, Memento
from . import report as reports
from .found import Document, Occurrence, encode, find
from .report import RescueReport, UrlOutcome
from .rewrite import Version, apply, edits

ROBUST_FORMATS = {"markdown", "html", "bibtex"}
SUFFIX = {"bibtex": ".bib", "csl-json": ".json", "ris": ".ris", "markdown": ".md", "robust-link": ".html"}
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RescueRequest:
    """What to rescue and how."""

    path: Path
    style: str                       # the bibliography's style name (its file's suffix follows it)
    render: Renderer                 # the bibliography's renderer (archiver.citing.formats.renderer)
    refresh: bool = False            # capture links that name an archived copy already, and add the new one


def rescue(request: RescueRequest, workspace: Workspace, options: CaptureOptions, *, settings: Settings,
           progress: ProgressCallback | None = None, clock: Clock = _utcnow,
           announce: Callable[[str], None] | None = None) -> RescueReport:
    """Rescue the document ``request.path``: see the module's docstring. UsageError for a document
    that cannot be read; what fails per URL is in the report, never raised. ``announce`` is told, in
    one line, what was found and what will be captured."""
    doc = find(request.path)
    cited = doc.cited()
    # a document archiver cannot rewrite names no archived copy itself: earlier rescues of it do
    archived = {} if request.refresh or doc.format in ROBUST_FORMATS else \
        reports.known_archived(workspace, request.path)
    robust = {url for url, seen in cited.items() if all(o.versions for o in seen) or url in archived}
    known = {} if request.refresh else reports.known_gone(workspace, request.path)
    gone = {url: known[url] for url in cited if url in known and url not in robust}
    wanted = [url for url in cited if request.refresh or not (url in robust or url in gone)]
    report = RescueReport(str(request.path), doc.format, doc.date, None, clock().isoformat(), skipped=doc.skipped)
    if announce is not None:
        announce(f"{request.path} cites {len(cited)} URLs ({len(robust)} with an archived copy named, {len(gone)} "
                 f"found dead before): capturing {len(wanted)}")
    result = capture(wanted, workspace, options, settings=settings, progress=progress, clock=clock) if wanted else None
    report.capture_id = result.capture_id if result else None
    versions: dict[str, Version] = {}
    sources: list[CitationData] = []
    for url, seen in cited.items():
        if url in gone:
            written, where = _written(doc, seen)
            report.urls.append(UrlOutcome(url, written, where, "dead", capture_id=gone[url], reason=(
                f"not archived when rescue {gone[url]} tried it; not tried again (--refresh tries again)")))
            continue
        if url in archived and url not in wanted:
            report.urls.append(replace(archived[url], written=_written(doc, seen)[0], where=_written(doc, seen)[1]))
            continue
        if result is None or url not in wanted:
            report.urls.append(_robust(url, *_written(doc, seen), seen))
            continue
        outcome, item = _judge(url, seen, _written(doc, seen), result, workspace, settings, request.render,
                               doc.date)
        report.urls.append(outcome)
        if item is not None and outcome.archived_url and outcome.archived_at:
            versions[url] = Version(outcome.archived_url, outcome.archived_at[:10])
            sources.append(item)
    if result is not None:
        _write_outputs(request, doc, versions, sources, report)
        reports.save(workspace, report)
    return report


def _written(doc: Document, seen: list[Occurrence]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    places = (doc.place(o) for o in seen)
    return tuple(dict.fromkeys(o.url for o in seen)), tuple(dict.fromkeys(p for p in places if p))


def _robust(url: str, written: tuple[str, ...], where: tuple[str, ...], seen: list[Occurrence]) -> UrlOutcome:
    named = [v for o in seen for v in o.versions]
    return UrlOutcome(url, written, where, "robust", archived_url=named[-1] if named else None)


def _final(url: str, result: CaptureResult) -> tuple[ArchivedResource | None, str | None]:
    """The response the URL led to in the capture, its redirects followed, and the last URL."""
    by_url: dict[str, ArchivedResource] = {}
    for archived in result.resources:
        by_url.setdefault(archived.url, archived)
    current, seen = url, {url}
    res: ArchivedResource | None = by_url.get(url)
    while res is not None and 300 <= res.status < 400 and res.location:
        target = resolve_link(res.url, res.location)
        if target is None or target in seen or target not in by_url:
            return res, target or current
        seen.add(target)
        current, res = target, by_url[target]
    return res, current if current != url else None


def _judge(url: str, seen: list[Occurrence], places: tuple[tuple[str, ...], tuple[str, ...]], result: CaptureResult,
           workspace: Workspace, settings: Settings, render: Renderer,
           doc_date: str | None) -> tuple[UrlOutcome, CitationData | None]:
    written, where = places
    res, redirected = _final(url, result)
    base = UrlOutcome(url, written, where, "failed", capture_id=result.capture_id, redirected_to=redirected)
    if res is None or res.status >= 400 or 300 <= res.status < 400:
        why = _why(url, redirected, result) if res is None or 300 <= res.status < 400 else None
        gone = replace(base, outcome="dead" if res is not None and res.status >= 400 else "failed",
                       status=res.status if res else None, reason=why)
        earlier = _last_good(workspace, url, result.capture_id, settings)
        if earlier is None:
            return gone, None
        return replace(gone, earlier=render([earlier]).strip(), archived_url=earlier.archived_url,
                       archived_at=earlier.archived_at.isoformat().replace("+00:00", "Z")), earlier
    try:
        item = cite(workspace, [url], at=_moment(res.date), settings=settings)[0]
    except ArchiverError as exc:
        return replace(base, status=res.status, reason=str(exc)), None
    changed, note = _changed(workspace, url, item, result.capture_id, seen[0].dated or doc_date)
    return replace(base, outcome="captured", status=res.status, archived_url=item.archived_url,
                   archived_at=item.archived_at.isoformat().replace("+00:00", "Z"), changed=changed,
                   changed_note=note), item


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _why(url: str, redirected: str | None, result: CaptureResult) -> str:
    for failure in result.failures:
        if failure.url in (url, redirected):
            return f"{failure.kind}: {failure.reason}"
    for skipped in result.skipped:
        if skipped.url in (url, redirected):
            return f"skipped: {skipped.reason}"
    return "not archived"


def _good(workspace: Workspace, url: str, capture_id: str) -> list[Memento]:
    with Index.open(workspace) as index:
        return [m for m in index.timemap(url) if m.capture_id != capture_id and 200 <= m.status < 300]


def _last_good(workspace: Workspace, url: str, capture_id: str, settings: Settings) -> CitationData | None:
    """The last earlier capture of ``url`` that answered 2xx, as a citation."""
    good = _good(workspace, url, capture_id)
    return with_overrides(workspace, [citation_data(good[-1], settings)])[0] if good else None


def _changed(workspace: Workspace, url: str, item: CitationData, capture_id: str,
             since: str | None) -> tuple[bool | None, str | None]:
    """Whether the page differs from the workspace's last capture of it made by the document's date."""
    if since is None:
        return None, None
    before = [m for m in _good(workspace, url, capture_id) if m.datetime[:10] <= since[:10]]
    if not before:
        return _page_says(workspace, item, since[:10])
    then = before[-1]
    changed = then.payload_sha256 != item.payload_sha256
    word = "changed" if changed else "unchanged"
    return changed, f"{word} since the document's date ({since[:10]}): compared with capture {then.capture_id}"


def _page_says(workspace: Workspace, item: CitationData, since: str) -> tuple[bool | None, str | None]:
    """Judged by the page's own date of change (else of publication), when it gives one."""
    with Index.open(workspace) as index:
        now = [m for m in index.timemap(item.url) if m.capture_id == item.capture_id]
    meta = (now[0].metadata or {}) if now else {}
    for name, word in (("modified", "updated"), ("published", "published")):
        field = meta.get(name)
        value = field.get("value") if isinstance(field, dict) else None
        if isinstance(value, str) and len(value) >= 10:
            after = value[:10] > since
            return after, f"the page says it was {word} {value[:10]}, {'after' if after else 'by'} the document's date ({since})"
    return None, f"not known: no capture from before the document's date ({since}) and no date on the page"


def beside(path: Path, tag: str, suffix: str) -> Path:
    """``paper.md`` -> ``paper.<tag><suffix>``: beside the document, never the document itself."""
    out = path.with_name(f"{path.stem}.{tag}{suffix}")
    return out if out != path else path.with_name(f"{path.stem}.{tag}.{tag}{suffix}")


def _write_outputs(request: RescueRequest, doc: Document, versions: dict[str, Version],
                   sources: list[CitationData], report: RescueReport) -> None:
    if sources:
        unique = list({(s.capture_id, s.url): s for s in sources}.values())
        report.bibliography = request.render(unique)
        where = beside(request.path, "sources", SUFFIX.get(request.style.lower(), ".txt"))
        atomic_write(where, report.bibliography.encode("utf-8"))
        report.outputs["bibliography"] = str(where)
    if doc.format in ROBUST_FORMATS and doc.text is not None:
        changes = edits(doc, versions, request.refresh)
        if changes:
            where = beside(request.path, "robust", request.path.suffix)
            atomic_write(where, encode(apply(doc.text, changes)))
            report.outputs["robust"] = str(where)
    else:
        where = beside(request.path, "links", ".md")
        report.outputs["links"] = str(where)
        atomic_write(where, reports.links_markdown(report).encode("utf-8"))
