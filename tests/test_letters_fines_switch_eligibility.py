"""Letters, fines, appeals, fund switches and care-budget eligibility (R-LET, R-FINE, R-SW, R-ELIG)."""

from __future__ import annotations

from datetime import date

from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1990, 2, 2), 21)
B = make_insz(date(1990, 2, 2), 22)


def _member_since_2020(clerk: Clerk, insz: str = A, fund: str = "CM", through: int = 2026) -> None:
    health_fund = "CM" if fund == "VZK" else fund
    clerk.register(
        insz, "1990-02-02", "flanders", health_fund, "2019-12-01", "--resident-since", "1990-02-02"
    )
    clerk("affiliate", insz, "--fund", fund, "--on", "2020-01-02")
    invite(clerk, *range(2020, through + 1))  # R-PREM-9: the yearly runs claim each premium


def _pay_through(clerk: Clerk, last_year: int, insz: str = A) -> None:
    amounts = {2020: "53", 2021: "54", 2022: "54", 2023: "58", 2024: "62", 2025: "64"}
    for year in range(2020, last_year + 1):
        clerk("pay", insz, "--amount", amounts[year], "--on", f"{year}-02-01")


def test_R_LET_1_second_unpaid_premium_triggers_letter(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    _pay_through(clerk, 2023)
    out = clerk("run", "letters", "--year", "2024", "--on", "2024-08-20").output
    assert "0 members touched" in out  # one unpaid premium: no letter
    _member_since_2020(clerk, B)
    _pay_through(clerk, 2022, B)
    out = clerk("run", "letters", "--year", "2024", "--on", "2024-08-21").output
    assert "1 member touched, 1 event written" in out
    s = clerk.status(B, "--as-of", "2024-09-01")
    assert s["letters"] == [{"year": 2024, "sent_on": "2024-08-21", "premium_years": [2023, 2024]}]
    again = clerk("run", "letters", "--year", "2024", "--on", "2024-08-22").output
    assert "0 members touched, 0 events written" in again


def test_R_LET_1_until_2018_three_unpaid_premiums_were_needed(clerk: Clerk) -> None:
    clerk.register(A, "1980-02-02", "flanders", "CM", "2014-12-01", "--resident-since", "1980-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2015-01-05")
    invite(clerk, 2015, 2016, 2017, 2018)
    clerk("pay", A, "--amount", "50", "--on", "2015-02-01")
    clerk("run", "letters", "--year", "2017", "--on", "2017-08-20")
    assert clerk.status(A, "--as-of", "2017-09-01")["letters"] == []  # 2016, 2017: two of three
    clerk("run", "letters", "--year", "2018", "--on", "2018-08-20")
    assert clerk.status(A, "--as-of", "2018-09-01")["letters"][0]["premium_years"] == [2016, 2017, 2018]


def test_R_AFF_2_first_premiums_do_not_count_for_a_letter_before_the_window_closes(clerk: Clerk) -> None:
    young = make_insz(date(1998, 1, 1), 23)
    clerk.register(young, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024)
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    invite(clerk, 2025, 2026)
    clerk("run", "letters", "--year", "2025", "--on", "2025-08-20")
    assert clerk.status(young, "--as-of", "2025-09-01")["letters"] == []
    clerk("run", "letters", "--year", "2026", "--on", "2026-08-20")
    letters = clerk.status(young, "--as-of", "2026-09-01")["letters"]
    assert letters == [{"year": 2026, "sent_on": "2026-08-20", "premium_years": [2024, 2025, 2026]}]


def _lettered_2024(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    _pay_through(clerk, 2022)
    clerk("run", "letters", "--year", "2024", "--on", "2024-08-20")


def test_R_FINE_1_fine_run_refused_before_5_october(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    result = clerk("run", "fines", "--year", "2024", "--on", "2024-10-04", expect=1)
    assert "R-FINE-1" in result.output


def test_R_FINE_1_unpaid_letter_gives_a_250_euro_fine_on_top_of_the_premiums(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    s = clerk.status(A, "--as-of", "2024-10-21")
    assert s["fines"] == [{"year": 2024, "amount_cents": 25000, "status": "open"}]
    assert s["arrears"] == {
        "premiums_cents": 12000,
        "fines_cents": 25000,
        "total_cents": 37000,
        "unpaid_years": [2023, 2024],
    }
    assert "0 events written" in clerk("run", "fines", "--year", "2024", "--on", "2024-10-21").output


def test_R_FINE_1_increased_allowance_gives_a_100_euro_fine(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("allowance", A, "--entitled", "--on", "2023-01-01")
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    assert clerk.status(A, "--as-of", "2024-10-21")["fines"][0]["amount_cents"] == 10000


def test_R_FINE_1_payment_received_by_15_october_still_counts(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("pay", A, "--amount", "120", "--on", "2024-10-14")
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    s = clerk.status(A, "--as-of", "2024-10-21")
    assert s["fines"] == [] and s["arrears"]["total_cents"] == 0


def test_R_FINE_1_no_fine_during_debt_settlement(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("exempt", A, "--reason", "debt-settlement", "--from", "2024-09-15")
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    assert clerk.status(A, "--as-of", "2024-10-21")["fines"] == []


def test_R_FINE_2_upheld_appeal_annuls_the_fine_but_not_the_arrears(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    refused = clerk("appeal", A, "--fine-year", "2023", "--upheld", "--on", "2024-11-01", expect=1)
    assert "R-FINE-2" in refused.output
    clerk("appeal", A, "--fine-year", "2024", "--upheld", "--on", "2024-12-01")
    s = clerk.status(A, "--as-of", "2024-12-02")
    assert s["fines"] == [{"year": 2024, "amount_cents": 25000, "status": "annulled"}]
    assert s["arrears"]["fines_cents"] == 0 and s["arrears"]["premiums_cents"] == 12000
    assert clerk.status(A, "--as-of", "2024-11-30")["fines"][0]["status"] == "open"


def test_R_SW_1_switch_by_the_deadline_takes_effect_next_january(clerk: Clerk) -> None:
    _member_since_2020(clerk, fund="CM")
    refused = clerk("switch", A, "--to", "NZV", "--requested-on", "2024-11-20", expect=1)
    assert "R-FUND-1" in refused.output
    clerk("switch", A, "--to", "VZK", "--requested-on", "2024-11-20")
    s = clerk.status(A, "--as-of", "2024-12-15")
    assert (s["fund"], s["pending_switch"]) == ("CM", {"to": "VZK", "effective": "2025-01-01"})
    s = clerk.status(A, "--as-of", "2025-01-01")
    assert (s["fund"], s["pending_switch"], s["affiliated_since"]) == ("VZK", None, "2020-01-01")


def test_R_SW_1_cm_deadline_is_before_2_december_the_law_5_december(clerk: Clerk) -> None:
    _member_since_2020(clerk, fund="VZK")
    clerk("switch", A, "--to", "CM", "--requested-on", "2024-12-03")
    assert clerk.status(A, "--as-of", "2024-12-10")["pending_switch"]["effective"] == "2026-01-01"
    _member_since_2020(clerk, B, fund="CM")
    clerk("switch", B, "--to", "VZK", "--requested-on", "2024-12-05")
    assert clerk.status(B, "--as-of", "2024-12-10")["pending_switch"]["effective"] == "2025-01-01"


def test_R_SW_2_switch_keeps_continuity_and_premiums_owed(clerk: Clerk) -> None:
    _member_since_2020(clerk, fund="CM")
    clerk("switch", A, "--to", "VZK", "--requested-on", "2021-11-01")
    s = clerk.status(A, "--as-of", "2022-06-01")
    assert s["affiliated_since"] == "2020-01-01" and s["arrears"]["unpaid_years"] == [2020, 2021, 2022]


def test_R_ELIG_1_five_years_of_residence_before_the_budget(clerk: Clerk) -> None:
    c = make_insz(date(1970, 3, 3), 25)
    clerk.register(c, "1970-03-03", "flanders", "CM", "2021-03-01")  # resident since 2021-03-01
    clerk("affiliate", c, "--fund", "CM", "--on", "2021-03-01")
    s = clerk.status(c, "--as-of", "2024-06-01")
    assert (s["eligible"], s["eligible_from"], s["eligibility_rules"]) == (False, "2026-03-01", ["R-ELIG-1"])
    refused = clerk("budget", c, "--kind", "elderly", "--from", "2024-06-01", "--monthly", "300", expect=1)
    assert "R-ELIG-1" in refused.output and "2026-03-01" in refused.output


def test_R_ELIG_1_before_ruling_2023_112_ten_years_were_needed(clerk: Clerk) -> None:
    c = make_insz(date(1970, 3, 3), 27)
    clerk.register(c, "1970-03-03", "flanders", "CM", "2015-01-05")
    clerk("affiliate", c, "--fund", "CM", "--on", "2015-01-05")
    assert clerk.status(c, "--as-of", "2021-01-01")["eligible"] is False
    s = clerk.status(c, "--as-of", "2023-08-01")
    assert (s["eligible"], s["eligible_from"]) == (True, "2023-07-20")


def test_R_ELIG_2_brussels_resident_joining_late_waits_five_years(clerk: Clerk) -> None:
    c = make_insz(date(1980, 3, 3), 29)
    clerk.register(c, "1980-03-03", "brussels", "NZV", "2010-01-01", "--resident-since", "1980-03-03")
    # Years after the window of the first premiums (2006-2007) bring no invitation: a late
    # voluntary joiner is affiliated by the clerk (R-AFF-1), from 1 January of that year.
    clerk("affiliate", c, "--fund", "NZV", "--voluntary", "--on", "2024-03-01")
    s = clerk.status(c, "--as-of", "2024-06-01")
    assert (s["affiliated"], s["kind"], s["affiliated_since"], s["joined_on_time"]) == (
        True,
        "voluntary",
        "2024-01-01",
        False,
    )
    assert (s["eligible"], s["eligible_from"], s["eligibility_rules"]) == (
        False,
        "2029-01-01",
        ["R-ELIG-1", "R-ELIG-2"],
    )


def test_R_ELIG_3_under_26_early_member_is_eligible(clerk: Clerk) -> None:
    young = make_insz(date(2004, 4, 4), 31)
    clerk.register(young, "2004-04-04", "flanders", "CM", "2024-02-01")
    clerk("affiliate", young, "--fund", "CM", "--early", "--on", "2024-02-01")
    clerk("budget", young, "--kind", "disability", "--from", "2024-03-01", "--monthly", "300")
    assert clerk.status(young, "--as-of", "2024-04-01")["eligibility_rules"] == ["R-ELIG-3"]


def test_R_FINE_1_money_beyond_the_premiums_pays_the_fine(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    clerk("pay", A, "--amount", "400", "--on", "2024-11-05")
    s = clerk.status(A, "--as-of", "2024-11-06")
    assert s["fines"] == [{"year": 2024, "amount_cents": 25000, "status": "paid"}]
    assert s["arrears"]["total_cents"] == 0 and s["credit_cents"] == 40000 - 12000 - 25000


def test_R_FINE_1_a_fine_run_before_the_money_arrived_by_15_october_is_annulled(clerk: Clerk) -> None:
    _lettered_2024(clerk)
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-06")
    clerk("pay", A, "--amount", "120", "--on", "2024-10-14")
    s = clerk.status(A, "--as-of", "2024-10-20")
    assert s["fines"] == [{"year": 2024, "amount_cents": 25000, "status": "annulled"}]
    assert s["arrears"]["total_cents"] == 0


def test_R_SW_1_the_next_years_invitation_comes_from_the_new_fund(clerk: Clerk) -> None:
    _member_since_2020(clerk, fund="CM", through=2024)
    clerk("switch", A, "--to", "VZK", "--requested-on", "2024-11-20")
    clerk("run", "invitations", "--year", "2025", "--on", "2024-12-15")
    import json

    invitation = [
        e for e in json.loads(clerk("history", A, "--json").output) if e["type"] == "PremiumInvited"
    ]
    assert [(i["year"], i["fund"]) for i in invitation][-2:] == [(2024, "CM"), (2025, "VZK")]
