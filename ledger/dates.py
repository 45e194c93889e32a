"""Date helpers used by the rules (calendar years, anniversaries, ISO parsing)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache


# 1 January and 31 December of a year, made once per year: the rules ask them several times
# a member, and date()'s argument parse costs more than the cache's lookup (a date is immutable).
@cache
def jan1(year: int) -> date:
    return date(year, 1, 1)


@cache
def dec31(year: int) -> date:
    return date(year, 12, 31)


def add_years(d: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    # The constructor by position, not ``replace(year=…)``: half the cost (eligibility asks
    # it about three times a member). Every caller passes a date, never a datetime.
    try:
        return date(d.year + years, d.month, d.day)
    except ValueError:
        return date(d.year + years, d.month, 28)


def day_in(year: int, spec: dict[str, int]) -> date:
    """A fixture's {"month": M, "day": D} in ``year``."""
    return date(year, spec["month"], spec["day"])


def end_of_day(d: date) -> datetime:
    return datetime.combine(d, datetime.max.time()).replace(microsecond=0)
