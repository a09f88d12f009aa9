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


def listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


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


def failure_row(f: object, cid: str, started: str | None) -> tuple[str, ...] | str | None:
    """The failures row, None for what is not listed (truncations), or why it cannot be indexed."""
    if not isinstance(f, dict):
        return "not a mapping"
    if f.get("kind") == "truncated":
        return None
    problem = _url_problem(f.get("url"))
    if problem or started is None:
        return problem or "the capture's started time is not a date"
    url = f["url"]
    return (surt(url), url, cid, started, short(f.get("role"), 64) or "", short(f.get("kind"), 64) or "",
            str(f.get("reason", ""))[:2000])


def _memento_problem(res: dict[str, Any]) -> str | None:
    """What makes a resource impossible to index: a required value missing, of the wrong type or out
    of range."""
    return (_url_problem(res.get("url"))
            or bounds.text_problem("role", res.get("role"), 64)
            or bounds.text_problem("record_id", res.get("record_id"), bounds.MAX_RECORD_ID)
            or bounds.int_problem("status", res.get("status"), bounds.MIN_STATUS, bounds.MAX_STATUS)
            or bounds.int_problem("offset", res.get("offset"), 0, bounds.MAX_INT)
            or bounds.int_problem("length", res.get("length"), 0, bounds.MAX_INT)
            or warc_problem(res.get("warc"))
            or _sha256_problem(res.get("payload_sha256")))


def _sha256_problem(value: object) -> str | None:
    if isinstance(value, str) and len(value) == 64 and _HEX64.issuperset(value):
        return None
    return f"payload_sha256 {bounds.shown(value)} is not 64 hex digits"


def memento_row(res: object, cid: str, started: str | None) -> tuple[tuple[Any, ...] | None, list[str], str]:
    """(the mementos row or None, what was left out or clamped, the page title for search)."""
    if not isinstance(res, dict):
        return None, ["not a mapping"], ""
    if problem := _memento_problem(res):
        return None, [problem], ""
    date = res.get("date")
    when = started if date is None else moment_text(date)
    if when is None:
        return None, [f"date {bounds.shown(date if date is not None else started)} is not a date from "
                      f"{bounds.MIN_YEAR} to {bounds.MAX_YEAR}"], ""
    revisit = res.get("revisit_of")
    if revisit and not (isinstance(revisit, dict) and short(revisit.get("capture_id"), 1000)
                        and short(revisit.get("record_id"), bounds.MAX_RECORD_ID)):
        return None, ["revisit_of does not name its original's capture_id and record_id"], ""
    notes: list[str] = []
    mime = _optional(res, "content_type", bounds.MAX_HEADER_VALUE, notes)
    location = _optional(res, "location", bounds.MAX_URL, notes)
    digest = _optional(res, "warc_payload_digest", bounds.MAX_DIGEST, notes)
    if digest is not None and bounds.digest_problem("", digest):
        notes.append(f"warc_payload_digest {bounds.shown(digest)} is not a labelled digest: left out")
        digest = None
    meta, title = _metadata(res.get("metadata"), notes)
    revisit_json = _json(revisit, notes, "revisit_of") if revisit else None
    if revisit and revisit_json is None:
        return None, notes, ""
    url = res["url"]
    return (surt(url), url, when, cid, res["role"], res["status"], mime, res["payload_sha256"], res["warc"],
            res["offset"], res["length"], res["record_id"], location, meta, digest, revisit_json), notes, title


def _optional(res: dict[str, Any], key: str, limit: int, notes: list[str]) -> str | None:
    value = res.get(key)
    if value is None:
        return None
    if problem := bounds.text_problem(key, value, limit):
        notes.append(f"{problem}: left out")
        return None
    return str(value)


def _metadata(meta: object, notes: list[str]) -> tuple[str | None, str]:
    """The page's metadata as JSON (fields that are mappings only), and its title."""
    if not meta:
        return None, ""
    if not isinstance(meta, dict):
        notes.append("metadata is not a mapping: left out")
        return None, ""
    fields = {k: v for k, v in meta.items() if isinstance(k, str) and isinstance(v, dict)}
    if len(fields) < len(meta):
        notes.append(f"{len(meta) - len(fields)} metadata field(s) that are not mappings: left out")
    text = _json(fields, notes, "metadata") if fields else None
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


