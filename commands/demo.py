"""``zorgkas demo``: load the sample histories of ``fixtures/samples`` and show their status."""

from __future__ import annotations

import json
from importlib import resources

import click

from commands.options import Session, store_options
from projections.status import status_json


@click.command()
@store_options
def demo(session: Session) -> None:
    """Load sample members (fixtures/samples) into the store and show their status.

    \b
    Example:
      zorgkas demo --store demo.sqlite
    """
    text = resources.files("fixtures").joinpath("samples/members.jsonl").read_text(encoding="utf-8")
    stamp = session.stamp()
    ledger = session.ledger
    if ledger.max_position() == 0:
        events, members = ledger.import_lines(text.splitlines(), stamp.today, stamp.recorded_at)
        click.echo(f"loaded {events} sample events for {members} members into {session.store_url}")
    else:
        click.echo(f"{session.store_url} already holds events; showing them")
    for member in ledger.members():
        data = status_json(member.insz, member.events, stamp.today, None)
        click.echo(
            json.dumps(
                {
                    k: data[k]
                    for k in (
                        "insz",
                        "as_of",
                        "obligation",
                        "affiliated",
                        "fund",
                        "kind",
                        "affiliated_since",
                        "joined_on_time",
                        "eligible",
                        "eligible_from",
                        "arrears",
                        "credit_cents",
                    )
                }
            )
        )
