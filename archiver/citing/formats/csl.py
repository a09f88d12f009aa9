"""CSL-JSON (the Citation Style Language data schema, v1.0)."""

from __future__ import annotations

import json
from typing import Any

from .data import CitationData, in_reference_order, unique_keys
from .kinds import kind_of


def csl_title(item: CitationData) -> str:
    """The title; an untitled source's bracketed description is marked so no style changes its case
    (citeproc-js and Zotero honour ``<span class="nocase">``)."""
    return item.title or f'<span class="nocase">{item.shown_title}</span>'


def csl_item(item: CitationData, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": key, "type": kind_of(item.kind).csl, "title": csl_title(item)}
    if item.authors:
        out["author"] = [{"literal": a.literal} if a.literal else {"family": a.family, "given": a.given}
                         for a in item.authors]
    if item.issued:
        out["issued"] = {"date-parts": [list(item.issued)]}
    if item.site:
        out["container-title"] = item.site
    if item.publisher and item.publisher != item.site:
        out["publisher"] = item.publisher
    if item.language:
        out["language"] = item.language
    if item.description:
        out["abstract"] = item.description
    if item.doi:
        out["DOI"] = item.doi
    out["URL"] = item.url
    at = item.archived_at
    out["accessed"] = {"date-parts": [[at.year, at.month, at.day]]}
    out["archive"] = item.archive_name
    out["archive_location"] = item.archived_location
    out["note"] = item.note
    out["custom"] = {"capture_id": item.capture_id, "payload_sha256": item.payload_sha256, "archived_url": item.archived_url,
                     "archived_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "metadata_sources": item.sources}
    return out


def csl_items(items: list[CitationData]) -> list[dict[str, Any]]:
    return [csl_item(item, key) for item, key in zip(items, unique_keys(items))]


def to_csl_json(items: list[CitationData]) -> str:
    return json.dumps(csl_items(in_reference_order(items)), indent=2, ensure_ascii=False) + "\n"
