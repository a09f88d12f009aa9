"""A Markdown reference: author, date, linked title, site, and the archived copy."""

from __future__ import annotations

from .data import CitationData, in_reference_order


def _md(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in " ".join(text.split()))


def reference(item: CitationData) -> str:
    who = "; ".join(a.literal or f"{a.family}, {a.given}" for a in item.authors)
    when = "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(item.issued)) if item.issued else "n.d."
    parts = [f"{_md(who)} ({when})." if who else f"({when})."]
    parts.append(f"[{_md(item.shown_title)}](<{item.url}>).")
    if item.site:
        parts.append(f"*{_md(item.site)}*.")
    parts.append(f"Archived {item.archived_at:%Y-%m-%d} at [archiver capture {_md(item.capture_id)}](<{item.archived_url}>), "
                 f"payload sha256 `{item.payload_sha256}`.")
    return " ".join(parts)


def to_markdown(items: list[CitationData]) -> str:
    return "\n".join(f"- {reference(item)}" for item in in_reference_order(items)) + "\n"
