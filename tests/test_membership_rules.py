"""Who must join, joining, auto-affiliation and cancellation, through the CLI (R-OBL, R-AFF, R-FUND)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1998, 1, 1), 1)  # turns 26 in 2024
B = make_insz(date(1990, 5, 5), 2)


def test_R_OBL_1_flemish_resident_is_compulsory_from_the_year_they_turn_26(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "CM", "2023-06-01", "--resident-since", "1998-01-01")
    assert clerk.status(A, "--as-of", "2023-12-31")["obligation"] == "exempt"
    assert clerk.status(A, "--as-of", "2024-01-01")["obligation"] == "compulsory"


def test_R_OBL_2_brussels_resident_is_voluntary(clerk: Clerk) -> None:
    clerk.register(B, "1990-05-05", "brussels", "NZV", "2020-01-01")
    assert clerk.status(B, "--as-of", "2024-01-01")["obligation"] == "voluntary"


def test_R_OBL_3_wallonia_is_exempt_but_working_in_flanders_from_abroad_is_compulsory(clerk: Clerk) -> None:
    clerk.register(B, "1990-05-05", "wallonia", "SOM", "2020-01-01")
    assert clerk.status(B)["obligation"] == "exempt"
    c = make_insz(date(1985, 3, 3), 3)
    clerk(
        "register",
        c,
        "--born",
        "1985-03-03",
        "--region",
        "abroad",
        "--health-fund",
        "NONE",
        "--situation",
        "works-in-flanders",
        "--on",
        "2020-01-01",
    )
    assert clerk.status(c)["obligation"] == "compulsory"
    d = make_insz(date(1985, 3, 3), 5)
    clerk(
        "register",
        d,
        "--born",
        "1985-03-03",
        "--region",
        "abroad",
        "--health-fund",
        "NONE",
        "--situation",
        "works-in-brussels",
        "--on",
        "2020-01-01",
    )
    assert clerk.status(d)["obligation"] == "voluntary"


def test_R_OBL_4_flemish_resident_insured_abroad_may_choose(clerk: Clerk) -> None:
    clerk(
        "register",
        B,
        "--born",
        "1990-05-05",
        "--region",
        "flanders",
        "--health-fund",
        "CM",
        "--situation",
        "works-abroad",
        "--on",
        "2020-01-01",
    )
    assert clerk.status(B)["obligation"] == "voluntary"


def test_R_OBL_5_international_staff_may_not_join(clerk: Clerk) -> None:
    clerk(
        "register",
        B,
        "--born",
        "1990-05-05",
        "--region",
        "brussels",
        "--health-fund",
        "NONE",
        "--situation",
        "international-staff",
        "--on",
        "2020-01-01",
    )
    assert clerk.status(B)["obligation"] == "excluded"
    result = clerk("affiliate", B, "--fund", "VZK", "--voluntary", "--on", "2024-01-10", expect=1)
    assert "R-OBL-5" in result.output


def test_R_OBL_6_non_eu_student_is_exempt_and_not_auto_affiliated(clerk: Clerk) -> None:
    clerk(
        "register",
        B,
        "--born",
        "1990-05-05",
        "--region",
        "flanders",
        "--health-fund",
        "NONE",
        "--situation",
        "non-eu-student",
        "--on",
        "2020-01-01",
    )
    assert clerk.status(B)["obligation"] == "exempt"
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    assert clerk.status(B)["affiliated"] is False


def test_R_OBL_7_under_26_joins_early_without_premium(clerk: Clerk) -> None:
    young = make_insz(date(2003, 4, 4), 7)
    clerk.register(young, "2003-04-04", "flanders", "CM", "2024-02-01")
    refused = clerk("affiliate", young, "--fund", "CM", "--on", "2024-02-01", expect=1)
    assert "R-OBL-7" in refused.output
    clerk("affiliate", young, "--fund", "CM", "--early", "--on", "2024-02-01")
    s = clerk.status(young, "--as-of", "2025-06-01")
    assert (s["affiliated"], s["kind"], s["arrears"]["total_cents"]) == (True, "early", 0)
    assert s["eligible"] is True and s["eligibility_rules"] == ["R-ELIG-3"]


def test_R_FUND_1_joining_another_health_funds_care_fund_is_refused(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "CM", "2024-01-02")
    result = clerk("affiliate", A, "--fund", "SOM", "--on", "2024-02-01", expect=1)
    assert "R-FUND-1" in result.output
    clerk("affiliate", A, "--fund", "VZK", "--on", "2024-02-01")
    assert clerk.status(A)["fund"] == "VZK"


def test_R_AFF_1_paying_the_first_premium_affiliates_from_1_january(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "NZV", "2024-01-02")
    clerk("run", "invitations", "--year", "2024", "--on", "2024-01-15")
    clerk("pay", A, "--amount", "62", "--on", "2024-03-10", "--bank-ref", "X1")
    s = clerk.status(A, "--as-of", "2024-03-10")
    assert (s["affiliated"], s["fund"], s["kind"], s["affiliated_since"]) == (
        True,
        "NZV",
        "compulsory",
        "2024-01-01",
    )
    assert s["arrears"] == {"premiums_cents": 0, "fines_cents": 0, "total_cents": 0, "unpaid_years": []}
    assert clerk.status(A, "--as-of", "2024-03-09")["affiliated"] is False


def test_R_AFF_2_first_two_premiums_paid_by_end_of_27_means_joined_on_time(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024, 2025)
    clerk("pay", A, "--amount", "62", "--on", "2024-11-30")
    clerk("pay", A, "--amount", "64", "--on", "2025-12-31")
    assert clerk.status(A, "--as-of", "2026-01-05")["joined_on_time"] is True


def test_R_AFF_2_joined_on_time_is_undecided_until_the_second_premium_is_paid(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024)
    clerk("pay", A, "--amount", "62", "--on", "2024-03-01")  # the first premium: a member
    s = clerk.status(A, "--as-of", "2024-03-02")
    assert (s["affiliated"], s["affiliated_since"], s["joined_on_time"]) == (True, "2024-01-01", None)
    invite(clerk, 2025)
    assert clerk.status(A, "--as-of", "2025-06-01")["joined_on_time"] is None
    clerk("pay", A, "--amount", "64", "--on", "2025-06-02")
    assert clerk.status(A, "--as-of", "2025-06-03")["joined_on_time"] is True


def test_R_AFF_2_second_premium_late_means_not_on_time(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024, 2025)
    clerk("pay", A, "--amount", "62", "--on", "2024-11-30")
    assert clerk.status(A, "--as-of", "2025-06-01")["joined_on_time"] is None
    clerk("pay", A, "--amount", "64", "--on", "2026-01-02")
    assert clerk.status(A, "--as-of", "2026-02-01")["joined_on_time"] is False


def test_R_AFF_3_auto_affiliation_with_the_vlaamse_zorgkas_backdated(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024)  # an offer until an affiliation covers 2024 (R-PREM-9)
    assert clerk.status(A, "--as-of", "2024-06-30")["arrears"]["premiums_cents"] == 0
    refused = clerk("run", "auto-affiliation", "--year", "2024", today="2024-06-30", expect=1)
    assert "R-AFF-3" in refused.output
    out = clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01").output
    assert "1 member touched" in out
    s = clerk.status(A, "--as-of", "2024-08-01")
    assert (s["fund"], s["kind"], s["affiliated_since"]) == ("VZK", "automatic", "2024-01-01")
    assert s["arrears"]["premiums_cents"] == 6200 and s["arrears"]["unpaid_years"] == [2024]
    again = clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-02").output
    assert "0 members touched, 0 events written" in again


def test_R_AFF_4_voluntary_member_who_fails_twice_is_cancelled_backdated(clerk: Clerk) -> None:
    clerk.register(B, "1990-05-05", "brussels", "NZV", "2019-01-01", "--resident-since", "1990-05-05")
    clerk("affiliate", B, "--fund", "NZV", "--voluntary", "--on", "2020-02-01")
    invite(clerk, 2020, on="2020-02-15")
    invite(clerk, 2021, 2022, 2023, 2024)
    for year, amount in ((2020, "53"), (2021, "54"), (2022, "54")):
        clerk("pay", B, "--amount", amount, "--on", f"{year}-03-01")
    out = clerk("run", "cancellations", "--year", "2024", "--on", "2024-12-31").output
    assert "1 member touched" in out
    s = clerk.status(B, "--as-of", "2025-01-10")
    assert s["affiliated"] is False and s["fines"] == [] and s["letters"] == []
    assert s["arrears"]["premiums_cents"] == 0  # membership ended 2022-12-31: no later premiums
    assert clerk.status(B, "--as-of", "2022-12-31")["affiliated"] is True
    assert "0 members touched" in clerk("run", "cancellations", "--year", "2024", "--on", "2024-12-31").output


def test_R_AFF_4_rejoining_after_cancellation_waits_five_years(clerk: Clerk) -> None:
    test_R_AFF_4_voluntary_member_who_fails_twice_is_cancelled_backdated(clerk)
    # Outside the window of the first premiums nobody is invited: the clerk affiliates.
    clerk("affiliate", B, "--fund", "NZV", "--voluntary", "--on", "2026-02-01")
    s = clerk.status(B, "--as-of", "2026-03-01")
    assert (s["affiliated"], s["affiliated_since"]) == (True, "2026-01-01")
    assert (s["eligible"], s["eligible_from"]) == (False, "2031-01-01")
    assert "R-ELIG-2" in s["eligibility_rules"]


def test_R_AFF_1_a_cancelled_member_is_not_rejoined_by_a_payment_on_an_old_paid_invitation(
    clerk: Clerk,
) -> None:
    test_R_AFF_4_voluntary_member_who_fails_twice_is_cancelled_backdated(clerk)
    clerk("pay", B, "--amount", "60", "--on", "2025-03-01")  # no invitation open: kept as credit
    s = clerk.status(B, "--as-of", "2025-03-02")
    assert (s["affiliated"], s["affiliated_since"], s["credit_cents"]) == (False, None, 6000)


def test_R_OBL_1_a_birth_date_the_insz_does_not_code_is_recorded_with_a_note(sqlite_clerk: Clerk) -> None:
    # The population register's birth date counts; an INSZ whose first six digits say
    # another day gets a note on standard error (a typing slip is then corrected).
    def register(insz: str, born: str) -> Any:
        args = ["--born", born, "--region", "flanders", "--health-fund", "CM", "--on", "2024-01-02"]
        return sqlite_clerk("register", insz, *args)

    coded = make_insz(date(1997, 3, 14), 21)
    out = register(coded, "1998-03-14")
    assert "codes the birth date 1997-03-14" in out.stderr and "correct-registration" in out.stderr
    assert "codes" not in out.stdout
    # Recorded as given: under 26 in 2023 by the recorded date (R-OBL-7).
    assert sqlite_clerk.status(coded, "--as-of", "2023-06-01")["obligation"] == "exempt"
    assert "codes" not in register(make_insz(date(2001, 12, 31), 22), "2001-12-31").stderr


def test_R_OBL_1_moving_to_flanders_after_25_is_compulsory_from_the_move(clerk: Clerk) -> None:
    c = make_insz(date(1980, 6, 6), 9)
    clerk("register", c, "--born", "1980-06-06", "--region", "wallonia", "--health-fund", "SOM",
          "--resident-since", "1980-06-06", "--on", "2020-01-01")  # fmt: skip
    clerk("move", c, "--region", "flanders", "--on", "2024-03-15")
    assert clerk.status(c, "--as-of", "2024-03-14")["obligation"] == "exempt"
    assert clerk.status(c, "--as-of", "2024-03-15")["obligation"] == "compulsory"


def test_R_AFF_2_newcomer_in_the_second_half_of_a_year_has_three_premiums(clerk: Clerk) -> None:
    c = make_insz(date(1980, 6, 6), 11)
    clerk("register", c, "--born", "1980-06-06", "--region", "abroad", "--health-fund", "NONE",
          "--resident-since", "1980-06-06", "--on", "2020-01-01")  # fmt: skip
    clerk("move", c, "--region", "flanders", "--on", "2023-09-01")
    invite(clerk, 2023, on="2023-09-15")
    invite(clerk, 2024, 2025)
    clerk("pay", c, "--amount", "58", "--on", "2023-10-01")
    s = clerk.status(c, "--as-of", "2025-06-01")
    assert (s["fund"], s["affiliated_since"], s["joined_on_time"]) == ("VZK", "2023-01-01", None)
    clerk("pay", c, "--amount", "126", "--on", "2025-12-20")  # 2024 and 2025, by the end of 2025
    assert clerk.status(c, "--as-of", "2026-01-05")["joined_on_time"] is True
    clerk("run", "letters", "--year", "2025", "--on", "2025-08-20")
    assert clerk.status(c, "--as-of", "2025-09-01")["letters"] == []  # window open until 2025-12-31


def test_R_AFF_1_joining_is_at_the_fund_of_the_invitation(clerk: Clerk) -> None:
    clerk.register(A, "1998-01-01", "flanders", "OZ", "2024-01-02")
    clerk("run", "invitations", "--year", "2024", "--on", "2024-01-15")
    invitation = [
        e for e in json.loads(clerk("history", A, "--json").output) if e["type"] == "PremiumInvited"
    ][0]
    assert invitation["fund"] == "OZ" and invitation["amount_cents"] == 6200
    clerk("pay", A, "--amount", "62", "--on", "2024-02-01", "--ogm", invitation["ogm"])
    assert clerk.status(A, "--as-of", "2024-02-02")["fund"] == "OZ"


def test_R_ELIG_1_a_move_within_flanders_keeps_residence_continuous(clerk: Clerk) -> None:
    c = make_insz(date(1970, 3, 3), 13)
    clerk.register(c, "1970-03-03", "flanders", "CM", "2019-03-01")
    clerk("affiliate", c, "--fund", "CM", "--on", "2019-03-01")
    clerk("move", c, "--region", "flanders", "--on", "2022-05-01")  # a new address
    clerk("allowance", c, "--not-entitled", "--on", "2022-06-01")  # a confirmation: accepted
    s = clerk.status(c, "--as-of", "2024-06-01")
    assert (s["eligible"], s["eligible_from"]) == (True, "2024-03-01")
