"""Due dates: three business days in the account country's calendar (hand-computed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers.assign.calendar import add_business_days, is_business_day


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:30:00").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("country", "submitted", "due", "why"),
    [
        ("GB", "2026-12-24", "2026-12-31", "Christmas Fri; Boxing Day (Sat) observed Mon 28th"),
        ("GB", "2026-12-30", "2027-01-05", "year end: New Year's Day Fri, weekend"),
        ("US", "2026-11-25", "2026-12-01", "Thanksgiving Thu 26th"),
        ("DE", "2026-12-23", "2026-12-29", "Christmas Day Fri; 26th is a Saturday"),
        ("SG", "2026-08-07", "2026-08-13", "National Day (Sun 9th) observed Mon 10th"),
        ("CN", "2026-02-13", "2026-02-25", "Sat 14th works; Feb 16-20 and 23rd off -> 14, 24, 25"),
        ("CN", "2026-02-12", "2026-02-24", "Sat 14th is a make-up working day (调休)"),
        ("SG", "2026-11-20", "2026-11-25", "no holiday: Fri -> Wed"),
    ],
)
def test_three_business_days(country: str, submitted: str, due: str, why: str) -> None:
    assert add_business_days(at(submitted), 3, country) == at(due), why


def test_weekends_and_holidays_are_not_business_days() -> None:
    assert not is_business_day(at("2026-12-26").date(), "GB")  # Saturday
    assert not is_business_day(at("2026-12-25").date(), "DE")
    assert is_business_day(at("2026-12-24").date(), "DE")
    assert not is_business_day(at("2026-07-03").date(), "US")  # Independence Day observed


def test_a_country_without_a_calendar_counts_weekdays_only() -> None:
    assert add_business_days(at("2026-11-20"), 3, "AQ") == at("2026-11-25")
