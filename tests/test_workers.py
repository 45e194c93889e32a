"""Yearly runs across worker processes write each effect exactly once (R-PREM-1).

A fund of a few hundred generated members, with ten years of history; the 2026
invitations (R-PREM-1: one invitation per member and year) are run once cleanly, the
store rewound, and then run again the hard way: by two workers, by two whole runs
started at once, by hand in three parts, and by a worker killed with SIGKILL halfway
and run again. Every time the events written must be exactly those of the clean run.
Every process is a real one (``python -m commands.cli``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bench.run import head_of as head
from bench.run import rewind
from commands.cli import cli
from ledger.store import Ledger
from tests.conftest import make_insz

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 400
INVITE = ["run", "invitations", "--year", "2026", "--on", "2026-01-10"]
SUMMARY = re.compile(r"(\d+) members touched, (\d+) events written")

# A worker that dies by SIGKILL right after its first batch is committed (batches of 50).
DIES_AFTER_ONE_BATCH = """
import os, signal, sys
from commands import runs
from ledger.store import Ledger
from tests.conftest import make_insz
runs.BATCH = 50
save = Ledger.append_many
def save_then_die(self, batch):
    stored = save(self, batch)
    os.kill(os.getpid(), signal.SIGKILL)
    return stored
Ledger.append_many = save_then_die
from commands.cli import main
sys.exit(main())
"""


def env(store: str) -> dict[str, str]:
    return {
        **os.environ,
        "ZORGKAS_STORE": store,
        "ZORGKAS_CLERK": "an.peeters",
        "ZORGKAS_TODAY": "2026-11-23",
        "ZORGKAS_NOW": "2026-11-23T12:00:00",
        "ZORGKAS_PSEUDONYM_KEY": "test",
    }


def zorgkas(store: str, *argv: str, code: str | None = None) -> subprocess.Popen[str]:
    head = ["-c", code] if code else ["-m", "commands.cli"]
    return subprocess.Popen(
        [sys.executable, *head, *argv],
        cwd=ROOT,
        env=env(store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def written(out: str) -> int:
    found = SUMMARY.search(out)
    assert found, out
    return int(found.group(2))


def effects(store: str, after: int) -> Counter[tuple[str, str, Any]]:
    """What was recorded after position ``after``: (member, event type, year), counted."""
    ledger = Ledger(store)
    try:
        return Counter((e.insz, e.type, getattr(e, "year", None)) for _p, e in ledger.notifications(after))
    finally:
        ledger.close()


@pytest.fixture
def fund(store_url: str, tmp_path: Path) -> tuple[str, int, Counter[tuple[str, str, Any]]]:
    """(store, position before the run, the effects of one clean run); rewound."""
    from bench.population import generate

    file = tmp_path / "fund.jsonl"
    with file.open("wb") as f:
        f.writelines(generate(MEMBERS, 10, seed=13))
    code, out, err = finish(zorgkas(store_url, "import", str(file)))
    assert code == 0, err
    start = head(store_url)
    code, out, err = finish(zorgkas(store_url, *INVITE))
    assert code == 0, err
    clean = effects(store_url, start)
    assert written(out) == sum(clean.values()) > BATCH_OF_THE_KILLED_WORKER
    assert max(clean.values()) == 1  # one invitation per member and year
    rewind(store_url, start)
    assert head(store_url) == start
    return store_url, start, clean


BATCH_OF_THE_KILLED_WORKER = 50


def test_two_workers_write_what_one_run_writes_and_their_summary_adds_up_r_prem_1(fund: Any) -> None:
    store, start, clean = fund
    code, out, err = finish(zorgkas(store, *INVITE, "--workers", "2"))
    assert code == 0, err
    assert effects(store, start) == clean
    assert written(out) == sum(clean.values())
    assert re.search(rf"{sum(clean.values())} members touched", out)


def test_two_runs_started_at_once_invite_each_member_once_r_prem_1(fund: Any) -> None:
    store, start, clean = fund
    first = zorgkas(store, *INVITE, "--workers", "2")
    second = zorgkas(store, *INVITE)
    (code1, out1, err1), (code2, out2, err2) = finish(first), finish(second)
    assert (code1, code2) == (0, 0), err1 + err2
    assert effects(store, start) == clean
    assert written(out1) + written(out2) == sum(clean.values())


def test_a_worker_killed_halfway_then_a_rerun_invite_each_member_once_r_prem_1(fund: Any) -> None:
    store, start, clean = fund
    code, _out, _err = finish(zorgkas(store, *INVITE, "--part", "1/2", code=DIES_AFTER_ONE_BATCH))
    assert code == -signal.SIGKILL
    halfway = sum(effects(store, start).values())
    assert halfway == BATCH_OF_THE_KILLED_WORKER  # its one committed batch, nothing of the next
    code, out, err = finish(zorgkas(store, *INVITE, "--workers", "2"))
    assert code == 0, err
    assert effects(store, start) == clean
    assert written(out) == sum(clean.values()) - halfway


def test_a_killed_worker_stops_the_run_with_a_message_and_a_rerun_finishes_it_r_prem_1(
    fund: Any, tmp_path: Path
) -> None:
    """``--workers`` waits for every worker, names the one that died and exits non-zero."""
    store, start, clean = fund
    # The parent starts its workers with this interpreter: give them the dying hook.
    hook = tmp_path / "sitecustomize.py"
    hook.write_text(
        "import os, sys\n"
        "if '--part' in sys.argv and sys.argv[sys.argv.index('--part') + 1] == '2/2':\n"
        "    import signal\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "commands.cli", *INVITE, "--workers", "2"],
        cwd=ROOT,
        env={**env(store), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, _out, err = finish(proc)
    assert code == 3
    assert "worker 2/2 stopped (killed by signal 9)" in err
    assert "run it again" in err
    assert 0 < sum(effects(store, start).values()) < sum(clean.values())
    code, out, err = finish(zorgkas(store, *INVITE, "--workers", "2"))
    assert code == 0, err
    assert effects(store, start) == clean


def test_three_parts_started_by_hand_cover_every_member_once_r_prem_1(fund: Any) -> None:
    store, start, clean = fund
    total = 0
    for part in ("2/3", "3/3", "1/3"):
        code, out, err = finish(zorgkas(store, *INVITE, "--part", part))
        assert code == 0, err
        total += written(out)
    assert effects(store, start) == clean
    assert total == sum(clean.values())


@pytest.mark.parametrize(
    "flags",
    [
        ["--part", "0/2"],
        ["--part", "3/2"],
        ["--part", "1-2"],
        ["--workers", "0"],
        ["--workers", "two"],
        ["--workers", "2", "--part", "1/2"],
    ],
)
def test_a_bad_part_or_worker_count_is_bad_input_and_writes_nothing(
    flags: list[str], sqlite_url: str
) -> None:
    runner = CliRunner()
    runner.invoke(
        cli,
        [
            "--store",
            sqlite_url,
            "register",
            "98010110389",
            "--born",
            "1998-01-01",
            "--region",
            "flanders",
            "--health-fund",
            "CM",
            "--resident-since",
            "1998-01-01",
            "--on",
            "2024-01-02",
        ],
        env=env(sqlite_url),
    )
    before = head(sqlite_url)
    result = runner.invoke(cli, ["--store", sqlite_url, *INVITE, *flags], env=env(sqlite_url))
    assert result.exit_code == 2, result.output
    assert head(sqlite_url) == before


def test_a_worker_that_touches_one_member_is_counted_not_taken_for_a_failure(
    sqlite_url: str,
) -> None:
    """A worker prints "1 member touched, 1 event written": singular, and still a success.
    The summary was read as plural only, so a fund of one member made the run exit 3."""
    runner = CliRunner()
    register = ["register", "98010110389", "--born", "1998-01-01", "--region", "flanders",
                "--health-fund", "CM", "--resident-since", "1998-01-01", "--on", "2024-01-02"]  # fmt: skip
    affiliate = ["affiliate", "98010110389", "--fund", "CM", "--on", "2024-01-02"]
    for argv in (register, affiliate):
        assert runner.invoke(cli, ["--store", sqlite_url, *argv], env=env(sqlite_url)).exit_code == 0
    code, out, err = finish(zorgkas(sqlite_url, *INVITE, "--workers", "2"))
    assert code == 0, err
    assert ": 1 member touched, 1 event written" in out


def test_a_rebuild_on_two_workers_writes_the_rows_of_one(sqlite_url: str, tmp_path: Path) -> None:
    """``report --rebuild --workers N``: the same reporting rows, whatever N."""
    from bench.population import generate

    file = tmp_path / "fund.jsonl"
    with file.open("wb") as f:
        f.writelines(generate(120, 10, seed=5))
    assert finish(zorgkas(sqlite_url, "import", str(file)))[0] == 0
    tables = {}
    for n in ("1", "2"):
        target = tmp_path / f"reporting-{n}.sqlite"
        code, out, err = finish(
            zorgkas(
                sqlite_url,
                "report",
                "--to",
                str(target),
                "--rebuild",
                "--as-of",
                "2026-11-23",
                "--workers",
                n,
            )
        )
        assert code == 0, err
        assert "report rebuilt: 120 members" in out
        with sqlite3.connect(target) as conn:
            tables[n] = {
                table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
                for table in ("members", "claims", "payments", "letters", "fines")
            }
        conn.close()
    assert tables["1"] == tables["2"]
    assert tables["1"]["claims"]


def test_a_rebuild_counts_the_members_it_wrote_whatever_the_workers(sqlite_url: str, tmp_path: Path) -> None:
    """An extract as of a day when not everyone was registered yet: 1 and 2 workers say
    the same number, the members the database holds (the newcomer has no row)."""
    from bench.population import generate

    file = tmp_path / "fund.jsonl"
    newcomer = {
        "type": "Registered", "insz": make_insz(date(1990, 3, 3), 17), "on": "2020-03-02",
        "recorded_at": "2020-03-02T09:00:00", "clerk": "x", "born": "1990-03-03",
        "region": "flanders", "health_fund": "CM",
    }  # fmt: skip
    with file.open("wb") as f:
        f.writelines(generate(120, 10, seed=5))
        f.write(json.dumps(newcomer).encode() + b"\n")
    assert finish(zorgkas(sqlite_url, "import", str(file)))[0] == 0
    said = set()
    for n in ("1", "2"):
        target = tmp_path / f"extract-{n}.sqlite"
        argv = ["report", "--to", str(target), "--rebuild", "--as-of", "2018-06-30", "--workers", n]
        code, out, err = finish(zorgkas(sqlite_url, *argv, "--known-on", "2018-07-01T00:00:00"))
        assert code == 0, err
        with sqlite3.connect(target) as conn:
            held = conn.execute("SELECT count(*) FROM members").fetchone()[0]
        conn.close()
        assert f"report rebuilt: {held} members" in out
        said.add(held)
    assert said == {120}
