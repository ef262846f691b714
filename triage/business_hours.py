"""Adding working hours to a moment: the SLA clock (issue 15).

No maintained business-hours library is installed here, so this is a small pure
function (tests/triage/test_business_hours.py): walk day by day through the
working windows in the team's time zone, spending the hours left. Windows are
built as local wall-clock times and measured in UTC, so a daylight-saving change
inside a window counts the hours that really pass.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A target longer than this many calendar days is a configuration mistake.
MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessHours:
    days: Collection[int]  # Monday = 0
    start_hour: int
    end_hour: int  # exclusive; 24 means midnight
    timezone: str

    @classmethod
    def from_settings(cls) -> BusinessHours:
        from django.conf import settings

        return cls(
            days=frozenset(settings.TRIAGE_BUSINESS_DAYS),
            start_hour=settings.TRIAGE_BUSINESS_START_HOUR,
            end_hour=settings.TRIAGE_BUSINESS_END_HOUR,
            timezone=settings.TRIAGE_BUSINESS_TIMEZONE,
        )


def business_add(start: datetime, hours: float, calendar: BusinessHours) -> datetime:
    """The moment `hours` working hours after `start` (aware), in UTC.

    Time outside the windows does not count: a mail on Friday evening with an
    8-hour target is due at the end of Monday's working day.
    """
    if start.tzinfo is None:
        raise ValueError("business_add needs an aware datetime")
    if not calendar.days:
        raise ValueError("No business days configured")
    zone = ZoneInfo(calendar.timezone)
    left = timedelta(hours=hours)
    now = start.astimezone(UTC)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if day.weekday() in calendar.days:
            opens = _moment(day, calendar.start_hour, zone)
            closes = _moment(day, calendar.end_hour, zone)
            begin = max(now, opens)
            if begin < closes:
                available = closes - begin
                if left <= available:
                    return begin + left
                left -= available
        day += timedelta(days=1)
    raise ValueError(f"{hours} business hours do not fit in {MAX_DAYS} days")


def _moment(day, hour: int, zone: ZoneInfo) -> datetime:
    if hour >= 24:
        return _moment(day + timedelta(days=1), 0, zone)
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
