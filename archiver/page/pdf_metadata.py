"""Citation metadata of a PDF document from the document itself: its title, authors and dates from
its XMP packet or its info dictionary, else its title from the largest text on page 1.

Precedence per field: XMP (``dc:title``, ``dc:creator``, ``xmp:CreateDate``/``dc:date``,
``xmp:ModifyDate``, ``dc:language``), then the info dictionary (``/Title``, ``/Author``,
``/CreationDate``, ``/ModDate``), then for the title alone page 1's largest text. Placeholder
values authoring tools leave ('Microsoft Word - minutes.docx', 'untitled', 'Administrator') are
passed over. Dates keep their offset (``D:20261102093000-05'00'`` -> ``2026-11-02T09:30:00-05:00``).

Bounded: the bytes the capture holds in memory (a PDF cut there is read as far as its
cross-reference table can be found or rebuilt), the XMP packet (MAX_XMP_BYTES), page 1's decoded
content (MAX_CONTENT_BYTES, else its heading is not looked for), and pypdf's own decompression
limits. Pure: bytes in, PageMetadata out.
"""

from __future__ import annotations

import io
import logging
import math
import re
import warnings
from typing import Any

from ..net.content_coding import size
from .dates import normalize_date
from .metadata import MAX_TEXT_CHARS, Field, PageMetadata

MAX_XMP_BYTES = 2**20
MAX_CONTENT_BYTES = 2 * 2**20        # page 1's decoded content stream, read for its largest text
MAX_TEXT_RUNS = 5000
_JUNK_TITLE = re.compile(r"^(?:microsoft \w+ - .*|untitled.*|document\d*|title|print|slide \d+|"
                         r".*\.(?:docx?|odt|rtf|pptx?|xlsx?|indd|pdf|txt|tex|dvi|qxp|pages|key))$", re.IGNORECASE)
_JUNK_AUTHOR = re.compile(r"^(?:administrator|admin|user|owner|author|unknown|default|standard|"
                          r"microsoft office user|windows user)$", re.IGNORECASE)
_LOGIN = re.compile(r"^[a-z][a-z0-9._]{0,15}$")      # a user name left by the tool ('jsmith', 'hp'), not a name
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Z+-])(\d{2})?'?(\d{2})?'?)?")


def pdf_metadata(data: bytes, whole: bool = True) -> PageMetadata:
    """The document's metadata; ``whole``: False when ``data`` is only the start of a longer file."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    log = logging.getLogger("pypdf")
    if not log.handlers:
        log.addHandler(logging.NullHandler())     # pypdf's warnings about a file are not the user's to read
    notes: list[str] = [] if whole else [f"pdf: read from the first {size(len(data))} of a longer file"]
    fields: dict[str, Field] = {"kind": Field("pdf-document", "pdf:%PDF")}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            found = [*_xmp(reader), *_info(reader)]
            for name, value, source in found:
                if value and name not in fields:
                    fields[name] = Field(value, source)
            if "title" not in fields:
                heading = _largest_text(reader, notes)
                if heading:
                    fields["title"] = Field(heading, "pdf:page1.largest-text")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, AssertionError,
            OverflowError, ZeroDivisionError, MemoryError, EOFError) as exc:   # a malformed file, read as far as it goes
        notes.append(f"pdf: cannot be read past {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
    return PageMetadata(fields, tuple(notes))


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split())[:MAX_TEXT_CHARS] if value is not None else ""
    return text or None


def _title(value: Any) -> str | None:
    text = _text(value)
    return text if text and not _JUNK_TITLE.match(text) else None


def _authors(values: list[str]) -> list[str] | None:
    names: list[str] = []
    for value in values:
        for part in re.split(r"\s*;\s*", value):
            name = _text(part)
            if name and not _JUNK_AUTHOR.match(name) and not _LOGIN.match(name) and len(name) <= 200:
                names.append(name)
    return list(dict.fromkeys(names))[:50] or None


def pdf_date(value: Any) -> str | None:
    """A PDF date string (``D:YYYYMMDDHHmmSSOHH'mm'``) in ISO 8601, its offset kept."""
    text = _text(value)
    m = _PDF_DATE.match(text or "")
    if not m:
        return normalize_date(text)
    y, mo, d, hh, mi, ss, sign, oh, om = m.groups()
    iso = y + (f"-{mo}" if mo else "") + (f"-{d}" if mo and d else "")
    if d and hh and mi:
        iso += f"T{hh}:{mi}:{ss or '00'}"
        if sign == "Z" or (sign and oh is None):
            iso += "Z"
        elif sign:
            iso += f"{sign}{oh}:{om or '00'}"
    return normalize_date(iso)


def _info(reader: Any) -> list[tuple[str, Any, str]]:
    info = reader.metadata or {}
    out: list[tuple[str, Any, str]] = [("title", _title(info.get("/Title")), "pdf:info./Title")]
    author = _text(info.get("/Author"))
    out.append(("authors", _authors([author]) if author else None, "pdf:info./Author"))
    out.append(("published", pdf_date(info.get("/CreationDate")), "pdf:info./CreationDate"))
    out.append(("modified", pdf_date(info.get("/ModDate")), "pdf:info./ModDate"))
    out.append(("description", _text(info.get("/Subject")), "pdf:info./Subject"))
    return out


def _xmp(reader: Any) -> list[tuple[str, Any, str]]:
    root = reader.trailer.get("/Root")
    stream = root.get_object().get("/Metadata") if root is not None else None
    if stream is None:
        return []
    raw = stream.get_object().get_data()
    if len(raw) > MAX_XMP_BYTES:
        return []
    xmp = reader.xmp_metadata
    if xmp is None:
        return []
    titles = xmp.dc_title or {}
    title = titles.get("x-default") or next(iter(titles.values()), None)
    text = raw.decode("utf-8", "replace")
    out: list[tuple[str, Any, str]] = [("title", _title(title), "pdf:xmp.dc:title"),
                                       ("authors", _authors(list(xmp.dc_creator or [])), "pdf:xmp.dc:creator")]
    for name, prop in (("published", "xmp:CreateDate"), ("published", "dc:date"), ("modified", "xmp:ModifyDate")):
        out.append((name, normalize_date(_xmp_value(text, prop)), f"pdf:xmp.{prop}"))
    languages = xmp.dc_language or []
    out.append(("language", _text(languages[0]) if languages else None, "pdf:xmp.dc:language"))
    return out


def _xmp_value(text: str, prop: str) -> str | None:
    """A property's text as written in the packet (pypdf's own reading moves dates to UTC)."""
    name = re.escape(prop)
    m = (re.search(rf"<{name}>\s*(?:<rdf:Seq>\s*<rdf:li>)?([^<]{{1,100}})<", text)
         or re.search(rf"\b{name}=\"([^\"]{{1,100}})\"", text))
    return m.group(1).strip() if m else None


def _largest_text(reader: Any, notes: list[str]) -> str | None:
    """The text set in the largest type on page 1, in reading order: a document's first heading."""
    if len(reader.pages) == 0:
        return None
    page = reader.pages[0]
    contents = page.get_contents()
    if contents is None:
        return None
    if len(contents.get_data()) > MAX_CONTENT_BYTES:
        notes.append(f"pdf: page 1's content is over {size(MAX_CONTENT_BYTES)}: its heading was not looked for")
        return None
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, font_size: float) -> None:
        if len(runs) < MAX_TEXT_RUNS and text.strip():
            scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3]) if tm and cm else 1.0
            runs.append((round(font_size * (scale or 1.0), 1), text))

    page.extract_text(visitor_text=visit)
    if not runs:
        return None
    largest = max(s for s, _ in runs)
    if sum(1 for s, _ in runs if s == largest) == len(runs):
        return None              # one size throughout: no heading to tell apart
    picked: list[str] = []
    for s, text in runs:
        if s == largest:
            picked.append(text)
        elif picked:
            break
    heading = _text(" ".join(picked))
    return heading if heading and len(heading) >= 3 and any(c.isalpha() for c in heading) else None
