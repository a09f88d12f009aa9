"""The manifest's ``browser_pages`` (docs/manifest.md): pages rendered in the browser, to and from
the plain data of the YAML file, every value checked on the way in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..core.models import BrowserPage, BrowserRecord

MAX_PAGES = 1_000_000
MAX_LISTED = 10_000
MAX_TEXT = 8192
_MAX_INT = 2**63 - 1
T = TypeVar("T")
_KINDS = ("screenshot", "screenshot-full-page", "pdf", "dom")


def browser_pages_document(pages: tuple[BrowserPage, ...]) -> list[dict[str, Any]]:
    """As written: every field, None ones and empty lists left out, in the dataclass's order."""
    out = []
    for page in pages:
        entry: dict[str, Any] = {"url": page.url, "why": page.why, "settled": page.settled, "seconds": page.seconds,
                                 "requested": page.requested, "archived": page.archived}
        if page.not_found_statically:
            entry["not_found_statically"] = list(page.not_found_statically)
        for key in ("shell_resolved", "title"):
            if getattr(page, key) is not None:
                entry[key] = getattr(page, key)
        if page.records:
            entry["records"] = [{"kind": r.kind, "uri": r.uri, "record_id": r.record_id, "record_type": r.record_type,
                                 "content_type": r.content_type, "warc": r.warc, "offset": r.offset,
                                 "length": r.length, "sha256": r.sha256, "bytes": r.bytes} for r in page.records]
        if page.error is not None:
            entry["error"] = page.error
        out.append(entry)
    return out


def read_browser_pages(value: Any) -> tuple[BrowserPage, ...]:
    """The ``browser_pages`` field's entries; ValueError says which is wrong and how."""
    return read_entries(value, "browser_pages", MAX_PAGES, _page)


def read_entries(value: Any, field: str, limit: int, read: Callable[[dict[str, Any], str], T]) -> tuple[T, ...]:
    """A manifest field that lists mappings (None: none), each read by ``read(entry, 'field[i]')``."""
    if value is None:
        return ()
    if type(value) is not list or len(value) > limit:
        raise ValueError(f"field {field!r} is not a list of at most {limit} entries")
    for i, entry in enumerate(value):
        if type(entry) is not dict:
            raise ValueError(f"{field}[{i}] is not a mapping")
    return tuple(read(entry, f"{field}[{i}]") for i, entry in enumerate(value))


def _page(entry: dict[str, Any], what: str) -> BrowserPage:
    seconds = entry.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 10**7:
        raise ValueError(f"{what}.seconds is not a number of seconds")
    missed = entry.get("not_found_statically", [])
    if type(missed) is not list or len(missed) > MAX_LISTED or not all(type(u) is str and len(u) <= MAX_TEXT
                                                                       for u in missed):
        raise ValueError(f"{what}.not_found_statically is not a list of at most {MAX_LISTED} URLs")
    records = entry.get("records", [])
    if type(records) is not list or len(records) > len(_KINDS):
        raise ValueError(f"{what}.records is not a list of at most {len(_KINDS)} records")
    resolved = entry.get("shell_resolved")
    if resolved is not None and type(resolved) is not bool:
        raise ValueError(f"{what}.shell_resolved is not true or false")
    return BrowserPage(url=_text(entry, "url", what), why=_text(entry, "why", what), settled=_bool(entry, "settled", what),
                       seconds=float(seconds), requested=_int(entry, "requested", what),
                       archived=_int(entry, "archived", what), not_found_statically=tuple(missed),
                       shell_resolved=resolved,
                       title=_text(entry, "title", what) if entry.get("title") is not None else None,
                       records=tuple(_record(r, f"{what}.records[{i}]") for i, r in enumerate(records)),
                       error=_text(entry, "error", what) if entry.get("error") is not None else None)


def _record(entry: Any, what: str) -> BrowserRecord:
    if type(entry) is not dict:
        raise ValueError(f"{what} is not a mapping")
    kind = _text(entry, "kind", what)
    if kind not in _KINDS:
        raise ValueError(f"{what}.kind is not one of {', '.join(_KINDS)}")
    digest = _text(entry, "sha256", what)
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{what}.sha256 is not 64 lower-case hex digits")
    return BrowserRecord(kind, _text(entry, "uri", what), _text(entry, "record_id", what),
                         _text(entry, "record_type", what), _text(entry, "content_type", what),
                         _text(entry, "warc", what), _int(entry, "offset", what), _int(entry, "length", what, 1),
                         digest, _int(entry, "bytes", what))


def _text(entry: dict[str, Any], key: str, what: str) -> str:
    value = entry.get(key)
    if type(value) is not str or len(value) > MAX_TEXT:
        raise ValueError(f"{what}.{key} is not a text of at most {MAX_TEXT} characters")
    return value


def _int(entry: dict[str, Any], key: str, what: str, low: int = 0) -> int:
    value = entry.get(key)
    if type(value) is not int or not low <= value <= _MAX_INT:
        raise ValueError(f"{what}.{key} is not a whole number from {low}")
    return value


def _bool(entry: dict[str, Any], key: str, what: str) -> bool:
    value = entry.get(key)
    if type(value) is not bool:
        raise ValueError(f"{what}.{key} is not true or false")
    return value
