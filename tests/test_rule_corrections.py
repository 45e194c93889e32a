"""The rule book's corrections, each an example with exact dates and cents:
R-OBL-1 (moving from Brussels to Flanders), R-OBL-5 (international staff),
R-PREM-4 (death), R-LET-1 (1 September), R-PREM-8 (direct-debit mandates)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1990, 2, 2), 71)
BXL = make_insz(date(1980, 3, 3), 73)  # turned 26 in 2006, in Brussels
KID = make_insz(date(2005, 5, 5), 75)


def _history(clerk: Clerk, insz: str) -> list[dict[str, Any]]:
    return json.loads(clerk("history", insz, "--json").output)


def _member_since_2020(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2019-12-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2020-01-02")


# -- R-OBL-1: a Brussels resident who moves to Flanders ----------------------------------
def _brussels_to_flanders(clerk: Clerk) -> None:
    clerk.register(BXL, "1980-03-03", "brussels", "NZV", "2020-01-01", "--resident-since", "1980-03-03")
    clerk("move", BXL, "--region", "flanders", "--on", "2024-03-01")


def test_R_OBL_1_a_brussels_resident_moving_to_flanders_is_obliged_from_the_year_of_the_move(
    clerk: Clerk,
) -> None:
    _brussels_to_flanders(clerk)
    assert clerk.status(BXL, "--as-of", "2024-02-29")["obligation"] == "voluntary"
    assert clerk.status(BXL, "--as-of", "2024-03-01")["obligation"] == "compulsory"
    # The newcomer's window (R-AFF-2): 2024 and 2025, invited from the move.
    invite(clerk, 2024, on="2024-03-15")
    invite(clerk, 2025)
    assert [e["year"] for e in _history(clerk, BXL) if e["type"] == "PremiumInvited"] == [2024, 2025]
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    s = clerk.status(BXL, "--as-of", "2024-07-01")
    assert (s["fund"], s["kind"], s["affiliated_since"]) == ("VZK", "automatic", "2024-01-01")
    assert (s["arrears"]["premiums_cents"], s["unclaimed_years"]) == (6200, [])
    # R-ELIG-2: he did not join when he first could (2006, in Brussels): five years.
    assert (s["eligible"], s["eligible_from"]) == (False, "2029-01-01")
    assert "R-ELIG-2" in s["eligibility_rules"]


def test_R_OBL_1_the_newcomers_first_premiums_bring_no_letter_before_the_window_closes(clerk: Clerk) -> None:
    _brussels_to_flanders(clerk)
    invite(clerk, 2024, on="2024-03-15")
    invite(clerk, 2025)
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    clerk("run", "letters", "--year", "2025", "--on", "2025-08-20")
    assert clerk.status(BXL, "--as-of", "2025-09-01")["letters"] == []
    invite(clerk, 2026)
    clerk("run", "letters", "--year", "2026", "--on", "2026-08-20")
    assert clerk.status(BXL, "--as-of", "2026-09-01")["letters"] == [
        {"year": 2026, "sent_on": "2026-08-20", "premium_years": [2024, 2025, 2026]}
    ]


def test_R_OBL_1_one_insured_abroad_moving_to_flanders_is_obliged_from_the_move(clerk: Clerk) -> None:
    clerk("register", BXL, "--born", "1980-03-03", "--region", "flanders", "--health-fund", "CM",
          "--situation", "works-abroad", "--resident-since", "1980-03-03", "--on", "2020-01-01")  # fmt: skip
    clerk("move", BXL, "--region", "flanders", "--situation", "resident", "--on", "2023-10-01")
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    s = clerk.status(BXL, "--as-of", "2024-07-01")
    assert (s["affiliated_since"], s["eligible_from"]) == ("2023-01-01", "2028-01-01")


# -- R-OBL-5: international staff and their dependants -----------------------------------
def test_R_OBL_5_dependants_of_international_staff_cannot_join_not_even_early(clerk: Clerk) -> None:
    clerk("register", KID, "--born", "2005-05-05", "--region", "brussels", "--health-fund", "NONE",
          "--situation", "international-staff", "--on", "2024-01-10")  # fmt: skip
    refused = clerk("affiliate", KID, "--fund", "VZK", "--early", "--on", "2024-02-01", expect=1)
    assert "R-OBL-5" in refused.output and "not even early" in refused.output
    assert clerk.status(KID, "--as-of", "2024-02-01")["affiliated"] is False


def test_R_OBL_5_staff_who_opted_for_belgian_social_security_are_voluntary(clerk: Clerk) -> None:
    clerk("register", BXL, "--born", "1980-03-03", "--region", "flanders", "--health-fund", "NONE",
          "--situation", "international-staff-opted-in", "--on", "2024-01-10")  # fmt: skip
    s = clerk.status(BXL, "--as-of", "2024-01-10")
    assert (s["obligation"], s["obligation_rule"]) == ("voluntary", "R-OBL-5")
    refused = clerk("affiliate", BXL, "--fund", "VZK", "--on", "2024-02-01", "--early", expect=1)
    assert "R-OBL-7" in refused.output
    clerk("affiliate", BXL, "--fund", "VZK", "--voluntary", "--on", "2024-02-01")
    assert clerk.status(BXL, "--as-of", "2024-02-01")["kind"] == "voluntary"
    clerk("run", "auto-affiliation", "--year", "2025", today="2025-07-01")  # never automatic
    assert [e["kind"] for e in _history(clerk, BXL) if e["type"] == "Affiliated"] == ["voluntary"]


# -- R-PREM-4: death -------------------------------------------------------------------------
def test_R_PREM_4_a_premium_claimed_before_death_stays_owed_nothing_after(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2024)
    clerk("death", A, "--on", "2024-06-30")
    s = clerk.status(A, "--as-of", "2024-12-31")
    assert (s["arrears"]["premiums_cents"], s["arrears"]["unpaid_years"]) == (6200, [2024])
    assert "0 events written" in clerk("run", "invitations", "--year", "2025", "--on", "2025-01-15").output
    assert "0 events written" in clerk("run", "letters", "--year", "2024", "--on", "2024-08-20").output
    assert "0 events written" in clerk("run", "fines", "--year", "2024", "--on", "2024-10-20").output
    # Years after the death are no premium years; 2020-2023 were simply never claimed.
    assert clerk.status(A, "--as-of", "2025-12-31")["unclaimed_years"] == [2020, 2021, 2022, 2023]


def test_R_PREM_4_a_claim_dated_after_the_death_is_void(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2024)  # 15 January; the death of 10 January is learned later
    clerk("death", A, "--on", "2024-01-10")
    s = clerk.status(A, "--as-of", "2024-12-31")
    assert (s["arrears"]["total_cents"], s["premiums"]) == (0, [])


# -- R-LET-1: letters by 1 September ---------------------------------------------------------
def test_R_LET_1_a_letter_run_after_1_september_is_refused(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2023, 2024)
    refused = clerk("run", "letters", "--year", "2024", "--on", "2024-09-02", expect=1)
    assert "R-LET-1" in refused.output and "2024-09-01" in refused.output
    assert clerk.status(A, "--as-of", "2024-09-02")["letters"] == []
    clerk("run", "letters", "--year", "2024", "--on", "2024-09-01")
    assert clerk.status(A, "--as-of", "2024-09-02")["letters"][0]["premium_years"] == [2023, 2024]


# -- R-PREM-8: direct-debit mandates -------------------------------------------------------
def test_R_PREM_8_a_mandate_before_15_january_applies_to_that_years_premium(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    out = clerk("direct-debit", A, "--requested-on", "2022-01-14").output
    assert "premiums from 2022 are debited" in out
    s = clerk.status(A, "--as-of", "2022-01-14")
    assert s["direct_debit"] == {"requested_on": "2022-01-14", "from_year": 2022, "until_year": None}
    invite(clerk, 2022)
    invitation = next(e for e in _history(clerk, A) if e["type"] == "PremiumInvited")
    assert invitation["direct_debit"] is True


def test_R_PREM_8_a_mandate_from_15_january_applies_from_next_year(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    clerk("direct-debit", A, "--requested-on", "2022-01-15")
    assert clerk.status(A, "--as-of", "2022-02-01")["direct_debit"]["from_year"] == 2023
    invite(clerk, 2022, 2023)
    debited = {e["year"]: e["direct_debit"] for e in _history(clerk, A) if e["type"] == "PremiumInvited"}
    assert debited == {2022: False, 2023: True}


def test_R_PREM_8_never_in_the_year_of_joining_never_for_an_overdue_premium(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    clerk("direct-debit", A, "--requested-on", "2020-01-10")
    assert clerk.status(A, "--as-of", "2020-02-01")["direct_debit"]["from_year"] == 2021
    invite(clerk, 2021, on="2021-03-02")  # invited after the debit day: overdue, by transfer
    invitation = next(e for e in _history(clerk, A) if e["type"] == "PremiumInvited")
    assert invitation["direct_debit"] is False


def test_R_PREM_8_a_mandate_needs_membership_and_is_stopped_by_the_same_rule(clerk: Clerk) -> None:
    clerk.register(BXL, "1980-03-03", "brussels", "NZV", "2020-01-01")
    refused = clerk("direct-debit", BXL, "--requested-on", "2022-01-10", expect=1)
    assert "R-PREM-8" in refused.output
    _member_since_2020(clerk)
    refused = clerk("direct-debit", A, "--requested-on", "2022-01-10", "--stop", expect=1)
    assert "no running direct-debit mandate" in refused.output
    clerk("direct-debit", A, "--requested-on", "2022-01-10")
    refused = clerk("direct-debit", A, "--requested-on", "2023-01-10", expect=1)
    assert "already runs" in refused.output
    clerk("direct-debit", A, "--requested-on", "2024-02-01", "--stop")
    s = clerk.status(A, "--as-of", "2024-03-01")
    assert s["direct_debit"] == {"requested_on": "2022-01-10", "from_year": 2022, "until_year": 2024}
    invite(clerk, 2025)
    assert _history(clerk, A)[-1]["direct_debit"] is False
