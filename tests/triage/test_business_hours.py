"""The SLA clock: working hours added to a moment (triage.business_hours)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from triage.business_hours import BusinessHours, business_add

BERLIN = BusinessHours(
    days={0, 1, 2, 3, 4}, start_hour=9, end_hour=17, timezone="Europe/Berlin"
)
UTC_WEEK = BusinessHours(
    days={0, 1, 2, 3, 4}, start_hour=9, end_hour=17, timezone="UTC"
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Tuesday 10:00, inside the window: plain addition.
        (utc(2026, 11, 24, 10), 4, utc(2026, 11, 24, 14)),
        # Tuesday 15:00 + 4 h: 2 h today, 2 h from Wednesday's opening.
        (utc(2026, 11, 24, 15), 4, utc(2026, 11, 25, 11)),
        # Tuesday 20:00 (evening): the clock starts Wednesday 09:00.
        (utc(2026, 11, 24, 20), 1, utc(2026, 11, 25, 10)),
        # Before opening: 06:30 counts from 09:00.
        (utc(2026, 11, 24, 6, 30), 0.5, utc(2026, 11, 24, 9, 30)),
        # Friday evening, 8 h: all of Monday.
        (utc(2026, 11, 27, 18), 8, utc(2026, 11, 30, 17)),
        # Saturday: nothing counts until Monday 09:00.
        (utc(2026, 11, 28, 12), 2, utc(2026, 11, 30, 11)),
        # Friday 16:00 + 3 h: 1 h Friday, 2 h Monday.
        (utc(2026, 11, 27, 16), 3, utc(2026, 11, 30, 11)),
        # 40 h from Monday 09:00: the whole week, due Friday 17:00.
        (utc(2026, 11, 23, 9), 40, utc(2026, 11, 27, 17)),
        # Exactly at closing: nothing is left today.
        (utc(2026, 11, 24, 17), 1, utc(2026, 11, 25, 10)),
    ],
)
def test_business_add_in_utc(start, hours, due):
    assert business_add(start, hours, UTC_WEEK) == due


def test_windows_are_local_time():
    # 16:00 Berlin (15:00 UTC in winter) + 2 h: 1 h Tuesday, 1 h from 09:00 Berlin
    # on Wednesday, which is 08:00 UTC.
    assert business_add(utc(2026, 11, 24, 15), 2, BERLIN) == utc(2026, 11, 25, 9)


def test_daylight_saving_change_counts_real_hours():
    # Berlin's clocks go forward on Sunday 29 March 2026, 02:00 -> 03:00. A
    # 00:00-24:00 calendar on that day has 23 real hours.
    always = BusinessHours(
        days=set(range(7)), start_hour=0, end_hour=24, timezone="Europe/Berlin"
    )
    start = datetime(2026, 3, 28, 23, tzinfo=UTC)  # Sunday 00:00 in Berlin
    assert business_add(start, 23, always) == datetime(2026, 3, 29, 22, tzinfo=UTC)


def test_end_hour_24_and_weekend_days():
    weekend = BusinessHours(days={5, 6}, start_hour=20, end_hour=24, timezone="UTC")
    # Monday: the next window is Saturday 20:00.
    assert business_add(utc(2026, 11, 23, 12), 5, weekend) == utc(2026, 11, 29, 21)


def test_naive_datetimes_and_empty_weeks_are_refused():
    with pytest.raises(ValueError):
        business_add(datetime(2026, 11, 24, 10), 1, UTC_WEEK)
    with pytest.raises(ValueError):
        business_add(
            utc(2026, 11, 24, 10),
            1,
            BusinessHours(days=set(), start_hour=9, end_hour=17, timezone="UTC"),
        )
