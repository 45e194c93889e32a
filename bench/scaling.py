"""The PostgreSQL scaling curve: a yearly run and a rebuild with 1 and 2 workers.

    ZORGKAS_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/test \\
        python -m bench.scaling --members 50000

Imports a generated population into the PostgreSQL database (its zorgkas tables are
dropped first), then measures, each as whole processes (``bench/stage.py``): the
invitations run and a full rebuild with 1 and 2 workers (the store rewound between runs
so each does the same work), and single-member ``status`` latency. Beside the client's
CPU (every worker process, from ``os.wait4``) it reads the **server's** CPU from
``/proc`` (every ``postgres`` process, plus what the postmaster collected from the
backends that ended), so the work splits into the part that more client machines
divide and the part the one primary must carry. From these it projects the wall time
of one invitations run for a fund of 5 million members on K client machines of C cores
against one primary of P cores (``project``), and writes the measured table and the
projection into ``docs/scaling.md`` between its ``scaling:start``/``scaling:end`` marks.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUND = 5_000_000
SETTLE = 0.5  # seconds for a closed connection's backend to be reaped
INVITATIONS = ["2026", "--on", "2026-01-10"]


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def server_cpu_seconds() -> float | None:
    """CPU seconds of the PostgreSQL server on this host so far (None: none found).

    Live ``postgres`` processes count their own time; the postmaster adds the time of
    the backends it has reaped (``cutime``/``cstime``), so a connection that ended
    during a measurement is still counted."""
    total = 0
    found = False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name != "postgres" and not name.startswith("postgres:"):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid, utime, stime, cutime, cstime = int(fields[1]), *map(int, fields[11:15])
        found = True
        total += utime + stime
        if _is_postmaster(ppid):
            total += cutime + cstime
    return total / _ticks() if found else None


def _is_postmaster(ppid: int) -> bool:
    """A postgres process whose parent is not a postgres process is the postmaster."""
    try:
        with open(f"/proc/{ppid}/stat") as f:
            stat = f.read()
    except OSError:
        return True
    return "postgres" not in stat[stat.index("(") + 1 : stat.rindex(")")]


def metered(name: str, store: str, *args: str) -> dict[str, Any]:
    """A stage with the server's CPU seconds over the same window."""
    from bench.run import stage

    before = server_cpu_seconds()
    result = stage(name, store, *args)
    time.sleep(SETTLE)  # the backends of the stage's connections finish exiting
    after = server_cpu_seconds()
    result["server_cpu_seconds"] = None if before is None or after is None else after - before
    return result


def project(
    members_measured: int,
    server_cpu: float,
    serial_share: float,
    one_worker_seconds: float,
    machines: int,
    cores: int,
    server_cores: int,
    members: int = FUND,
) -> float:
    """Minutes for one run over ``members`` on ``machines`` × ``cores`` workers against one
    primary of ``server_cores`` cores.

    The slower of two bounds: Amdahl's law on the one-worker wall time (the
    ``serial_share`` does not split: the store's table lock around each batch's insert),
    and the server's CPU divided over its cores (one backend per worker, so at most as
    many cores as workers are busy).
    """
    scale = members / members_measured
    workers = machines * cores
    clients = one_worker_seconds * scale * (serial_share + (1 - serial_share) / workers)
    server = server_cpu * scale / min(server_cores, workers)
    return max(clients, server) / 60


def serial_share(one: float, two: float) -> float:
    """Amdahl's serial fraction from the wall times of 1 and 2 workers (0 … 1)."""
    return min(1.0, max(0.0, 2 * two / one - 1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--server-cores", type=int, default=8, help="Cores of the primary in the projection.")
    opts = parser.parse_args()
    url = os.environ.get("ZORGKAS_TEST_POSTGRES")
    if not url:
        raise SystemExit(
            "set ZORGKAS_TEST_POSTGRES to the database to measure (its zorgkas tables are dropped)"
        )

    import psycopg

    from bench.run import head_of, rewind, status_latency, write_population

    work = Path(opts.workdir or tempfile.mkdtemp(prefix="zorgkas-scaling-"))
    work.mkdir(parents=True, exist_ok=True)
    population = work / f"population-{opts.members}.jsonl"
    events = write_population(population, opts.members, opts.years, opts.seed)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS zorgkas_events")
        conn.execute("DROP SCHEMA IF EXISTS zorgkas_reporting CASCADE")
    results: dict[str, Any] = {
        "members": opts.members,
        "events": events,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg()[0],
    }
    results["import"] = metered("import", url, str(population))
    head = head_of(url)
    for n in (1, 2):
        results[f"invitations_{n}"] = metered("invitations", url, *INVITATIONS, "--workers", str(n))
        rewind(url, head)
    for n in (1, 2):
        results[f"rebuild_{n}"] = metered(
            "rebuild", url, str(work / f"reporting-{n}.sqlite"), "--workers", str(n)
        )
    results["status"] = status_latency(url, 500, opts.seed)
    results["load_after"] = os.getloadavg()[0]
    out = ROOT / "bench" / "results" / f"scaling-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    text = report(results, opts.server_cores)
    print(text)
    write_doc(text)
    print(f"results: {out.relative_to(ROOT)} and docs/scaling.md")


def report(r: dict[str, Any], server_cores: int) -> str:
    """The measured table and the projection, as markdown."""
    members, events = r["members"], r["events"]

    def cpu(x: dict[str, Any], key: str) -> str:
        v = x.get(key)
        return "n/a" if v is None else f"{v:.1f}"

    rows = [
        f"Last run: {r['when']}, {members:,} members, {events:,} events, {r['cores']} cores shared by "
        f"the clients and PostgreSQL on the same host, load average {r['load_before']:.1f} before and "
        f"{r['load_after']:.1f} after.",
        "",
        "| measured on PostgreSQL | wall s | client CPU s | server CPU s |",
        "|---|---|---|---|",
    ]
    imp = r["import"]
    rows.append(f"| import ({events / imp['seconds']:,.0f} events/s) | {imp['seconds']:.1f} | "
                f"{imp['cpu_seconds']:.1f} | {cpu(imp, 'server_cpu_seconds')} |")  # fmt: skip
    for what in ("invitations", "rebuild"):
        for n in (1, 2):
            x = r[f"{what}_{n}"]
            rows.append(
                f"| {what}, {n} worker{'s' * (n > 1)} | {x['seconds']:.1f} | {x['cpu_seconds']:.1f} | "
                f"{cpu(x, 'server_cpu_seconds')} |"
            )
    st = r["status"]
    rows.append(f"| status of one member, p50 / p99 | {st['p50_ms']:.1f} / {st['p99_ms']:.1f} ms | | |")
    one, two = r["invitations_1"], r["invitations_2"]
    share = serial_share(one["seconds"], two["seconds"])
    server = one.get("server_cpu_seconds") or 0.0
    rows += [
        "",
        f"Invitations, 1 → 2 workers: speed-up {one['seconds'] / two['seconds']:.2f}× on this machine's "
        f"{r['cores']} cores (which also run the server); per member "
        f"{one['cpu_seconds'] / members * 1000:.2f} ms "
        f"of client CPU and {server / members * 1000:.2f} ms of server CPU; the part that did not split "
        f"(Amdahl, from the two wall times) {share:.0%}. On two cores shared with the server this is an "
        "upper bound of the serial part.",
        "",
        f"Projected minutes for one invitations run over {FUND:,} members against one primary of "
        f"{server_cores} cores (the slower of: Amdahl's law on the one-worker time; "
        "the server's CPU ÷ its cores):",
        "",
        "| client machines × cores | 1 × 1 | 1 × 4 | 2 × 4 | 4 × 4 | 8 × 4 |",
        "|---|---|---|---|---|---|",
    ]
    for label, s in ((f"serial part {share:.0%} (measured bound)", share), ("serial part 5 %", 0.05)):
        cells = [
            project(members, server, s, one["seconds"], k, c, server_cores)
            for k, c in ((1, 1), (1, 4), (2, 4), (4, 4), (8, 4))
        ]
        rows.append(f"| {label} | " + " | ".join(f"{m:.0f}" for m in cells) + " |")
    return "\n".join(rows)


def write_doc(text: str) -> None:
    doc = ROOT / "docs" / "scaling.md"
    current = doc.read_text()
    head, mark, rest = current.partition("<!-- scaling:start -->")
    if not mark:
        raise SystemExit("docs/scaling.md has no <!-- scaling:start --> mark")
    _, _, tail = rest.partition("<!-- scaling:end -->")
    doc.write_text(head + "<!-- scaling:start -->\n" + text + "\n<!-- scaling:end -->" + tail)


if __name__ == "__main__":
    main()
