"""The CLI contract (docs/cli.md): exit codes, money parsing, bad input, JSON keys, help."""

from __future__ import annotations

import json
import os
import stat
from datetime import date

import pytest
from click.testing import CliRunner

from commands.cli import cli
from ledger.errors import BadInput
from ledger.money import parse_euro
from tests.conftest import Clerk, make_insz, on_a_terminal

A = make_insz(date(1990, 2, 2), 41)

STATUS_KEYS = {
    "insz",
    "as_of",
    "obligation",
    "affiliated",
    "fund",
    "kind",
    "affiliated_since",
    "joined_on_time",
    "eligible",
    "eligible_from",
    "eligibility_rules",
    "arrears",
    "credit_cents",
    "letters",
    "fines",
    "pending_switch",
}


@pytest.mark.parametrize("typed", ["64", "64.00", "64,00", "64.0", "64,0"])
def test_amounts_typed_by_a_clerk_are_the_same_cents(typed: str) -> None:
    assert parse_euro(typed) == 6400


@pytest.mark.parametrize("typed", ["-64", "64.001", "64,123", "abc", "", "1e3", "64.", ".5", "1 000"])
def test_bad_amounts_are_bad_input(typed: str) -> None:
    with pytest.raises(BadInput):
        parse_euro(typed)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("1.000,00", "no thousands separator"),
        ("1,000.00", "no thousands separator"),
        ("12.345.678,90", "no thousands separator"),
        ("9999999999", "too large: at most 999999999,99 euro"),
        ("99999999999999999999,00", "too large"),
        ("64.001", "more than two decimals"),
        ("1.000", "more than two decimals"),  # ambiguous: refused, never read as one euro
    ],
)
def test_a_bad_amount_says_what_is_wrong_with_it(typed: str, why: str) -> None:
    with pytest.raises(BadInput, match=why):
        parse_euro(typed)


def test_status_json_has_every_contract_key(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    data = clerk.status(A)
    assert set(data) >= STATUS_KEYS
    assert set(data["arrears"]) == {"premiums_cents", "fines_cents", "total_cents", "unpaid_years"}
    assert data["as_of"] == clerk.today


def test_refusal_exits_1_names_the_rule_and_writes_nothing(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    before = clerk("history", A, "--json").output
    result = clerk("affiliate", A, "--fund", "SOM", "--on", "2024-01-10", expect=1)
    assert "R-FUND-1" in result.output and "CM or VZK" in result.output
    assert clerk("history", A, "--json").output == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["status", "12345678901"], "INSZ"),
        (["register", A, "--born", "1990-13-01", "--region", "flanders", "--health-fund", "CM"], "--born"),
        (["register", A, "--born", "1990-02-02", "--region", "mars", "--health-fund", "CM"], "--region"),
        (
            ["register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "XX"],
            "--health-fund",
        ),
        (["affiliate", A, "--fund", "ABC", "--on", "2024-01-01"], "--fund"),
        (["pay", A, "--amount", "-5", "--on", "2024-01-01"], "--amount"),
        (["pay", A, "--amount", "5.123", "--on", "2024-01-01"], "--amount"),
        (["pay", A, "--amount", "5", "--on", "2024-01-01", "--ogm", "+++123/4567/89012+++"], "--ogm"),
        (["pay", A, "--amount", "5", "--on", "2099-01-01"], "--on"),
        (["frobnicate"], "No such command"),
        (["status", A, "--no-such-flag"], "No such option"),
        (["import", "/no/such/file.jsonl"], "FILE"),
        (["import", "--workers", "\u0662", "/no/such/file.jsonl"], "--workers"),  # ASCII digits only
        (["report", "--to", "r.sqlite", "--workers", "\u0662"], "--workers"),
    ],
)
def test_bad_input_exits_2_says_what_and_writes_nothing(clerk: Clerk, args: list[str], needle: str) -> None:
    result = clerk(*args, expect=2)
    assert needle in result.output
    assert "Traceback" not in result.output


def test_effective_date_after_today_is_bad_input_except_an_until(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    clerk("exempt", A, "--reason", "bankruptcy", "--from", "2026-01-01", "--until", "2027-12-31")
    result = clerk("exempt", A, "--reason", "bankruptcy", "--from", "2027-01-01", expect=2)
    assert "--from" in result.output


def test_duplicate_bank_reference_is_reported_and_not_written(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    clerk("pay", A, "--amount", "100", "--on", "2026-02-01", "--bank-ref", "BANK-1")
    again = clerk("pay", A, "--amount", "100", "--on", "2026-02-01", "--bank-ref", "BANK-1")
    assert "duplicate" in again.output
    paid = [e for e in json.loads(clerk("history", A, "--json").output) if e["type"] == "PremiumPaid"]
    assert len(paid) == 1


def test_unknown_member_is_refused(clerk: Clerk) -> None:
    clerk("init")
    result = clerk("status", A, expect=1)
    assert "not registered" in result.output


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    names = [n for n in cli.commands if n != "run"] + [f"run {n}" for n in cli.commands["run"].commands]
    for name in names:
        result = runner.invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.output, name


def test_store_and_clerk_can_be_given_before_or_after_the_command(tmp_path: object) -> None:
    store = os.path.join(str(tmp_path), "z.sqlite")
    runner = CliRunner()
    env = {"ZORGKAS_TODAY": "2026-11-23"}
    args = ["register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM"]
    assert runner.invoke(cli, ["--store", store, "--clerk", "bert", *args], env=env).exit_code == 0
    out = runner.invoke(cli, ["history", A, "--json", "--store", store], env=env).output
    assert json.loads(out)[0]["clerk"] == "bert"


def test_a_new_sqlite_store_is_readable_by_its_owner_only(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    mode = stat.S_IMODE(os.stat(sqlite_clerk.store).st_mode)
    assert mode & 0o077 == 0


def test_fixed_clock_is_stored_as_the_recorded_time(clerk: Clerk) -> None:
    clerk(
        "register",
        A,
        "--born",
        "1990-02-02",
        "--region",
        "flanders",
        "--health-fund",
        "CM",
        "--on",
        "2024-01-01",
        now="2024-01-02T10:11:12",
    )
    assert json.loads(clerk("history", A, "--json").output)[0]["recorded_at"] == "2024-01-02T10:11:12"


def test_a_yearly_run_shows_a_progress_bar_on_a_terminal(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    _, shown = on_a_terminal(
        ["run", "invitations", "--year", "2026"], sqlite_clerk.store, today="2026-11-23", stdout_too=True
    )
    assert "1 member" in shown and "events" in shown  # the bar counts the events and members scanned
    assert "invitations 2026 on 2026-11-23: 0 members touched" in shown
