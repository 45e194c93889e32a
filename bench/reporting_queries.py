"""Time every canned query and dashboard chart on a large reporting database.

Builds a nightly reporting database for N members of the benchmark's generated
population (``bench/population.py``, seeded) straight from the generator — the event
store is not what is measured here — then asks Datasette's own client (the code path of
``serve-report``, with its default 1 s SQL time limit) for every canned query, view,
chart query and the dashboard page, and prints pass/miss against 1 s::

    python -m bench.reporting_queries --members 20000            # a minute
    python -m bench.reporting_queries --members 1000000 --keep   # a fund's size (hours here)
    python -m bench.reporting_queries --members 200000 --replicate 5   # 1,000,000 in minutes

Each request is timed three times; the best and the worst are printed (the first run
includes opening the file).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from bench.population import people
from ledger.member import Member
from projections.datasette import DASHBOARD, DEFAULT_SETTINGS, QUERIES, charts, metadata
from projections.report_schema import BY_NAME, CHANGES_ON, VIEWS
from projections.report_targets import SqliteTarget
from projections.reporting import Run, write_members

LIMIT_S = 1.0


def population(
    members: int, years: int, seed: int, first: int, part: tuple[int, int] = (0, 1)
) -> Iterator[Member]:
    """The members of ``bench.population.generate``, as ``Member`` objects (every
    ``part[1]``-th one from ``part[0]``: the generator runs whole, its output is split)."""
    for n, (insz, events) in enumerate(people(members, years, seed, first)):
        if n % part[1] == part[0]:
            yield Member(insz, events)


def _run(years: int, first: int) -> Run:
    as_of = date(first + years - 1, 12, 1)
    return Run(as_of=as_of, known_on=None, key=b"bench-key", with_insz=False, nightly=True)


def build_part(path: str, members: int, years: int, seed: int, first: int, part: tuple[int, int]) -> None:
    target = SqliteTarget(path, check=False)
    try:
        target.reset()
        write_members(
            target, population(members, years, seed, first, part), _run(years, first), replace=False
        )
        target.commit()
    finally:
        target.close()


def build(path: str, members: int, years: int, seed: int, first: int, workers: int) -> float:
    """Write the reporting database as a nightly rebuild would (one process per part,
    then one transaction); returns the seconds it took."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    parts = [f"{path}.part{k}" for k in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(build_part, parts[k], members, years, seed, first, (k, workers))
            for k in range(workers)
        ]
        for job in jobs:
            job.result()
    run = _run(years, first)
    target = SqliteTarget(path)
    try:
        target.reset()
        for part in parts:
            target.execute(f"ATTACH DATABASE '{part}' AS part")
            for table in [*BY_NAME, CHANGES_ON]:
                cols = ", ".join(BY_NAME[table].stored) if table in BY_NAME else "member, token, day"
                target.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM part.{table}")
            target.commit()
            target.execute("DETACH DATABASE part")
            target.execute("BEGIN IMMEDIATE")
        target.rebuild_summaries()
        target.write_position(run.mode, 0, run.as_of, None, run.settings)
        target.commit()
    finally:
        target.close()
        for part in parts:
            os.remove(part)
    return time.perf_counter() - start


def replicate(source: str, path: str, times: int) -> float:
    """A database ``times`` the size of ``source``: its members copied under new pseudonyms
    (``<pseudonym>r<k>``), summaries recomputed. The rows are what the queries read; this
    reaches a fund's size in minutes where evaluating the rule book for each member takes
    hours on a small machine."""
    start = time.perf_counter()
    shutil.copyfile(source, path)
    target = SqliteTarget(path)
    try:
        for k in range(1, times):
            for table in [*BY_NAME, CHANGES_ON]:
                cols = BY_NAME[table].stored if table in BY_NAME else ["member", "token", "day"]
                rest = ", ".join(cols[1:])
                target.execute(
                    f"INSERT INTO {table} ({', '.join(cols)}) SELECT member || 'r{k}', {rest} FROM {table} "
                    "WHERE member NOT LIKE '%r%'"
                )
        target.rebuild_summaries()
        target.commit()
    finally:
        target.close()
    return time.perf_counter() - start


def requests(db: str) -> dict[str, str]:
    from datasette_dashboards import replace_opts_in_query

    paths = {f"query {name}": f"/{db}/{name}.json?_shape=array" for name in QUERIES}
    paths |= {f"view {name}": f"/{db}/{name}.json?_shape=array&_size=1000" for name in VIEWS}
    for name, chart in charts(db).items():
        for label, params in (
            ("", {}),
            (" (fund, years)", {"fund": "CM", "year_from": "2019", "year_to": "2024"}),
        ):
            sql = replace_opts_in_query(chart["query"], params)
            paths[f"chart {name}{label}"] = f"/{db}.json?" + urlencode(
                {"sql": sql, **params, "_shape": "array"}
            )
    paths["dashboard page"] = f"/-/dashboards/{DASHBOARD}"
    paths["members table page"] = f"/{db}/members"
    return paths


async def measure(path: str, db: str) -> list[tuple[str, float, float, bool, str]]:
    from datasette.app import Datasette

    settings = {k: v not in ("off", "0", "false") for k, v in DEFAULT_SETTINGS.items()}
    ds = Datasette([path], metadata=metadata(db), settings=settings)  # as serve-report runs it
    out = []
    for label, url in requests(db).items():
        times, ok, why = [], True, ""
        for _ in range(3):
            start = time.perf_counter()
            response = await ds.client.get(url)
            times.append(time.perf_counter() - start)
            if response.status_code != 200 or "SQL Interrupted" in response.text:
                ok, why = False, f"HTTP {response.status_code}"
        out.append((label, min(times), max(times), ok, why))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--first", type=int, default=2016, help="first year of the population")
    parser.add_argument("--db", default=None, help="reuse or keep this reporting database file")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="build processes")
    parser.add_argument(
        "--replicate", type=int, default=1, metavar="K", help="then measure on K copies of the members"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database after measuring")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="zorgkas-bench-reporting-")
    path = args.db or os.path.join(folder, "reporting.sqlite")
    if not os.path.exists(path):
        seconds = build(path, args.members, args.years, args.seed, args.first, args.workers)
        size = Path(path).stat().st_size / 1e6
        print(f"built {args.members:,} members in {seconds:.0f} s ({args.members / seconds:,.0f} members/s), "
              f"{size:,.0f} MB: {path}")  # fmt: skip
    if args.replicate > 1:
        big = f"{path.removesuffix('.sqlite')}-x{args.replicate}.sqlite"
        if not os.path.exists(big):
            seconds = replicate(path, big, args.replicate)
            members = args.members * args.replicate
            print(f"replicated to {members:,} members in {seconds:.0f} s, "
                  f"{Path(big).stat().st_size / 1e6:,.0f} MB: {big}")  # fmt: skip
        path = big
    db = Path(path).stem
    results = asyncio.run(measure(path, db))
    print(f"\n| request | best | worst | < {LIMIT_S:.0f} s |\n|---|---|---|---|")
    for label, best, worst, ok, why in results:
        verdict = "pass" if ok and worst < LIMIT_S else f"MISS {why}".strip()
        print(f"| {label} | {best * 1000:,.0f} ms | {worst * 1000:,.0f} ms | {verdict} |")
    if not args.keep and not args.db:
        shutil.rmtree(folder)
    elif not os.listdir(folder):
        os.rmdir(folder)


if __name__ == "__main__":
    main()
