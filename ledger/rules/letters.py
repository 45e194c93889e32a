"""The registered letter for unpaid premiums (R-LET-1).

A compulsory member with two (until 2018: three) premiums unpaid or incomplete, not
necessarily consecutive, gets one registered letter listing them.
Decisions: only claimed premiums count (R-PREM-9); a premium counts once its due date
has passed: 30 April of its year, or the day it became owed when it was claimed (or
its membership began) later; premiums already claimed with a standing fine are not
listed again; one letter per member per year, decided on everything recorded; a letter
run dated after 1 September of its year is refused (``commands/runs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import events as ev
from ledger import parameters
from ledger.history import History
from ledger.rules.affiliation import period_on
from ledger.rules.joining import still_in_window
from ledger.rules.obligation import COMPULSORY, obligation_on
from ledger.rules.premium import Account, account


@dataclass(frozen=True)
class LetterDue:
    """A registered letter to send (R-LET-1): the unpaid premium years and the threshold crossed."""

    year: int
    premium_years: list[int]
    amount_cents: int
    threshold: int
    threshold_source: str


def overdue_years(history: History, acc: Account, up_to_year: int, day: date) -> list[int]:
    """Premium years that count as unpaid on ``day`` (R-LET-1, R-AFF-2, R-AFF-4)."""
    fined = acc.fined_years()
    return [
        y
        for y in acc.unpaid_years()
        if y <= up_to_year
        and max(parameters.premium_due(y), acc.years[y].due.owed_from) < day
        and y not in fined
        and not still_in_window(history, y, day)
    ]


def letter_due(history: History, year: int) -> LetterDue | None:
    """R-LET-1: the letter the fund must send for ``year`` on ``history.as_of``, if any."""
    day = history.as_of
    if history.by_year(ev.RegisteredLetterSent, year) is not None:
        return None
    if period_on(history, day) is None or obligation_on(history, day).status != COMPULSORY:
        return None
    acc = account(history)
    years = overdue_years(history, acc, year, day)
    threshold, source = parameters.letter_threshold(year)
    if len(years) < threshold:
        return None
    owed = sum(acc.years[y].outstanding_cents for y in years)
    return LetterDue(year, years, owed, threshold, source)
