"""What of a manifest can be indexed: each value is checked against the bounds imports are held to.
A sealed manifest is never rewritten, and one written by an older archiver or edited by hand may
hold anything YAML can; what is out of range is left out (listed in the index's ``left_out``),
never allowed to stop the index."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..core import bounds
from ..core.errors import ArchiverError
from ..core.models import ArchivedResource, Failure, Original
from ..core.moments import parse_moment
from ..net.surt import surt

DATA_ERRORS = (ArchiverError, KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError,
                sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)
ROW_ERRORS = (ValueError, OverflowError, TypeError, sqlite3.IntegrityError, sqlite3.InterfaceError,
               sqlite3.ProgrammingError)
INSERT_MEMENTO = ("INSERT INTO mementos (surt, url, datetime, capture_id, role, status, mime, payload_sha256, warc,"
                   " offset, length, record_id, location, metadata, warc_payload_digest, revisit_of)"
                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
MAX_TEXT_RECORD = 64 * 2**20      # compressed bytes of one conversion record
MAX_TEXT = 16 * 2**20             # decompressed bytes of main text indexed per page
_MAX_METADATA = 2**20              # characters of a page's metadata as JSON
_HEX64 = frozenset("0123456789abcdef")


def moment_text(value: object) -> str | None:
    """``value`` as it is if it is a date from 1990 to 9999, else None."""
    if not isinstance(value, str) or len(value) > bounds.MAX_DATE:
        return None
    try:
        when = parse_moment(value)
    except (ArchiverError, ValueError, OverflowError):
        return None
    return value if bounds.date_problem("", when) is None else None


def short(value: object, limit: int) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit else None


def _url_problem(value: object) -> str | None:
    problem = bounds.url_problem("url", value)
    if problem is None:
        try:
            surt(str(value))
        except (ArchiverError, ValueError):
            problem = f"url {bounds.shown(value)} is not an http(s) URL with a valid host and port"
    return problem


def warc_problem(value: object) -> str | None:
    """A WARC file of the workspace: ``archive/...``, relative, never leaving it."""
    if bounds.text_problem("warc", value, 1024) or not str(value).startswith("archive/") \
            or ".." in str(value).split("/"):
        return f"warc {bounds.shown(value)} is not a file under archive/"
    return None


def failure_row(f: Failure, cid: str, started: str | None) -> tuple[str, ...] | str | None:
    """The failures row, None for what is not listed (truncations), or why it cannot be indexed."""
    if f.kind == "truncated":
        return None
    problem = _url_problem(f.url)
    if problem or started is None:
        return problem or "the capture's started time is not a date"
    return (surt(f.url), f.url, cid, started, f.role.value, f.kind[:64], f.reason[:2000])


def _memento_problem(res: ArchivedResource) -> str | None:
    """What makes a resource impossible to index: a value out of the bounds imports are held to."""
    return (_url_problem(res.url)
            or bounds.text_problem("record_id", res.record_id, bounds.MAX_RECORD_ID)
            or bounds.int_problem("status", res.status, bounds.MIN_STATUS, bounds.MAX_STATUS)
            or warc_problem(res.warc))


def memento_row(res: ArchivedResource, cid: str, started: str | None) -> tuple[tuple[Any, ...] | None, list[str], str]:
    """(the mementos row or None, what was left out or clamped, the page title for search)."""
    if problem := _memento_problem(res):
        return None, [problem], ""
    when = moment_text(res.date)
    if when is None:
        return None, [f"date {bounds.shown(res.date)} is not a date from {bounds.MIN_YEAR} to {bounds.MAX_YEAR}"], ""
    notes: list[str] = []
    mime = _optional("content_type", res.content_type, bounds.MAX_HEADER_VALUE, notes)
    location = _optional("location", res.location, bounds.MAX_URL, notes)
    digest = _optional("warc_payload_digest", res.warc_payload_digest, bounds.MAX_DIGEST, notes)
    if digest is not None and bounds.digest_problem("", digest):
        notes.append(f"warc_payload_digest {bounds.shown(digest)} is not a labelled digest: left out")
        digest = None
    if res.revisit_of is not None and digest == f"sha256:{res.payload_sha256}":
        digest = None        # a revisit's is its original's: readers put it back (serve/cdx.py, transfer/cdxj.py)
    meta, title = _metadata(res.metadata, notes)
    revisit_json = None
    if res.revisit_of is not None:
        revisit_json = _json(compact_original(res.revisit_of, res.url, res.payload_sha256), notes, "revisit_of")
        if revisit_json is None:
            return None, notes, ""
    return (surt(res.url), res.url, when, cid, res.role.value, res.status, mime, res.payload_sha256, res.warc,
            res.offset, res.length, res.record_id, location, meta, digest, revisit_json), notes, title


def compact_original(original: Original, url: str, payload_sha256: str) -> list[Any]:
    """A revisit row's original as a JSON array, without what the row says already:
    ``[capture_id, record_id, date, offset, warc, url, payload_digest]``, where ``warc`` is null when
    it is the capture's first file (``archive/<capture_id>-00000.warc.gz``), ``url`` when it is the
    row's URL, ``payload_digest`` when it is ``sha256:`` and the row's payload_sha256; trailing nulls
    are dropped. ``original_of_json`` puts them back. The index is derived: its rows may take any form."""
    fields: list[Any] = [original.capture_id, original.record_id, original.date, original.offset,
                         None if original.warc == _first_file(original.capture_id) else original.warc,
                         None if original.url == url else original.url,
                         None if original.payload_digest == f"sha256:{payload_sha256}" else original.payload_digest]
    while fields[-1] is None:
        fields.pop()
    return fields


def original_of_json(text: str | None, url: str, payload_sha256: str) -> Original | None:
    """The revisit_of column (``compact_original``'s array) back as an Original."""
    if not text:
        return None
    capture_id, record_id, date, offset, warc, original_url, digest = [*json.loads(text), None, None, None][:7]
    return Original(capture_id, record_id, original_url or url, date, digest or f"sha256:{payload_sha256}",
                    warc or _first_file(capture_id), offset)


def _first_file(capture_id: str) -> str:
    return f"archive/{capture_id}-00000.warc.gz"


def _optional(key: str, value: str | None, limit: int, notes: list[str]) -> str | None:
    if value is None:
        return None
    if problem := bounds.text_problem(key, value, limit):
        notes.append(f"{problem}: left out")
        return None
    return value


def _metadata(meta: dict[str, dict[str, Any]] | None, notes: list[str]) -> tuple[str | None, str]:
    """The page's metadata as JSON, and its title."""
    if not meta:
        return None, ""
    fields = meta
    text = _json(fields, notes, "metadata")
    title = fields.get("title", {}).get("value") if text else None
    return text, title if isinstance(title, str) else ""


def _json(value: Any, notes: list[str], what: str) -> str | None:
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        notes.append(f"{what} is not plain data: left out")
        return None
    if len(text) > _MAX_METADATA:
        notes.append(f"{what} is {len(text)} characters as JSON (at most {_MAX_METADATA}): left out")
        return None
    return text


