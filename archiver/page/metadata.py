"""Citation metadata read from an archived page itself: JSON-LD (schema.org), Highwire ``citation_*``,
Dublin Core, OpenGraph and plain HTML, each field with the vocabulary it came from.

Precedence, per field, highest first: Highwire (made for citation managers), JSON-LD, Dublin Core,
OpenGraph, plain HTML (``<title>``, ``<time>``, ``<html lang>``, ``<meta name=author|description>``).
Pure: HTML text in, PageMetadata out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..net.content_coding import Markup, markup, size

FIELDS = ("title", "authors", "published", "modified", "site_name", "publisher", "language",
          "description", "doi")
ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
                 "blogposting", "scholarlyarticle", "report", "techarticle", "socialmediaposting", "posting"}
PAGE_TYPES = {"webpage", "itempage", "aboutpage", "collectionpage", "medicalwebpage"}
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
JSON_LD_CHARS = 2**20       # JSON-LD parsed per page at most, in characters (a news article has ~5,000)
_DATE = re.compile(r"^\s*(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?")


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
    """'2026-11-20T09:30:00Z' -> [2026, 11, 20]; None if no year can be read."""
    if not value:
        return None
    m = _DATE.match(value)
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
    candidates: dict[str, list[Field]] = {name: [] for name in FIELDS}
    readers = (_highwire, lambda t: _json_ld(t, skipped), _dublin_core, _open_graph, _plain_html)
    for reader in readers:
        for name, value, source in reader(tree):
            if value:
                candidates[name].append(Field(_scalar_values(value), source))
    if fallback_language:
        candidates["language"].append(Field(fallback_language, "http:Content-Language"))
    notes = page.notes
    if skipped:
        notes += (f"json-ld: {len(skipped)} blocks past {size(JSON_LD_CHARS)} of JSON-LD not parsed "
                  f"(the longest {max(skipped)} characters)",)
    return PageMetadata({name: found[0] for name, found in candidates.items() if found}, notes)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _scalar_values(value: Any) -> Any:
    """Text fit for UTF-8 (and so for the manifest): a lone surrogate, which JSON-LD can carry as a
    ``\\ud83d`` escape of half an emoji, becomes U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scalar_values(v) for v in value]
    return value


def _metas(tree: Any) -> list[tuple[str, str]]:
    out = []
    for node in tree.css("meta[content]"):
        key = (node.attributes.get("name") or node.attributes.get("property") or "").strip()
        value = " ".join((node.attributes.get("content") or "").split())
        if key and value:
            out.append((key, value))
    return out


def _first(metas: list[tuple[str, str]], *keys: str) -> tuple[str, str] | None:
    wanted = [k.lower() for k in keys]
    for key in wanted:
        for name, value in metas:
            if name.lower() == key:
                return name, value
    return None


def _all(metas: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in metas if k.lower() == key.lower()]


def _highwire(tree: Any):
    metas = _metas(tree)
    for name, keys in (("title", ("citation_title",)), ("published", ("citation_publication_date", "citation_date",
                        "citation_online_date")), ("publisher", ("citation_publisher",)),
                       ("site_name", ("citation_journal_title",)), ("language", ("citation_language",)),
                       ("doi", ("citation_doi",))):
        hit = _first(metas, *keys)
        if hit:
            yield name, _doi(hit[1]) if name == "doi" else hit[1], f"highwire:{hit[0]}"
    authors = _all(metas, "citation_author")
    if authors:
        yield "authors", [_unflip(a) for a in authors], "highwire:citation_author"


def _unflip(name: str) -> str:
    """'Treloar, Morwenna' -> 'Morwenna Treloar' (Highwire authors are often 'Family, Given')."""
    if name.count(",") == 1:
        family, given = (p.strip() for p in name.split(","))
        if family and given:
            return f"{given} {family}"
    return name


def _json_ld_nodes(tree: Any, skipped: list[int]) -> list[dict[str, Any]]:
    """The typed nodes of the page's JSON-LD blocks, the first JSON_LD_CHARS of them; the length
    of each block past that goes in ``skipped``."""
    nodes: list[dict[str, Any]] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for x in item:
                walk(x)
        elif isinstance(item, dict):
            if "@graph" in item:
                walk(item["@graph"])
            if "@type" in item:
                nodes.append(item)

    parsed = 0
    for script in tree.css('script[type="application/ld+json"]'):
        text = script.text(deep=True)
        if parsed + len(text) > JSON_LD_CHARS:
            skipped.append(len(text))
            continue
        parsed += len(text)
        try:
            walk(json.loads(text, strict=False))
        except (ValueError, RecursionError):
            continue
    return nodes


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("@type")
    return {str(x).lower() for x in (t if isinstance(t, list) else [t])}


def _name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _name(value.get("name"))
    if isinstance(value, list) and value:
        return _name(value[0])
    return None


def _json_ld(tree: Any, skipped: list[int]):
    nodes = _json_ld_nodes(tree, skipped)
    ranked = [n for n in nodes if _types(n) & ARTICLE_TYPES] + [n for n in nodes if _types(n) & PAGE_TYPES]
    if not ranked:
        return
    node = ranked[0]
    kind = next(iter(sorted(_types(node) & (ARTICLE_TYPES | PAGE_TYPES))), "thing")
    src = f"json-ld:{node.get('@type') if isinstance(node.get('@type'), str) else kind}"
    title = _name(node.get("headline")) or _name(node.get("name"))
    yield "title", title, f"{src}.{'headline' if node.get('headline') else 'name'}"
    authors = node.get("author") or node.get("creator")
    if authors:
        names = [n for n in (_name(a) for a in (authors if isinstance(authors, list) else [authors])) if n]
        yield "authors", names, f"{src}.author"
    yield "published", _name(node.get("datePublished")) or _name(node.get("dateCreated")), f"{src}.datePublished"
    yield "modified", _name(node.get("dateModified")), f"{src}.dateModified"
    yield "publisher", _name(node.get("publisher")), f"{src}.publisher"
    site = _name(node.get("isPartOf")) if isinstance(node.get("isPartOf"), dict) else None
    yield "site_name", site, f"{src}.isPartOf"
    yield "language", _name(node.get("inLanguage")), f"{src}.inLanguage"
    yield "description", _name(node.get("description")), f"{src}.description"
    for key in ("identifier", "sameAs", "url"):
        doi = _doi(json.dumps(node.get(key))) if node.get(key) else None
        if doi:
            yield "doi", doi, f"{src}.{key}"
            break


def _doi(text: str) -> str | None:
    m = _DOI.search(text or "")
    return m.group(1).rstrip(".,;)\"'") if m else None


def _dublin_core(tree: Any):
    metas = [(re.sub(r"(?i)^(dcterms|dc)\.", "DC.", k), v) for k, v in _metas(tree)
             if k.lower().startswith(("dc.", "dcterms."))]
    for name, keys in (("title", ("DC.title",)), ("published", ("DC.date.issued", "DC.issued", "DC.date")),
                       ("modified", ("DC.modified", "DC.date.modified")), ("publisher", ("DC.publisher",)),
                       ("language", ("DC.language",)), ("description", ("DC.description",))):
        hit = _first(metas, *keys)
        if hit:
            yield name, hit[1], f"dublin-core:{hit[0]}"
    creators = _all(metas, "DC.creator")
    if creators:
        yield "authors", creators, "dublin-core:DC.creator"
    ident = _first(metas, "DC.identifier")
    if ident and _doi(ident[1]):
        yield "doi", _doi(ident[1]), "dublin-core:DC.identifier"


def _open_graph(tree: Any):
    metas = _metas(tree)
    for name, key in (("title", "og:title"), ("site_name", "og:site_name"), ("description", "og:description"),
                      ("published", "article:published_time"), ("modified", "article:modified_time"),
                      ("language", "og:locale")):
        hit = _first(metas, key)
        if hit:
            yield name, hit[1].replace("_", "-") if name == "language" else hit[1], f"opengraph:{key}"
    authors = [a for a in _all(metas, "article:author") if not a.startswith("http")]
    if authors:
        yield "authors", authors, "opengraph:article:author"


def _plain_html(tree: Any):
    title = tree.css_first("title")
    if title and title.text().strip():
        yield "title", " ".join(title.text().split()), "html:title"
    metas = _metas(tree)
    author = _first(metas, "author")
    if author:
        yield "authors", [author[1]], "html:meta[name=author]"
    description = _first(metas, "description")
    if description:
        yield "description", description[1], "html:meta[name=description]"
    time_node = tree.css_first("article time[datetime]") or tree.css_first("time[datetime]")
    if time_node:
        yield "published", time_node.attributes.get("datetime"), "html:time[datetime]"
    html = tree.css_first("html")
    if html and html.attributes.get("lang"):
        yield "language", html.attributes["lang"], "html:html[lang]"
