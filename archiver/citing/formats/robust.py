"""Robust Links: an HTML anchor to the live URL that also carries the archived copy and its date."""

from __future__ import annotations

from html import escape

from .data import CitationData, in_reference_order


def robust_link(item: CitationData) -> str:
    text = escape(item.shown_title, quote=False)
    return (f'<a href="{escape(item.url)}" data-originalurl="{escape(item.url)}" '
            f'data-versionurl="{escape(item.archived_url)}" '
            f'data-versiondate="{item.archived_at:%Y-%m-%d}">{text}</a>')


def to_robust_links(items: list[CitationData]) -> str:
    return "\n".join(robust_link(item) for item in in_reference_order(items)) + "\n"
