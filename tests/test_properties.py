"""Invariants over random member lives (hypothesis): replay is deterministic, money is
conserved, arrears are never negative, a yearly run twice equals once, and an event file
round trip answers the same."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger.errors import BadInput, RuleRefused
from ledger.eventfile import parse_line, to_line
from ledger.history import History
from ledger.member import Member, Stamp
from ledger.rules.premium import Account, account
from projections.status import status_json
from tests.conftest import make_insz

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12)

days = st.dates(min_value=date(2016, 1, 1), max_value=TODAY)
op = st.one_of(
    st.tuples(st.just("affiliate"), days, st.sampled_from([None, "voluntary"])),
    st.tuples(st.just("pay"), days, st.integers(min_value=1, max_value=20000)),
    st.tuples(st.just("allowance"), days, st.booleans()),
    st.tuples(st.just("move"), days, st.sampled_from(["flanders", "brussels", "wallonia"])),
    st.tuples(st.just("exempt"), days, st.integers(min_value=0, max_value=900)),
    st.tuples(st.just("invite"), st.integers(min_value=2016, max_value=2026)),
    st.tuples(st.just("letters"), st.integers(min_value=2016, max_value=2026)),
    st.tuples(st.just("fines"), st.integers(min_value=2016, max_value=2025)),
    st.tuples(st.just("auto"), st.integers(min_value=2016, max_value=2026)),
    st.tuples(st.just("cancel"), st.integers(min_value=2016, max_value=2025)),
    st.tuples(st.just("reverse"), days),
)
life = st.tuples(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2000, 12, 31)),
    st.sampled_from(["flanders", "brussels"]),
    st.lists(op, max_size=25),
)


def _apply(member: Member, stamp: Stamp, step: tuple) -> list[ev.Event]:  # type: ignore[type-arg]
    kind = step[0]
    if kind == "affiliate":
        return member.affiliate(stamp, fund="VZK", mode=step[2], on=step[1])
    if kind == "pay":
        ref = f"REF-{len(member.events)}"
        return member.pay(stamp, amount_cents=step[2], on=step[1], ogm=None, bank_ref=ref, method="transfer")
    if kind == "allowance":
        return member.set_allowance(stamp, entitled=step[2], on=step[1])
    if kind == "move":
        return member.move(stamp, region=step[2], situation="resident", on=step[1])
    if kind == "exempt":
        until = min(step[1] + timedelta(days=step[2]), TODAY)
        return member.exempt(stamp, reason="debt-settlement", start=step[1], until=until, evidence="")
    if kind == "reverse":
        paid = [e for e in member.events if isinstance(e, ev.PremiumPaid) and e.on <= step[1]]
        if not paid:
            return []
        return member.reverse_payment(stamp, bank_ref=paid[0].bank_ref or "", on=step[1], reason="r")
    year = step[1]
    run = {
        "invite": lambda: member.invite(stamp, year=year, on=date(year, 1, 10)),
        "letters": lambda: member.send_letter(stamp, year=year, on=date(year, 8, 20)),
        "fines": lambda: member.impose_fine(stamp, year=year, on=date(year, 10, 20)),
        "auto": lambda: member.auto_affiliate(stamp, year=year, on=date(year, 7, 1)),
        "cancel": lambda: member.cancel(stamp, year=year, on=date(year, 12, 31)),
    }[kind]
    return run()


def live(born: date, region: str, steps: list) -> Member:  # type: ignore[type-arg]
    insz = make_insz(born, 7)
    member = Member(insz)
    stamp = Stamp(clerk="prop", recorded_at=NOW, today=TODAY)
    member.events += member.register(
        stamp,
        born=born,
        region=region,
        health_fund="CM",
        situation="resident",
        resident_since=born,
        on=date(2016, 1, 1),
    )
    for i, step in enumerate(steps):
        stamp = Stamp(clerk="prop", recorded_at=NOW + timedelta(seconds=i), today=TODAY)
        try:
            member.events += _apply(member, stamp, step)
        except (RuleRefused, BadInput):
            continue
    return member


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = [date(2018, 6, 1), date(2021, 9, 1), date(2024, 10, 21), TODAY]


@SETTINGS
@given(life)
def test_replay_is_deterministic(case: tuple) -> None:  # type: ignore[type-arg]
    m = live(*case)
    decoded = [ev.decode(ev.encode(e)) for e in m.events]
    for day in AS_OF:
        assert status_json(m.insz, m.events, day, None) == status_json(m.insz, decoded, day, None)


@SETTINGS
@given(life)
def test_money_is_conserved_and_arrears_never_negative(case: tuple) -> None:  # type: ignore[type-arg]
    m = live(*case)
    for day in AS_OF:
        assert_money_conserved(account(History.view(m.insz, m.events, day)))


def assert_money_conserved(acc: Account) -> None:
    """Every cent received sits in exactly one place: a premium (directly, or later
    through credit), a fine, or the credit balance; nothing owed or credited is negative."""
    direct = sum(a.cents for a in acc.allocations if a.target == "premium" and a.payment)
    via_credit = sum(a.cents for a in acc.allocations if a.target == "premium" and a.rule == "R-PREM-6")
    to_fines = sum(f.paid_cents for f in acc.fines.values())
    assert acc.received_cents == direct + via_credit + to_fines + acc.credit_cents
    for year in acc.years.values():
        assert 0 <= year.paid_cents <= year.due.amount_cents
    assert acc.premiums_outstanding_cents >= 0 and acc.fines_outstanding_cents >= 0
    assert acc.credit_cents >= 0


@SETTINGS
@given(life)
def test_a_yearly_run_twice_equals_once(case: tuple) -> None:  # type: ignore[type-arg]
    m = live(*case)
    stamp = Stamp(clerk="prop", recorded_at=NOW + timedelta(days=1), today=TODAY)
    for year in (2024, 2025):
        for run in (
            lambda year=year: m.invite(stamp, year=year, on=date(year, 1, 10)),
            lambda year=year: m.auto_affiliate(stamp, year=year, on=date(year, 7, 1)),
            lambda year=year: m.send_letter(stamp, year=year, on=date(year, 8, 20)),
            lambda year=year: m.impose_fine(stamp, year=year, on=date(year, 10, 20)),
            lambda year=year: m.cancel(stamp, year=year, on=date(year, 12, 31)),
        ):
            m.events += run()
            assert run() == []


@SETTINGS
@given(life)
def test_an_event_file_round_trip_answers_the_same(case: tuple) -> None:  # type: ignore[type-arg]
    import json

    m = live(*case)
    back = [
        parse_line(json.dumps(to_line(e)), n, TODAY, NOW + timedelta(days=1)) for n, e in enumerate(m.events)
    ]
    for day in AS_OF:
        assert status_json(m.insz, back, day, None) == status_json(m.insz, m.events, day, None)
