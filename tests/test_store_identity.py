"""Stores that say what they are, and a busy store that is not a broken one.

A zorgkas store carries its identity and schema version; any other file is refused and
never written into; a store of a newer version is read, not written, and not called
tampered; a missing store is bad input for a question; a write that meets a long import
or run waits a bounded time, saying so, then exits 4 (safe to retry).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from ledger import recorders, seal
from ledger.identity import member_id
from ledger.member import Member, Stamp
from ledger.store import Ledger
from tests.conftest import Clerk, make_insz

A = make_insz(date(1990, 2, 2), 51)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_question_about_a_path_with_no_store_is_bad_input_and_creates_nothing(tmp_path: Path) -> None:
    clerk = Clerk(str(tmp_path / "none.sqlite"))
    for args in (("status", A), ("history", A), ("export", str(tmp_path / "x.jsonl")), ("verify",)):
        assert "no store at this path; `zorgkas init`" in clerk(*args, expect=2).output
    assert "no store at" in clerk("run", "letters", "--year", "2024", "--on", "2024-08-20", expect=2).output
    assert not (tmp_path / "none.sqlite").exists()


def test_init_creates_an_empty_store_that_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    clerk = Clerk(str(path))
    assert "0 events" in clerk("init").output
    assert "0 events" in clerk("init").output  # a second time: nothing changes
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == recorders.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == recorders.SCHEMA
    conn.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_another_sqlite_file_is_refused_as_a_store_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "reporting.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE members (insz TEXT)")
    conn.commit()
    conn.close()
    before = _digest(path)
    clerk = Clerk(str(path))
    result = clerk("register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM",
                   "--on", "2020-01-01", today="2020-01-01", expect=2)  # fmt: skip
    assert "is not a zorgkas event store" in result.output
    assert "is not a zorgkas event store" in clerk("status", A, expect=2).output
    assert _digest(path) == before
    (tmp_path / "notes.txt").write_text("not a database at all, just words " * 100)
    other = Clerk(str(tmp_path / "notes.txt"))
    assert "not an SQLite database" in other("status", A, expect=2).output
    register = ("register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM",
                "--on", "2020-01-01")  # fmt: skip
    for odd in ("/dev/null", str(tmp_path)):
        assert "not a store file" in Clerk(odd)(*register, today="2020-01-01", expect=2).output
    assert Path("/dev/null").is_char_device()


def test_a_store_of_a_newer_version_is_read_not_written_and_not_tampered(tmp_path: Path) -> None:
    clerk = Clerk(str(tmp_path / "s.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    conn = sqlite3.connect(clerk.store)
    conn.execute(f"PRAGMA user_version={recorders.SCHEMA + 1}")
    conn.commit()
    conn.close()
    before = _digest(Path(clerk.store))
    status = clerk("status", A, "--as-of", "2020-06-01")
    assert "written by a newer version" in status.output
    verified = clerk("verify")
    assert "intact" in verified.output and "tampered" not in verified.output
    assert "exported 1 event " in clerk("export", str(tmp_path / "out.jsonl")).output
    pay = clerk("pay", A, "--amount", "53", "--on", "2020-02-01", expect=2)
    assert "written by a newer version" in pay.output
    assert _digest(Path(clerk.store)) == before


def test_one_event_of_an_unknown_type_is_refused_clearly_and_not_called_tampering(tmp_path: Path) -> None:
    clerk = Clerk(str(tmp_path / "s.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    ledger = Ledger(clerk.store)
    last = ledger.load(A).events[-1]
    oid = member_id(A)
    unsealed = (
        b'{"type":"CareBudgetReviewed","insz":"' + A.encode() + b'","on":"2021-01-01",'
        b'"recorded_at":"2021-01-01T09:00:00","clerk":"future","id":"6f9619ff-8b86-d011-b42d-00c04fc964ff",'
        b'"originator_id":"' + str(oid).encode() + b'","originator_version":2,"chain":""}'
    )
    key = seal.load_key(create=False)
    assert key is not None
    link = seal.link(key, last.chain, "CareBudgetReviewed@1", oid, 2, unsealed)
    ledger.close()
    conn = sqlite3.connect(clerk.store)
    conn.execute(
        "INSERT INTO stored_events VALUES (?,?,?,?)",
        (oid.hex, 2, "CareBudgetReviewed@1", seal.sealed(unsealed, link)),
    )
    conn.commit()
    conn.close()
    for args in (
        ("status", A),
        ("history", A),
        ("export", str(tmp_path / "o.jsonl")),
        ("run", "letters", "--year", "2024", "--on", "2024-08-20"),
        ("report", "--to", str(tmp_path / "reporting.sqlite")),
    ):
        assert "written by a newer version" in clerk(*args, expect=2).output
    verified = clerk("verify")
    assert "intact" in verified.output and "newer version" in verified.output


def test_a_read_only_store_answers_questions_and_refuses_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = Clerk(str(tmp_path / "s.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    before = _digest(Path(clerk.store))
    # Read-only media, as the store sees them (the tests may run as root, who may write anywhere).
    monkeypatch.setattr(recorders.os, "access", lambda path, mode: False)
    assert clerk.status(A, "--as-of", "2020-06-01")["insz"] == A
    assert "intact" in clerk("verify").output
    assert "exported 1 event " in clerk("export", str(tmp_path / "out.jsonl")).output
    assert "read-only" in clerk("pay", A, "--amount", "53", "--on", "2020-02-01", expect=2).output
    assert _digest(Path(clerk.store)) == before


def test_an_in_memory_store_lives_for_one_process_and_lists_its_members() -> None:
    ledger = Ledger(":memory:")
    stamp = Stamp(clerk="c", recorded_at=datetime(2020, 1, 1, 9), today=date(2020, 1, 1))
    new = Member(A, []).register(
        stamp, born=date(1990, 2, 2), region="flanders", health_fund="CM", situation="resident",
        resident_since=None, on=date(2020, 1, 1),
    )  # fmt: skip
    ledger.append(Member(A, []), new)
    assert [m.insz for m in ledger.members()] == [A]
    assert ledger.count_events() == 1
    assert list(ledger.verify(seal.load_key(create=False))) == []
    ledger.close()


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://", "names no database"),
        ("postgresql://127.0.0.1:5432", "names no database"),
        ("postgresql://127.0.0.1:99999/x", "not a port number"),
        ("postgresql://u:p@127.0.0.1:0/x", "not a port number"),
        ("postgresql://u:p@127.0.0.1/x?connect_timeout=soon", "not a number of seconds"),
    ],
)
def test_a_postgresql_url_that_names_no_database_or_port_is_bad_input(url: str, needle: str) -> None:
    result = Clerk(url)("status", A, expect=2)
    assert needle in result.output and ":p@" not in result.output


def test_an_unreachable_server_fails_within_five_seconds_naming_it() -> None:
    started = time.monotonic()
    result = Clerk("postgresql://u:pw%2Fx@10.255.255.1:5432/x?password=other&sslmode=disable")(
        "status", A, expect=4
    )
    assert time.monotonic() - started < 8
    assert "10.255.255.1 port 5432" in result.output
    assert "pw" not in result.output.replace("password=***", "") and "other" not in result.output


def _hold(store: str, seconds: float, ready: threading.Event) -> None:
    if store.startswith("postgresql:"):
        import psycopg

        with psycopg.connect(store) as conn:
            conn.execute("LOCK TABLE zorgkas_events IN EXCLUSIVE MODE")
            ready.set()
            time.sleep(seconds)
        return
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_a_write_that_meets_a_long_import_waits_then_exits_4(
    clerk: Clerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    monkeypatch.setattr(recorders, "BUSY_WAIT", 1)
    ready = threading.Event()
    holder = threading.Thread(target=_hold, args=(clerk.store, 4, ready))
    holder.start()
    ready.wait(10)
    started = time.monotonic()
    result = clerk("pay", A, "--amount", "53", "--on", "2020-02-01", expect=4)
    waited = time.monotonic() - started
    holder.join()
    assert "waiting for the store" in result.output and "busy" in result.output
    assert 1 <= waited < 4
    assert [e["type"] for e in json.loads(clerk("history", A, "--json").output)] == ["Registered"]
    clerk("pay", A, "--amount", "53", "--on", "2020-02-01")  # once free: done


def test_a_short_wait_is_only_reported(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    ready = threading.Event()
    holder = threading.Thread(target=_hold, args=(clerk.store, 1, ready))
    holder.start()
    ready.wait(10)
    result = clerk("pay", A, "--amount", "53", "--on", "2020-02-01")
    holder.join()
    assert "waiting for the store" in result.output


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB file system (tmpfs; needs the right to mount, else the test is skipped)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_is_reported_as_such_and_leaves_no_empty_store(small_disk: Path, tmp_path: Path) -> None:
    (small_disk / "fill").write_bytes(b"\0" * 60 * 1024)
    clerk = Clerk(str(small_disk / "s.sqlite"))
    register = ("register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM",
                "--on", "2020-01-01")  # fmt: skip
    assert "is full" in clerk(*register, today="2020-01-01", expect=4).output
    assert sorted(p.name for p in small_disk.iterdir()) == ["fill"]
    (small_disk / "fill").unlink()
    clerk(*register, today="2020-01-01")
    from bench.population import generate

    big = tmp_path / "big.jsonl"
    big.write_bytes(b"".join(generate(300, 3, seed=4)))
    assert "is full" in clerk("import", str(big), expect=4).output
    assert "verified 1 event:" in clerk("verify").output


def test_a_killed_postgres_run_leaves_whole_batches_that_a_rerun_completes_once(
    postgres_url: str, tmp_path: Path
) -> None:
    import psycopg

    from bench.population import generate
    from tests.test_reliability import _finish, _zorgkas

    population = tmp_path / "population.jsonl"
    population.write_bytes(b"".join(generate(6000, 2, seed=5)))
    _finish(postgres_url, "import", str(population))
    run = ("run", "invitations", "--year", "2026", "--on", "2026-01-10")
    proc = _zorgkas(postgres_url, *run)
    time.sleep(1.0)
    killed = proc.poll() is None
    proc.send_signal(9)
    proc.communicate()
    assert "intact" in _finish(postgres_url, "verify")
    _finish(postgres_url, *run)
    assert "0 events written" in _finish(postgres_url, *run)
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) FROM zorgkas_events WHERE topic LIKE 'PremiumInvited%%' "
            "AND convert_from(state, 'UTF8') LIKE '%%\"year\":2026%%' GROUP BY 1"
        ).fetchall()
    assert rows and max(n for _oid, n in rows) == 1
    state = "killed mid-way" if killed else "finished before the kill"
    print(f"PostgreSQL run {state}: {len(rows)} members invited once")
