"""The zorgkas benchmark: ratios against raw baselines, measured in the same run.

    python -m bench.run --members 200000 --years 10

It generates a deterministic population (bench/population.py) and measures, each as a
whole process timed from outside (bench/stage.py): the raw insert baseline (bench/raw.py,
under the PRAGMAs the import sets), zorgkas import, the raw scan + decode + fold baseline,
a full projection rebuild (compared by CPU seconds: one worker against the one-core scan;
its wall time on all cores beside it), the raw write of the rows it wrote (the floor of a
rebuild whose rule book cost nothing), each yearly run, a rebuild and the invitations
with 1 and 2 workers, single-member status
latency at two store sizes (one ten times the other), the CPU of a clerk's command with
its costliest imports, and the peak memory of each stage. It prints every ratio with
pass/miss against its target and writes bench/results/<stamp>.json and the table in
docs/performance.md. Set ZORGKAS_TEST_POSTGRES to measure import, rebuild and the
invitations (1 and 2 workers) on PostgreSQL too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
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


# Every stage measured so far, written to bench/results/<stamp>.partial.jsonl as it ends:
# a 1,000,000-member run takes hours, and a run cut short keeps what it measured.
PARTIAL: Path | None = None


def stage(name: str, store: str, *args: str) -> dict[str, Any]:
    """One stage as a whole process (``bench/stage.py``): wall, CPU and peak memory."""
    from bench.stage import command, measure

    result = measure(command(name, store, list(args)))
    result.pop("stderr")
    measured = {"stage": name, **result}
    if PARTIAL is not None:
        with PARTIAL.open("a") as f:
            line = {"store": store, "args": list(args), "load": os.getloadavg()[0], **measured}
            f.write(json.dumps(line) + "\n")
    return measured


def write_population(path: Path, members: int, years: int, seed: int) -> int:
    """Write the population's event file; its number of lines.

    A file written before into the same place for the same members, years, seed and
    generator (``bench/population.py``, by its hash) is kept: a 1,000,000-member file
    takes minutes to write and is the same every time.
    """
    import hashlib

    from bench.population import generate

    generator = hashlib.sha256(Path(__file__).with_name("population.py").read_bytes()).hexdigest()
    wanted = {"members": members, "years": years, "seed": seed, "generator": generator}
    meta = path.with_name(path.name + ".meta.json")
    if path.exists() and meta.exists():
        known = json.loads(meta.read_text())
        if known.get("size") == path.stat().st_size and {k: known.get(k) for k in wanted} == wanted:
            return int(known["lines"])
    meta.unlink(missing_ok=True)
    n = 0
    with path.open("wb") as f:
        for line in generate(members, years, seed):
            f.write(line)
            n += 1
    meta.write_text(json.dumps({**wanted, "lines": n, "size": path.stat().st_size}))
    return n


def head_of(store: str) -> int:
    """The store's last notification position (to rewind a run for the next measurement)."""
    from ledger.store import Ledger

    ledger = Ledger(store)
    try:
        return ledger.max_position()
    finally:
        ledger.close()


def rewind(store: str, position: int) -> None:
    """Remove what was recorded after ``position``: the store as it was before a run,
    so the same run can be measured again with another number of workers."""
    from ledger.store import Ledger

    ledger = Ledger(store)
    table = ledger.recorder.events_table_name
    ledger.close()
    if store.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            conn.execute(f"DELETE FROM {table} WHERE notification_id > %s", (position,))
        return
    conn = sqlite3.connect(store)
    with conn:
        conn.execute(f"DELETE FROM {table} WHERE rowid > ?", (position,))
    conn.close()


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


def clerk_startup(store: str, insz: str) -> dict[str, Any]:
    """What one clerk's command costs as a whole process: ``status`` and ``pay``.

    CPU seconds (user + system, the least of three runs: the machine is shared) and,
    from one run under ``python -X importtime``, the packages whose imports cost most.
    """
    import subprocess

    from bench.stage import ROOT, cli, environment, measure

    # An installed zorgkas has its bytecode (pip compiles it); a checkout run under
    # PYTHONDONTWRITEBYTECODE=1 would compile every module in every run (~0.1 CPU-s more).
    subprocess.run([sys.executable, "-m", "compileall", "-q", *OWN, "fixtures"], cwd=ROOT, check=True)

    def pay(run: int) -> list[str]:
        # A bank reference of its own per run: a repeated one is a duplicate that writes
        # nothing, and the least of three would time a payment that is never recorded.
        ref = f"BENCH-STARTUP-{os.getpid()}-{time.time_ns()}-{run}"
        return ["pay", insz, "--amount", "1,00", "--on", "2026-11-20", "--bank-ref", ref]

    commands = {"status": lambda _run: ["status", insz, "--json"], "pay": pay}
    out: dict[str, Any] = {}
    for name, argv_of in commands.items():
        runs = [measure(cli(store, *argv_of(run))) for run in range(3)]
        timed = measure([sys.executable, "-X", "importtime", *cli(store, *argv_of(3))[1:]])
        out[name] = {
            "cpu_seconds": min(r["cpu_seconds"] for r in runs),
            "seconds": min(r["seconds"] for r in runs),
            "imports": top_imports(timed["stderr"]),
        }
    bare = [measure([sys.executable, "-c", "pass"], environment()) for _ in range(3)]
    out["python_cpu_seconds"] = min(r["cpu_seconds"] for r in bare)
    return out


OWN = ("ledger", "commands", "projections")


def top_imports(importtime: str, top: int = 8) -> list[tuple[str, float]]:
    """The costliest imports of a command (ms), from ``python -X importtime``'s output:
    each third-party package with everything it pulled in (stdlib included), and each
    zorgkas module by itself; the standard library's own cost is left out."""
    cost: dict[str, int] = {}
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        name = name.strip()
        package = name.split(".")[0]
        if package in OWN:
            cost[name] = cost.get(name, 0) + int(own_us)
        elif package not in sys.stdlib_module_names and not package.startswith("_"):
            cost[package] = max(cost.get(package, 0), int(cumulative_us))  # the outermost import
    ranked = sorted(cost.items(), key=lambda kv: -kv[1])[:top]
    return [(name, round(us / 1000, 1)) for name, us in ranked]


def verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f} events/s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--latency-sample", type=int, default=1000)
    parser.add_argument(
        "--workers-curve",
        choices=["small", "big", "none"],
        default="small",
        help="Measure 1 and 2 workers for a rebuild and a yearly run on the small (default) "
        "or the big store.",
    )
    parser.add_argument("--workdir", default=None, help="Keep the stores here (default: a temp folder).")
    opts = parser.parse_args()
    work = Path(opts.workdir or tempfile.mkdtemp(prefix="zorgkas-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "members": opts.members,
        "years": opts.years,
        "seed": opts.seed,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg()[0],
    }

    big, small = work / "population.jsonl", work / "population-small.jsonl"
    events = write_population(big, opts.members, opts.years, opts.seed)
    small_events = write_population(small, max(opts.members // 10, 1), opts.years, opts.seed + 1)
    results["events"], results["small_events"] = events, small_events
    global PARTIAL
    PARTIAL = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.partial.jsonl"
    PARTIAL.parent.mkdir(exist_ok=True)
    PARTIAL.write_text(json.dumps(results) + "\n")
    print(f"population: {opts.members} members, {events} events ({small_events} in the small one)")
    for p in Path(work).glob("*.sqlite*"):
        p.unlink()

    from bench.stage import observed_pragmas

    seen = observed_pragmas(small)
    pragma_flags = [flag for p in seen["pragmas"] for flag in ("--pragma", p)]
    raw = str(work / "raw.sqlite")
    ins = stage("raw-insert", raw, str(big), *pragma_flags)
    store, store_small = str(work / "store.sqlite"), str(work / "store-small.sqlite")
    imp = stage("import", store, str(big))
    imp_small = stage("import", store_small, str(small))
    scan = stage("raw-scan", store)
    reb = stage("rebuild", store, str(work / "reporting.sqlite"))
    # Per core is one core against one core: the rebuild on one worker, beside the scan.
    reb1 = stage("rebuild", store, str(work / "reporting-1.sqlite"), "--workers", "1")
    from projections.report_targets import FRESH_PRAGMAS

    fresh_flags = [flag for p in FRESH_PRAGMAS for flag in ("--pragma", p)]
    wrote = stage("raw-write", str(work / "reporting-1.sqlite"), str(work / "raw-write.sqlite"), *fresh_flags)
    reb_small = stage("rebuild", store_small, str(work / "reporting-small.sqlite"))
    # Before the runs: it rewinds its store to where it found it.
    curve = workers_curve(store if opts.workers_curve == "big" else store_small, work, opts.workers_curve)
    runs = {name: stage(name, store, *args) for name, args in RUNS}
    lat_small = status_latency(store_small, opts.latency_sample, opts.seed)
    lat_big = status_latency(store, opts.latency_sample, opts.seed)
    clerk = clerk_startup(store_small, first_insz(small))

    floor = scan["cpu_seconds"] + wrote["cpu_seconds"]
    rows = [
        (
            "raw sqlite3 insert (whole process)",
            rate(events, ins["seconds"]),
            "baseline; PRAGMAs as import: " + pragma_note(seen, ins["output"]["pragmas"]),
            "",
        ),
        (
            "raw scan + decode + fold (1 core)",
            f"{events / scan['cpu_seconds']:,.0f} events/CPU-s",
            f"baseline; {rate(events, scan['seconds'])} wall",
            "",
        ),
        (
            "zorgkas import (whole process)",
            rate(events, imp["seconds"]),
            f"{ins['seconds'] / imp['seconds']:.0%} of raw insert, wall (target ≥ 50%); "
            f"{ins['cpu_seconds'] / imp['cpu_seconds']:.0%} by CPU",
            verdict(ins["seconds"] >= 0.5 * imp["seconds"]),
        ),
        (
            "full rebuild, per core (report --rebuild --workers 1)",
            f"{events / reb1['cpu_seconds']:,.0f} events/CPU-s",
            f"{scan['cpu_seconds'] / reb1['cpu_seconds']:.0%} of raw scan+decode+fold, CPU, one core "
            f"against one (target ≥ 30%); {scan['cpu_seconds'] / reb['cpu_seconds']:.0%} against "
            "the CPU of all cores' workers",
            verdict(scan["cpu_seconds"] >= 0.3 * reb1["cpu_seconds"]),
        ),
        (
            "full rebuild, wall (all cores)",
            rate(events, reb["seconds"]),
            f"{scan['seconds'] / reb['seconds']:.0%} of the one-core raw scan's wall rate; "
            f"{reb1['seconds'] / reb['seconds']:.2f}× faster than on one core",
            "",
        ),
        (
            "raw write of the rebuild's rows (1 core)",
            f"{wrote['output']['rows']:,} rows, {wrote['cpu_seconds']:.1f} CPU-s",
            f"floor of a rebuild with a rule book that costs nothing: scan + write {floor:.1f} "
            f"CPU-s, the scan {scan['cpu_seconds'] / floor:.0%} of it; the one-core rebuild is at "
            f"{floor / reb1['cpu_seconds']:.0%} of it",
            "",
        ),
    ]
    for name, r in runs.items():
        ratio = r["seconds"] / reb["seconds"]
        rows.append(
            (
                f"run {name}",
                f"{r['seconds']:.1f} s ({r['cpu_seconds']:.1f} CPU-s)",
                f"{ratio:.2f}× rebuild wall, {r['cpu_seconds'] / reb['cpu_seconds']:.2f}× its CPU "
                "(target ≤ 2×)",
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
    for name in ("status", "pay"):
        c = clerk[name]
        top = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in c["imports"][:5])
        rows.append(
            (
                f"clerk command `{name}` (whole process)",
                f"{c['cpu_seconds']:.3f} CPU-s",
                f"target ≤ 0.1 s (bare Python {clerk['python_cpu_seconds']:.3f}); imports ms: {top}",
                verdict(c["cpu_seconds"] <= 0.1),
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
    rows.append(("peak RSS raw insert", f"{ins['peak_rss_mb']:.0f} MB", "", ""))
    for name, r in runs.items():
        rows.append((f"peak RSS run {name}", f"{r['peak_rss_mb']:.0f} MB", "", ""))
    rows += curve_rows(curve)

    if os.environ.get("ZORGKAS_TEST_POSTGRES"):
        rows += postgres_rows(os.environ["ZORGKAS_TEST_POSTGRES"], big, events, ins, work)

    results["stages"] = {
        "raw_insert": ins,
        "raw_scan": scan,
        "import": imp,
        "import_small": imp_small,
        "rebuild": reb,
        "rebuild_one_worker": reb1,
        "raw_write": wrote,
        "rebuild_small": reb_small,
        "runs": runs,
        "status_small": lat_small,
        "status_big": lat_big,
        "workers_curve": curve,
        "clerk": clerk,
        "observed_pragmas": seen,
    }
    results["table"] = rows
    results["load_after"] = os.getloadavg()[0]
    print_table(rows)
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    PARTIAL.unlink()  # the whole run is in ``out``: the stage-by-stage copy was for a cut-off
    write_doc(rows, results)
    print(f"results: {out.relative_to(ROOT)} and docs/performance.md")


def first_insz(file: Path) -> str:
    with file.open("rb") as f:
        line = f.readline()
    at = line.index(b'"insz":"') + 8
    return line[at : at + 11].decode()


def pragma_note(seen: dict[str, Any], raw: dict[str, Any]) -> str:
    """The effective PRAGMAs of both connections, and whether they are the same."""
    mine = ", ".join(f"{k}={v}" for k, v in raw.items())
    if seen.get("effective") and seen["effective"] != raw:
        return f"DIFFERENT ({mine} against {seen['effective']})"
    return mine


def workers_curve(store: str, work: Path, which: str) -> dict[str, Any]:
    """A rebuild and a yearly run with 1 and 2 worker processes on the same store."""
    if which == "none":
        return {}
    curve: dict[str, Any] = {"store": which}
    for n in (1, 2):
        curve[f"rebuild_{n}"] = stage(
            "rebuild", store, str(work / f"reporting-w{n}.sqlite"), "--workers", str(n)
        )
    curve.update(run_curve(store))
    return curve


def run_curve(store: str) -> dict[str, Any]:
    """The invitations run with 1 then 2 workers, the store rewound after each."""
    head = head_of(store)
    out: dict[str, Any] = {}
    for n in (1, 2):
        out[f"invitations_{n}"] = stage("invitations", store, *RUNS[0][1], "--workers", str(n))
        rewind(store, head)
    return out


def curve_rows(curve: dict[str, Any]) -> list[tuple[str, ...]]:
    if not curve:
        return []
    rows = []
    for what in ("rebuild", "invitations"):
        one, two = curve[f"{what}_1"], curve[f"{what}_2"]
        rows.append(
            (
                f"{what} 1 → 2 workers ({curve['store']} store)",
                f"{one['seconds']:.1f} → {two['seconds']:.1f} s",
                f"speed-up {one['seconds'] / two['seconds']:.2f}×; CPU {one['cpu_seconds']:.1f} → "
                f"{two['cpu_seconds']:.1f} s",
                "",
            )
        )
    return rows


def postgres_rows(
    url: str, big: Path, events: int, raw_insert: dict[str, Any], work: Path
) -> list[tuple[str, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS zorgkas_events")
        conn.execute("DROP SCHEMA IF EXISTS zorgkas_reporting CASCADE")
    imp = stage("import", url, str(big))
    reb = {
        n: stage("rebuild", url, str(work / f"reporting-pg{n}.sqlite"), "--workers", str(n)) for n in (1, 2)
    }
    inv = run_curve(url)
    rows = [
        (
            "PostgreSQL import",
            rate(events, imp["seconds"]),
            f"{raw_insert['seconds'] / imp['seconds']:.0%} of raw SQLite insert",
            "",
        )
    ]
    for n in (1, 2):
        rows.append(
            (
                f"PostgreSQL rebuild, {n} worker{'s' * (n > 1)}",
                rate(events, reb[n]["seconds"]),
                f"{events / reb[n]['cpu_seconds']:,.0f} events/CPU-s of the client processes",
                "",
            )
        )
    for n in (1, 2):
        r = inv[f"invitations_{n}"]
        rows.append(
            (
                f"PostgreSQL run invitations, {n} worker{'s' * (n > 1)}",
                f"{r['seconds']:.1f} s ({r['cpu_seconds']:.1f} CPU-s)",
                f"{r['seconds'] / reb[1]['seconds']:.2f}× a one-worker rebuild",
                "",
            )
        )
    return rows


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
        f"({results['years']} years, seed {results['seed']}), {results['cores']} cores, load average "
        f"{results['load_before']:.1f} before and {results['load_after']:.1f} after the run "
        "(the machine is shared: above the core count, wall times stretch; CPU seconds much less).",
        "",
        "| measure | value | ratio / target | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    doc.write_text(head + "<!-- bench:start -->\n" + "\n".join(table) + "\n<!-- bench:end -->" + tail)


if __name__ == "__main__":
    main()
