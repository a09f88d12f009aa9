"""Finding the URLs a page or stylesheet needs or links to. Pure: text in, links out.

HTML is parsed with selectolax (lexbor, an HTML5 parser written in C). CSS needs only two
constructs, ``url()`` and ``@import``, which a small scanner finds after comments are removed; a
full CSS tokenizer would cost more and find nothing more.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.models import Link, Role
from ..core.urls import resolve_link
from ..net.content_coding import Markup, markup

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:\-]+)", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|((?:\\[0-9a-fA-F]{1,6}\s?|\\.|[^)"'\s\\])*))\s*\)""",
                      re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_JS_NOTICE = re.compile(r"(enable|turn on|activate)\s+javascript|javascript\s+(is\s+)?(required|disabled)",
                        re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_REFRESH = re.compile(r"^\s*\d*\s*[;,]?\s*(?:url\s*=\s*)?[\"']?([^\"']+)", re.IGNORECASE)

_REQUISITE_RELS = frozenset({"stylesheet", "icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed",
                             "preload", "modulepreload", "prefetch", "manifest", "mask-icon"})
# where lazy-loading scripts keep an image's real address until it scrolls into view (lazysizes,
# lozad, WordPress and theme plugins); a browser that runs them requests these
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-hi-res-src", "data-full-src",
             "data-bg", "data-background", "data-background-image", "data-poster")
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
_LAZY_VALUE = re.compile(r"[^\s{}<>\[\]|^`\\]{1,2048}")
_IMAGE_SET = re.compile(r"""(?:-webkit-)?image-set\(((?:[^()]|\([^()]*\))*)\)""", re.IGNORECASE)
_IMAGE_SET_STRING = re.compile(r"""(?:^|,)\s*(?:"([^"]*)"|'([^']*)')""")
LINKS_KEPT = 100_000      # links kept per page or stylesheet; more are counted, not kept
_SELECTOR = ("a[href],area[href],img,source,video,audio,track[src],script[src],link[href],iframe[src],"
             "frame[src],embed[src],object[data],input[src],base[href],meta[http-equiv],style,[style],[background],"
             "use,image,feimage," + ",".join(f"[{a}]" for a in (*_LAZY_SRC, *_LAZY_SRCSET)))
_SVG_REFS = frozenset({"use", "image", "feimage"})    # <svg><use href="sprite.svg#icon">, <image xlink:href>


@dataclass(frozen=True, slots=True)
class PageLinks:
    """What a page refers to, and what its capture fidelity check needs to know."""

    links: tuple[Link, ...]
    refresh: str | None = None          # target of <meta http-equiv=refresh>
    text_chars: int = 0                  # visible text, scripts and styles excluded
    scripts: int = 0
    js_notice: bool = False
    title: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    limits: tuple[str, ...] = ()        # notes of the parsing bounds that cut (content_coding.bound_markup, LINKS_KEPT)


class _Kept:
    """Links as found, the first ``limit`` kept, all counted."""

    def __init__(self, limit: int = LINKS_KEPT) -> None:
        self.links: list[Link] = []
        self.found = 0
        self.limit = limit

    def add(self, url: str | None, role: Role) -> None:
        if url:
            self.found += 1
            if self.found <= self.limit:
                self.links.append(Link(url, role))

    def note(self) -> str | None:
        return f"links: kept {self.limit} of {self.found} found" if self.found > self.limit else None


def charset_of(prefix: bytes, content_type: str | None) -> str:
    """The page's encoding: BOM, then the Content-Type header, then <meta>, then UTF-8."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if prefix.startswith(bom):
            return name
    candidates = []
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m:
            candidates.append(m.group(1))
    meta = _CHARSET.search(prefix[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii"))
    for name in candidates:
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return "utf-8"


def decode(prefix: bytes, content_type: str | None) -> str:
    return prefix.decode(charset_of(prefix, content_type), errors="replace")


def srcset_urls(value: str) -> list[str]:
    """URLs of a srcset attribute (image candidate strings, HTML section 4.8.4.3.1)."""
    urls, i, n = [], 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while i < n and (value[i] != "," or depth):
                depth += {"(": 1, ")": -1}.get(value[i], 0)
                i += 1
        if url:
            urls.append(url)
    return urls


def css_links(css: str, base: str) -> list[Link]:
    """Every url() and @import target of a stylesheet, resolved against ``base`` (the first LINKS_KEPT)."""
    return stylesheet_links(css, base)[0]


def stylesheet_links(css: str, base: str) -> tuple[list[Link], tuple[str, ...]]:
    """css_links, and a note when there were more than LINKS_KEPT."""
    kept = _Kept()
    _css_into(css, base, kept)
    note = kept.note()
    return kept.links, (note,) if note else ()


def _css_into(css: str, base: str, kept: _Kept) -> None:
    css = _CSS_COMMENT.sub(" ", css)
    sets = [m for m in _IMAGE_SET.finditer(css)]      # image-set("a.png" 1x, ...): strings, not url()
    for regex, text in [(_CSS_IMPORT, css), (_CSS_URL, css),
                        *((_IMAGE_SET_STRING, m.group(1)) for m in sets)]:
        for m in regex.finditer(text):
            if kept.found >= kept.limit:
                kept.found += 1               # counted, not resolved: resolving is the costly part
                continue
            raw = next((g for g in m.groups() if g is not None), "")
            kept.add(resolve_link(base, _unescape_css(raw)), Role.REQUISITE)


def _unescape_css(value: str) -> str:
    return re.sub(r"\\([0-9a-fA-F]{1,6}\s?|.)", lambda m: _css_escape(m.group(1)), value)


def _css_escape(seq: str) -> str:
    text = seq.strip()
    if len(text) >= 1 and all(c in "0123456789abcdefABCDEF" for c in text):
        try:
            return chr(int(text, 16))
        except (ValueError, OverflowError):
            return ""
    return seq


def html_links(html: str | Markup, url: str) -> PageLinks:
    """Links and requisites of an HTML page at ``url``: the first LINKS_KEPT, of a page within the
    parsing bounds (``content_coding.bound_markup``)."""
    from selectolax.lexbor import LexborHTMLParser

    page = markup(html)
    tree = LexborHTMLParser(page.html)
    base = url
    nodes = _unique(tree.css(_SELECTOR))
    for node in nodes:
        if node.tag == "base":
            base = resolve_link(url, node.attributes.get("href") or "") or url
            break
    kept = _Kept()
    refresh: str | None = None
    scripts = 0

    def add(value: str | None, role: Role) -> None:
        if value:
            if kept.found >= kept.limit:
                kept.found += 1               # counted, not resolved
            else:
                kept.add(resolve_link(base, value), role)

    for node in nodes:
        tag, attrs = node.tag, node.attributes
        if tag in ("a", "area"):
            add(attrs.get("href"), Role.SOURCE)
        elif tag == "link":
            rels = set((attrs.get("rel") or "").lower().split())
            if rels & _REQUISITE_RELS:
                add(attrs.get("href"), Role.REQUISITE)
                for candidate in srcset_urls(attrs.get("imagesrcset") or ""):
                    add(candidate, Role.REQUISITE)
        elif tag in ("img", "source"):
            add(attrs.get("src"), Role.REQUISITE)
            for candidate in srcset_urls(attrs.get("srcset") or ""):
                add(candidate, Role.REQUISITE)
        elif tag in ("video", "audio"):
            add(attrs.get("src"), Role.REQUISITE)
            add(attrs.get("poster"), Role.REQUISITE)
        elif tag == "script":
            scripts += 1
            add(attrs.get("src"), Role.REQUISITE)
        elif tag in ("track", "iframe", "frame", "embed", "input"):
            add(attrs.get("src"), Role.REQUISITE)
        elif tag == "object":
            add(attrs.get("data"), Role.REQUISITE)
        elif tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            m = _REFRESH.match(attrs.get("content") or "")
            if m and refresh is None:
                refresh = resolve_link(base, m.group(1))
        elif tag == "style":
            _css_into(node.text(deep=True), base, kept)
        elif tag in _SVG_REFS:
            ref = attrs.get("href") or attrs.get("xlink:href") or ""
            if ref and not ref.startswith("#"):          # "#icon" is a symbol of this very page
                add(ref, Role.REQUISITE)
        for name in _LAZY_SRC:
            value = attrs.get(name)
            if value and _LAZY_VALUE.fullmatch(value.strip()):
                add(value.strip(), Role.REQUISITE)
        for name in _LAZY_SRCSET:
            for candidate in srcset_urls(attrs.get(name) or ""):
                add(candidate, Role.REQUISITE)
        if "background" in attrs and tag not in ("a", "area", "link"):
            add(attrs.get("background"), Role.REQUISITE)
        if attrs.get("style"):
            _css_into(attrs["style"] or "", base, kept)
    scripts += sum(1 for _ in tree.css("script:not([src])"))
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node else None
    text_chars, notice = _visible_text(tree)
    note = kept.note()
    return PageLinks(links=tuple(kept.links), refresh=refresh, text_chars=text_chars, scripts=scripts,
                     js_notice=notice, title=title or None, limits=page.notes + ((note,) if note else ()))


def _unique(nodes: list[Any]) -> list[Any]:
    """Each node once: lexbor lists a node once per selector of the list that it matches
    (an ``<img style>`` twice), which would count its links twice."""
    seen: set[int] = set()
    unique = []
    for n in nodes:
        if n.mem_id not in seen:
            seen.add(n.mem_id)
            unique.append(n)
    return unique


def _visible_text(tree: Any) -> tuple[int, bool]:
    """(characters of visible text, whitespace runs counted as one; whether it asks for JavaScript)."""
    body = getattr(tree, "body", None)
    if body is None:
        return 0, False
    notice = any(_JS_NOTICE.search(n.text()) for n in tree.css("noscript"))
    for node in tree.css("script,style,noscript,template"):
        node.decompose()
    text = _SPACES.sub(" ", body.text(separator=" ")).strip()   # one copy, not a list of every word
    return len(text), notice or bool(_JS_NOTICE.search(text[:2000]))
