"""Both times: as of an effective date, as known at a recorded moment; corrections."""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from tests.conftest import Clerk, make_insz

A = make_insz(date(1990, 2, 2), 81)

STEPS = [
    ("2020-01-01T09:00:00", ["register", A, "--born", "1990-02-02", "--region", "flanders",
                             "--health-fund", "CM", "--resident-since", "1990-02-02", "--on", "2020-01-01"]),
    ("2020-01-02T09:00:00", ["affiliate", A, "--fund", "CM", "--on", "2020-01-02"]),
    ("2020-01-15T09:00:00", ["run", "invitations", "--year", "2020", "--on", "2020-01-15"]),
    ("2021-01-15T09:00:00", ["run", "invitations", "--year", "2021", "--on", "2021-01-15"]),
    ("2022-01-15T09:00:00", ["run", "invitations", "--year", "2022", "--on", "2022-01-15"]),
    ("2022-08-20T09:00:00", ["run", "letters", "--year", "2022", "--on", "2022-08-20"]),
    ("2022-09-30T09:00:00", ["pay", A, "--amount", "53", "--on", "2022-08-01", "--bank-ref", "LATE"]),
    ("2022-10-20T09:00:00", ["run", "fines", "--year", "2022", "--on", "2022-10-20"]),
    ("2022-11-02T09:00:00", ["reverse-payment", A, "--bank-ref", "LATE", "--on", "2022-11-01"]),
    ("2023-01-10T09:00:00", ["appeal", A, "--fine-year", "2022", "--upheld", "--on", "2023-01-10"]),
    ("2023-01-15T09:00:00", ["run", "invitations", "--year", "2023", "--on", "2023-01-15"]),
    ("2023-02-01T09:00:00", ["allowance", A, "--entitled", "--on", "2021-01-01"]),
]  # fmt: skip


def _play(clerk: Clerk) -> None:
    for now, args in STEPS:
        clerk(*args, now=now, today=now[:10])


def test_status_known_on_equals_a_fresh_replay_of_what_was_recorded_by_then(
    clerk: Clerk, tmp_path: Any
) -> None:
    _play(clerk)
    export = os.path.join(str(tmp_path), "all.jsonl")
    clerk("export", export)
    with open(export) as f:
        lines = [json.loads(line) for line in f]
    for i, (now, _args) in enumerate(STEPS):
        partial = os.path.join(str(tmp_path), f"upto{i}.jsonl")
        with open(partial, "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in lines if e["recorded_at"] <= now)
        fresh = Clerk(os.path.join(str(tmp_path), f"fresh{i}.sqlite"))
        fresh("import", partial)
        for as_of in ("2021-06-01", "2022-09-01", "2022-10-21", "2023-06-01"):
            known = clerk.status(A, "--as-of", as_of, "--known-on", now)
            replay = fresh.status(A, "--as-of", as_of)
            known.pop("known_on")
            replay.pop("known_on")
            assert known == replay, (now, as_of)


def test_what_the_fund_knew_when_it_sent_the_letter(clerk: Clerk) -> None:
    _play(clerk)
    then = clerk.status(A, "--as-of", "2022-08-20", "--known-on", "2022-08-20T09:00:00")
    now = clerk.status(A, "--as-of", "2022-08-20")
    assert then["arrears"]["unpaid_years"] == [2020, 2021, 2022]
    assert now["arrears"]["unpaid_years"] == [2021, 2022]  # a payment of 1 August, recorded later


def test_a_reversed_payment_counts_until_the_reversal(clerk: Clerk) -> None:
    _play(clerk)
    assert clerk.status(A, "--as-of", "2022-10-31")["arrears"]["unpaid_years"] == [2021, 2022]
    assert clerk.status(A, "--as-of", "2022-11-01")["arrears"]["unpaid_years"] == [2020, 2021, 2022]
    assert "[reversed on 2022-11-01]" in clerk("history", A).output


def test_an_upheld_appeal_annuls_the_fine_from_its_date(clerk: Clerk) -> None:
    _play(clerk)
    assert clerk.status(A, "--as-of", "2023-01-09")["fines"][0]["status"] == "open"
    assert clerk.status(A, "--as-of", "2023-01-10")["fines"][0]["status"] == "annulled"


def test_a_late_allowance_record_changes_the_premium_only_as_known_after_it(clerk: Clerk) -> None:
    _play(clerk)
    before = clerk.status(A, "--as-of", "2023-06-01", "--known-on", "2023-01-31T00:00:00")
    after = clerk.status(A, "--as-of", "2023-06-01")
    due = {p["year"]: p["due_cents"] for p in before["premiums"]}
    due_after = {p["year"]: p["due_cents"] for p in after["premiums"]}
    assert (due[2022], due_after[2022]) == (5400, 2700)


def test_a_retracted_fact_is_ignored_from_the_moment_it_is_retracted(clerk: Clerk) -> None:
    _play(clerk)
    history = json.loads(clerk("history", A, "--json").output)
    allowance = next(e for e in history if e["type"] == "AllowanceChanged")
    clerk("retract", A, "--event", allowance["id"], "--reason", "wrong member", now="2023-03-01T09:00:00")
    before = clerk.status(A, "--as-of", "2023-06-01", "--known-on", "2023-02-28T00:00:00")
    after = clerk.status(A, "--as-of", "2023-06-01")
    assert [p["due_cents"] for p in before["premiums"] if p["year"] == 2022] == [2700]
    assert [p["due_cents"] for p in after["premiums"] if p["year"] == 2022] == [5400]
    assert "[retracted on 2026-11-23: wrong member]" in clerk("history", A).output


def test_explain_accounts_for_every_cent(clerk: Clerk) -> None:
    _play(clerk)
    trace = json.loads(clerk("explain", A, "--as-of", "2023-06-01", "--json").output)
    premiums = [s for s in trace["trace"] if s["figure"].startswith("premium ")]
    owed = sum(s["value"]["due_cents"] - s["value"]["paid_cents"] for s in premiums)
    assert owed == trace["status"]["arrears"]["premiums_cents"]
    assert all(s["rule"].startswith("R-") for s in trace["trace"])
    assert all(s["source"] for s in premiums)
    text = clerk("explain", A, "--as-of", "2023-06-01").output
    assert "R-FINE-2" in text and "Total owed" in text


def test_a_retracted_reversal_marks_no_payment_reversed(clerk: Clerk) -> None:
    # R-PREM-7: a reversal recorded wrongly and retracted corrects nothing: the payment
    # counts in status and report, so history must not mark it reversed either.
    _play(clerk)
    clerk("pay", A, "--amount", "58", "--on", "2023-02-10", "--bank-ref", "FEB", now="2023-02-10T09:00:00")
    clerk("reverse-payment", A, "--bank-ref", "FEB", "--on", "2023-02-20", now="2023-02-20T09:00:00")
    rows = json.loads(clerk("history", A, "--json").output)
    reversal = next(e for e in rows if e["type"] == "PaymentReversed" and e["on"] == "2023-02-20")
    clerk("retract", A, "--event", reversal["id"], "--reason", "wrong member", now="2023-03-01T09:00:00")
    rows = json.loads(clerk("history", A, "--json", "--as-of", "2023-06-01").output)
    payment = next(e for e in rows if e.get("bank_ref") == "FEB")
    reversal = next(e for e in rows if e["id"] == reversal["id"])
    assert "reversed_by" not in payment and reversal["retracted_by"]
    assert "[reversed on" not in next(
        line for line in clerk("history", A, "--as-of", "2023-06-01").output.splitlines() if "FEB" in line
    )
    then = clerk.status(A, "--as-of", "2023-06-01", "--known-on", "2023-02-28T00:00:00")
    now = clerk.status(A, "--as-of", "2023-06-01")
    assert (then["arrears"]["premiums_cents"], now["arrears"]["premiums_cents"]) == (16300, 10500)
    rows = json.loads(clerk("history", A, "--json", "--known-on", "2023-02-28T00:00:00").output)
    assert next(e for e in rows if e.get("bank_ref") == "FEB")["reversed_on"] == "2023-02-20"


def test_a_retracted_appeal_marks_no_fine_annulled(clerk: Clerk) -> None:
    # R-FINE-2: the upheld appeal, retracted, annuls nothing: the fine is open again in
    # status, and history marks the appeal retracted, not the fine annulled.
    _play(clerk)
    rows = json.loads(clerk("history", A, "--json").output)
    appeal = next(e for e in rows if e["type"] == "FineAppealDecided")
    clerk("retract", A, "--event", appeal["id"], "--reason", "other member", now="2023-03-01T09:00:00")
    status = clerk.status(A, "--as-of", "2023-06-01")
    assert status["fines"] == [{"year": 2022, "amount_cents": 25000, "status": "open"}]
    rows = json.loads(clerk("history", A, "--json", "--as-of", "2023-06-01").output)
    fine = next(e for e in rows if e["type"] == "FineImposed")
    assert "annulled_by" not in fine
    assert next(e for e in rows if e["id"] == appeal["id"])["retracted_by"]


def test_the_adjustments_of_a_retracted_allowance_are_marked_retracted(clerk: Clerk) -> None:
    # R-PREM-9: retracting the backdated allowance retracts the claim adjustments it caused;
    # status no longer applies them, and history marks them as it marks the allowance.
    _play(clerk)
    rows = json.loads(clerk("history", A, "--json").output)
    allowance = next(e for e in rows if e["type"] == "AllowanceChanged")
    clerk("retract", A, "--event", allowance["id"], "--reason", "wrong member", now="2023-03-01T09:00:00")
    status = clerk.status(A, "--as-of", "2023-06-01")
    assert [(p["year"], p["due_cents"], p["adjusted"]) for p in status["premiums"] if p["year"] == 2022] == [
        (2022, 5400, False)
    ]
    rows = json.loads(clerk("history", A, "--json", "--as-of", "2023-06-01").output)
    adjustments = [e for e in rows if e["type"] == "PremiumAdjusted"]
    assert [e["year"] for e in adjustments] == [2022, 2023]
    everything = json.loads(clerk("history", A, "--json").output)
    assert {e.get("retracted_by") for e in adjustments} == {
        next(e["id"] for e in everything if e["type"] == "EventRetracted")
    }
    before = json.loads(clerk("history", A, "--json", "--known-on", "2023-02-28T00:00:00").output)
    assert all("retracted_by" not in e for e in before if e["type"] == "PremiumAdjusted")


def test_before_the_registration_was_recorded_every_question_refuses(clerk: Clerk) -> None:
    # R-OBL-1: as known on 2020-01-01T08:59:59 the fund did not know the person yet.
    _play(clerk)
    questions = ["status", "--json"], ["explain"], ["explain", "--json"], ["history"], ["history", "--json"]
    for question in questions:
        result = clerk(*question, A, "--known-on", "2020-01-01T08:59:59", expect=1)
        assert "R-OBL-1" in result.output
        assert "not registered as known on 2020-01-01T08:59:59" in result.output
    assert clerk.status(A, "--known-on", "2020-01-01T09:00:00")["known_on"] == "2020-01-01T09:00:00"
    day = json.loads(clerk("history", A, "--json", "--known-on", "2020-01-01").output)  # its end
    assert [e["type"] for e in day] == ["Registered"]


def test_r_prem_7_after_a_retracted_reversal_the_right_one_can_be_recorded(clerk: Clerk) -> None:
    # The bank took the 58 € back on 20 February, not on 2 February as first typed.
    _play(clerk)
    clerk("pay", A, "--amount", "58", "--on", "2023-02-01", "--bank-ref", "FEB", now="2023-02-01T10:00:00")
    clerk("reverse-payment", A, "--bank-ref", "FEB", "--on", "2023-02-02", now="2023-02-02T10:00:00")
    refused = clerk("reverse-payment", A, "--bank-ref", "FEB", "--on", "2023-02-20", expect=1)
    assert "R-PREM-7" in refused.output and "already reversed" in refused.output
    rows = json.loads(clerk("history", A, "--json").output)
    wrong = next(e for e in rows if e["type"] == "PaymentReversed" and e["on"] == "2023-02-02")
    clerk("retract", A, "--event", wrong["id"], "--reason", "wrong day", now="2023-02-21T09:00:00")
    clerk("reverse-payment", A, "--bank-ref", "FEB", "--on", "2023-02-20", now="2023-02-21T09:05:00")
    assert clerk.status(A, "--as-of", "2023-02-19")["arrears"]["premiums_cents"] == 10500
    assert clerk.status(A, "--as-of", "2023-02-20")["arrears"]["premiums_cents"] == 16300
    rows = json.loads(clerk("history", A, "--json").output)
    assert next(e for e in rows if e.get("bank_ref") == "FEB")["reversed_on"] == "2023-02-20"
