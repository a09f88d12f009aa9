"""BibLaTeX entries, of the entry type the biblatex manual gives each kind of source
(``@article`` with ``entrysubtype = {newspaper}``, ``@online``, ``@report``, ``@dataset``, ``@misc``)."""

from __future__ import annotations

from .data import CitationData, Name, in_reference_order, unique_keys
from .kinds import kind_of

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "&": r"\&", "%": r"\%",
            "~": r"\textasciitilde{}", "$": r"\$", "_": r"\_", "^": r"\textasciicircum{}"}


def escape(text: str) -> str:
    """Text field value with LaTeX's special characters escaped (line breaks folded)."""
    return "".join(_SPECIAL.get(c, c) for c in " ".join(text.split()))


def _verbatim(url: str) -> str:
    """url fields are verbatim in BibLaTeX; only unbalanced braces and line breaks would break them."""
    return "".join(c for c in url if c not in "{}\r\n")


def _name(name: Name) -> str:
    if name.literal:
        return "{" + escape(name.literal) + "}"
    return f"{escape(name.family or '')}, {escape(name.given or '')}"


def _where(item: CitationData, entry_type: str) -> list[tuple[str, str]]:
    """The site and publisher in the fields each entry type has for them."""
    fields: list[tuple[str, str]] = []
    if entry_type == "article":
        fields.append(("journaltitle", escape(item.site or item.publisher or "")))
    elif entry_type == "report":
        fields.append(("institution", escape(item.publisher or item.site or "")))
    elif item.site:
        fields.append(("organization", escape(item.site)))
    if entry_type != "report" and item.publisher and item.publisher != item.site:
        fields.append(("publisher", escape(item.publisher)))
    return [(name, value) for name, value in fields if value]


def entry(item: CitationData, key: str) -> str:
    kind = kind_of(item.kind)
    fields: list[tuple[str, str]] = []
    if item.authors:
        fields.append(("author", " and ".join(_name(a) for a in item.authors)))
    fields.append(("title", escape(item.shown_title)))
    if kind.biblatex_subtype:
        fields.append(("entrysubtype", kind.biblatex_subtype))
    if item.issued:
        fields.append(("date", "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(item.issued))))
    fields += _where(item, kind.biblatex)
    if kind.biblatex == "misc":
        fields.append(("howpublished", escape(kind.words)))
    if item.language:
        fields.append(("langid", escape(item.language)))
    if item.doi:
        fields.append(("doi", _verbatim(item.doi)))
    fields.append(("url", _verbatim(item.url)))
    fields.append(("urldate", f"{item.archived_at:%Y-%m-%d}"))
    fields.append(("addendum", f"Archived copy: \\url{{{_verbatim(item.archived_url)}}}, archiver capture "
                               f"{escape(item.capture_id)}, payload sha256 {item.payload_sha256}"))
    fields.append(("archiveurl", _verbatim(item.archived_url)))
    fields.append(("archivedate", f"{item.archived_at:%Y-%m-%d}"))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind.biblatex}{{{key},\n{body}\n}}\n"


def to_bibtex(items: list[CitationData]) -> str:
    items = in_reference_order(items)
    return "\n".join(entry(item, key) for item, key in zip(items, unique_keys(items)))
