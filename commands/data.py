"""Moving data: export and import event files, verify the store, feed reporting databases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from commands.options import DATE, PORT, Session, store_options
from ledger.errors import BadInput
from ledger.eventfile import to_line


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@store_options
def export_events(session: Session, file: str) -> None:
    """Write every event, in recording order, to a JSON-lines file.

    \b
    Example:
      zorgkas export backup.jsonl
    """
    count = 0
    try:
        out = open(file, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BadInput("FILE", file, f"cannot be written ({exc.strerror})") from None
    with out:
        for e in session.ledger.scan():
            out.write(json.dumps(to_line(e), ensure_ascii=False) + "\n")
            count += 1
    click.echo(f"exported {count} events to {file}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@store_options
def import_events(session: Session, file: str) -> None:
    """Append the events of a JSON-lines file: every line checked, all or nothing.

    \b
    Example:
      zorgkas import takeover-2019.jsonl
    """
    stamp = session.stamp()
    try:
        handle = open(file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BadInput("FILE", file, f"cannot be read ({exc.strerror or exc})") from None
    with handle:
        events, members = session.ledger.import_lines(handle, stamp.today, stamp.recorded_at)
    click.echo(f"imported {events} events for {members} members from {file}")


@click.command()
@store_options
def verify(session: Session) -> None:
    """Check every member's hash chain; exit 1 naming the first tampered event.

    \b
    Example:
      zorgkas verify
    """
    problems = list(session.ledger.verify())
    if problems:
        for p in problems:
            click.echo(f"tampered: {p}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"verified {session.ledger.count_events()} events: every hash chain intact")


@click.command()
@click.option("--to", "target", required=True, metavar="FILE|URL", help="reporting.sqlite or postgresql://…")
@click.option("--rebuild", is_flag=True, help="Drop the reporting tables and start over.")
@click.option("--as-of", type=DATE, default=None, help="A reproducible extract as of this date.")
@click.option("--with-insz", is_flag=True, help="Include INSZ numbers (internal use only).")
@store_options
def report(session: Session, target: str, rebuild: bool, as_of: object, with_insz: bool) -> None:
    """Feed the projections into a reporting database (incremental).

    \b
    Example:
      zorgkas report --to reporting.sqlite
    """
    from projections.reporting import export_report

    summary = export_report(
        session.ledger,
        target,
        rebuild=rebuild,
        as_of=as_of or session.today,  # type: ignore[arg-type]
        with_insz=with_insz,
    )
    click.echo(summary)


@click.command("serve-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--port", type=PORT, default=8001, show_default=True)
@click.option(
    "--metadata-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Only write the Datasette metadata to this file.",
)
def serve_report(file: str, port: int, metadata_out: str | None) -> None:
    """Open a reporting database in Datasette, with titles, queries and a dashboard.

    \b
    Example:
      zorgkas report --to reporting.sqlite && zorgkas serve-report reporting.sqlite
    """
    import subprocess
    import sys
    import tempfile

    from projections.datasette import metadata

    meta = metadata(Path(file).stem)
    if metadata_out:
        Path(metadata_out).write_text(json.dumps(meta, indent=2))
        click.echo(f"wrote {metadata_out}")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(meta, f)
    cmd = [sys.executable, "-m", "datasette", file, "-m", f.name, "--port", str(port)]
    raise click.exceptions.Exit(subprocess.call(cmd))


COMMANDS = [export_events, import_events, verify, report, serve_report]
