"""The premium: amounts, due dates, allocation, credit, budgets, direct debit (R-PREM-1..8).

Every premium here is owed because the yearly run claimed it (R-PREM-9): the stories
include the invitation runs a fund makes.
"""

from __future__ import annotations

from datetime import date

from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1990, 2, 2), 11)


def _member_since_2020(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2019-12-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2020-01-02")


def test_R_PREM_1_premium_per_year_from_the_schedule(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, *range(2020, 2027))
    s = clerk.status(A, "--as-of", "2026-06-01")
    dues = {p["year"]: p["due_cents"] for p in s["premiums"]}
    assert dues == {2020: 5300, 2021: 5400, 2022: 5400, 2023: 5800, 2024: 6200, 2025: 6400, 2026: 10000}
    assert s["arrears"]["premiums_cents"] == 44500
    unconfirmed = [p["year"] for p in s["premiums"] if not p["confirmed"]]
    assert unconfirmed == [2020]
    assert s["unclaimed_years"] == []


def test_R_PREM_1_reduced_premium_needs_allowance_on_1_january_of_previous_year(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    clerk("allowance", A, "--entitled", "--on", "2023-01-01")
    invite(clerk, 2023, 2024)
    s = clerk.status(A, "--as-of", "2024-06-01")
    dues = {p["year"]: p["due_cents"] for p in s["premiums"]}
    assert dues[2023] == 5800  # entitled only from 2023: the 2023 premium is normal
    assert dues[2024] == 3100  # entitled on 1 January 2023: the 2024 premium is reduced


def test_R_PREM_1_a_year_missing_from_the_schedule_is_a_clear_error(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    result = clerk("run", "invitations", "--year", "2027", "--on", "2026-11-23", expect=1)
    assert "R-PREM-1" in result.output and "2027" in result.output


def test_R_PREM_2_invitation_carries_amount_and_structured_message(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    clerk("run", "invitations", "--year", "2025", "--on", "2025-01-10")
    history = clerk("history", A, "--json").output
    assert '"source": "CM-Zorgkas, \\"Zorgpremie / healthcare premium\\" member page (web page)"' in history
    assert '"type": "PremiumInvited"' in history and '"amount_cents": 6400' in history
    again = clerk("run", "invitations", "--year", "2025", "--on", "2025-01-11").output
    assert "0 members touched, 0 events written" in again


def test_R_PREM_3_no_premium_before_the_year_of_turning_26(clerk: Clerk) -> None:
    young = make_insz(date(2000, 6, 1), 13)
    clerk.register(young, "2000-06-01", "flanders", "CM", "2024-01-05")
    clerk("affiliate", young, "--fund", "CM", "--early", "--on", "2024-01-05")
    invite(clerk, 2024, 2025, 2026)
    s = clerk.status(young, "--as-of", "2026-06-01")
    assert [p["year"] for p in s["premiums"]] == [2026]


def test_R_PREM_4_no_premium_in_years_of_debt_settlement(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    clerk("exempt", A, "--reason", "debt-settlement", "--from", "2022-03-01", "--until", "2023-06-30")
    invite(clerk, *range(2020, 2025))
    s = clerk.status(A, "--as-of", "2024-06-01")
    assert [p["year"] for p in s["premiums"]] == [2020, 2021, 2024]
    assert s["unclaimed_years"] == []  # exempt years are not premium years at all


def test_R_PREM_4_an_exemption_recorded_after_the_claim_frees_it(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2022)
    assert clerk.status(A, "--as-of", "2022-06-01")["arrears"]["premiums_cents"] == 5400
    clerk("exempt", A, "--reason", "bankruptcy", "--from", "2022-09-01", "--until", "2022-12-31")
    assert clerk.status(A, "--as-of", "2022-08-31")["arrears"]["premiums_cents"] == 5400
    assert clerk.status(A, "--as-of", "2022-09-01")["arrears"]["premiums_cents"] == 0


def test_R_PREM_5_monthly_budget_pays_the_premium_in_april(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2020, 2021, 2022, 2023)
    for year, amount in ((2020, "53"), (2021, "54"), (2022, "54"), (2023, "58")):
        clerk("pay", A, "--amount", amount, "--on", f"{year}-02-01")
    clerk("budget", A, "--kind", "severe-dependency", "--from", "2024-02-01", "--monthly", "135")
    # Before the April day the run leaves a budget member alone; on or after it, it
    # records the deduction: one event that is both the claim and its payment.
    assert "0 events written" in clerk("run", "invitations", "--year", "2024", "--on", "2024-03-01").output
    invite(clerk, 2024, on="2024-04-02")
    invite(clerk, 2025, on="2025-04-01")
    s = clerk.status(A, "--as-of", "2025-04-01")
    assert s["arrears"]["unpaid_years"] == []
    premiums = {p["year"]: p for p in s["premiums"]}
    assert premiums[2024]["paid_on"] == "2024-04-01" and premiums[2025]["paid_on"] == "2025-04-01"
    assert premiums[2024]["claim"] == premiums[2025]["claim"] == "PremiumDeducted"
    assert premiums[2025]["due_cents"] == premiums[2025]["paid_cents"] == 6400
    assert s["credit_cents"] == 0


def test_R_PREM_6_partial_payment_leaves_the_year_incomplete_and_excess_is_credit(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2020, 2021)
    clerk("pay", A, "--amount", "50", "--on", "2020-03-01")
    s = clerk.status(A, "--as-of", "2020-06-01")
    assert s["premiums"][0]["status"] == "incomplete" and s["arrears"]["premiums_cents"] == 300
    clerk("pay", A, "--amount", "500", "--on", "2020-07-01")
    s = clerk.status(A, "--as-of", "2020-08-01")
    assert s["arrears"]["total_cents"] == 0 and s["credit_cents"] == 49700
    s = clerk.status(A, "--as-of", "2021-01-14")  # 2021 not claimed yet: credit untouched
    assert s["credit_cents"] == 49700
    s = clerk.status(A, "--as-of", "2021-01-15")  # credit pays a premium as soon as it is claimed
    assert s["credit_cents"] == 49700 - 5400


def test_R_PREM_7_unmatched_payment_goes_to_the_oldest_unpaid_premium(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2020, 2021, 2022)
    clerk("pay", A, "--amount", "53", "--on", "2022-05-01")
    s = clerk.status(A, "--as-of", "2022-06-01")
    assert s["arrears"]["unpaid_years"] == [2021, 2022]


def test_R_PREM_7_structured_message_names_the_year(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2020, 2021)
    clerk("run", "invitations", "--year", "2022", "--on", "2022-01-10")
    import json

    invitation = [
        e
        for e in json.loads(clerk("history", A, "--json").output)
        if e["type"] == "PremiumInvited" and e["year"] == 2022
    ][0]
    clerk("pay", A, "--amount", "54", "--on", "2022-02-01", "--ogm", invitation["ogm"])
    s = clerk.status(A, "--as-of", "2022-06-01")
    assert s["arrears"]["unpaid_years"] == [2020, 2021]


def test_R_PREM_7_wrong_structured_message_is_still_allocated(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2020)
    clerk("pay", A, "--amount", "53", "--on", "2020-02-01", "--ogm", "+++000/0000/00097+++")
    assert clerk.status(A, "--as-of", "2020-06-01")["arrears"]["total_cents"] == 0


def test_R_PREM_8_direct_debit_only_from_the_year_after_joining(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, 2020, 2021)
    refused = clerk("pay", A, "--amount", "53", "--on", "2020-03-01", "--method", "direct-debit", expect=1)
    assert "R-PREM-8" in refused.output
    clerk("pay", A, "--amount", "54", "--on", "2021-03-01", "--method", "direct-debit")
    s = clerk.status(A, "--as-of", "2021-06-01")
    assert s["arrears"]["unpaid_years"] == [2020]  # an overdue premium is not paid by direct debit


def test_R_PREM_8_no_direct_debit_in_the_year_of_joining_even_when_membership_counts_from_before(
    clerk: Clerk,
) -> None:
    c = make_insz(date(1998, 6, 1), 21)  # turns 26 in 2024: first premiums 2024 and 2025
    clerk("register", c, "--born", "1998-06-01", "--region", "flanders", "--health-fund", "CM",
          "--on", "2024-01-02")  # fmt: skip
    invite(clerk, 2024, 2025)
    clerk("pay", c, "--amount", "62", "--on", "2025-02-01")  # joins in 2025, counting from 2024-01-01
    assert clerk.status(c, "--as-of", "2025-02-01")["affiliated_since"] == "2024-01-01"
    assert "from 2026" in clerk("direct-debit", c, "--requested-on", "2025-02-02").output
    refused = clerk("pay", c, "--amount", "64", "--on", "2025-03-01", "--method", "direct-debit", expect=1)
    assert "R-PREM-8" in refused.output
    assert clerk.status(c, "--as-of", "2025-03-02")["arrears"]["unpaid_years"] == [2025]


def test_R_PREM_7_years_that_can_still_lead_to_a_fine_are_paid_before_fined_ones(clerk: Clerk) -> None:
    _member_since_2020(clerk)
    invite(clerk, *range(2020, 2025))
    clerk("pay", A, "--amount", "53", "--on", "2020-02-01")
    clerk("pay", A, "--amount", "54", "--on", "2021-02-01")
    clerk("run", "letters", "--year", "2023", "--on", "2023-08-20")  # 2022, 2023 unpaid
    clerk("run", "fines", "--year", "2023", "--on", "2023-10-20")
    clerk("pay", A, "--amount", "62", "--on", "2024-05-02")  # pays 2024, not the fined 2022
    s = clerk.status(A, "--as-of", "2024-06-01")
    assert s["arrears"]["unpaid_years"] == [2022, 2023]
