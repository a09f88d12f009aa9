"""When a schedule is due: pure date arithmetic, no I/O, no clock of its own (``now`` is an argument).

A schedule is a :class:`When`: either an interval (``every``, typed as ``6h``, ``1d``, ``1h30m``) or a
5-field cron expression evaluated in an IANA time zone. :func:`next_due` answers "when should this
schedule run next?" given the time of its last attempt and the number of consecutive failures.

Cron and daylight saving time. Cron fields describe *wall-clock* times in ``When.timezone``:

* ``0 9 * * *`` in Europe/London fires at 09:00 local on both sides of a change (09:00Z in winter,
  08:00Z in summer).
* A wall time skipped by spring-forward (01:30 in London on the last Sunday of March) fires once, at
  the first instant after the gap (02:00 BST = 01:00Z).
* A wall time repeated by fall-back (01:30 in London on the last Sunday of October) fires once, at its
  first occurrence (01:30 BST = 00:30Z). This also holds for every-minute or hourly crons: they do not
  fire again during the repeated hour.

croniter's own time-zone handling fires a repeated wall time twice, so croniter is only ever given
naive wall-clock times here, and mapping them to real instants is done by :func:`_wall_to_utc`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=366)        # a schedule runs at least once a year
BACKOFF_BASE = timedelta(minutes=5)
NEVER = datetime.max.replace(tzinfo=UTC)  # the due time of a schedule whose next run is past the calendar's end
MAX_CRON_LENGTH = 200
_INTERVAL = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)
_INTERVAL_EXAMPLES = "examples: 30m, 6h, 1d, 1w, 1h30m"
_CRON_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_CRON_EXAMPLES = "examples: '0 9 * * *' (09:00 daily), '*/30 * * * *', '0 3 * * 1' (Mondays 03:00)"
_MAX_SKIPPED = 10_000     # cron candidates that may fall at or before last_run (fall-back hour): a bound, never reached


def parse_interval(text: str) -> timedelta:
    """``"6h"``, ``"1d"``, ``"1h30m"`` -> a timedelta; units w, d, h, m, s in that order; from 1 minute
    (MIN_INTERVAL) to 366 days (MAX_INTERVAL)."""
    if not isinstance(text, str):
        raise UsageError(f"not an interval: {type(text).__name__} ({_INTERVAL_EXAMPLES})")
    match = _INTERVAL.match(text.strip().lower()) if len(text) <= 100 else None
    if not text.strip() or match is None:
        raise UsageError(f"not an interval: {_shown(text)} ({_INTERVAL_EXAMPLES})")
    total = sum(int(part or 0) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True))
    if total < MIN_INTERVAL.total_seconds():
        raise UsageError(f"interval too short: {_shown(text)} (the least is 1m; {_INTERVAL_EXAMPLES})")
    if total > MAX_INTERVAL.total_seconds():
        raise UsageError(f"interval too long: {_shown(text)} (the most is {MAX_INTERVAL.days}d; {_INTERVAL_EXAMPLES})")
    return timedelta(seconds=total)


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:60]) + "..."


def validate_cron(expr: str) -> None:
    """Raise :class:`UsageError` naming ``expr`` unless it is a 5-field cron expression (or ``@daily``...)."""
    from croniter import CroniterError, croniter

    if not isinstance(expr, str):
        raise UsageError(f"not a cron expression: {type(expr).__name__} ({_CRON_EXAMPLES})")
    fields = expr.split()
    if len(expr) > MAX_CRON_LENGTH or not expr.isprintable() or re.search(r"\d{3}", expr) or \
            not (len(fields) == 5 or (len(fields) == 1 and fields[0].lower() in _CRON_ALIASES)):
        raise UsageError(f"not a cron expression: {_shown(expr)} (5 fields: minute hour day month weekday, "
                         f"numbers of at most 2 digits; {_CRON_EXAMPLES})")
    try:
        croniter(expr, datetime(2000, 1, 1)).get_next(datetime)   # also rejects dates that never come (31 Feb)
    except (CroniterError, ValueError, KeyError, TypeError, IndexError, OverflowError) as error:
        raise UsageError(f"not a cron expression: {_shown(expr)} ({str(error)[:200]}; {_CRON_EXAMPLES})") from None


def _zone(name: str) -> ZoneInfo:
    try:
        if not isinstance(name, str) or len(name) > 100 or not name.isprintable():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):       # OSError: a name too long for a file name
        shown = _shown(name) if isinstance(name, str) else type(name).__name__
        raise UsageError(f"unknown time zone: {shown} (an IANA name, e.g. UTC, Europe/London, "
                         f"America/New_York)") from None


def check_timezone(name: str) -> None:
    """UsageError naming ``name`` unless it is an IANA time zone."""
    _zone(name)


@dataclass(frozen=True, slots=True)
class When:
    """A schedule: exactly one of ``every`` (an interval) or ``cron``; ``timezone`` applies to cron."""

    every: timedelta | None = None
    cron: str | None = None
    timezone: str = "UTC"
    spelled: str | None = field(default=None, compare=False)   # as the user wrote it ("6h", not 6:00:00)

    def __str__(self) -> str:
        if self.every is not None:
            return f"every {self.spelled or _units(self.every)}"
        return f"cron {self.spelled or self.cron} ({self.timezone})"

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise UsageError("a schedule needs exactly one of an interval (every) or a cron expression")
        if self.every is not None and not isinstance(self.every, timedelta):
            raise UsageError(f"an interval must be a timedelta, not {type(self.every).__name__}")
        if self.every is not None and self.every < MIN_INTERVAL:
            raise UsageError(f"interval too short: {self.every} (the least is 1m; {_INTERVAL_EXAMPLES})")
        if self.every is not None and self.every > MAX_INTERVAL:
            raise UsageError(f"interval too long: {self.every} (the most is {MAX_INTERVAL.days}d; {_INTERVAL_EXAMPLES})")
        if self.cron is not None:
            validate_cron(self.cron)
        _zone(self.timezone)


def _units(every: timedelta) -> str:
    """An interval in the units parse_interval reads: 5400 s -> ``1h30m``."""
    left, parts = int(every.total_seconds()), []
    for unit, seconds in zip("wdhms", _UNIT_SECONDS, strict=True):
        count, left = divmod(left, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {moment.isoformat()}")


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether naive ``wall`` is a real wall-clock time in ``zone`` (False inside a spring-forward gap)."""
    there_and_back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return there_and_back.replace(tzinfo=None) == wall


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first real instant after the gap holding the non-existent ``wall``, in UTC (to the microsecond)."""
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)    # read with the later offset: before the gap
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)   # read with the earlier offset: after it
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in ``zone`` as one UTC instant: a repeated time at its first occurrence,
    a skipped one at the end of the gap."""
    if not _exists(wall, zone):
        return _gap_end(wall, zone)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_cron_fire(expr: str, zone_name: str, after: datetime) -> datetime:
    """The first fire time of ``expr`` (wall clock in ``zone_name``) strictly after ``after``, in UTC."""
    from croniter import CroniterError, croniter

    _require_aware("after", after)
    zone = _zone(zone_name)
    try:
        wall_clock = croniter(expr, after.astimezone(zone).replace(tzinfo=None))
        for _ in range(_MAX_SKIPPED):
            fire = _wall_to_utc(wall_clock.get_next(datetime), zone)
            if fire > after:        # after a run in the repeated fall-back hour, skip wall times already passed
                return fire
    except (CroniterError, ValueError, OverflowError):   # no fire time before the calendar ends (year 9999)
        return NEVER
    return NEVER


def later(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta`` in UTC, or NEVER when that is past the calendar's end."""
    try:
        return (moment + delta).astimezone(UTC)
    except OverflowError:
        return NEVER


def _normal_due(when: When, last_run: datetime) -> datetime:
    if when.every is not None:
        return later(last_run, when.every)
    assert when.cron is not None
    return next_cron_fire(when.cron, when.timezone, last_run)


def retry_delay(normal_gap: timedelta, failures: int) -> timedelta:
    """How long after a failed attempt to try again: ``min(base * 2**(failures-1), normal_gap)``
    with ``base = min(normal_gap, 5 minutes)``. So 5m, 10m, 20m, 40m... after 1, 2, 3, 4 failures,
    never longer than the wait the schedule would have had anyway."""
    if failures <= 0:
        return normal_gap
    base = min(normal_gap, BACKOFF_BASE)
    return min(base * 2 ** min(failures - 1, 32), normal_gap)   # the exponent bound keeps the product finite


def next_due(when: When, last_run: datetime | None, now: datetime, failures: int = 0,
             since: datetime | None = None) -> datetime:
    """When ``when`` should next run, as an aware UTC datetime.

    ``last_run`` is the time of the last attempt, failed or not; ``failures`` the number of consecutive
    failed attempts up to and including it. Never run: an interval is due at ``now``; a cron schedule
    at its first fire time after ``since`` (when the schedule was first seen; ``now`` if not known).

    * ``every``: ``last_run + every``. ``cron``: the first fire time strictly after ``last_run``,
      evaluated on the wall clock of ``when.timezone`` (see the module docstring for DST).
    * Catch-up without bursts: after the machine was off, the answer is the *first* missed time, which
      is in the past, so the schedule is due and runs once. The caller records that run at ``now`` and
      the next answer counts from it, so missed times are not replayed one by one.
    * Backoff: with ``failures > 0`` the wait after ``last_run`` is :func:`retry_delay` of the normal
      wait: ``min(min(normal, 5m) * 2**(failures-1), normal)``. A failing schedule retries after 5m,
      10m, 20m... but never later than it would have run had the attempt succeeded.
    """
    _require_aware("now", now)
    if last_run is None and when.cron is not None:
        start = since or now
        _require_aware("since", start)
        return next_cron_fire(when.cron, when.timezone, start)
    if last_run is None:
        return now.astimezone(UTC)
    _require_aware("last_run", last_run)
    normal = _normal_due(when, last_run)
    if failures <= 0:
        return normal
    return later(last_run, retry_delay(normal - last_run, failures))


def is_due(when: When, last_run: datetime | None, now: datetime, failures: int = 0,
           since: datetime | None = None) -> bool:
    """Whether ``when`` should run at ``now`` (see :func:`next_due`)."""
    return next_due(when, last_run, now, failures, since) <= now
