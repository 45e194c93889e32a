"""Writing facts: register, move, allowance, affiliate, pay, switch, exempt, budget, appeal,
and the corrections (correct-registration, reverse-payment, retract, death). Each appends events; ``--on`` is
the effective date. Nothing is written when a rule refuses (exit 1) or input is bad (2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import click

from commands.options import (
    BANK_REF,
    DATE,
    EURO,
    EVENT_ID,
    EVIDENCE,
    FUND,
    HEALTH_FUND,
    INSZ,
    OGM,
    REASON,
    YEAR,
    Session,
    store_options,
)
from ledger import events as ev
from ledger.identity import coded_birth_date
from ledger.member import Member
from ledger.money import euro

REGION = click.Choice(list(ev.REGIONS), case_sensitive=False)
SITUATION = click.Choice(list(ev.SITUATIONS), case_sensitive=False)


def _write(session: Session, insz: str, decide: Callable[[Member], list[ev.Event]]) -> list[ev.Event]:
    return session.ledger.change(insz, decide)


def _report(written: list[ev.Event]) -> None:
    for e in written:
        click.echo(f"{e.type} {e.insz} on {e.on.isoformat()} (event {e.originator_version}, id {e.id})")


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--born", type=DATE, required=True, help="Birth date.")
@click.option("--region", type=REGION, required=True, help="Region of residence.")
@click.option("--health-fund", type=HEALTH_FUND, required=True, help="CM|NZV|SOM|LZ|OZ|NONE.")
@click.option(
    "--situation", type=SITUATION, default="resident", show_default=True, help="The exceptions of R-OBL-3..6."
)
@click.option(
    "--resident-since",
    type=DATE,
    default=None,
    help="When the current residence began (default: --on); R-ELIG-1 counts from it.",
)
@click.option("--on", type=DATE, default=None, help="Effective date (default: today).")
@store_options
def register(
    session: Session,
    insz: str,
    born: date,
    region: str,
    health_fund: str,
    situation: str,
    resident_since: date | None,
    on: date | None,
) -> None:
    """Make a person known to the ledger (R-OBL-1..7).

    \b
    Example:
      zorgkas register 98010110389 --born 1998-01-01 --region flanders \\
          --health-fund CM --on 2024-01-02
    """
    day = on or session.today
    _report(
        _write(
            session,
            insz,
            lambda m: m.register(
                session.stamp(),
                born=born,
                region=region.lower(),
                health_fund=health_fund,
                situation=situation.lower(),
                resident_since=resident_since,
                on=day,
            ),
        )
    )
    coded = coded_birth_date(insz)
    if coded is not None and coded != born:
        # A note, not a refusal: the birth date the population register gives is the one
        # that counts (R-OBL-1), and an INSZ keeps the date it was issued with.
        click.echo(
            f"note: {insz} codes the birth date {coded.isoformat()}, recorded as --born "
            f"{born.isoformat()}; if that was typed wrongly, `zorgkas correct-registration` fixes it",
            err=True,
        )


@click.command("correct-registration")
@click.argument("insz", type=INSZ)
@click.option("--born", type=DATE, default=None, help="The right birth date.")
@click.option(
    "--resident-since",
    type=DATE,
    default=None,
    help="The right start of the registered residence (R-ELIG-1 counts from it).",
)
@click.option("--reason", type=REASON, required=True, help="Why the registration was wrong.")
@store_options
def correct_registration(
    session: Session, insz: str, born: date | None, resident_since: date | None, reason: str
) -> None:
    """Correct the birth date or start of residence of a registration (R-OBL-1).

    The registration stays as recorded; a new event names it and the right values,
    which apply at every --as-of from now on (`retract` the correction to undo it).
    Premiums already claimed stay recorded: one no longer owed (R-PREM-3) is shown as
    such, and money paid on it becomes credit.

    \b
    Example:
      zorgkas correct-registration 98010110389 --born 1998-01-10 \\
          --reason "birth date typed wrongly"
    """
    if born is None and resident_since is None:
        raise click.UsageError("give --born and/or --resident-since: the values to correct")
    written = _write(
        session,
        insz,
        lambda m: m.correct_registration(
            session.stamp(), born=born, resident_since=resident_since, reason=reason
        ),
    )
    for e in written:
        if isinstance(e, ev.RegistrationCorrected):
            values = [f"born {e.born.isoformat()}"] if e.born else []
            if e.resident_since:
                values.append(f"resident since {e.resident_since.isoformat()}")
            click.echo(f"registration of {e.on.isoformat()} corrected: {', '.join(values)}")
    _report(written)


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--region", type=REGION, required=True, help="The new region.")
@click.option(
    "--situation", type=SITUATION, default="resident", show_default=True, help="The new insured situation."
)
@click.option("--on", type=DATE, required=True, help="Day of the move.")
@store_options
def move(session: Session, insz: str, region: str, situation: str, on: date) -> None:
    """Record a move (or a change of insured situation) (R-OBL-1..6).

    \b
    Example:
      zorgkas move 98010110389 --region brussels --on 2025-03-01
    """
    _report(
        _write(
            session,
            insz,
            lambda m: m.move(session.stamp(), region=region.lower(), situation=situation.lower(), on=on),
        )
    )


@click.command()
@click.argument("insz", type=INSZ)
@click.option(
    "--entitled/--not-entitled",
    required=True,
    help="Entitled to the increased allowance (verhoogde tegemoetkoming) or not.",
)
@click.option("--on", type=DATE, required=True, help="From when the status applies.")
@store_options
def allowance(session: Session, insz: str, entitled: bool, on: date) -> None:
    """Record the increased allowance status (R-PREM-1, R-FINE-1).

    A backdated status that changes a recorded premium claim records its adjustment too
    (R-PREM-9).

    \b
    Example:
      zorgkas allowance 98010110389 --entitled --on 2023-01-01
    """
    _report(_write(session, insz, lambda m: m.set_allowance(session.stamp(), entitled=entitled, on=on)))


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--fund", type=FUND, required=True, help="CM|NZV|SOM|LZ|OZ|VZK.")
@click.option("--voluntary", "mode", flag_value="voluntary", help="A voluntary member (R-OBL-2, R-OBL-4).")
@click.option("--early", "mode", flag_value="early", help="Early joining under 26 (R-OBL-7).")
@click.option("--on", type=DATE, required=True, help="Effective date: the day the fund received the request.")
@store_options
def affiliate(session: Session, insz: str, fund: str, mode: str | None, on: date) -> None:
    """Affiliate a person with a care fund directly (R-AFF-1, R-FUND-1).

    \b
    Example:
      zorgkas affiliate 98010110389 --fund CM --on 2024-02-01
    """
    _report(_write(session, insz, lambda m: m.affiliate(session.stamp(), fund=fund, mode=mode, on=on)))


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--amount", type=EURO, required=True, help="Euro: 64, 64.00 or 64,00.")
@click.option("--on", type=DATE, required=True, help="Value date on the fund's account.")
@click.option(
    "--ogm", type=OGM, default=None, help="Structured message of the invitation, e.g. +++123/4567/89002+++."
)
@click.option(
    "--bank-ref", type=BANK_REF, default=None, help="The bank's reference: a re-read one is a duplicate."
)
@click.option(
    "--method",
    type=click.Choice(["transfer", "direct-debit"]),
    default="transfer",
    show_default=True,
    help="How the money came (R-PREM-8: a direct debit pays only its own year).",
)
@click.option("--fine-year", type=YEAR, default=None, help="Pay the fine of this year (R-FINE-1).")
@store_options
def pay(
    session: Session,
    insz: str,
    amount: int,
    on: date,
    ogm: str | None,
    bank_ref: str | None,
    method: str,
    fine_year: int | None,
) -> None:
    """Record a payment (R-PREM-6..8); a first premium makes the payer a member (R-AFF-1).

    \b
    Example:
      zorgkas pay 98010110389 --amount 62,00 --on 2024-03-15 \\
          --bank-ref B-2024-0001 --ogm +++123/4567/89002+++
    """
    written = _write(
        session,
        insz,
        lambda m: m.pay(
            session.stamp(),
            amount_cents=amount,
            on=on,
            ogm=ogm,
            bank_ref=bank_ref,
            method=method,
            fine_year=fine_year,
        ),
    )
    if not written:
        click.echo(f"duplicate: bank reference {bank_ref} was already recorded; nothing written")
        return
    click.echo(f"received {euro(amount)} from {insz} on {on.isoformat()}")
    _report(written)


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--to", "to_fund", type=FUND, required=True, help="The care fund to switch to.")
@click.option("--requested-on", type=DATE, required=True, help="Day the new fund received the form.")
@store_options
def switch(session: Session, insz: str, to_fund: str, requested_on: date) -> None:
    """Request a switch of care fund (R-SW-1, R-SW-2, R-FUND-1).

    \b
    Example:
      zorgkas switch 98010110389 --to VZK --requested-on 2024-11-20
    """
    written = _write(
        session, insz, lambda m: m.switch(session.stamp(), to_fund=to_fund, requested_on=requested_on)
    )
    for e in written:
        if isinstance(e, ev.FundSwitched):
            click.echo(f"switch {e.from_fund} -> {e.to_fund} takes effect on {e.effective.isoformat()}")
    _report(written)


@click.command()
@click.argument("insz", type=INSZ)
@click.option(
    "--reason",
    type=click.Choice(["debt-settlement", "bankruptcy", "insolvency"]),
    required=True,
    help="Why the member is exempt.",
)
@click.option("--from", "start", type=DATE, required=True, help="First day of the exemption.")
@click.option("--until", type=DATE, default=None, help="Last day (may lie in the future).")
@click.option("--evidence", type=EVIDENCE, default="", help="The decision the exemption rests on.")
@store_options
def exempt(session: Session, insz: str, reason: str, start: date, until: date | None, evidence: str) -> None:
    """Record an exemption: no premium, no fine (R-PREM-4, R-FINE-1).

    \b
    Example:
      zorgkas exempt 98010110389 --reason debt-settlement --from 2024-01-10 \\
          --until 2026-12-31
    """
    _report(
        _write(
            session,
            insz,
            lambda m: m.exempt(session.stamp(), reason=reason, start=start, until=until, evidence=evidence),
        )
    )


@click.command()
@click.argument("insz", type=INSZ)
@click.option(
    "--kind",
    type=click.Choice(["severe-dependency", "elderly", "disability"]),
    required=True,
    help="The kind of care budget.",
)
@click.option("--from", "start", type=DATE, required=True, help="First day the budget is paid.")
@click.option("--monthly", type=EURO, required=True, help="Monthly amount in euro.")
@store_options
def budget(session: Session, insz: str, kind: str, start: date, monthly: int) -> None:
    """Grant a monthly care budget to an eligible member (R-ELIG-1..3, R-PREM-5).

    \b
    Example:
      zorgkas budget 98010110389 --kind severe-dependency --from 2025-01-01 \\
          --monthly 135
    """
    _report(
        _write(
            session,
            insz,
            lambda m: m.grant_budget(session.stamp(), kind=kind, start=start, monthly_cents=monthly),
        )
    )


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--fine-year", type=YEAR, required=True, help="The year of the fine appealed against.")
@click.option(
    "--upheld/--rejected", required=True, help="Upheld annuls the fine (R-FINE-2); rejected keeps it."
)
@click.option("--on", type=DATE, required=True, help="Day of the decision.")
@store_options
def appeal(session: Session, insz: str, fine_year: int, upheld: bool, on: date) -> None:
    """Record the decision on an appeal against a fine (R-FINE-2).

    \b
    Example:
      zorgkas appeal 98010110389 --fine-year 2025 --upheld --on 2025-12-01
    """
    _report(
        _write(session, insz, lambda m: m.appeal(session.stamp(), fine_year=fine_year, upheld=upheld, on=on))
    )


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--on", type=DATE, required=True, help="Day of death.")
@store_options
def death(session: Session, insz: str, on: date) -> None:
    """Record a member's death: no premium or fine afterwards (R-PREM-4, R-FINE-1).

    \b
    Example:
      zorgkas death 98010110389 --on 2025-06-30
    """
    _report(_write(session, insz, lambda m: m.die(session.stamp(), on=on)))


@click.command("reverse-payment")
@click.argument("insz", type=INSZ)
@click.option("--bank-ref", type=BANK_REF, required=True, help="The payment to take back.")
@click.option("--on", type=DATE, required=True, help="Day the bank reversed it.")
@click.option(
    "--reason",
    type=REASON,
    default="reversed by the bank",
    show_default=True,
    help="Why the bank took it back.",
)
@store_options
def reverse_payment(session: Session, insz: str, bank_ref: str, on: date, reason: str) -> None:
    """Correct a payment the bank took back; history keeps both (R-PREM-7).

    \b
    Example:
      zorgkas reverse-payment 98010110389 --bank-ref B-2024-0001 --on 2024-04-02
    """
    _report(
        _write(
            session,
            insz,
            lambda m: m.reverse_payment(session.stamp(), bank_ref=bank_ref, on=on, reason=reason),
        )
    )


@click.command()
@click.argument("insz", type=INSZ)
@click.option("--event", "event_id", type=EVENT_ID, required=True, help="Id shown by `history`.")
@click.option("--reason", type=REASON, required=True, help="Why the fact was wrong.")
@store_options
def retract(session: Session, insz: str, event_id: object, reason: str) -> None:
    """Correct a fact recorded wrongly: ignored from now on, kept in history.

    \b
    Example:
      zorgkas retract 98010110389 --event 1b4e28ba-2fa1-11d2-883f-0016d3cca427 \\
          --reason "typed on the wrong member"
    """
    _report(
        _write(
            session,
            insz,
            lambda m: m.retract(
                session.stamp(),
                event_id=event_id,  # type: ignore[arg-type]
                reason=reason,
            ),
        )
    )


@click.command("direct-debit")
@click.argument("insz", type=INSZ)
@click.option("--requested-on", type=DATE, required=True, help="Day the fund received the mandate.")
@click.option("--stop", is_flag=True, help="End the mandate instead (same 15 January rule).")
@store_options
def direct_debit(session: Session, insz: str, requested_on: date, stop: bool) -> None:
    """Record a direct-debit mandate, or its end (R-PREM-8).

    Requested before 15 January: that year's premium is debited (around 1 March);
    later: from the next year; never in the year of joining, never for overdue premiums.

    \b
    Example:
      zorgkas direct-debit 98010110389 --requested-on 2025-01-10
    """
    written = _write(
        session, insz, lambda m: m.direct_debit(session.stamp(), requested_on=requested_on, stop=stop)
    )
    for e in written:
        if isinstance(e, ev.DirectDebitRequested):
            what = "no longer debited" if e.stop else "debited"
            click.echo(f"premiums from {e.first_year} are {what}")
    _report(written)


@click.command("adjust-claim")
@click.argument("insz", type=INSZ)
@click.option("--year", type=YEAR, required=True, help="The premium year whose claim is corrected.")
@click.option("--on", type=DATE, required=True, help="Effective date of the correction.")
@click.option(
    "--reason",
    type=REASON,
    default="schedule value corrected",
    show_default=True,
    help="Why the claim is corrected.",
)
@store_options
def adjust_claim(session: Session, insz: str, year: int, on: date, reason: str) -> None:
    """Correct a recorded premium claim to the current schedule and allowance (R-PREM-9).

    The claim stays as recorded; a new event sets the amount owed from --on. Use it after
    a schedule value was corrected in the parameters. (A backdated `allowance` adjusts
    the claims it changes by itself.)

    \b
    Example:
      zorgkas adjust-claim 98010110389 --year 2020 --on 2025-03-01
    """
    written = _write(
        session, insz, lambda m: m.adjust_claim(session.stamp(), year=year, on=on, reason=reason)
    )
    for e in written:
        if isinstance(e, ev.PremiumAdjusted):
            click.echo(f"claim of {e.year} adjusted to {euro(e.amount_cents)} from {e.on.isoformat()}")
    _report(written)


COMMANDS = [
    register,
    correct_registration,
    move,
    allowance,
    affiliate,
    pay,
    switch,
    exempt,
    budget,
    appeal,
    death,
    reverse_payment,
    retract,
    direct_debit,
    adjust_claim,
]
