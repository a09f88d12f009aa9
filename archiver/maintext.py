"""The main text of a page, boilerplate removed (the home of ``trafilatura``), and its repeated
paragraphs noticed: a sloppy CMS that prints a paragraph three times is a fact worth recording.
The extractor itself keeps each paragraph once, which is the text used for search and change
detection; the repeats are counted on the page's own paragraphs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

MIN_REPEAT_CHARS = 40     # shorter paragraphs ("Share", "Advertisement") repeat innocently


@dataclass(frozen=True, slots=True)
class MainText:
    text: str                                   # one paragraph a line
    repeated: tuple[tuple[str, int], ...] = ()  # (first 80 characters, times it appears on the page)


def main_text(html: str, url: str | None = None) -> MainText | None:
    """The page's main text, or None when there is none to speak of."""
    import trafilatura

    extracted = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                                    favor_precision=True)
    if not extracted or not extracted.strip():
        return None
    text = "\n".join(" ".join(line.split()) for line in extracted.splitlines() if line.strip())
    return MainText(text, repeated_paragraphs(html))


def repeated_paragraphs(html: str) -> tuple[tuple[str, int], ...]:
    """Paragraphs (``<p>``, ``<li>``, ``<blockquote>``) whose text appears more than once."""
    from selectolax.lexbor import LexborHTMLParser

    texts = [" ".join(node.text().split()) for node in LexborHTMLParser(html).css("p, li, blockquote")]
    counts = Counter(t for t in texts if len(t) >= MIN_REPEAT_CHARS)
    return tuple((text[:80], n) for text, n in counts.items() if n > 1)
