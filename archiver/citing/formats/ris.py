"""RIS records (``TY  - NEWS``, ``BLOG``, ``RPRT``, ``GEN``, ``DATA`` or ``ELEC`` ... ``ER  - ``)."""

from __future__ import annotations

from .data import CitationData, in_reference_order
from .kinds import kind_of


def _clean(value: str) -> str:
    """One line: a CR or LF inside a value could start a forged tag such as 'ER  - '."""
    return " ".join(value.split())


def record(item: CitationData) -> str:
    kind = kind_of(item.kind)
    tags: list[tuple[str, str]] = [("TY", kind.ris), ("TI", item.shown_title)]
    for a in item.authors:
        tags.append(("AU", a.literal or f"{a.family}, {a.given}"))
    if item.issued:
        tags.append(("PY", str(item.issued[0])))
        tags.append(("DA", "/".join(f"{p:02d}" if i else str(p) for i, p in enumerate(item.issued))))
    if item.site and kind.ris != "RPRT":          # T2 of a report is its series (Zotero's RIS translator)
        tags.append(("T2", item.site))
    if item.publisher or (kind.ris == "RPRT" and item.site):
        tags.append(("PB", item.publisher or item.site or ""))
    if item.language:
        tags.append(("LA", item.language))
    if item.description:
        tags.append(("AB", item.description))
    if item.doi:
        tags.append(("DO", item.doi))
    tags += [("UR", item.url), ("Y2", f"{item.archived_at:%Y/%m/%d}"), ("DB", item.archive_name),
             ("AN", item.archived_location), ("N1", item.note)]
    lines = [f"{tag}  - {_clean(value)}" for tag, value in tags]
    return "\n".join(lines) + "\nER  - \n"


def to_ris(items: list[CitationData]) -> str:
    return "\n".join(record(item) for item in in_reference_order(items))
