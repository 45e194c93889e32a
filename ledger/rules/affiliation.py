"""Membership periods of a care fund (R-AFF-1..4, R-SW-2, R-FUND-1).

A period opens with ``Affiliated`` (counting from its ``since``: 1 January of the
year of the first premium, R-AFF-1), and closes by cancellation (backdated, R-AFF-4),
by moving to where one may not be a member (end of that year), or by death.
A fund switch changes the fund inside a period; it never breaks it (R-SW-2).

Decisions: a clerk's direct affiliation counts from 1 January of its year too
(membership runs per calendar year); a move out of Flanders/Brussels ends the
membership on 31 December of the year of the move. R-AFF-1: only a first premium paid
in full makes a member: a payment by a person who is not a member affiliates them only
when it (with money of theirs already kept as credit) covers the invitation it names,
or else their oldest invitation; without any invitation the money is kept as credit
and makes no member (``Member.pay``). Voluntary persons past the window of their first
premiums are not invited: a clerk affiliates them (``affiliate --voluntary``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from ledger import events as ev
from ledger.dates import dec31
from ledger.errors import RuleRefused
from ledger.history import History
from ledger.identity import OPEN_FUND, home_fund
from ledger.rules.obligation import (
    COMPULSORY,
    MAY_JOIN,
    VOLUNTARY,
    by_residence,
    is_adult_in,
    obligation_on,
)


@dataclass(frozen=True)
class Period:
    """One membership of a care fund, from its start to its last day (open while ``end`` is None)."""

    start: date
    end: date | None  # last day of membership, None while open
    fund: str
    kind: str
    opened_by: ev.Affiliated
    closed_by: ev.Event | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def covers_year(self, year: int) -> bool:
        # start <= 31 December of year and end >= 1 January of year, without making the dates
        return self.start.year <= year and (self.end is None or self.end.year >= year)


@History.per_view
def periods(history: History) -> list[Period]:
    """Every membership period, oldest first; empty (fully backdated) periods dropped."""
    return _periods(history)


_PERIOD_EVENTS = frozenset((ev.Affiliated, ev.Cancelled, ev.Died, ev.Moved))


def _periods(history: History) -> list[Period]:
    found: list[Period] = []
    current: Period | None = None
    for e in history.events_in_order():
        if type(e) not in _PERIOD_EVENTS:  # claims and payments, most events, open or close nothing
            continue
        if isinstance(e, ev.Affiliated) and current is None:
            current = Period(e.since, None, e.fund, e.kind, e)
        elif current is None:
            if isinstance(e, ev.Cancelled) and found and found[-1].end and e.until < found[-1].end:
                # A cancellation after the period already ended (e.g. by a move) still backdates it.
                last = replace(found.pop(), end=e.until, closed_by=e)
                if last.end is not None and last.end >= last.start:
                    found.append(last)
            continue
        elif isinstance(e, ev.Cancelled):
            current = replace(current, end=e.until, closed_by=e)
        elif isinstance(e, ev.Died):
            current = replace(current, end=e.on, closed_by=e)
        elif isinstance(e, ev.Moved) and by_residence(e.region, e.situation).status not in MAY_JOIN:
            current = replace(current, end=dec31(e.on.year), closed_by=e)
        if current is not None and current.end is not None:
            if current.end >= current.start:
                found.append(current)
            current = None
    if current is not None:
        found.append(current)
    return found


def period_on(history: History, day: date) -> Period | None:
    for period in periods(history):  # a loop, not next(genexpr): asked per claim, letter and fine
        if period.covers(day):
            return period
    return None


@History.per_view_as_of  # status, eligibility and joining on time ask it
def affiliated_since(history: History, day: date) -> date | None:
    """Start of the continuous affiliation holding on ``day``; adjoining periods join."""
    ps = [p for p in periods(history) if p.start <= day]
    if not ps or not ps[-1].covers(day):
        return None
    since = ps[-1].start
    for earlier in reversed(ps[:-1]):
        if earlier.end is not None and earlier.end + timedelta(days=1) >= since:
            since = min(since, earlier.start)
        else:
            break
    return since


def fund_on(history: History, day: date) -> str | None:
    """The fund on ``day``: the affiliation's, then each switch from its effective date."""
    period = period_on(history, day)
    if period is None:
        return None
    fund = period.fund
    for sw in history.of(ev.FundSwitched):
        if sw.on >= period.opened_by.on and sw.effective <= day:
            fund = sw.to_fund
    return fund


def pending_switch(history: History, day: date) -> ev.FundSwitched | None:
    """A switch requested by ``day`` that takes effect after it (R-SW-1)."""
    pending = [s for s in history.of(ev.FundSwitched) if s.on <= day < s.effective]
    return pending[-1] if pending else None


def kind_on(history: History, day: date) -> str | None:
    """compulsory | voluntary | automatic | early, as the membership stands on ``day``."""
    period = period_on(history, day)
    if period is None:
        return None
    if not is_adult_in(history, day.year):
        return "early"
    status = obligation_on(history, day).status
    if status == VOLUNTARY:
        return VOLUNTARY
    if period.kind == "automatic":
        return "automatic"
    return COMPULSORY if status == COMPULSORY else period.kind


def allowed_funds(history: History) -> tuple[str, ...]:
    """R-FUND-1: the care fund of one's own health fund, or the Vlaamse Zorgkas."""
    own = home_fund(history.registration.health_fund)
    return (own,) if own == OPEN_FUND else (own, OPEN_FUND)


def check_fund_allowed(history: History, fund: str) -> None:
    allowed = allowed_funds(history)
    if fund not in allowed:
        raise RuleRefused(
            "R-FUND-1",
            f"{fund} is open only to members of its own health fund; "
            f"this person (health fund {history.registration.health_fund}) may join "
            f"{' or '.join(allowed)}",
        )


def was_cancelled_before(history: History, day: date) -> bool:
    """R-ELIG-2: a rejoin after a cancellation (R-AFF-4) starts a new waiting time."""
    return any(c.until < day for c in history.of(ev.Cancelled))
