"""The zorgkas benchmark: ratios against the physical baseline, measured in the same run.

    python -m bench.run --members 200000 --years 10

It generates a deterministic population (bench/population.py), measures the raw sqlite3
baseline on the same data, then zorgkas import, a full projection rebuild, each yearly
run, single-member status latency at two store sizes (one ten times the other) and the
peak memory of each stage, prints every ratio with pass/miss against its target, and
writes bench/results/<stamp>.json and the table in docs/performance.md.
Set ZORGKAS_TEST_POSTGRES to measure import, rebuild and a yearly run on PostgreSQL too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = [
    ("invitations", ["2026", "--on", "2026-01-10"]),
    ("auto-affiliation", ["2026"]),
    ("letters", ["2026", "--on", "2026-08-20"]),
    ("fines", ["2026", "--on", "2026-10-20"]),
    ("cancellations", ["2026", "--on", "2026-11-23"]),
]


def stage(name: str, store: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.stage", name, store, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_population(path: Path, members: int, years: int, seed: int) -> int:
    from bench.population import generate

    n = 0
    with path.open("wb") as f:
        for line in generate(members, years, seed):
            f.write(line)
            n += 1
    return n


def status_latency(store: str, sample: int, seed: int) -> dict[str, float]:
    """Single-member status (load + replay + every rule), in milliseconds."""
    from ledger.history import History
    from ledger.store import Ledger
    from projections.status import Status

    ledger = Ledger(store)
    inszs = [m.insz for m in ledger.members()] if sample else []
    rng = random.Random(seed)
    picks = [rng.choice(inszs) for _ in range(sample)]
    for insz in picks[:50]:  # warm up: open the connection, load the code paths
        Status.of(History.view(insz, ledger.load(insz).events, date(2026, 11, 23))).to_json()
    times = []
    for insz in picks:
        t = time.perf_counter()
        member = ledger.load(insz)
        Status.of(History.view(insz, member.events, date(2026, 11, 23))).to_json()
        times.append((time.perf_counter() - t) * 1000)
    ledger.close()
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99) - 1]}


def verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--latency-sample", type=int, default=1000)
    parser.add_argument("--workdir", default=None, help="Keep the stores here (default: a temp folder).")
    opts = parser.parse_args()
    work = Path(opts.workdir or tempfile.mkdtemp(prefix="zorgkas-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "members": opts.members,
        "years": opts.years,
        "seed": opts.seed,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    big, small = work / "population.jsonl", work / "population-small.jsonl"
    events = write_population(big, opts.members, opts.years, opts.seed)
    small_events = write_population(small, max(opts.members // 10, 1), opts.years, opts.seed + 1)
    results["events"], results["small_events"] = events, small_events
    print(f"population: {opts.members} members, {events} events ({small_events} in the small one)")

    raw = str(work / "raw.sqlite")
    for p in Path(work).glob("*.sqlite*"):
        p.unlink()
    ins = stage("raw-insert", raw, str(big))
    scan = stage("raw-scan", raw)
    raw_insert_rate = events / ins["seconds"]
    raw_scan_rate = events / scan["seconds"]
    results["raw"] = {"insert_events_per_s": raw_insert_rate, "scan_decode_fold_events_per_s": raw_scan_rate}

    store, store_small = str(work / "store.sqlite"), str(work / "store-small.sqlite")
    imp = stage("import", store, str(big))
    imp_small = stage("import", store_small, str(small))
    reb = stage("rebuild", store, str(work / "reporting.sqlite"))
    reb_small = stage("rebuild", store_small, str(work / "reporting-small.sqlite"))
    runs = {name: stage(name, store, *args) for name, args in RUNS}
    lat_small = status_latency(store_small, opts.latency_sample, opts.seed)
    lat_big = status_latency(store, opts.latency_sample, opts.seed)

    import_rate = events / imp["seconds"]
    rebuild_rate = events / reb["seconds"]
    rows = [
        ("raw sqlite3 insert", f"{raw_insert_rate:,.0f} events/s", "baseline", ""),
        ("raw scan + decode + fold", f"{raw_scan_rate:,.0f} events/s", "baseline", ""),
        (
            "zorgkas import",
            f"{import_rate:,.0f} events/s",
            f"{import_rate / raw_insert_rate:.0%} of raw insert (target ≥ 50%)",
            verdict(import_rate >= 0.5 * raw_insert_rate),
        ),
        (
            "full rebuild (report --rebuild)",
            f"{rebuild_rate:,.0f} events/s",
            f"{rebuild_rate / raw_scan_rate:.0%} of raw scan (target ≥ 30%)",
            verdict(rebuild_rate >= 0.3 * raw_scan_rate),
        ),
    ]
    for name, r in runs.items():
        ratio = r["seconds"] / reb["seconds"]
        rows.append(
            (
                f"run {name}",
                f"{r['seconds']:.1f} s",
                f"{ratio:.2f}× rebuild (target ≤ 2×)",
                verdict(ratio <= 2),
            )
        )
    growth = lat_big["p99_ms"] / lat_small["p99_ms"]
    rows.append(
        (
            "status p50 / p99 (small store)",
            f"{lat_small['p50_ms']:.1f} / {lat_small['p99_ms']:.1f} ms",
            "p99 < 50 ms",
            verdict(lat_small["p99_ms"] < 50),
        )
    )
    rows.append(
        (
            "status p50 / p99 (10× store)",
            f"{lat_big['p50_ms']:.1f} / {lat_big['p99_ms']:.1f} ms",
            f"p99 < 50 ms, growth {growth:.2f}× (target < 1.5×)",
            verdict(lat_big["p99_ms"] < 50 and growth < 1.5),
        )
    )
    for label, a, b in (("import", imp_small, imp), ("rebuild", reb_small, reb)):
        mem_growth = b["peak_rss_mb"] / a["peak_rss_mb"]
        rows.append(
            (
                f"peak RSS {label} (small → 10×)",
                f"{a['peak_rss_mb']:.0f} → {b['peak_rss_mb']:.0f} MB",
                f"{mem_growth:.2f}× for 10× members and events (streaming: ≪ 10×)",
                verdict(mem_growth < 5),
            )
        )
    for name, r in runs.items():
        rows.append((f"peak RSS run {name}", f"{r['peak_rss_mb']:.0f} MB", "", ""))

    if os.environ.get("ZORGKAS_TEST_POSTGRES"):
        rows += postgres_rows(os.environ["ZORGKAS_TEST_POSTGRES"], big, events, raw_insert_rate, work)

    results["stages"] = {
        "raw_insert": ins,
        "raw_scan": scan,
        "import": imp,
        "import_small": imp_small,
        "rebuild": reb,
        "rebuild_small": reb_small,
        "runs": runs,
        "status_small": lat_small,
        "status_big": lat_big,
    }
    results["table"] = rows
    print_table(rows)
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    write_doc(rows, results)
    print(f"results: {out.relative_to(ROOT)} and docs/performance.md")


def postgres_rows(
    url: str, big: Path, events: int, raw_insert_rate: float, work: Path
) -> list[tuple[str, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS zorgkas_events")
        conn.execute("DROP SCHEMA IF EXISTS zorgkas_reporting CASCADE")
    imp = stage("import", url, str(big))
    reb = stage("rebuild", url, str(work / "reporting-pg.sqlite"))
    inv = stage("invitations", url, "2026", "--on", "2026-01-10")
    return [
        (
            "PostgreSQL import",
            f"{events / imp['seconds']:,.0f} events/s",
            f"{events / imp['seconds'] / raw_insert_rate:.0%} of raw SQLite insert",
            "",
        ),
        ("PostgreSQL rebuild", f"{events / reb['seconds']:,.0f} events/s", "", ""),
        (
            "PostgreSQL run invitations",
            f"{inv['seconds']:.1f} s",
            f"{inv['seconds'] / reb['seconds']:.2f}× rebuild",
            "",
        ),
    ]


def print_table(rows: list[tuple[str, ...]]) -> None:
    width = max(len(r[0]) for r in rows)
    for name, value, ratio, ok in rows:
        print(f"{name:<{width}}  {value:>22}  {ratio:<58} {ok}")


def write_doc(rows: list[tuple[str, ...]], results: dict[str, Any]) -> None:
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text() if doc.exists() else "# Performance\n\n<!-- bench:start -->\n<!-- bench:end -->\n"
    head, _, rest = text.partition("<!-- bench:start -->")
    _, _, tail = rest.partition("<!-- bench:end -->")
    table = [
        f"Last run: {results['when']}, {results['members']:,} members, {results['events']:,} events "
        f"({results['years']} years, seed {results['seed']}), 2 cores.",
        "",
        "| measure | value | ratio / target | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    doc.write_text(head + "<!-- bench:start -->\n" + "\n".join(table) + "\n<!-- bench:end -->" + tail)


if __name__ == "__main__":
    main()
