"""Moving data: export and import event files, verify the store, feed reporting databases."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import click

from commands.options import DATE, DATETIME, PORT, Session, read_only, store_options
from commands.output import check_target, write_atomically
from commands.progress import accepts_progress, plural, progress
from commands.progress import shown as progress_shown
from commands.workers import CountType
from ledger.errors import BadInput
from ledger.eventfile import EventFile, to_line
from ledger.store import Problem


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
@click.option(
    "--workers",
    type=CountType(64),
    default=None,
    help="Processes that check and seal the events (default: one per core for a file of 20 MB or more).",
)
@store_options
def import_events(session: Session, file: str, workers: int | None) -> None:
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
    with handle, progress("import", total, unit="bytes") as advance:
        # Lines are read bounded (at most one line's limit at a time: `import /dev/zero`
        # stops); the import's workers read a regular file by themselves.
        lines = EventFile(handle, advance if progress_shown() else None)
        from ledger.pipeline import workers_for

        n = workers_for(workers, total)
        events, members = session.ledger.import_lines(lines, stamp.today, stamp.recorded_at, n, total)
    source = "standard input" if file == "-" else file
    click.echo(f"imported {plural(events, 'event')} for {plural(members, 'member')} from {source}")


@click.command()
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also prove nothing recorded before this signed checkpoint changed.",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    default=None,
    help="The auditor's public key (signing.pub) that signed the checkpoint.",
)
@read_only
@store_options
def verify(session: Session, checkpoint_file: str | None, public_key: str | None) -> None:
    """Check every member's sealed chain; exit 1 naming the first tampered event.

    With --checkpoint and --public-key it also proves, without any secret, that no event
    recorded before the checkpoint was changed, removed, reordered or truncated.

    \b
    Example:
      zorgkas verify --checkpoint 2024-12.checkpoint \\
          --public-key auditor/signing.pub
    """
    from ledger import checkpoint, seal

    for flag, given in (("--checkpoint", checkpoint_file), ("--public-key", public_key)):
        if given is not None and not given.strip():  # "$UNSET": never a verify without the proof
            raise BadInput(flag, given, "is empty: give the file")
    if (checkpoint_file is None) != (public_key is None):
        raise BadInput("--checkpoint", checkpoint_file, "give --checkpoint and --public-key together")
    signed = None
    if checkpoint_file and public_key:
        try:
            signed = checkpoint.load(checkpoint_file, public_key)
        except checkpoint.CheckpointForged:
            click.echo(f"tampered: the checkpoint {checkpoint_file} is not signed by {public_key}", err=True)
            raise click.exceptions.Exit(1) from None
    ledger = session.ledger
    # The check runs inside the store: the bar pulses while it works.
    with progress("verify", None, unit="events"):
        problems = list(ledger.verify(seal.load_key(create=False)))
    if signed is not None:
        found = checkpoint.check(ledger.rows("position"), signed, ledger.recorded_at)
        problems[:0] = [Problem(text) for text in found]
    tampered = [p for p in problems if p.tampered]
    for p in problems:
        click.echo(f"tampered: {p.text}" if p.tampered else f"note: {p.text}", err=True)
    if tampered:
        raise click.exceptions.Exit(1)
    if ledger.unchecked and signed is None:
        raise BadInput(
            seal.KEY_ENV,
            str(seal.key_path()),
            f"no seal key here: {ledger.unchecked} sealed links cannot be checked "
            "(give --checkpoint and --public-key to verify without it)",
        )
    click.echo(f"verified {plural(ledger.count_events(), 'event')}: every hash chain intact")
    if signed is not None:
        click.echo(
            f"checkpoint {checkpoint_file}: the {signed.head.events} events of {signed.head.members} members "
            "recorded before it are unchanged"
        )


@click.command("checkpoint")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--signing-key",
    required=True,
    type=click.Path(dir_okay=False),
    help="The auditor's signing key (signing.key from `zorgkas keygen`).",
)
@store_options
def make_checkpoint(session: Session, file: str, signing_key: str) -> None:
    """Sign the store's current head into FILE, for `verify --checkpoint`.

    \b
    Example:
      zorgkas checkpoint 2024-12.checkpoint --signing-key auditor/signing.key
    """
    from ledger import checkpoint, seal

    ledger = session.ledger
    tampered = [p for p in ledger.verify(seal.load_key(create=False)) if p.tampered]
    if tampered:
        for p in tampered:
            click.echo(f"tampered: {p.text}", err=True)
        click.echo("refused: a tampered store is not signed", err=True)
        raise click.exceptions.Exit(1)
    if ledger.unchecked:
        click.echo(f"note: {ledger.unchecked} sealed links not checked (no seal key here)", err=True)
    position = ledger.max_position()
    the_head = checkpoint.head(ledger.rows("position", upto=position), position)
    document = checkpoint.sign(the_head, ledger.label, session.now.isoformat(), signing_key)
    try:
        with open(file, "x", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
    except FileExistsError:
        raise BadInput("FILE", file, "already exists; a checkpoint is never overwritten") from None
    except OSError as exc:
        raise BadInput("FILE", file, f"cannot be written ({exc.strerror})") from None
    click.echo(f"checkpoint {file}: {the_head.events} events of {the_head.members} members signed")


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@click.option(
    "--cipher", is_flag=True, help="Make DIR/cipher.key instead: an AES key for encryption at rest."
)
def keygen(folder: str, cipher: bool) -> None:
    """Make an auditor's signing key pair: DIR/signing.key (0600) and DIR/signing.pub.

    With --cipher: DIR/cipher.key (0600), the key that ZORGKAS_CIPHER_KEY_FILE names to
    store events encrypted.

    \b
    Example:
      zorgkas keygen auditor
    """
    from ledger import checkpoint

    if not folder.strip():  # an unset variable: not the current folder instead
        raise BadInput("DIR", folder, "is empty: give the folder for the keys")
    if cipher:
        click.echo(f"cipher key {checkpoint.cipher_keygen(folder)} (keep it secret, and a copy safe)")
        return
    private, public = checkpoint.keygen(folder)
    click.echo(f"signing key {private} (keep it secret), public key {public}")


@click.command()
@store_options
def init(session: Session) -> None:
    """Create an empty event store (SQLite file or PostgreSQL tables) if there is none.

    \b
    Example:
      zorgkas init --store ./zorgkas.sqlite
    """
    ledger = session.ledger
    click.echo(f"store {ledger.label}: {ledger.count_events()} events")


@click.command()
@store_options
def reseal(session: Session) -> None:
    """Re-seal a store written before links were keyed (plain SHA-256) with the seal key.

    Verifies the old chains first: a tampered store is not re-sealed. Make a new
    checkpoint afterwards (re-sealing rewrites the stored links).

    \b
    Example:
      zorgkas reseal
    """
    count = session.ledger.reseal()
    click.echo(f"re-sealed {count} events of {session.ledger.label} with the seal key")


@click.command()
@click.option("--to", "target", required=True, metavar="FILE|URL", help="reporting.sqlite or postgresql://…")
@click.option("--rebuild", is_flag=True, help="Drop the reporting tables and start over.")
@click.option(
    "--as-of",
    type=DATE,
    default=None,
    help="An extract as of this date (into its own file), not the nightly database.",
)
@click.option(
    "--known-on",
    type=DATETIME,
    default=None,
    help="An extract of what the fund knew at this moment (recorded time).",
)
@click.option("--with-insz", is_flag=True, help="Include INSZ numbers (internal use only).")
@click.option(
    "--workers",
    type=CountType(64),
    metavar="N",
    default=None,
    help="Processes for a full rebuild (default: one per core, at most 4, from 200,000 events; "
    "env ZORGKAS_REPORT_WORKERS).",
)
@read_only
@store_options
def report(
    session: Session,
    target: str,
    rebuild: bool,
    as_of: object,
    known_on: object,
    with_insz: bool,
    workers: int | None,
) -> None:
    """Feed the projections into a reporting database.

    Without --as-of or --known-on it keeps the nightly database: status as of today,
    updated incrementally (only members with new events, or whose own date has come).
    With either, it writes a reproducible extract, which never mixes with a nightly one.

    \b
    Example:
      zorgkas report --to reporting.sqlite
      zorgkas report --to extract-2024.sqlite --as-of 2024-12-31
    """
    from projections.reporting import export_report

    _check_report_target(target)
    nightly = as_of is None and known_on is None
    # The reporting module reads its worker count from the environment; set it for
    # this command only.
    before = os.environ.get("ZORGKAS_REPORT_WORKERS")
    if workers is not None:
        os.environ["ZORGKAS_REPORT_WORKERS"] = str(workers)
    try:
        # The export runs inside the reporting module: the bar pulses until it takes `progress=`.
        with progress("report", None, unit="members") as advance:
            hook = {"progress": advance} if accepts_progress(export_report) else {}
            summary = export_report(
                session.ledger,
                target,
                rebuild=rebuild,
                as_of=as_of or session.today,  # type: ignore[arg-type]
                with_insz=with_insz,
                nightly=nightly,
                known_on=known_on,  # type: ignore[arg-type]
                **hook,
            )
    finally:
        if before is None:
            os.environ.pop("ZORGKAS_REPORT_WORKERS", None)
        else:
            os.environ["ZORGKAS_REPORT_WORKERS"] = before
    click.echo(summary)


def _check_report_target(target: str) -> None:
    """A reporting file must be a file (or a new one in an existing folder): `--to /dev/null`
    or a folder is bad input, not a database error."""
    if "://" in target:
        return
    path = Path(target)
    if path.exists() and not path.is_file():
        raise BadInput("--to", target, "is not a regular file: give a reporting database file")
    if not path.parent.is_dir():
        raise BadInput("--to", target, f"folder {path.parent} does not exist")


@click.command("serve-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=PORT, default=8001, show_default=True, help="Port to listen on.")
@click.option(
    "--setting",
    "settings",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="A Datasette setting, e.g. --setting sql_time_limit_ms 2000 (repeatable).",
)
@click.option(
    "--metadata-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Only write the Datasette metadata to this file.",
)
def serve_report(
    file: str, host: str, port: int, settings: tuple[tuple[str, str], ...], metadata_out: str | None
) -> None:
    """Open a reporting database in Datasette, with titles, queries and a dashboard.

    The command becomes Datasette (same process): stopping it stops the server, and it
    leaves no file behind.

    \b
    Example:
      zorgkas report --to reporting.sqlite && \\
          zorgkas serve-report reporting.sqlite
      zorgkas serve-report reporting.sqlite --host 0.0.0.0 --port 8080 \\
          --setting sql_time_limit_ms 2000
    """
    import os
    import sys

    from projections.datasette import check_reporting_file, datasette_command, metadata

    check_reporting_file(file)
    meta = metadata(Path(file).stem)
    if metadata_out:
        Path(metadata_out).write_text(json.dumps(meta, indent=2))
        click.echo(f"wrote {metadata_out}")
        return
    # The metadata lives in an anonymous memory file the exec'd Datasette inherits: no
    # temporary file to leave behind, whatever way the server is stopped.
    fd = os.memfd_create("zorgkas-metadata", 0)
    os.write(fd, json.dumps(meta).encode())
    os.lseek(fd, 0, os.SEEK_SET)
    cmd = datasette_command(sys.executable, file, f"/dev/fd/{fd}", host, port, settings)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(cmd[0], cmd)  # noqa: S606 - becomes Datasette: no orphan server


COMMANDS = [export_events, import_events, verify, make_checkpoint, keygen, init, reseal, report, serve_report]
