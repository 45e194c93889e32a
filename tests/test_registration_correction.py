"""A registration's birth date or start of residence typed wrongly: `correct-registration`
records a `RegistrationCorrected` naming it (R-OBL-1). The registration stays as recorded;
the corrected values apply at every as-of date from the moment the correction is recorded."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import RuleRefused
from ledger.member import Member, Stamp
from projections.status import status_json
from tests.conftest import Clerk, invite, make_insz
from tests.test_properties import NOW, SETTINGS, TODAY, life, live

# Registered as born on 14 March 1997 (26 in 2023); in truth born on 14 March 1998 (26 in 2024).
A = make_insz(date(1998, 3, 14), 11)


def _register(clerk: Clerk) -> None:
    clerk.now = "2024-01-20T09:00:00"  # everything before the correction was recorded by then
    clerk.register(A, "1997-03-14", "flanders", "CM", "2023-01-02", "--resident-since", "1997-03-14")


def _correct(clerk: Clerk, *args: str, today: str = "2024-02-01", now: str = "2024-02-01T09:00:00",
             expect: int = 0) -> Any:  # fmt: skip
    return clerk("correct-registration", A, *args, today=today, now=now, expect=expect)


def _history(clerk: Clerk) -> list[dict[str, Any]]:
    return json.loads(clerk("history", A, "--json").output)  # type: ignore[no-any-return]


def test_R_OBL_1_a_corrected_birth_date_moves_the_obligation_from_the_moment_it_is_recorded(
    clerk: Clerk,
) -> None:
    clerk.now = "2024-01-20T09:00:00"
    clerk.register(A, "1997-03-14", "flanders", "CM", "2023-01-02", "--resident-since", "2010-01-01")
    assert clerk.status(A, "--as-of", "2023-06-01")["obligation"] == "compulsory"
    out = _correct(clerk, "--born", "1998-03-14", "--reason", "birth year typed wrongly").output
    assert "registration of 2023-01-02 corrected: born 1998-03-14" in out
    # Under 26 in 2023 (R-OBL-7: no obligation), compulsory from 1 January 2024 (R-OBL-1).
    assert clerk.status(A, "--as-of", "2023-06-01")["obligation"] == "exempt"
    assert clerk.status(A, "--as-of", "2024-01-01")["obligation"] == "compulsory"
    # At every as-of date, also one before the registration's own day; as known before it: the original.
    assert clerk.status(A, "--as-of", "2022-12-31")["obligation"] == "exempt"
    then = clerk.status(A, "--as-of", "2023-06-01", "--known-on", "2024-02-01T08:59:59")
    assert then["obligation"] == "compulsory"
    # The registration stays as recorded; the correction names it, dated on its day, with the reason.
    reg, fix = _history(clerk)
    assert reg["type"] == "Registered" and reg["born"] == "1997-03-14"
    assert reg["corrected_by"] == [fix["id"]]
    assert fix["type"] == "RegistrationCorrected" and fix["on"] == "2023-01-02"
    assert (fix["target_id"], fix["born"], fix["resident_since"]) == (reg["id"], "1998-03-14", None)
    assert fix["reason"] == "birth year typed wrongly" and fix["corrects"] == reg["id"]
    text = clerk("history", A).output
    assert (
        "Registration corrected: born 1998-03-14 (registered as 1997-03-14); reason: birth year typed" in text
    )
    assert "[corrected, recorded 2024-02-01: born 1998-03-14 (birth year typed wrongly)]" in text
    explained = clerk("explain", A, "--as-of", "2024-02-01").output
    assert "Born 14 March 1998, so the obligation can start in 2024" in explained
    assert "The registration was corrected: born 1998-03-14 (registered as 1997-03-14)" in explained


def test_R_OBL_1_correct_registration_refuses_what_would_change_nothing_or_contradict_itself(
    clerk: Clerk,
) -> None:
    out = _correct(clerk, "--born", "1998-03-14", "--reason", "x", expect=1).output
    assert "R-OBL-1" in out and "not registered" in out
    _register(clerk)
    before = clerk("export", "-").output
    out = _correct(clerk, "--born", "1997-03-14", "--reason", "x", expect=1).output
    assert "R-OBL-1" in out and "already says born 1997-03-14, resident since 1997-03-14" in out
    assert "give --born and/or --resident-since" in _correct(clerk, "--reason", "x", expect=2).output
    assert "--reason" in _correct(clerk, "--born", "1998-03-14", expect=2).output
    assert "--reason" in _correct(clerk, "--born", "1998-03-14", "--reason", " ", expect=2).output
    assert "after today" in _correct(clerk, "--born", "2024-02-02", "--reason", "x", expect=2).output
    assert "'19980314'" in _correct(clerk, "--born", "19980314", "--reason", "x", expect=2).output
    out = _correct(clerk, "--born", "1998-03-14", "--reason", "x", expect=2).output
    assert "lies after the recorded start of residence 1997-03-14: correct --resident-since too" in out
    out = _correct(clerk, "--resident-since", "1997-03-13", "--reason", "x", expect=2).output
    assert "lies before the birth date 1997-03-14" in out
    out = _correct(clerk, "--born", "1998-03-14", "--resident-since", "1998-03-13", "--reason", "x", expect=2)
    assert "lies before the birth date 1998-03-14" in out.output
    assert clerk("export", "-").output == before  # nothing written


def test_R_PREM_3_a_claim_before_the_corrected_26th_birthday_year_is_not_owed_and_its_money_becomes_credit(
    clerk: Clerk,
) -> None:
    _register(clerk)
    invite(clerk, 2023)  # €58.00, claimed while the ledger took her for 26 in 2023
    clerk("pay", A, "--amount", "58", "--on", "2023-03-01", "--bank-ref", "B-2023-1", today="2023-03-01")
    invite(clerk, 2024)  # €62.00
    before = clerk.status(A, "--as-of", "2024-02-01")
    assert [(p["year"], p["due_cents"], p["paid_cents"]) for p in before["premiums"]] == [
        (2023, 5800, 5800),
        (2024, 6200, 0),
    ]
    assert before["arrears"]["premiums_cents"] == 6200 and before["credit_cents"] == 0
    _correct(clerk, "--born", "1998-03-14", "--resident-since", "1998-03-14", "--reason", "typed wrongly")
    after = clerk.status(A, "--as-of", "2024-02-01")
    # The 2023 claim stays recorded but is not owed (R-PREM-3); its €58.00 is credit (R-PREM-6)
    # and pays the 2024 claim as soon as it is owed: €4.00 still due, incomplete.
    assert [(p["year"], p["due_cents"], p["paid_cents"], p["status"]) for p in after["premiums"]] == [
        (2024, 6200, 5800, "incomplete"),
    ]
    assert after["arrears"] == {
        "premiums_cents": 400,
        "fines_cents": 0,
        "total_cents": 400,
        "unpaid_years": [2024],
    }
    assert after["credit_cents"] == 0
    history = _history(clerk)
    assert [e["type"] for e in history].count("PremiumInvited") == 2  # both claims stay recorded
    explained = clerk("explain", A, "--as-of", "2024-02-01").output
    assert "The 2023 premium of € 58,00 was claimed" in explained
    assert (
        "is not owed: no premium is owed before 2024, the year of the 26th birthday. [R-PREM-3]" in explained
    )
    # As known before the correction, the answer is the one given then.
    then = clerk.status(A, "--as-of", "2024-02-01", "--known-on", "2024-02-01T08:59:59")
    assert then == {**before, "known_on": "2024-02-01T08:59:59"}
    # Retracting the correction restores the registered birth date, and the two claims owed.
    fix = history[-1]
    assert fix["type"] == "RegistrationCorrected"
    clerk("retract", A, "--event", fix["id"], "--reason", "the register was right", now="2024-02-02T09:00:00")
    assert clerk.status(A, "--as-of", "2024-02-01") == before


def test_R_ELIG_1_a_corrected_start_of_residence_moves_the_eligibility_date(clerk: Clerk) -> None:
    b = make_insz(date(1960, 5, 5), 13)
    clerk.register(b, "1960-05-05", "flanders", "CM", "2019-01-02", "--resident-since", "2019-01-02")
    clerk("affiliate", b, "--fund", "CM", "--on", "2019-01-03", today="2019-01-03")
    invite(clerk, 2019, 2020, 2021)
    for year in (2019, 2020, 2021):
        clerk("pay", b, "--amount", "54", "--on", f"{year}-02-01", today=f"{year}-02-01")
    before = clerk.status(b, "--as-of", "2022-01-01")
    assert (before["eligible"], before["eligible_from"]) == (False, "2024-01-02")
    # The population register says she has lived here since 1990, not since 2019.
    clerk("correct-registration", b, "--resident-since", "1990-01-01", "--reason", "moved in 1990",
          today="2022-01-05", now="2022-01-05T09:00:00")  # fmt: skip
    after = clerk.status(b, "--as-of", "2022-01-01")
    assert (after["eligible"], after["eligible_from"]) == (True, "2019-01-01")
    assert clerk("explain", b, "--as-of", "2022-01-01").output.count("since 1 January 1990") == 1
    out = clerk("correct-registration", b, "--resident-since", "1959-01-01", "--reason", "x", expect=2).output
    assert "lies before the birth date 1960-05-05" in out


def test_a_correction_is_exported_and_imported_and_the_import_guards_it(
    clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    clerk.import_workers = import_workers
    _register(clerk)
    invite(clerk, 2023)
    _correct(clerk, "--born", "1998-03-14", "--resident-since", "1998-03-14", "--reason", "typed wrongly")
    exported = clerk("export", "-").stdout
    lines = [json.loads(line) for line in exported.splitlines()]
    fix = lines[-1]
    assert {k: fix[k] for k in ("type", "born", "resident_since", "reason")} == {
        "type": "RegistrationCorrected", "born": "1998-03-14", "resident_since": "1998-03-14",
        "reason": "typed wrongly",
    }  # fmt: skip
    other = Clerk(str(tmp_path / "copy.sqlite"))
    other.import_workers = import_workers
    (tmp_path / "all.jsonl").write_text(exported)
    other("import", str(tmp_path / "all.jsonl"))
    for day in ("2023-06-01", "2024-02-01"):
        assert other.status(A, "--as-of", day) == clerk.status(A, "--as-of", day)
    assert other("history", A).output == clerk("history", A).output

    def refused(events: list[dict[str, Any]], code: int) -> str:
        path = tmp_path / f"f{len(list(tmp_path.iterdir()))}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        return fresh("import", str(path), expect=code).output  # type: ignore[no-any-return]

    fresh = Clerk(str(tmp_path / "fresh.sqlite"))
    fresh.import_workers = import_workers
    reg, claim = lines[0], lines[1]
    # A correction before the registration, naming an event of no one, naming the claim.
    assert "no Registered event before it" in refused([fix, reg], 2)
    out = refused([reg, {**fix, "target_id": "6f1d3c2e-7a0b-4c4e-9f3a-2b1c0d9e8f7a"}], 2)
    assert "target_id" in out and "line 2" in out
    out = refused([reg, claim, {**fix, "target_id": claim["id"]}], 1)
    assert "R-OBL-1" in out and "line 3" in out and "not a PremiumInvited" in out
    assert "reason" in refused([reg, {**fix, "reason": " "}], 2)
    assert "born" in refused([reg, {**fix, "born": None, "resident_since": None}], 2)
    assert "lies before born" in refused([reg, {**fix, "resident_since": "1998-03-13"}], 2)
    # A correction of a registration already in the store, and its retraction, are accepted.
    refused([reg], 0)
    retraction = {**fix, "type": "EventRetracted", "id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                  "target_id": fix["id"], "reason": "wrong"}  # fmt: skip
    for key in ("born", "resident_since"):
        retraction.pop(key)
    refused([fix, retraction], 0)
    assert fresh.status(A, "--as-of", "2023-06-01")["obligation"] == "compulsory"  # retracted


def test_an_imported_correction_gets_the_checks_of_the_command(
    clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    """An event file records only what `correct-registration` could have (R-OBL-1): dated on
    the registration's day, the start of residence not before the birth date nor after the
    first move, and something to correct; checked against the registration in the file or
    in the store, as corrected so far."""
    clerk.import_workers = import_workers
    _register(clerk)  # born 1997-03-14, resident since 1997-03-14, registered 2023-01-02
    _correct(clerk, "--born", "1998-03-14", "--resident-since", "1998-03-14", "--reason", "typed wrongly")
    reg, fix = (json.loads(line) for line in clerk("export", "-").stdout.splitlines())
    moved = {k: v for k, v in reg.items() if k not in ("born", "health_fund", "resident_since")}
    moved = {**moved, "type": "Moved", "id": str(uuid.uuid4()), "on": "2000-01-01"}

    def imported(events: list[dict[str, Any]], code: int, store: str = "fresh") -> str:
        path = tmp_path / f"f{len(list(tmp_path.iterdir()))}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        other = Clerk(str(tmp_path / f"{store}.sqlite"))
        other.import_workers = import_workers
        return other("import", str(path), expect=code).output  # type: ignore[no-any-return]

    born_later = {**fix, "resident_since": None}  # born 1998, still resident since 1997
    assert "would lie before the birth date 1998-03-14" in imported([reg, born_later], 2)
    same = {**fix, "born": "1997-03-14", "resident_since": None}
    out = imported([reg, same], 1)
    assert "R-OBL-1" in out and "line 2" in out and "nothing to correct" in out
    out = imported([reg, {**fix, "on": "2023-05-01"}], 2)
    assert "registration's day, 2023-01-02" in out
    after_move = {**fix, "born": None, "resident_since": "2001-01-01"}
    assert "after the move of 2000-01-01" in imported([reg, moved, after_move], 2)
    # Against the values as corrected so far: in the file, and in the store.
    again = {**fix, "id": str(uuid.uuid4()), "born": "1999-01-01", "resident_since": None}
    assert "line 3" in imported([reg, fix, again], 2)
    imported([reg, fix], 0, store="kept")
    assert "line 1" in imported([again], 2, store="kept")
    later = {**fix, "id": str(uuid.uuid4()), "born": None, "resident_since": "1999-06-01"}
    imported([later], 0, store="kept")
    assert Clerk(str(tmp_path / "kept.sqlite")).status(A, "--as-of", "2023-06-01")["obligation"] == "exempt"


def test_the_members_row_shows_the_corrected_birth_year_after_a_nightly_run(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZORGKAS_PSEUDONYM_KEY", "test-key")
    nightly, rebuilt = str(tmp_path / "nightly.sqlite"), str(tmp_path / "rebuilt.sqlite")
    _register(sqlite_clerk)
    sqlite_clerk("report", "--to", nightly, today="2024-01-31")
    row = "SELECT born_year, obligation FROM members"
    assert sqlite3.connect(nightly).execute(row).fetchall() == [(1997, "compulsory")]
    _correct(sqlite_clerk, "--born", "2000-03-14", "--resident-since", "2000-03-14", "--reason", "typo")
    out = sqlite_clerk("report", "--to", nightly, today="2024-02-01").output
    assert "(1 with new events, 0 by date)" in out
    assert sqlite3.connect(nightly).execute(row).fetchall() == [(2000, "exempt")]
    sqlite_clerk("report", "--to", rebuilt, "--rebuild", today="2024-02-01")
    assert sqlite3.connect(rebuilt).execute(row).fetchall() == [(2000, "exempt")]
    # The year she turns 26 by the corrected date, 2026, is a date her row changes by itself.
    sqlite_clerk("report", "--to", nightly, today="2025-12-31")
    assert sqlite3.connect(nightly).execute(row).fetchall() == [(2000, "exempt")]
    out = sqlite_clerk("report", "--to", nightly, today="2026-01-01").output
    assert "(0 with new events, 1 by date)" in out
    assert sqlite3.connect(nightly).execute(row).fetchall() == [(2000, "compulsory")]


def test_the_dossier_shows_the_correction_beside_the_registration(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _register(sqlite_clerk)
    _correct(sqlite_clerk, "--born", "1998-03-14", "--resident-since", "1998-03-14", "--reason", "typo")
    out = tmp_path / "d.html"
    sqlite_clerk("dossier", A, "--out", str(out), "--known-on", "2024-01-31", today="2024-02-01")
    html = out.read_text()
    assert "Born 14 March 1998 (corrected; registered as 14 March 1997)" in html
    assert "corrected, recorded 2024-02-01: born 1998-03-14, resident since 1998-03-14 (typo)" in html
    assert "Registration corrected: born 1998-03-14 (registered as 1997-03-14)" in html
    assert "registration corrected" in html  # its mark on the timeline's corrections lane


@SETTINGS
@given(life, st.dates(min_value=date(1950, 1, 1), max_value=date(2000, 12, 31)))
def test_a_correction_followed_by_its_retraction_answers_as_neither(case: tuple, born: date) -> None:  # type: ignore[type-arg]
    m = live(*case)
    later = NOW + timedelta(days=1)
    stamp = Stamp(clerk="prop", recorded_at=later, today=TODAY)
    try:
        (fix,) = m.correct_registration(stamp, born=born, resident_since=born, reason="typo")
    except RuleRefused as exc:  # the same values: nothing to correct
        assert "nothing to correct" in exc.message
        return
    m.events.append(fix)
    (undo,) = m.retract(Stamp(clerk="prop", recorded_at=later, today=TODAY), event_id=fix.id, reason="no")
    corrected = [e for e in m.events if e is not fix]
    for day in (date(2018, 6, 1), date(2024, 10, 21), TODAY):
        neither = status_json(m.insz, corrected, day, None)
        assert status_json(m.insz, [*m.events, undo], day, None) == neither
        # As known before the correction was recorded, it is as if it never happened.
        assert status_json(m.insz, m.events, day, NOW + timedelta(hours=1)) == status_json(
            m.insz, corrected, day, NOW + timedelta(hours=1)
        )


def test_a_correction_of_the_birth_date_is_what_a_registration_with_it_would_give() -> None:
    """The corrected registration reads exactly as a registration recorded with the right
    values (``History.registration``), at every as-of date."""
    right, wrong = date(1998, 3, 14), date(1997, 3, 14)
    stamp = Stamp(clerk="c", recorded_at=datetime(2024, 2, 1, 9), today=date(2024, 2, 1))
    a, b = Member(A), Member(A)
    a.events += a.register(stamp, born=wrong, region="flanders", health_fund="CM", situation="resident",
                           resident_since=wrong, on=date(2023, 1, 2))  # fmt: skip
    a.events += a.correct_registration(stamp, born=right, resident_since=right, reason="typo")
    b.events += b.register(stamp, born=right, region="flanders", health_fund="CM", situation="resident",
                           resident_since=right, on=date(2023, 1, 2))  # fmt: skip
    for day in (date(2022, 1, 1), date(2023, 6, 1), date(2024, 2, 1)):
        assert status_json(A, a.events, day, None) == status_json(A, b.events, day, None)
        got, want = a.history(day).registration, b.history(day).registration
        assert (got.born, got.resident_since, got.on, got.region) == (
            want.born,
            want.resident_since,
            want.on,
            "flanders",
        )
        assert a.history(day).registered.born == wrong  # the registration stays as recorded


def test_explain_json_cites_the_registration_as_recorded_and_its_correction(sqlite_clerk: Clerk) -> None:
    _register(sqlite_clerk)
    _correct(sqlite_clerk, "--born", "1998-03-14", "--resident-since", "1998-03-14", "--reason", "typo")
    trace = json.loads(sqlite_clerk("explain", A, "--as-of", "2024-02-01", "--json").output)
    step = next(s for s in trace["trace"] if s["figure"] == "obligation")
    assert [(e["type"], e["version"]) for e in step["events"]] == [
        ("Registered", 1),
        ("RegistrationCorrected", 2),
    ]
    assert step["events"][0]["says"].startswith("Registered: born 1997-03-14")
    assert step["events"][1]["says"].endswith("; reason: typo")


def test_a_retraction_dated_after_as_of_still_marks_what_it_retracts(clerk: Clerk) -> None:
    """A retraction applies at every as-of date once recorded, so ``history --as-of`` before
    its own date marks the retracted correction (and payment) as ``status`` ignores them."""
    _register(clerk)
    clerk("pay", A, "--amount", "58", "--on", "2023-03-01", "--bank-ref", "B-1", today="2023-03-01")
    _correct(clerk, "--born", "1998-03-14", "--resident-since", "1998-03-14", "--reason", "typo")
    reg, paid, fix = _history(clerk)[:3]
    for event in (fix, paid):
        clerk("retract", A, "--event", event["id"], "--reason", "wrong", today="2024-02-02",
              now="2024-02-02T09:00:00")  # fmt: skip
    then = json.loads(clerk("history", A, "--json", "--as-of", "2023-12-31").output)
    assert [e["type"] for e in then] == ["Registered", "PremiumPaid", "RegistrationCorrected"]  # versions
    assert "corrected_by" not in then[0]  # the correction no longer applies ...
    assert then[2]["retracted_by"] and then[1]["retracted_by"]  # ... nor does the payment
    status = clerk.status(A, "--as-of", "2023-12-31")
    assert (status["obligation"], status["credit_cents"]) == ("compulsory", 0)
    text = clerk("history", A, "--as-of", "2023-12-31").output
    assert "(typo), a correction since retracted]" in text and "[retracted on 2024-02-02: wrong]" in text
    # As known before the retractions, nothing is marked.
    known = ("--as-of", "2023-12-31", "--known-on", "2024-02-01T10:00")
    before = json.loads(clerk("history", A, "--json", *known).output)
    assert before[0]["corrected_by"] == [fix["id"]] and "retracted_by" not in before[1]
