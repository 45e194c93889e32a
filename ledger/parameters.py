"""Rule parameters by validity date, read from ``fixtures/parameters.json``.

Amounts, deadlines and thresholds are data with their source, never code. A
parameter missing for a year is a clear error (``ParameterMissing``), never a guess.
The file is read on first use, not at import time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from ledger.dates import day_in
from ledger.errors import ParameterMissing


@dataclass(frozen=True)
class Premium:
    """The premium of one year (R-PREM-1), with where the amount comes from."""

    year: int
    normal_cents: int
    reduced_cents: int
    confirmed: bool
    source: str

    def amount(self, reduced: bool) -> int:
        return self.reduced_cents if reduced else self.normal_cents


@cache
def raw() -> dict[str, Any]:
    text = resources.files("fixtures").joinpath("parameters.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def premium(year: int) -> Premium:
    years = raw()["premium"]["years"]
    entry = years.get(str(year))
    if entry is None:
        known = f"{min(years)}-{max(years)}"
        raise ParameterMissing(
            "R-PREM-1",
            f"no premium known for {year} (schedule covers {known}); "
            "add the year to fixtures/parameters.json with its source",
        )
    return Premium(year=year, **entry)


def first_premium_year() -> int:
    """History before the schedule's first year is outside the ledger."""
    return min(int(y) for y in raw()["premium"]["years"])


def _period(section: str, on: date) -> dict[str, Any]:
    for period in raw()[section]["periods"]:
        start = date.fromisoformat(period["from"])
        end = date.fromisoformat(period["until"]) if "until" in period else date.max
        if start <= on <= end:
            return period
    raise ParameterMissing(raw()[section]["rule"], f"no {section} parameter valid on {on}")


def premium_due(year: int) -> date:
    """R-PREM-2: the premium of ``year`` is due by 30 April of that year."""
    return day_in(year, raw()["premium_due"])


def budget_deduction_day(year: int) -> date:
    """R-PREM-5: the day the premium is taken from the April budget payment."""
    return day_in(year, raw()["budget_deduction"])


def letter_threshold(letter_year: int) -> tuple[int, str]:
    """R-LET-1: how many unpaid premiums make a letter (3 until 2018, 2 from 2019)."""
    period = _period("letter_threshold", date(letter_year, 12, 31))
    return period["unpaid_premiums"], period["source"]


def fine_amount(fine_day: date, reduced: bool) -> tuple[int, str]:
    """R-FINE-1: €250, or €100 for increased allowance on 1 January of the year before."""
    period = _period("fine", fine_day)
    cents = period["reduced_cents"] if reduced else period["normal_cents"]
    return cents, period["source"]


def fine_pay_by(year: int) -> date:
    return day_in(year, raw()["fine"]["pay_by"])


def fine_received_by(year: int) -> date:
    return day_in(year, raw()["fine"]["received_by"])


def auto_affiliation_day(year: int) -> date:
    """R-AFF-3: not affiliated before 1 July of the first obligation year."""
    return day_in(year, raw()["auto_affiliation"])


def auto_affiliation_fund() -> str:
    return raw()["auto_affiliation"]["fund"]


def switch_deadline(fund: str, year: int) -> tuple[date, str]:
    """R-SW-1: last day a switch request to ``fund`` counts for 1 January of next year."""
    section = raw()["switch_deadline"]
    spec = section["funds"].get(fund, section["default"])
    return day_in(year, spec), spec["source"]


def residence_condition(on: date) -> tuple[int, int, str]:
    """R-ELIG-1: (continuous years, total years, source) valid on ``on``."""
    period = _period("residence", on)
    return period["continuous_years"], period["total_years"], period["source"]


def continuity_years() -> int:
    """R-ELIG-2: years of continuous affiliation for a late joiner."""
    return raw()["continuity"]["years"]


def obligation_age() -> int:
    return raw()["obligation_age"]["age"]


def fund_name(code: str) -> str:
    return raw()["funds"][code]["name"]


def cancellation_threshold() -> int:
    """R-AFF-4: unpaid premiums after which a voluntary membership is cancelled."""
    return raw()["cancellation"]["unpaid_premiums"]


def residence_periods() -> list[tuple[date, date, int, int, str]]:
    """R-ELIG-1: (from, until, continuous years, total years, source) for each period."""
    return [
        (
            date.fromisoformat(p["from"]),
            date.fromisoformat(p["until"]) if "until" in p else date.max,
            p["continuous_years"],
            p["total_years"],
            p["source"],
        )
        for p in raw()["residence"]["periods"]
    ]
