"""The PostgreSQL half of the store adapter (see ``ledger.recorders``).

Kept in its own module so that psycopg and its pool are imported only when a PostgreSQL
store is opened: a clerk's ``status`` or ``pay`` on an SQLite store starts without them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row

from ledger import recorders
from ledger.errors import BadInput, StoreUnavailable
from ledger.recorders import _FIRST_TRY, SCHEMA, ImportJob, Order, Row, _page, _waiting, member_cursor, paged


class PostgresEventRecorder(PostgresApplicationRecorder):
    """The PostgreSQL store: the library's table, plus a metadata table for its identity."""

    read_only = False
    keyed_ids = False  # for a new store: keyed member stream ids
    label = ""

    @staticmethod
    def probe(params: dict[str, Any]) -> str | None:
        """None if the server answers with these libpq parameters, else libpq's cause: the
        library's pool would only time out, without saying why."""
        import psycopg

        try:
            psycopg.connect(**params).close()
        except psycopg.Error as exc:
            text = str(exc).strip()
            return text.splitlines()[0].removeprefix("connection failed: ") if text else type(exc).__name__
        return None

    @property
    def meta_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.events_table_name}_meta"'

    @property
    def qualified(self) -> str:
        return f'"{self.datastore.schema}"."{self.events_table_name}"'

    # -- identity --------------------------------------------------------------------
    def create_table(self) -> None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT to_regclass(%s) AS t, to_regclass(%s) AS m", (self.qualified, self.meta_table)
            )
            found = curs.fetchone()
        existed = found["t"] is not None  # type: ignore[index]
        if existed and found["m"] is not None:  # type: ignore[index]
            # An existing store: no DDL, which would wait behind an import's table lock.
            self.datastore.register_type_adapters()
            return
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"CREATE TABLE IF NOT EXISTS {self.meta_table} (key text PRIMARY KEY, value text)")
            curs.execute(
                f"INSERT INTO {self.meta_table} VALUES ('application', 'zorgkas'), ('schema', %s), "
                "('stream_ids', %s) ON CONFLICT (key) DO "
                + ("NOTHING" if existed else "UPDATE SET value = EXCLUDED.value"),
                ("1" if existed else str(SCHEMA), "keyed" if self.keyed_ids and not existed else "insz"),
            )

    def meta(self) -> dict[str, str]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT to_regclass(%s) AS t", (self.meta_table,))
            if curs.fetchone()["t"] is None:  # type: ignore[index]
                return {}
            curs.execute(f"SELECT key, value FROM {self.meta_table}")
            return {r["key"]: r["value"] for r in curs.fetchall()}

    def schema(self) -> int:
        return int(self.meta().get("schema", "1"))

    def has_keyed_ids(self) -> bool:
        return self.meta().get("stream_ids") == "keyed"

    def set_schema(self, version: int) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"UPDATE {self.meta_table} SET value=%s WHERE key='schema'", (str(version),))

    # -- writing ---------------------------------------------------------------------
    def _lock_table(self, curs: Any) -> None:
        """The library's EXCLUSIVE table lock (insert order = commit order), taken with a
        short first try, then a word on stderr and at most ``BUSY_WAIT`` seconds."""
        import psycopg

        lock = f"LOCK TABLE {self.qualified} IN EXCLUSIVE MODE"
        curs.execute("SAVEPOINT zorgkas_lock")
        curs.execute(f"SET LOCAL lock_timeout = '{int(_FIRST_TRY * 1000)}ms'")
        try:
            curs.execute(lock)
        except psycopg.errors.LockNotAvailable:
            curs.execute("ROLLBACK TO SAVEPOINT zorgkas_lock")
            _waiting("another import or run is writing")
            curs.execute(f"SET LOCAL lock_timeout = '{recorders.BUSY_WAIT}s'")  # read now: tests shorten it
            try:
                curs.execute(lock)
            except psycopg.errors.LockNotAvailable:
                raise StoreUnavailable(
                    f"the store {self.label} is busy: another import or run held it for more "
                    f"than {recorders.BUSY_WAIT} s; nothing written, try again"
                ) from None
        curs.execute(f"SET LOCAL lock_timeout = '{self.datastore.lock_timeout}s'")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Any]:
        if self.read_only:
            raise BadInput("--store", self.label, "the store is read-only here; nothing written")
        import psycopg

        try:
            with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                self._lock_table(curs)
                self._notify_channel(curs)
                yield curs
        except psycopg.errors.DiskFull:
            raise StoreUnavailable(f"the disk of the store {self.label} is full; nothing written") from None

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert, without its pipeline, so the lock wait can be reported."""
        if not stored_events:
            return []
        with self._writing() as curs:
            super(PostgresApplicationRecorder, self)._insert_stored_events(curs, stored_events)
            return self._fetch_ids_after_insert_events(curs, stored_events)

    def rewrite(self, rows: Iterator[tuple[UUID, int, bytes]]) -> int:
        n = 0
        with self._writing() as curs:
            sql = f"UPDATE {self.qualified} SET state=%s WHERE originator_id=%s AND originator_version=%s"
            for oid, version, state in rows:
                curs.execute(sql, (state, oid, version))
                n += 1
            curs.execute(f"UPDATE {self.meta_table} SET value=%s WHERE key='schema'", (str(SCHEMA),))
        return n

    def import_rows(self, job: ImportJob) -> None:

        qualified = self.qualified
        with self._writing() as cur:

            def existing(oid: UUID) -> list[tuple[int, bytes]]:
                sql = f"SELECT originator_version, state FROM {qualified} WHERE originator_id=%s ORDER BY 1"
                cur.execute(sql, (oid,))
                return [(r["originator_version"], bytes(r["state"])) for r in cur.fetchall()]

            cur.execute(f"SELECT 1 FROM {qualified} LIMIT 1")
            empty = cur.fetchone() is None
            for chunk in job.start(None if empty else existing):
                with cur.copy(
                    f"COPY {qualified} (originator_id, originator_version, topic, state) FROM STDIN"
                ) as copy:
                    for r in chunk:
                        copy.write_row(r)

    def reader(self) -> Callable[[], Callable[[UUID], list[tuple[int, bytes]]]]:
        """For an import's worker process: opens its own connection and returns a member's
        stored (version, state) rows, as committed before the import (which holds the lock)."""
        params = {k: v for k, v in self.datastore.pool.kwargs.items() if k != "row_factory"}
        qualified = self.qualified

        def open_reader() -> Callable[[UUID], list[tuple[int, bytes]]]:
            import psycopg

            conn = psycopg.connect(**params, autocommit=True)
            sql = f"SELECT originator_version, state FROM {qualified} WHERE originator_id=%s ORDER BY 1"
            return lambda oid: [(v, bytes(s)) for v, s in conn.execute(sql, (oid,)).fetchall()]

        return open_reader

    # -- reading ---------------------------------------------------------------------
    def rows(
        self, order: Order, part: tuple[int, int] | None = None, upto: int | None = None
    ) -> Iterator[Row]:
        columns = "notification_id, originator_id, originator_version, topic, state"

        def fetch(last: Row | None) -> list[Row]:
            sql, params = _page(order, part, upto, last, "%s", "notification_id", lambda u: u)
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(f"SELECT {columns} FROM {self.qualified} {sql}", params)
                return [
                    Row(
                        r["notification_id"],
                        r["originator_id"],
                        r["originator_version"],
                        r["topic"],
                        bytes(r["state"]),
                    )
                    for r in curs.fetchall()
                ]

        for page in paged(fetch, lambda row: row):
            yield from page

    def member_pages(self, part: tuple[int, int] | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """Pages of (member id, topic, state, version) by member and version (as the SQLite
        recorder's): the id as text, so that a rebuild compares strings, not ``UUID``s."""
        columns = "originator_id::text AS member, topic, state, originator_version"

        def fetch(last: Row | None) -> list[tuple[Any, ...]]:
            sql, params = _page("member", part, None, last, "%s", "notification_id", lambda u: u)
            with self.datastore.transaction(commit=False) as curs:
                curs.row_factory = tuple_row  # not a dict a row: this cursor's own setting
                curs.execute(f"SELECT {columns} FROM {self.qualified} {sql}", params)
                fetched = curs.fetchall()
            return [(member, topic, bytes(state), version) for member, topic, state, version in fetched]

        return paged(fetch, member_cursor)

    def count(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT count(*) AS n FROM {self.qualified}")
            return int(curs.fetchone()["n"])  # type: ignore[index]
