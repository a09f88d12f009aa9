"""URLs in DOCX and PDF files, read only.

DOCX (a ZIP of XML parts): each hyperlink of the body (tables included), footnotes, endnotes,
comments, headers and footers, through the part's relationships (``r:id`` -> ``Target``, external),
``HYPERLINK`` fields, and URLs in the text of paragraphs. PDF (pypdf): each page's link
annotations (``/URI`` actions) and the URLs in its text. Bounded: parts, sizes and pages."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ..core.errors import UsageError
from .found import Document, Occurrence
from .found_text import urls_in

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
PART = re.compile(r"^word/(document|footnotes|endnotes|comments|header\d*|footer\d*)\.xml$")
FIELD_URL = re.compile(r'HYPERLINK\s+"([^"]+)"')
MAX_PART_BYTES = 32 * 2**20
MAX_PARTS = 2000
MAX_PAGES = 2000


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise UsageError(f"{name} in the DOCX file is {info.file_size} bytes unpacked; at most {MAX_PART_BYTES}")
    return archive.read(name)


def _xml(data: bytes, name: str) -> ElementTree.Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UsageError(f"{name} in the DOCX file declares a DOCTYPE or entities, which no Word file has")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise UsageError(f"{name} in the DOCX file is not well-formed XML: {exc}") from None


def _targets(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """The part's external hyperlink relationships: id -> URL."""
    folder, name = part.rsplit("/", 1)
    rels = f"{folder}/_rels/{name}.rels"
    if rels not in archive.namelist():
        return {}
    out = {}
    for rel in _xml(_read(archive, rels), rels).iter(f"{RELS}Relationship"):
        if rel.get("Type", "").endswith("/hyperlink") and rel.get("TargetMode") == "External":
            out[rel.get("Id", "")] = rel.get("Target", "")
    return out


def _paragraph_text(paragraph: ElementTree.Element) -> str:
    """The paragraph's text outside hyperlinks (those are counted as hyperlinks)."""
    inside = {id(t) for link in paragraph.iter(f"{W}hyperlink") for t in link.iter(f"{W}t")}
    return "".join(t.text or "" for t in paragraph.iter(f"{W}t") if id(t) not in inside)


def find_docx(path: Path, data: bytes) -> Document:
    doc = Document(path, "docx", None)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UsageError(f"{path} is not a DOCX file (not a ZIP archive)") from None
    with archive:
        names = archive.namelist()
        if len(names) > MAX_PARTS or "word/document.xml" not in names:
            raise UsageError(f"{path} is not a DOCX file (no word/document.xml, or over {MAX_PARTS} parts)")
        for part in sorted(n for n in names if PART.match(n)):
            where = part.removeprefix("word/").removesuffix(".xml")
            targets = _targets(archive, part)
            root = _xml(_read(archive, part), part)
            for link in root.iter(f"{W}hyperlink"):
                rid = link.get(f"{R}id")
                if rid and rid in targets:
                    doc.add(Occurrence(targets[rid], "docx-hyperlink", where=where))
            for node in root.iter():
                instruction = node.get(f"{W}instr") if node.tag == f"{W}fldSimple" else (
                    node.text if node.tag == f"{W}instrText" else None)
                if instruction and (field := FIELD_URL.search(instruction)):
                    doc.add(Occurrence(field.group(1), "docx-hyperlink", where=where))
            for paragraph in root.iter(f"{W}p"):
                for _, _, url in urls_in(_paragraph_text(paragraph)):
                    doc.add(Occurrence(url, "text", where=where))
        if "docProps/core.xml" in names:
            core = _read(archive, "docProps/core.xml")
            date = re.search(rb"<dcterms:(?:modified|created)[^>]*>(\d{4}-\d{2}-\d{2})", core)
            doc.date = date.group(1).decode() if date else None
    return doc


def find_pdf(path: Path, data: bytes) -> Document:
    import warnings

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from ..page.pdf_metadata import pdf_date

    doc = Document(path, "pdf", None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if len(reader.pages) > MAX_PAGES:
                raise UsageError(f"{path} has {len(reader.pages)} pages; rescue reads PDFs of up to {MAX_PAGES}")
            for number, page in enumerate(reader.pages, 1):
                where = f"page {number}"
                for annotation in page.get("/Annots") or []:
                    annotation = annotation.get_object()
                    action = annotation.get("/A")
                    action = action.get_object() if action is not None else None
                    if annotation.get("/Subtype") == "/Link" and action is not None and "/URI" in action:
                        doc.add(Occurrence(str(action["/URI"]), "pdf-link", where=where))
                for _, _, url in urls_in(page.extract_text() or ""):
                    doc.add(Occurrence(url, "pdf-text", where=where))
            info: Any = reader.metadata or {}
            date = pdf_date(info.get("/ModDate") or info.get("/CreationDate"))
            doc.date = date[:10] if date else None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path} is not a PDF pypdf can read: {str(exc)[:200]}") from None
    return doc
