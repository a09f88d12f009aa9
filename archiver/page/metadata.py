"""Citation metadata read from an archived page itself, each field with the vocabulary it came from.

Precedence, per field, highest first (docs/citations.md says why):

- title: Highwire ``citation_title``, JSON-LD ``headline``/``name``, microdata ``headline``, Dublin
  Core, plain HTML (the ``<h1>`` that agrees with ``<title>``, else ``<title>`` without the site's
  name), OpenGraph/Twitter last (a social-media title is often not the headline);
- authors: Highwire, JSON-LD ``author``/``creator`` (Person or Organization, one or a list),
  microdata, Dublin Core, OpenGraph ``article:author`` (names, not profile URLs), the byline
  (``rel=author``, ``.byline``/``.author``), ``<meta name=author>``;
- published, modified: Highwire, JSON-LD, microdata, Dublin Core, OpenGraph ``article:*``,
  ``<time>``, ``<meta name=date>``; a value given in UTC gives way to the same instant given in
  the page's own offset by another source; every date keeps its zone and precision (dates.py);
- organizations: which of the authors the page's schema.org markup types as an Organization (so
  that a citation never splits 'Saltmarsh Harbour Authority' into a given and a family name);
- kind (news-article, blog-post, report, dataset, journal-article; none: a web page): the
  schema.org type (JSON-LD, microdata), Highwire's report and journal fields;
- the rest (site_name, publisher, language, description, doi): Highwire, JSON-LD, microdata,
  Dublin Core, OpenGraph, plain HTML.

Pure: HTML text in, PageMetadata out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..net.content_coding import Markup, markup, size
from .bylines import headline, metas, read_plain_html
from .dates import local_date, normalize_date, parse_instant
from .vocabularies import JSON_LD_CHARS, dublin_core, highwire, json_ld, json_ld_nodes, microdata, open_graph

FIELDS = ("title", "authors", "organizations", "published", "modified", "site_name", "publisher", "language",
          "description", "doi", "kind")
KINDS = ("news-article", "blog-post", "report", "dataset", "journal-article", "pdf-document", "web-page")
_DEFAULT_ORDER = ("highwire", "json-ld", "microdata", "dublin-core", "opengraph", "html", "http")
PRECEDENCE = {name: _DEFAULT_ORDER for name in FIELDS} | {
    "title": ("highwire", "json-ld", "microdata", "dublin-core", "html", "opengraph"),
}
MAX_TEXT_CHARS = 2000       # a title, a description... cut there (a headline has ~80)
_DATE_FIELDS = ("published", "modified")

__all__ = ["FIELDS", "JSON_LD_CHARS", "KINDS", "Field", "PageMetadata", "date_parts", "extract_metadata",
           "local_date"]


@dataclass(frozen=True, slots=True)
class Field:
    value: Any            # str, or list of str for authors
    source: str           # e.g. "json-ld:NewsArticle.headline", "highwire:citation_title"


@dataclass(frozen=True, slots=True)
class PageMetadata:
    fields: dict[str, Field] = field(default_factory=dict)
    limits: tuple[str, ...] = ()     # notes of the parsing bounds that cut (content_coding.bound_markup, JSON_LD_CHARS)

    def get(self, name: str) -> Any:
        f = self.fields.get(name)
        return f.value if f else None

    def as_manifest(self) -> dict[str, dict[str, Any]]:
        return {name: {"value": f.value, "source": f.source} for name, f in self.fields.items()}


def date_parts(value: str | None) -> list[int] | None:
    """'2026-11-20T09:30:00-05:00' -> [2026, 11, 20] (the date in the value's own zone); None if no
    year can be read."""
    if not value:
        return None
    iso = normalize_date(value)
    m = re.match(r"^\s*(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?", iso or value)
    if not m:
        return None
    parts = [int(g) for g in m.groups() if g]
    if len(parts) > 1 and not 1 <= parts[1] <= 12 or len(parts) > 2 and not 1 <= parts[2] <= 31:
        return parts[:1]
    return parts


def extract_metadata(html: str | Markup, fallback_language: str | None = None) -> PageMetadata:
    """The page's citation metadata, read within the parsing bounds (``content_coding.bound_markup``);
    JSON-LD blocks past JSON_LD_CHARS in all are not parsed."""
    from selectolax.lexbor import LexborHTMLParser

    page = markup(html)
    tree = LexborHTMLParser(page.html)
    skipped: list[int] = []
    pairs = metas(tree)
    found: list[tuple[str, Any, str]] = [*highwire(pairs), *json_ld(json_ld_nodes(tree, skipped)),
                                         *microdata(tree), *dublin_core(pairs), *open_graph(pairs)]
    sites = [v for name, v, _ in found if name in ("site_name", "publisher") and isinstance(v, str) and v]
    found += read_plain_html(tree, pairs, sites)
    if fallback_language:
        found.append(("language", fallback_language, "http:Content-Language"))
    candidates: dict[str, list[Field]] = {name: [] for name in FIELDS}
    for name, value, source in found:
        value = _bounded(name, value)
        if value:
            candidates[name].append(Field(value, source))
    fields = {name: chosen for name in FIELDS if (chosen := _choose(name, candidates[name], sites))}
    notes = page.notes
    if skipped:
        notes += (f"json-ld: {len(skipped)} blocks past {size(JSON_LD_CHARS)} of JSON-LD not parsed "
                  f"(the longest {max(skipped)} characters)",)
    return PageMetadata(fields, notes)


def _choose(name: str, found: list[Field], sites: list[str]) -> Field | None:
    order = PRECEDENCE[name]
    ranked = sorted(found, key=lambda f: order.index(f.source.split(":", 1)[0])
                    if f.source.split(":", 1)[0] in order else len(order))
    if not ranked:
        return None
    if name in _DATE_FIELDS:
        return _page_zone(ranked)
    best = ranked[0]
    if name == "title" and not best.source.startswith("html:"):
        cut = headline(best.value, [], sites)
        return Field(cut[0], best.source) if cut else best
    return best


def _page_zone(ranked: list[Field]) -> Field:
    """The first date, unless it is given in UTC and another source gives the same instant in an
    offset of its own (the page's zone): then that one, so that the date is the day the page's
    readers saw."""
    best = ranked[0]
    instant = parse_instant(best.value)
    if instant is None or instant.utcoffset():
        return best
    for other in ranked[1:]:
        theirs = parse_instant(other.value)
        if theirs is not None and theirs.utcoffset() and theirs == instant:
            return other
    return best


def _bounded(name: str, value: Any) -> Any:
    """A value fit for the manifest: text with lone surrogates replaced (JSON-LD can carry a
    ``\\ud83d`` escape of half an emoji) and cut at MAX_TEXT_CHARS; dates in ISO 8601 (None when
    not a date); author lists of non-empty names."""
    if name in ("authors", "organizations"):
        names = [_text(v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        return [n for n in names if n] or None
    if not isinstance(value, str):
        return None
    if name in _DATE_FIELDS:
        return normalize_date(value)
    return _text(value)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str) -> str | None:
    text = " ".join(_LONE_SURROGATE.sub("\ufffd", value).split())[:MAX_TEXT_CHARS]
    return text or None
