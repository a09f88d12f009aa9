"""From the index to citations: which archived response a citation points at, and its CitationData.

``cite(workspace, ["https://...", "<capture-id>"], at=...)`` -> a list of CitationData, ready for any
renderer in ``archiver.citeformats.FORMATS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..core.errors import ArchiverError, NotArchivedError, UsageError
from ..core.moments import parse_moment
from ..core.settings import Settings
from ..core.workspace import Workspace
from ..index.store import Index, Memento
from ..net.surt import timestamp14
from ..page.metadata import date_parts
from .formats.data import CitationData, Name
from .overrides import CSL_TYPE, Changes, apply_overrides, load_overrides, save_changes

CAPTURE_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_KINDS = {"newsarticle": "article-newspaper", "reportagenewsarticle": "article-newspaper",
          "blogposting": "post-weblog", "scholarlyarticle": "article-journal"}


def replay_url(settings: Settings, memento: Memento) -> str:
    """The archived copy's URL: ``settings.archived_url_template`` (replay_url, else public_url's, else
    the local ``archiver serve``'s) filled in for ``memento``."""
    return settings.archived_url_template.format(collection=settings.collection,
                                                 timestamp=timestamp14(memento.datetime), url=memento.url,
                                                 capture_id=memento.capture_id)


def copies_are_local(settings: Settings) -> bool:
    """Whether archived copies are cited on this machine (localhost, a loopback address): no use
    to a reader of a publication, who cannot open them."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(settings.archived_url_template.format(collection="c", timestamp="t", url="u",
                                                              capture_id="i")).hostname
    except ValueError:
        return False
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def citation_data(memento: Memento, settings: Settings) -> CitationData:
    # the index keeps only mappings as fields; an odd value inside one is ignored, never an error
    meta = {k: v for k, v in (memento.metadata or {}).items() if isinstance(v, dict)}

    def value(name: str) -> object:
        return meta.get(name, {}).get("value")

    sources = {name: str(f.get("source")) for name, f in meta.items()}
    kind = CSL_TYPE.get(str(value("kind")), "") or ("document" if (memento.mime or "").split(";")[0].strip().lower()
                                                    == "application/pdf" else "webpage")
    if value("kind") is None:            # captured before the manifest named kinds: from the JSON-LD type
        for source in sources.values():
            vocab_type = source.split(":", 1)[1].split(".", 1)[0].lower() if source.startswith("json-ld:") else ""
            kind = _KINDS.get(vocab_type, kind)
    authors = value("authors")
    authors = authors if isinstance(authors, list) else []
    orgs = value("organizations")
    orgs = {o for o in orgs if isinstance(o, str)} if isinstance(orgs, list) else set()
    issued = date_parts(str(value("published"))) if value("published") else None
    return CitationData(
        url=memento.url, title=_text(value("title")), archived_url=replay_url(settings, memento),
        archived_at=parse_moment(memento.datetime), capture_id=memento.capture_id,
        payload_sha256=memento.payload_sha256,
        authors=tuple(Name(literal=" ".join(a.split())) if a in orgs else Name.parse(a)
                      for a in authors if isinstance(a, str) and a.strip()),
        issued=tuple(issued or ()), site=_text(value("site_name")), publisher=_text(value("publisher")),
        language=_text(value("language")), description=_text(value("description")), doi=_text(value("doi")),
        kind=kind, sources=sources)


def _text(value: object) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def select(index: Index, target: str, at: datetime | None) -> list[Memento]:
    """The mementos a target names: a capture id -> its article and every linked source; a URL -> its
    capture nearest ``at`` (or the latest), following redirects recorded in the same capture."""
    if CAPTURE_ID.match(target):
        mementos = index.capture_mementos(target)
        if not mementos:
            raise NotArchivedError(f"no capture {target} in this workspace", target=target)
        pages = [m for m in mementos if m.role in ("seed", "source") and 200 <= m.status < 300]
        pages.sort(key=lambda m: (m.role != "seed", m.datetime))
        return pages
    if at is not None:
        found = index.nearest(target, at)
        if found is None:
            raise NotArchivedError(f"{target} has not been captured in this workspace", target=target)
        memento = found[0]
    else:
        timemap = index.timemap(target)
        if not timemap:
            raise NotArchivedError(f"{target} has not been captured in this workspace", target=target)
        memento = timemap[-1]
    return [_follow(index, memento)]


def _follow(index: Index, memento: Memento, hops: int = 20) -> Memento:
    seen = {memento.url}
    while memento.location and 300 <= memento.status < 400 and hops > 0:
        from ..core.urls import resolve_link

        target = resolve_link(memento.url, memento.location)
        same = [m for m in index.timemap(target) if m.capture_id == memento.capture_id] if target else []
        if not same or target in seen:
            break
        memento = same[0]
        seen.add(memento.url)
        hops -= 1
    return memento


def cite(workspace: Workspace, targets: list[str], *, at: datetime | None = None,
         settings: Settings | None = None) -> list[CitationData]:
    """The sources ``targets`` name, each with the fields set by hand for its URL (citations.yaml)
    in place of the page's own."""
    from ..core.settings import load_settings

    settings = settings or load_settings(workspace.root)
    overrides = load_overrides(workspace)
    with Index.open(workspace) as index:
        mementos = [m for target in targets for m in select(index, target, at)]
    unique = list({(m.capture_id, m.record_id): m for m in mementos}.values())
    return [apply_overrides(citation_data(m, settings), overrides.get(m.url, {})) for m in unique]


def with_overrides(workspace: Workspace, items: list[CitationData]) -> list[CitationData]:
    """``items`` with the fields set by hand for their URLs (citations.yaml) in place of the pages' own."""
    overrides = load_overrides(workspace)
    return [apply_overrides(item, overrides.get(item.url, {})) for item in items]


def set_fields(workspace: Workspace, targets: list[str], changes: Changes, *,
               at: datetime | None = None) -> tuple[str, dict[str, object]]:
    """Keep ``changes`` for the one page ``targets`` name (citations.yaml, never a manifest); returns
    its URL and the fields now kept for it. UsageError when the targets name several pages."""
    with Index.open(workspace) as index:
        urls = list(dict.fromkeys(m.url for target in targets for m in select(index, target, at)))
    if len(urls) != 1:
        raise UsageError(f"--set gives the fields of one page, and {', '.join(targets)[:200]} names {len(urls)}: "
                         "cite that page by its URL alone")
    return urls[0], save_changes(workspace, urls[0], changes)


@dataclass(frozen=True, slots=True)
class CitationWarning:
    """What is wrong with a source's citation, and what to do about it: one line for the user."""

    url: str
    problem: str        # "javascript-shell", "missing"
    message: str


def citation_warnings(workspace: Workspace, items: list[CitationData]) -> list[CitationWarning]:
    """A warning for each source archived as an empty JavaScript shell (a fidelity flag of its
    capture), else for each that has no title, author or date (after the fields set by hand)."""
    import shlex

    from ..index.catalog import manifest_head

    flagged: dict[str, set[str]] = {}
    out = []
    for item in items:
        if item.capture_id not in flagged:
            try:
                flags = manifest_head(workspace, item.capture_id).flags
            except ArchiverError:
                flags = ()
            flagged[item.capture_id] = {f.split(": ", 1)[1] for f in flags if f.startswith("javascript-shell: ")}
        url = shlex.quote(item.url)
        if item.url in flagged[item.capture_id]:
            out.append(CitationWarning(item.url, "javascript-shell", (
                f"{item.url} was archived as an empty JavaScript shell (scripts write its text), so its title, "
                f"author and date may be wrong: capture it again with a browser, or set them: archiver cite {url} "
                f"--set title='...' --set author='Jane Doe' --set date=2026-11-02")))
            continue
        missing = [name for name, present in (("title", item.title), ("author", item.authors),
                                              ("date", item.issued)) if not present]
        if missing:
            example = {"title": "--set title='...'", "author": "--set author='Jane Doe'",
                       "date": "--set date=2026-11-02"}
            out.append(CitationWarning(item.url, "missing", (
                f"{item.url} names no {', no '.join(missing)} in its markup: set "
                f"{'it' if len(missing) == 1 else 'them'} if the page shows {'it' if len(missing) == 1 else 'them'}: "
                f"archiver cite {url} {' '.join(example[m] for m in missing)}")))
    return out
