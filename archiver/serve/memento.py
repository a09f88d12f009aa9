"""Memento (RFC 7089) over the index: which memento a TimeGate or a memento URL names, TimeMaps in
``application/link-format`` and JSON as pywb serves them, and the ``Link`` and
``Memento-Datetime`` headers.

URLs follow pywb's layout, so citations written for pywb resolve here: ``/{coll}/{url}`` is the
TimeGate, ``/{coll}/{timestamp}/{url}`` a memento, ``/{coll}/timemap/link/{url}`` and
``/{coll}/timemap/json/{url}`` the TimeMaps. The nearest memento is ``Index.nearest``'s (absolute
distance, a tie to the earlier); a timestamp of fewer than 14 digits is padded up as pywb pads it
(``2026`` is the end of 2026).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ..core.bounds import shown
from ..core.errors import UsageError
from ..index.store import COLUMNS, Index, Memento
from ..net.surt import surt, timestamp14
from . import cdx

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123 = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (" + "|".join(_MONTHS) +
                      r") (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT")
MAX_ACCEPT_DATETIME = 64
EXAMPLE_DATE = "Sun, 29 Nov 2026 15:04:47 GMT"


class AcceptDatetimeError(UsageError):
    """An Accept-Datetime header that is not an RFC 1123 date: the TimeGate answers 400."""


def parse_accept_datetime(value: str) -> datetime:
    """The moment of an ``Accept-Datetime`` header (RFC 1123, as RFC 7089 requires), aware UTC."""
    text = value.strip()
    match = _RFC1123.fullmatch(text) if len(text) <= MAX_ACCEPT_DATETIME else None
    if match is None:
        raise AcceptDatetimeError(f"Accept-Datetime must be an RFC 1123 date such as {EXAMPLE_DATE!r}: "
                                  f"{shown(value)}")
    day, month, year, hour, minute, second = match.groups()
    try:
        return datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second),
                        tzinfo=UTC)
    except ValueError as exc:
        raise AcceptDatetimeError(f"Accept-Datetime {shown(value)} is not a date: {exc}") from None


def memento_datetime(memento: Memento) -> str:
    """The memento's ``Memento-Datetime``: its capture time to the second, as an HTTP date."""
    return cdx.http_date(timestamp14(memento.datetime))


@dataclass(frozen=True, slots=True)
class Urls:
    """The URLs of a collection: ``prefix`` is e.g. ``http://127.0.0.1:8080/archive/``."""

    prefix: str

    def timegate(self, url: str) -> str:
        return self.prefix + url

    def timemap(self, url: str, kind: str = "link") -> str:
        return f"{self.prefix}timemap/{kind}/{url}"

    def memento(self, timestamp: str, url: str, modifier: str = "") -> str:
        return f"{self.prefix}{timestamp}{modifier}/{url}"

    def of(self, memento: Memento, modifier: str = "") -> str:
        return self.memento(timestamp14(memento.datetime), memento.url, modifier)


def link_header(urls: Urls, original: str, memento: Memento | None = None, *,
                collection: str | None = None) -> str:
    """``Link``: the original resource, its TimeGate and TimeMap, and (for a memento or a TimeGate's
    answer) the memento, with its datetime."""
    links = [f'<{original}>; rel="original"', f'<{urls.timegate(original)}>; rel="timegate"',
             f'<{urls.timemap(original)}>; rel="timemap"; type="application/link-format"']
    if memento is not None:
        entry = f'<{urls.of(memento)}>; rel="memento"; datetime="{memento_datetime(memento)}"'
        links.append(entry + (f'; collection="{collection}"' if collection else ""))
    return ", ".join(links)


def timegate_choice(index: Index, url: str, accept_datetime: str | None) -> Memento | None:
    """The memento a TimeGate redirects to: nearest the Accept-Datetime, or the latest without one
    (AcceptDatetimeError for a malformed header)."""
    at = parse_accept_datetime(accept_datetime) if accept_datetime is not None else datetime.now(UTC)
    found = index.nearest(url, at)
    return found[0] if found else None


def memento_at(index: Index, url: str, timestamp: str) -> tuple[Memento | None, bool]:
    """The memento ``/{timestamp}/{url}`` names, and whether it is exact: a memento captured within
    that second (a 14-digit timestamp), else the nearest (to be redirected to)."""
    if len(timestamp) == 14:
        start = cdx.iso_second(timestamp)
        row = index.db.execute(f"SELECT {', '.join(COLUMNS)} FROM mementos WHERE surt = ? AND datetime >= ? "
                               "AND datetime < ? ORDER BY datetime, capture_id, record_id LIMIT 1",
                               (surt(url), start, start + "\x7f")).fetchone()
        if row is not None:
            return Memento.from_row(row), True
    found = index.nearest(url, datetime.fromtimestamp(cdx.seconds(timestamp), UTC))
    return (found[0] if found else None), False


def timemap_query(url: str, kind: str) -> cdx.CdxQuery:
    """The CDX query of a TimeMap: every capture of exactly ``url``, oldest first."""
    return cdx.parse_query([("url", url), ("matchType", "exact"), ("output", kind)])


def timemap_link(index: Index, url: str, urls: Urls, collection: str) -> str | None:
    """The link-format TimeMap (pywb's ``wrap_timemap_header``: self with ``from``, timegate,
    original, then each memento); None when the URL has no memento."""
    rows = cdx.search(index.db, timemap_query(url, "link"))
    entries = "".join(cdx.link_lines(rows, collection, lambda r: urls.memento(r["timestamp"], r["url"])))
    if not entries:
        return None
    first = entries.split('datetime="', 1)[1].split('"', 1)[0]
    return (f'<{urls.timemap(url)}>; rel="self"; type="application/link-format"; from="{first}",\n'
            f'<{urls.timegate(url)}>; rel="timegate",\n'
            f'<{url}>; rel="original",\n' + entries)


def timemap_json(index: Index, url: str) -> Iterator[str]:
    """The JSON TimeMap as pywb serves it: its CDX server's JSON lines for the URL."""
    query = timemap_query(url, "json")
    return cdx.render(cdx.search(index.db, query), query, "")
