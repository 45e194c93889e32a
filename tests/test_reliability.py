"""Reliability and security promises (docs/reliability.md): crashes, hostile input, privacy.

Each test fails when its promise is broken. Figures (kills survived, inputs tried) are
printed with ``-s`` and copied into docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import string
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.population import generate
from commands.cli import cli
from ledger import seal
from tests.conftest import Clerk, make_insz

ROOT = Path(__file__).resolve().parent.parent
ENV = {"ZORGKAS_TODAY": "2026-11-23", "ZORGKAS_CLERK": "crash-test"}


def _zorgkas(store: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ENV, "ZORGKAS_STORE": store}
    return subprocess.Popen([sys.executable, "-m", "commands.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _finish(store: str, *args: str) -> str:
    proc = _zorgkas(store, *args)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def _counts(store: str) -> Counter[tuple[str, str, int]]:
    """(type, member, year) of every yearly-run event and every bank reference."""
    conn = sqlite3.connect(store)
    seen: Counter[tuple[str, str, int]] = Counter()
    for topic, state in conn.execute("SELECT topic, state FROM stored_events"):
        data = json.loads(state)
        kind = topic.split("@")[0]
        if kind in ("PremiumInvited", "RegisteredLetterSent", "FineImposed"):
            seen[(kind, data["insz"], data["year"])] += 1
        elif kind == "PremiumPaid" and data.get("bank_ref"):
            seen[(kind, data["bank_ref"], 0)] += 1
        elif kind == "Affiliated":
            seen[(kind, data["insz"], 0)] += 1
    conn.close()
    return seen


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pop") / "population.jsonl"
    with path.open("wb") as f:
        for line in generate(3000, 10, seed=7):
            f.write(line)
    return path


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_import_and_yearly_runs_leave_a_sound_store_and_finish_exactly_once(
    tmp_path: Path, population: Path, seed: int
) -> None:
    rng = random.Random(seed)
    store = str(tmp_path / "store.sqlite")
    kills = 0
    commands = [
        ["import", str(population)],
        ["run", "invitations", "--year", "2026", "--on", "2026-01-10"],
        ["run", "auto-affiliation", "--year", "2026"],
        ["run", "letters", "--year", "2026", "--on", "2026-08-20"],
        ["run", "fines", "--year", "2026", "--on", "2026-10-20"],
        ["run", "cancellations", "--year", "2026", "--on", "2026-11-23"],
    ]
    for args in commands:
        proc = _zorgkas(store, *args)
        time.sleep(rng.uniform(0.4, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
        if os.path.exists(store):
            assert "intact" in _finish(store, "verify")
        if args[0] == "import" and os.path.exists(store):
            conn = sqlite3.connect(store)
            n = conn.execute("SELECT count(*) FROM stored_events").fetchone()[0]
            conn.close()
            if n:  # the import finished before the kill: nothing to redo
                continue
        _finish(store, *args)
        again = _finish(store, *args) if args[0] == "run" else ""
        assert args[0] != "run" or "0 events written" in again
    counts = _counts(store)
    assert counts and max(counts.values()) == 1, [k for k, v in counts.items() if v > 1][:5]
    assert "intact" in _finish(store, "verify")
    print(f"crash test seed {seed}: {kills} kills survived, {sum(counts.values())} events checked once")


# -- hostile input ---------------------------------------------------------------------

A = make_insz(date(1990, 2, 2), 71)
junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-30", "1e309", "-0", "64,001", "NaN",
                     "99999999999999999999", "+++000/0000/00000+++", "12345678901", "\x00", "é€😀"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)  # fmt: skip
commands = st.sampled_from([
    ["pay", A, "--amount", "{}", "--on", "2024-01-01"],
    ["pay", A, "--amount", "5", "--on", "{}"],
    ["pay", A, "--amount", "5", "--on", "2024-01-01", "--ogm", "{}"],
    ["register", "{}", "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM"],
    ["register", A, "--born", "{}", "--region", "flanders", "--health-fund", "CM"],
    ["affiliate", A, "--fund", "{}", "--on", "2024-01-01"],
    ["switch", A, "--to", "VZK", "--requested-on", "{}"],
    ["status", A, "--as-of", "{}"],
    ["status", A, "--known-on", "{}"],
    ["run", "letters", "--year", "{}"],
    ["exempt", A, "--reason", "bankruptcy", "--from", "2024-01-01", "--until", "{}"],
    ["budget", A, "--kind", "elderly", "--from", "2024-01-01", "--monthly", "{}"],
])  # fmt: skip


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Clerk:
    clerk = Clerk(str(tmp_path_factory.mktemp("hostile") / "z.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    return clerk


TRIED = Counter[str]()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=commands, value=junk)
def test_hostile_command_lines_never_crash_and_write_nothing_unless_valid(
    hostile_store: Clerk, template: list[str], value: str
) -> None:
    if "\x00" in value:
        value = value.replace("\x00", "")  # an argv cannot carry NUL
    args = [a.replace("{}", value) for a in template]
    before = hostile_store("history", A, "--json").output
    result = hostile_store(*args, expect=None)
    TRIED["command lines"] += 1
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert hostile_store("history", A, "--json").output == before
        assert result.output.strip()


GOOD_LINE = {"type": "Registered", "insz": A, "on": "2020-01-01", "recorded_at": "2020-01-01T09:00:00",
             "clerk": "x", "born": "1990-02-02", "region": "flanders", "health_fund": "CM"}  # fmt: skip
mutations = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(list(GOOD_LINE))),
    st.tuples(st.just("set"), st.sampled_from(list(GOOD_LINE)),
              st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                        st.lists(st.integers(), max_size=2), st.sampled_from(["0001-01-01", "9999-12-31"]))),
    st.tuples(st.just("extra"), st.text(string.ascii_letters, min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.integers(min_value=1, max_value=60)),
    st.tuples(st.just("type"), st.sampled_from(["PremiumPaid", "Nope", "FineImposed", ""])),
)  # fmt: skip


def _mutate(m: tuple[Any, ...]) -> str | None:
    line = dict(GOOD_LINE)
    if m[0] == "drop":
        del line[m[1]]
    elif m[0] == "set":
        if line.get(m[1]) == m[2]:
            return None
        line[m[1]] = m[2]
    elif m[0] == "extra":
        if m[1] in line or m[1] in ("id",):
            return None
        line[m[1]] = 1
    elif m[0] == "type":
        line["type"] = m[1]
    text = json.dumps(line, ensure_ascii=False)
    return text[: m[1]] if m[0] == "truncate" else text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=mutations, position=st.integers(min_value=1, max_value=3))
def test_hostile_event_files_are_refused_whole_naming_the_line(
    tmp_path_factory: pytest.TempPathFactory, mutation: tuple[Any, ...], position: int
) -> None:
    bad = _mutate(mutation)
    if bad is None:
        return
    other = make_insz(date(1991, 3, 3), 73)
    good = json.dumps({**GOOD_LINE, "insz": other})
    lines = [
        good,
        good.replace(other, make_insz(date(1992, 4, 4), 75)),
        good.replace(other, make_insz(date(1993, 5, 5), 77)),
    ]
    lines[position - 1] = bad
    folder = tmp_path_factory.mktemp("files")
    path = folder / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    clerk = Clerk(str(folder / "store.sqlite"))
    result = clerk("import", str(path), expect=None)
    TRIED["event files"] += 1
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        # The mutation left a valid line (e.g. another clerk's name): then all three landed.
        assert "imported 3 events for 3 members" in result.output
        return
    assert result.exit_code == 2 and f"line {position}" in result.output, (bad, result.output)
    good_insz = other if position != 1 else make_insz(date(1992, 4, 4), 75)
    assert clerk("status", good_insz, expect=1)  # nothing of the good lines was written


def test_hostile_inputs_tried_report() -> None:
    print(f"hostile inputs tried: {dict(TRIED)}")


# -- privacy ---------------------------------------------------------------------------


def test_database_password_never_appears_in_errors(tmp_path: Path) -> None:
    clerk = Clerk("postgresql://zorg:s3cr3t-pw@127.0.0.1:1/nowhere")
    result = clerk("status", A, expect=4)  # unreachable: safe to retry
    assert "s3cr3t-pw" not in result.output and "***" in result.output
    assert "127.0.0.1 port 1" in result.output and "Connection refused" in result.output


def test_every_event_records_its_clerk(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    sqlite_clerk("pay", A, "--amount", "53", "--on", "2020-02-01")
    history = json.loads(sqlite_clerk("history", A, "--json").output)
    assert {e["clerk"] for e in history} == {"test-clerk"}


# -- the attack report, case by case (issue 10): each ends in 0, 1 or 2, never 3 ----------

B = make_insz(date(1980, 5, 5), 31)  # health fund CM
OTHER = make_insz(date(1981, 6, 6), 33)


def _line(type_: str, insz: str = B, on: str = "2020-01-01", **fields: Any) -> dict[str, Any]:
    return {"type": type_, "insz": insz, "on": on, "recorded_at": f"{on}T09:00:00", "clerk": "x", **fields}


def _registered(insz: str = B, health_fund: str = "CM") -> dict[str, Any]:
    return _line("Registered", insz, born="1980-05-05", region="flanders", health_fund=health_fund)


def _import(clerk: Clerk, tmp_path: Path, lines: list[Any], expect: int | None) -> str:
    """Import ``lines`` (dicts, or raw str/bytes lines) and return the output."""
    path = tmp_path / f"file{len(list(tmp_path.iterdir()))}.jsonl"
    raw = [
        line if isinstance(line, bytes) else (line if isinstance(line, str) else json.dumps(line)).encode()
        for line in lines
    ]
    path.write_bytes(b"\n".join(raw) + b"\n")
    before = _event_count(clerk.store)
    result = clerk("import", str(path), expect=expect)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert _event_count(clerk.store) == before, "a refused import wrote events"
    return result.output


def _event_count(store: str) -> int:
    if store.startswith("postgresql://"):
        from ledger.store import Ledger

        ledger = Ledger(store)
        try:
            return ledger.count_events()
        finally:
            ledger.close()
    if not os.path.exists(store):
        return 0
    conn = sqlite3.connect(store)
    try:
        return conn.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


# Exit 3 from input (the first bullet)
@pytest.mark.parametrize("year", ["²", "٢٠٢٥", "２０２５", "2O25", "+2025", " 2025"])
def test_a_year_in_other_digits_is_bad_input_not_a_crash(sqlite_clerk: Clerk, year: str) -> None:
    result = sqlite_clerk("run", "letters", "--year", year, expect=2)
    assert "--year" in result.output


def test_a_non_utf8_byte_in_a_text_option_is_bad_input(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    ref = b"BANK-\xff-1".decode("utf-8", "surrogateescape")  # what Python makes of such an argv
    result = sqlite_clerk("pay", A, "--amount", "5", "--on", "2024-01-01", "--bank-ref", ref, expect=2)
    assert "--bank-ref" in result.output and "U+DCFF" in result.output


def test_a_non_utf8_byte_in_an_event_file_is_bad_input_naming_the_line(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    bad = json.dumps(_line("Died", clerk="an")).encode().replace(b'"an"', b'"a\xffn"')
    out = _import(sqlite_clerk, tmp_path, [_registered(), bad], expect=2)
    assert "line 2" in out and "UTF-8" in out


def test_a_lone_surrogate_clerk_in_an_event_file_is_bad_input(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    line = json.dumps(_registered()).replace('"clerk": "x"', '"clerk": "\\ud800"')
    out = _import(sqlite_clerk, tmp_path, [line], expect=2)
    assert "line 1" in out and "clerk" in out


def test_a_100000_deep_json_array_is_bad_input_not_a_recursion_error(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    out = _import(sqlite_clerk, tmp_path, ["[" * 100_000 + "]" * 100_000], expect=2)
    assert "line 1" in out


def test_a_deep_array_inside_a_short_line_is_bad_input(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    line = json.dumps(_registered())[:-1] + ', "premium_years": ' + "[" * 5000 + "]" * 5000 + "}"
    out = _import(sqlite_clerk, tmp_path, [line], expect=2)
    assert "line 1" in out


def test_an_endless_line_is_refused_before_it_is_read_whole(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    out = _import(sqlite_clerk, tmp_path, [b"\x00" * 10_000_000], expect=2)
    assert "line 1" in out and "too long" in out


def test_a_postgresql_port_out_of_range_is_not_a_crash() -> None:
    result = Clerk("postgresql://postgres@127.0.0.1:99999/x")("status", A, expect=None)
    assert result.exit_code in (2, 4), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("store", [":memory:", "x" * 5000, "/dev/null/z.sqlite", "/proc/z.sqlite"])
def test_an_odd_store_path_is_not_a_crash(tmp_path: Path, store: str) -> None:
    result = Clerk(store)("status", A, expect=None)
    assert result.exit_code in (1, 2, 4), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("before", [True, False])
def test_an_empty_store_path_is_bad_input_not_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: bool
) -> None:
    # `--store "$UNSET_VARIABLE"` must not quietly register people in ./zorgkas.sqlite.
    monkeypatch.chdir(tmp_path)
    register = ["register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM"]
    argv = ["--store", "", *register] if before else [*register, "--store", " "]
    result = CliRunner().invoke(cli, argv, env={"ZORGKAS_STORE": ""})
    assert result.exit_code == 2 and "--store" in result.output and "empty" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_report_to_dev_null_is_not_a_crash(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    result = sqlite_clerk("report", "--to", "/dev/null", expect=None)
    assert result.exit_code in (0, 2), result.output


# Import accepts what no question can answer (the second bullet)
@pytest.mark.parametrize("code", ["", "XX", "cmx", None, 7])
def test_an_unknown_or_empty_fund_code_in_an_event_file_is_bad_input(
    sqlite_clerk: Clerk, tmp_path: Path, code: Any
) -> None:
    affiliated = _line("Affiliated", fund=code, kind="compulsory", since="2020-01-01")
    out = _import(sqlite_clerk, tmp_path, [_registered(), affiliated], expect=2)
    assert "line 2" in out


def test_a_repeated_key_is_bad_input_not_the_last_one_wins(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    line = json.dumps(_registered()).replace(f'"insz": "{B}"', f'"insz": "{B}", "insz": "{OTHER}"')
    out = _import(sqlite_clerk, tmp_path, [line], expect=2)
    assert "line 1" in out and "insz" in out and "repeated" in out


def test_R_PREM_7_a_bank_reference_is_imported_once_per_member(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    # A bank file converted twice into one event file: the second payment is refused, as
    # `pay` reports it (reliability.md: a bank reference is unique per member).
    paid = _line("PremiumPaid", on="2020-03-01", amount_cents=5000, bank_ref="BANK-1", method="transfer")
    again = {**paid, "recorded_at": "2020-03-02T09:00:00"}
    out = _import(sqlite_clerk, tmp_path, [_registered(), paid, again], expect=None)
    assert "line 3" in out and "'BANK-1'" in out and "R-PREM-7" in out
    assert _event_count(sqlite_clerk.store) == 0
    # Against the store: the payment recorded, then another file naming its reference.
    _import(sqlite_clerk, tmp_path, [_registered(), paid], expect=0)
    out = _import(sqlite_clerk, tmp_path, [{**again, "amount_cents": 7000}], expect=None)
    assert "line 1" in out and "'BANK-1'" in out and _event_count(sqlite_clerk.store) == 2
    # Another reference, no reference, or the same reference on another member: payments.
    other = _line("PremiumPaid", on="2020-04-01", amount_cents=100, bank_ref="BANK-2", method="transfer")
    unnamed = _line("PremiumPaid", on="2020-04-01", amount_cents=100, method="transfer")
    theirs = {**paid, "insz": OTHER}
    _import(sqlite_clerk, tmp_path, [other, unnamed, unnamed, _registered(OTHER), theirs], expect=0)
    assert _event_count(sqlite_clerk.store) == 7


def test_R_PREM_7_a_retracted_payments_bank_reference_stays_used(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    # A payment the fund retracted (matched to this member wrongly, or typed wrongly) does
    # not come back when the bank file is read again: its reference stays a duplicate, in
    # `pay` and in the import alike. The corrected payment takes another reference; a
    # reversal finds the standing payment, never a retracted one.
    c = sqlite_clerk
    c.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    c("pay", A, "--amount", "50", "--on", "2024-03-01", "--bank-ref", "B1")
    wrong = next(e for e in json.loads(c("history", A, "--json").output) if e["type"] == "PremiumPaid")
    c("retract", A, "--event", wrong["id"], "--reason", "amount typed wrongly")
    assert "duplicate" in c("pay", A, "--amount", "60", "--on", "2024-03-01", "--bank-ref", "B1").output
    out = c("reverse-payment", A, "--bank-ref", "B1", "--on", "2024-04-01", "--reason", "x", expect=1).output
    assert "no payment with bank reference 'B1'" in out
    c("pay", A, "--amount", "60", "--on", "2024-03-01", "--bank-ref", "B1-corrected")
    assert c.status(A)["credit_cents"] == 6000
    # The import reads the same: from the store, and from the file itself.
    paid = _line("PremiumPaid", A, "2024-03-01", amount_cents=5000, bank_ref="B2", method="transfer",
                 id=str(uuid.uuid4()))  # fmt: skip
    retracted = _line("EventRetracted", A, "2024-03-02", target_id=paid["id"], reason="another member's")
    again = {**paid, "id": str(uuid.uuid4()), "recorded_at": "2024-03-03T09:00:00"}
    out = _import(c, tmp_path, [paid, retracted, again], expect=1)
    assert "line 3" in out and "'B2'" in out and "R-PREM-7" in out
    _import(c, tmp_path, [paid, retracted], expect=0)
    assert "line 1" in _import(c, tmp_path, [again], expect=1)
    # Exported and imported again, the story is the same.
    exported = tmp_path / "all.jsonl"
    c("export", str(exported))
    copy = Clerk(str(tmp_path / "copy.sqlite"))
    copy("import", str(exported))
    assert copy.status(A) == c.status(A) and c.status(A)["credit_cents"] == 6000


def test_a_zero_cent_payment_is_bad_input(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    out = _import(sqlite_clerk, tmp_path, [_registered(), _line("PremiumPaid", amount_cents=0)], expect=2)
    assert "line 2" in out and "amount_cents" in out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("clerk", "a\x00b"),
        ("clerk", "x" * 200),
        ("bank_ref", "B\x00"),
        ("bank_ref", "y" * 5000),
        ("clerk", " "),
    ],
)
def test_nul_huge_or_blank_text_in_an_event_file_is_bad_input(
    sqlite_clerk: Clerk, tmp_path: Path, field: str, value: str
) -> None:
    paid = {**_line("PremiumPaid", amount_cents=500), field: value}
    out = _import(sqlite_clerk, tmp_path, [_registered(), paid], expect=2)
    assert "line 2" in out and field in out


def test_a_100_mb_string_is_refused_by_the_line_bound(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    paid = _line("PremiumPaid", amount_cents=500, bank_ref="z" * 100_000_000)
    out = _import(sqlite_clerk, tmp_path, [_registered(), paid], expect=2)
    assert "line 2" in out and "too long" in out


def test_a_second_registration_is_refused_R_OBL_1(clerk: Clerk, tmp_path: Path) -> None:
    out = _import(clerk, tmp_path, [_registered(), _registered()], expect=1)
    assert "R-OBL-1" in out and "line 2" in out
    _import(clerk, tmp_path, [_registered()], expect=0)
    out = _import(clerk, tmp_path, [_line("Registered", born="1980-05-05", region="flanders",
                                                 health_fund="CM", on="2021-01-01")], expect=1)  # fmt: skip
    assert "R-OBL-1" in out and "already registered" in out


def test_a_retraction_of_the_registration_is_refused_R_OBL_1(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    reg = {**_registered(), "id": "6f1d3c2e-7a0b-4c4e-9f3a-2b1c0d9e8f7a"}
    retract = _line("EventRetracted", target_id=reg["id"], reason="typed on the wrong member")
    out = _import(sqlite_clerk, tmp_path, [reg, retract], expect=1)
    assert "R-OBL-1" in out and "line 2" in out and "Registered cannot be retracted" in out


def test_a_retraction_of_a_stored_registration_is_refused_too(
    clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    clerk.import_workers = import_workers
    reg = {**_registered(), "id": "6f1d3c2e-7a0b-4c4e-9f3a-2b1c0d9e8f7a"}
    _import(clerk, tmp_path, [reg], expect=0)
    retract = _line("EventRetracted", target_id=reg["id"], reason="typed on the wrong member")
    out = _import(clerk, tmp_path, [retract], expect=1)
    assert "R-OBL-1" in out


def test_a_clerk_who_retracts_the_registration_is_told_what_corrects_it_instead(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2021-01-01")
    history = json.loads(clerk("history", A, "--json").output)
    before = clerk("export", "-").output
    out = clerk("retract", A, "--event", history[0]["id"], "--reason", "wrong region", expect=1).output
    assert "R-OBL-1" in out and "registration cannot be retracted" in out and "`zorgkas move`" in out
    assert clerk("export", "-").output == before


def test_a_retraction_of_an_unknown_event_is_bad_input(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    retract = _line("EventRetracted", target_id="6f1d3c2e-7a0b-4c4e-9f3a-2b1c0d9e8f7a", reason="x")
    out = _import(sqlite_clerk, tmp_path, [_registered(), retract], expect=2)
    assert "target_id" in out and "line 2" in out


def test_a_reversal_of_a_payment_that_does_not_exist_is_refused_R_PREM_7(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    reversal = _line("PaymentReversed", payment_id="6f1d3c2e-7a0b-4c4e-9f3a-2b1c0d9e8f7a")
    out = _import(sqlite_clerk, tmp_path, [_registered(), reversal], expect=1)
    assert "R-PREM-7" in out and "line 2" in out


def test_a_reversal_of_an_existing_payment_is_accepted_once(
    clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    clerk.import_workers = import_workers
    paid = {**_line("PremiumPaid", amount_cents=5000), "id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427"}
    reversal = _line("PaymentReversed", on="2020-02-01", payment_id=paid["id"])
    _import(clerk, tmp_path, [_registered(), paid, reversal], expect=0)
    again = _line("PaymentReversed", on="2020-03-01", payment_id=paid["id"])
    assert "R-PREM-7" in _import(clerk, tmp_path, [again], expect=1)


# The guards keep only the ids a line of the file names (memory grows with members, not
# events); any other id is read again, exactly. These lines name theirs in ways the scan for
# named ids does not read: the slow path must find them all the same.
PAID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"


@pytest.mark.parametrize(
    "written",
    [
        '"payment_id" :\t"' + PAID + '"',  # JSON's whitespace around the colon
        '"payment_id":"' + PAID.upper() + '"',  # an upper-case id
        '"payment_id":"' + PAID.replace("-", "") + '"',  # an id without its dashes
        '"payment\\u005fid":"' + PAID + '"',  # an escaped key
        '"payment_id":"\\u0031' + PAID[1:] + '"',  # an escaped id
    ],
)
def test_a_reversal_naming_its_payment_unusually_is_still_accepted_once_R_PREM_7(
    clerk: Clerk, tmp_path: Path, import_workers: str, written: str
) -> None:
    clerk.import_workers = import_workers
    paid = {**_line("PremiumPaid", amount_cents=5000), "id": PAID}
    reversal = json.dumps(_line("PaymentReversed", on="2020-02-01", payment_id="X"))
    reversal = reversal.replace('"payment_id": "X"', written)
    _import(clerk, tmp_path, [_registered(), paid, reversal], expect=0)
    again = _line("PaymentReversed", on="2020-03-01", payment_id=PAID)
    assert "R-PREM-7" in _import(clerk, tmp_path, [again], expect=1)


def test_a_line_repeated_in_one_file_is_named_a_repeat_not_a_second_registration(
    clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    """The registration's id is named by no line, so the guards did not keep it: the
    refusal reads the member's earlier lines again and finds the repeat."""
    clerk.import_workers = import_workers
    reg = {**_registered(), "id": "6f1d3c2e-7a0b-4c4e-9f3a-2b1c0d9e8f7a"}
    paid = _line("PremiumPaid", amount_cents=5000)
    out = _import(clerk, tmp_path, [reg, paid, reg], expect=2)
    assert "line 3" in out and "already in the store or the file" in out


@pytest.mark.parametrize("years", [[-5, 99999], [2019, 2019], list(range(1950, 2020))])
def test_implausible_premium_years_are_bad_input(
    sqlite_clerk: Clerk, tmp_path: Path, years: list[int]
) -> None:
    letter = _line("RegisteredLetterSent", year=2020, premium_years=years, amount_cents=10000)
    out = _import(sqlite_clerk, tmp_path, [_registered(), letter], expect=2)
    assert "premium_years" in out and "line 2" in out


def test_an_invalid_ogm_is_bad_input(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    paid = _line("PremiumPaid", amount_cents=500, ogm="123456789012")
    out = _import(sqlite_clerk, tmp_path, [_registered(), paid], expect=2)
    assert "ogm" in out and "line 2" in out


def test_an_unknown_rule_id_is_bad_input(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    aff = _line("Affiliated", fund="CM", kind="compulsory", since="2020-01-01", rule="R-NOPE-9")
    out = _import(sqlite_clerk, tmp_path, [_registered(), aff], expect=2)
    assert "rule" in out and "line 2" in out


@pytest.mark.parametrize("kind", ["Affiliated", "FundSwitched"])
def test_another_health_funds_care_fund_is_refused_R_FUND_1(
    sqlite_clerk: Clerk, tmp_path: Path, kind: str, import_workers: str
) -> None:
    sqlite_clerk.import_workers = import_workers
    lines = [_registered(health_fund="CM")]
    if kind == "Affiliated":
        lines.append(_line("Affiliated", fund="SOM", kind="compulsory", since="2020-01-01"))
    else:
        lines.append(_line("Affiliated", fund="CM", kind="compulsory", since="2020-01-01"))
        lines.append(_line(kind, on="2020-11-01", from_fund="CM", to_fund="SOM", effective="2021-01-01"))
    out = _import(sqlite_clerk, tmp_path, lines, expect=1)
    assert "R-FUND-1" in out and f"line {len(lines)}" in out


def test_the_vlaamse_zorgkas_is_open_to_everyone_R_FUND_1(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    aff = _line("Affiliated", fund="VZK", kind="compulsory", since="2020-01-01")
    _import(sqlite_clerk, tmp_path, [_registered(health_fund="SOM"), aff], expect=0)


def test_a_fine_without_its_letter_is_refused_R_FINE_1(
    sqlite_clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    sqlite_clerk.import_workers = import_workers
    fine = _line("FineImposed", on="2020-10-20", year=2020, amount_cents=25000, premium_years=[2019, 2020])
    out = _import(sqlite_clerk, tmp_path, [_registered(), fine], expect=1)
    assert "R-FINE-1" in out and "line 2" in out
    letter = _line("RegisteredLetterSent", on="2020-08-20", year=2020, premium_years=[2019, 2020],
                   amount_cents=10000)  # fmt: skip
    _import(sqlite_clerk, tmp_path, [_registered(), letter, fine], expect=0)


def test_the_cli_refuses_a_blank_clerk_so_every_export_imports(sqlite_clerk: Clerk) -> None:
    result = sqlite_clerk("--clerk", "  ", "register", A, "--born", "1990-02-02", "--region", "flanders",
                          "--health-fund", "CM", expect=2)  # fmt: skip
    assert "--clerk" in result.output and "empty" in result.output


def test_an_odd_clerk_the_cli_accepts_survives_export_and_import(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    odd = " Zoë d'Hondt-Ölçer 😀 "
    sqlite_clerk("--clerk", odd, "register", A, "--born", "1990-02-02", "--region", "flanders",
                 "--health-fund", "CM", "--on", "2020-01-01")  # fmt: skip
    sqlite_clerk("export", str(tmp_path / "out.jsonl"))
    fresh = Clerk(str(tmp_path / "fresh.sqlite"))
    fresh("import", str(tmp_path / "out.jsonl"))
    assert json.loads(fresh("history", A, "--json").output)[0]["clerk"] == odd


def test_an_insz_as_a_json_number_is_refused_and_a_formatted_one_accepted(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    number = json.dumps(_registered()).replace(f'"{B}"', B)
    out = _import(sqlite_clerk, tmp_path, [number], expect=2)
    assert "insz" in out and "string" in out
    formatted = f"{B[:2]}.{B[2:4]}.{B[4:6]}-{B[6:9]}.{B[9:]}"
    assert sqlite_clerk("status", formatted, expect=1)  # the CLI accepts the form: not registered
    _import(sqlite_clerk, tmp_path, [_registered(formatted)], expect=0)
    assert sqlite_clerk.status(B)["insz"] == B


# Import is not idempotent without ids (the third bullet)
def test_a_file_without_ids_imported_twice_is_refused_and_50_euro_stays_50(
    clerk: Clerk, tmp_path: Path, import_workers: str
) -> None:
    clerk.import_workers = import_workers
    lines = [_registered(), _line("PremiumPaid", on="2020-02-01", amount_cents=5000)]
    _import(clerk, tmp_path, lines, expect=0)
    before = clerk("history", B, "--json").output
    out = _import(clerk, tmp_path, lines, expect=2)
    assert "already in the store" in out and "line 1" in out
    assert clerk("history", B, "--json").output == before
    paid = [e for e in json.loads(before) if e["type"] == "PremiumPaid"]
    assert [p["amount_cents"] for p in paid] == [5000]


def test_two_identical_payments_in_one_file_are_two_payments(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    paid = _line("PremiumPaid", on="2020-02-01", amount_cents=5000)
    _import(sqlite_clerk, tmp_path, [_registered(), paid, paid], expect=0)
    history = json.loads(sqlite_clerk("history", B, "--json").output)
    assert [e["amount_cents"] for e in history if e["type"] == "PremiumPaid"] == [5000, 5000]


# The command line accepts what the contract does not (the fourth bullet)
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["pay", A, "--amount", "٦٤", "--on", "2024-01-01"], "--amount"),
        (["pay", A, "--amount", "６４", "--on", "2024-01-01"], "--amount"),
        (["pay", A, "--amount", "64\n", "--on", "2024-01-01"], "--amount"),
        (["pay", A, "--amount", "64", "--on", "2024W101"], "--on"),
        (["pay", A, "--amount", "64", "--on", "2024-W10-1"], "--on"),
        (["pay", A, "--amount", "64", "--on", "20240101"], "--on"),
        (["pay", A, "--amount", "64", "--on", "2024-001"], "--on"),
        (["pay", A, "--amount", "64", "--on", "٢٠٢٤-٠١-٠١"], "--on"),
        (["status", A, "--known-on", "2024-01-01T10:00:00.1234567"], "--known-on"),
        (["retract", A, "--event", "١" * 32, "--reason", "wrong"], "--event"),
        (["status", "".join(chr(ord(c) + 0xFEE0) for c in A)], "INSZ"),
        (["status", A + "\n"], "INSZ"),
        (["status", A[:6] + " " + A[6:]], "INSZ"),
        (["allowance", A, "--entitled", "--not-entitled", "--on", "2024-01-01"], "--not-entitled"),
        (["appeal", A, "--fine-year", "2024", "--upheld", "--rejected", "--on", "2024-12-01"], "--rejected"),
        (["affiliate", A, "--fund", "CM", "--voluntary", "--early", "--on", "2024-01-01"], "--early"),
        (["pay", A, "--amount", "5", "--on", "2024-01-01", "--on", "2024-02-01"], "--on"),
        (["retract", A, "--event", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "--reason", "a\x00b"], "--reason"),
        (
            ["exempt", A, "--reason", "bankruptcy", "--from", "2024-01-01", "--evidence", "e" * 1001],
            "--evidence",
        ),
    ],
)
def test_the_command_line_takes_only_what_the_contract_says(
    sqlite_clerk: Clerk, args: list[str], needle: str
) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    before = _event_count(sqlite_clerk.store)
    result = sqlite_clerk(*args, expect=2)
    assert needle in result.output
    assert _event_count(sqlite_clerk.store) == before


@pytest.mark.parametrize("typed", [A, f"{A[:2]}.{A[2:4]}.{A[4:6]}-{A[6:9]}.{A[9:]}", f"{A[:6]}-{A[6:]}"])
def test_an_insz_as_clerks_type_it_is_accepted(sqlite_clerk: Clerk, typed: str) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    assert sqlite_clerk.status(typed)["insz"] == A


def test_the_same_flag_twice_is_not_a_contradiction(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    sqlite_clerk("allowance", A, "--entitled", "--entitled", "--on", "2024-01-01")


# Versions and files (the store module's)
def _stored_topic(store: str, topic: str, insz: str, **fields: Any) -> None:
    """An event as a newer zorgkas would store it: an unknown topic, sealed with the key."""
    conn = sqlite3.connect(store)
    row = conn.execute("SELECT originator_id, max(originator_version), state FROM stored_events").fetchone()
    state = json.loads(row[2])
    previous = state.pop("chain")
    version = row[1] + 1
    state.update(
        originator_version=version, id="2b1c0d9e-8f7a-4c4e-9f3a-6f1d3c2e7a0b", future_field=1, **fields
    )
    unsealed = json.dumps({**state, "chain": ""}, separators=(",", ":")).encode()
    key = seal.load_key(create=False)
    assert key is not None
    link = seal.link(key, previous, topic, uuid.UUID(row[0]), version, unsealed)
    conn.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
        (row[0], version, topic, seal.sealed(unsealed, link)),
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("topic", ["PremiumPaid@99", "Frobnicated@1"])
def test_an_event_of_a_newer_version_is_not_a_crash_nor_tampering(sqlite_clerk: Clerk, topic: str) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    _stored_topic(sqlite_clerk.store, topic, A)
    for args in (["status", A], ["history", A], ["export", sqlite_clerk.store + ".jsonl"], ["verify"]):
        result = sqlite_clerk(*args, expect=None)
        assert result.exit_code in (0, 1, 2, 4), (args, result.output)
        assert "tampered" not in result.output and "Traceback" not in result.output


def test_an_export_to_a_full_disk_is_not_a_crash(sqlite_clerk: Clerk) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    result = sqlite_clerk("export", "/dev/full", expect=None)
    assert result.exit_code in (2, 4), result.output


def test_a_read_only_store_still_answers_questions(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only files: run as another user")
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    os.chmod(sqlite_clerk.store, 0o444)
    os.chmod(os.path.dirname(sqlite_clerk.store), 0o555)
    try:
        assert sqlite_clerk.status(A)["insz"] == A
        assert sqlite_clerk("pay", A, "--amount", "5", "--on", "2024-01-01", expect=None).exit_code in (2, 4)
    finally:
        os.chmod(os.path.dirname(sqlite_clerk.store), 0o755)


def test_an_import_of_a_file_that_is_not_json_lines_stops_at_the_first_line(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this system")
    result = sqlite_clerk("import", "/dev/zero", expect=2)
    assert "line 1" in result.output and "too long" in result.output


# The claims' events (merged after the validator): checked like every other line
_CLAIM_ID = "3d5f7a9b-1c2e-4f60-8a1b-2c3d4e5f6a7b"


def _invited(**fields: Any) -> dict[str, Any]:
    return _line("PremiumInvited", on="2020-01-15", id=_CLAIM_ID, year=2020, amount_cents=5400,
                 reduced=False, ogm="", fund="CM", **fields)  # fmt: skip


def _adjusted(claim_id: str) -> dict[str, Any]:
    return _line("PremiumAdjusted", on="2020-06-01", year=2020, claim_id=claim_id, amount_cents=2700,
                 reduced=True, source="Besluit van de Vlaamse Regering", confirmed=True,
                 reason="schedule value corrected")  # fmt: skip


def test_an_adjustment_of_a_claim_that_does_not_exist_is_refused_R_PREM_9(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    out = _import(sqlite_clerk, tmp_path, [_registered(), _adjusted(_CLAIM_ID)], expect=1)
    assert "R-PREM-9" in out and "line 2" in out


def test_an_adjustment_of_a_stored_claim_is_accepted_R_PREM_9(clerk: Clerk, tmp_path: Path) -> None:
    _import(clerk, tmp_path, [_registered(), _invited()], expect=0)
    _import(clerk, tmp_path, [_adjusted(_CLAIM_ID)], expect=0)
    assert clerk.status(B, "--as-of", "2020-07-01")["insz"] == B


def test_an_adjustment_aimed_at_a_payment_is_refused_R_PREM_9(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    paid = {**_line("PremiumPaid", amount_cents=5400), "id": _CLAIM_ID}
    out = _import(sqlite_clerk, tmp_path, [_registered(), paid, _adjusted(_CLAIM_ID)], expect=1)
    assert "R-PREM-9" in out and "line 3" in out


@pytest.mark.parametrize("source", ["a\x00b", "\ud800", "s" * 2000])
def test_a_claims_source_is_checked_text(sqlite_clerk: Clerk, tmp_path: Path, source: str) -> None:
    out = _import(sqlite_clerk, tmp_path, [_registered(), _invited(source=source)], expect=2)
    assert "line 2" in out and "source" in out


def test_a_mandates_first_year_is_a_plausible_year(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    mandate = _line("DirectDebitRequested", on="2020-01-10", first_year=99999)
    out = _import(sqlite_clerk, tmp_path, [_registered(), mandate], expect=2)
    assert "line 2" in out and "first_year" in out


def test_an_import_for_a_member_with_an_unreadable_newer_event_is_bad_input(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _import(sqlite_clerk, tmp_path, [_registered()], expect=0)
    _stored_topic(sqlite_clerk.store, "PremiumPaid@99", B, year="the next one", payment_id=7)
    paid = _line("PremiumPaid", on="2021-01-05", amount_cents=5400)
    out = _import(sqlite_clerk, tmp_path, [paid], expect=2)
    assert "line 1" in out and "newer version" in out


def test_a_contradiction_with_json_is_one_json_error(sqlite_clerk: Clerk) -> None:
    sqlite_clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    result = sqlite_clerk("status", A, "--json", "--as-of", "2024-01-01", "--as-of", "2024-02-02", expect=2)
    error = json.loads(result.output.strip().splitlines()[-1])
    assert error["error"] == "bad_input" and "--as-of given twice" in error["message"]
