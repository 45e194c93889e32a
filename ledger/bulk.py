"""The fast, still validated path for taking over recorded history (``zorgkas import``).

Rebuilding every aggregate through its commands costs far too much for a quarter of a
billion events, so an event file is decoded straight into typed events (msgspec checks
every field), checked line by line with the command line's own checks
(``ledger.validation``: INSZ, codes, dates, digits, text, amounts; no repeated keys, a
bounded line), given a derived id when it has none (so a file read twice is refused),
checked per member against the rule book's guards (``ledger.streamcheck``: a
registration first and once, R-FUND-1, no fine without its letter, reversals and
retractions of real events only), numbered after each member's last stored event,
hash-chained, and written in chunks inside **one** transaction: the file lands whole or
not at all. Memory grows with the number of members (their last version and chain link)
plus 17 bytes per event for the guards.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from ledger import events as ev
from ledger.errors import BadInput
from ledger.eventfile import bounded_lines, read_line, repeated_key
from ledger.identity import member_id
from ledger.streamcheck import Stored, StreamCheck, stored_decoder
from ledger.validation import MAX_LINE, EventChecker

CHUNK = 20_000
_typed = msgspec.json.Decoder(ev.AnyEvent)
_encoder = msgspec.json.Encoder()
_CHAIN_TAIL = b'"chain":""}'


class Row(NamedTuple):
    oid: UUID
    key: str  # oid as stored by SQLite
    version: int
    topic: str
    state: bytes
    event_id: bytes  # the event id's 16 bytes, for the duplicate check
    line: int


def duplicate_line(chunk: list[Row], is_known: Any) -> BadInput:
    """The first line of a chunk whose event id is already stored or repeated in the file."""
    seen: set[bytes] = set()
    for r in chunk:
        if r.event_id in seen or is_known(r.event_id):
            return BadInput(
                "id", str(UUID(bytes=r.event_id)), "this event is already in the store or the file", r.line
            )
        seen.add(r.event_id)
    return BadInput("id", None, "an event id is already in the store or the file")


@dataclass
class _Stream:
    oid: UUID
    version: int
    chain: str
    check: StreamCheck  # the rule book's guards over the member's events

    def __post_init__(self) -> None:
        self.key = self.oid.hex  # the stored originator_id (SQLite)
        self.tail = f'"originator_id":"{self.oid}","originator_version":'.encode()


# insz, is registration, topic, body, id, line, event
Prepared = tuple[str, bool, str, bytes, bytes, int, ev.Event]
_NIL_TAIL = b'"originator_id":"' + str(ev.NIL).encode() + b'","originator_version":0,"chain":""}'
TOPICS = {cls: f"{cls.__name__}@{cls.VERSION}" for cls in ev.EVENT_TYPES}
_untyped = msgspec.json.Decoder()
# Lines without an "id" get one derived from their content and their position in the
# member's stream in the file: the same file imported twice is refused as a duplicate.
_LINE_IDS = uuid.UUID("0e7c4a5e-31d2-5b8f-a2f4-6c1d9e0b7a35")


def derived_id(e: ev.Event, position: int) -> uuid.UUID:
    """A UUIDv5-style id of an event without one: its canonical encoding and its position."""
    body = _encoder.encode(msgspec.structs.replace(e, id=ev.NIL))
    digest = hashlib.sha1(_LINE_IDS.bytes + b"%d:" % position + body, usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


class LineChecker:
    """Stage one, per line and independent of the store: decode into a typed event,
    check every value (``ledger.validation``, as the command line does), give an event
    without an id its derived one, encode it with the store fields unset."""

    def __init__(self, today: date, now: datetime) -> None:
        self.today, self.now = today, now
        self.values = EventChecker(today, now)
        self.positions: dict[str, int] = {}  # lines per member so far (for derived ids)

    def decode(self, text: str | bytes, line_no: int) -> tuple[ev.Event, bool]:
        """The checked event of one line and whether the line carried its id."""
        if len(text) > MAX_LINE:
            raise BadInput("line", f"{len(text)} bytes", f"longer than {MAX_LINE} bytes", line_no)
        try:
            event = _typed.decode(text)
            keys = _untyped.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
            # Slow path only for a line msgspec refuses: a precise message naming the field
            # (or a formatted INSZ, a lower-case region: accepted as the command line does).
            event, has_id = read_line(text, line_no)
        else:
            # A repeated key is invisible to a decoder (the last one wins): every key ends
            # in '":', so fewer keys than that marker means a repeat (or the marker inside
            # a string): only then the exact, slow check.
            if text.count(b'":' if isinstance(text, bytes) else '":') != len(keys):
                repeated = repeated_key(text)
                if repeated is not None:
                    raise BadInput(repeated.field, repeated.value, repeated.reason, line_no)
            if event.originator_id != ev.NIL or event.originator_version or event.chain:
                raise BadInput("originator_id", None, "set by the store, not by an event file", line_no)
            has_id = "id" in keys
        return self.values.check(event, line_no), has_id

    def prepare(self, lines: Iterable[str | bytes], first_line: int) -> list[Prepared]:
        out: list[Prepared] = []
        for n, text in enumerate(lines, start=first_line):
            if text.strip():
                e, has_id = self.decode(text, n)
                position = self.positions[e.insz] = self.positions.get(e.insz, 0) + 1
                if not has_id:
                    e = msgspec.structs.replace(e, id=derived_id(e, position))
                body = _encoder.encode(e)
                out.append((e.insz, isinstance(e, ev.Registered), TOPICS[type(e)], body, e.id.bytes, n, e))
        return out


class Importer:
    """Stage two: number each member's events after its last stored one, require a
    registration first, chain the hashes; yield rows to insert."""

    def __init__(self, today: date, now: datetime, existing: Any) -> None:
        self.today, self.now = today, now
        self.existing = existing  # callable: member id -> (version, chain, ids) or None
        self.streams: dict[str, _Stream] = {}
        # Ids of the events already stored for the members met so far; the writer puts
        # them in its duplicate-id index (a temporary table, so memory stays per member).
        self.stored_ids: list[bytes] = []
        self.events = 0

    def row(self, prepared: Prepared) -> Row:
        insz, _is_registration, topic, body, event_id, line_no, event = prepared
        stream = self.streams.get(insz)
        if stream is None:
            oid = member_id(insz)
            found = self.existing(oid)
            version, chain, ids = found if found else (0, "", {})
            self.stored_ids.extend(ids)
            # ``existing`` gives the stored events by id (``streamcheck.Stored``) for the
            # guards; a plain set of ids still imports, with fewer guards on stored members.
            stored = ids.values() if isinstance(ids, dict) else ()
            check = StreamCheck(insz, stored, registered=bool(found))
            stream = self.streams[insz] = _Stream(oid, version, chain, check)
        stream.check.check(event, line_no)  # the rule book's guards (a re-read file: a duplicate)
        stream.check.record(event, event_id)
        stream.version += 1
        # The stored payload is the event with its store fields set; its chain link is the
        # SHA-256 of the previous link and that payload with ``chain`` empty (the last
        # field), exactly what ``store.chain_hash`` computes and ``verify`` recomputes.
        if not body.endswith(_NIL_TAIL):  # pragma: no cover - the store fields are the last ones
            raise ValueError("unexpected event encoding")
        head = body[: -len(_NIL_TAIL)]
        body = (
            head
            + f'"originator_id":"{stream.oid}","originator_version":{stream.version},"chain":""}}'.encode()
        )
        stream.chain = hashlib.sha256(stream.chain.encode() + body).hexdigest()
        state = body[: -len(_CHAIN_TAIL)] + b'"chain":"' + stream.chain.encode() + b'"}'
        self.events += 1
        return Row(stream.oid, stream.key, stream.version, topic, state, event_id, line_no)

    def rows(self, lines: Iterable[str | bytes]) -> Iterator[Row]:
        checker = LineChecker(self.today, self.now)
        for first, batch in _line_batches(bounded_lines(lines), LINE_BATCH):
            for prepared in checker.prepare(batch, first):
                yield self.row(prepared)


LINE_BATCH = 5_000


def _line_batches(lines: Iterable[str | bytes], size: int) -> Iterator[tuple[int, list[Any]]]:
    batch: list[Any] = []
    first = 1
    for n, text in enumerate(lines, start=1):
        if not batch:
            first = n
        batch.append(text)
        if len(batch) >= size:
            yield first, batch
            batch = []
    if batch:
        yield first, batch


def _chunks(rows: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _existing(rows: list[tuple[int, bytes]]) -> tuple[int, str, dict[bytes, Stored]] | None:
    """(last version, last chain link, its events by id) of a member already stored."""
    if not rows:
        return None
    decoded = [stored_decoder.decode(bytes(state)) for _v, state in rows]
    ids = {d.id.bytes: d for d in decoded}
    return rows[-1][0], decoded[-1].chain, ids


def import_sqlite(
    path: str, table: str, lines: Iterable[str | bytes], today: date, now: datetime
) -> Importer:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # A bounded page cache for the random inserts into the key index (not per event).
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("BEGIN IMMEDIATE")

        def existing(oid: UUID) -> tuple[int, str, dict[bytes, Stored]] | None:
            sql = f"SELECT originator_version, state FROM {table} WHERE originator_id=? ORDER BY 1"
            return _existing(conn.execute(sql, (oid.hex,)).fetchall())

        empty = conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None
        importer = Importer(today, now, (lambda _oid: None) if empty else existing)
        conn.execute("PRAGMA temp_store=FILE")
        conn.execute("PRAGMA temp.cache_size=-32768")
        conn.execute("CREATE TEMP TABLE import_ids (id BLOB PRIMARY KEY)")
        sql = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)"
        try:
            for chunk in _chunks(importer.rows(lines)):
                _index_ids(conn, importer, chunk)
                conn.executemany(sql, [(r.key, r.version, r.topic, r.state) for r in chunk])
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            raise BadInput(
                "FILE", path, "a member changed while importing; nothing written, try again"
            ) from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return importer
    finally:
        conn.close()


def _index_ids(conn: sqlite3.Connection, importer: Importer, chunk: list[Row]) -> None:
    """Refuse a repeated event id (a file read twice, a line repeated), memory-free."""
    insert = "INSERT INTO temp.import_ids VALUES (?)"
    if importer.stored_ids:
        conn.executemany(insert, [(i,) for i in importer.stored_ids])
        importer.stored_ids.clear()
    conn.execute("SAVEPOINT ids")
    try:
        conn.executemany(insert, [(r.event_id,) for r in chunk])
        conn.execute("RELEASE ids")
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO ids")

        def known(i: bytes) -> bool:
            return conn.execute("SELECT 1 FROM temp.import_ids WHERE id=?", (i,)).fetchone() is not None

        raise duplicate_line(chunk, known) from None


def import_postgres(recorder: Any, lines: Iterable[str | bytes], today: date, now: datetime) -> Importer:
    import psycopg

    schema, table = recorder.datastore.schema, recorder.events_table_name
    qualified = f'"{schema}"."{table}"'
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
        # The same lock eventsourcing takes: notification ids are issued in commit order.
        cur.execute(f"LOCK TABLE {qualified} IN EXCLUSIVE MODE")

        def existing(oid: UUID) -> tuple[int, str, dict[bytes, Stored]] | None:
            sql = f"SELECT originator_version, state FROM {qualified} WHERE originator_id=%s ORDER BY 1"
            cur.execute(sql, (oid,))
            return _existing([(r["originator_version"], r["state"]) for r in cur.fetchall()])

        cur.execute(f"SELECT 1 FROM {qualified} LIMIT 1")
        empty = cur.fetchone() is None
        importer = Importer(today, now, (lambda _oid: None) if empty else existing)
        cur.execute("CREATE TEMP TABLE import_ids (id uuid PRIMARY KEY) ON COMMIT DROP")
        for chunk in _chunks(importer.rows(lines)):
            ids = [UUID(bytes=i) for i in (*importer.stored_ids, *(r.event_id for r in chunk))]
            importer.stored_ids.clear()
            cur.execute("SAVEPOINT ids")
            try:
                with cur.copy("COPY import_ids (id) FROM STDIN") as copy:
                    for i in ids:
                        copy.write_row((i,))
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT ids")

                def known(i: bytes) -> bool:
                    cur.execute("SELECT 1 FROM import_ids WHERE id=%s", (UUID(bytes=i),))
                    return cur.fetchone() is not None

                raise duplicate_line(chunk, known) from None
            with cur.copy(
                f"COPY {qualified} (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy:
                for r in chunk:
                    copy.write_row((r.oid, r.version, r.topic, r.state))
        return importer
