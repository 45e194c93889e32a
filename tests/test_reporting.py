"""The reporting database: nightly runs incremental by construction, extracts reproducible,
summaries equal to their rows, a complete documented schema, refusals, crash-cleanliness."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import sleep as _sleep
from typing import Any

import pytest

from ledger.member import Member
from projections import reporting
from projections.datasette import QUERIES, charts, metadata
from projections.report_rows import member_rows, next_change
from projections.report_schema import (
    CHANGES_ON,
    SUMMARIES,
    SUMMARY_TABLES,
    TABLES,
    VIEWS,
    data_dictionary_markdown,
)
from tests.conftest import Clerk, invite, make_insz

A = make_insz(date(1990, 2, 2), 61)
B = make_insz(date(1985, 4, 4), 63)
ROOT = Path(__file__).resolve().parent.parent
ALL = [t.name for t in TABLES] + [t.name for t in SUMMARY_TABLES] + list(VIEWS) + [CHANGES_ON]


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
    conn = sqlite3.connect(target)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ALL}
    finally:
        conn.close()


def _path(tmp_path: Path, name: str) -> str:
    return str(tmp_path / name)


# -- incremental by construction ---------------------------------------------------------------
def test_incremental_report_equals_a_rebuild(clerk: Clerk, tmp_path: Path) -> None:
    incremental, rebuilt = _path(tmp_path, "r1.sqlite"), _path(tmp_path, "r2.sqlite")
    _history(clerk)
    assert "rebuilt: 1 members" in clerk("report", "--to", incremental, "--as-of", "2024-01-01").output
    _more(clerk)
    assert "updated: 2 members" in clerk("report", "--to", incremental, "--as-of", "2024-01-01").output
    assert "updated: 0 members" in clerk("report", "--to", incremental, "--as-of", "2024-01-01").output
    clerk("report", "--to", rebuilt, "--as-of", "2024-01-01", "--rebuild")
    assert _tables(incremental) == _tables(rebuilt)
    # Letter of 2022 and its fine, summed by the run's own summary tables (R-LET-1, R-FINE-1).
    assert _tables(rebuilt)["letters_fines_per_year"] == [(2022, "CM", 1, 0, 1, 25000, 250.0)]


def test_two_nightly_runs_on_consecutive_days_rewrite_nothing_and_equal_a_rebuild(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    nightly, rebuilt = _path(tmp_path, "nightly.sqlite"), _path(tmp_path, "rebuilt.sqlite")
    _history(sqlite_clerk)
    _more(sqlite_clerk)
    sqlite_clerk("report", "--to", nightly, today="2024-06-10")
    out = sqlite_clerk("report", "--to", nightly, today="2024-06-11").output
    assert "updated: 0 members (0 with new events, 0 by date) nightly, as of 2024-06-11" in out
    out = sqlite_clerk("report", "--to", nightly, today="2024-06-12").output
    assert "updated: 0 members" in out
    sqlite_clerk("report", "--to", rebuilt, "--rebuild", today="2024-06-12")
    assert _tables(nightly) == _tables(rebuilt)


def test_a_switch_taking_effect_reaches_the_nightly_database_without_a_rebuild(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    """R-SW-1: the switch requested on 2 November 2023 takes effect on 1 January 2024."""
    nightly, rebuilt = _path(tmp_path, "nightly.sqlite"), _path(tmp_path, "rebuilt.sqlite")
    _history(sqlite_clerk)
    _more(sqlite_clerk)
    sqlite_clerk("report", "--to", nightly, today="2023-12-30")
    fund = sqlite3.connect(nightly).execute("SELECT fund, pending_switch_to FROM members WHERE fund = 'CM'")
    assert fund.fetchall() == [("CM", "VZK")]
    out = sqlite_clerk("report", "--to", nightly, today="2024-01-02").output
    assert "(0 with new events, 2 by date)" in out  # 1 January: a new premium year for both
    sqlite_clerk("report", "--to", rebuilt, "--rebuild", today="2024-01-02")
    assert _tables(nightly) == _tables(rebuilt)
    assert sqlite3.connect(nightly).execute("SELECT count(*) FROM members WHERE fund = 'VZK'").fetchone() == (
        1,
    )


def test_next_change_is_never_late_on_a_generated_population() -> None:
    """A member's rows do not change before their ``_changes_on`` date while no event is
    recorded (checked every tenth day over 18 months for 150 generated members, and on the
    eve of the date)."""
    from bench.population import member_events

    rng = random.Random(11)
    start = date(2023, 3, 1)
    checked = 0
    for n in range(150):
        born = date(1940 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28))
        insz = make_insz(born, 1 + n % 900)
        member = Member(insz, list(member_events(rng, insz, born, 2019, 5)))
        day = start
        while day < date(2024, 9, 1):
            known = datetime.combine(day, time.max)  # no event recorded after ``day``
            rows, status = member_rows(member, day, b"k", False, known)
            if status is None:
                break
            nxt = next_change(status)
            probes = {nxt - timedelta(days=1), *(day + timedelta(days=k) for k in range(10, 400, 10))}
            for probe in sorted(p for p in probes if day < p < nxt):
                assert member_rows(member, probe, b"k", False, known)[0] == rows, (insz, day, probe, nxt)
                checked += 1
            day = nxt
    assert checked > 1000


def test_the_members_row_carries_the_figures_of_status_json_on_a_generated_population() -> None:
    """``member_rows`` reads the status figures from the status itself, not from its JSON:
    the row must still say what ``status --json`` says, for every member and date tried."""
    from bench.population import member_events
    from projections.report_schema import BY_NAME

    columns = BY_NAME["members"].stored
    rng = random.Random(5)
    compared = 0
    for n in range(120):
        born = date(1940 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28))
        insz = make_insz(born, 1 + n % 900)
        member = Member(insz, list(member_events(rng, insz, born, 2019, 5)))
        for day in (date(2020, 6, 30), date(2023, 1, 1), date(2024, 4, 30), date(2026, 11, 23)):
            rows, status = member_rows(member, day, b"k", False)
            if status is None:
                continue
            row = dict(zip(columns, rows["members"][0], strict=True))
            data = status.to_json()
            arrears = data["arrears"]
            iso = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
            same = ("obligation", "affiliated", "fund", "kind", "affiliated_since", "joined_on_time",
                    "eligible", "eligible_from")  # fmt: skip
            assert [iso[k] for k in same] == [data[k] for k in same]
            money = ("premiums_cents", "fines_cents", "total_cents")
            assert [row[k] for k in money] == [arrears[k] for k in money]
            assert row["credit_cents"] == data["credit_cents"]
            assert json.loads(row["unpaid_years"]) == arrears["unpaid_years"]
            assert json.loads(row["unclaimed_years"]) == data["unclaimed_years"]
            compared += 1
    assert compared > 300


def test_as_of_gives_a_reproducible_extract(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    _history(sqlite_clerk)
    one, two = _path(tmp_path, "one.sqlite"), _path(tmp_path, "two.sqlite")
    sqlite_clerk("report", "--to", one, "--as-of", "2021-06-01")
    sqlite_clerk("pay", A, "--amount", "200", "--on", "2023-01-15")  # recorded later, effective later
    sqlite_clerk("switch", A, "--to", "VZK", "--requested-on", "2023-11-02")
    sqlite_clerk("report", "--to", two, "--as-of", "2021-06-01", "--rebuild")
    assert _tables(one) == _tables(two)


def test_known_on_gives_what_the_fund_knew_then(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    sqlite_clerk.now = "2024-01-05T10:00:00"
    _history(sqlite_clerk)
    sqlite_clerk.now = "2024-03-01T10:00:00"
    sqlite_clerk("pay", A, "--amount", "200", "--on", "2023-01-15")
    then, now = _path(tmp_path, "then.sqlite"), _path(tmp_path, "now.sqlite")
    out = sqlite_clerk(
        "report", "--to", then, "--as-of", "2024-06-01", "--known-on", "2024-02-01T00:00:00"
    ).output
    assert "as known on 2024-02-01T00:00:00" in out
    sqlite_clerk("report", "--to", now, "--as-of", "2024-06-01")
    owed = "SELECT total_cents FROM members"
    assert (
        sqlite3.connect(then).execute(owed).fetchone()[0] > sqlite3.connect(now).execute(owed).fetchone()[0]
    )
    assert sqlite3.connect(then).execute("SELECT count(*) FROM payments").fetchone() == (1,)


def test_an_extract_never_mixes_into_the_nightly_database(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    nightly = _path(tmp_path, "nightly.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", nightly)
    before = _tables(nightly)
    out = sqlite_clerk("report", "--to", nightly, "--as-of", "2022-01-01", expect=2).output
    assert "is a nightly reporting database" in out
    assert _tables(nightly) == before
    extract = _path(tmp_path, "extract.sqlite")
    sqlite_clerk("report", "--to", extract, "--as-of", "2022-01-01")
    assert "is an extract reporting database" in sqlite_clerk("report", "--to", extract, expect=2).output


def test_report_pseudonymizes_insz_unless_asked(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    target = _path(tmp_path, "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target)
    raw = Path(target).read_bytes()
    assert A.encode() not in raw and A.encode().hex().encode() not in raw
    row = sqlite3.connect(target).execute("SELECT member, insz FROM members").fetchone()
    assert row[1] is None and len(row[0]) == 20
    sqlite_clerk("report", "--to", target, "--with-insz")
    assert sqlite3.connect(target).execute("SELECT insz FROM members").fetchone()[0] == A


def test_a_crash_mid_report_leaves_the_previous_extract_whole(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _path(tmp_path, "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01")
    before = _tables(target)
    _more(sqlite_clerk)

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(reporting.Target, "write_position", boom)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01", expect=3)
    assert _tables(target) == before
    monkeypatch.undo()
    monkeypatch.setenv("ZORGKAS_PSEUDONYM_KEY", "test-key")
    assert "updated: 2 members" in sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01").output


def test_a_full_rebuild_replaces_the_file_whole_or_not_at_all(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full SQLite rebuild writes a new file beside the target and renames it over the
    target: a crash leaves the old file (and no new one), the mode is kept, and a file
    a killed run left is removed by the next run."""
    target = _path(tmp_path, "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01")
    os.chmod(target, 0o600)
    before = _tables(target)
    inode = os.stat(target).st_ino
    _more(sqlite_clerk)

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as m:
        m.setattr(reporting.Target, "write_position", boom)
        sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01", "--rebuild", expect=3)
    assert _tables(target) == before and os.stat(target).st_ino == inode
    assert not [n for n in os.listdir(tmp_path) if "report-rebuild" in n]
    leftover = tmp_path / ".r.sqlite.report-rebuild"
    leftover.write_bytes(b"a killed run's half-written file")
    parts = tmp_path / ".r.sqlite.report-parts"  # an older version's workers' files
    parts.mkdir()
    (parts / "part-0.sqlite").write_bytes(b"a killed worker's rows")
    rebuilt = sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01", "--rebuild")
    assert "rebuilt: 2 members" in rebuilt.output
    assert not leftover.exists() and not parts.exists() and os.stat(target).st_ino != inode
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert _tables(target) != before
    assert {n for n in os.listdir(tmp_path) if n.startswith("r.sqlite-")} == set()  # no journal


def test_a_parallel_rebuild_equals_an_in_process_one(
    clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(clerk)
    _more(clerk)
    one, two = _path(tmp_path, "one.sqlite"), _path(tmp_path, "two.sqlite")
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", "1")
    clerk("report", "--to", one)
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", "3")
    assert "rebuilt: 2 members" in clerk("report", "--to", two).output
    assert _tables(one) == _tables(two)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["one.sqlite", "two.sqlite", *_store_files(clerk, tmp_path)]
    )


@pytest.mark.parametrize("value", ["two", "\u0662", "1.5", "-1"])
def test_a_report_workers_variable_that_is_not_a_number_is_bad_input(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # "No input, file or environment may cause" exit 3: int() of it was a ValueError.
    _history(sqlite_clerk)
    target = _path(tmp_path, "r.sqlite")
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", value)
    out = sqlite_clerk("report", "--to", target, expect=2).output
    assert "ZORGKAS_REPORT_WORKERS" in out and "ASCII digits" in out
    assert not os.path.exists(target)


def _store_files(clerk: Clerk, tmp_path: Path) -> list[str]:
    return (
        [n for n in os.listdir(tmp_path) if n.startswith("zorgkas.sqlite")]
        if "://" not in clerk.store
        else []
    )


# -- summaries equal their rows ----------------------------------------------------------------
SUMMARY_CHECKS = {
    "summary_claims": "SELECT COALESCE(fund, '(none)'), year, count(*), sum(amount_cents), sum(paid_cents), "
    "sum(outstanding_cents), sum(status <> 'paid') FROM claims GROUP BY 1, 2",
    "summary_letters": "SELECT COALESCE(fund, '(none)'), year, count(*), sum(amount_cents), sum(open), "
    "sum(unpaid_cents) FROM letters GROUP BY 1, 2",
}


def test_summary_tables_equal_their_rows_after_incremental_runs(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    target = _path(tmp_path, "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, today="2024-02-01")
    _more(sqlite_clerk)
    sqlite_clerk("pay", A, "--amount", "300", "--on", "2024-02-03", today="2024-02-03")
    sqlite_clerk("report", "--to", target, today="2024-02-03")
    conn = sqlite3.connect(target)
    for summary, sql in SUMMARY_CHECKS.items():
        cols = [
            c.name for c in next(t for t in SUMMARY_TABLES if t.name == summary).columns if c.kind != "json"
        ]
        kept = conn.execute(f"SELECT {', '.join(cols)} FROM {summary}").fetchall()
        assert sorted(kept) == sorted(conn.execute(sql).fetchall()), summary


def test_letters_not_fully_paid_lists_only_letters_with_a_premium_still_unpaid(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    """R-LET-1: the 2022 letter lists 2021 and 2022; once both are paid it leaves the query,
    although the member still owes the fine (R-FINE-1: the premiums stay owed on top)."""
    target = _path(tmp_path, "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, "--as-of", "2022-12-31")
    query = QUERIES["letters_without_payment"]["sql"]
    rows = sqlite3.connect(target).execute(query).fetchall()
    assert [(r[1], r[3], r[4]) for r in rows] == [(2022, "[2021, 2022]", "[2021, 2022]")]
    sqlite_clerk("pay", A, "--amount", "108", "--on", "2022-12-01")  # 2021 and 2022: €54 each
    sqlite_clerk("report", "--to", target, "--as-of", "2022-12-31")
    conn = sqlite3.connect(target)
    assert conn.execute(query).fetchall() == []
    assert conn.execute("SELECT fines_cents FROM members").fetchone() == (25000,)


def test_r_prem_5_a_budget_deduction_is_a_claim_and_a_payment(clerk: Clerk, tmp_path: Path) -> None:
    """R-PREM-5, R-PREM-9: the April budget payment of 1 April 2024 claims and pays 2024's
    €62 and pays 2023's unpaid €58: one claim row and one payment of €120 from the budget."""
    target = _path(tmp_path, "r.sqlite")
    clerk.register(A, "1990-02-02", "flanders", "CM", "2019-12-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2020-01-02")
    invite(clerk, 2022, 2023)
    clerk("pay", A, "--amount", "54", "--on", "2022-02-01")
    clerk("budget", A, "--kind", "severe-dependency", "--from", "2024-02-01", "--monthly", "135")
    invite(clerk, 2024, on="2024-04-02")
    clerk("report", "--to", target, "--as-of", "2024-06-01")
    conn = sqlite3.connect(target)
    claims = conn.execute(
        "SELECT year, amount_cents, status, claimed_on, paid_on FROM claims ORDER BY year"
    ).fetchall()
    assert claims == [
        (2022, 5400, "paid", "2022-01-15", "2022-02-01"),
        (2023, 5800, "paid", "2023-01-15", "2024-04-01"),
        (2024, 6200, "paid", "2024-04-01", "2024-04-01"),
    ]
    payments = conn.execute("SELECT paid_on, amount_cents, method FROM payments ORDER BY paid_on").fetchall()
    assert payments == [("2022-02-01", 5400, "transfer"), ("2024-04-01", 12000, "budget-deduction")]
    conn.close()


# -- the schema: complete, documented, versioned, guarded --------------------------------------
def test_every_table_and_column_is_described_and_internal_tables_are_hidden() -> None:
    meta = metadata("reporting")["databases"]["reporting"]["tables"]
    conn = sqlite3.connect(":memory:")
    for statement in reporting_schema_sqlite():
        conn.execute(statement)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"):
        assert name in meta, name
        if name.startswith("_"):
            assert meta[name]["hidden"] is True
            continue
        assert meta[name]["description"]
        columns = [r[1] for r in conn.execute(f"PRAGMA table_xinfo({name})")]
        assert set(columns) == set(meta[name]["columns"]), name


def reporting_schema_sqlite() -> list[str]:
    from projections.report_schema import SQLITE, create_statements

    return create_statements(SQLITE)


def test_docs_reporting_md_carries_the_current_data_dictionary() -> None:
    doc = (ROOT / "docs" / "reporting.md").read_text()
    assert data_dictionary_markdown() in doc, "regenerate: python -m projections.report_schema"


def test_the_data_dictionary_names_every_obligation_value_the_members_table_holds() -> None:
    """``members.obligation`` holds ``status --json``'s obligation: the dictionary lists exactly those."""
    from ledger.rules import obligation as ob
    from projections.report_schema import BY_NAME

    doc = next(c.doc for c in BY_NAME["members"].columns if c.name == "obligation")
    for value in (ob.COMPULSORY, ob.VOLUNTARY, ob.EXEMPT, ob.EXCLUDED):
        assert value in doc
    assert "early" not in doc and "none" not in doc


def test_an_older_reporting_database_is_rebuilt_with_a_message(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    old = _path(tmp_path, "old.sqlite")
    shutil.copy(ROOT / "tests" / "data" / "reporting_schema1.sqlite", old)
    _history(sqlite_clerk)
    out = sqlite_clerk("report", "--to", old).output
    assert "rebuilt: 1 members" in out and "had schema 1 of an older zorgkas: rebuilt as schema 2" in out
    conn = sqlite3.connect(old)
    assert conn.execute("SELECT app, schema_version FROM _position").fetchone() == ("zorgkas-reporting", 2)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'premiums'").fetchall() == []


@pytest.mark.parametrize("kind", ["event store", "garbage", "other database"])
def test_report_refuses_anything_but_a_reporting_database(
    sqlite_clerk: Clerk, tmp_path: Path, kind: str
) -> None:
    _history(sqlite_clerk)
    target = {"event store": sqlite_clerk.store, "garbage": _path(tmp_path, "notes.sqlite"),
              "other database": _path(tmp_path, "crm.sqlite")}[kind]  # fmt: skip
    if kind == "garbage":
        Path(target).write_text("not a database at all, but an analyst's notes\n" * 100)
    if kind == "other database":
        sqlite3.connect(target).execute("CREATE TABLE customers (id INTEGER)").connection.commit()
    before = Path(target).read_bytes()
    out = sqlite_clerk("report", "--to", target, expect=2).output
    assert "event store" in out if kind == "event store" else "is not a zorgkas reporting database" in out
    assert Path(target).read_bytes() == before


# -- canned queries and charts: an index or a summary table, never a scan of a big table -------
BIG = {t.name for t in TABLES}


def _plans(target: str, sql: str) -> list[str]:
    from datasette_dashboards import replace_opts_in_query

    sql = replace_opts_in_query(sql, {"fund": "CM", "year_from": "2020", "year_to": "2030"})
    params = {"fund": "CM", "year_from": 2020, "year_to": 2030}
    conn = sqlite3.connect(target)
    return [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


@pytest.mark.parametrize("name", [*QUERIES, *charts("reporting")])
def test_each_canned_query_and_chart_reads_an_index_or_a_summary(
    name: str, sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    target = _path(tmp_path, "r.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target)
    sql = QUERIES[name]["sql"] if name in QUERIES else charts("reporting")[name]["query"]
    plan = _plans(target, sql)
    scans = [step for step in plan if step.startswith("SCAN ") and step.split()[1] in BIG]
    assert not scans, plan
    assert any(" USING " in step or "summary_" in step for step in plan), plan


def test_every_chart_colours_a_fund_alike_and_names_the_year_it_counts() -> None:
    """Vega-Lite colours each chart by the funds it happens to show: CM blue and VZK orange in
    one, VZK teal in the next. The charts share one fund scale; fines count by the letter's year."""
    found = charts("reporting")
    scales = [
        c["display"]["encoding"]["color"]["scale"]
        for c in found.values()
        if c["display"]["encoding"]["color"]["field"] == "fund"
    ]
    assert len(scales) == 3 and all(s == scales[0] for s in scales)
    assert set(scales[0]["domain"]) >= {"CM", "NZV", "SOM", "LZ", "OZ", "VZK", "(none)"}
    assert found["fines"]["display"]["encoding"]["x"]["title"] == "Year of the letter"
    assert found["arrears"]["display"]["encoding"]["x"]["title"] == "Premium year"


def test_the_reporting_database_opens_in_datasette_with_its_dashboard(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    from datasette.app import Datasette

    target = _path(tmp_path, "reporting.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target, "--as-of", "2024-01-01")

    async def pages() -> dict[str, Any]:
        ds = Datasette([target], metadata=metadata("reporting"))
        got = {}
        paths = ["/", "/reporting", "/reporting/members", "/-/dashboards/zorgkas",
                 "/-/dashboards/zorgkas?fund=CM&year_from=2021", "/reporting/_position.json"]  # fmt: skip
        paths += [f"/reporting/{q}.json?_shape=array" for q in QUERIES]
        paths += [f"/-/dashboards/zorgkas/{c}" for c in charts("reporting")]
        for path in paths:
            response = await ds.client.get(path)
            got[path] = (response.status_code, response.text)
        return got

    got = asyncio.run(pages())
    assert all(status == 200 for status, _ in got.values()), {p: s for p, (s, _) in got.items()}
    assert '"year": 2022' in got["/reporting/arrears_by_year.json?_shape=array"][1]
    assert "Premium arrears by year and fund" in got["/-/dashboards/zorgkas"][1]
    assert "One row per registered person" in got["/reporting/members"][1]
    assert "/-/dashboards/zorgkas" in got["/"][1]
    assert "_position" not in got["/reporting"][1].split("hidden")[0]


# -- PostgreSQL: the same figures --------------------------------------------------------------
def test_postgresql_and_sqlite_reports_agree(postgres_url: str, tmp_path: Path) -> None:
    import psycopg

    clerk = Clerk(postgres_url)
    _history(clerk)
    _more(clerk)
    lite = _path(tmp_path, "r.sqlite")
    clerk("report", "--to", lite, "--as-of", "2024-06-01")
    clerk("report", "--to", postgres_url, "--as-of", "2024-06-01")
    clerk("pay", B, "--amount", "10", "--on", "2024-03-01")
    clerk("report", "--to", lite, "--as-of", "2024-06-01")
    assert "updated: 1 members" in clerk("report", "--to", postgres_url, "--as-of", "2024-06-01").output
    conn = sqlite3.connect(lite)
    with psycopg.connect(postgres_url) as pg:
        pg.execute("SET search_path TO zorgkas_reporting")
        for table in ALL:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_xinfo({table})")]
            sums = [f"SUM({c})" for c in cols if c.endswith(("_cents", "_eur")) or c in ("year", "claims")]
            sql = f"SELECT count(*) {''.join(', ' + s for s in sums)} FROM {table}"
            lite_row = conn.execute(sql).fetchone()
            pg_row = pg.execute(sql).fetchone()
            assert [float(v or 0) for v in lite_row] == [float(v or 0) for v in pg_row], table
        types = dict(pg.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'zorgkas_reporting' AND table_name = 'members'").fetchall())  # fmt: skip
        assert (types["eligible_from"], types["eligible"], types["born_year"]) == (
            "date",
            "boolean",
            "integer",
        )
        assert types["total_cents"] == "bigint" and types["unpaid_years"] == "jsonb"
        comment = pg.execute("SELECT col_description('zorgkas_reporting.members'::regclass, 1)").fetchone()[0]
        assert comment.startswith("Pseudonym of the INSZ")
        undocumented = pg.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'zorgkas_reporting' "
            "AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped "
            "AND left(c.relname, 1) <> '_' AND col_description(c.oid, a.attnum) IS NULL"
        ).fetchall()
        assert undocumented == []
        # Joining two views: year is an integer in both.
        pg.execute("SELECT * FROM arrears_by_fund_year a JOIN letters_fines_per_year l USING (fund, year)")


# -- serve-report -----------------------------------------------------------------------------
def test_serve_report_becomes_datasette_with_host_port_and_settings(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    target = _path(tmp_path, "reporting.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target)
    seen: dict[str, Any] = {}

    def execvp(file: str, args: list[str]) -> None:
        seen["args"] = args
        seen["metadata"] = json.loads(Path(args[args.index("-m", 2) + 1]).read_text())
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvp", execvp)
    before = set(os.listdir(tmp_path))
    sqlite_clerk("serve-report", target, "--host", "0.0.0.0", "--port", "8123",
                 "--setting", "sql_time_limit_ms", "2000")  # fmt: skip
    args = seen["args"]
    assert args[1:5] == ["-m", "datasette", "serve", target]
    assert args[args.index("--host") + 1] == "0.0.0.0" and args[args.index("--port") + 1] == "8123"
    settings = {args[n + 1]: args[n + 2] for n, arg in enumerate(args) if arg == "--setting"}
    assert settings == {"sql_time_limit_ms": "2000", "suggest_facets": "off"}
    assert "zorgkas" in seen["metadata"]["plugins"]["datasette-dashboards"]
    assert set(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("kind", ["event store", "garbage", "older schema"])
def test_serve_report_refuses_what_is_not_a_reporting_database(
    sqlite_clerk: Clerk, tmp_path: Path, kind: str
) -> None:
    _history(sqlite_clerk)
    target = sqlite_clerk.store
    if kind == "garbage":
        target = _path(tmp_path, "notes.sqlite")
        Path(target).write_text("hello")
    if kind == "older schema":
        target = _path(tmp_path, "old.sqlite")
        shutil.copy(ROOT / "tests" / "data" / "reporting_schema1.sqlite", target)
    out = sqlite_clerk("serve-report", target, expect=2).output
    assert "is not a zorgkas reporting database" in out
    if kind == "older schema":
        assert "run `zorgkas report --to` on it first" in out


def test_serve_report_runs_datasette_in_its_own_process_and_stops_with_it(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    """No orphan: the PID that was ``zorgkas serve-report`` is Datasette itself."""
    import urllib.request

    target = _path(tmp_path, "reporting.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", target)
    from tests.test_reporting_browser import serving

    with serving(target, sqlite_clerk.store) as (proc, base):
        with urllib.request.urlopen(f"{base}/reporting/members.json") as r:
            body = r.read().decode()
        assert '"members"' in body or "rows" in body
        assert "datasette" in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
    assert sorted(os.listdir(tmp_path)) == sorted(["reporting.sqlite", *_store_files(sqlite_clerk, tmp_path)])


# -- crash-clean -------------------------------------------------------------------------------
def _processes_mentioning(text: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                raw = Path(f"/proc/{pid}/environ").read_bytes() + Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in raw:
                found.append(int(pid))
    return found


def test_a_killed_parallel_rebuild_leaves_no_process_and_the_next_run_is_whole(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    from bench.population import member_events

    rng = random.Random(5)
    lines = []
    for n in range(1500):  # enough that the workers are still busy when the run is killed
        born = date(1950 + n % 50, 1 + n % 12, 1 + n % 28)
        insz = make_insz(born, 1 + n % 997)  # (born, serial) differ for n < 2100
        lines += [ev for ev in member_events(rng, insz, born, 2019, 5)]
    from ledger.eventfile import to_line

    events = tmp_path / "events.jsonl"
    import json

    events.write_text("".join(json.dumps(to_line(e)) + "\n" for e in lines))
    sqlite_clerk("import", str(events))
    target = _path(tmp_path, "reporting.sqlite")
    marker = f"zorgkas-kill-test-{os.getpid()}"
    env = dict(os.environ, ZORGKAS_STORE=sqlite_clerk.store, ZORGKAS_REPORT_WORKERS="2",
               ZORGKAS_TODAY="2024-06-01", ZORGKAS_CLERK="t", ZORGKAS_KILL_MARKER=marker)  # fmt: skip
    seen_workers = []
    for delay in (0.0, 0.3, 0.8):  # after the workers start: while they build, or copying
        command = [sys.executable, "-m", "commands.cli", "report", "--to", target, "--rebuild"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        proc = subprocess.Popen(command, cwd=ROOT, env=env, **quiet)  # type: ignore[call-overload]
        for _ in range(400):
            if [p for p in _processes_mentioning(marker) if p != proc.pid] or proc.poll() is not None:
                break
            _sleep(0.025)
        _sleep(delay)
        workers = [p for p in _processes_mentioning(marker) if p != proc.pid]
        seen_workers += workers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for _ in range(50):
            if not _processes_mentioning(marker):
                break
            _sleep(0.1)
        assert _processes_mentioning(marker) == [], (delay, workers)
    assert seen_workers, "no worker was running when the run was killed: the test proved nothing"
    run = subprocess.run([sys.executable, "-m", "commands.cli", "report", "--to", target], cwd=ROOT, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    rebuilt = _path(tmp_path, "rebuilt.sqlite")
    env1 = dict(env, ZORGKAS_REPORT_WORKERS="1")
    subprocess.run([sys.executable, "-m", "commands.cli", "report", "--to", rebuilt, "--rebuild"], cwd=ROOT,
                   env=env1, check=True, capture_output=True)  # fmt: skip
    assert _tables(target) == _tables(rebuilt)
    leftovers = {n for n in os.listdir(tmp_path) if "report-parts" in n or n.endswith("-journal")}
    assert leftovers == set()


def test_a_killed_worker_fails_the_run_cleanly(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    """Any worker killed: the run stops (exit 3) with the previous database whole, no part
    file and no process left, and the next run completes."""
    from tests.test_reporting_browser import generated_store

    generated_store(sqlite_clerk, tmp_path, 400)
    target = _path(tmp_path, "reporting.sqlite")
    sqlite_clerk("report", "--to", target, today="2024-06-01")
    before = _tables(target)
    marker = f"zorgkas-worker-kill-{os.getpid()}"
    env = dict(os.environ, ZORGKAS_STORE=sqlite_clerk.store, ZORGKAS_REPORT_WORKERS="2",
               ZORGKAS_TODAY="2024-06-01", ZORGKAS_CLERK="t", ZORGKAS_KILL_MARKER=marker)  # fmt: skip
    command = [sys.executable, "-m", "commands.cli", "report", "--to", target, "--rebuild"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    for _ in range(100):
        workers = [p for p in _processes_mentioning(marker) if p != proc.pid]
        if workers:
            break
        _sleep(0.05)
    assert workers, "no worker started"
    os.kill(workers[-1], signal.SIGKILL)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3 and "report worker" in err, err
    assert _processes_mentioning(marker) == []
    assert _tables(target) == before
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["reporting.sqlite", "events.jsonl", *_store_files(sqlite_clerk, tmp_path)]
    )


def _figures(target: str) -> dict[str, list[float]]:
    """Row count and the sum of every number column of each table and view, either dialect."""
    conn = sqlite3.connect(":memory:")
    from projections.report_schema import SQLITE, create_statements

    for statement in create_statements(SQLITE):
        conn.execute(statement)
    sqls = {}
    for table in ALL:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_xinfo({table})")]
        sums = [
            f"SUM({c})" for c in cols if c.endswith(("_cents", "_eur")) or c in ("year", "claims", "members")
        ]
        sqls[table] = f"SELECT count(*) {''.join(', ' + s for s in sums)} FROM {table}"
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as pg:
            pg.execute("SET search_path TO zorgkas_reporting")
            return {t: [float(v or 0) for v in pg.execute(sql).fetchone()] for t, sql in sqls.items()}
    lite = sqlite3.connect(target)
    return {t: [float(v or 0) for v in lite.execute(sql).fetchone()] for t, sql in sqls.items()}


def test_the_nightly_database_on_postgresql_follows_the_calendar_like_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    clerk = Clerk(postgres_url)
    _history(clerk)
    _more(clerk)
    clerk("report", "--to", postgres_url, today="2023-12-30")
    out = clerk("report", "--to", postgres_url, today="2023-12-31").output
    assert "updated: 0 members" in out
    assert (
        "(0 with new events, 2 by date)" in clerk("report", "--to", postgres_url, today="2024-01-02").output
    )
    rebuilt = _path(tmp_path, "rebuilt.sqlite")
    clerk("report", "--to", rebuilt, "--rebuild", today="2024-01-02")
    assert _figures(postgres_url) == _figures(rebuilt)


# -- invariant: summaries kept by increments equal summaries computed afresh ------------------
def _random_rows(draw: Any, mk: str) -> dict[str, list[tuple[Any, ...]]]:
    from hypothesis import strategies as st

    from projections.report_schema import BY_NAME

    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in BY_NAME}
    fund = draw(st.sampled_from(["CM", "NZV", "VZK", None]))
    eligible = draw(st.sampled_from([None, date(2021, 5, 1), date(2024, 1, 1)]))
    rows["members"].append((mk, None, 1980, "flanders", "resident", "CM", "compulsory", fund is not None,
                            fund, "compulsory", None, None, eligible is not None, eligible, None, 0, 0, 0, 0,
                            "[]", "[]", None, None))  # fmt: skip
    for year in draw(st.sets(st.integers(2019, 2024), max_size=4)):
        amount, paid = draw(st.integers(0, 10000)), draw(st.integers(0, 10000))
        paid = min(paid, amount)
        status = "paid" if paid == amount else "incomplete" if paid else "unpaid"
        rows["claims"].append((mk, year, fund, amount, paid, amount - paid, status, False, None,
                               date(year, 1, 1), date(year, 4, 30), None, "s", True, 0))  # fmt: skip
    for year in draw(st.sets(st.integers(2019, 2024), max_size=2)):
        status = draw(st.sampled_from(["open", "paid", "annulled"]))
        rows["fines"].append((mk, year, fund, date(year, 10, 20), 25000, 0, "[]", status, None))
        rows["letters"].append((mk, year, fund, date(year, 8, 20), "[]", 100, "[]", 50, status == "open"))
    for day in draw(st.lists(st.dates(date(2019, 1, 1), date(2024, 12, 31)), max_size=3)):
        rows["payments"].append((mk, day, draw(st.integers(1, 9000)), "transfer", None, None, None,
                                 draw(st.booleans()), None, None))  # fmt: skip
    return rows


def test_summaries_kept_by_increments_equal_summaries_computed_afresh(tmp_path: Path) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from projections.report_targets import SqliteTarget

    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None)
    @given(st.data())
    def check(data: Any) -> None:
        path = str(tmp_path / f"h{next(counter)}.sqlite")
        target = SqliteTarget(path)
        target.reset()
        members = [f"m{n}" for n in range(data.draw(st.integers(1, 5)))]
        for _round in range(data.draw(st.integers(1, 4))):
            batch = data.draw(st.lists(st.sampled_from(members), min_size=1, unique=True))
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for mk in batch:
                for name, table_rows in _random_rows(data.draw, mk).items():
                    rows.setdefault(name, []).extend(table_rows)
            target.replace_members(batch, rows, [])
        kept = {s.name: sorted(target.execute(f"SELECT * FROM {s.name}").fetchall()) for s in SUMMARIES}
        target.rebuild_summaries()
        fresh = {s.name: sorted(target.execute(f"SELECT * FROM {s.name}").fetchall()) for s in SUMMARIES}
        target.rollback()
        target.close()
        assert kept == fresh

    check()


@pytest.mark.parametrize("share", [0.0, 100.0], ids=["streamed", "loaded-one-by-one"])
def test_members_streamed_or_loaded_one_by_one_give_the_same_update(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    monkeypatch.setattr(reporting, "STREAM_FROM_SHARE", share)
    nightly, rebuilt = _path(tmp_path, "nightly.sqlite"), _path(tmp_path, "rebuilt.sqlite")
    _history(sqlite_clerk)
    sqlite_clerk("report", "--to", nightly, today="2023-12-30")
    _more(sqlite_clerk)
    out = sqlite_clerk("report", "--to", nightly, today="2023-12-31").output
    assert "(2 with new events, 0 by date)" in out
    sqlite_clerk("report", "--to", nightly, today="2024-01-03")
    sqlite_clerk("report", "--to", rebuilt, "--rebuild", today="2024-01-03")
    assert _tables(nightly) == _tables(rebuilt)


def test_an_older_postgresql_reporting_schema_is_rebuilt_with_a_message(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as pg:  # what schema 1 created
        pg.execute("CREATE SCHEMA zorgkas_reporting")
        pg.execute("CREATE TABLE zorgkas_reporting.members (member TEXT, unpaid_years TEXT)")
        pg.execute("CREATE TABLE zorgkas_reporting.premiums (member TEXT, year INTEGER)")
        pg.execute("SET search_path TO zorgkas_reporting")
        pg.execute("CREATE VIEW arrears_by_fund_year AS SELECT year FROM premiums")
        pg.execute(
            "CREATE TABLE zorgkas_reporting._position (position BIGINT, settings TEXT, updated_at TEXT)"
        )
        pg.execute("INSERT INTO zorgkas_reporting._position VALUES (3, 'as_of=2024-01-01', '2024-01-01')")
    clerk = Clerk(postgres_url)
    _history(clerk)
    out = clerk("report", "--to", postgres_url).output
    assert "had schema 1 of an older zorgkas: rebuilt as schema 2" in out
    with psycopg.connect(postgres_url) as pg:
        assert pg.execute("SELECT schema_version FROM zorgkas_reporting._position").fetchone() == (2,)
        assert pg.execute("SELECT to_regclass('zorgkas_reporting.premiums')").fetchone() == (None,)


def test_a_parallel_rebuild_into_postgresql_equals_an_in_process_one(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = Clerk(postgres_url)
    _history(clerk)
    _more(clerk)
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", "1")
    clerk("report", "--to", postgres_url)
    one = _figures(postgres_url)
    monkeypatch.setenv("ZORGKAS_REPORT_WORKERS", "2")
    assert "rebuilt: 2 members" in clerk("report", "--to", postgres_url, "--rebuild").output
    assert _figures(postgres_url) == one
    assert "updated: 0 members" in clerk("report", "--to", postgres_url).output


def test_on_1_january_a_large_fund_is_rebuilt_in_one_pass_with_the_same_rows(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every member is due on 1 January (a new premium year, R-PREM-9): past a size, the run
    rebuilds instead of replacing members one batch at a time; the rows are the same."""
    monkeypatch.setattr(reporting, "REBUILD_FROM_MEMBERS", 2)
    nightly, rebuilt = _path(tmp_path, "nightly.sqlite"), _path(tmp_path, "rebuilt.sqlite")
    _history(sqlite_clerk)
    _more(sqlite_clerk)
    sqlite_clerk("report", "--to", nightly, today="2023-12-30")
    assert "updated: 0 members" in sqlite_clerk("report", "--to", nightly, today="2023-12-31").output
    out = sqlite_clerk("report", "--to", nightly, today="2024-01-02").output
    assert "rebuilt: 2 members" in out and "the members due are most of the fund: 2 of 2" in out
    sqlite_clerk("report", "--to", rebuilt, "--rebuild", today="2024-01-02")
    assert _tables(nightly) == _tables(rebuilt)
