"""Dates as pages give them, kept in the page's own time zone and at the page's own precision.

``normalize_date`` turns what a page's markup says into ISO 8601 without changing what it means:
``2026/11/02`` -> ``2026-11-02`` (a date stays a date: never read as midnight UTC and moved),
``2026-11-01T23:30:00-05:00`` keeps its offset, ``2026-03`` stays a month. ``local_date`` is the
calendar date a reader of the page saw: the date part in the page's own zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

MIN_YEAR, MAX_YEAR = 1000, 9999
_ISO = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2})"
                  r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)?)?)?)?$",
                  re.IGNORECASE)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{2}:?\d{2})?)?$", re.IGNORECASE)
_MONTHS = {name: n for n, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
    ("november", "nov"), ("december", "dec")), start=1) for name in names}
_MONTH = r"([A-Za-z]{3,9})\.?"
_DAY_MONTH_YEAR = re.compile(rf"^(?:[A-Za-z]+,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})$")
_MONTH_DAY_YEAR = re.compile(rf"^(?:[A-Za-z]+,?\s+)?{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})$")
_CJK = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
MAX_DATE_CHARS = 100


def normalize_date(text: str | None) -> str | None:
    """ISO 8601 at the value's own precision and offset; None when it is not a date that can be
    read without guessing (a bare time, 'yesterday', a day 31 of February)."""
    if not text:
        return None
    text = " ".join(text.split())
    if len(text) > MAX_DATE_CHARS:
        return None
    for reader in (_iso, _rfc2822, _words):
        found = reader(text)
        if found is not None:
            return found
    return None


def _iso(text: str) -> str | None:
    m = _ISO.match(text)
    if m:
        y, mo, d, hh, mi, ss, zone = m.groups()
    else:
        c = _COMPACT.match(text)
        if not c:
            return None
        y, mo, d, hh, mi, ss, zone = c.groups()
    return _build(int(y), _int(mo), _int(d), _int(hh), _int(mi), int(ss or 0), zone)


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _build(y: int, mo: int | None, d: int | None, hh: int | None = None, mi: int | None = None, ss: int = 0,
           zone: str | None = None) -> str | None:
    if not MIN_YEAR <= y <= MAX_YEAR or mo is not None and not 1 <= mo <= 12:
        return None
    if mo is None:
        return f"{y:04d}"
    if d is None:
        return f"{y:04d}-{mo:02d}"
    try:
        day = date(y, mo, d)
    except ValueError:
        return None
    if hh is None or mi is None:
        return day.isoformat()
    if not (0 <= hh <= 23 and 0 <= mi <= 59 and 0 <= ss <= 60):
        return None
    stamp = f"{day.isoformat()}T{hh:02d}:{mi:02d}:{min(ss, 59):02d}"
    return stamp + _offset(zone)


def _offset(zone: str | None) -> str:
    if not zone:
        return ""              # a floating local time: kept so, never read as UTC
    zone = zone.upper()
    if zone in ("Z", "UTC", "GMT"):
        return "Z"
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 18 or minutes > 59:
        return ""
    return f"{zone[0]}{hours:02d}:{minutes:02d}"


def _rfc2822(text: str) -> str | None:
    if not re.search(r"\d{1,2}:\d{2}", text) or not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}", text):
        return None
    from email.utils import parsedate_tz

    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    y, mo, d, hh, mi, ss = parsed[:6]
    offset = parsed[9]
    zone = None
    if offset is not None:
        sign = "-" if offset < 0 else "+"
        zone = f"{sign}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    return _build(y, mo, d, hh, mi, ss, zone)


def _words(text: str) -> str | None:
    """English dates in words ('1 November 2026', 'Nov. 1, 2026') and CJK ones ('2026年11月2日'),
    as a date."""
    m = _CJK.match(text)
    if m:
        return _build(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for pattern, order in ((_DAY_MONTH_YEAR, (0, 1, 2)), (_MONTH_DAY_YEAR, (1, 0, 2))):
        m = pattern.match(text)
        if m:
            groups = m.groups()
            day, month, year = groups[order[0]], groups[order[1]], groups[order[2]]
            number = _MONTHS.get(month.lower())
            return _build(int(year), number, int(day)) if number else None
    return None


def local_date(value: str) -> str:
    """The calendar date of an ISO value in its own zone, at its own precision:
    '2026-11-01T23:30:00-05:00' -> '2026-11-01'; '2026-03' -> '2026-03'."""
    return value[:10]


def parse_instant(value: str) -> datetime | None:
    """An ISO value with a time and an offset as an aware datetime; None for anything less."""
    if len(value) <= 10 or not (value.endswith("Z") or re.search(r"[+-]\d{2}:\d{2}$", value)):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_utc(value: str) -> bool:
    instant = parse_instant(value)
    return instant is not None and instant.utcoffset() == timedelta(0)


def day_apart(a: str, b: str) -> bool:
    """Whether two dates (YYYY-MM-DD) are one calendar day apart."""
    try:
        return abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days) == 1
    except ValueError:
        return False
