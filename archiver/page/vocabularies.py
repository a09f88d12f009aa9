"""Readers of the vocabularies a page can describe itself in: Highwire ``citation_*``, schema.org
as JSON-LD and as microdata, Dublin Core, OpenGraph. Each yields (field, value, source) triples, the
source naming the vocabulary and the property (``json-ld:NewsArticle.headline``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .bylines import MAX_AUTHORS, all_meta, clean_name, first_meta

Found = Iterator[tuple[str, Any, str]]
JSON_LD_CHARS = 2**20       # JSON-LD parsed per page at most, in characters (a news article has ~5,000)
MAX_JSON_LD_NODES = 2000
# schema.org types -> kinds of source (docs/citations.md); types not listed describe a web page
KIND_OF_TYPE = {
    **dict.fromkeys(("newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
                     "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle"), "news-article"),
    **dict.fromkeys(("blogposting", "liveblogposting"), "blog-post"),
    "report": "report", "dataset": "dataset",
    **dict.fromkeys(("scholarlyarticle", "medicalscholarlyarticle"), "journal-article"),
}
WORK_TYPES = set(KIND_OF_TYPE) | {"article", "techarticle", "socialmediaposting", "posting", "creativework",
                                  "digitaldocument"}
PAGE_TYPES = {"webpage", "itempage", "aboutpage", "collectionpage", "medicalwebpage", "profilepage", "qapage"}
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def doi_in(text: str) -> str | None:
    m = _DOI.search(text or "")
    return m.group(1).rstrip(".,;)\"'") if m else None


def unflip(name: str) -> str:
    """'Treloar, Morwenna' -> 'Morwenna Treloar' (Highwire authors are often 'Family, Given')."""
    if name.count(",") == 1:
        family, given = (p.strip() for p in name.split(","))
        if family and given:
            return f"{given} {family}"
    return name


def highwire(pairs: list[tuple[str, str]]) -> Found:
    for name, keys in (("title", ("citation_title",)), ("published", ("citation_publication_date", "citation_date",
                        "citation_online_date")), ("publisher", ("citation_publisher",
                        "citation_technical_report_institution")),
                       ("site_name", ("citation_journal_title",)), ("language", ("citation_language",)),
                       ("doi", ("citation_doi",))):
        hit = first_meta(pairs, *keys)
        if hit:
            yield name, doi_in(hit[1]) if name == "doi" else hit[1], f"highwire:{hit[0]}"
    authors = [unflip(a) for a in all_meta(pairs, "citation_author")[:MAX_AUTHORS]]
    if authors:
        yield "authors", authors, "highwire:citation_author"
    for key, kind in (("citation_technical_report_number", "report"), ("citation_technical_report_institution",
                      "report"), ("citation_journal_title", "journal-article")):
        if first_meta(pairs, key):
            yield "kind", kind, f"highwire:{key}"
            break


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("@type")
    return [str(x).rsplit("/", 1)[-1].lower() for x in (t if isinstance(t, list) else [t]) if x]


def json_ld_nodes(tree: Any, skipped: list[int]) -> list[dict[str, Any]]:
    """The typed nodes of the page's JSON-LD blocks, the first JSON_LD_CHARS of them; the length
    of each block past that goes in ``skipped``."""
    nodes: list[dict[str, Any]] = []

    def walk(item: Any, depth: int = 0) -> None:
        if depth > 20 or len(nodes) >= MAX_JSON_LD_NODES:
            return
        if isinstance(item, list):
            for x in item:
                walk(x, depth + 1)
        elif isinstance(item, dict):
            if "@graph" in item:
                walk(item["@graph"], depth + 1)
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


def json_ld(nodes: list[dict[str, Any]]) -> Found:
    """From the page's main work: the first node typed as an article, report or dataset, else the
    first typed as a web page; references by ``@id`` to other nodes of the page are followed."""
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("@id"), str) and "name" not in value:
            return by_id.get(value["@id"], value)
        return value

    ranked = ([n for n in nodes if set(_types(n)) & WORK_TYPES and (n.get("headline") or n.get("name"))]
              + [n for n in nodes if set(_types(n)) & PAGE_TYPES])
    site = next((_name(n.get("name")) for n in nodes if "website" in _types(n)), None)
    if site:
        yield "site_name", site, "json-ld:WebSite.name"
    if not ranked:
        return
    node = ranked[0]
    types = _types(node)
    label = next((t for t in types if t in WORK_TYPES | PAGE_TYPES), types[0])
    raw_type = node.get("@type")
    src = f"json-ld:{raw_type if isinstance(raw_type, str) else label}"
    kind = next((KIND_OF_TYPE[t] for t in types if t in KIND_OF_TYPE), None)
    if kind:
        yield "kind", kind, f"{src}.@type"
    key = "headline" if _name(node.get("headline")) else "name"
    yield "title", _name(node.get(key)), f"{src}.{key}"
    for prop in ("author", "creator"):
        people = [resolve(a) for a in (node[prop] if isinstance(node.get(prop), list) else [node.get(prop)])
                  if a][:MAX_AUTHORS]
        names = [n for n in (_person(a) for a in people) if n]
        if names:
            yield "authors", names, f"{src}.{prop}"
            orgs = [n for a in people if isinstance(a, dict) and _is_organization(a) and (n := _person(a))]
            yield "organizations", orgs or None, f"{src}.{prop}"
            break
    yield "published", _name(node.get("datePublished")), f"{src}.datePublished"
    yield "published", _name(node.get("dateCreated")), f"{src}.dateCreated"
    yield "modified", _name(node.get("dateModified")), f"{src}.dateModified"
    yield "publisher", _name(resolve(node.get("publisher"))), f"{src}.publisher"
    part_of = resolve(node.get("isPartOf"))
    yield "site_name", _name(part_of) if isinstance(part_of, dict) else None, f"{src}.isPartOf"
    yield "language", _name(node.get("inLanguage")), f"{src}.inLanguage"
    yield "description", _name(node.get("description")), f"{src}.description"
    for prop in ("identifier", "sameAs", "url"):
        doi = doi_in(json.dumps(node.get(prop))) if node.get(prop) else None
        if doi:
            yield "doi", doi, f"{src}.{prop}"
            break


def _name(value: Any) -> str | None:
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, dict):
        return _name(value.get("name")) or _name(value.get("@value"))
    if isinstance(value, list) and value:
        return _name(value[0])
    return None


def _is_organization(node: dict[str, Any]) -> bool:
    """An Organization or one of its schema.org subtypes (Corporation, GovernmentOrganization, ...)."""
    return any("organization" in t or t in ("corporation", "ngo", "project", "library", "consortium")
               for t in _types(node))


def _person(value: Any) -> str | None:
    """A Person's or Organization's name ('givenName familyName' when it has no name)."""
    if isinstance(value, dict) and not _name(value.get("name")):
        given, family = _name(value.get("givenName")), _name(value.get("familyName"))
        joined = " ".join(p for p in (given, family) if p)
        return clean_name(joined) if joined else None
    name = _name(value)
    return clean_name(name) if name else None


def microdata(tree: Any) -> Found:
    """schema.org microdata: the first ``itemscope`` typed as an article, report or dataset."""
    for scope in tree.css("[itemscope][itemtype]")[:200]:
        types = [t.rsplit("/", 1)[-1].lower() for t in (scope.attributes.get("itemtype") or "").split()]
        if not set(types) & WORK_TYPES:
            continue
        label = next(t for t in types if t in WORK_TYPES)
        src = f"microdata:{(scope.attributes.get('itemtype') or '').split()[0].rsplit('/', 1)[-1]}"
        if label in KIND_OF_TYPE:
            yield "kind", KIND_OF_TYPE[label], f"{src}.@type"
        node = scope.css_first("[itemprop=headline]") or scope.css_first("[itemprop=name]")
        if node is not None:
            yield "title", _prop_value(node), f"{src}.{node.attributes.get('itemprop')}"
        names = []
        for author in scope.css("[itemprop=author]")[:MAX_AUTHORS]:
            inner = author.css_first("[itemprop=name]")
            name = clean_name(_prop_value(inner if inner is not None else author) or "")
            if name:
                names.append(name)
        if names:
            yield "authors", list(dict.fromkeys(names)), f"{src}.author"
        for prop, name in (("datePublished", "published"), ("dateModified", "modified")):
            node = scope.css_first(f"[itemprop={prop}]")
            if node is not None:
                yield name, _prop_value(node), f"{src}.{prop}"
        return


def _prop_value(node: Any) -> str:
    attrs = node.attributes
    value = attrs.get("content") or attrs.get("datetime") or node.text(deep=True, separator=" ") or ""
    return " ".join(value.split())


def dublin_core(pairs: list[tuple[str, str]]) -> Found:
    dc = [(re.sub(r"(?i)^(dcterms|dc)\.", "DC.", k), v) for k, v in pairs if k.lower().startswith(("dc.", "dcterms."))]
    for name, keys in (("title", ("DC.title",)), ("published", ("DC.date.issued", "DC.issued", "DC.date",
                        "DC.created")), ("modified", ("DC.modified", "DC.date.modified")),
                       ("publisher", ("DC.publisher",)), ("language", ("DC.language",)),
                       ("description", ("DC.description",))):
        hit = first_meta(dc, *keys)
        if hit:
            yield name, hit[1], f"dublin-core:{hit[0]}"
    creators = [n for n in (clean_name(c) for c in all_meta(dc, "DC.creator")[:MAX_AUTHORS]) if n]
    if creators:
        yield "authors", creators, "dublin-core:DC.creator"
    ident = first_meta(dc, "DC.identifier")
    if ident and doi_in(ident[1]):
        yield "doi", doi_in(ident[1]), "dublin-core:DC.identifier"


def open_graph(pairs: list[tuple[str, str]]) -> Found:
    for name, key in (("title", "og:title"), ("title", "twitter:title"), ("site_name", "og:site_name"),
                      ("description", "og:description"), ("published", "article:published_time"),
                      ("modified", "article:modified_time"), ("language", "og:locale")):
        hit = first_meta(pairs, key)
        if hit:
            yield name, hit[1].replace("_", "-") if name == "language" else hit[1], f"opengraph:{key}"
    authors = [n for n in (clean_name(a) for a in all_meta(pairs, "article:author")[:MAX_AUTHORS]) if n]
    if authors:
        yield "authors", authors, "opengraph:article:author"
