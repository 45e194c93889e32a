"""One measured stage of the benchmark, in its own process so its peak memory is its own.

python -m bench.stage STAGE STORE [ARGS…] prints one JSON object: seconds, count, peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import sys
import time
from collections import defaultdict
from datetime import date, datetime

import msgspec

from ledger import events as ev

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, 0)


def raw_insert(path: str, file: str) -> tuple[int, float]:
    """The physical baseline: sqlite3 executemany of the same rows into a keyed table."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
        "state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    versions: dict[str, int] = defaultdict(int)
    rows = []
    with open(file, "rb") as f:
        for line in f:
            # The member key: the INSZ (the store uses a UUID derived from it).
            insz = line[line.index(b'"insz":"') + 8 :][:11].decode()
            versions[insz] += 1
            rows.append((insz, versions[insz], "e", line))
    start = time.perf_counter()
    conn.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", rows)
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows), elapsed


def raw_scan(path: str) -> int:
    """The physical baseline of a rebuild: full scan, typed msgspec decode, a fold per member."""
    decoder = msgspec.json.Decoder(ev.AnyEvent)
    conn = sqlite3.connect(path)
    owed: dict[str, int] = defaultdict(int)
    n = 0
    for (state,) in conn.execute("SELECT state FROM stored_events ORDER BY rowid"):
        e = decoder.decode(state)
        n += 1
        if isinstance(e, ev.PremiumInvited):
            owed[e.insz] += e.amount_cents
        elif isinstance(e, ev.PremiumPaid):
            owed[e.insz] -= e.amount_cents
    conn.close()
    return n


def main() -> None:
    stage, store, *args = sys.argv[1:]
    os.environ["ZORGKAS_TODAY"] = TODAY.isoformat()
    os.environ["ZORGKAS_NOW"] = NOW.isoformat()
    os.environ.setdefault("ZORGKAS_PSEUDONYM_KEY", "bench")
    count: int = 0
    start = time.perf_counter()
    elapsed: float | None = None
    if stage == "raw-insert":
        count, elapsed = raw_insert(store, args[0])
    elif stage == "raw-scan":
        count = raw_scan(store)
    else:
        from click.testing import CliRunner

        from commands.cli import cli

        argv = {
            "import": ["import", args[0]] if args else [],
            "rebuild": ["report", "--to", args[0], "--rebuild"] if args else [],
        }.get(stage) or ["run", stage, "--year", args[0], *args[1:]]
        result = CliRunner().invoke(cli, ["--store", store, *argv], catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"{stage} failed: {result.output}")
        count = -1
    seconds = elapsed if elapsed is not None else time.perf_counter() - start
    # The largest process of the stage: itself, or a worker it started (parallel rebuild).
    peak_kb = max(
        resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    peak_mb = peak_kb / 1024
    print(json.dumps({"stage": stage, "seconds": seconds, "count": count, "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
