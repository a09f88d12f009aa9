"""What plain HTML says about a page when no vocabulary does: its headline (the ``<h1>`` that
agrees with ``<title>``, or ``<title>`` without the site's name glued on), its byline (``rel=author``,
an element classed ``byline`` or ``author``), its ``<time>`` and ``<meta name=author|date>``; and
the cleaning of author names read from any source ('By Ana Ruiz and Bo Chen' -> two names).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .dates import day_apart, is_utc, normalize_date

MAX_AUTHORS = 50
MAX_NAME_CHARS = 200
_LEAD = re.compile(r"^(?:(?:posted|written|words|text|story|reporting|report|photos?)\s+)?"
                   r"(?:by|von|par|por|door|av|af|przez)\s*[:\-]?\s+", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|;|\||&|\band\b|\bund\b|\bet\b|\by\b|\ben\b|\bog\b|\boch\b|・|、)\s*",
                    re.IGNORECASE)
_ROLE = re.compile(r"\b(?:staff|writer|reporter|correspondent|editor|journalist|columnist|contributor|"
                   r"redakteur(?:in)?|redaktion|journaliste|rédact(?:eur|rice)|periodista|corresponsal|"
                   r"updated|published|posted|minutes?|read)\b", re.IGNORECASE)
_JOINED = re.compile(r"\s+(?:and|und|et|y|en|og|och|e)\s+", re.IGNORECASE)
# class names of byline elements: byline, by-line, article-byline, author, author-name, post-author...
_BYLINE_CLASS = re.compile(r"^(?:.*by-?line.*|(?:article|post|entry|story|news)?[-_]?(?:authors?|autor(?:in)?|"
                           r"auteur|autore|forfatter)(?:[-_]?(?:name|names|link|info))?)$", re.IGNORECASE)
_TITLE_SEPARATOR = re.compile(r"\s+(?:\||–|—|-|·|::|~|»|/)\s+|\s*[｜|]\s*")
_HEADLINE_CHARS = 3, 400


def clean_names(text: str) -> list[str]:
    """The person or organisation names in a byline or author value: leading 'By'/'Von'/'Par'
    dropped, split on commas and 'and' in a few languages, roles ('Staff Writer') and dates left out."""
    text = " ".join(text.split())
    if not text or len(text) > 20 * MAX_NAME_CHARS:
        return []
    text = _LEAD.sub("", text)
    names = []
    for part in _SPLIT.split(text):
        name = _LEAD.sub("", part).strip(" .:-–—·")
        if name and _is_name(name):
            names.append(_capitalised(name))
    return list(dict.fromkeys(names))[:MAX_AUTHORS]


def _capitalised(name: str) -> str:
    """'JOHN SMITH' (a byline set in capitals) -> 'John Smith'; any other name as written."""
    words = name.split()
    if len(words) > 1 and name.isupper() and all(len(w) > 1 for w in words):
        return " ".join(w[:1] + w[1:].lower() for w in words)
    return name


def clean_name(text: str) -> str | None:
    """One name as a vocabulary gives it ('By Ana Ruiz' -> 'Ana Ruiz'); commas are kept (a
    'Family, Given' form is for the citing layer to read)."""
    name = _LEAD.sub("", " ".join(text.split())).strip(" .:-–—·")
    return name if name and len(name) <= MAX_NAME_CHARS and not name.lower().startswith("http") else None


def _is_name(text: str) -> bool:
    words = text.split()
    return (0 < len(text) <= MAX_NAME_CHARS and len(words) <= 8 and not any(c.isdigit() for c in text)
            and not _ROLE.search(text) and not text.lower().startswith(("http", "www."))
            and (len(words) > 1 or not text.isascii() or text[:1].isupper()))


def headline(title: str | None, h1s: list[str], site_names: list[str]) -> tuple[str, str] | None:
    """The page's headline from plain HTML, with its source: an ``<h1>`` that is ``<title>`` or one of
    its parts; else ``<title>`` with a part naming the site cut off its ends; else ``<title>``; else
    the sole ``<h1>``."""
    sites = {s.casefold() for s in site_names if s}
    if title:
        parts = [p for p in _TITLE_SEPARATOR.split(title) if p]
        for h1 in h1s:
            if h1.casefold() == title.casefold() or (len(parts) > 1 and h1.casefold() in
                                                     {p.casefold() for p in parts} - sites):
                return h1, "html:h1"
        if len(parts) > 1 and sites:
            for cut in (parts[:-1] if parts[-1].casefold() in sites else None,
                        parts[1:] if parts[0].casefold() in sites else None):
                if cut:
                    return _rejoin(title, cut), "html:title"
        if len(parts) == 2 and h1s:
            best = _closest(parts, h1s[0])
            if best is not None:
                return parts[best], "html:title"
        return title, "html:title"
    if len(h1s) == 1:
        return h1s[0], "html:h1"
    return None


_STOP = frozenset("a an the of and or to in on at for by with our we my your is are "
                  "der die das und von le la les l de des du et el los las y il".split())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.casefold()) if w not in _STOP}


def _closest(parts: list[str], h1: str) -> int | None:
    """Which of a title's two parts is the page's heading (the other naming the site): the one
    whose words are most among the ``<h1>``'s (the first on a tie: sites mostly put their name last)."""
    heading = _words(h1)
    shares = [len(_words(p) & heading) / max(len(_words(p)), 1) for p in parts]
    return None if max(shares) < 0.5 else shares.index(max(shares))


def site_in_title(title: str, heading: str) -> str | None:
    """The part of ``title`` that is not ``heading``: the site's name, when the title is the
    heading and the site's name joined by a separator."""
    parts = [p for p in _TITLE_SEPARATOR.split(title) if p]
    if len(parts) == 2 and heading in parts and heading != title:
        return parts[1 - parts.index(heading)]
    return None


def _rejoin(title: str, parts: list[str]) -> str:
    """The span of ``title`` from the first to the last of ``parts`` (separators inside it kept)."""
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end] if 0 <= start < end else " ".join(parts)


def _text(node: Any) -> str:
    return " ".join((node.text(deep=True, separator=" ") or "").split())


def read_plain_html(tree: Any, pairs: list[tuple[str, str]], site_names: list[str]) -> Iterator[tuple[str, Any, str]]:
    """(field, value, source) from plain HTML (``pairs``: its ``metas``; ``site_names``: what the
    vocabularies call the site and its publisher), in precedence order within each field."""
    title_node = tree.css_first("title")
    title = _text(title_node) if title_node else ""
    h1s = [t for t in (_text(n) for n in tree.css("h1")[:5]) if _HEADLINE_CHARS[0] <= len(t) <= _HEADLINE_CHARS[1]]
    sites = site_names + [v for k, v in pairs if k.lower() in ("og:site_name", "application-name")]
    found = headline(title or None, h1s, sites)
    if found:
        yield "title", found[0], found[1]
        site = site_in_title(title, found[0]) if title else None
        if site:
            yield "site_name", site, "html:title"
    byline = _byline(tree)
    if byline:
        yield "authors", byline[0], byline[1]
    for key in ("author", "byl", "parsely-author", "sailthru.author"):
        hit = first_meta(pairs, key)
        if hit and clean_names(hit[1]):
            yield "authors", clean_names(hit[1]), f"html:meta[name={hit[0]}]"
            break
    description = first_meta(pairs, "description")
    if description:
        yield "description", description[1], "html:meta[name=description]"
    time_found = _time(tree)
    if time_found:
        yield "published", time_found[0], time_found[1]
    for key in ("date", "pubdate", "publish-date", "publication_date", "parsely-pub-date", "sailthru.date"):
        hit = first_meta(pairs, key)
        if hit:
            yield "published", hit[1], f"html:meta[name={hit[0]}]"
            break
    stated = _stated_date(tree)
    if stated:
        yield "published", stated, "html:text(published)"
    html = tree.css_first("html")
    if html and html.attributes.get("lang"):
        yield "language", html.attributes["lang"], "html:html[lang]"


def _byline(tree: Any) -> tuple[list[str], str] | None:
    """Names from ``rel=author`` links, else from the first element classed like a byline (its
    links' texts when it has any, else its text), inside ``<article>``/``<main>`` first."""
    for scope in ("article ", "main ", ""):
        links = [_text(n) for n in tree.css(f"{scope}a[rel~=author]")[:MAX_AUTHORS]]
        names = [n for link in links for n in clean_names(link)]
        if names:
            return list(dict.fromkeys(names)), "html:a[rel=author]"
        for node in tree.css(f"{scope}[class]")[:5000]:
            classes = (node.attributes.get("class") or "").split()
            if not any(_BYLINE_CLASS.match(c) for c in classes) or node.tag in ("body", "html", "article", "main"):
                continue
            inner = [_text(a) for a in node.css("a, [itemprop=name]")[:MAX_AUTHORS]]
            names = [n for part in inner for n in clean_names(part)] or clean_names(_byline_text(node))
            if names:
                return names, f"html:.{next(c for c in classes if _BYLINE_CLASS.match(c))}"
        if not scope:
            break
    return None


def _byline_text(node: Any) -> str:
    """A byline's text up to a date or a line of other matter ('By Ana Ruiz on 7 August' -> 'By Ana Ruiz')."""
    text = _text(node)
    return re.split(r"\s+(?:on|am|le|el|il|op)\s+\d|\s+\d|\s+[|·•]\s+", text, maxsplit=1)[0]


def _time(tree: Any) -> tuple[str, str] | None:
    """The publication ``<time>``: one marked ``itemprop=datePublished`` or ``pubdate``, else the first
    inside ``<article>``, else the first. A datetime given in UTC whose text shows the day before or
    after (the page's own zone) gives that day, as the page's readers saw it."""
    node = (tree.css_first("time[itemprop=datePublished]") or tree.css_first("time[pubdate]")
            or tree.css_first("article time[datetime]") or tree.css_first("time[datetime]"))
    if node is None:
        return None
    attr = node.attributes.get("datetime") or node.attributes.get("content") or ""
    value = normalize_date(attr)
    shown = normalize_date(_text(node))
    if value and shown and len(shown) == 10 and is_utc(value) and day_apart(value, shown):
        return shown, "html:time(text)"
    if value:
        return attr, "html:time[datetime]"
    return (_text(node), "html:time(text)") if shown else None


_STATED = re.compile(r"\b(?:published|posted|publi[ée]|ver[öo]ffentlicht|publicado|pubblicato)(?:\s+(?:on|le|am|el|il))?"
                     r"\s*:?\s+(\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\.?\s+[^\W\d_]{3,9}\.?,?\s+\d{4}|"
                     r"[^\W\d_]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})", re.IGNORECASE)


def _stated_date(tree: Any) -> str | None:
    """A date the page states in words near its top ('Published 3 March 2026', 'Posted on
    2026-03-03'), read only where it is unambiguous: never 03/04/2026, never a month alone."""
    body = tree.body
    text = " ".join((body.text(deep=True, separator=" ") if body is not None else "")[:20_000].split())[:5000]
    m = _STATED.search(text)
    return normalize_date(m.group(1)) if m else None


def metas(tree: Any) -> list[tuple[str, str]]:
    """The page's ``<meta name|property content>`` pairs, in order."""
    out = []
    for node in tree.css("meta[content]")[:5000]:
        key = (node.attributes.get("name") or node.attributes.get("property") or "").strip()
        value = " ".join((node.attributes.get("content") or "").split())
        if key and value:
            out.append((key, value))
    return out


def first_meta(pairs: list[tuple[str, str]], *keys: str) -> tuple[str, str] | None:
    for key in keys:
        for name, value in pairs:
            if name.lower() == key.lower():
                return name, value
    return None


def all_meta(pairs: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in pairs if k.lower() == key.lower()]
