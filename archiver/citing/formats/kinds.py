"""One item type per kind of source, named the same way in every format (docs/citations.md).

A source's ``kind`` is its CSL type (the CSL 1.0 specification's list); each format maps it to its
own type as that format's documentation says: BibLaTeX's entry types (the biblatex manual, section
2.1.1), RIS's ``TY`` values (the RIS specification, as Zotero's RIS translator reads them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    csl: str                    # CSL type
    biblatex: str               # BibLaTeX entry type
    biblatex_subtype: str | None  # its entrysubtype, where biblatex defines one
    ris: str                    # RIS TY
    words: str                  # what a reader calls it


KINDS: dict[str, Kind] = {k.csl: k for k in (
    Kind("article-newspaper", "article", "newspaper", "NEWS", "news article"),
    Kind("post-weblog", "online", None, "BLOG", "blog post"),
    Kind("report", "report", None, "RPRT", "report"),
    Kind("document", "misc", None, "GEN", "PDF document"),
    Kind("dataset", "dataset", None, "DATA", "dataset"),
    Kind("webpage", "online", None, "ELEC", "web page"),
    Kind("article-journal", "article", None, "JOUR", "journal article"),
)}


def kind_of(item_kind: str) -> Kind:
    """The Kind of a CitationData.kind; anything unknown is a web page."""
    return KINDS.get(item_kind, KINDS["webpage"])
