"""The yearly runs: invitations, letters, fines, auto-affiliation, cancellations.

Each run streams every member once, lets the member aggregate decide (the rules are
the same as for one member), and writes in batches of many members per transaction.
A run is idempotent: "already done" is decided on everything recorded about the
member, whatever its effective date (one claim, letter, fine, auto-affiliation and
cancellation per member and year), so a second run, with any ``--on``, or a run resumed
after a crash, writes nothing twice. Decision (R-LET-1): a letter run dated after
1 September of its year is refused. A batch that meets a clerk's concurrent change is redone member by
member on the fresh history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import click

from commands.options import DATE, YEAR, Session, store_options
from commands.progress import plural, progress
from commands.progress import shown as progress_shown
from commands.workers import requested, run_parts, worker_options
from ledger import events as ev
from ledger import parameters
from ledger.errors import ConcurrentChange, RuleRefused
from ledger.member import Member, Stamp
from ledger.rules.fines import check_fine_run_date
from ledger.store import Ledger

BATCH = 500

Decide = Callable[[Member, Stamp], list[ev.Event]]


def run_over_members(
    ledger: Ledger, decide: Decide, stamp: Stamp, label: str, part: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Apply ``decide`` to every member (or those of range ``part``, see
    ``commands/workers.py``); returns (members touched, events written)."""
    touched = written = 0
    batch: list[tuple[Member, list[ev.Event]]] = []

    def flush() -> None:
        nonlocal touched, written
        try:
            stored = ledger.append_many(batch)
            touched += sum(1 for _m, new in batch if new)
            written += len(stored)
        except ConcurrentChange:
            for member, _new in batch:
                again = ledger.change(member.insz, lambda m: decide(m, stamp))
                touched += 1 if again else 0
                written += len(again)
        batch.clear()

    # The bar counts events (their total is one cheap query) and shows the members seen.
    total = ledger.count_events() if progress_shown() else None
    seen = 0
    with progress(label, total, unit="events") as advance:
        for member in ledger.members(part):
            new = decide(member, stamp)
            if new:
                batch.append((member, new))
            if len(batch) >= BATCH:
                flush()
            seen += 1
            advance(len(member.events), note=f"· {plural(seen, 'member')}")
        if batch:
            flush()
    return touched, written


def _run_day(session: Session, on: date | None, field: str = "--on") -> date:
    day = on or session.today
    session.stamp().check_not_future(field, day)
    return day


def _run_and_report(session: Session, name: str, year: int, day: date, decide: Decide, rules: str) -> None:
    """Run ``decide`` over every member and print the contract's one-line summary.

    With ``--workers N`` the members are run by N processes of this command with
    ``--part I/N``, at this command's clock; the summary adds up theirs."""
    workers, part = requested()
    if workers > 1:
        stamp = session.stamp()
        argv = ["run", name, "--year", str(year), "--on", day.isoformat()]
        env = {
            "ZORGKAS_STORE": session.store_url,  # in the environment: a password stays out of `ps`
            "ZORGKAS_CLERK": session.clerk,
            "ZORGKAS_NOW": stamp.recorded_at.isoformat(),
            "ZORGKAS_TODAY": stamp.today.isoformat(),
        }
        touched, written = run_parts(argv, workers, env)
    else:
        touched, written = run_over_members(session.ledger, decide, session.stamp(), name, part)
    click.echo(
        f"{name} {year} on {day.isoformat()}: {plural(touched, 'member')} touched, "
        f"{plural(written, 'event')} written ({rules})"
    )


def _check_year(year: int, day: date, earliest: date, rule: str, what: str) -> None:
    if day < earliest:
        raise RuleRefused(rule, f"{what} for {year} cannot be dated {day}: not before {earliest}")


@click.group()
def run() -> None:
    """The yearly runs (batch, idempotent: a second run writes nothing new)."""


@run.command()
@click.option("--year", type=YEAR, required=True, help="The premium year to invite.")
@click.option("--on", type=DATE, default=None, help="Day the invitations are sent (default: today).")
@store_options
@worker_options
def invitations(session: Session, year: int, on: date | None) -> None:
    """Record the premium claims of YEAR: the payment invitations (R-PREM-1..5, R-PREM-9).

    Each claim carries the amount, reduced or not, and the schedule value's source, as
    the parameters give them now; a year without schedule is refused. A member whose
    care budget runs on 1 April gets the budget deduction instead, recorded by a run on
    or after that day (run again then: a second run writes nothing twice).

    \b
    Example:
      zorgkas run invitations --year 2025 --on 2025-01-15
    """
    day = _run_day(session, on)
    _check_year(year, day, date(year - 1, 1, 1), "R-PREM-2", "invitations")
    parameters.premium(year)  # a year missing from the schedule is refused up front
    _run_and_report(
        session, "invitations", year, day, lambda m, s: m.invite(s, year=year, on=day), "R-PREM-1..5"
    )


@run.command()
@click.option("--year", type=YEAR, required=True, help="The year of the letters.")
@click.option("--on", type=DATE, default=None, help="Day the letters are sent (default: today).")
@store_options
@worker_options
def letters(session: Session, year: int, on: date | None) -> None:
    """Send the registered letters of YEAR (R-LET-1).

    \b
    Example:
      zorgkas run letters --year 2025 --on 2025-08-20
    """
    day = _run_day(session, on)
    _check_year(year, day, date(year, 1, 1), "R-LET-1", "letters")
    deadline = parameters.letter_deadline(year)
    if day > deadline:
        raise RuleRefused(
            "R-LET-1",
            f"the registered letters of {year} are sent by {deadline}: a run dated {day} is too late; "
            f"the unpaid premiums count for the letters of {year + 1}",
        )
    _run_and_report(
        session, "letters", year, day, lambda m, s: m.send_letter(s, year=year, on=day), "R-LET-1"
    )


@run.command()
@click.option("--year", type=YEAR, required=True, help="The year of the letters to fine.")
@click.option("--on", type=DATE, default=None, help="Day the fines are imposed (default: today).")
@store_options
@worker_options
def fines(session: Session, year: int, on: date | None) -> None:
    """Impose the fines for the unpaid letters of YEAR; refused before 5 October (R-FINE-1).

    \b
    Example:
      zorgkas run fines --year 2025 --on 2025-10-20
    """
    day = _run_day(session, on)
    check_fine_run_date(year, day)
    _run_and_report(session, "fines", year, day, lambda m, s: m.impose_fine(s, year=year, on=day), "R-FINE-1")


@run.command("auto-affiliation")
@click.option("--year", type=YEAR, required=True, help="The first obligation year to affiliate for.")
@click.option("--on", type=DATE, default=None, help="Effective day (default: 1 July of YEAR).")
@store_options
@worker_options
def auto_affiliation(session: Session, year: int, on: date | None) -> None:
    """Affiliate with the Vlaamse Zorgkas everyone obliged but not affiliated on 1 July (R-AFF-3).

    \b
    Example:
      zorgkas run auto-affiliation --year 2025
    """
    first_day = parameters.auto_affiliation_day(year)
    if on is None and session.today < first_day:
        raise RuleRefused(
            "R-AFF-3",
            f"the auto-affiliation of {year} runs from {first_day}: "
            "until then people may still join themselves",
        )
    day = on or first_day
    _check_year(year, day, first_day, "R-AFF-3", "auto-affiliation")
    session.stamp().check_not_future("--on", day)
    decide: Decide = lambda m, s: m.auto_affiliate(s, year=year, on=day)  # noqa: E731
    _run_and_report(session, "auto-affiliation", year, day, decide, "R-AFF-3")


@run.command()
@click.option("--year", type=YEAR, required=True, help="The year whose unpaid premiums count.")
@click.option(
    "--on", type=DATE, default=None, help="Day of the run (default: today, or 31 December of a past YEAR)."
)
@store_options
@worker_options
def cancellations(session: Session, year: int, on: date | None) -> None:
    """Cancel voluntary members who failed to pay twice (R-AFF-4).

    \b
    Example:
      zorgkas run cancellations --year 2025
    """
    today = session.today
    day = on or (today if today.year <= year else date(year, 12, 31))
    session.stamp().check_not_future("--on", day)
    _check_year(year, day, date(year, 1, 1), "R-AFF-4", "cancellations")
    _run_and_report(
        session, "cancellations", year, day, lambda m, s: m.cancel(s, year=year, on=day), "R-AFF-4"
    )
