"""URLs in running text, as people write them: a URL ends at white space, and punctuation or a
closing bracket after it belongs to the sentence (``(see https://a.example/x).`` names
``https://a.example/x``), unless the URL opened that bracket itself (``https://en.wikipedia.org/wiki/Foo_(bar)``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .found import Document, Occurrence, decode

URL = re.compile(r"https?://[^\s<>\"'`\\\x00-\x1f]+", re.IGNORECASE)
_TRAILING = ".,;:!?*_~'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}


def trimmed(url: str) -> str:
    """``url`` without the punctuation and unmatched closing brackets of the sentence around it."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            url = url[:-1]
        else:
            break
    return url


def urls_in(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, str]]:
    """(start, end, url) of each URL in ``text[start:end]``, offsets in ``text``."""
    for match in URL.finditer(text, start, len(text) if end is None else end):
        url = trimmed(match.group())
        if "://" in url and len(url) > len(url.split("://", 1)[0]) + 3:
            yield match.start(), match.start() + len(url), url


def find(path: Path, data: bytes) -> Document:
    text = decode(data)
    doc = Document(path, "text", text)
    for start, end, url in urls_in(text):
        doc.add(Occurrence(url, "text", start, end, insert_at=end))
    return doc
