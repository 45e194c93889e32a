"""Where reporting rows go: a SQLite file or a PostgreSQL schema, one transaction a run.

A target says what it is before anything is written: empty (a new reporting database),
ours at the current schema version, ours at an older version (rebuilt, with a message),
or something else — the event store or any other database — which is refused (exit 2)
and left untouched.

Rows of a member are replaced as a unit: the summary tables first lose the member's old
rows, the rows are deleted and inserted again, and the summaries gain the new rows, all
in the run's one transaction, so totals, rows and the position always agree.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledger.errors import BadInput
from ledger.store import redact
from projections.report_schema import (
    APP,
    BY_NAME,
    CHANGES_ON,
    PG_SCHEMA,
    POSITION,
    POSTGRES,
    SCHEMA_VERSION,
    SQLITE,
    SUMMARIES,
    TABLES,
    Dialect,
    comment_statements,
    create_statements,
    summary_apply,
    summary_rebuild,
)

sqlite3.register_adapter(date, date.isoformat)  # ISO text, as the schema says (not 3.12's deprecated default)

Rows = dict[str, list[tuple[Any, ...]]]
# (member pseudonym, sealed INSZ, next date a figure changes by the calendar alone)
Change = tuple[str, str, date]
MEMBER_TABLES_CHILDREN_FIRST = [t.name for t in TABLES if t.name != "members"] + ["members"]


@dataclass(frozen=True)
class Position:
    mode: str  # "nightly" | "extract"
    position: int
    as_of: date
    known_on: str | None
    settings: str


class Target:
    """What both targets share; the SQL differs only by dialect and parameter style."""

    dialect: Dialect
    label: str
    older: str | None = None  # set by identify() for a reporting database of an older schema
    _deferred: list[str]  # CREATE INDEX statements of a reset(indexes=False)

    # -- per dialect ------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def read_position(self) -> Position | None:
        raise NotImplementedError

    @property
    def ph(self) -> str:
        return "?" if self.dialect is SQLITE else "%s"

    def q(self, name: str) -> str:
        return self.dialect.qualify(name)

    # -- shared -----------------------------------------------------------------------------
    def reset(self, *, indexes: bool = True) -> None:
        """Drop and create the schema. ``indexes=False`` (a full rebuild) leaves the indexes
        to ``create_indexes``, after the rows are in: building an index once over loaded
        rows is cheaper than keeping it sorted row by row. Same transaction either way."""
        self._deferred = []
        for statement in create_statements(self.dialect):
            if not indexes and statement.startswith("CREATE INDEX"):
                self._deferred.append(statement)
            else:
                self.execute(statement)
        if self.dialect is POSTGRES:
            for statement in comment_statements():
                self.execute(statement)

    def create_indexes(self) -> None:
        """The indexes ``reset(indexes=False)`` left out."""
        for statement in self._deferred:
            self.execute(statement)
        self._deferred = []

    def insert_rows(self, rows: Rows) -> None:
        for name in BY_NAME:  # members first: the other tables refer to it
            if rows[name]:
                self.insert(name, rows[name])
                rows[name].clear()

    def insert_changes(self, changes: list[Change]) -> None:
        if changes:
            p = self.ph
            self.executemany(f"INSERT INTO {self.q(CHANGES_ON)} VALUES ({p}, {p}, {p})", changes)
            changes.clear()

    def rebuild_summaries(self) -> None:
        for s in SUMMARIES:
            self.execute(f"DELETE FROM {self.q(s.name)}")
            self.execute(summary_rebuild(s, self.dialect))

    def replace_members(self, keys: list[str], rows: Rows, changes: list[Change]) -> None:
        """Rewrite these members' rows and keep the summaries and ``_changes_on`` in step."""
        if not keys:
            return
        self.execute("DELETE FROM _batch")
        self.executemany(f"INSERT INTO _batch VALUES ({self.ph})", [(k,) for k in keys])
        for s in SUMMARIES:
            self.execute(summary_apply(s, self.dialect, "_batch", -1)[0])
        for name in [*MEMBER_TABLES_CHILDREN_FIRST, CHANGES_ON]:
            self.execute(f"DELETE FROM {self.q(name)} WHERE member IN (SELECT member FROM _batch)")
        self.insert_rows(rows)
        for s in SUMMARIES:
            for statement in summary_apply(s, self.dialect, "_batch", 1):
                self.execute(statement)
        self.insert_changes(changes)

    def due(self, day: date) -> list[tuple[str, str]]:
        """(pseudonym, sealed INSZ) of members whose figures change by ``day``."""
        sql = f"SELECT member, token FROM {self.q(CHANGES_ON)} WHERE day <= {self.ph}"
        return [(r[0], r[1]) for r in self.execute(sql, (day,)).fetchall()]

    def write_position(
        self, mode: str, position: int, as_of: date, known_on: str | None, settings: str
    ) -> None:
        self.execute(f"DELETE FROM {self.q(POSITION)}")
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
        p = ", ".join([self.ph] * 8)
        self.execute(
            f"INSERT INTO {self.q(POSITION)} VALUES ({p})",
            (APP, SCHEMA_VERSION, mode, position, as_of.isoformat(), known_on, settings, now),
        )

    def _position_from(self, columns: list[str], row: Sequence[Any] | None) -> Position | None:
        """Our own ``_position``: the current one, an older one (``self.older``), or refuse."""
        if "app" not in columns:
            if {"position", "settings"} <= set(columns):
                self.older = "schema 1"
                return None
            raise self.foreign("its _position table is not a zorgkas one")
        if row is None:
            self.older = "an unfinished first run"
            return None
        found = dict(zip(columns, row, strict=True))
        if found["app"] != APP:
            raise self.foreign(f"it was written by {found['app']!r}")
        version = int(found["schema_version"])
        if version > SCHEMA_VERSION:
            raise BadInput(
                "--to", self.label, f"was written by a newer zorgkas (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); use that version or another file",
            )  # fmt: skip
        if version < SCHEMA_VERSION:
            self.older = f"schema {version}"
            return None
        return Position(
            found["mode"], int(found["position"]), date.fromisoformat(found["as_of"]),
            found["known_on"], found["settings"],
        )  # fmt: skip

    def foreign(self, why: str) -> BadInput:
        return BadInput(
            "--to", self.label, f"is not a zorgkas reporting database ({why}); give a new file "
            "or a reporting database made by `zorgkas report`",
        )  # fmt: skip


def classify_sqlite(path: str) -> tuple[str, list[str]]:
    """("empty" | "sqlite" | "not-sqlite", table names) of a file, opened read-only."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return "empty", []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            ]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return "not-sqlite", []
    return ("sqlite" if names else "empty"), names


EVENT_STORE_TABLES = {"stored_events", "zorgkas_events"}
ROWS_PER_INSERT = 64  # capped by old SQLite's 999 parameters a statement: a 23-column table takes 43


# A rebuilt file's connection (``build_fresh``); the benchmark's raw write runs under the same.
FRESH_PRAGMAS = ("journal_mode = OFF", "synchronous = OFF", "cache_size = -65536")


class SqliteTarget(Target):
    """A reporting database file, written in one ``BEGIN IMMEDIATE`` transaction.

    A full rebuild (``build_fresh``) writes a new file beside the target instead, without
    a rollback journal, and renames it over the target at the commit: the lock on the
    old file is held throughout, and a crash leaves the old file whole.
    """

    dialect = SQLITE

    def __init__(self, path: str, *, check: bool = True) -> None:
        self.label = path
        self.path = path
        self.conn: sqlite3.Connection | None = None
        self._held: sqlite3.Connection | None = None  # the target's own, during build_fresh
        self._fresh: str | None = None
        if check:
            kind, names = classify_sqlite(path)
            if kind == "not-sqlite":
                raise self.foreign("it is not a SQLite database")
            if EVENT_STORE_TABLES & set(names):
                raise BadInput("--to", path, "is an event store; give the reporting database's own file")
            if names and POSITION not in names:
                raise self.foreign(f"it holds other tables: {', '.join(sorted(names)[:5])}")
        for _attempt in range(10):
            before = _inode(path)
            self.conn = sqlite3.connect(path, isolation_level=None)
            if before is None:
                before = _inode(path)
            self.conn.execute("PRAGMA cache_size = -65536")
            self.conn.execute("BEGIN IMMEDIATE")
            if _inode(path) == before or _attempt == 9:
                break
            # Another run renamed its rebuilt file over the target while this one waited
            # for the lock: the lock is on the old file; open the new one.
            self.conn.close()
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _batch (member TEXT PRIMARY KEY)")

    def build_fresh(self) -> None:
        """Write the rest of this run into a new file beside the target (a full rebuild).

        Nothing of the old rows is kept, so nothing needs a journal: the new file is
        written with ``journal_mode=OFF`` and ``synchronous=OFF``, and ``commit`` syncs it
        and renames it over the target. The target's lock is kept until then (other runs
        wait), and its mode is copied.
        """
        assert self.conn is not None and self._fresh is None
        real = os.path.realpath(self.path)
        fresh = fresh_path(real)
        if os.path.exists(fresh):
            os.unlink(fresh)  # a killed rebuild's
        os.close(os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))  # umask applies, as SQLite's
        os.chmod(fresh, os.stat(real).st_mode & 0o7777)
        try:
            conn = sqlite3.connect(fresh, isolation_level=None)
            for pragma in FRESH_PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("BEGIN")
        except BaseException:
            os.unlink(fresh)
            raise
        self._held, self.conn, self._fresh = self.conn, conn, fresh

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        assert self.conn is not None
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        assert self.conn is not None
        self.conn.executemany(sql, rows)

    def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Rows in statements of ``ROWS_PER_INSERT`` rows each (the rest one by one): a
        statement executed per row costs SQLite a step and a reset each, about a tenth of
        the insert; the rows go in in the same order."""
        cols = BY_NAME[table].stored
        one = f"({', '.join('?' * len(cols))})"
        head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
        k = max(1, min(ROWS_PER_INSERT, 999 // len(cols)))  # a wider table: fewer rows a statement
        whole = len(rows) - len(rows) % k
        if whole:
            # All values in one list (in C), then a slice per statement: half the cost of
            # flattening each statement's rows on its own.
            if set(map(len, rows)) != {len(cols)}:  # a row of the wrong width would shift the others
                raise ValueError(f"{table}: a row does not have the table's {len(cols)} columns")
            flat = list(itertools.chain.from_iterable(rows[:whole]))
            width = k * len(cols)
            statements = [flat[i : i + width] for i in range(0, len(flat), width)]
            self.executemany(head + ", ".join([one] * k), statements)
        if whole < len(rows):
            self.executemany(head + one, rows[whole:])

    def read_position(self) -> Position | None:
        names = {r[0] for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if POSITION not in names:
            return None
        cursor = self.execute(f"SELECT * FROM {POSITION}")
        columns = [c[0] for c in cursor.description]
        return self._position_from(columns, cursor.fetchone())

    def commit(self) -> None:
        self.execute("COMMIT")
        if self._fresh is None:
            return
        assert self.conn is not None and self._held is not None
        self.conn.close()
        fresh, self._fresh = self._fresh, None
        self.conn, self._held = self._held, None
        real = os.path.realpath(self.path)
        _fsync(fresh)
        if os.path.exists(real + "-journal"):
            # An empty target: SQLite opened a journal for it at BEGIN. End that transaction
            # first, so that no journal can outlive a crash beside the renamed file.
            self.conn.execute("ROLLBACK")
        os.replace(fresh, real)  # atomic: readers see the old file or the new one, whole
        _fsync(os.path.dirname(real), directory=True)
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")  # the old file's lock (nothing was written to it)

    def rollback(self) -> None:
        if self._fresh is not None:
            assert self.conn is not None
            self.conn.close()
            self.conn, self._held = self._held, None
            fresh, self._fresh = self._fresh, None
            if os.path.exists(fresh):
                os.unlink(fresh)
        if self.conn is not None and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._fresh is not None:
            self.rollback()
        if self.conn is not None:
            self.conn.close()


def fresh_path(target: str) -> str:
    """Where a full rebuild writes the new file: beside the target, under a fixed name,
    so the next run finds and removes what a killed run left."""
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}.report-rebuild")


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _fsync(path: str, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PostgresTarget(Target):
    """The same tables in schema ``zorgkas_reporting``, with real types and comments."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        import psycopg

        self.label = redact(url)
        self.conn = psycopg.connect(url, autocommit=False)
        self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
        self.conn.execute("SELECT pg_advisory_xact_lock(4242001)")  # one report run at a time
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _batch (member text PRIMARY KEY)")
        self.conn.execute(f"SET LOCAL search_path TO {PG_SCHEMA}, pg_temp")  # views name tables unqualified

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql, list(rows))  # type: ignore[arg-type]

    def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        cols = BY_NAME[table].stored
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {self.q(table)} ({', '.join(cols)}) FROM STDIN") as cp,
        ):
            for r in rows:
                cp.write_row(r)

    def read_position(self) -> Position | None:
        tables = {
            r[0]
            for r in self.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (PG_SCHEMA,)
            ).fetchall()
        }
        if POSITION not in tables:
            if tables:
                raise self.foreign(f"schema {PG_SCHEMA} holds other tables")
            return None
        cursor = self.execute(f"SELECT * FROM {self.q(POSITION)}")
        columns = [c.name for c in cursor.description]
        return self._position_from(columns, cursor.fetchone())

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_target(target: str, store_url: str) -> Target:
    """Open the reporting database for one run, refusing the event store and strangers."""
    if is_postgres(target):
        try:
            return PostgresTarget(target)
        except Exception as exc:
            raise BadInput(
                "--to", redact(target), f"cannot open the reporting database ({type(exc).__name__})"
            ) from None
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise BadInput("--to", target, "its folder does not exist")
    same = not is_postgres(store_url) and os.path.exists(target) and os.path.exists(store_url)
    if same and os.path.samefile(target, store_url):
        raise BadInput("--to", target, "is the event store itself; give the reporting database's own file")
    try:
        return SqliteTarget(target)
    except BadInput:
        raise
    except sqlite3.Error as exc:
        raise BadInput("--to", target, f"cannot open the reporting database ({exc})") from None
