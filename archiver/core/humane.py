"""Times and spans as a person reads them in a terminal; ``--json`` output keeps the exact values."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def span(seconds: float) -> str:
    """``seconds`` in the two largest units that matter: "3 days 4 hours", "2 minutes", "less than a second"."""
    left = int(round(abs(seconds)))
    if left == 0:
        return "less than a second"
    parts = []
    for name, size in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(parts) == 2 or (parts and not count):
            break
    return " ".join(parts)


def moment(iso: str) -> str:
    """An ISO 8601 UTC time as "2026-11-30 17:18:50 UTC"; the text as it is when it is not one."""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, TypeError):
        return iso
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def parse_moment(iso: str | None) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset) as an aware UTC datetime; None when it is not one."""
    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, TypeError):
        return None


def moment_ago(iso: str, now: datetime) -> str:
    """"2026-11-30 17:18:50 UTC (3 hours ago)"; the text as it is when it is not a time."""
    when = parse_moment(iso)
    if when is None:
        return iso
    seconds = (now - when).total_seconds()
    return f"{moment(iso)} ({span(seconds)} {'ago' if seconds >= 0 else 'from now'})"
