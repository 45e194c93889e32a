"""Invariants of recorded claims over random member lives (hypothesis):

- R-PREM-9: changing every schedule amount (and flag and source) after the claims were
  recorded changes no ``status`` and no ``explain`` answer;
- one claim, one letter, one fine, one auto-affiliation and one cancellation per member
  and year, whatever ``--on`` each run is given and in whatever order the runs come.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger import parameters
from ledger.member import Member, Stamp
from projections.explain import render
from projections.status import status_json, status_of
from tests.test_properties import AS_OF, NOW, TODAY, assert_money_conserved, life, live

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _changed_schedule() -> str:
    """A parameters file in which every premium value differs from the packaged one."""
    years: dict[str, Any] = {}
    for year in range(parameters.first_premium_year(), 2027):
        p = parameters.premium(year)
        years[str(year)] = {
            f"{rate}_{key}": value
            for rate, v in (("normal", p.normal), ("reduced", p.reduced))
            for key, value in (
                ("cents", v.cents + 137),
                ("confirmed", not v.confirmed),
                ("source", f"{v.source} (corrected)"),
            )
        }
    fd, path = tempfile.mkstemp(prefix="zorgkas-schedule-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"premium": {"years": years}}, f)
    return path


def _answers(m: Member) -> list[Any]:
    out: list[Any] = []
    for day in [*AS_OF, date(2027, 1, 2)]:
        out.append(status_json(m.insz, m.events, day, None))
        out.append(render(status_of(m.insz, m.events, day, None)))
    return out


@SETTINGS
@given(life)
def test_R_PREM_9_changing_the_schedule_after_the_claims_changes_no_answer(case: tuple) -> None:  # type: ignore[type-arg]
    m = live(*case)
    before = _answers(m)
    path = _changed_schedule()
    old = os.environ.get(parameters.ENV)
    os.environ[parameters.ENV] = path
    try:
        assert parameters.premium(2024).normal.cents == 6200 + 137  # the change is in force
        assert _answers(m) == before
    finally:
        if old is None:
            del os.environ[parameters.ENV]
        else:
            os.environ[parameters.ENV] = old
        os.unlink(path)


def _runs(m: Member, year: int) -> dict[str, tuple[date, date, Callable[[Stamp, date], list[ev.Event]]]]:
    """Each yearly run with the range of ``--on`` dates its command accepts."""
    return {
        "invitations": (date(year - 1, 1, 1), TODAY, lambda s, d: m.invite(s, year=year, on=d)),
        "auto-affiliation": (date(year, 7, 1), TODAY, lambda s, d: m.auto_affiliate(s, year=year, on=d)),
        "letters": (date(year, 1, 1), date(year, 9, 1), lambda s, d: m.send_letter(s, year=year, on=d)),
        "fines": (date(year, 10, 5), TODAY, lambda s, d: m.impose_fine(s, year=year, on=d)),
        "cancellations": (date(year, 1, 1), TODAY, lambda s, d: m.cancel(s, year=year, on=d)),
    }


def _per_year(m: Member) -> Counter[tuple[str, int]]:
    seen: Counter[tuple[str, int]] = Counter()
    for e in m.events:
        if isinstance(e, (ev.PremiumInvited, ev.PremiumDeducted)):
            seen["claim", e.year] += 1
        elif isinstance(e, ev.RegisteredLetterSent):
            seen["letter", e.year] += 1
        elif isinstance(e, ev.FineImposed):
            seen["fine", e.year] += 1
        elif isinstance(e, ev.Affiliated) and e.rule == "R-AFF-3":
            seen["auto", e.on.year] += 1
        elif isinstance(e, ev.Cancelled):
            seen["cancel", e.on.year] += 1
    return seen


@SETTINGS
@given(life, st.data())
def test_yearly_runs_with_shuffled_on_dates_write_each_thing_once(case: tuple, data: st.DataObject) -> None:  # type: ignore[type-arg]
    m = live(*case)
    n = 0
    for year in (2023, 2024, 2025):
        for _name, (first, last, run) in _runs(m, year).items():
            days = data.draw(st.lists(st.dates(first, min(last, TODAY)), min_size=2, max_size=4))
            for day in days:
                n += 1
                m.events += run(Stamp("prop", NOW + timedelta(days=1, seconds=n), TODAY), day)
            for day in data.draw(st.permutations(days)):
                assert run(Stamp("prop", NOW + timedelta(days=2), TODAY), day) == []
    assert all(count == 1 for count in _per_year(m).values()), _per_year(m)


@SETTINGS
@given(
    life,
    st.dates(min_value=date(2017, 1, 1), max_value=date(2025, 12, 31)),
    st.dates(min_value=date(2016, 1, 1), max_value=date(2025, 12, 31)),
)
def test_budget_deductions_and_adjustments_keep_every_cent_in_one_place(
    case: tuple,  # type: ignore[type-arg]
    budget_from: date,
    allowance_on: date,
) -> None:
    """R-PREM-5, R-PREM-6, R-PREM-9: a budget deduction, then a backdated allowance that
    lowers the claims: money taken back becomes credit, nothing is lost or counted twice."""
    from ledger.errors import BadInput, RuleRefused
    from ledger.history import History
    from ledger.rules.premium import account

    m = live(*case)
    n = 0

    def stamp() -> Stamp:
        nonlocal n
        n += 1
        return Stamp("prop", NOW + timedelta(days=3, seconds=n), TODAY)

    for mode in (None, "voluntary", "early"):  # a member, so that the budget can be granted
        with contextlib.suppress(RuleRefused, BadInput):
            m.events += m.affiliate(stamp(), fund="VZK", mode=mode, on=date(2016, 1, 5))
    with contextlib.suppress(RuleRefused, BadInput):
        m.events += m.grant_budget(stamp(), kind="elderly", start=budget_from, monthly_cents=68300)
    for year in range(2016, 2027):
        m.events += m.invite(stamp(), year=year, on=max(date(year, 4, 2), budget_from))
    with contextlib.suppress(RuleRefused, BadInput):
        m.events += m.set_allowance(stamp(), entitled=True, on=allowance_on)
    for day in [*AS_OF, date(2027, 1, 2)]:
        # Budget money taken back by an adjustment counts as received (it is the member's).
        assert_money_conserved(account(History.view(m.insz, m.events, day)))
