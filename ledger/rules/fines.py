"""The administrative fine after a registered letter (R-FINE-1) and its appeal (R-FINE-2).

If the letter's premiums are not fully paid by 5 October (money on the fund's account
by 15 October still counts), the Agency imposes €250, or €100 for a member entitled
to the increased allowance on 1 January of the year before the fine. No fine after
death or during debt settlement, bankruptcy or insolvency. One fine per letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import events as ev
from ledger import parameters
from ledger.dates import jan1
from ledger.errors import RuleRefused
from ledger.history import History
from ledger.rules.exemption import exempt_on
from ledger.rules.premium import account


@dataclass(frozen=True)
class FineDue:
    """The fine of one letter's year (R-FINE-1): its amount and the premium years behind it."""

    year: int
    amount_cents: int
    reduced: bool
    premium_years: list[int]
    source: str


def check_fine_run_date(year: int, day: date) -> None:
    pay_by = parameters.fine_pay_by(year)
    if day < pay_by:
        raise RuleRefused(
            "R-FINE-1",
            f"fines for {year} cannot be imposed before {pay_by.isoformat()}: "
            "members may pay the premiums of their letter until then; run again on or after it",
        )


def fine_due(history: History, year: int) -> FineDue | None:
    """R-FINE-1: the fine for the letter of ``year`` on ``history.as_of``, if any."""
    day = history.as_of
    letter = history.by_year(ev.RegisteredLetterSent, year)
    if letter is None or history.by_year(ev.FineImposed, year) is not None:
        return None
    if exempt_on(history, day) is not None:
        return None
    counted_until = min(day, parameters.fine_received_by(year))
    acc = account(history.at(counted_until))
    unpaid = [y for y in letter.premium_years if y in acc.years and acc.years[y].outstanding_cents]
    if not unpaid:
        return None
    # "The year before the fine": before the fine's own date (a late run in Y+1 looks at Y).
    reduced = history.entitled_on(jan1(day.year - 1))
    cents, source = parameters.fine_amount(day, reduced)
    return FineDue(year, cents, reduced, list(letter.premium_years), source)


def check_appeal(history: History, fine_year: int) -> ev.FineImposed:
    """R-FINE-2: an appeal needs a fine of that year, decided only once."""
    fine = history.by_year(ev.FineImposed, fine_year)
    if fine is None:
        raise RuleRefused("R-FINE-2", f"there is no fine for {fine_year} to appeal against")
    if any(a.fine_year == fine_year for a in history.of(ev.FineAppealDecided)):
        raise RuleRefused("R-FINE-2", f"the appeal against the fine of {fine_year} was already decided")
    return fine
