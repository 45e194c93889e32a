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
