"""Moving data: export and import event files, verify the store, feed reporting databases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from commands.options import DATE, Session, store_options
from ledger.errors import BadInput
from ledger.eventfile import to_line
from ledger.store import Problem


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
@store_options
def verify(session: Session, checkpoint_file: str | None, public_key: str | None) -> None:
    """Check every member's sealed chain; exit 1 naming the first tampered event.

    With --checkpoint and --public-key it also proves, without any secret, that no event
    recorded before the checkpoint was changed, removed, reordered or truncated.

    \b
    Example:
      zorgkas verify --checkpoint 2024-12.checkpoint --public-key auditor/signing.pub
    """
    from ledger import checkpoint, seal

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
    click.echo(f"verified {ledger.count_events()} events: every hash chain intact")
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
      zorgkas --store ./zorgkas.sqlite init
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
@click.option("--port", default=8001, show_default=True)
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


COMMANDS = [export_events, import_events, verify, make_checkpoint, keygen, init, reseal, report, serve_report]
