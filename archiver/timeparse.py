"""Reading the moments users type: ``2026-11-29``, ``2026-11-29T15:04``, ``20261129150447``,
``Sun, 29 Nov 2026 15:04:47 GMT``; always to an aware UTC datetime."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import UsageError

_DIGITS = re.compile(r"^\d{4,14}$")


def parse_moment(text: str) -> datetime:
    value = text.strip()
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
        except (TypeError, ValueError, IndexError):
            raise UsageError(f"not a date or time: {text!r} (examples: 2026-11-29, 2026-11-29T15:04:47Z, "
                             f"20261129150447)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
