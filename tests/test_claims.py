"""Premiums as recorded claims (R-PREM-9), parameters that never rewrite history, and the
rule book's corrections (R-OBL-1, R-OBL-5, R-AFF-1, R-PREM-4, R-PREM-8, R-LET-1)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger import events as ev
from ledger import parameters
from ledger.store import decode_stored
from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1990, 2, 2), 41)
B = make_insz(date(1998, 1, 1), 43)  # turns 26 in 2024
C = make_insz(date(1980, 3, 3), 45)
DATA = Path(__file__).parent / "data"


def _member_since(clerk: Clerk, year: int, insz: str = A) -> None:
    clerk.register(
        insz, "1990-02-02", "flanders", "CM", f"{year - 1}-12-01", "--resident-since", "1990-02-02"
    )
    clerk("affiliate", insz, "--fund", "CM", "--on", f"{year}-01-02")


def _history(clerk: Clerk, insz: str) -> list[dict[str, Any]]:
    return json.loads(clerk("history", insz, "--json").output)


# -- R-PREM-9: a premium is owed once the fund has claimed it ---------------------------
def test_R_PREM_9_a_member_since_2016_invited_for_2023_and_2024_owes_those_two(clerk: Clerk) -> None:
    _member_since(clerk, 2016)
    invite(clerk, 2023, 2024)
    s = clerk.status(A, "--as-of", "2024-06-01")
    assert s["arrears"] == {
        "premiums_cents": 5800 + 6200,
        "fines_cents": 0,
        "total_cents": 12000,
        "unpaid_years": [2023, 2024],
    }
    assert s["unclaimed_years"] == [2016, 2017, 2018, 2019, 2020, 2021, 2022]
    clerk("run", "letters", "--year", "2024", "--on", "2024-08-20")
    assert clerk.status(A, "--as-of", "2024-09-01")["letters"] == [
        {"year": 2024, "sent_on": "2024-08-20", "premium_years": [2023, 2024]}
    ]


def test_R_PREM_9_invitations_for_past_years_use_that_years_schedule(clerk: Clerk) -> None:
    _member_since(clerk, 2016)
    invite(clerk, 2020, on="2025-03-01")  # history taken over late
    s = clerk.status(A, "--as-of", "2025-03-01")
    assert [(p["year"], p["due_cents"], p["confirmed"], p["claimed_on"]) for p in s["premiums"]] == [
        (2020, 5300, False, "2025-03-01")
    ]
    assert clerk.status(A, "--as-of", "2025-02-28")["arrears"]["premiums_cents"] == 0


def test_R_LET_1_a_premium_claimed_late_counts_for_a_letter_only_once_claimed(clerk: Clerk) -> None:
    _member_since(clerk, 2016)
    invite(clerk, 2024)
    invite(clerk, 2020, on="2024-08-20")  # taken over late: claimed the day of the letter run
    assert "0 events written" in clerk("run", "letters", "--year", "2024", "--on", "2024-08-20").output
    clerk("run", "letters", "--year", "2024", "--on", "2024-08-21")
    assert clerk.status(A, "--as-of", "2024-09-01")["letters"][0]["premium_years"] == [2020, 2024]


def test_R_PREM_9_explain_names_the_claim_behind_every_premium(clerk: Clerk) -> None:
    _member_since(clerk, 2023)
    invite(clerk, 2023)
    text = clerk("explain", A, "--as-of", "2023-06-01").output
    assert "claimed (R-PREM-9) by the payment invitation sent on 15 January 2023 (structured message" in text
    assert 'Source: European Commission, "Belgium' in text


def test_R_PREM_9_an_invitation_to_a_voluntary_person_stays_an_offer(clerk: Clerk) -> None:
    clerk.register(B, "1998-01-01", "brussels", "NZV", "2024-01-02")
    invite(clerk, 2024)
    s = clerk.status(B, "--as-of", "2024-12-31")
    assert (s["affiliated"], s["arrears"]["total_cents"], s["unclaimed_years"]) == (False, 0, [])
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    assert clerk.status(B, "--as-of", "2024-12-31")["affiliated"] is False


def test_R_PREM_9_an_invitation_becomes_owed_when_auto_affiliation_covers_its_year(clerk: Clerk) -> None:
    clerk.register(B, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024)
    assert clerk.status(B, "--as-of", "2024-06-30")["arrears"]["premiums_cents"] == 0
    clerk("run", "auto-affiliation", "--year", "2024", today="2024-07-01")
    s = clerk.status(B, "--as-of", "2024-07-01")
    assert (s["affiliated_since"], s["arrears"]["premiums_cents"]) == ("2024-01-01", 6200)


# -- R-AFF-1 decision: only a first premium paid in full makes a member --------------------
def test_R_AFF_1_only_a_first_premium_paid_in_full_makes_a_member(clerk: Clerk) -> None:
    clerk.register(B, "1998-01-01", "flanders", "CM", "2024-01-02")
    invite(clerk, 2024)
    clerk("pay", B, "--amount", "30", "--on", "2024-02-01")
    s = clerk.status(B, "--as-of", "2024-02-01")
    assert (s["affiliated"], s["credit_cents"]) == (False, 3000)
    clerk("pay", B, "--amount", "32", "--on", "2024-03-01")  # with the 30 kept: the full 62
    s = clerk.status(B, "--as-of", "2024-03-01")
    assert (s["affiliated"], s["affiliated_since"], s["credit_cents"]) == (True, "2024-01-01", 0)
    assert s["premiums"][0]["status"] == "paid"


def test_R_AFF_1_money_without_any_invitation_makes_no_member(clerk: Clerk) -> None:
    clerk.register(B, "1998-01-01", "flanders", "CM", "2024-01-02")
    clerk("pay", B, "--amount", "62", "--on", "2024-02-01")
    s = clerk.status(B, "--as-of", "2024-02-01")
    assert (s["affiliated"], s["credit_cents"]) == (False, 6200)


# -- R-PREM-9: corrections are new events -------------------------------------------------
def test_R_PREM_9_a_backdated_allowance_adjusts_the_recorded_claim(clerk: Clerk) -> None:
    clerk.now = "2024-01-20T10:00:00"
    _member_since(clerk, 2023)
    invite(clerk, 2024)
    clerk("allowance", A, "--entitled", "--on", "2023-01-01", now="2024-05-01T10:00:00")
    adjusted = [e for e in _history(clerk, A) if e["type"] == "PremiumAdjusted"]
    assert [(e["year"], e["amount_cents"], e["reduced"], e["on"]) for e in adjusted] == [
        (2024, 3100, True, "2023-01-01")
    ]
    now = clerk.status(A, "--as-of", "2024-06-01")
    before = clerk.status(A, "--as-of", "2024-06-01", "--known-on", "2024-04-30")
    assert (now["arrears"]["premiums_cents"], before["arrears"]["premiums_cents"]) == (3100, 6200)
    assert (
        "The claim was adjusted from € 62,00 to € 31,00 as from 1 January 2023: increased allowance "
        "granted from 2023-01-01 (R-PREM-9; recorded 2024-05-01 10:00 by "
    ) in clerk("explain", A, "--as-of", "2024-06-01").output


def test_R_PREM_9_an_adjustment_below_what_was_paid_leaves_credit(clerk: Clerk) -> None:
    _member_since(clerk, 2023)
    invite(clerk, 2024)
    clerk("pay", A, "--amount", "62", "--on", "2024-02-01")
    clerk("allowance", A, "--entitled", "--on", "2023-01-01")
    s = clerk.status(A, "--as-of", "2024-06-01")
    assert (s["arrears"]["total_cents"], s["credit_cents"]) == (0, 3100)


def _overlay(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


CORRECTED_2020 = {
    "premium": {
        "years": {
            "2020": {
                "normal_cents": 5100,
                "normal_confirmed": True,
                "normal_source": "Order of the Flemish Government of 30 November 2018 (BVR), art. 68",
            }
        }
    }
}


def test_R_PREM_9_a_corrected_schedule_changes_no_answer_until_a_clerk_adjusts(
    clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk.now = "2021-08-20T10:00:00"
    _member_since(clerk, 2020)
    invite(clerk, 2020, 2021)
    clerk("run", "letters", "--year", "2021", "--on", "2021-08-20", now="2021-08-20T10:00:00")
    before = clerk.status(A, "--as-of", "2021-09-01")
    explained = clerk("explain", A, "--as-of", "2021-09-01").output
    monkeypatch.setenv(parameters.ENV, _overlay(tmp_path, "corrected.json", CORRECTED_2020))
    assert clerk.status(A, "--as-of", "2021-09-01") == before
    assert clerk("explain", A, "--as-of", "2021-09-01").output == explained
    assert before["arrears"]["premiums_cents"] == 5300 + 5400
    clerk("adjust-claim", A, "--year", "2020", "--on", "2022-03-01", now="2022-03-01T10:00:00")
    after = clerk.status(A, "--as-of", "2022-03-01")
    assert after["arrears"]["premiums_cents"] == 5100 + 5400
    assert [p["confirmed"] for p in after["premiums"]] == [True, True]
    assert clerk.status(A, "--as-of", "2022-02-28")["arrears"]["premiums_cents"] == 5300 + 5400
    known = clerk.status(A, "--as-of", "2022-03-01", "--known-on", "2022-02-28")
    assert known["arrears"]["premiums_cents"] == 5300 + 5400
    assert after["letters"] == before["letters"]  # the recorded letter stays as sent
    refused = clerk("adjust-claim", A, "--year", "2020", "--on", "2022-03-02", expect=1)
    assert "R-PREM-9" in refused.output and "nothing to adjust" in refused.output
    assert "the claim of 2020 already carries €51.00 (normal" in refused.output  # cents, never a float
    refused = clerk("adjust-claim", A, "--year", "2019", "--on", "2022-03-02", expect=1)
    assert "R-PREM-9" in refused.output


# -- R-PREM-1 / parameters: no 2027 cliff; a fund's own file ------------------------------
def test_R_PREM_1_status_on_2027_01_02_works_only_the_2027_run_refuses(clerk: Clerk) -> None:
    _member_since(clerk, 2025)
    invite(clerk, 2025, 2026)
    s = clerk.status(A, today="2027-01-02")
    assert (s["arrears"]["premiums_cents"], s["unclaimed_years"]) == (16400, [2027])
    refused = clerk(
        "run", "invitations", "--year", "2027", "--on", "2027-01-02", today="2027-01-02", expect=1
    )
    assert "R-PREM-1" in refused.output and "ZORGKAS_PARAMETERS" in refused.output
    assert clerk("explain", A, today="2027-01-02").exit_code == 0


def test_R_PREM_1_a_fund_adds_next_years_schedule_with_its_own_file(
    clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "Order of the Flemish Government of 30 November 2018 (BVR), art. 68, indexed for 2027"
    year_2027 = {"normal_cents": 10300, "reduced_cents": 3600, "confirmed": False, "source": source}
    monkeypatch.setenv(
        parameters.ENV, _overlay(tmp_path, "2027.json", {"premium": {"years": {"2027": year_2027}}})
    )
    _member_since(clerk, 2025)
    clerk("run", "invitations", "--year", "2027", "--on", "2027-01-15", today="2027-01-15")
    s = clerk.status(A, today="2027-02-01")
    assert [(p["year"], p["due_cents"], p["confirmed"]) for p in s["premiums"]] == [(2027, 10300, False)]


@pytest.mark.parametrize(
    ("overlay", "key"),
    [
        ({"premium": {"years": {"2027": {"normal_cents": "103"}}}}, "premium.years.2027.normal_cents"),
        ({"premium": {"years": {"2027": {"normal_cents": -1}}}}, "premium.years.2027.normal_cents"),
        ({"premium": {"years": {"2026": {"normal_cent": 1}}}}, "premium.years.2026.normal_cent"),
        ({"premiums": {}}, "premiums"),
        ({"premium_due": {"month": 13}}, "premium_due"),
        (
            {"fine": {"periods": [{"from": "2001-01-01", "normal_cents": 25000}]}},
            "fine.periods[0].reduced_cents",
        ),
        (
            {"premium": {"years": {"2020": {"reduced_confirmed": "no"}}}},
            "premium.years.2020.reduced_confirmed",
        ),
    ],
)
def test_a_wrong_parameters_file_is_bad_input_naming_the_key(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlay: dict[str, Any], key: str
) -> None:
    _member_since(sqlite_clerk, 2025)
    monkeypatch.setenv(parameters.ENV, _overlay(tmp_path, f"bad{abs(hash(key))}.json", overlay))
    result = sqlite_clerk("run", "invitations", "--year", "2026", "--on", "2026-01-15", expect=2)
    assert key in result.output and "ZORGKAS_PARAMETERS" in result.output
    monkeypatch.delenv(parameters.ENV)
    assert (
        "0 events written"
        not in sqlite_clerk("run", "invitations", "--year", "2026", "--on", "2026-01-15").output
    )


def test_a_parameters_file_that_cannot_be_read_is_bad_input(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(parameters.ENV, str(tmp_path / "missing.json"))
    result = sqlite_clerk("run", "invitations", "--year", "2026", "--on", "2026-01-15", expect=2)
    assert "missing.json" in result.output


PUBLIC_TITLES = (
    'Vlaamse sociale bescherming, "Joining the Flemish Social Protection"',
    'CM-Zorgkas, "Zorgpremie / healthcare premium" member page',
    'European Commission, "Belgium',
    'European Commission, "Your social security rights in Belgium"',
    "Decree of 18 May 2018 on the Flemish social protection",
    "Order of the Flemish Government of 30 November 2018 (BVR)",
    "Decree of 30 March 1999 on the organisation of the care insurance",
    "Constitutional Court, ruling 2023/112",
)


def _sources(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k.endswith("source") and isinstance(v, str)]
        return found + [s for v in node.values() for s in _sources(v)]
    if isinstance(node, list):
        return [s for v in node for s in _sources(v)]
    return []


def test_every_parameter_source_is_a_public_title() -> None:
    sources = _sources(parameters.raw())
    assert len(sources) >= 30
    for source in sources:
        assert source.startswith(PUBLIC_TITLES), source
        assert "seed" not in source.lower() and "DOMAIN" not in source and "shared" not in source


def test_each_schedule_value_has_its_own_confirmed_flag() -> None:
    assert (parameters.premium(2019).normal.confirmed, parameters.premium(2019).reduced.confirmed) == (
        True,
        False,
    )
    assert parameters.premium(2024).reduced.source.startswith("CM-Zorgkas")
    assert parameters.premium(2024).normal.source.startswith("Vlaamse sociale bescherming")


# -- Existing stores keep working ---------------------------------------------------------
OLD_A, OLD_B = "90020201187", "98010100392"


def _expect_old_store_answers(clerk: Clerk) -> None:
    s = clerk.status(OLD_A, today="2024-09-01")
    # The old code said 2020-2024 were owed (EUR 223); the store only claimed 2023 and 2024.
    assert [(p["year"], p["due_cents"], p["status"]) for p in s["premiums"]] == [
        (2023, 5800, "paid"),
        (2024, 6200, "unpaid"),
    ]
    assert (s["arrears"]["premiums_cents"], s["unclaimed_years"]) == (6200, [2020, 2021, 2022])
    assert s["letters"] == [
        {"year": 2024, "sent_on": "2024-08-20", "premium_years": [2021, 2022, 2023, 2024]}
    ]
    b = clerk.status(OLD_B, today="2024-09-01")
    assert (b["affiliated"], b["affiliated_since"], b["arrears"]["total_cents"]) == (True, "2024-01-01", 0)


def test_R_PREM_9_a_store_written_before_claims_loads_and_reads_old_invitations_as_claims(
    tmp_path: Path,
) -> None:
    store = tmp_path / "old.sqlite"
    shutil.copy(DATA / "store_before_claims.sqlite", store)
    clerk = Clerk(str(store))
    _expect_old_store_answers(clerk)
    text = clerk("explain", OLD_A, today="2024-09-01").output
    assert "claimed (R-PREM-9) by the payment invitation sent on 15 January 2024" in text
    assert f"Source: {ev.V1_SOURCE}" in text
    assert "0 events written" in clerk("run", "invitations", "--year", "2024", "--on", "2024-01-20").output


def test_an_export_written_before_claims_imports_and_answers_the_same(sqlite_clerk: Clerk) -> None:
    sqlite_clerk("import", str(DATA / "store_before_claims.jsonl"))
    _expect_old_store_answers(sqlite_clerk)


def test_a_stored_version_1_invitation_is_upcast_to_a_claim() -> None:
    line = (DATA / "store_before_claims.jsonl").read_text().splitlines()[3]
    raw = json.loads(line)
    assert raw["type"] == "PremiumInvited" and "source" not in raw
    event = decode_stored("PremiumInvited@1", json.dumps(raw).encode())
    assert isinstance(event, ev.PremiumInvited)
    assert (event.year, event.amount_cents, event.source, event.confirmed) == (2023, 5800, ev.V1_SOURCE, True)
    raw["year"] = 2020
    assert decode_stored("PremiumInvited@1", json.dumps(raw).encode()).confirmed is False


# -- One claim, one letter, one fine per member and year, whatever --on says ----------------
def test_a_yearly_run_with_an_earlier_on_writes_nothing_twice(clerk: Clerk) -> None:
    _member_since(clerk, 2023)
    invite(clerk, 2024, on="2024-01-15")
    assert "0 events written" in clerk("run", "invitations", "--year", "2024", "--on", "2024-01-10").output
    invite(clerk, 2025)
    assert "1 event written" in clerk("run", "letters", "--year", "2025", "--on", "2025-08-20").output
    assert "0 events written" in clerk("run", "letters", "--year", "2025", "--on", "2025-08-19").output
    assert "1 event written" in clerk("run", "fines", "--year", "2025", "--on", "2025-10-20").output
    assert "0 events written" in clerk("run", "fines", "--year", "2025", "--on", "2025-10-06").output
    kinds = [e["type"] for e in _history(clerk, A)]
    assert (
        kinds.count("PremiumInvited"),
        kinds.count("RegisteredLetterSent"),
        kinds.count("FineImposed"),
    ) == (
        2,
        1,
        1,
    )
