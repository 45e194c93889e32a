"""Invariants of the words (hypothesis over random member lives): ``explain``, ``history``
and the dossier always render, account for every cent of ``status``, and never show a
Python literal or a figure in bare cents."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger.history import History
from projections import dossier, explain, timeline
from projections.status import Status
from tests.test_properties import NOW, TODAY, life, live

LITERALS = ("True", "False", "None", "[20", "_cents", "seed 00")
as_of_days = st.dates(min_value=date(2016, 1, 1), max_value=TODAY)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(life, as_of_days)
def test_explain_accounts_for_every_cent_in_words(person: tuple, as_of: date) -> None:  # type: ignore[type-arg]
    member = live(*person)
    status = Status.of(History.view(member.insz, member.events, as_of))
    data = explain.trace_json(status)
    premiums = [s for s in data["trace"] if s["figure"].startswith("premium ")]
    assert (
        sum(s["value"]["outstanding_cents"] for s in premiums) == data["status"]["arrears"]["premiums_cents"]
    )
    fines = [s for s in data["trace"] if s["figure"].startswith("fine ")]
    assert sum(s["value"]["outstanding_cents"] for s in fines) == data["status"]["arrears"]["fines_cents"]
    text = explain.render(status)
    for literal in LITERALS:
        assert literal not in text
    for step in data["trace"]:
        if "incomplete" in step["because"]:
            assert "Still due: € " in step["because"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(life, as_of_days)
def test_history_has_one_line_per_event_and_the_dossier_renders(person: tuple, as_of: date) -> None:  # type: ignore[type-arg]
    member = live(*person)
    found = timeline.entries(member.events, as_of)
    expected = [e for e in member.events if e.on <= as_of or isinstance(e, ev.Registered)]
    assert sorted(str(x.event.id) for x in found) == sorted(str(e.id) for e in expected)
    assert [x.event.on for x in found] == sorted(x.event.on for x in found)
    lines = timeline.render(found).splitlines()
    assert len(lines) == len(found)
    page = dossier.render(member.insz, member.events, as_of, NOW, NOW)
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1 and "<script" not in page
