"""Switching care fund (R-SW-1, R-SW-2, R-FUND-1).

A request received by the new fund's deadline (CM: before 2 December; the law:
5 December) takes effect on 1 January of the next year; a later one, on 1 January
of the year after next (Decision). A switch never breaks continuity (R-SW-2).
"""

from __future__ import annotations

from datetime import date

from ledger import parameters
from ledger.dates import jan1
from ledger.errors import RuleRefused
from ledger.history import History
from ledger.rules.affiliation import check_fund_allowed, fund_on, pending_switch


def switch_effective(to_fund: str, requested_on: date) -> date:
    deadline, _source = parameters.switch_deadline(to_fund, requested_on.year)
    years_ahead = 1 if requested_on <= deadline else 2
    return jan1(requested_on.year + years_ahead)


def check_switch(history: History, to_fund: str) -> str:
    """Guards of a switch request on ``history.as_of``; returns the current fund."""
    day = history.as_of
    current = fund_on(history, day)
    if current is None:
        raise RuleRefused(
            "R-SW-1", f"{history.insz} is not affiliated on {day}: affiliate first, then switch"
        )
    pending = pending_switch(history, day)
    if pending is not None:
        raise RuleRefused(
            "R-SW-1",
            f"a switch to {pending.to_fund} from {pending.effective} is already pending",
        )
    if to_fund == current:
        raise RuleRefused("R-SW-1", f"{history.insz} is already a member of {to_fund}")
    check_fund_allowed(history, to_fund)
    return current
