"""The store adapter: every statement against the event store, for SQLite and PostgreSQL.

The eventsourcing library's application recorders are subclassed (its own extension
pattern) so that the library keeps doing what it does well — appends with optimistic
concurrency, the notification log, PostgreSQL's table lock and ``NOTIFY`` — and the
ledger's own needs live beside them in one place: appends that wait politely for a busy
store, the bulk import of an event file (SQLite ``executemany``, PostgreSQL ``COPY``
under the same lock, lock timeout and notification), scans by member-id range, counts,
the verification reads, and the store's identity and schema version. Nothing else in
the project opens the event store or holds SQL against it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal, NamedTuple, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.errors import BadInput, StoreUnavailable

APPLICATION_ID = 0x5A4B4153  # "ZKAS": SQLite's application_id of a zorgkas event store
KEYED_APPLICATION_ID = 0x5A4B414B  # "ZKAK": the same, with keyed member stream ids
SCHEMA = 2  # 1: links of plain SHA-256 (before the seal); 2: every link keyed
BUSY_WAIT = 10  # seconds a write waits for a store held by an import or a run
_FIRST_TRY = 0.2  # seconds before saying that we wait

Order = Literal["position", "member"]


class Row(NamedTuple):
    """One stored event as the database holds it."""

    position: int
    oid: UUID
    version: int
    topic: str
    state: bytes


# One event of an import as inserted: the member's stream id (32 hex digits, as SQLite
# stores it; PostgreSQL reads it), version, topic, state. A plain tuple: the import's
# workers send them ready for ``executemany`` (their ids go to the duplicate check apart).
ImportRow = tuple[str, int, str, bytes]


@dataclass
class ImportJob:
    """What a recorder needs from an import: rows in chunks, chunk by chunk.

    ``start(existing)`` is called inside the transaction with a function that returns a
    member's stored (version, state) rows (None: the store is empty); it returns the
    chunks to insert. The chunks are checked (duplicate ids too) as they come: an error
    raised while they are read rolls the transaction back.
    """

    start: Callable[[Callable[[UUID], list[tuple[int, bytes]]] | None], Iterator[list[ImportRow]]]


# What urllib.parse.quote leaves as it is in a path (its always-safe bytes and "/").
_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")


def quote(path: str) -> str:
    """``urllib.parse.quote(path)`` (UTF-8, every other byte as ``%XX``) for an SQLite URI:
    the same text without importing urllib.parse (and ipaddress), ~2 ms of every command."""
    return "".join(chr(b) if b in _URI_SAFE else f"%{b:02X}" for b in path.encode("utf-8"))


def _waiting(what: str) -> None:
    print(f"waiting for the store: {what} (at most {BUSY_WAIT} s)…", file=sys.stderr, flush=True)


def _id_range(part: tuple[int, int] | None) -> tuple[UUID | None, UUID | None]:
    """The k-th of n equal ranges of member ids; None means unbounded."""
    if part is None:
        return None, None
    k, n = part
    lo = UUID(int=(2**128 * k) // n) if k else None
    hi = UUID(int=(2**128 * (k + 1)) // n) if k + 1 < n else None
    return lo, hi


PAGE = 5000
T = TypeVar("T")


def _page(
    order: Order,
    part: tuple[int, int] | None,
    upto: int | None,
    last: Row | None,
    mark: str,
    position: str,
    as_id: Any,
) -> tuple[str, list[Any]]:
    """``WHERE … ORDER BY … LIMIT`` and its parameters for the page after row ``last``."""
    conds: list[str] = []
    params: list[Any] = []
    for op, bound in zip((">=", "<"), _id_range(part), strict=True):
        # After a page in member order the cursor below is the lower bound (it lies in the
        # range). Both bounds at once let SQLite seek by the range's start and scan from
        # there to the cursor for every page: a part but the first read quadratically
        # (a million members: most of a two-worker rebuild).
        if bound is not None and not (op == ">=" and last is not None and order != "position"):
            conds.append(f"originator_id {op} {mark}")
            params.append(as_id(bound))
    if upto is not None:
        conds.append(f"{position} <= {mark}")
        params.append(upto)
    if last is not None and order == "position":
        conds.append(f"{position} > {mark}")
        params.append(last.position)
    elif last is not None:
        conds.append(f"(originator_id, originator_version) > ({mark}, {mark})")
        params += [as_id(last.oid), last.version]
    where = f"WHERE {' AND '.join(conds)} " if conds else ""
    by = position if order == "position" else "originator_id, originator_version"
    return f"{where}ORDER BY {by} LIMIT {PAGE}", params


def paged(fetch: Callable[[Row | None], list[T]], cursor: Callable[[T], Row]) -> Iterator[list[T]]:
    """The pages ``fetch`` returns, each after the ``cursor`` of the last one's last row,
    until a short page: how both stores read a long scan, a page per short transaction,
    so the scan never holds the store."""
    last: Row | None = None
    while True:
        page = fetch(last)
        if page:
            yield page
        if len(page) < PAGE:
            return
        last = cursor(page[-1])


def member_cursor(row: tuple[Any, ...]) -> Row:
    """The cursor after a ``member_pages`` row (member id text, topic, state, version)."""
    return Row(0, UUID(row[0]), row[3], "", b"")


class SQLiteEventRecorder(SQLiteApplicationRecorder):
    """The embedded store: one SQLite file (WAL), identified by ``application_id``."""

    read_only = False
    keyed_ids = False  # for a new store: keyed member stream ids
    label = ""  # the path, for messages

    # -- identity --------------------------------------------------------------------
    @classmethod
    def create_file(cls, path: str, keyed_ids: bool, table: str = "stored_events") -> None:
        """A new, empty store at ``path``: made whole beside it, then linked into place,
        so a full disk or a kill leaves no empty or half-made store behind."""
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise BadInput("--store", path, "its folder does not exist")
        statements = SQLiteApplicationRecorder.construct_create_table_statements(
            SimpleNamespace(events_table_name=table)  # type: ignore[arg-type]
        )
        temp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{uuid4().hex[:8]}.new")
        try:
            # Privacy: a store holds national register numbers; owner only.
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            # A rollback journal while it is made (the library turns on WAL when it opens
            # the store): every page is in the file itself once this connection closes.
            conn = sqlite3.connect(temp, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"PRAGMA application_id={KEYED_APPLICATION_ID if keyed_ids else APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={SCHEMA}")
                for statement in statements:
                    conn.execute(statement)
                conn.execute("COMMIT")
                if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("the new store did not read back whole")
            finally:
                conn.close()
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == 0:
                os.replace(temp, path)  # an empty file left by an older version
            else:
                try:
                    os.link(temp, path)
                except FileExistsError:  # another clerk made it first: use theirs
                    pass
                except OSError as exc:  # a file system without hard links
                    if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                        raise
                    if not os.path.exists(path):
                        os.rename(temp, path)
        except sqlite3.Error as exc:
            raise _sqlite_failure(exc, path) from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StoreUnavailable(f"the disk is full: no store made at {path}") from None
            raise BadInput("--store", path, f"no store can be made here ({exc.strerror})") from None
        finally:
            for leftover in (temp, temp + "-wal", temp + "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)

    @staticmethod
    def inspect_file(path: str, table: str = "stored_events") -> tuple[int, bool, bool]:
        """(schema version, read-only here, keyed member ids) of the store at ``path``; any other
        file (a reporting database, a document) is refused before anything is written."""
        writable = os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)
        uri = "file:" + quote(os.path.abspath(path)) + ("?mode=ro" if writable else "?immutable=1")
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _sqlite_failure(exc, path) from None
            raise BadInput("--store", path, "is not a zorgkas event store (not an SQLite database)") from None
        ours = columns == ["originator_id", "originator_version", "topic", "state"]
        if app_id in (APPLICATION_ID, KEYED_APPLICATION_ID) and (ours or version > SCHEMA):
            return int(version), not writable, app_id == KEYED_APPLICATION_ID
        if app_id == 0 and version == 0 and ours:
            return 1, not writable, False  # written before stores carried their identity
        raise BadInput(
            "--store", path, "is not a zorgkas event store (another SQLite database); nothing written"
        )

    def create_table(self) -> None:
        if self.read_only:
            return
        with self._writing("creating the store") as c:
            for statement in self.create_table_statements:
                c.execute(statement)
            c.execute(f"PRAGMA application_id={KEYED_APPLICATION_ID if self.keyed_ids else APPLICATION_ID}")
            if c.execute("PRAGMA user_version").fetchone()[0] == 0:
                c.execute(f"PRAGMA user_version={SCHEMA}")

    def schema(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA user_version")
            return int(c.fetchone()[0]) or 1

    def has_keyed_ids(self) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA application_id")
            return int(c.fetchone()[0]) == KEYED_APPLICATION_ID

    def set_schema(self, version: int) -> None:
        with self._writing("recording the schema version") as c:
            c.execute(f"PRAGMA user_version={int(version)}")

    # -- writing ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Cursor]:
        """A write transaction: the write lock first (BEGIN IMMEDIATE), waiting at most
        ``BUSY_WAIT`` seconds with a word on stderr; then commit or roll back whole."""
        if self.read_only:
            raise BadInput("--store", self.label, "the store is read-only here; nothing written")
        with self.datastore.get_connection(commit=True) as conn, conn.cursor() as c:
            c.execute(f"PRAGMA busy_timeout={int(_FIRST_TRY * 1000)}")
            try:
                c.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise _sqlite_failure(exc, self.label) from None
                _waiting("another import or run is writing")
                c.execute(f"PRAGMA busy_timeout={BUSY_WAIT * 1000}")
                try:
                    c.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as again:
                    raise _sqlite_failure(again, self.label) from None
            c.execute(f"PRAGMA busy_timeout={BUSY_WAIT * 1000}")
            try:
                yield c
                c.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    c.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise IntegrityError(exc) from None
                if isinstance(exc, sqlite3.OperationalError):
                    raise _sqlite_failure(exc, self.label) from None
                raise

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self._writing("appending events") as c:
            return self._insert_events(c, stored_events)  # type: ignore[arg-type]

    def rewrite(self, rows: Iterator[tuple[UUID, int, bytes]]) -> int:
        """Replace stored states in place (``zorgkas reseal`` only), in one transaction."""
        n = 0
        with self._writing("re-sealing") as c:
            sql = (
                f"UPDATE {self.events_table_name} SET state=? WHERE originator_id=? AND originator_version=?"
            )
            for oid, version, state in rows:
                c.execute(sql, (state, oid.hex, version))
                n += 1
            c.execute(f"PRAGMA application_id={APPLICATION_ID}")
            c.execute(f"PRAGMA user_version={SCHEMA}")
        return n

    def import_rows(self, job: ImportJob) -> None:
        table = self.events_table_name
        with self._writing("importing") as c:
            c.execute("PRAGMA cache_size=-65536")  # bounded cache for the key index inserts
            empty = c.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None

            def existing(oid: UUID) -> list[tuple[int, bytes]]:
                sql = f"SELECT originator_version, state FROM {table} WHERE originator_id=? ORDER BY 1"
                return [(v, bytes(s)) for v, s in c.execute(sql, (oid.hex,)).fetchall()]

            insert = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)"
            try:
                for chunk in job.start(None if empty else existing):
                    c.executemany(insert, chunk)
            except sqlite3.IntegrityError:
                raise BadInput(
                    "FILE", self.label, "a member changed while importing; nothing written, try again"
                ) from None

    def reader(self) -> Callable[[], Callable[[UUID], list[tuple[int, bytes]]]]:
        """For an import's worker process: opens its own read connection and returns a
        member's stored (version, state) rows, as they were before the import began."""
        db, table = self.datastore.pool.db_name, self.events_table_name

        def open_reader() -> Callable[[UUID], list[tuple[int, bytes]]]:
            conn = sqlite3.connect(db, uri=True, isolation_level=None)
            sql = f"SELECT originator_version, state FROM {table} WHERE originator_id=? ORDER BY 1"
            return lambda oid: [(v, bytes(s)) for v, s in conn.execute(sql, (oid.hex,)).fetchall()]

        return open_reader

    # -- reading ---------------------------------------------------------------------
    def rows(
        self, order: Order, part: tuple[int, int] | None = None, upto: int | None = None
    ) -> Iterator[Row]:
        """Stored rows by position or by member; ``part`` = (k, n) keeps the k-th of n
        member-id ranges; ``upto`` keeps positions up to it. Read in pages, each in its
        own short transaction, so a long scan never holds the store."""
        columns = "rowid, originator_id, originator_version, topic, state"

        def fetch(last: Row | None) -> list[Row]:
            sql, params = _page(order, part, upto, last, "?", "rowid", lambda u: u.hex)
            with self.datastore.transaction(commit=False) as c:
                c.execute(f"SELECT {columns} FROM {self.events_table_name} {sql}", params)
                fetched = c.fetchall()
            # A member's rows share one id: parse each id text once per page, not per row.
            ids = {t: UUID(t) for t in {r[1] for r in fetched}}
            return [Row(r[0], ids[r[1]], r[2], r[3], bytes(r[4])) for r in fetched]

        for page in paged(fetch, lambda row: row):
            yield from page

    def member_pages(self, part: tuple[int, int] | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """Pages of (member id, topic, state, version) by member and version: what a rebuild
        reads, as the database returns them (no ``Row`` nor ``UUID`` per event). The id is
        the stored text; rows of one member share an equal one. Paged like ``rows``."""
        select = f"SELECT originator_id, topic, state, originator_version FROM {self.events_table_name}"

        def fetch(last: Row | None) -> list[tuple[Any, ...]]:
            sql, params = _page("member", part, None, last, "?", "rowid", lambda u: u.hex)
            with self.datastore.transaction(commit=False) as c:
                # Plain tuples: eventsourcing's connection makes a ``sqlite3.Row`` of every
                # row, which costs a rebuild more than reading it (this cursor's own setting).
                cursor = c.sqlite_cursor
                cursor.row_factory = None
                cursor.execute(f"{select} {sql}", params)
                return cursor.fetchall()

        return paged(fetch, member_cursor)

    def count(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT count(*) FROM {self.events_table_name}")
            return int(c.fetchone()[0])


def _sqlite_failure(exc: sqlite3.Error, label: str) -> Exception:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreUnavailable(
            f"the store {label} is busy: another import or run held it for more than "
            f"{BUSY_WAIT} s; nothing written, try again"
        )
    if "full" in text:
        return StoreUnavailable(f"the disk holding the store {label} is full; nothing written")
    if "readonly" in text or "read-only" in text:
        return BadInput("--store", label, "the store is read-only here; nothing written")
    return BadInput("--store", label, f"the store cannot be written ({text})")


def __getattr__(name: str) -> Any:
    """``PostgresEventRecorder`` lives in ``ledger.recorders_postgres``: importing it pulls in
    psycopg and its pool, which a clerk's command on an SQLite store must not pay for."""
    if name == "PostgresEventRecorder":
        from ledger.recorders_postgres import PostgresEventRecorder

        return PostgresEventRecorder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
