"""The event store: eventsourcing's recorders (SQLite embedded, PostgreSQL at scale).

- ``EventMapper`` stores our msgspec events as they are (topic ``Name@version``),
  decodes them typed, and upcasts older versions (``ledger.events.upcast``).
- Each member's events form a hash chain: every event's ``chain`` covers the previous
  event's chain and its own payload, so ``verify`` shows any edit in the database.
- ``Ledger.change`` loads a member, lets a command decide, and appends with the
  store's optimistic concurrency (unique member id + version); a conflict is retried
  on the fresh history so the rules are checked again.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent, Transcoder

from ledger import bulk
from ledger import events as ev
from ledger.errors import BadInput, ConcurrentChange, LedgerError
from ledger.identity import member_id
from ledger.member import Member

DEFAULT_STORE = "./zorgkas.sqlite"
_decoders = {cls.__name__: msgspec.json.Decoder(cls) for cls in ev.EVENT_TYPES}


class _NoTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:  # pragma: no cover - never used
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:  # pragma: no cover - never used
        raise NotImplementedError


class EventMapper(Mapper[UUID]):
    """msgspec events <-> eventsourcing ``StoredEvent`` rows, with upcasting."""

    def __init__(self) -> None:
        super().__init__(transcoder=_NoTranscoder())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        event: ev.Event = domain_event
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=f"{event.type}@{type(event).VERSION}",
            state=ev.encode(event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return decode_stored(stored_event.topic, stored_event.state)


def decode_stored(topic: str, state: bytes | memoryview) -> ev.Event:
    name, _, version = topic.partition("@")
    data = bytes(state)
    if int(version or 1) == ev.BY_NAME[name].VERSION:
        return _decoders[name].decode(data)
    raw = msgspec.json.decode(data)
    return ev.convert(ev.upcast(name, int(version or 1), raw))


def _digest(previous: str, body: bytes) -> str:
    return hashlib.sha256(previous.encode() + body).hexdigest()


def chain_hash(previous: str, event: ev.Event) -> str:
    """The event's link: its payload (without the link itself) after the previous link."""
    return _digest(previous, ev.encode(msgspec.structs.replace(event, chain="")))


def with_chain(previous: str, events: Sequence[ev.Event]) -> list[ev.Event]:
    chained = []
    for event in events:
        previous = chain_hash(previous, event)
        chained.append(msgspec.structs.replace(event, chain=previous))
    return chained


def _sqlite_env(path: str) -> dict[str, str]:
    if path != ":memory:" and not os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise BadInput("--store", path, "its folder does not exist")
        # Privacy: a new store holds national register numbers; owner only.
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path, "SQLITE_LOCK_TIMEOUT": "30"}


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlparse(url)
    dbname = (parts.path or "/").lstrip("/") or "postgres"
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or os.environ.get("PGUSER", "postgres")),
        # Never in output: from the URL, else PGPASSWORD, else ~/.pgpass (libpq reads it).
        "POSTGRES_PASSWORD": unquote(parts.password or os.environ.get("PGPASSWORD", "")),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "30",
    }
    return env


def _id_range(part: tuple[int, int] | None) -> tuple[str, str]:
    """The k-th of n equal ranges of member ids as 32 hex digits; "" means unbounded."""
    if part is None:
        return "", ""
    k, n = part
    lo = f"{(2**128 * k) // n:032x}" if k else ""
    hi = f"{(2**128 * (k + 1)) // n:032x}" if k + 1 < n else ""
    return lo, hi


def redact(url: str) -> str:
    """The store URL without its password, for messages."""
    parts = urlparse(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


class LedgerApp(Application[UUID]):
    """The eventsourcing application behind the ledger (one per store)."""

    name = "zorgkas"

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper()


@dataclass(frozen=True)
class StreamRow:
    originator_id: UUID
    version: int
    topic: str
    state: bytes


class Ledger:
    """The store a command line works on: load members, append events, scan, verify."""

    def __init__(self, url: str = DEFAULT_STORE) -> None:
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        env = _postgres_env(url) if self.is_postgres else _sqlite_env(url)
        for attempt in range(5):
            try:
                self.app = LedgerApp(env=env)
                break
            except LedgerError:
                raise
            except Exception as exc:  # a store that cannot be opened is bad input
                # Clerks opening a new PostgreSQL store at once race to create its table.
                if attempt == 4 or not self.is_postgres:
                    reason = f"cannot open the event store ({type(exc).__name__})"
                    raise BadInput("--store", redact(url), reason) from None
                time.sleep(0.2 * (attempt + 1))
        self.recorder: Any = self.app.recorder

    def close(self) -> None:
        self.app.close()

    # -- members ---------------------------------------------------------------------
    def load(self, insz: str) -> Member:
        events = list(self.app.events.get(member_id(insz)))
        return Member(insz, events)

    def append(self, member: Member, new_events: Sequence[ev.Event]) -> list[ev.Event]:
        """Append one member's new events atomically, chained to its last event."""
        return self.append_many([(member, new_events)])

    def change(
        self, insz: str, decide: Callable[[Member], list[ev.Event]], attempts: int = 60
    ) -> list[ev.Event]:
        """Load, decide, append; on a concurrent change, decide again on the fresh history.

        Retries wait a random, growing pause so that clerks colliding on one member
        do not collide again in lock-step.
        """
        for attempt in range(attempts):
            member = self.load(insz)
            new = decide(member)
            try:
                return self.append(member, new)
            except ConcurrentChange:
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 7)))
        return []

    def append_many(self, batch: Sequence[tuple[Member, Sequence[ev.Event]]]) -> list[ev.Event]:
        """Append the new events of one or many members (a yearly run's batch) in one
        transaction, each chained to its member's last event."""
        stored: list[ev.Event] = []
        for member, new in batch:
            if new:
                previous = member.events[-1].chain if member.events else ""
                stored.extend(with_chain(previous, new))
        if stored:
            try:
                self.app.save(*stored)
            except IntegrityError:
                changed = [m.insz for m, new in batch if new]
                who = changed[0] if len(changed) == 1 else f"{len(changed)} members"
                raise ConcurrentChange(f"{who} changed meanwhile") from None
        return stored

    def import_lines(self, lines: Iterable[str | bytes], today: date, now: datetime) -> tuple[int, int]:
        """Take over an event file: validated, all or nothing (see ``ledger/bulk.py``)."""
        if self.is_postgres:
            importer = bulk.import_postgres(self.recorder, lines, today, now)
        else:
            importer = bulk.import_sqlite(self.url, self.recorder.events_table_name, lines, today, now)
        return importer.events, len(importer.streams)

    # -- scanning --------------------------------------------------------------------
    def _rows(self, order: str, part: tuple[int, int] | None = None) -> Iterator[tuple[Any, ...]]:
        """Stored rows in ``order``; ``part`` = (k, n) keeps the k-th of n member-id ranges."""
        table = self.recorder.events_table_name
        columns = "originator_id, originator_version, topic, state"
        bounds = _id_range(part)
        mark = "%s" if self.is_postgres else "?"
        conds = [f"originator_id {op} {mark}" for op, b in zip((">=", "<"), bounds, strict=True) if b]
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        if self.is_postgres:
            params = [UUID(b) for b in bounds if b]
            schema = self.recorder.datastore.schema
            sql = f'SELECT {columns} FROM "{schema}"."{table}" {where} ORDER BY {order}'
            with (
                self.recorder.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor(name="zorgkas_scan") as curs,
            ):
                curs.itersize = 5000
                curs.execute(sql, params)
                for row in curs:
                    yield row["originator_id"], row["originator_version"], row["topic"], row["state"]
        else:
            sql = f"SELECT {columns} FROM {table} {where} ORDER BY {order}"
            conn = sqlite3.connect(self.url)
            try:
                yield from conn.execute(sql, [b for b in bounds if b])
            finally:
                conn.close()

    def scan(self) -> Iterator[ev.Event]:
        """Every event in recording order (the notification log)."""
        order = "notification_id" if self.is_postgres else "rowid"
        for _oid, _version, topic, state in self._rows(order):
            yield decode_stored(topic, state)

    def members(self, part: tuple[int, int] | None = None) -> Iterator[Member]:
        """Every member (or those of range ``part``) with all its events, one at a time."""
        current: list[ev.Event] = []
        current_id: Any = None
        for oid, _version, topic, state in self._rows("originator_id, originator_version", part):
            if oid != current_id and current:
                yield Member(current[0].insz, current)
                current = []
            current_id = oid
            current.append(decode_stored(topic, state))
        if current:
            yield Member(current[0].insz, current)

    def count_events(self) -> int:
        table = self.recorder.events_table_name
        if self.is_postgres:
            schema = self.recorder.datastore.schema
            with self.recorder.datastore.transaction(commit=False) as curs:
                curs.execute(f'SELECT count(*) AS n FROM "{schema}"."{table}"')
                return int(curs.fetchone()["n"])
        conn = sqlite3.connect(self.url)
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()

    def max_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def notifications(self, after: int, limit: int = 5000) -> Iterator[tuple[int, ev.Event]]:
        """(position, event) after ``after`` in recording order, read in pages."""
        position = after
        while True:
            page = self.recorder.select_notifications(position, limit, inclusive_of_start=False)
            if not page:
                return
            for n in page:
                yield n.id, decode_stored(n.topic, n.state)
            position = page[-1].id

    # -- integrity -------------------------------------------------------------------
    def verify(self) -> Iterator[str]:
        """One message per broken member chain: an edited, moved or missing event."""
        previous = ""
        current: Any = None
        expected = 1
        for oid, version, topic, state in self._rows("originator_id, originator_version"):
            if oid != current:
                current, previous, expected = oid, "", 1
            problem, previous = check_stored(oid, version, topic, bytes(state), previous, expected)
            expected = version + 1
            if problem:
                yield problem
                previous = "\x00broken"  # report each member once: the rest no longer chains


def check_stored(
    oid: Any, version: int, topic: str, state: bytes, previous: str, expected: int
) -> tuple[str | None, str]:
    """Check one stored event against the chain; returns (problem, this event's chain)."""
    if previous == "\x00broken":
        return None, previous
    where = f"member stream {oid}, event {version}"
    if version != expected:
        return f"{where}: event {expected} is missing", ""
    try:
        raw = msgspec.json.decode(state)
        event = decode_stored(topic, state)
    except Exception as exc:
        return f"{where}: cannot be read ({type(exc).__name__})", ""
    stored_chain = raw.get("chain", "")
    raw["chain"] = ""
    where = f"member {event.insz}, event {version} ({event.type}, id {event.id})"
    if UUID(str(oid)) != event.originator_id or member_id(event.insz) != event.originator_id:
        return f"{where}: belongs to another member", stored_chain
    if event.originator_version != version:
        return f"{where}: was moved from version {event.originator_version}", stored_chain
    if _digest(previous, msgspec.json.encode(raw)) != stored_chain:
        return f"{where}: does not match its hash chain (changed after it was recorded)", stored_chain
    return None, stored_chain
