"""The CDX server API, with pywb's cdx-server parameters and meanings, answered from the SQLite index.

``parse_query`` checks the parameters (``CdxQueryError``, a one-line message, on bad input);
``search`` yields the matching captures as pywb's CDX fields; ``render`` writes them in the
output asked for. What pywb does, this does (pywb 2.x: ``warcserver/index/cdxops.py``,
``query.py``, ``utils/canonicalize.py``):

- ``url`` with ``matchType`` exact, prefix, host or domain; without ``matchType``, ``*.example.com``
  means domain and ``example.com/path*`` prefix. A prefix, host or domain query is a range of SURT
  keys, the same range pywb's binary search reads (``calc_search_range``);
- captures in pywb's order: by SURT, then 14-digit timestamp, then the record's CDXJ JSON (the
  order of the lines of a sorted CDXJ file), or that order reversed with ``sort=reverse``;
- ``from`` and ``to``: 1 to 14 digits, padded down (``from``) and up (``to``) as pywb pads them;
- ``filter`` (repeatable): ``[!][=|~]field:value``, ``!`` negates, ``=`` is an exact match, ``~`` a
  regular expression matched at the start, neither a substring; without ``field:``, the whole line;
- ``closest`` (with or without ``sort=closest``): nearest first, to the second, ties in order;
- ``limit`` (1 to 100,000, pywb's default 100,000), ``fl`` (fields, comma-separated),
  ``output`` cdxj (pywb's default), json (one object per line), text (values separated by spaces),
  link (application/link-format).

A revisit record is listed as pywb's indexer lists it: mime ``warc/revisit``, no status.
Filters are applied first, then ``from``/``to``, then the order and limit, as pywb applies them.
"""

from __future__ import annotations

import calendar
import heapq
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from itertools import groupby, islice

from ..core.bounds import MAX_URL, shown
from ..core.errors import ArchiverError, UsageError
from ..net.surt import surt, timestamp14

MAX_LIMIT = 100_000
MAX_FILTERS = 20
MAX_FILTER = 1000
MAX_PATTERN = 256
MAX_FIELDS = 20
OUTPUTS = {"cdxj": "text/x-cdxj", "json": "text/x-ndjson", "text": "text/plain", "link": "application/link-format"}
MATCH_TYPES = ("exact", "prefix", "host", "domain")
# pywb's CDXObject.CDX_ALT_FIELDS, for filters: its dict literal names 's' twice, the last ('length') wins
ALT_FIELDS = {"u": "url", "original": "url", "statuscode": "status", "mimetype": "mime", "m": "mime",
              "s": "length", "l": "length", "o": "offset", "d": "digest", "t": "timestamp", "k": "urlkey",
              "f": "filename"}
_DIGITS = re.compile(r"[0-9]{1,14}")
_FIELD = re.compile(r"[A-Za-z0-9._-]{1,32}")
_NESTED = re.compile(r"\([^)]*[*+}][^)]*\)\s*[*+{]")      # (a+)+ and the like: catastrophic backtracking
_MIME_END = re.compile(r"[;\s]")
_PAD_DOWN, _PAD_UP = "10000101000000", "29991231235959"
# a revisit row whose digest is sha256:<payload_sha256> holds none (index/rows.py: memento_row)
_COLUMNS = ("surt, url, datetime, status, mime, coalesce(warc_payload_digest, CASE WHEN revisit_of IS NOT NULL "
            "THEN 'sha256:' || payload_sha256 END), warc, offset, length, revisit_of IS NOT NULL")

Row = dict[str, str]


class CdxQueryError(UsageError):
    """A CDX query parameter that cannot be answered: the server answers 400 with its message."""


@dataclass(frozen=True, slots=True)
class CdxFilter:
    """One ``filter=`` parameter, pywb's ``CDXFilter``."""

    field: str                      # '' for the whole line
    mode: str                       # exact | regex | contains
    value: str
    invert: bool
    pattern: re.Pattern[str] | None = None

    def __call__(self, row: Row) -> bool:
        value = row.get(self.field, "") if self.field else json.dumps(row)
        if self.mode == "exact":
            matched = value == self.value
        elif self.pattern is not None:
            matched = self.pattern.match(value) is not None
        else:
            matched = self.value in value
        return matched != self.invert


@dataclass(frozen=True, slots=True)
class CdxQuery:
    url: str
    match_type: str
    start: str                      # SURT key range [start, end); exact: end is None
    end: str | None
    from_ts: str | None             # 14 digits, padded down
    to_ts: str | None               # 14 digits, padded up
    limit: int
    reverse: bool
    closest: int | None             # seconds since the epoch
    output: str
    filters: tuple[CdxFilter, ...]
    fields: tuple[str, ...] | None


def parse_query(params: Sequence[tuple[str, str]]) -> CdxQuery:
    """The query of the request's parameters (repeated ``filter``s kept; for others, the last wins)."""
    single = {k: v for k, v in params if k != "filter"}
    filters = tuple(_filter(v) for k, v in params if k == "filter")
    if len(filters) > MAX_FILTERS:
        raise CdxQueryError(f"at most {MAX_FILTERS} filter parameters")
    url = single.get("url", "")
    if not url:
        raise CdxQueryError("the url parameter is required")
    if len(url) > MAX_URL:
        raise CdxQueryError(f"url is {len(url)} characters long (at most {MAX_URL})")
    match_type = single.get("matchType", "")
    if not match_type:
        if url.startswith("*."):
            url, match_type = url[2:], "domain"
        elif url.endswith("*"):
            url, match_type = url[:-1], "prefix"
        else:
            match_type = "exact"
    if match_type not in MATCH_TYPES:
        raise CdxQueryError(f"matchType must be one of {', '.join(MATCH_TYPES)}: {shown(match_type)}")
    start, end = key_range(url, match_type)
    output = single.get("output", "cdxj")
    if output not in OUTPUTS:
        raise CdxQueryError(f"output must be one of {', '.join(OUTPUTS)}: {shown(output)}")
    sort = single.get("sort", "")
    if sort not in ("", "reverse", "closest"):
        raise CdxQueryError(f"sort must be reverse or closest: {shown(sort)}")
    closest = single.get("closest")
    if sort == "closest" and not closest:
        raise CdxQueryError("sort=closest needs closest=<timestamp, 1 to 14 digits>")
    return CdxQuery(
        url=url, match_type=match_type, start=start, end=end,
        from_ts=_padded("from", single.get("from"), _PAD_DOWN), to_ts=_padded("to", single.get("to"), _PAD_UP),
        limit=_limit(single.get("limit")), reverse=sort == "reverse" and not closest,
        closest=None if not closest else seconds(_timestamp("closest", closest)),
        output=output, filters=filters, fields=_fields(single.get("fl") or single.get("fields")))


def key_range(url: str, match_type: str) -> tuple[str, str | None]:
    """The SURT key range of a query, as pywb's ``calc_search_range`` computes it."""
    try:
        key = surt(url if "://" in url else "http://" + url)
    except (ArchiverError, ValueError):
        raise CdxQueryError(f"url is not an http(s) URL: {shown(url)}") from None
    if match_type == "exact":
        return key, None
    if match_type == "prefix":
        if url.endswith("/") and not key.endswith("/"):
            key += "/"
        if url.endswith("?") and not key.endswith("?"):
            key += "?"
        return key, key[:-1] + chr(ord(key[-1]) + 1)
    host = key.split(")/")[0]
    if match_type == "host":
        return host + ")/", host + "*"
    return (host + ")/" if "," in host else host + ","), host + "-"


def _limit(text: str | None) -> int:
    if text is None:
        return MAX_LIMIT
    if not text.isascii() or not text.isdigit() or len(text) > 7 or not 1 <= int(text) <= MAX_LIMIT:
        raise CdxQueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}: {shown(text)}")
    return int(text)


def _timestamp(name: str, text: str) -> str:
    if text == "now" and name == "closest":
        return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    if not _DIGITS.fullmatch(text):
        raise CdxQueryError(f"{name} must be a timestamp of 1 to 14 digits (20261129150447, 2026): {shown(text)}")
    return text


def _padded(name: str, text: str | None, pad: str) -> str | None:
    if not text:
        return None
    text = _timestamp(name, text)
    return text + pad[len(text):]


def _fields(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    names = tuple(text.split(","))
    if len(names) > MAX_FIELDS or not all(_FIELD.fullmatch(n) for n in names):
        raise CdxQueryError(f"fl must name at most {MAX_FIELDS} fields (letters, digits, '.', '_', '-'), "
                            f"separated by commas: {shown(text)}")
    return names


def _filter(text: str) -> CdxFilter:
    if len(text) > MAX_FILTER:
        raise CdxQueryError(f"a filter is {len(text)} characters long (at most {MAX_FILTER})")
    invert = text.startswith("!")
    body = text[1:] if invert else text
    mode = "exact" if body.startswith("=") else "regex" if body.startswith("~") else "contains"
    if mode != "contains":
        body = body[1:]
    name, sep, value = body.partition(":")
    field = ALT_FIELDS.get(name, name) if sep else ""
    value = value if sep else body
    pattern = None
    if mode == "regex":
        if len(value) > MAX_PATTERN or _NESTED.search(value):
            raise CdxQueryError(f"a filter's regular expression may have at most {MAX_PATTERN} characters and no "
                                f"repeated group that repeats inside: {shown(value)}")
        try:
            pattern = re.compile(value)
        except (re.error, RecursionError, OverflowError) as exc:
            raise CdxQueryError(f"filter {shown(text)} is not a valid regular expression: {exc}") from None
    return CdxFilter(field, mode, value, invert, pattern)


def seconds(timestamp: str) -> int:
    """Seconds since the epoch of a 1-14 digit timestamp, padded up and clamped as pywb's
    ``timestamp_to_sec`` does (``2026`` is the last second of 2026)."""
    text = timestamp + "299912"[len(timestamp):] if len(timestamp) < 6 else timestamp

    def part(start: int, end: int, low: int, high: int) -> int:
        return max(low, min(int(text[start:end]), high)) if len(text) >= end else high

    year, month = part(0, 4, 1900, 2999), part(4, 6, 1, 12)
    day = part(6, 8, 1, calendar.monthrange(year, month)[1])
    moment = datetime(year, month, day, part(8, 10, 0, 23), part(10, 12, 0, 59), part(12, 14, 0, 59))
    return calendar.timegm(moment.timetuple())


def http_date(timestamp: str) -> str:
    """'20261129150447' -> 'Sun, 29 Nov 2026 15:04:47 GMT'."""
    moment = datetime.fromtimestamp(seconds(timestamp), UTC)
    return format_datetime(moment, usegmt=True)


# --------------------------------------------------------------------------- the answer


def _row(values: tuple[object, ...]) -> Row:
    """pywb's CDX fields of one index row, in the order its indexer writes them."""
    key, url, when, status, mime, digest, warc, offset, length, revisit = values
    row: Row = {"urlkey": str(key), "timestamp": timestamp14(str(when)), "url": str(url)}
    if revisit:
        row["mime"] = "warc/revisit"
    elif mime:
        row["mime"] = _MIME_END.split(str(mime), 1)[0].strip()
    if not revisit:
        row["status"] = str(status)
    if digest:
        row["digest"] = str(digest)
    row.update(length=str(length), offset=str(offset), filename=str(warc).rsplit("/", 1)[-1])
    return row


def _cdxj_json(row: Row) -> str:
    """The JSON of the row's line in a CDXJ file: what orders captures within one second."""
    return json.dumps({k: v for k, v in row.items() if k not in ("urlkey", "timestamp")})


def _ordered(cursor: Iterator[tuple[object, ...]], reverse: bool) -> Iterator[Row]:
    """Rows in pywb's order: the cursor gives them by SURT and time; within one SURT and second,
    by their CDXJ JSON."""
    rows = (_row(values) for values in cursor)
    for _, group in groupby(rows, key=lambda r: (r["urlkey"], r["timestamp"])):
        batch = list(group)
        if len(batch) > 1:
            batch.sort(key=_cdxj_json, reverse=reverse)
        yield from batch


def search(db: sqlite3.Connection, query: CdxQuery) -> Iterator[Row]:
    """The captures the query names, filtered, clamped, ordered and limited as pywb does."""
    where, args = (["surt = ?"], [query.start]) if query.end is None else (["surt >= ?", "surt < ?"],
                                                                           [query.start, query.end])
    if query.from_ts:
        where.append("datetime >= ?")
        args.append(iso_second(query.from_ts))
    if query.to_ts:
        where.append("datetime < ?")
        args.append(iso_second(query.to_ts) + "\x7f")        # every moment within the last second
    order = "DESC" if query.reverse else ""
    cursor = db.execute(f"SELECT {_COLUMNS} FROM mementos WHERE {' AND '.join(where)} "
                        f"ORDER BY surt {order}, datetime {order}", args)
    rows = _ordered(cursor, query.reverse)
    if query.filters:
        rows = (r for r in rows if all(f(r) for f in query.filters))
    if query.closest is not None:
        at = query.closest
        nearest = heapq.nsmallest(query.limit, enumerate(rows),
                                  key=lambda item: (abs(at - seconds(item[1]["timestamp"])), item[0]))
        return (row for _, row in nearest)
    return islice(rows, query.limit)


def iso_second(timestamp: str) -> str:
    """The ISO 8601 form of a 14-digit timestamp, to the second: the start of the index's datetimes in it."""
    t = timestamp
    return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}"


def render(rows: Iterator[Row], query: CdxQuery, collection: str,
           memento_url: Callable[[Row], str] | None = None) -> Iterator[str]:
    """The lines of the answer in ``query.output``; ``memento_url`` names each memento in link output
    (without it, its original URL, as pywb's CDX server does)."""
    fields = query.fields
    if query.output == "link":
        yield from link_lines(rows, collection, memento_url)
    elif query.output == "json":
        for row in rows:
            yield json.dumps(row if fields is None else {f: row[f] for f in fields if f in row}) + "\n"
    elif query.output == "cdxj":
        for row in rows:
            rest = {k: v for k, v in row.items() if k not in ("urlkey", "timestamp")}
            if fields is not None:
                rest = {f: rest[f] for f in fields if f in rest}
            yield f"{row['urlkey']} {row['timestamp']} {json.dumps(rest)}\n"
    else:
        for row in rows:
            yield " ".join(row.values() if fields is None else (row.get(f, "-") for f in fields)) + "\n"


def link_lines(rows: Iterator[Row], collection: str, memento_url: Callable[[Row], str] | None) -> Iterator[str]:
    """application/link-format memento entries, comma-separated, one per line (pywb's make_timemap)."""
    previous: Row | None = None
    for row in rows:
        if previous is not None:
            yield _memento_link(previous, collection, memento_url) + ",\n"
        previous = row
    if previous is not None:
        yield _memento_link(previous, collection, memento_url) + "\n"


def _memento_link(row: Row, collection: str, memento_url: Callable[[Row], str] | None) -> str:
    target = memento_url(row) if memento_url else row["url"]
    return (f'<{target}>; rel="memento"; datetime="{http_date(row["timestamp"])}"; '
            f'collection="{collection}"')
