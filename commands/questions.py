"""Asking questions: status, history, explain — each as of an effective date and as
known at a recorded moment (``--as-of``, ``--known-on``)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from commands.options import INSZ, Session, as_of_options, json_option, read_only, store_options
from ledger.history import History
from projections.status import Status, status_of
from projections.wording import and_list, day, eur, mandate, yes_no


def _status(session: Session, insz: str, as_of: date | None, known_on: datetime | None) -> Status:
    return status_of(insz, session.ledger.load(insz).events, as_of or session.today, known_on)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, sort_keys=False))


def status_lines(data: dict[str, Any]) -> list[str]:
    """``status`` in words: the figures of the JSON, in euro and dates, no Python literals."""
    from projections import timeline  # here: ``status --json`` words nothing

    arrears = data["arrears"]
    as_of = date.fromisoformat(data["as_of"])
    lines = [f"{data['insz']} on {day(as_of)}: {data['obligation']} ({data['obligation_rule']})"]
    if data["affiliated"]:
        lines.append(
            f"  member of {timeline.fund_label(data['fund'])}, {data['kind']}, "
            f"since {data['affiliated_since']}; "
            f"joined on time: {yes_no(data['joined_on_time'], 'not decided yet')}"
        )
    else:
        lines.append("  not affiliated")
    since = f"from {data['eligible_from']}" if data["eligible_from"] else "no date yet"
    lines.append(
        f"  eligible for a care budget: {yes_no(data['eligible'])} "
        f"({since}; {', '.join(data['eligibility_rules'])})"
    )
    unpaid = f" ({and_list(arrears['unpaid_years'])})" if arrears["unpaid_years"] else ""
    lines.append(
        f"  owes {eur(arrears['total_cents'])}: premiums {eur(arrears['premiums_cents'])}{unpaid}, "
        f"fines {eur(arrears['fines_cents'])}; credit {eur(data['credit_cents'])}"
    )
    if data.get("unclaimed_years"):
        lines.append(f"  never claimed: {and_list(data['unclaimed_years'])} (R-PREM-9)")
    if data.get("direct_debit"):
        lines.append(f"  direct debit: {mandate(data['direct_debit'])}")
    for letter in data["letters"]:
        lines.append(
            f"  letter {letter['year']} sent {letter['sent_on']} for {and_list(letter['premium_years'])}"
        )
    for fine in data["fines"]:
        lines.append(f"  fine {fine['year']}: {eur(fine['amount_cents'])} {fine['status']}")
    if data["pending_switch"]:
        lines.append(
            f"  switching to {data['pending_switch']['to']} on {data['pending_switch']['effective']}"
        )
    return lines


@click.command(short_help="A member's obligation, affiliation, eligibility and arrears.")
@click.argument("insz", type=INSZ)
@as_of_options
@json_option
@read_only
@store_options
def status(session: Session, insz: str, as_of: date | None, known_on: datetime | None, as_json: bool) -> None:
    """Show a member's obligation, affiliation, eligibility and arrears.

    \b
    Example:
      zorgkas status 98010110389 --as-of 2025-09-01 --json
    """
    data = _status(session, insz, as_of, known_on).to_json()
    if as_json:
        _dump(data)
        return
    click.echo("\n".join(status_lines(data)))


@click.command(short_help="A member's events in words, by effective date.")
@click.argument("insz", type=INSZ)
@as_of_options
@click.option(
    "--recorded", "by_recorded", is_flag=True, help="Order by recorded time instead of effective date."
)
@json_option
@read_only
@store_options
def history(
    session: Session,
    insz: str,
    as_of: date | None,
    known_on: datetime | None,
    by_recorded: bool,
    as_json: bool,
) -> None:
    """List a member's events, one line each, by effective date (--recorded: by recorded time).

    Each line gives the effective date, what happened, and when it was recorded by whom;
    a reversed payment, a retracted fact and a fine annulled on appeal carry a mark.
    --json prints the events in the order they were recorded, with the same marks.

    \b
    Example:
      zorgkas history 98010110389 --known-on 2025-08-20T12:00:00
    """
    from projections import timeline  # here, not at the top: ``status`` never needs it

    member = session.ledger.load(insz)
    as_of_day = as_of or session.today
    if not member.is_registered or known_on is not None:
        # Refused (R-OBL-1) as status and explain refuse: unknown, or not yet known at ``known_on``.
        History.view(insz, member.events, as_of_day, known_on).check_registered()
    found = timeline.entries(member.events, as_of_day, known_on, by_recorded=by_recorded)
    if as_json:
        # Scripts read the stream as it was recorded: the JSON keeps version order.
        _dump([timeline.to_json(x) for x in sorted(found, key=lambda x: x.event.originator_version)])
        return
    click.echo(timeline.render(found))


@click.command(short_help="How each figure of status follows from the events.")
@click.argument("insz", type=INSZ)
@as_of_options
@json_option
@read_only
@store_options
def explain(
    session: Session, insz: str, as_of: date | None, known_on: datetime | None, as_json: bool
) -> None:
    """Explain, in plain words, how each figure of `status` follows from the events.

    Each premium with its claim, what was paid and what is still due; where each payment
    went and why; letters, fines, eligibility; each with its rule and public source.

    \b
    Example:
      zorgkas explain 98010110389 --as-of 2025-09-01
    """
    from projections.explain import render, trace_json  # here: ``status`` never needs it

    st = _status(session, insz, as_of, known_on)
    if as_json:
        _dump(trace_json(st))
    else:
        click.echo(render(st))


@click.command(short_help="A case dossier (HTML, with a timeline picture) for a dispute.")
@click.argument("insz", type=INSZ)
@as_of_options
@click.option(
    "--out", "out", required=True, metavar="FILE.html", help="The HTML file to write (-: standard output)."
)
@click.option("--force", is_flag=True, help="Replace FILE.html if it exists.")
@read_only
@store_options
def dossier(
    session: Session, insz: str, as_of: date | None, known_on: datetime | None, out: str, force: bool
) -> None:
    """Write a case dossier: status, timeline picture, explanation and events, in one HTML file.

    With --known-on, the dossier also shows what differed between what the fund knew
    then and what it knows now. The file needs no network: inline style and picture only.

    \b
    Example:
      zorgkas dossier 98010110389 --as-of 2024-12-31 --known-on 2024-10-01 \\
          --out dossier.html
    """
    from commands.output import check_target, write_atomically  # here: pathlib, not for status
    from projections import dossier as pages

    target = None
    if out != "-":
        target = check_target(out, force=force, store_url=session.store_url, field="--out")
    events = session.ledger.load(insz).events
    page = pages.render(insz, events, as_of or session.today, known_on, session.now)
    if target is None:
        click.echo(page, nl=False)
        return
    write_atomically(target, [page], field="--out")
    click.echo(f"wrote the dossier of {insz} to {out}")


COMMANDS = [status, history, explain, dossier]
