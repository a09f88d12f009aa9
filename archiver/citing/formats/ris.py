"""RIS records (``TY  - ELEC`` ... ``ER  - ``)."""

from __future__ import annotations

from .data import CitationData


def _clean(value: str) -> str:
    """One line: a CR or LF inside a value could start a forged tag such as 'ER  - '."""
    return " ".join(value.split())


def record(item: CitationData) -> str:
    tags: list[tuple[str, str]] = [("TY", "ELEC"), ("TI", item.title or item.url)]
    for a in item.authors:
        tags.append(("AU", a.literal or f"{a.family}, {a.given}"))
    if item.issued:
        tags.append(("PY", str(item.issued[0])))
        tags.append(("DA", "/".join(f"{p:02d}" if i else str(p) for i, p in enumerate(item.issued))))
    if item.site:
        tags.append(("T2", item.site))
    if item.publisher:
        tags.append(("PB", item.publisher))
    if item.language:
        tags.append(("LA", item.language))
    if item.description:
        tags.append(("AB", item.description))
    if item.doi:
        tags.append(("DO", item.doi))
    tags += [("UR", item.url), ("Y2", f"{item.archived_at:%Y/%m/%d}"), ("DB", item.archive_name),
             ("AN", item.archived_url), ("N1", item.note)]
    lines = [f"{tag}  - {_clean(value)}" for tag, value in tags]
    return "\n".join(lines) + "\nER  - \n"


def to_ris(items: list[CitationData]) -> str:
    return "\n".join(record(item) for item in items)
