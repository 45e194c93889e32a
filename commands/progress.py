"""Progress of long commands: a bar on stderr when stderr is a terminal, silence otherwise.

One helper for every long command (import, export, report, verify, the yearly runs), so
they all look alike: what is done of the total, the rate, the time left. Scripts and
pipes see nothing of it: the one-line summary of a command stays on stdout.

    with progress("export", total=n, unit="events") as advance:
        for e in events:
            ...
            advance()          # or advance(k) for k units at once

    for line in track(lines, total=size, label="import", unit="bytes", size=len): ...

Without a total (``total=None``) the bar pulses and shows the count and the rate.

A loop that lives outside ``commands/`` (the store's verification, the reporting
export) can take a ``progress`` keyword: it is given ``advance`` and calls
``progress(0, total=N)`` once it knows its total, then ``progress(k)`` for every k
units done. The command passes it whenever the function accepts it
(``accepts_progress``), so the bar gets its total, rate and time left.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

Advance = Callable[..., None]


def shown() -> bool:
    """A bar only on a terminal (and never when ZORGKAS_PROGRESS=0)."""
    if os.environ.get("ZORGKAS_PROGRESS") == "0":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def plural(count: int, noun: str) -> str:
    """'1 member', '2 members' (the summary lines of the long commands)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _columns(unit: str) -> list[Any]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} {unit}/s".replace(",", "."), style="cyan")

    if unit == "bytes":
        counted: list[Any] = [DownloadColumn(), TransferSpeedColumn()]
    else:
        counted = [MofNCompleteColumn(), TextColumn(unit), Rate()]
    return [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        *counted,
        TextColumn("{task.fields[note]}"),  # e.g. "· 120 members"
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    ]


@contextmanager
def progress(label: str, total: int | None = None, unit: str = "members") -> Iterator[Advance]:
    """A bar for ``label``; yields ``advance(n=1, note=None)``. Quiet when not on a terminal."""
    if not shown():
        yield lambda *_a, **_k: None
        return
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(*_columns(unit), console=Console(file=sys.stderr), transient=False)
    task = bar.add_task(label, total=total, note="")

    def advance(n: int = 1, note: str | None = None, total: int | None = None) -> None:
        changes: dict[str, Any] = {"advance": n}
        if note is not None:
            changes["note"] = note
        if total is not None:  # a loop that learns its total only once it starts
            changes["total"] = total
        bar.update(task, **changes)

    bar.start()
    try:
        yield advance
        done = bar.tasks[0].total
        if done is not None:
            bar.update(task, completed=done)
    finally:
        bar.stop()


def accepts_progress(fn: Callable[..., Any]) -> bool:
    """Whether a loop owned elsewhere takes ``progress=advance`` (see ``progress``)."""
    import inspect

    try:
        return "progress" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def track(
    items: Iterable[T],
    label: str,
    total: int | None = None,
    unit: str = "members",
    size: Callable[[T], int] | None = None,
) -> Iterator[T]:
    """``items`` unchanged, advancing the bar by one (or ``size(item)``) per item."""
    with progress(label, total, unit) as advance:
        for item in items:
            yield item
            advance(size(item) if size else 1)
