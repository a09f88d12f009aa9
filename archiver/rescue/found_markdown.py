"""URLs in Markdown, as markdown-it-py (CommonMark) reads it: inline links, autolinks, reference
definitions, raw HTML ``<a href>``, and bare URLs in running text; nothing in code blocks, fenced
code or code spans.

markdown-it gives each block its lines and each link its destination, not the destination's
column, so a small scanner locates each destination inside its block and keeps it only when the
parser found that very link there: the parser decides what is a link, the scanner where it is.

A link already made robust here is followed by `` ([archived YYYY-MM-DD](ARCHIVED-URL))``; a
reference definition carries ``"archived YYYY-MM-DD at ARCHIVED-URL"`` as its title.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll

from . import found_html
from .found import Document, Occurrence, decode
from .found_text import urls_in

_DEST = r"(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)"
_TITLE = r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\))"
LINK = re.compile(r"\]\([ \t]*\n?[ \t]*" + _DEST + r"(?:\s+" + _TITLE + r")?\s*\)")
AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*)>")
MARK = re.compile(r" \(\[archived (\d{4}-\d{2}-\d{2})\]\((<[^<>\n]*>|[^()\s]+)\)\)")
REFERENCE = re.compile(r"^ {0,3}\[(?:[^\]\\]|\\.)+\]:[ \t]*\n?[ \t]*" + _DEST + r"(?:[ \t]+|[ \t]*\n[ \t]*)?(" +
                       _TITLE + r")?[ \t]*$", re.MULTILINE)
REFERENCE_MARK = re.compile(r"^[\"'(]archived (\d{4}-\d{2}-\d{2}) at (\S+)[\"')]$")
TAG = re.compile(r"</?[A-Za-z][^<>]*>")
MAX_LINK_TEXT = 4096          # how far back a link's text may start
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
FRONT_DATE = re.compile(r"^date:[ \t]*[\"']?(\d{4}-\d{2}-\d{2})", re.MULTILINE)


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def find(path: Path, data: bytes) -> Document:
    text = decode(data)
    doc = Document(path, "markdown", text)
    parsed = text
    front = FRONT_MATTER.match(text)
    if front:                                   # YAML front matter: its date, and no links in it
        date = FRONT_DATE.search(front.group(1))
        doc.date = date.group(1) if date else None
        parsed = re.sub(r"[^\n]", " ", front.group()) + text[front.end():]
    md = parser()
    env: dict[str, Any] = {}
    starts = _line_starts(text)
    blocks: dict[tuple[int, int], Counter[str]] = {}     # the cells of a table row share the row's lines
    for token in md.parse(parsed, env):
        if token.map is None:
            continue
        begin, end = starts[token.map[0]], starts[min(token.map[1], len(starts) - 1)]
        if token.type == "inline":
            hrefs = blocks.setdefault((begin, end), Counter())
            hrefs.update(str(c.attrs.get("href")) for c in token.children or [] if c.type == "link_open")
        elif token.type == "html_block":
            found_html.scan(doc, text, begin, end)
    for (begin, end), hrefs in blocks.items():
        _inline(doc, md, begin, end, hrefs)
    for ref in env.get("references", {}).values():
        if ref.get("map"):
            begin, end = starts[ref["map"][0]], starts[min(ref["map"][1], len(starts) - 1)]
            _reference(doc, md, begin, end, str(ref["href"]))
    doc.occurrences.sort(key=lambda o: o.start or 0)
    return doc


def _line_starts(text: str) -> list[int]:
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    return [*starts, len(text)]


def code_spans(text: str, begin: int, end: int) -> list[tuple[int, int]]:
    """The code spans (CommonMark: a backtick run closed by a run of the same length) in a block."""
    spans, pos = [], begin
    while (opening := re.compile(r"`+").search(text, pos, end)) is not None:
        run = len(opening.group())
        closing = re.compile("(?<!`)" + "`" * run + "(?!`)").search(text, opening.end(), end)
        if closing is None:
            pos = opening.end()
            continue
        spans.append((opening.start(), closing.end()))
        pos = closing.end()
    return spans


def _inline(doc: Document, md: MarkdownIt, begin: int, end: int, hrefs: Counter[str]) -> None:
    text = doc.text or ""
    masked = list(text[begin:end])

    def mask(start: int, stop: int) -> None:
        masked[start - begin:stop - begin] = " " * (stop - start)

    for start, stop in code_spans(text, begin, end):
        mask(start, stop)
    view = "".join(masked)
    for mark in MARK.finditer(view):
        mask(begin + mark.start(), begin + mark.end())
    view = "".join(masked)
    for match in [*LINK.finditer(view), *AUTOLINK.finditer(view)]:
        raw = match.group(1)
        start = begin + match.start(1) + (1 if raw.startswith("<") else 0)
        stop = begin + match.end(1) - (1 if raw.endswith(">") else 0)
        url = unescapeAll(text[start:stop])
        href = md.normalizeLink(url)
        opens = _link_text_start(view, match.start()) if match.re is LINK else match.start()
        after = begin + match.end()
        if hrefs[href] <= 0 or view[opens - 1:opens] == "!":    # not a link to markdown-it: an image, a false match
            mask(begin + opens, after)
            continue
        hrefs[href] -= 1
        syntax = "markdown-link" if match.re is LINK else "markdown-autolink"
        versions, extend = _marks(text, after, end)
        doc.add(Occurrence(url, syntax, start, stop, insert_at=after, extend_at=extend, versions=versions))
        mask(begin + opens, after)
    view = "".join(masked)
    for tag in TAG.finditer(view):                 # raw HTML: its <a href> as HTML, the rest left alone
        found_html.scan(doc, text, begin + tag.start(), begin + tag.end())
        mask(begin + tag.start(), begin + tag.end())
    view = "".join(masked)
    for start, stop, url in urls_in(view, 0, len(view)):
        versions, extend = _marks(text, begin + stop, end)
        doc.add(Occurrence(url, "text", begin + start, begin + stop, insert_at=begin + stop, extend_at=extend,
                           versions=versions))


def _link_text_start(view: str, close: int) -> int:
    """Where the link text that ends at ``view[close]`` (its ``]``) opens: the balanced ``[``."""
    depth = 0
    for i in range(close, max(-1, close - MAX_LINK_TEXT), -1):
        if view[i] == "]" and (i == 0 or view[i - 1] != "\\"):
            depth += 1
        elif view[i] == "[" and (i == 0 or view[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i
    return close


def _marks(text: str, at: int, end: int) -> tuple[tuple[str, ...], int | None]:
    """The archived copies named right after a link (`` ([archived DATE](URL))``, repeated), and
    where the last of them ends (None: there are none)."""
    versions = []
    while (mark := MARK.match(text, at, end)) is not None:
        versions.append(mark.group(2).strip("<>"))
        at = mark.end()
    return tuple(versions), at if versions else None


def _reference(doc: Document, md: MarkdownIt, begin: int, end: int, href: str) -> None:
    text = doc.text or ""
    for match in REFERENCE.finditer(text, begin, end):
        raw = match.group(1)
        start = match.start(1) + (1 if raw.startswith("<") else 0)
        stop = match.end(1) - (1 if raw.endswith(">") else 0)
        url = unescapeAll(text[start:stop])
        if md.normalizeLink(url) != href:
            continue
        title = match.group(2)
        mark = REFERENCE_MARK.match(title) if title else None
        doc.add(Occurrence(url, "markdown-reference", start, stop,
                           insert_at=match.end(1) if title is None else None,
                           versions=(mark.group(2),) if mark else ()))
        return
