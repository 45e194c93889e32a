"""Who must, may, or may not join (R-OBL-1..7), and when the obligation began.

Decisions (DOMAIN.md leaves them open):
- The EU/EEA exceptions of R-OBL-3 apply to a person living ``abroad``; a person
  living in Wallonia is exempt whatever their situation.
- Under 26 (R-OBL-7) the status is ``exempt``: no obligation, early joining allowed.
- ``excluded`` is R-OBL-5: international staff may not join.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import parameters
from ledger.dates import jan1
from ledger.history import History, Residence

COMPULSORY = "compulsory"
VOLUNTARY = "voluntary"
EXEMPT = "exempt"
EXCLUDED = "excluded"
MAY_JOIN = (COMPULSORY, VOLUNTARY)


@dataclass(frozen=True)
class Obligation:
    status: str  # compulsory | voluntary | exempt | excluded
    rule: str
    reason: str


def by_residence(region: str, situation: str) -> Obligation:
    """The obligation of an adult (26+) by where they live and work (R-OBL-1..6)."""
    if situation == "international-staff":
        return Obligation(EXCLUDED, "R-OBL-5", "staff of an international institution")
    if situation == "non-eu-student":
        return Obligation(EXEMPT, "R-OBL-6", "non-EU student or researcher")
    if region == "flanders":
        if situation == "works-abroad":
            return Obligation(VOLUNTARY, "R-OBL-4", "lives in Flanders, insured abroad")
        return Obligation(COMPULSORY, "R-OBL-1", "lives in Flanders")
    if region == "brussels":
        if situation == "works-abroad":
            return Obligation(VOLUNTARY, "R-OBL-4", "lives in Brussels, insured abroad")
        return Obligation(VOLUNTARY, "R-OBL-2", "lives in Brussels")
    if region == "abroad" and situation == "works-in-flanders":
        return Obligation(COMPULSORY, "R-OBL-3", "lives in the EU/EEA, works in Flanders")
    if region == "abroad" and situation == "works-in-brussels":
        return Obligation(VOLUNTARY, "R-OBL-3", "lives in the EU/EEA, works in Brussels")
    return Obligation(EXEMPT, "R-OBL-3", f"lives in {region}")


def turns_26_year(history: History) -> int:
    return history.born.year + parameters.obligation_age()


def is_adult_in(history: History, year: int) -> bool:
    """R-OBL-7, R-PREM-3: from 1 January of the year the person turns 26."""
    return year >= turns_26_year(history)


def obligation_on(history: History, day: date) -> Obligation:
    """R-OBL-1..7: the person's obligation on ``day``."""
    died = history.died_on()
    if died is not None and died <= day:
        return Obligation(EXEMPT, "R-PREM-4", f"died on {died}")
    res = history.residence_on(day)
    if not is_adult_in(history, day.year):
        return Obligation(EXEMPT, "R-OBL-7", f"under 26 until {turns_26_year(history)}")
    return by_residence(res.region, res.situation)


@dataclass(frozen=True)
class ObligationStart:
    """When the current obligation (compulsory or voluntary) began (R-OBL-1, R-AFF-2)."""

    day: date  # the first day the person had to (or could) join
    newcomer: bool  # began by a move after 25, not by turning 26
    status: str

    @property
    def year(self) -> int:
        return self.day.year


def obligation_start(history: History, day: date) -> ObligationStart | None:
    """The start of the unbroken run of compulsory/voluntary obligation holding on ``day``."""
    if obligation_on(history, day).status not in MAY_JOIN:
        return None
    adult_from = jan1(turns_26_year(history))
    start: Residence | None = None
    for res in history.residences():
        if res.since > day:
            break
        if by_residence(res.region, res.situation).status in MAY_JOIN:
            if start is None:
                start = res
        else:
            start = None
    if start is None:
        return None
    begin = max(start.since, adult_from)
    newcomer = start.since > adult_from
    return ObligationStart(begin, newcomer, obligation_on(history, day).status)
