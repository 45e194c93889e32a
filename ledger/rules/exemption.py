"""Years without premium and moments without fine (R-PREM-3, R-PREM-4, R-FINE-1).

Decisions: an exemption (debt settlement, bankruptcy, insolvency) that covers any day
of a year frees that whole year's premium: the rule says "no premium for years in
which the member is in" it; a claim for such a year is not owed, even when the
exemption was recorded after the claim. Death (R-PREM-4): a premium claimed on or before
the day of death stays owed (the estate pays it); nothing is claimed, lettered or fined
after it, and a claim dated after the death is void (``premium.claim_void``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import events as ev
from ledger.history import History


@dataclass(frozen=True)
class Exemption:
    """An exemption from premiums: its reason and the days it covers."""

    reason: str
    start: date
    end: date | None
    event: ev.Event

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def overlaps_year(self, year: int) -> bool:
        # start <= 31 December of year and end >= 1 January of year, without making the dates
        return self.start.year <= year and (self.end is None or self.end.year >= year)


@History.per_view
def exemptions(history: History) -> list[Exemption]:
    return _exemptions(history)


def _exemptions(history: History) -> list[Exemption]:
    found = [Exemption(e.reason, e.on, e.until, e) for e in history.of(ev.ExemptionGranted)]
    found += [Exemption("death", e.on, None, e) for e in history.of(ev.Died)]
    return found


def exempt_year(history: History, year: int) -> Exemption | None:
    """R-PREM-4: the exemption that frees the premium of ``year``, if any."""
    for x in exemptions(history):  # a loop, not next(genexpr): asked per unclaimed year
        if x.overlaps_year(year):
            return x
    return None


def exempt_on(history: History, day: date) -> Exemption | None:
    """R-FINE-1: no fine after death or during debt settlement/bankruptcy/insolvency."""
    return next((x for x in exemptions(history) if x.covers(day)), None)
