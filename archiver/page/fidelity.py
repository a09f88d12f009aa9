"""Warnings about how faithful a page's capture is, so that nobody cites a blank page believing
it is the article: pages that are empty shells without JavaScript, pages whose requisites failed."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ..core.models import ArchivedResource, Failure, PageFlag, Role
from .links import PageLinks

SHELL_MAX_TEXT = 200          # visible characters below which a script-heavy page is a shell
SHELL_MIN_SCRIPTS = 3
NOTICE_MAX_TEXT = 1000        # a "please enable JavaScript" notice on a page with little else


def is_javascript_shell(page: PageLinks) -> bool:
    if page.text_chars < SHELL_MAX_TEXT and page.scripts >= SHELL_MIN_SCRIPTS:
        return True
    return page.js_notice and page.text_chars < NOTICE_MAX_TEXT


def page_flags(pages: Mapping[str, object], resources: Sequence[ArchivedResource],
               failures: Sequence[Failure]) -> list[PageFlag]:
    """Flags for every HTML page of a capture (seeds and linked sources)."""
    roles = {r.url: r.role for r in resources}
    broken = broken_requisites(pages, resources, failures)
    flags: list[PageFlag] = []
    for url, parsed in pages.items():
        if roles.get(url) not in (Role.SEED, Role.SOURCE) or not isinstance(parsed, PageLinks):
            continue
        flags += shell_flags(url, parsed)
        flags += broken.get(url, [])
    return flags


def shell_flags(url: str, parsed: PageLinks) -> list[PageFlag]:
    """The flag of a page that is probably empty without JavaScript (it needs only the page itself:
    a worker of a distributed capture says it for the pages it fetched)."""
    if not is_javascript_shell(parsed):
        return []
    return [PageFlag(url, "javascript-shell", f"{parsed.text_chars} characters of text, {parsed.scripts} scripts"
                     + (", asks to enable JavaScript" if parsed.js_notice else "")
                     + ": the archived page may be empty without a browser")]


def broken_requisites(pages: Collection[str], resources: Sequence[ArchivedResource],
                      failures: Sequence[Failure]) -> dict[str, list[PageFlag]]:
    """``requisites-failed`` per page (``pages``: the URLs parsed as HTML pages), from every resource and
    failure of the capture (a distributed capture's requisites come from many workers)."""
    via: dict[str, str | None] = {r.url: r.via for r in resources if r.role is Role.REQUISITE}
    via.update({f.url: f.via for f in failures if f.role is Role.REQUISITE})
    totals: dict[str, int] = {}
    broken: dict[str, list[str]] = {}
    for url in via:
        page = _page_of(url, via, pages)
        if page is None:
            continue
        totals[page] = totals.get(page, 0) + 1
    bad = [r.url for r in resources if r.role is Role.REQUISITE and r.status >= 400]
    bad += [f.url for f in failures if f.role is Role.REQUISITE]
    for url in dict.fromkeys(bad):
        page = _page_of(url, via, pages)
        if page is not None:
            broken.setdefault(page, []).append(url)
    return {page: [PageFlag(page, "requisites-failed", f"{len(urls)} of {totals.get(page, 0)} requisites failed: "
                            + ", ".join(urls[:5]))] for page, urls in broken.items()}


def _page_of(url: str, via: Mapping[str, str | None], pages: Collection[str]) -> str | None:
    seen = set()
    current: str | None = via.get(url)
    while current is not None and current not in seen:
        if current in pages and current not in via:
            return current
        seen.add(current)
        current = via.get(current)
    return None
