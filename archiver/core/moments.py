"""Reading the moments users type: ``2026-11-29``, ``2026-11-29T15:04``, ``20261129150447``,
``Sun, 29 Nov 2026 15:04:47 GMT``; always to an aware UTC datetime."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import UsageError

_DIGITS = re.compile(r"^\d{4,14}$")


MAX_LENGTH = 100


def parse_moment(text: str) -> datetime:
    """An aware UTC datetime, or UsageError naming ``text``: a moment the calendar cannot hold
    (year 0, year 10000, 9999-12-31T23:59-01:00 which is in year 10000 in UTC) is refused."""
    value = text.strip()
    if len(value) > MAX_LENGTH or not value.isprintable():
        raise UsageError(f"not a date or time: {_shown(text)} (at most {MAX_LENGTH} printable characters)")
    if _DIGITS.match(value) and len(value) % 2 == 0:
        padded = value + "0101000000"[len(value) - 4:] if len(value) < 14 else value
        try:
            return datetime.strptime(padded[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime  # HTTP-dates are rare: imported only for them

        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            raise UsageError(f"not a date or time: {_shown(text)} (examples: 2026-11-29, 2026-11-29T15:04:47Z, "
                             f"20261129150447)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"not a date or time: {_shown(text)} is outside years 1 to 9999 in UTC") from None


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:60]) + "..."


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
