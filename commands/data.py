"""Moving data: export and import event files, verify the store, feed reporting databases."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import click

from commands.options import DATE, Session, read_only, store_options
from commands.output import check_target, write_atomically
from commands.progress import accepts_progress, plural, progress, track
from commands.progress import shown as progress_shown
from ledger.errors import BadInput
from ledger.eventfile import to_line


@click.command("export", short_help="Write every event to a JSON-lines file (- for stdout).")
@click.argument("file", metavar="FILE.jsonl")
@click.option("--force", is_flag=True, help="Replace FILE.jsonl if it exists.")
@read_only
@store_options
def export_events(session: Session, file: str, force: bool) -> None:
    """Write every event, in recording order, to a JSON-lines file (`-`: standard output).

    The file is written beside its target and renamed at the end (never a half file),
    readable by its owner only; an existing file is replaced only with --force, and
    never the store itself.

    \b
    Example:
      zorgkas export backup.jsonl
    """
    ledger = session.ledger
    total = ledger.count_events() if progress_shown() else None
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        with progress("export", total, unit="events") as advance:
            for e in ledger.scan():
                count += 1
                advance()
                yield json.dumps(to_line(e), ensure_ascii=False) + "\n"

    if file == "-":
        out = click.open_file("-", "w", encoding="utf-8")
        for line in lines():
            out.write(line)
        out.flush()
        click.echo(f"exported {plural(count, 'event')} to standard output", err=True)
        return
    target = check_target(file, force=force, store_url=session.store_url)
    write_atomically(target, lines())
    click.echo(f"exported {plural(count, 'event')} to {file}")


@click.command("import", short_help="Append the events of a JSON-lines file (- for stdin).")
@click.argument("file", metavar="FILE.jsonl")
@store_options
def import_events(session: Session, file: str) -> None:
    """Append the events of a JSON-lines file (`-`: standard input): all or nothing.

    Every line is checked first; one bad line names its number and nothing is written.

    \b
    Example:
      zorgkas import takeover-2019.jsonl
    """
    stamp = session.stamp()
    if file == "-":
        handle = click.open_file("-", "rb")
        total = None
    else:
        try:
            handle = open(file, "rb")  # noqa: SIM115 - closed below
            total = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            raise BadInput("FILE", file, f"cannot be read ({exc.strerror or exc})") from None
    with handle:
        lines = track(handle, "import", total, unit="bytes", size=len)
        events, members = session.ledger.import_lines(lines, stamp.today, stamp.recorded_at)
    source = "standard input" if file == "-" else file
    click.echo(f"imported {plural(events, 'event')} for {plural(members, 'member')} from {source}")


@click.command()
@read_only
@store_options
def verify(session: Session) -> None:
    """Check every member's hash chain; exit 1 naming the first tampered event.

    \b
    Example:
      zorgkas verify
    """
    # The check runs inside the store: the bar pulses until it takes `progress=`.
    with progress("verify", None, unit="events") as advance:
        check = session.ledger.verify
        problems = list(check(progress=advance) if accepts_progress(check) else check())
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
@read_only
@store_options
def report(session: Session, target: str, rebuild: bool, as_of: object, with_insz: bool) -> None:
    """Feed the projections into a reporting database (incremental).

    \b
    Example:
      zorgkas report --to reporting.sqlite
    """
    from projections.reporting import export_report

    # The export runs inside the reporting module: the bar pulses until it takes `progress=`.
    with progress("report", None, unit="members") as advance:
        hook = {"progress": advance} if accepts_progress(export_report) else {}
        summary = export_report(
            session.ledger,
            target,
            rebuild=rebuild,
            as_of=as_of or session.today,  # type: ignore[arg-type]
            with_insz=with_insz,
            **hook,
        )
    click.echo(summary)


@click.command("serve-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--port", default=8001, show_default=True, help="The local port Datasette listens on.")
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
      zorgkas report --to reporting.sqlite
      zorgkas serve-report reporting.sqlite
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
