"""What a clerk reads on the phone: ``explain``, ``history`` and ``status`` in words.

One member's story (a letter, a fine annulled on appeal, a payment naming its year, a
payment without a structured message, a reversed payment, a switch), and the exact
sentences a clerk reads for it.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from projections.wording import and_list, eur, public_source
from tests.conftest import Clerk, make_insz

B = make_insz(date(1985, 6, 15), 21)


def _story(clerk: Clerk) -> None:
    def at(now: str, *args: str) -> None:
        clerk(*args, now=now, today=now[:10])

    at(
        "2022-01-03T09:00:00",
        "register",
        B,
        "--born",
        "1985-06-15",
        "--region",
        "flanders",
        "--health-fund",
        "CM",
        "--resident-since",
        "1985-06-15",
        "--on",
        "2022-01-03",
    )
    at("2022-01-03T09:05:00", "affiliate", B, "--fund", "CM", "--on", "2022-01-03")
    at("2022-01-15T09:00:00", "run", "invitations", "--year", "2022", "--on", "2022-01-15")
    at("2023-01-15T09:00:00", "run", "invitations", "--year", "2023", "--on", "2023-01-15")
    at("2023-08-20T09:00:00", "run", "letters", "--year", "2023", "--on", "2023-08-20")
    at("2023-10-20T09:00:00", "run", "fines", "--year", "2023", "--on", "2023-10-20")
    at("2024-01-15T09:00:00", "run", "invitations", "--year", "2024", "--on", "2024-01-15")
    ogm = next(
        e["ogm"]
        for e in json.loads(clerk("history", B, "--json").output)
        if e["type"] == "PremiumInvited" and e["year"] == 2024
    )
    at(
        "2024-03-04T08:30:00",
        "pay",
        B,
        "--amount",
        "62",
        "--on",
        "2024-03-02",
        "--ogm",
        ogm,
        "--bank-ref",
        "BANK-2024-000123",
    )
    at(
        "2024-05-02T08:30:00",
        "pay",
        B,
        "--amount",
        "54,00",
        "--on",
        "2024-05-01",
        "--bank-ref",
        "BANK-2024-000456",
    )
    at(
        "2024-05-10T08:30:00",
        "pay",
        B,
        "--amount",
        "20",
        "--on",
        "2024-05-08",
        "--bank-ref",
        "BANK-2024-000789",
    )
    at(
        "2024-05-20T08:30:00",
        "reverse-payment",
        B,
        "--bank-ref",
        "BANK-2024-000789",
        "--on",
        "2024-05-20",
        "--reason",
        "refused by the member's bank",
    )
    at("2024-06-03T10:00:00", "appeal", B, "--fine-year", "2023", "--upheld", "--on", "2024-06-01")
    at("2024-10-21T11:00:00", "switch", B, "--to", "VZK", "--requested-on", "2024-10-20")
    clerk.today = "2025-03-01"


# fmt: skip


@pytest.fixture
def story(clerk: Clerk) -> Clerk:
    _story(clerk)
    return clerk


def _explain(clerk: Clerk, *args: str) -> list[str]:
    return clerk("explain", B, *args).output.splitlines()


def test_euro_as_a_belgian_clerk_writes_them() -> None:
    assert [eur(6400), eur(123456), eur(5), eur(0), eur(-2500)] == [
        "€ 64,00", "€ 1.234,56", "€ 0,05", "€ 0,00", "-€ 25,00",
    ]  # fmt: skip
    assert eur(100_000_000_00) == "€ 100.000.000,00"


def test_lists_and_sources_read_as_words() -> None:
    assert and_list([2023, 2024, 2025]) == "2023, 2024 and 2025"
    assert and_list([]) == "none"
    expected = "European Commission, \"Belgium – Long-term care\" ('EUR 58')"
    assert public_source("seed 002 ('EUR 58')") == expected


def test_r_prem_1_each_premium_with_its_claim_what_was_paid_and_what_is_due(story: Clerk) -> None:
    lines = _explain(story, "--as-of", "2024-12-31")
    assert lines[0] == "Member " + B + " on 31 December 2024"
    assert (
        "- The 2023 premium is € 58,00 at the normal rate, claimed (R-PREM-9) by the payment invitation "
        "sent on 15 January 2023 (structured message "
    ) in "\n".join(lines)
    premium_2023 = next(line for line in lines if line.startswith("- The 2023 premium"))
    assert premium_2023.endswith(
        "recorded 2023-01-15 09:00 by test-clerk); the amount is confirmed. Due by 30 April 2023 (R-PREM-2). "
        "Paid: nothing. Still due: € 58,00 (unpaid). [R-PREM-1]"
    )
    premium_2022 = next(line for line in lines if line.startswith("- The 2022 premium"))
    assert premium_2022.endswith(
        "Paid: € 54,00 on 1 May 2024 from the payment of € 54,00 (bank ref BANK-2024-000456). "
        "Paid in full on 1 May 2024. [R-PREM-1]"
    )
    assert lines[-1] == "Total owed: € 58,00 = premiums € 58,00 (2023) + fines € 0,00."


def test_r_prem_7_explain_says_where_each_payment_went_and_why(story: Clerk) -> None:
    text = "\n".join(_explain(story, "--as-of", "2024-12-31"))
    assert (
        "It names the 2024 premium. It went: € 62,00 to the 2024 premium: the year its structured "
        "message names. [R-PREM-7]"
    ) in text
    assert (
        "- Payment of € 54,00 received (bank ref BANK-2024-000456) on 1 May 2024 (recorded 2024-05-02 08:30 "
        "by test-clerk). It went: € 54,00 to the 2022 premium: the oldest unpaid premium among those already "
        "claimed with a fine, after every premium that can still lead to one. [R-PREM-7]"
    ) in text
    assert (
        "- Payment of € 20,00 received (bank ref BANK-2024-000789) on 8 May 2024 (recorded 2024-05-10 08:30 "
        "by test-clerk). The bank took it back on 20 May 2024: it pays nothing from then on. [R-PREM-6]"
    ) in text
    assert "then to the oldest unpaid premium, years that can still lead to a fine before years" in text


def test_r_fine_2_a_fine_annulled_on_appeal_says_so_and_nothing_is_due(story: Clerk) -> None:
    text = "\n".join(_explain(story, "--as-of", "2024-12-31"))
    assert (
        "- A registered letter was sent on 20 August 2023 for the premiums of 2022 and 2023 "
        "(€ 112,00 unpaid then). [R-LET-1]"
    ) in text
    assert (
        "- A fine of € 250,00 was imposed on 20 October 2023 for the premiums of 2022 and 2023, "
        "unpaid after the letter of 2023 (R-FINE-1). It is annulled: the appeal was upheld on 1 June 2024 "
        "(R-FINE-2); nothing is due. [R-FINE-2]"
    ) in text
    before = "\n".join(_explain(story, "--as-of", "2024-05-31"))
    assert "It is open: € 250,00 still due. [R-FINE-1]" in before


def test_r_sw_1_explain_names_the_same_fund_as_status_on_every_date(story: Clerk) -> None:
    for as_of in ("2024-12-31", "2025-01-01", "2025-03-01"):
        status = story.status(B, "--as-of", as_of)
        data = json.loads(story("explain", B, "--as-of", as_of, "--json").output)
        fund = next(s for s in data["trace"] if s["figure"] == "fund")
        assert fund["value"] == {"fund": status["fund"], "kind": status["kind"]}, as_of
        assert f"member of {status['fund']} (" in fund["because"]
    text = "\n".join(_explain(story, "--as-of", "2024-12-31"))
    assert (
        "- A switch to VZK (Vlaamse Zorgkas) was requested on 20 October 2024; it takes effect on "
        "1 January 2025, so on 31 December 2024 the fund is still CM. [R-SW-1]"
    ) in text
    later = "\n".join(_explain(story, "--as-of", "2025-03-01"))
    switched = "CM (CM-Zorgkas Vlaanderen) from 1 January 2022, then VZK (Vlaamse Zorgkas) from 1 January"
    assert switched in later
    assert "- On 1 March 2025 a compulsory member of VZK (Vlaamse Zorgkas). [R-AFF-1]" in later


def test_explain_never_prints_python_literals_internal_notes_or_bare_cents(story: Clerk) -> None:
    for as_of in ("2023-09-01", "2024-05-31", "2024-12-31", "2025-03-01"):
        text = story("explain", B, "--as-of", as_of).output
        for literal in ("True", "False", "None", "[20", "_cents", "seed 00", "DOMAIN", "../shared"):
            assert literal not in text, (as_of, literal)
        if "incomplete" in text:
            assert "Still due: € " in text


def test_an_incomplete_premium_always_says_what_is_still_due(clerk: Clerk) -> None:
    a = make_insz(date(1990, 2, 2), 43)
    clerk.register(a, "1990-02-02", "flanders", "CM", "2025-01-02", "--resident-since", "1990-02-02")
    # Only a member is invited for 2025: the 26th birthday's window (R-AFF-1/2) is long past.
    clerk("affiliate", a, "--fund", "CM", "--on", "2025-01-02", today="2025-01-02")
    clerk("run", "invitations", "--year", "2025", "--on", "2025-01-15", today="2025-01-15")
    clerk("pay", a, "--amount", "40", "--on", "2025-03-01", today="2025-03-01")
    text = clerk("explain", a, "--as-of", "2025-06-01").output
    assert (
        "Still due: € 24,00 — incomplete: a premium cannot be paid in instalments, so it counts as unpaid "
        "for letters and fines (R-PREM-6)."
    ) in text
    assert (
        "It went: € 40,00 to the 2025 premium: the oldest unpaid premium that can still lead to a fine "
        "(it carries no structured message). [R-PREM-7]"
    ) in text


def test_explain_json_is_the_same_trace_as_data(story: Clerk) -> None:
    data = json.loads(story("explain", B, "--as-of", "2024-12-31", "--json").output)
    text = story("explain", B, "--as-of", "2024-12-31").output
    assert set(data) >= {"insz", "as_of", "known_on", "status", "trace", "total"}
    for step in data["trace"]:
        assert step["because"] in text
        assert step["rule"].startswith("R-")
    premium = next(s for s in data["trace"] if s["figure"] == "premium 2022")
    assert premium["value"]["paid_by"] == [
        {"target": "premium", "year": 2022, "cents": 5400, "on": "2024-05-01",
         "payment_id": premium["value"]["paid_by"][0]["payment_id"], "rule": "R-PREM-7"}
    ]  # fmt: skip
    assert premium["events"][0]["type"] == "PremiumInvited"
    assert premium["events"][0]["recorded_at"] == "2022-01-15T09:00:00"
    assert data["total"] == text.splitlines()[-1]


def test_status_in_words_has_euro_and_no_python_literals(story: Clerk) -> None:
    lines = story("status", B, "--as-of", "2024-12-31").output.splitlines()
    assert lines == [
        f"{B} on 31 December 2024: compulsory (R-OBL-1)",
        "  member of CM (CM-Zorgkas Vlaanderen), compulsory, since 2022-01-01; joined on time: no",
        "  eligible for a care budget: yes (from 2022-01-01; R-ELIG-1)",
        "  owes € 58,00: premiums € 58,00 (2023), fines € 0,00; credit € 0,00",
        "  letter 2023 sent 2023-08-20 for 2022 and 2023",
        "  fine 2023: € 250,00 annulled",
        "  switching to VZK on 2025-01-01",
    ]


def test_r_prem_1_the_source_and_confirmation_are_read_from_the_claim() -> None:
    from types import SimpleNamespace

    from projections.explain import _source

    recorded = SimpleNamespace(source="BVR art. 68, version in force from 1 January 2026", confirmed=False)
    assert _source(recorded) == ("BVR art. 68, version in force from 1 January 2026", False)
    # A claim recorded with a research number as its source is read with the public title.
    older = SimpleNamespace(source="seed 000 states 62", confirmed=True)
    assert _source(older) == (
        'Vlaamse sociale bescherming, "Joining the Flemish Social Protection" states 62',
        True,
    )


def test_an_event_type_without_its_own_sentence_still_reads_as_words() -> None:
    from datetime import datetime

    from ledger import events as ev
    from projections.timeline import _generic

    e = ev.PremiumInvited(
        insz=B, on=date(2024, 1, 15), recorded_at=datetime(2024, 1, 15, 9), clerk="an.peeters",
        year=2024, amount_cents=6200, reduced=False, ogm="244208707338", fund="CM",
        source="BVR art. 68", confirmed=False, direct_debit=True,
    )  # fmt: skip
    assert _generic(e) == (
        "Premium invited: year 2024, amount € 62,00, not reduced, ogm 244208707338, fund CM, "
        "source BVR art. 68, not confirmed, direct debit"
    )


def test_r_prem_7_explain_json_gives_the_reason_of_every_part_of_a_payment(story: Clerk) -> None:
    data = json.loads(story("explain", B, "--as-of", "2024-12-31", "--json").output)
    payments = {s["figure"]: s["value"] for s in data["trace"] if s["figure"].startswith("payment ")}
    assert [(a["year"], a["cents"], a["reason"]) for a in payments["payment 2024-03-02"]["allocations"]] == [
        (2024, 6200, "named_year")
    ]
    assert [(a["year"], a["cents"], a["reason"]) for a in payments["payment 2024-05-01"]["allocations"]] == [
        (2022, 5400, "oldest_fined")
    ]
    reversed_payment = {"amount_cents": 2000, "reversed_on": "2024-05-20", "allocations": []}
    assert payments["payment 2024-05-08"] == reversed_payment


def test_r_prem_8_status_in_words_names_the_direct_debit_mandate(clerk: Clerk) -> None:
    a = make_insz(date(1990, 2, 2), 47)
    clerk.register(a, "1990-02-02", "flanders", "CM", "2023-12-01", "--resident-since", "1990-02-02")
    clerk("affiliate", a, "--fund", "CM", "--on", "2024-01-02", today="2024-01-02")
    clerk("direct-debit", a, "--requested-on", "2025-01-10", today="2025-01-10")
    lines = clerk("status", a, "--as-of", "2025-02-01", today="2025-02-01").output.splitlines()
    assert lines[-1] == "  direct debit: premiums from 2025 (mandate of 2025-01-10; R-PREM-8)"
    at = {"today": "2025-01-15", "now": "2025-01-15T09:00:00"}
    clerk("run", "invitations", "--year", "2025", "--on", "2025-01-15", **at)
    explained = clerk("explain", a, "--as-of", "2025-02-01", today="2025-02-01").output
    assert "recorded 2025-01-15 09:00 by test-clerk), to be debited under the mandate (R-PREM-8)" in explained
    clerk("direct-debit", a, "--requested-on", "2025-03-01", "--stop", today="2025-03-01")
    lines = clerk("status", a, "--as-of", "2025-03-01", today="2025-03-01").output.splitlines()
    assert lines[-1] == "  direct debit: premiums of 2025 (mandate of 2025-01-10; R-PREM-8)"
    page = clerk("dossier", a, "--as-of", "2025-03-01", "--out", "-", today="2025-03-01").output
    assert "<td>Direct debit</td><td>premiums of 2025 (mandate of 2025-01-10; R-PREM-8)</td>" in page


def test_r_prem_8_a_mandate_stopped_before_its_first_premium_reads_as_none(clerk: Clerk) -> None:
    """Requested and stopped after 15 January, both from the next year: no premium is debited
    (``until_year`` is the year before ``from_year``), never "premiums 2026 to 2025"."""
    a = make_insz(date(1990, 2, 2), 48)
    clerk.register(a, "1990-02-02", "flanders", "CM", "2023-12-01", "--resident-since", "1990-02-02")
    clerk("affiliate", a, "--fund", "CM", "--on", "2024-01-02", today="2024-01-02")
    clerk("direct-debit", a, "--requested-on", "2025-11-20", today="2025-11-20")
    clerk("direct-debit", a, "--requested-on", "2025-11-21", "--stop", today="2025-11-21")
    data = json.loads(clerk("status", a, "--json", today="2025-11-21").output)
    assert data["direct_debit"] == {"requested_on": "2025-11-20", "from_year": 2026, "until_year": 2025}
    lines = clerk("status", a, today="2025-11-21").output.splitlines()
    want = "none: the mandate of 2025-11-20 was stopped before its first premium, 2026 (R-PREM-8)"
    assert lines[-1] == f"  direct debit: {want}"


def test_explain_says_why_a_recorded_claim_is_not_owed(clerk: Clerk) -> None:
    """A claim that an exemption frees (R-PREM-4), or that no membership covers yet (R-PREM-9),
    drops out of status; explain names the claim, the rule and the fact that frees it."""
    a = make_insz(date(1998, 2, 2), 49)  # turns 26 in 2024: invited before joining (R-AFF-2)
    clerk.register(a, "1998-02-02", "flanders", "CM", "2023-12-01", "--resident-since", "1998-02-02")
    clerk("run", "invitations", "--year", "2024", "--on", "2024-01-15", today="2024-01-15")
    before = json.loads(clerk("explain", a, "--as-of", "2024-02-01", "--json", today="2024-02-01").output)
    step = next(s for s in before["trace"] if s["figure"] == "claim 2024")
    assert step["rule"] == "R-PREM-9" and step["value"] == {"claimed_cents": 6200, "owed": False}
    assert "no membership covers 2024 on 1 February 2024: it is owed once one does" in step["because"]
    clerk("affiliate", a, "--fund", "CM", "--on", "2024-02-01", today="2024-02-01")
    assert clerk.status(a, "--as-of", "2024-03-01", today="2024-03-01")["arrears"]["premiums_cents"] == 6200
    clerk("exempt", a, "--reason", "debt-settlement", "--from", "2024-09-01", today="2024-10-01")
    text = clerk("explain", a, "--as-of", "2024-10-01", today="2024-10-01").output
    assert (
        "but is not owed: exempt from premiums (debt settlement) from 1 September 2024: an exemption "
        "that covers any day of a year frees that year's premium. [R-PREM-4]"
    ) in text
    data = json.loads(clerk("explain", a, "--as-of", "2024-10-01", "--json", today="2024-10-01").output)
    step = next(s for s in data["trace"] if s["figure"] == "claim 2024")
    assert [e["type"] for e in step["events"]] == ["PremiumInvited", "ExemptionGranted"]
    assert data["status"]["premiums"] == []


def test_explain_says_a_cancelled_membership_no_longer_covers_its_claims(clerk: Clerk) -> None:
    """A voluntary member who left 2023 and 2024 unpaid is cancelled as from 2022 (R-AFF-4):
    the claims of those years are named, with the cancellation, instead of vanishing."""
    v = make_insz(date(1985, 5, 5), 50)
    clerk.register(v, "1985-05-05", "brussels", "NONE", "2022-01-03", "--resident-since", "1985-05-05")
    clerk("affiliate", v, "--fund", "VZK", "--voluntary", "--on", "2022-01-03", today="2022-01-03")
    for year in (2022, 2023, 2024):
        clerk("run", "invitations", "--year", str(year), "--on", f"{year}-01-15", today=f"{year}-01-15")
    clerk("pay", v, "--amount", "54", "--on", "2022-01-20", today="2022-01-20")
    clerk("run", "cancellations", "--year", "2024", "--on", "2024-12-20", today="2024-12-20")
    data = json.loads(clerk("explain", v, "--json", today="2024-12-20").output)
    steps = {s["figure"]: s for s in data["trace"]}
    for year in (2023, 2024):
        step = steps[f"claim {year}"]
        assert step["rule"] == "R-AFF-4"
        assert step["because"].endswith(
            f"but is not owed: no membership covers {year}: the membership ended on "
            "31 December 2022 (cancelled for unpaid premiums)."
        )
        assert [e["type"] for e in step["events"]] == ["PremiumInvited", "Cancelled"]
