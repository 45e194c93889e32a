"""Joining on time (R-AFF-2) and the window in which the first premiums may be paid.

The first and second premium may be paid until the end of the year one turns 27; a
newcomer has until the end of the year after the move, and one who moves in during
the second half of a year has three premiums until the end of the second year after.

Decision (R-PREM-9): "joined on time" judges the first premiums the fund claimed; while
none of them was claimed it stays undecided (null), and so it does while the window is
open and one of its premiums is not claimed and paid yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.dates import dec31
from ledger.history import History
from ledger.rules.affiliation import affiliated_since
from ledger.rules.obligation import VOLUNTARY, ObligationStart, first_chance, obligation_start
from ledger.rules.premium import account


@dataclass(frozen=True)
class Window:
    """The window in which joining on time is still possible, and the obligation it follows."""

    years: tuple[int, ...]
    end: date
    start: ObligationStart

    def is_open_on(self, day: date) -> bool:
        return day <= self.end


def window_for(start: ObligationStart) -> Window:
    """R-AFF-2: the first premiums' years and their last payment day."""
    count = 3 if start.newcomer and start.day.month >= 7 else 2
    years = tuple(range(start.year, start.year + count))
    return Window(years, dec31(years[-1]), start)


@History.per_view_as_of  # joining on time and the next date of change ask it
def window_on(history: History, day: date) -> Window | None:
    start = obligation_start(history, day)
    return window_for(start) if start else None


def still_in_window(history: History, year: int, day: date) -> bool:
    """R-AFF-2: a first premium does not count for a letter or fine before its window closes."""
    window = window_on(history, day)
    return window is not None and year in window.years and window.is_open_on(day)


def joined_on_time(history: History) -> bool | None:
    """R-AFF-2: true when the window's premiums were paid within it; null while undecided."""
    day = history.as_of
    since = affiliated_since(history, day)
    window = window_on(history, day)
    if since is None or window is None or day < window.start.day:
        return None
    if since.year > window.years[-1]:
        return False
    acc = account(history.at(min(day, window.end)))
    owed = [acc.years[y] for y in window.years if y in acc.years]
    if not owed:
        return None  # R-PREM-9: none of the first premiums was claimed: nothing to judge
    if all(y.outstanding_cents == 0 for y in owed):
        # While the window is open, a first premium not yet claimed is still to be paid:
        # undecided, not on time yet (only a closed window judges the claimed ones alone).
        if window.is_open_on(day) and len(owed) < len(window.years):
            return None
        return True
    return None if window.is_open_on(day) else False


def joined_late_voluntarily(history: History) -> bool:
    """R-ELIG-2: a person whose first chance to join was voluntary (Brussels, insured
    abroad, opted-in staff) and who joined only after that chance's window, including
    one who was auto-affiliated after moving to Flanders."""
    day = history.as_of
    since = affiliated_since(history, day)
    chance = first_chance(history, day)
    if since is None or chance is None or chance.status != VOLUNTARY:
        return False
    return since.year > window_for(chance).years[-1]
