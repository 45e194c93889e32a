"""``zorgkas demo``: load the sample histories of ``fixtures/samples`` and show their status.

The members are shown as a table a person reads (euro, dates, words); ``--json`` prints
one ``status --json`` object a line instead, for scripts.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from importlib import resources
from typing import Any

import click

from commands.options import Session, json_option, store_options
from projections.status import status_json
from projections.wording import and_list, eur, yes_no

KEYS = (
    "insz", "as_of", "obligation", "affiliated", "fund", "kind", "affiliated_since", "joined_on_time",
    "eligible", "eligible_from", "arrears", "credit_cents",
)  # fmt: skip


def _table(rows: list[dict[str, Any]], as_of: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Sample members on {as_of}", title_justify="left", header_style="bold")
    for name, justify in (
        ("INSZ", "left"), ("Obligation", "left"), ("Care fund", "left"), ("Since", "left"),
        ("On time", "left"), ("Care budget", "left"), ("Premiums due", "right"), ("Unpaid years", "left"),
        ("Fines due", "right"), ("Credit", "right"),
    ):  # fmt: skip
        # The two long cells wrap within a width of their own, so that a table of 140
        # columns keeps the short ones ("CM (compulsory)") on one line.
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=name in ("INSZ", "Since"),
            max_width={"Care budget": 12, "Unpaid years": 16}.get(name),
        )
    for d in rows:
        arrears = d["arrears"]
        budget = yes_no(d["eligible"]) + (f", from {d['eligible_from']}" if d["eligible_from"] else "")
        table.add_row(
            d["insz"],
            d["obligation"],
            f"{d['fund']} ({d['kind']})" if d["fund"] else "not affiliated",
            d["affiliated_since"] or "—",
            yes_no(d["joined_on_time"], "—"),
            budget,
            eur(arrears["premiums_cents"]),
            and_list(arrears["unpaid_years"]) if arrears["unpaid_years"] else "—",
            eur(arrears["fines_cents"]),
            eur(d["credit_cents"]),
        )
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 140)
    console.print(table)


def known_by(lines: list[str], today: date, now: str) -> list[str]:
    """The sample lines a fund could know on ``today``: effective and recorded by then.

    The samples run into 2026; on a clock set earlier (``ZORGKAS_TODAY``) the demo shows
    the members as the fund knew them that day instead of refusing events from its
    future. A member's history is cut at the same day, so what is kept is consistent.
    """
    kept = []
    for line in lines:
        fields = json.loads(line)
        if fields["on"] <= today.isoformat() and fields["recorded_at"] <= now:
            kept.append(line)
    return kept


@click.command()
@json_option
@store_options
def demo(session: Session, as_json: bool) -> None:
    """Load sample members (fixtures/samples) into the store and show their status.

    \b
    Example:
      zorgkas demo --store demo.sqlite
    """
    text = resources.files("fixtures").joinpath("samples/members.jsonl").read_text(encoding="utf-8")
    stamp = session.stamp()
    ledger = session.ledger
    if ledger.max_position() == 0:
        lines = known_by(text.splitlines(), stamp.today, stamp.recorded_at.isoformat())
        events, members = ledger.import_lines(lines, stamp.today, stamp.recorded_at) if lines else (0, 0)
        later = len(text.splitlines()) - len(lines)
        click.echo(
            f"loaded {events} sample events for {members} members into {session.store_url}"
            + (f" ({later} sample events dated after today left out)" if later else "")
        )
    else:
        click.echo(f"{session.store_url} already holds events; showing them")
    rows = []
    for member in ledger.members():
        data = status_json(member.insz, member.events, stamp.today, None)
        rows.append({k: data[k] for k in KEYS})
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    _table(rows, stamp.today.isoformat())
