"""``<a href>`` in HTML, read by the standard library's HTML parser (which knows where each tag
starts, and skips scripts, styles and comments), with the span of each attribute's value in the
text. A link with ``data-versionurl`` is robust already."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

from .found import Document, Occurrence, decode

ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
DATE_META = {"date", "dcterms.date", "dc.date", "citation_date", "citation_publication_date", "article:published_time",
             "dcterms.modified", "article:modified_time"}


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[int, int, str, str]] = []     # line, column, name, raw start tag
        self.base: str | None = None
        self.date: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in values:
            line, column = self.getpos()
            self.tags.append((line, column, tag, self.get_starttag_text() or ""))
        elif tag == "base" and "href" in values and self.base is None:
            self.base = values["href"].strip()
        elif tag == "meta" and self.date is None:
            name = (values.get("name") or values.get("property") or "").lower()
            found = re.match(r"\d{4}-\d{2}-\d{2}", values.get("content", "").strip())
            if name in DATE_META and found:
                self.date = found.group()

    handle_startendtag = handle_starttag


def attributes(raw: str) -> dict[str, tuple[int, int, str]]:
    """Each attribute of a raw start tag: name -> (value start, value end, value decoded); the first
    of a repeated name counts, as in HTML."""
    out: dict[str, tuple[int, int, str]] = {}
    name_end = re.match(r"<[^\s/>]+", raw)
    for match in ATTRIBUTE.finditer(raw, name_end.end() if name_end else 0):
        name, value = match.group(1).lower(), match.group(2)
        if name in out or value is None:
            continue
        quoted = value[:1] in "\"'"
        start = match.start(2) + (1 if quoted else 0)
        end = match.end(2) - (1 if quoted else 0)
        out[name] = (start, end, unescape(raw[start:end]))
    return out


def scan(doc: Document, text: str, begin: int, end: int, base: str | None = None) -> _Anchors:
    """Add each ``<a href>`` of ``text[begin:end]`` to ``doc``; returns the parser (base, date)."""
    parser = _Anchors()
    parser.feed(text[begin:end])
    parser.close()
    base = base or parser.base
    starts = [begin] + [begin + m.end() for m in re.finditer(r"\n", text[begin:end])]
    for line, column, _tag, raw in parser.tags:
        at = starts[line - 1] + column
        attrs = attributes(raw)
        start, stop, href = attrs["href"]
        url = urljoin(base, href.strip()) if base else href.strip()
        versions = tuple(attrs["data-versionurl"][2].split()) if "data-versionurl" in attrs else ()
        close = len(raw) - (2 if raw.endswith("/>") else 1)
        extend = at + attrs["data-versionurl"][1] if versions else None
        doc.add(Occurrence(url, "html-a", at + start, at + stop, insert_at=None if versions else at + close,
                           extend_at=extend, versions=versions))
    return parser


def find(path: Path, data: bytes) -> Document:
    text = decode(data)
    doc = Document(path, "html", text)
    doc.date = scan(doc, text, 0, len(text)).date
    return doc
