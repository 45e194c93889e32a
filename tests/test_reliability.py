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
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.population import generate
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
