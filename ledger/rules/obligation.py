"""Who must, may, or may not join (R-OBL-1..7), and when the obligation began.

Decisions (where the rule book leaves them open):
- The EU/EEA exceptions of R-OBL-3 apply to a person living ``abroad``; a person
  living in Wallonia is exempt whatever their situation.
- Under 26 (R-OBL-7) the status is ``exempt``: no obligation, early joining allowed.
- ``excluded`` is R-OBL-5: staff of an international institution with its own social
  security may not join; the situation ``international-staff`` is recorded for the
  staff member and for each dependant, who may not join either, not even early.
  ``international-staff-opted-in`` (they opted for Belgian social security) makes a
  resident of Flanders or Brussels voluntary (R-OBL-5); abroad it is exempt (R-OBL-3).
- R-OBL-1: years lived in Brussels, Wallonia, abroad, or under a voluntary or excluded
  situation are never years of obligation. The obligation starts at the beginning of
  the unbroken run of residences with the current status: a Brussels resident who
  moves to Flanders in 2024 is obliged from the move (a newcomer: the window of
  R-AFF-2, auto-affiliation from 1 January 2024), not from the year they turned 26.
- R-ELIG-2: the first chance to join is the first day the person, 26 or older, lived
  where they could join (``first_chance``); one whose first chance was voluntary and
  who joined only after its window is a late joiner, whatever they became since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

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
    """Whether someone must, may or need not pay premiums, by which rule and why."""

    status: str  # compulsory | voluntary | exempt | excluded
    rule: str
    reason: str


@lru_cache(maxsize=256)  # a pure function of two short codes, asked per residence and per move
def by_residence(region: str, situation: str) -> Obligation:
    """The obligation of an adult (26+) by where they live and work (R-OBL-1..6)."""
    if situation == "international-staff":
        return Obligation(EXCLUDED, "R-OBL-5", "staff of an international institution")
    if situation == "international-staff-opted-in" and region in ("flanders", "brussels"):
        why = "staff of an international institution who opted for Belgian social security"
        return Obligation(VOLUNTARY, "R-OBL-5", why)
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


@History.per_view  # asked for every claimed year by several rules
def turns_26_year(history: History) -> int:
    return history.born.year + parameters.obligation_age()


def is_adult_in(history: History, year: int) -> bool:
    """R-OBL-7, R-PREM-3: from 1 January of the year the person turns 26."""
    return year >= turns_26_year(history)


@History.per_view_as_of  # status, the kind of membership and the window ask it
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


@History.per_view_as_of  # joining on time and the next date of change ask it
def obligation_start(history: History, day: date) -> ObligationStart | None:
    """The start of the unbroken run of residences with the status holding on ``day``.

    A compulsory obligation starts with the first residence of the current compulsory
    run (R-OBL-1 decision: voluntary years do not count), at the earliest on 1 January
    of the year the person turns 26.
    """
    status = obligation_on(history, day).status
    if status not in MAY_JOIN:
        return None
    start: Residence | None = None
    for res in history.residences():
        if res.since > day:
            break
        if by_residence(res.region, res.situation).status == status:
            if start is None:
                start = res
        else:
            start = None
    if start is None:
        return None
    adult_from = jan1(turns_26_year(history))
    begin = max(start.since, adult_from)
    return ObligationStart(begin, start.since > adult_from, status)


def first_chance(history: History, day: date) -> ObligationStart | None:
    """R-ELIG-2: the first day (by ``day``) the person, 26 or older, could join, and how."""
    adult_from = jan1(turns_26_year(history))
    stretches = [r for r in history.residences() if r.since <= day]
    for n, res in enumerate(stretches):
        status = by_residence(res.region, res.situation).status
        ends = stretches[n + 1].since if n + 1 < len(stretches) else None
        begin = max(res.since, adult_from)
        if status in MAY_JOIN and begin <= day and (ends is None or begin < ends):
            return ObligationStart(begin, res.since > adult_from, status)
    return None
