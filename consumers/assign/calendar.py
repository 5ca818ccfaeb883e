"""Review due dates in business days of the account country's calendar.

Working days come from the `holidays` package: weekends, public holidays, substituted days off
and China's make-up working Saturdays (调休) are all accounted for. The clock starts at
submission and keeps its time of day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=512)
def _calendar(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return None  # a country the package does not know: weekdays only


def is_business_day(day: date, country: str) -> bool:
    calendar = _calendar(country.upper(), day.year)
    if calendar is None:
        return day.weekday() < 5
    return bool(calendar.is_working_day(day))


def add_business_days(start: datetime, days: int, country: str) -> datetime:
    """`start` moved forward by `days` business days of `country`."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current.date(), country):
            remaining -= 1
    return current
