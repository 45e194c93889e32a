"""Yearly runs across worker processes: ``--workers N`` and ``--part I/N``.

Members are independent (every rule reads one member's events), so a run splits them
into N equal ranges of member ids (``Ledger.members(part)``). ``--part I/N`` runs one
range in this process; it is what a worker is, and what an operator starts by hand on
another machine against the same PostgreSQL server. ``--workers N`` starts N such
processes of this same command line, each with its own store connection, waits for
them and prints one summary that adds up theirs.

Exactly once: each worker writes in batches, each batch one transaction. Two runs that
overlap (two operators, two ranges by mistake) both decide on a member, and the store's
optimistic concurrency (one event per member and version) refuses the second write;
``run_over_members`` then decides again on the fresh history, where the rules see the
first run's event and write nothing. A killed worker leaves whole batches behind; run
the command again and the members already done are skipped by the same rules.
"""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commands.options import _Converting
from ledger.errors import BadInput
from ledger.validation import parse_count

WORKERS_META = "zorgkas.workers"
PART_META = "zorgkas.part"
# ``plural``: "1 member touched, 1 event written" for one, the plural otherwise.
SUMMARY = re.compile(r": (\d+) members? touched, (\d+) events? written")


class PartType(click.ParamType):
    """``I/N``: the I-th (1 to N) of N equal ranges of member ids."""

    name = "I/N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        i, slash, n = str(value).partition("/")
        digits = f"{i}{n}".isascii() and i.isdigit() and n.isdigit()  # ASCII digits only
        if not (slash and digits and 1 <= int(i) <= int(n) <= 4096):
            self.fail(f"{value!r}: not a part such as 1/4 (I from 1 to N, N at most 4096)", param, ctx)
        return int(i) - 1, int(n)


class CountType(_Converting):
    """A number of processes: ASCII digits only (docs/cli.md, "Numbers"), from 1 to ``high``."""

    name = "N"

    def __init__(self, high: int) -> None:
        self.high = high

    def parse(self, value: str) -> int:
        return parse_count(value, "N", 1, self.high, f"not a number from 1 to {self.high} (ASCII digits)")


def worker_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--workers`` and ``--part`` on a yearly run; kept in the context for ``run_parts``."""

    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            ctx.meta[WORKERS_META if param.name == "workers" else PART_META] = value
        return value

    fn = click.option(
        "--part",
        type=PartType(),
        default=None,
        expose_value=False,
        callback=keep,
        help="Run only the I-th of N ranges of members (a worker; start the others elsewhere).",
    )(fn)
    return click.option(
        "--workers",
        type=CountType(64),
        default=None,
        metavar="N",
        expose_value=False,
        callback=keep,
        help="Split the members over N worker processes (default 1).",
    )(fn)


def requested() -> tuple[int, tuple[int, int] | None]:
    """(workers, part) of the current command line."""
    meta = click.get_current_context().meta
    workers, part = meta.get(WORKERS_META) or 1, meta.get(PART_META)
    if workers > 1 and part is not None:
        raise BadInput("--workers", str(workers), "a worker already runs one --part; give one of the two")
    return workers, part


def run_parts(argv: list[str], workers: int, env: dict[str, str]) -> tuple[int, int]:
    """Start ``workers`` processes of ``zorgkas <argv> --part I/N``; their summed counts.

    Each worker's errors pass through; if one fails, the others still finish, then the
    run stops with the worst exit code and says how to finish it (run it again).
    """
    # The workers run the code this process runs, also from a checkout (an installed
    # package is found anyway; its folder is not put before the standard library).
    here = str(Path(__file__).resolve().parent.parent)
    installed = {str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    extra = [] if here in installed else [here]
    path = os.pathsep.join([*extra, *filter(None, [os.environ.get("PYTHONPATH")])])
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "commands.cli", *argv, "--part", f"{k + 1}/{workers}"],
            env={**os.environ, **env, **({"PYTHONPATH": path} if path else {})},
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(workers)
    ]
    touched = written = 0
    failed: list[tuple[int, int]] = []
    for k, proc in enumerate(procs):
        out, _ = proc.communicate()
        found = SUMMARY.search(out or "")
        if proc.returncode == 0 and found:
            touched += int(found.group(1))
            written += int(found.group(2))
        else:
            failed.append((k + 1, proc.returncode))
    if failed:
        for k, code in failed:
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            click.echo(f"error: worker {k}/{workers} stopped ({how})", err=True)
        click.echo(
            f"error: the other workers wrote {written} events for {touched} members; "
            "the run is idempotent: run it again to finish",
            err=True,
        )
        worst = max(code if code > 0 else 3 for _k, code in failed)
        raise click.exceptions.Exit(worst)
    return touched, written
