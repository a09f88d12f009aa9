"""The robust copy: the document's text with the archived copy added at each link, and nothing
else changed. Every change is an insertion at a position the finder recorded:

- Markdown: `` ([archived YYYY-MM-DD](ARCHIVED-URL))`` after the link (CommonMark renders it as a
  second link); a reference definition gets ``"archived YYYY-MM-DD at ARCHIVED-URL"`` as its title;
- HTML: ``data-originalurl``, ``data-versionurl``, ``data-versiondate`` in the ``<a>`` tag (the live
  URL stays the ``href``: a Robust Link);
- BibTeX: ``urldate`` (when the entry has none), ``archiveurl``, ``archivedate`` and an ``addendum``
  (when it has none: "Archived YYYY-MM-DD at \\url{COPY}", and "\\url{LIVE} archived YYYY-MM-DD at
  \\url{COPY}" for a URL of ``howpublished`` or ``note``) after the entry's last field, as
  docs/citations.md maps them.

``--refresh`` adds a newer copy beside the ones named: another Markdown link, another URL in
``data-versionurl`` (space separated, as the Robust Links draft of 2025 allows), another
``archived ... at \\url{}`` in the BibTeX ``addendum``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from ..core.urls import canonical
from .found import Document, Occurrence


@dataclass(frozen=True, slots=True)
class Version:
    """An archived copy to name: its URL (through the replay URL template) and its date."""

    url: str
    date: str            # YYYY-MM-DD


def _markdown_url(url: str) -> str:
    return f"<{url}>" if any(c in url for c in " ()<>") else url


def _markdown(version: Version) -> str:
    return f" ([archived {version.date}]({_markdown_url(version.url)}))"


def _html(text: str, occurrence: Occurrence, version: Version) -> str:
    """The Robust Link attributes the tag lacks (an author may have given data-originalurl or
    data-versiondate already: an attribute is never given twice)."""
    at = occurrence.insert_at or 0
    tag = text[text.rfind("<", 0, at):at].lower()
    wanted = [("data-originalurl", occurrence.url), ("data-versionurl", version.url), ("data-versiondate", version.date)]
    return "".join(f' {name}="{escape(value)}"' for name, value in wanted
                   if not re.search(rf"\s{name}\s*=", tag))


def _bibtex_fields(doc: Document, entry: list[tuple[Occurrence, Version]]) -> str:
    first, version = next(((o, v) for o, v in entry if o.syntax == "bibtex-url"), entry[0])
    fields = [] if first.dated else [("urldate", version.date)]
    fields += [("archiveurl", version.url), ("archivedate", version.date)]
    text = doc.text or ""
    start = text.rfind("@", 0, first.start or 0)
    if not re.search(r"[\s,]addendum\s*=", text[start:first.insert_at], re.IGNORECASE):
        copies = dict.fromkeys(_bibtex_copy(o, v) for o, v in entry)
        fields.append(("addendum", "; ".join(copies)))
    return "".join(f",\n  {name} = {{{value}}}" for name, value in fields)


def _bibtex_copy(occurrence: Occurrence, version: Version) -> str:
    """An archived copy in a BibTeX addendum: of the entry's ``url``, or of the URL it names."""
    copy = f"archived {version.date} at \\url{{{version.url}}}"
    return copy[0].upper() + copy[1:] if occurrence.syntax == "bibtex-url" else f"\\url{{{occurrence.url}}} {copy}"


def edits(doc: Document, versions: dict[str, Version], refresh: bool = False) -> list[tuple[int, str]]:
    """(position, text to insert) for every occurrence that gains an archived copy."""
    out: dict[int, str] = {}
    entries: dict[int, list[tuple[Occurrence, Version]]] = {}
    for occurrence in doc.occurrences:
        version = versions.get(canonical(occurrence.url))
        if version is None or version.url in occurrence.versions:
            continue
        if occurrence.versions and not refresh:
            continue
        if occurrence.versions or occurrence.insert_at is None:     # a copy joins those named already
            if occurrence.extend_at is None:
                continue
            at, added = occurrence.extend_at, _extension(occurrence, version)
        elif occurrence.syntax.startswith("bibtex"):
            entries.setdefault(occurrence.insert_at, []).append((occurrence, version))
            continue
        else:
            at, added = occurrence.insert_at, _addition(doc, occurrence, version)
        if added and at not in out:
            out[at] = added
    for at, entry in entries.items():
        out[at] = _bibtex_fields(doc, entry)
    return sorted(out.items())


def _addition(doc: Document, occurrence: Occurrence, version: Version) -> str:
    if occurrence.syntax == "html-a":
        return _html(doc.text or "", occurrence, version)
    if occurrence.syntax == "markdown-reference":
        return f' "archived {version.date} at {version.url}"'
    if doc.format == "markdown":
        return _markdown(version)
    return ""


def _extension(occurrence: Occurrence, version: Version) -> str:
    if occurrence.syntax == "html-a":
        return " " + escape(version.url)
    if occurrence.syntax.startswith("bibtex"):
        return "; " + _bibtex_copy(occurrence, version)
    if occurrence.syntax == "markdown-reference":
        return ""
    return _markdown(version)


def apply(text: str, changes: list[tuple[int, str]]) -> str:
    """``text`` with each insertion made (positions in the original text)."""
    parts, last = [], 0
    for at, added in sorted(changes):
        parts += [text[last:at], added]
        last = at
    return "".join([*parts, text[last:]])
