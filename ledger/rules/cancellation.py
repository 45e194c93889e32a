"""Cancelling a voluntary membership for non-payment (R-AFF-4).

A voluntary member who fails to pay twice (or pays incompletely) loses membership,
backdated to 31 December of the last fully paid year; no letter, no fine.
Decision: the first premiums do not count while their window is open (as R-AFF-2
says for letters); the cancellation itself is dated the day of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import parameters
from ledger.dates import dec31
from ledger.history import History
from ledger.rules.affiliation import kind_on, period_on
from ledger.rules.letters import overdue_years
from ledger.rules.premium import account


@dataclass(frozen=True)
class CancellationDue:
    """A voluntary member to cancel (R-AFF-4): the last day, and the unpaid premium years."""

    until: date
    unpaid_years: list[int]


def cancellation_due(history: History, year: int) -> CancellationDue | None:
    day = history.as_of
    period = period_on(history, day)
    if period is None or kind_on(history, day) != "voluntary":
        return None
    acc = account(history)
    unpaid = overdue_years(history, acc, year, day)
    if len(unpaid) < parameters.cancellation_threshold():
        return None
    paid = [y for y, a in acc.years.items() if a.outstanding_cents == 0]
    last_paid = max(paid) if paid else period.start.year - 1
    return CancellationDue(dec31(last_paid), unpaid)
