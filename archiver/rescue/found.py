"""What a document cites: each URL occurrence with its position, and the URLs once each.

Every format has its own finder (``found_markdown``, ``found_html``, ``found_bibtex``,
``found_office`` for DOCX and PDF, ``found_text`` for plain text); ``find(path)`` picks one by the
file's suffix. Positions are character offsets in the text as decoded (UTF-8, undecodable bytes kept
as surrogates, so writing it back gives the same bytes); ``byte_span`` converts them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import UsageError
from ..core.urls import canonical

MAX_DOCUMENT_BYTES = 64 * 2**20
MAX_OCCURRENCES = 5000


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a document names a URL."""

    url: str                     # as the document gives it (attribute and escape decoding done)
    syntax: str                  # how it is written: markdown-link, markdown-autolink, markdown-reference,
                                 # text, html-a, bibtex-url, bibtex-\url, docx-hyperlink, pdf-link, pdf-text
    start: int | None = None     # the URL's span in the text (None: a read-only format)
    end: int | None = None
    insert_at: int | None = None  # where a robust form adds what it adds (after the link; in the tag; the entry)
    extend_at: int | None = None  # where another archived copy joins those named already (--refresh)
    where: str = ""              # the entry key, the DOCX part, the PDF page
    versions: tuple[str, ...] = ()   # archived copies the document already names for it (robust already)
    dated: str | None = None     # a date the document gives this citation (BibTeX urldate)


@dataclass(frozen=True, slots=True)
class Skip:
    """A URL-like value left out, and why (not http(s), malformed)."""

    value: str
    reason: str


@dataclass(slots=True)
class Document:
    """A document as read: its format, its text (None for DOCX and PDF), what it cites."""

    path: Path
    format: str                  # markdown, html, bibtex, text, docx, pdf
    text: str | None
    occurrences: list[Occurrence] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    date: str | None = None      # the document's own date (front matter, meta, core properties), ISO
    line_starts: list[int] | None = None

    def add(self, occurrence: Occurrence) -> None:
        """Keep ``occurrence`` when it names an http(s) URL; else note it as skipped."""
        try:
            canonical(occurrence.url)
        except UsageError:
            if len(self.skipped) < MAX_OCCURRENCES:
                self.skipped.append(Skip(occurrence.url[:300], "not an http(s) URL"))
            return
        if len(self.occurrences) >= MAX_OCCURRENCES:
            raise UsageError(f"{self.path} names more than {MAX_OCCURRENCES} URLs: split it")
        self.occurrences.append(occurrence)

    def cited(self) -> dict[str, list[Occurrence]]:
        """Each URL once (canonical: fragment dropped, host lower case), in order of first mention."""
        out: dict[str, list[Occurrence]] = {}
        for occurrence in self.occurrences:
            out.setdefault(canonical(occurrence.url), []).append(occurrence)
        return out

    def place(self, occurrence: Occurrence) -> str:
        """Where the document cites it, for a reader: the entry, part or page, else 'line N'."""
        if occurrence.where or self.text is None or occurrence.start is None:
            return occurrence.where
        if self.line_starts is None:
            self.line_starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]
        return f"line {bisect_right(self.line_starts, occurrence.start)}"

    def byte_span(self, occurrence: Occurrence) -> tuple[int, int] | None:
        """The occurrence's span in the file's bytes."""
        if self.text is None or occurrence.start is None or occurrence.end is None:
            return None
        start = len(encode(self.text[:occurrence.start]))
        return start, start + len(encode(self.text[occurrence.start:occurrence.end]))


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def read_bounded(path: Path) -> bytes:
    """The file's bytes; UsageError (one line) when it is missing, a folder or too large."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UsageError(f"{path} is not a file")
        if size > MAX_DOCUMENT_BYTES:
            raise UsageError(f"{path} is {size} bytes; a document to rescue may have up to {MAX_DOCUMENT_BYTES}")
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


Finder = Callable[[Path, bytes], Document]
SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".xhtml": "html",
            ".bib": "bibtex", ".txt": "text", ".text": "text", ".docx": "docx", ".pdf": "pdf"}


def finders() -> dict[str, Finder]:
    from . import found_bibtex, found_html, found_markdown, found_office, found_text

    return {"markdown": found_markdown.find, "html": found_html.find, "bibtex": found_bibtex.find,
            "text": found_text.find, "docx": found_office.find_docx, "pdf": found_office.find_pdf}


def find(path: Path) -> Document:
    """What the document at ``path`` cites; UsageError for a format it cannot read or a broken file."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"{path}: rescue reads {', '.join(sorted(SUFFIXES))} files, not {path.suffix or 'no suffix'}")
    return finders()[kind](path, read_bounded(path))
