"""Projections into a reporting database analysts query and chart (SQLite or PostgreSQL).

Two kinds of reporting database:

- **The nightly database** (``report --to FILE``, no ``--as-of``/``--known-on``): status as
  of today, brought up to date incrementally. A run reads the events recorded since its
  stored position and re-evaluates the members they touch, plus the members whose own
  next calendar date (``_changes_on``, see ``report_rows.next_change``) has come — a
  switch taking effect, a window closing, an April budget deduction, 1 January. Nothing
  else is read or written, whatever today's date is.
- **An extract** (``--as-of D`` and/or ``--known-on T``): the world as of D as the fund
  knew it at T, reproducible; kept apart from the nightly database (one refuses to turn
  into the other without ``--rebuild``).

Rows, summary tables, ``_changes_on`` and the position are written in one transaction,
so a crash leaves the previous state whole. A full rebuild of a large store runs one
worker process per core over ranges of member ids, each streaming its rows to the run
over a pipe; the run writes them into the target. Workers die with the run
(``PR_SET_PDEATHSIG``); a worker that dies fails the run, which leaves the target whole.

INSZ numbers are pseudonymized with a keyed hash (HMAC-SHA256) unless ``--with-insz``;
the key comes from ``ZORGKAS_PSEUDONYM_KEY`` or ``~/.zorgkas/pseudonym.key`` (created
readable by its owner only) and never enters the reporting database. ``_changes_on``
needs to find a member again in the store: it keeps the INSZ sealed with that key (XOR
with an HMAC of the pseudonym), readable only with the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec

from ledger.children import die_with_parent
from ledger.errors import BadInput, LedgerError
from ledger.member import Member
from ledger.store import Ledger
from ledger.validation import parse_count
from projections.report_rows import member_rows, next_change, pseudonym
from projections.report_schema import BY_NAME, CHANGES_ON, SCHEMA_VERSION, TABLES, VIEWS
from projections.report_targets import (
    Change,
    Rows,
    SqliteTarget,
    Target,
    fresh_path,
    is_postgres,
    open_target,
)

__all__ = ["TABLES", "VIEWS", "export_report", "pseudonym_key"]


def pseudonym_key() -> bytes:
    env = os.environ.get("ZORGKAS_PSEUDONYM_KEY")
    if env:
        return env.encode()
    path = Path(os.environ.get("ZORGKAS_KEY_DIR", Path.home() / ".zorgkas")) / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _pad(key: bytes, member: str, n: int) -> bytes:
    return hmac.new(key, b"seal:" + member.encode(), hashlib.sha256).digest()[:n]


def seal(key: bytes, member: str, insz: str) -> str:
    raw = insz.encode()
    return bytes(a ^ b for a, b in zip(raw, _pad(key, member, len(raw)), strict=True)).hex()


def unseal(key: bytes, member: str, token: str) -> str:
    raw = bytes.fromhex(token)
    return bytes(a ^ b for a, b in zip(raw, _pad(key, member, len(raw)), strict=True)).decode()


@dataclass(frozen=True)
class Run:
    """What one report run computes: as of when, as known when, for which kind of database."""

    as_of: date
    known_on: datetime | None
    key: bytes
    with_insz: bool
    nightly: bool

    @property
    def mode(self) -> str:
        return "nightly" if self.nightly else "extract"

    @property
    def settings(self) -> str:
        key = hashlib.sha256(self.key).hexdigest()[:8]
        base = f"mode={self.mode};with_insz={int(self.with_insz)};key={key}"
        if self.nightly:
            return base
        known = self.known_on.isoformat() if self.known_on else ""
        return f"{base};as_of={self.as_of.isoformat()};known_on={known}"


# Where a batch's rows go: (the members' pseudonyms, rows by table, _changes_on rows).
Sink = Callable[[list[str], Rows, list[Change]], None]


class Batch:
    """Rows of up to ``size`` members, written together."""

    size = 2000

    def __init__(self, write: Sink, run: Run) -> None:
        self.write, self.run = write, run
        self.rows: Rows = {name: [] for name in BY_NAME}
        self.keys: list[str] = []
        self.changes: list[Change] = []
        self.count = 0

    def add(self, member: Member) -> None:
        rows, status = member_rows(
            member, self.run.as_of, self.run.key, self.run.with_insz, self.run.known_on
        )
        # The members row starts with the pseudonym (an HMAC): not computed twice.
        mk = rows["members"][0][0] if rows["members"] else pseudonym(self.run.key, member.insz)
        for name, table_rows in rows.items():
            self.rows[name].extend(table_rows)
        self.keys.append(mk)
        if self.run.nightly and status is not None:
            self.changes.append((mk, seal(self.run.key, mk, member.insz), next_change(status)))
        self.count += 1
        if len(self.keys) >= self.size:
            self.flush()

    def flush(self) -> None:
        self.write(self.keys, self.rows, self.changes)
        self.keys.clear()


def write_members(target: Target, members: Iterable[Member], run: Run, *, replace: bool) -> int:
    def write(keys: list[str], rows: Rows, changes: list[Change]) -> None:
        if replace:
            target.replace_members(keys, rows, changes)
        else:
            target.insert_rows(rows)
            target.insert_changes(changes)

    batch = Batch(write, run)
    for member in members:
        batch.add(member)
    batch.flush()
    return batch.count


# -- parallel rebuild ------------------------------------------------------------------------
PARALLEL_FROM_EVENTS = 200_000


def _workers(ledger: Ledger) -> int:
    """Processes for a full rebuild: members are independent, so use the cores.

    ``ZORGKAS_REPORT_WORKERS`` overrides; small stores are rebuilt in-process.
    """
    forced = _forced_workers()
    if forced is not None:
        return forced
    if ledger.count_events() < PARALLEL_FROM_EVENTS:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _forced_workers() -> int | None:
    """``ZORGKAS_REPORT_WORKERS``, if set: ASCII digits, as every number (docs/cli.md)."""
    forced = os.environ.get("ZORGKAS_REPORT_WORKERS")
    if not forced:
        return None
    what = "not a number of processes (ASCII digits)"
    return max(1, parse_count(forced, "ZORGKAS_REPORT_WORKERS", 0, None, what))


FRAME = struct.Struct("<Q")  # the length of one frame of rows, before it


def _rebuild_in_parallel(target: Target, store_url: str, workers: int, run: Run) -> None:
    """Evaluate ranges of members in worker processes and write their rows here.

    Each worker streams its rows over a pipe, one msgpack frame per batch of members
    (``stream_part``); this process only inserts them, in the target's one transaction.
    So every row is inserted once, into the target (a part file per worker, copied into
    the target at the end, inserted every row twice and read it back once: a second
    worker cost a third more CPU than one). Frames are taken from the workers in turn,
    so the rows go in in the same order on every run; a worker that runs ahead waits on
    its full pipe.
    """
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(workers):
            job = {
                "store": store_url, "part": [k, workers], "as_of": run.as_of.isoformat(),
                "known_on": run.known_on.isoformat() if run.known_on else None,
                "with_insz": run.with_insz, "nightly": run.nightly, "parent": os.getpid(),
            }  # fmt: skip
            env = dict(os.environ, ZORGKAS_REPORT_JOB=json.dumps(job), ZORGKAS_REPORT_KEY=run.key.hex())
            procs.append(
                subprocess.Popen(  # noqa: S603 - our own module, no shell
                    [sys.executable, "-m", "projections.report_worker"],
                    env=env,
                    stdout=subprocess.PIPE,
                    preexec_fn=die_with_parent,
                )
            )
        decode = msgspec.msgpack.Decoder(dict[str, list[tuple]]).decode  # type: ignore[type-arg]
        running = list(enumerate(procs))
        while running:
            for k, proc in list(running):
                frame = _read_frame(proc)
                if frame is None:  # the worker's last frame: it wrote everything
                    running.remove((k, proc))
                    if proc.wait() != 0:
                        raise LedgerError(f"report worker {k} of {workers} failed; nothing was written")
                    continue
                if frame is False:  # the pipe ended without the last frame: the worker died
                    proc.wait()
                    raise LedgerError(f"report worker {k} of {workers} failed; nothing was written")
                rows = decode(frame)
                for name, table_rows in rows.items():
                    if name == CHANGES_ON:
                        target.insert_changes(table_rows)  # type: ignore[arg-type]
                    else:
                        target.insert(name, table_rows)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()


def _read_frame(proc: subprocess.Popen[bytes]) -> bytes | None | Literal[False]:
    """The next frame of a worker: its bytes, None after its last one, False if it died."""
    assert proc.stdout is not None
    head = proc.stdout.read(FRAME.size)
    if len(head) < FRAME.size:
        return False
    (size,) = FRAME.unpack(head)
    if size == 0:
        return None
    frame = proc.stdout.read(size)
    return frame if len(frame) == size else False


def stream_part(store_url: str, part: tuple[int, int], run: Run, out: BinaryIO) -> int:
    """One worker: the rows of one range of member ids, as frames on ``out``.

    A frame is the rows of one batch of members by table (``_changes_on`` included),
    encoded with msgpack (dates as their ISO text, as the SQLite target stores them),
    after its length; a frame of length 0 ends the stream.
    """
    encode = msgspec.msgpack.Encoder().encode

    def write(_keys: list[str], rows: Rows, changes: list[Change]) -> None:
        frame: dict[str, list[Any]] = {name: table_rows for name, table_rows in rows.items() if table_rows}
        if changes:
            frame[CHANGES_ON] = changes
        payload = encode(frame)
        out.write(FRAME.pack(len(payload)))
        out.write(payload)
        for table_rows in rows.values():
            table_rows.clear()
        changes.clear()

    ledger = Ledger(store_url)
    try:
        batch = Batch(write, run)
        for member in ledger.members(part):
            batch.add(member)
        batch.flush()
        out.write(FRAME.pack(0))
        out.flush()
        return batch.count
    finally:
        ledger.close()


# -- one run ----------------------------------------------------------------------------------
def _touched(ledger: Ledger, after: int) -> tuple[set[str], int]:
    touched: set[str] = set()
    last = after
    for position, event in ledger.notifications(after):
        touched.add(event.insz)
        last = position
    return touched, last


STREAM_FROM_SHARE = 0.2
# When the members due are most of a large fund (1 January), a rebuild is cheaper.
REBUILD_FROM_SHARE = 0.6
REBUILD_FROM_MEMBERS = 10_000


def _members(ledger: Ledger, target: Target, wanted: set[str]) -> Iterator[Member]:
    """The members to re-evaluate: loaded one by one, or, when they are a large share of
    the fund (1 January, a yearly run's claims), picked from one stream of the store."""
    if not wanted:
        return
    known = target.execute("SELECT count(*) FROM members").fetchone()[0]
    if len(wanted) < STREAM_FROM_SHARE * known:
        for insz in sorted(wanted):
            yield ledger.load(insz)
        return
    for member in ledger.members():
        if member.insz in wanted:
            yield member


def _article(mode: str) -> str:
    return f"an {mode}" if mode == "extract" else f"a {mode}"


def export_report(
    ledger: Ledger,
    target_url: str,
    *,
    rebuild: bool,
    as_of: date,
    with_insz: bool,
    nightly: bool = False,
    known_on: datetime | None = None,
) -> str:
    """Bring the reporting database up to the event log; returns a one-line summary."""
    run = Run(as_of, known_on, b"" if with_insz else pseudonym_key(), with_insz, nightly)
    _forced_workers()  # bad input before the target is opened (a rebuild reads it again)
    target = open_target(target_url, ledger.url)
    if not is_postgres(target_url):
        real = os.path.realpath(target_url)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fresh_path(real))
        # What a killed rebuild of a version before November 2026 left: its workers' part
        # files, in a folder of this fixed name beside the target.
        folder, name = os.path.split(real)
        shutil.rmtree(os.path.join(folder, f".{name}.report-parts"), ignore_errors=True)
    try:
        stored = target.read_position()
        note = ""
        if target.older:
            note = (
                f" (the reporting database had {target.older} of an older zorgkas: "
                f"rebuilt as schema {SCHEMA_VERSION})"
            )
        if stored is not None and stored.mode != run.mode and not rebuild:
            raise BadInput(
                "--to", target.label, f"is {_article(stored.mode)} reporting database; give another file for "
                f"{'the nightly database' if nightly else 'an extract'} (or add --rebuild to replace it)",
            )  # fmt: skip
        full = rebuild or stored is None or stored.settings != run.settings
        if nightly and stored is not None and as_of < stored.as_of:
            full = True  # the clock went back: start over rather than guess
        head = ledger.max_position()
        touched: set[str] = set()
        by_date: set[str] = set()
        if not full:
            assert stored is not None
            touched, head = _touched(ledger, stored.position)
            if nightly:
                for member, token in target.due(as_of):
                    insz = unseal(run.key, member, token)
                    if insz not in touched:
                        by_date.add(insz)
            known = target.execute("SELECT count(*) FROM members").fetchone()[0]
            if known >= REBUILD_FROM_MEMBERS and len(touched | by_date) >= REBUILD_FROM_SHARE * known:
                # 1 January: (nearly) every member is due; a rebuild gives the same rows
                # (tested) in one pass over the store, with a worker per core.
                full, head = True, ledger.max_position()
                note = f" (the members due are most of the fund: {len(touched | by_date)} of {known}){note}"
        if full:
            if isinstance(target, SqliteTarget):
                target.build_fresh()
            target.reset(indexes=False)
            workers = _workers(ledger)
            if workers > 1:
                _rebuild_in_parallel(target, ledger.url, workers, run)
            else:
                write_members(target, ledger.members(), run, replace=False)
            # The members the database now holds, however many processes wrote them (a
            # member not yet registered as of --as-of or known on --known-on has no row).
            count = target.execute(f"SELECT count(*) FROM {target.q('members')}").fetchone()[0]
            target.create_indexes()
            target.rebuild_summaries()
            summary = f"report rebuilt: {count} members"
        else:
            wanted = touched | by_date
            count = write_members(target, _members(ledger, target, wanted), run, replace=True)
            summary = (
                f"report updated: {count} members ({len(touched)} with new events, {len(by_date)} by date)"
            )
        target.write_position(run.mode, head, as_of, known_on.isoformat() if known_on else None, run.settings)
        target.commit()
    except BaseException:
        target.rollback()
        raise
    finally:
        target.close()
    what = "nightly, as of" if nightly else "extract as of"
    known = f", as known on {known_on.isoformat()}" if known_on else ""
    return f"{summary} {what} {as_of.isoformat()}{known}, event position {head}{note}"
