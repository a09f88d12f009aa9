"""The main text of a page, boilerplate removed (the home of ``trafilatura``), and its repeated
paragraphs noticed: a sloppy CMS that prints a paragraph three times is a fact worth recording.
The extractor itself keeps each paragraph once, which is the text used for search and change
detection; the repeats are counted on the page's own paragraphs.

trafilatura needs about 30 bytes of memory per character and 2 KB per tag it is given, so it gets
the page without its scripts' and styles' content, cut at TEXT_TAGS tags and TEXT_CHARS characters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..net.content_coding import Markup, cut_tags, markup, size, without_scripts

MIN_REPEAT_CHARS = 40     # shorter paragraphs ("Share", "Advertisement") repeat innocently
TEXT_TAGS = 50_000        # tags given to the text extractor (a 5 MB news page has ~30,000)
TEXT_CHARS = 4 * 2**20    # characters given to it, scripts and styles left out (a novel is ~3 million)


@dataclass(frozen=True, slots=True)
class MainText:
    text: str                                   # one paragraph a line
    repeated: tuple[tuple[str, int], ...] = ()  # (first 80 characters, times it appears on the page)
    limits: tuple[str, ...] = ()                # notes of the bounds that cut what the extractor was given


def main_text(html: str | Markup, url: str | None = None) -> MainText | None:
    """The page's main text, or None when there is none to speak of."""
    import trafilatura

    given, limits = text_input(html)
    extracted = trafilatura.extract(given, url=url, include_comments=False, include_tables=True,
                                    favor_precision=True)
    if not extracted or not extracted.strip():
        return None
    text = "\n".join(" ".join(line.split()) for line in extracted.splitlines() if line.strip())
    return MainText(text, repeated_paragraphs(given), limits)


def text_input(html: str | Markup) -> tuple[str, tuple[str, ...]]:
    """What the text extractor is given (see the module's docstring), and notes when it was cut."""
    given = without_scripts(markup(html).html)
    given, cut = cut_tags(given, TEXT_TAGS)
    notes: tuple[str, ...] = (f"text: main text extracted from the first {TEXT_TAGS} tags of the page",) if cut else ()
    if len(given) > TEXT_CHARS:
        notes += (f"text: main text extracted from the first {size(TEXT_CHARS)} characters of the page, "
                  f"scripts and styles left out",)
        given = given[:TEXT_CHARS]
    return given, notes


def repeated_paragraphs(html: str) -> tuple[tuple[str, int], ...]:
    """Paragraphs (``<p>``, ``<li>``, ``<blockquote>``) whose text appears more than once."""
    from selectolax.lexbor import LexborHTMLParser

    texts = [" ".join(node.text().split()) for node in LexborHTMLParser(html).css("p, li, blockquote")]
    counts = Counter(t for t in texts if len(t) >= MIN_REPEAT_CHARS)
    return tuple((text[:80], n) for text, n in counts.items() if n > 1)
