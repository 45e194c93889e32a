"""Asking questions: status, history, explain — each as of an effective date and as
known at a recorded moment (``--as-of``, ``--known-on``)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from commands.options import INSZ, Session, as_of_options, json_option, store_options
from ledger import events as ev
from ledger.eventfile import to_line
from ledger.history import History
from ledger.money import euro
from projections.explain import render, trace_json
from projections.status import Status, status_of


def _status(session: Session, insz: str, as_of: date | None, known_on: datetime | None) -> Status:
    return status_of(insz, session.ledger.load(insz).events, as_of or session.today, known_on)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, sort_keys=False))


@click.command()
@click.argument("insz", type=INSZ)
@as_of_options
@json_option
@store_options
def status(session: Session, insz: str, as_of: date | None, known_on: datetime | None, as_json: bool) -> None:
    """Show a member's obligation, affiliation, eligibility and arrears.

    \b
    Example:
      zorgkas status 98010112345 --as-of 2025-09-01 --json
    """
    data = _status(session, insz, as_of, known_on).to_json()
    if as_json:
        _dump(data)
        return
    arrears = data["arrears"]
    click.echo(f"{data['insz']} on {data['as_of']}: {data['obligation']} ({data['obligation_rule']})")
    if data["affiliated"]:
        click.echo(
            f"  member of {data['fund']} ({data['kind']}) since {data['affiliated_since']}; "
            f"joined on time: {data['joined_on_time']}"
        )
    else:
        click.echo("  not affiliated")
    click.echo(
        f"  eligible for a care budget: {data['eligible']} (from {data['eligible_from']}; "
        f"{', '.join(data['eligibility_rules'])})"
    )
    click.echo(
        f"  owes {euro(arrears['total_cents'])}: premiums {euro(arrears['premiums_cents'])} "
        f"{arrears['unpaid_years']}, fines {euro(arrears['fines_cents'])}; "
        f"credit {euro(data['credit_cents'])}"
    )
    for letter in data["letters"]:
        click.echo(f"  letter {letter['year']} sent {letter['sent_on']} for {letter['premium_years']}")
    for fine in data["fines"]:
        click.echo(f"  fine {fine['year']}: {euro(fine['amount_cents'])} {fine['status']}")
    if data["pending_switch"]:
        click.echo(f"  switching to {data['pending_switch']['to']} on {data['pending_switch']['effective']}")


@click.command()
@click.argument("insz", type=INSZ)
@as_of_options
@json_option
@store_options
def history(
    session: Session, insz: str, as_of: date | None, known_on: datetime | None, as_json: bool
) -> None:
    """List a member's events (effective by --as-of, recorded by --known-on).

    \b
    Example:
      zorgkas history 98010112345 --known-on 2025-08-20T12:00:00
    """
    member = session.ledger.load(insz)
    day = as_of or session.today
    known = [e for e in member.events if known_on is None or e.recorded_at <= known_on]
    shown = [e for e in known if e.on <= day or isinstance(e, ev.Registered)]
    if not member.is_registered:
        History.view(insz, [], day).check_registered()
    if as_json:
        _dump([{**to_line(e), "version": e.originator_version} for e in shown])
        return
    retracted = {e.target_id for e in known if isinstance(e, ev.EventRetracted)}
    reversed_on = {e.payment_id: e.on for e in known if isinstance(e, ev.PaymentReversed) and e.on <= day}
    for e in shown:
        fields = {
            k: v
            for k, v in to_line(e).items()
            if k not in ("type", "insz", "on", "recorded_at", "clerk", "id")
        }
        mark = "  [retracted]" if e.id in retracted else ""
        if e.id in reversed_on:
            mark += f"  [reversed on {reversed_on[e.id].isoformat()}]"
        click.echo(
            f"#{e.originator_version} {e.on.isoformat()} {e.type} {json.dumps(fields)} "
            f"(recorded {e.recorded_at.isoformat()} by {e.clerk}; id {e.id}){mark}"
        )


@click.command()
@click.argument("insz", type=INSZ)
@as_of_options
@json_option
@store_options
def explain(
    session: Session, insz: str, as_of: date | None, known_on: datetime | None, as_json: bool
) -> None:
    """Explain, in plain words, how each figure of `status` follows from the events.

    \b
    Example:
      zorgkas explain 98010112345 --as-of 2025-09-01
    """
    st = _status(session, insz, as_of, known_on)
    if as_json:
        _dump(trace_json(st))
    else:
        click.echo(render(st))


COMMANDS = [status, history, explain]
