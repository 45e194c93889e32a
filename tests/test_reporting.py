"""The reporting database: incremental equals rebuild, pseudonyms, reproducible extracts."""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from typing import Any

import pytest

from projections import reporting
from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1990, 2, 2), 61)
B = make_insz(date(1985, 4, 4), 63)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZORGKAS_PSEUDONYM_KEY", "test-key")


def _history(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2020-01-02")
    invite(clerk, 2020, 2021, 2022)  # R-PREM-9: only claimed premiums are owed
    clerk("pay", A, "--amount", "53", "--on", "2020-02-01")
    clerk("run", "letters", "--year", "2022", "--on", "2022-08-20")
    clerk("run", "fines", "--year", "2022", "--on", "2022-10-20")


def _more(clerk: Clerk) -> None:
    clerk.register(B, "1985-04-04", "brussels", "NZV", "2021-01-01")
    clerk("pay", B, "--amount", "54", "--on", "2021-03-01")
    clerk("pay", A, "--amount", "200", "--on", "2023-01-15")
    clerk("switch", A, "--to", "VZK", "--requested-on", "2023-11-02")


def _tables(target: str) -> dict[str, list[tuple[Any, ...]]]:
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            return {
                t: sorted(conn.execute(f"SELECT * FROM zorgkas_reporting.{t}").fetchall(), key=repr)
                for t in [*reporting.TABLES, *reporting.VIEWS]
            }
    conn = sqlite3.connect(target)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in [*reporting.TABLES, *reporting.VIEWS]}  # fmt: skip
    finally:
        conn.close()


def _targets(clerk: Clerk, tmp_path: Any) -> tuple[str, str]:
    if clerk.store.startswith("postgresql://"):
        # Both extracts in one database would share a schema: compare against SQLite instead.
        return clerk.store, os.path.join(str(tmp_path), "rebuilt.sqlite")
    return os.path.join(str(tmp_path), "r1.sqlite"), os.path.join(str(tmp_path), "r2.sqlite")


def test_incremental_report_equals_a_rebuild(clerk: Clerk, tmp_path: Any) -> None:
    incremental, rebuilt = _targets(clerk, tmp_path)
    _history(clerk)
    assert "rebuilt: 1 members" in clerk("report", "--to", incremental, "--as-of", "2024-01-01").output
    _more(clerk)
    out = clerk("report", "--to", incremental, "--as-of", "2024-01-01").output
    assert "updated: 2 members" in out
    assert "updated: 0 members" in clerk("report", "--to", incremental, "--as-of", "2024-01-01").output
    clerk("report", "--to", rebuilt, "--as-of", "2024-01-01", "--rebuild")
    assert _tables(incremental) == _tables(rebuilt)
    views = _tables(rebuilt)
    assert views["letters_fines_per_year"] == [(2022, "CM", 1, 1, 25000)]


def test_report_pseudonymizes_insz_unless_asked(sqlite_clerk: Clerk, tmp_path: Any) -> None:
    target = os.path.join(str(tmp_path), "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target)
    with open(target, "rb") as f:
        raw = f.read()
    assert A.encode() not in raw
    row = sqlite3.connect(target).execute("SELECT member, insz FROM members").fetchone()
    assert row[1] is None and len(row[0]) == 20
    sqlite_clerk("report", "--to", target, "--with-insz")
    assert sqlite3.connect(target).execute("SELECT insz FROM members").fetchone()[0] == A


def test_as_of_gives_a_reproducible_extract(sqlite_clerk: Clerk, tmp_path: Any) -> None:
    _history(sqlite_clerk)
    one, two = (os.path.join(str(tmp_path), f"{n}.sqlite") for n in ("one", "two"))
    sqlite_clerk("report", "--to", one, "--as-of", "2021-06-01")
    sqlite_clerk("pay", A, "--amount", "200", "--on", "2023-01-15")  # recorded later, effective later
    sqlite_clerk("switch", A, "--to", "VZK", "--requested-on", "2023-11-02")
    sqlite_clerk("report", "--to", two, "--as-of", "2021-06-01", "--rebuild")
    assert _tables(one) == _tables(two)


def test_a_crash_mid_report_leaves_the_previous_extract_whole(
    sqlite_clerk: Clerk, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = os.path.join(str(tmp_path), "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01")
    before = _tables(target)
    _more(sqlite_clerk)

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(reporting.SqliteTarget, "write_position", boom)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01", expect=3)
    assert _tables(target) == before
    monkeypatch.undo()
    monkeypatch.setenv("ZORGKAS_PSEUDONYM_KEY", "test-key")
    assert "updated: 2 members" in sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01").output


def test_the_reporting_database_opens_in_datasette_with_its_dashboard(
    sqlite_clerk: Clerk, tmp_path: Any
) -> None:
    import asyncio

    from datasette.app import Datasette

    from projections.datasette import metadata

    target = os.path.join(str(tmp_path), "reporting.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01")

    async def pages() -> dict[str, Any]:
        ds = Datasette([target], metadata=metadata("reporting"))
        got = {}
        for path in ("/reporting/members", "/reporting/arrears_by_year.json?_shape=array",
                     "/-/dashboards/zorgkas", "/-/dashboards/zorgkas/arrears"):  # fmt: skip
            response = await ds.client.get(path)
            got[path] = (response.status_code, response.text)
        return got

    got = asyncio.run(pages())
    assert all(status == 200 for status, _ in got.values()), {p: s for p, (s, _) in got.items()}
    assert '"year": 2022' in got["/reporting/arrears_by_year.json?_shape=array"][1]
    assert "Premium arrears by year and fund" in got["/-/dashboards/zorgkas"][1]
    assert "One row per member" in got["/reporting/members"][1]


def test_a_parallel_rebuild_equals_an_in_process_one(
    clerk: Clerk, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(clerk)
    _more(clerk)
    one, two = (os.path.join(str(tmp_path), f"{n}.sqlite") for n in ("one", "two"))
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", "1")
    clerk("report", "--to", one, "--as-of", "2024-01-01")
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", "3")
    assert "rebuilt: 2 members" in clerk("report", "--to", two, "--as-of", "2024-01-01").output
    assert _tables(one) == _tables(two)
