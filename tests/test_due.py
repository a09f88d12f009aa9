"""When a schedule is due: intervals, cron across DST in Europe/London, catch-up, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from archiver.core.errors import UsageError
from archiver.core.schedule_times import (
    When,
    is_due,
    next_due,
    parse_interval,
    retry_delay,
    validate_cron,
)

LONDON = "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fires(when: When, start: datetime, until: datetime) -> list[datetime]:
    """Every fire time from ``start`` to ``until``, each run recorded at the moment it was due."""
    seen, last = [], start
    while (due := next_due(when, last, last)) <= until:
        seen.append(due)
        last = due
    return seen


# -- intervals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("6h", timedelta(hours=6)), ("1d", timedelta(days=1)), ("30m", timedelta(minutes=30)),
    ("90s", timedelta(seconds=90)), ("1w", timedelta(weeks=1)), ("1h30m", timedelta(hours=1, minutes=30)),
    (" 2D ", timedelta(days=2)), ("1m", timedelta(minutes=1)),
])
def test_parse_interval(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["0h", "0m0s", "-1h", "30s", "59s", "5y", "h", "", "1.5h", "6 hours", "30m1h"])
def test_parse_interval_rejects_naming_the_text(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_interval(text)
    assert repr(text) in str(caught.value)
    assert "1h30m" in str(caught.value)      # examples given


def test_when_needs_exactly_one_kind() -> None:
    with pytest.raises(UsageError):
        When()
    with pytest.raises(UsageError):
        When(every=timedelta(hours=1), cron="0 9 * * *")
    with pytest.raises(UsageError):
        When(every=timedelta(0))


def test_when_is_frozen() -> None:
    when = When(every=timedelta(hours=1))
    with pytest.raises(AttributeError):
        when.every = timedelta(hours=2)  # type: ignore[misc]


# -- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("expr", ["61 * * * *", "* * *", "hello", "", "0 9 * * * 5", "0 9 31 2 *", "0 25 * * *"])
def test_invalid_cron_names_the_expression(expr: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate_cron(expr)
    assert repr(expr) in str(caught.value)
    with pytest.raises(UsageError):
        When(cron=expr)


@pytest.mark.parametrize("expr", ["0 9 * * *", "*/15 * * * *", "0 3 * * 1-5", "@daily"])
def test_valid_cron(expr: str) -> None:
    validate_cron(expr)


@pytest.mark.parametrize("name", ["Mars/Olympus", "europe/londn", "../etc/passwd", ""])
def test_unknown_timezone_is_named(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        When(cron="0 9 * * *", timezone=name)
    assert repr(name) in str(caught.value)


def test_naive_datetimes_are_refused() -> None:
    when = When(every=timedelta(hours=1))
    with pytest.raises(ValueError):
        next_due(when, None, datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        next_due(when, datetime(2026, 1, 1), utc(2026, 1, 1))
    with pytest.raises(ValueError):
        next_due(When(cron="0 9 * * *"), datetime(2026, 1, 1), utc(2026, 1, 1))


# -- every ---------------------------------------------------------------------------------------

def test_never_run_is_due_now() -> None:
    now = datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert next_due(When(every=timedelta(hours=6)), None, now) == utc(2026, 5, 1, 12)
    assert next_due(When(every=timedelta(hours=6)), None, now).tzinfo == UTC
    assert not is_due(When(cron="0 9 * * *"), None, now)        # a cron schedule waits for its time (below)


def test_every_six_hours() -> None:
    when = When(every=parse_interval("6h"))
    last = utc(2026, 5, 1, 9, 30)
    assert next_due(when, last, utc(2026, 5, 1, 10)) == utc(2026, 5, 1, 15, 30)
    assert not is_due(when, last, utc(2026, 5, 1, 15, 29, 59))
    assert is_due(when, last, utc(2026, 5, 1, 15, 30))
    assert fires(when, last, utc(2026, 5, 2, 9, 30)) == [utc(2026, 5, 1, 15, 30), utc(2026, 5, 1, 21, 30),
                                                        utc(2026, 5, 2, 3, 30), utc(2026, 5, 2, 9, 30)]


def test_every_is_elapsed_time_across_dst() -> None:
    when = When(every=timedelta(days=1), timezone=LONDON)
    assert next_due(when, utc(2026, 3, 28, 9), utc(2026, 3, 28, 9)) == utc(2026, 3, 29, 9)


# -- cron and DST (Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT) ---

def test_cron_nine_am_london_across_spring_forward() -> None:
    when = When(cron="0 9 * * *", timezone=LONDON)
    assert fires(when, utc(2026, 3, 27, 12), utc(2026, 3, 31, 12)) == [
        utc(2026, 3, 28, 9), utc(2026, 3, 29, 8), utc(2026, 3, 30, 8), utc(2026, 3, 31, 8)]


def test_cron_nine_am_london_across_fall_back() -> None:
    when = When(cron="0 9 * * *", timezone=LONDON)
    assert fires(when, utc(2026, 10, 23, 12), utc(2026, 10, 27, 12)) == [
        utc(2026, 10, 24, 8), utc(2026, 10, 25, 9), utc(2026, 10, 26, 9), utc(2026, 10, 27, 9)]


def test_cron_in_the_spring_forward_gap_fires_once_at_the_gap_end() -> None:
    when = When(cron="30 1 * * *", timezone=LONDON)     # 01:30 does not exist in London on 2026-03-29
    assert fires(when, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12)) == [
        utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]   # 02:00 BST, then 01:30 BST


def test_cron_in_the_fall_back_hour_fires_once() -> None:
    when = When(cron="30 1 * * *", timezone=LONDON)     # 01:30 happens twice in London on 2026-10-25
    assert fires(when, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)) == [
        utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]   # 01:30 BST only, then 01:30 GMT next day


def test_run_during_the_repeated_hour_does_not_fire_again() -> None:
    when = When(cron="30 1 * * *", timezone=LONDON)
    late_run = utc(2026, 10, 25, 1, 10)                  # 01:10 GMT, the second 01:10 of the night
    assert next_due(when, late_run, late_run) == utc(2026, 10, 26, 1, 30)


def test_half_hourly_cron_over_the_fall_back_night_has_no_duplicates() -> None:
    when = When(cron="*/30 * * * *", timezone=LONDON)
    seen = fires(when, utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0))
    assert seen == sorted(set(seen))
    assert [moment.astimezone(UTC).strftime("%H:%M") for moment in seen] == [
        "23:30", "00:00", "00:30", "02:00", "02:30", "03:00"]   # the repeated 01:xx GMT wall times are not replayed


def test_cron_evaluated_in_utc_by_default() -> None:
    assert next_due(When(cron="0 9 * * *"), utc(2026, 7, 1, 9), utc(2026, 7, 1, 9)) == utc(2026, 7, 2, 9)


def test_cron_is_strictly_after_last_run() -> None:
    when = When(cron="0 9 * * *", timezone=LONDON)
    assert next_due(when, utc(2026, 1, 5, 9), utc(2026, 1, 5, 9)) == utc(2026, 1, 6, 9)
    assert next_due(when, utc(2026, 1, 5, 8, 59, 59), utc(2026, 1, 5, 9)) == utc(2026, 1, 5, 9)


# -- catch-up after the machine was off -----------------------------------------------------------

def test_machine_off_for_a_day_runs_once_then_resumes() -> None:
    when = When(every=timedelta(hours=1))
    last, now = utc(2026, 6, 1, 8), utc(2026, 6, 2, 8, 20)
    assert is_due(when, last, now)
    assert next_due(when, last, now) == utc(2026, 6, 1, 9)       # the first missed time, in the past
    assert next_due(when, now, now) == now + timedelta(hours=1)  # run recorded at now: no burst of 24
    assert not is_due(when, now, now + timedelta(minutes=59))


def test_machine_off_with_cron_catches_up_once() -> None:
    when = When(cron="0 * * * *", timezone=LONDON)
    last, now = utc(2026, 6, 1, 8), utc(2026, 6, 2, 8, 20)
    assert is_due(when, last, now)
    assert next_due(when, now, now) == utc(2026, 6, 2, 9)
    assert not is_due(when, now, now + timedelta(minutes=39))


# -- backoff ------------------------------------------------------------------------------------------

def test_backoff_sequence_increases_and_is_capped() -> None:
    when = When(every=timedelta(hours=1))
    last = utc(2026, 6, 1, 8)
    waits = [next_due(when, last, last, failures) - last for failures in range(7)]
    assert waits == [timedelta(minutes=m) for m in (60, 5, 10, 20, 40, 60, 60)]
    retries = waits[1:]
    assert retries == sorted(retries) and max(retries) == timedelta(hours=1)


def test_backoff_never_later_than_the_normal_due_time() -> None:
    for every in (timedelta(minutes=1), timedelta(minutes=3), timedelta(hours=6), timedelta(weeks=1)):
        normal = retry_delay(every, 0)
        assert normal == every
        waits = [retry_delay(every, failures) for failures in range(1, 60)]
        assert waits == sorted(waits) and max(waits) <= every
        assert waits[0] == min(every, timedelta(minutes=5))


def test_backoff_with_cron_respects_the_next_fire() -> None:
    when = When(cron="0 9 * * *", timezone=LONDON)
    failed = utc(2026, 1, 5, 9)
    assert next_due(when, failed, failed, failures=1) == utc(2026, 1, 5, 9, 5)
    assert next_due(when, failed, failed, failures=20) == utc(2026, 1, 6, 9)   # capped at the normal fire
    just_before = utc(2026, 1, 6, 8, 58)
    assert next_due(when, just_before, just_before, failures=3) == utc(2026, 1, 6, 9)


def test_new_cron_schedule_is_due_at_its_next_fire_time_not_at_once() -> None:
    when = When(cron="0 6 * * *")
    added = utc(2026, 3, 2, 4, 30)
    assert next_due(when, None, added) == utc(2026, 3, 2, 6)                       # first seen now
    assert next_due(when, None, utc(2026, 3, 2, 5, 59), since=added) == utc(2026, 3, 2, 6)
    assert not is_due(when, None, utc(2026, 3, 2, 5, 59), since=added)
    assert is_due(when, None, utc(2026, 3, 2, 7, 5), since=added)                  # an hourly system cron still runs it
    assert next_due(When(cron="0 9 * * *", timezone=LONDON), None, utc(2026, 7, 1, 7)) == utc(2026, 7, 1, 8)
    assert next_due(When(every=timedelta(hours=6)), None, added) == added          # an interval runs at once


def test_schedule_shows_the_units_the_user_gave() -> None:
    assert str(When(every=parse_interval("6h"), spelled="6h")) == "every 6h"
    assert str(When(every=parse_interval("24h"), spelled="24h")) == "every 24h"
    assert str(When(every=timedelta(minutes=90))) == "every 1h30m"                  # no spelling: the largest units
    assert str(When(every=timedelta(days=8))) == "every 1w1d"
    assert str(When(cron="0 6 * * *", timezone=LONDON)) == "cron 0 6 * * * (Europe/London)"
    assert When(every=timedelta(hours=6), spelled="6h") == When(every=timedelta(hours=6))
