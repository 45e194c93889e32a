"""The benchmark's baselines stay like for like with the path they measure.

The raw insert runs under the PRAGMAs observed on the import's own writing connection,
the raw scan reads the same stored events as a rebuild, and a stage is a whole process
whose CPU seconds include its workers'.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.population import generate
from bench.run import top_imports
from bench.stage import command, measure, observed_pragmas


@pytest.fixture(scope="module")
def fund(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    file = tmp_path_factory.mktemp("bench") / "fund.jsonl"
    with file.open("wb") as f:
        lines = list(generate(60, 10, seed=7))
        f.writelines(lines)
    return file, len(lines)


def test_the_raw_insert_runs_under_the_pragmas_the_import_sets(
    fund: tuple[Path, int], tmp_path: Path
) -> None:
    file, events = fund
    seen = observed_pragmas(file)
    assert any(p.lower() == "journal_mode=wal" for p in seen["pragmas"])
    flags = [flag for p in seen["pragmas"] for flag in ("--pragma", p)]
    raw = measure(command("raw-insert", str(tmp_path / "raw.sqlite"), [str(file), *flags]))
    assert raw["output"]["count"] == events
    assert raw["output"]["pragmas"] == seen["effective"]


def test_the_raw_scan_reads_every_event_the_import_stored(fund: tuple[Path, int], tmp_path: Path) -> None:
    file, events = fund
    store = str(tmp_path / "store.sqlite")
    imported = measure(command("import", store, [str(file)]))
    assert f"imported {events} events for 60 members" in imported["output"]
    scan = measure(command("raw-scan", store, []))
    assert scan["output"]["count"] == events
    assert scan["output"]["members"] == 60


def test_the_raw_write_writes_every_row_a_rebuild_wrote_under_its_pragmas(
    fund: tuple[Path, int], tmp_path: Path
) -> None:
    import sqlite3

    from projections.report_targets import FRESH_PRAGMAS

    file, _events = fund
    store, rebuilt, copy = (str(tmp_path / n) for n in ("store.sqlite", "rep.sqlite", "copy.sqlite"))
    measure(command("import", store, [str(file)]))
    measure(command("rebuild", store, [rebuilt, "--workers", "1"]))
    flags = [flag for p in FRESH_PRAGMAS for flag in ("--pragma", p)]
    wrote = measure(command("raw-write", rebuilt, [copy, *flags]))
    assert wrote["output"]["pragmas"] == {"journal_mode": "off", "cache_size": -65536, "synchronous": 0}

    def dump(path: str) -> tuple[list[str], dict[str, list[tuple[object, ...]]]]:
        conn = sqlite3.connect(path)
        schema = sorted(sql for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {n: sorted(conn.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in tables}
        conn.close()
        return schema, rows

    schema, rows = dump(rebuilt)
    views = [sql for sql in schema if sql.startswith("CREATE VIEW")]
    assert len(rows["claims"]) > 60
    assert dump(copy) == ([sql for sql in schema if sql not in views], rows)  # views: nothing to write
    assert wrote["output"]["rows"] == sum(map(len, rows.values()))


def test_a_stage_is_charged_the_cpu_of_the_workers_it_waited_for() -> None:
    spin = "sum(i * i for i in range(3_000_000))"
    code = (
        "import multiprocessing as m\n"
        f"if __name__ == '__main__':\n m.Process(target=exec, args=({spin!r},)).start()"
    )
    alone = measure([sys.executable, "-c", spin])
    with_worker = measure([sys.executable, "-c", code])
    assert with_worker["cpu_seconds"] > 0.6 * alone["cpu_seconds"]


def test_top_imports_charge_a_package_with_what_it_pulls_in() -> None:
    importtime = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:      3000 |       3000 |       ssl",
            "import time:       200 |       5000 |     stdnum.util",
            "import time:       100 |       5500 |   stdnum",
            "import time:      1500 |       7000 | ledger.identity",
            "import time:      4000 |       4000 | json",
        ]
    )
    assert top_imports(importtime) == [("stdnum", 5.5), ("ledger.identity", 1.5)]


def test_the_scaling_projection_is_amdahl_bounded_by_the_servers_cpu() -> None:
    from bench.scaling import project, serial_share

    # 10,000 members took 60 s with one worker and 20 s of server CPU: 5 million members
    # are 500 times that. Nothing serial: W workers divide the time by W.
    one = project(10_000, 20.0, 0.0, 60.0, machines=1, cores=1, server_cores=8, members=5_000_000)
    assert one == 500.0
    assert project(10_000, 20.0, 0.0, 60.0, machines=2, cores=2, server_cores=8, members=5_000_000) == 125.0
    # A fifth that does not split: never below a fifth of the one-worker time.
    assert project(10_000, 20.0, 0.2, 60.0, machines=100, cores=4, server_cores=800, members=5_000_000) >= 100
    # Past its cores the server is the limit: 20 s × 500 over 8 cores.
    assert (
        project(10_000, 20.0, 0.0, 60.0, machines=100, cores=4, server_cores=8, members=5_000_000)
        == 20.0 * 500 / 8 / 60
    )
    assert serial_share(60.0, 30.0) == 0.0
    assert serial_share(60.0, 45.0) == 0.5
    assert serial_share(60.0, 70.0) == 1.0


def test_the_servers_cpu_is_read_from_its_processes() -> None:
    import os
    import time

    url = os.environ.get("ZORGKAS_TEST_POSTGRES")
    if not url:
        pytest.skip("ZORGKAS_TEST_POSTGRES is not set: no PostgreSQL server to meter")
    import psycopg

    from bench.scaling import SETTLE, server_cpu_seconds

    before = server_cpu_seconds()
    if before is None:
        pytest.skip("the PostgreSQL server does not run on this host: its processes cannot be read")
    with psycopg.connect(url) as conn:
        conn.execute("SELECT count(*) FROM generate_series(1, 5000000)").fetchone()
    time.sleep(SETTLE)  # the backend's time counts once the server has reaped it
    after = server_cpu_seconds()
    assert after is not None and after - before > 0.05


def test_the_rebuild_split_times_every_step_of_a_rebuild(fund: tuple[Path, int], tmp_path: Path) -> None:
    import subprocess

    file, _events = fund
    store = str(tmp_path / "store.sqlite")
    measure(command("import", store, [str(file)]))
    out = subprocess.run(
        [sys.executable, "-m", "bench.rebuild_split", store], capture_output=True, text=True, check=True
    ).stdout
    steps = ["raw scan", "read and decode", "evaluate the rule book", "insert the rows", "build the indexes"]
    assert all(step in out for step in steps), out
    assert "all steps" in out and "of it)" in out
