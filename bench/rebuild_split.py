"""Where a full rebuild's CPU goes, step by step, in one process (no workers).

    python -m bench.rebuild_split STORE [--members N]

Reads every member of the store, evaluates them into batches of rows as a rebuild does
(``reporting.Batch``: ``member_rows``, ``next_change`` and the sealed token), then inserts
the batches into a fresh reporting file, builds its indexes and summary tables; and runs
the raw scan baseline (``bench/raw.py``) in the same process. Prints each step's CPU
seconds and its multiple of the baseline. The garbage collector is off, as for the steps
of a rebuild the cyclic collector finds nothing to free; the whole process's figures are
``bench.stage rebuild``'s.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from datetime import date

from bench import raw
from ledger.store import Ledger
from projections.report_targets import SqliteTarget
from projections.reporting import Batch, Run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("store")
    parser.add_argument("--as-of", default=os.environ.get("ZORGKAS_TODAY", "2026-11-23"))
    opts = parser.parse_args()
    gc.disable()
    run = Run(date.fromisoformat(opts.as_of), None, b"bench", False, True)
    steps: dict[str, float] = {}

    def timed(name: str, start: float) -> None:
        steps[name] = time.process_time() - start

    ledger = Ledger(opts.store, create=False)
    start = time.process_time()
    members = list(ledger.members())
    timed("read and decode the store", start)
    ledger.close()

    batches: list[tuple[dict[str, list[tuple[object, ...]]], list[tuple[str, str, date]]]] = []

    def keep(_keys: list[str], rows: dict[str, list[tuple[object, ...]]], changes: list) -> None:  # type: ignore[type-arg]
        batches.append(({name: list(table) for name, table in rows.items()}, list(changes)))
        for table in rows.values():
            table.clear()
        changes.clear()

    start = time.process_time()
    batch = Batch(keep, run)
    for member in members:
        batch.add(member)
    batch.flush()
    timed("evaluate the rule book (rows, next change, token)", start)

    with tempfile.TemporaryDirectory() as folder:
        target = SqliteTarget(os.path.join(folder, "reporting.sqlite"), check=False)
        target.build_fresh()
        start = time.process_time()
        target.reset(indexes=False)
        for rows, changes in batches:
            target.insert_rows(rows)
            target.insert_changes(changes)  # type: ignore[arg-type]
        timed("insert the rows", start)
        start = time.process_time()
        target.create_indexes()
        timed("build the indexes", start)
        start = time.process_time()
        target.rebuild_summaries()
        timed("build the summary tables", start)
        target.rollback()
        target.close()

    start = time.process_time()
    raw.scan(opts.store)
    baseline = time.process_time() - start
    print(f"{'raw scan + decode + fold (baseline)':52} {baseline:7.2f} CPU-s   1.00")
    for name, seconds in steps.items():
        print(f"{name:52} {seconds:7.2f} CPU-s  {seconds / baseline:5.2f}")
    total = sum(steps.values())
    ratio = baseline / total  # the benchmark's per-core ratio, for these steps alone
    print(f"{'all steps':52} {total:7.2f} CPU-s  {total / baseline:5.2f}  (baseline {ratio:.0%} of it)")


if __name__ == "__main__":
    main()
