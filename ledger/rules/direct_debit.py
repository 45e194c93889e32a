"""Direct debit of the premium (R-PREM-8).

A mandate requested before 15 January applies to that year's premium (debited around
1 March); requested later, from the next year; only from the year after joining.
Overdue premiums cannot be paid by direct debit.

Decisions:
- The mandate is a recorded event (``zorgkas direct-debit INSZ --requested-on DATE``);
  ``--stop`` ends it by the same 15 January rule (before it: that year's premium is no
  longer debited; later: from the next year).
- A mandate requested in the year of joining (the year the affiliation was recorded)
  applies from the next year; a person who is not a member cannot give one.
- A new mandate while one runs, or a stop without a running mandate, is refused.
- The invitation of a year the mandate covers, sent on or before that year's debit day
  (1 March), says the premium will be debited (``direct_debit``); an invitation sent later,
  or for a past year, is an overdue premium: paid by transfer.
- ``status --json`` shows the latest mandate as ``direct_debit``: ``{"requested_on",
  "from_year", "until_year"}`` (``until_year`` null while it runs), or null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import events as ev
from ledger import parameters
from ledger.errors import RuleRefused
from ledger.history import History
from ledger.rules.affiliation import period_on


@dataclass(frozen=True)
class Mandate:
    """A direct-debit mandate (R-PREM-8): the premium years it pays."""

    requested_on: date
    first_year: int
    until_year: int | None
    event: ev.DirectDebitRequested

    def covers(self, year: int) -> bool:
        return self.first_year <= year and (self.until_year is None or year <= self.until_year)

    def to_json(self) -> dict[str, object]:
        return {
            "requested_on": self.requested_on.isoformat(),
            "from_year": self.first_year,
            "until_year": self.until_year,
        }


def request_year(requested_on: date) -> int:
    """R-PREM-8: the first premium year a request (or stop) received on ``requested_on`` concerns."""
    before = parameters.direct_debit_request_before(requested_on.year)
    return requested_on.year if requested_on < before else requested_on.year + 1


def mandates(history: History) -> list[Mandate]:
    found: list[Mandate] = []
    for e in history.of(ev.DirectDebitRequested):
        if not e.stop:
            found.append(Mandate(e.on, e.first_year, None, e))
        elif found and found[-1].until_year is None:
            last = found.pop()
            found.append(Mandate(last.requested_on, last.first_year, e.first_year - 1, last.event))
    return found


def mandate(history: History) -> Mandate | None:
    """The latest mandate known on ``history.as_of`` (ended or not)."""
    found = mandates(history)
    return found[-1] if found else None


def debit_applies(history: History, year: int, on: date) -> bool:
    """An invitation of ``year`` sent on ``on`` is debited: covered, and not yet overdue."""
    if on > parameters.direct_debit_day(year):
        return False
    return any(m.covers(year) for m in mandates(history))


def mandate_first_year(history: History, requested_on: date, stop: bool) -> int:
    """Guards of a mandate (or its end) requested on ``requested_on``; its first year."""
    period = period_on(history, requested_on)
    if period is None:
        raise RuleRefused(
            "R-PREM-8",
            f"{history.insz} is not a member on {requested_on}: direct debit applies only "
            "from the year after joining; pay by transfer",
        )
    first = request_year(requested_on)
    running = mandate(history)
    running = running if running is not None and running.until_year is None else None
    if stop:
        if running is None:
            raise RuleRefused("R-PREM-8", f"{history.insz} has no running direct-debit mandate to stop")
        return max(first, running.first_year)
    if running is not None:
        raise RuleRefused(
            "R-PREM-8",
            f"a direct-debit mandate from {running.first_year} already runs (requested on "
            f"{running.requested_on}); stop it first with --stop",
        )
    return max(first, period.opened_by.on.year + 1)
