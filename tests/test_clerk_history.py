"""``history`` as a timeline: one line per event in words, corrections beside what they correct."""

from __future__ import annotations

import json

from tests.conftest import Clerk
from tests.test_clerk_explain import B, story  # noqa: F401 - the shared story fixture


def test_history_is_one_line_per_event_in_words_by_effective_date(story: Clerk) -> None:  # noqa: F811
    lines = story("history", B).output.splitlines()
    assert len(lines) == 13
    assert [line[:10] for line in lines] == sorted(line[:10] for line in lines)
    assert lines[0].startswith(
        "2022-01-03  Registered: born 1985-06-15, living in Flanders since 1985-06-15, health fund CM"
    )
    assert lines[0].endswith("recorded 2022-01-03 09:00 by test-clerk")
    payment = next(line for line in lines if "BANK-2024-000456" in line)
    assert payment.startswith("2024-05-01  Payment of € 54,00 received (bank ref BANK-2024-000456)   ")
    assert payment.endswith("   recorded 2024-05-02 08:30 by test-clerk")
    for line in lines:
        assert len(line) < 200 and "{" not in line and "_cents" not in line


def test_corrections_are_shown_next_to_what_they_correct(story: Clerk) -> None:  # noqa: F811
    lines = story("history", B).output.splitlines()
    reversed_payment = next(line for line in lines if "BANK-2024-000789" in line)
    marked = "Payment of € 20,00 received (bank ref BANK-2024-000789)  [reversed on 2024-05-20]"
    assert marked in reversed_payment
    fine = next(line for line in lines if line.startswith("2023-10-20"))
    assert "Fine of € 250,00 imposed for the premiums of 2022 and 2023 (letter of 2023) (R-FINE-1)" in fine
    assert "[annulled on appeal on 2024-06-01]" in fine
    reversal = next(line for line in lines if line.startswith("2024-05-20"))
    assert "The bank took back the payment of € 20,00 of 2024-05-08, bank ref BANK-2024-000789" in reversal


def test_history_json_carries_the_same_marks_and_keeps_every_field(story: Clerk) -> None:  # noqa: F811
    events = json.loads(story("history", B, "--json").output)
    assert [e["version"] for e in events] == list(range(1, 14))
    by_type = {}
    for e in events:
        by_type.setdefault(e["type"], []).append(e)
    reversal = by_type["PaymentReversed"][0]
    paid = next(e for e in by_type["PremiumPaid"] if e["bank_ref"] == "BANK-2024-000789")
    assert (paid["reversed_by"], paid["reversed_on"]) == (reversal["id"], "2024-05-20")
    assert reversal["corrects"] == paid["id"] == reversal["payment_id"]
    appeal = by_type["FineAppealDecided"][0]
    fine = by_type["FineImposed"][0]
    assert (fine["annulled_by"], fine["annulled_on"]) == (appeal["id"], "2024-06-01")
    assert appeal["corrects"] == fine["id"]
    assert {"type", "insz", "on", "recorded_at", "clerk", "id", "amount_cents"} <= set(paid)


def test_a_mark_is_only_shown_as_known_then(story: Clerk) -> None:  # noqa: F811
    then = story("history", B, "--known-on", "2024-05-15T00:00:00").output
    assert "BANK-2024-000789)   " in then and "[reversed" not in then
    events = json.loads(story("history", B, "--json", "--as-of", "2024-05-19").output)
    assert not any("reversed_by" in e for e in events)


def test_recorded_orders_by_recorded_time(clerk: Clerk) -> None:
    a = B
    clerk.register(a, "1985-06-15", "flanders", "CM", "2024-01-02", "--resident-since", "1985-06-15")
    clerk("pay", a, "--amount", "10", "--on", "2024-03-01", "--bank-ref", "LATE", now="2024-09-01T10:00:00")
    clerk("pay", a, "--amount", "20", "--on", "2024-06-01", "--bank-ref", "EARLY", now="2024-06-02T10:00:00")
    by_day = [line for line in clerk("history", a).output.splitlines() if "Payment" in line]
    recorded = clerk("history", a, "--recorded").output.splitlines()
    by_recorded = [line for line in recorded if "Payment" in line]
    assert ["LATE" in by_day[0], "EARLY" in by_day[1]] == [True, True]
    assert ["EARLY" in by_recorded[0], "LATE" in by_recorded[1]] == [True, True]


def test_every_event_type_has_a_sentence_of_its_own() -> None:
    """A new event type (the claims brought three) never reaches a clerk as field names and ids."""
    from ledger import events as ev
    from projections.timeline import _WORDS

    types = {
        t for t in vars(ev).values() if isinstance(t, type) and issubclass(t, ev.Event) and t is not ev.Event
    }
    assert types - set(_WORDS) == set()


def test_r_prem_9_claims_and_their_corrections_read_as_sentences() -> None:
    import uuid
    from datetime import date, datetime

    from ledger import events as ev
    from projections.timeline import describe

    stamp = {"insz": B, "recorded_at": datetime(2024, 5, 1, 10), "clerk": "an.peeters"}
    adjusted = ev.PremiumAdjusted(
        **stamp, on=date(2023, 1, 1), year=2024, claim_id=uuid.uuid4(), amount_cents=3100, reduced=True,
        source="BVR art. 68", confirmed=True, reason="increased allowance granted from 2023-01-01",
    )  # fmt: skip
    assert describe(adjusted) == (
        "The claim of the 2024 premium adjusted to € 31,00 (reduced rate): "
        "increased allowance granted from 2023-01-01 (R-PREM-9)"
    )
    deducted = ev.PremiumDeducted(
        **stamp, on=date(2025, 4, 1), year=2025, amount_cents=6400, reduced=False, fund="CM",
        monthly_cents=13000,
    )  # fmt: skip
    assert describe(deducted) == (
        "The 2025 premium of € 64,00 deducted from the care budget payment of € 130,00 (R-PREM-5)"
    )
    mandate = ev.DirectDebitRequested(**stamp, on=date(2025, 1, 10), first_year=2025)
    assert describe(mandate) == "Direct-debit mandate received: premiums from 2025 are debited (R-PREM-8)"
    ended = ev.DirectDebitRequested(**stamp, on=date(2025, 3, 1), first_year=2026, stop=True)
    assert describe(ended) == (
        "Direct-debit mandate ended: premiums from 2026 are no longer debited (R-PREM-8)"
    )
    invited = ev.PremiumInvited(
        **stamp, on=date(2025, 1, 15), year=2025, amount_cents=6400, reduced=False, ogm="255890325590",
        fund="CM", direct_debit=True,
    )  # fmt: skip
    assert describe(invited) == (
        "Payment invitation for the 2025 premium: € 64,00, structured message 255890325590, "
        "to be debited under the mandate (R-PREM-8)"
    )
