"""Projections into a reporting database analysts query and chart (SQLite or PostgreSQL).

Tables: members (current status), affiliation_periods, premiums, letters, fines,
budgets, fund_switches; views: arrears_by_fund_year, letters_fines_per_year,
members_becoming_eligible. The position in the event log is stored in ``_position``
in the same transaction as the rows: a second run reads only new events and rewrites
only the members they touch, and a crash mid-run leaves the previous extract whole.
A run with another ``--as-of`` (or other options) than the stored one starts over.

INSZ numbers are pseudonymized with a keyed hash (HMAC-SHA256) unless ``--with-insz``;
the key comes from ``ZORGKAS_PSEUDONYM_KEY`` or ``~/.zorgkas/pseudonym.key`` (created
readable by its owner only) and never enters the reporting database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from ledger import events as ev
from ledger.errors import BadInput
from ledger.history import History
from ledger.member import Member
from ledger.rules import affiliation as aff
from ledger.store import Ledger, redact
from projections.status import Status

TABLES: dict[str, dict[str, str]] = {
    "members": {
        "member": "TEXT PRIMARY KEY",
        "insz": "TEXT",
        "born_year": "INTEGER",
        "region": "TEXT",
        "health_fund": "TEXT",
        "obligation": "TEXT",
        "affiliated": "INTEGER",
        "fund": "TEXT",
        "kind": "TEXT",
        "affiliated_since": "TEXT",
        "joined_on_time": "INTEGER",
        "eligible": "INTEGER",
        "eligible_from": "TEXT",
        "premiums_cents": "BIGINT",
        "fines_cents": "BIGINT",
        "total_cents": "BIGINT",
        "credit_cents": "BIGINT",
        "unpaid_years": "TEXT",
    },
    "affiliation_periods": {
        "member": "TEXT",
        "fund": "TEXT",
        "kind": "TEXT",
        "start": "TEXT",
        "end_date": "TEXT",
        "opened_by_rule": "TEXT",
    },
    "premiums": {
        "member": "TEXT",
        "year": "INTEGER",
        "fund": "TEXT",
        "due_cents": "BIGINT",
        "paid_cents": "BIGINT",
        "status": "TEXT",
        "reduced": "INTEGER",
        "paid_on": "TEXT",
        "amount_confirmed": "INTEGER",
    },
    "letters": {
        "member": "TEXT",
        "year": "INTEGER",
        "fund": "TEXT",
        "sent_on": "TEXT",
        "premium_years": "TEXT",
        "amount_cents": "BIGINT",
    },
    "fines": {
        "member": "TEXT",
        "year": "INTEGER",
        "fund": "TEXT",
        "imposed_on": "TEXT",
        "amount_cents": "BIGINT",
        "status": "TEXT",
    },
    "budgets": {"member": "TEXT", "kind": "TEXT", "start": "TEXT", "monthly_cents": "BIGINT"},
    "fund_switches": {
        "member": "TEXT",
        "from_fund": "TEXT",
        "to_fund": "TEXT",
        "requested_on": "TEXT",
        "effective": "TEXT",
    },
}

VIEWS = {
    "arrears_by_fund_year": """
        SELECT p.fund, p.year, COUNT(*) AS premiums, SUM(p.due_cents) AS due_cents,
               SUM(p.paid_cents) AS paid_cents, SUM(p.due_cents - p.paid_cents) AS arrears_cents,
               SUM(CASE WHEN p.status <> 'paid' THEN 1 ELSE 0 END) AS unpaid_premiums,
               COALESCE((SELECT SUM(f.amount_cents) FROM fines f
                         WHERE f.fund = p.fund AND f.year = p.year AND f.status = 'open'), 0)
                 AS open_fines_cents
        FROM premiums p GROUP BY p.fund, p.year""",
    "letters_fines_per_year": """
        SELECT l.year, l.fund, COUNT(*) AS letters,
               (SELECT COUNT(*) FROM fines f WHERE f.year = l.year AND f.fund = l.fund) AS fines,
               (SELECT COALESCE(SUM(f.amount_cents), 0) FROM fines f
                 WHERE f.year = l.year AND f.fund = l.fund AND f.status <> 'annulled') AS fines_cents
        FROM letters l GROUP BY l.year, l.fund""",
    "members_becoming_eligible": """
        SELECT SUBSTR(eligible_from, 1, 4) AS year, fund, COUNT(*) AS members
        FROM members WHERE eligible_from IS NOT NULL GROUP BY SUBSTR(eligible_from, 1, 4), fund""",
}
POSITION = "_position"


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


def member_rows(member: Member, as_of: date, key: bytes, with_insz: bool) -> dict[str, list[dict[str, Any]]]:
    """Every reporting row of one member, as of ``as_of``."""
    history = History.view(member.insz, member.events, as_of)
    if not history.is_registered:
        return {name: [] for name in TABLES}
    status = Status.of(history)
    data = status.to_json()
    mk = hmac.new(key, member.insz.encode(), hashlib.sha256).hexdigest()[:20]
    reg = history.registration
    res = history.residence_on(as_of)

    def fund_on(day: date) -> str | None:
        return aff.fund_on(history, day)

    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    arrears = data["arrears"]
    rows["members"].append(
        {
            "member": mk,
            "insz": member.insz if with_insz else None,
            "born_year": reg.born.year,
            "region": res.region,
            "health_fund": reg.health_fund,
            "obligation": data["obligation"],
            "affiliated": int(data["affiliated"]),
            "fund": data["fund"],
            "kind": data["kind"],
            "affiliated_since": data["affiliated_since"],
            "joined_on_time": None if data["joined_on_time"] is None else int(data["joined_on_time"]),
            "eligible": int(data["eligible"]),
            "eligible_from": data["eligible_from"],
            "premiums_cents": arrears["premiums_cents"],
            "fines_cents": arrears["fines_cents"],
            "total_cents": arrears["total_cents"],
            "credit_cents": data["credit_cents"],
            "unpaid_years": ",".join(map(str, arrears["unpaid_years"])),
        }
    )
    for p in aff.periods(history):
        rows["affiliation_periods"].append(
            {
                "member": mk,
                "fund": p.fund,
                "kind": p.kind,
                "start": p.start.isoformat(),
                "end_date": p.end.isoformat() if p.end else None,
                "opened_by_rule": p.opened_by.rule,
            }
        )
    for year, ya in sorted(status.account.years.items()):
        rows["premiums"].append(
            {
                "member": mk,
                "year": year,
                "fund": fund_on(max(date(year, 1, 1), ya.due.owed_from)),
                "due_cents": ya.due.amount_cents,
                "paid_cents": ya.paid_cents,
                "status": ya.status,
                "reduced": int(ya.due.reduced),
                "paid_on": ya.paid_on.isoformat() if ya.paid_on else None,
                "amount_confirmed": int(ya.due.confirmed),
            }
        )
    for letter in history.of(ev.RegisteredLetterSent):
        rows["letters"].append(
            {
                "member": mk,
                "year": letter.year,
                "fund": fund_on(letter.on),
                "sent_on": letter.on.isoformat(),
                "premium_years": ",".join(map(str, letter.premium_years)),
                "amount_cents": letter.amount_cents,
            }
        )
    for year, fine in sorted(status.account.fines.items()):
        rows["fines"].append(
            {
                "member": mk,
                "year": year,
                "fund": fund_on(fine.fine.on),
                "imposed_on": fine.fine.on.isoformat(),
                "amount_cents": fine.fine.amount_cents,
                "status": fine.status,
            }
        )
    for b in history.of(ev.BudgetGranted):
        rows["budgets"].append(
            {"member": mk, "kind": b.kind, "start": b.on.isoformat(), "monthly_cents": b.monthly_cents}
        )
    for sw in history.of(ev.FundSwitched):
        rows["fund_switches"].append(
            {
                "member": mk,
                "from_fund": sw.from_fund,
                "to_fund": sw.to_fund,
                "requested_on": sw.on.isoformat(),
                "effective": sw.effective.isoformat(),
            }
        )
    return rows


class Target(Protocol):
    def read_position(self) -> dict[str, Any] | None: ...
    def reset(self) -> None: ...
    def delete_members(self, keys: list[str]) -> None: ...
    def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None: ...
    def write_position(self, position: int, settings: str) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


def schema_statements(q: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """(drop and create the tables, create the views), names qualified by ``q``; the
    same SQL for SQLite and PostgreSQL."""
    tables = [f"DROP VIEW IF EXISTS {q(view)}" for view in VIEWS]
    tables += [f"DROP TABLE IF EXISTS {q(table)}" for table in [*TABLES, POSITION]]
    for table, columns in TABLES.items():
        cols = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        tables.append(f"CREATE TABLE {q(table)} ({cols})")
        if table != "members":
            tables.append(f"CREATE INDEX IF NOT EXISTS {table}_member ON {q(table)} (member)")
    tables.append(f"CREATE TABLE {q(POSITION)} (position BIGINT, settings TEXT, updated_at TEXT)")
    views = [f"CREATE VIEW {q(view)} AS {sql}" for view, sql in VIEWS.items()]
    return tables, views


class SqliteTarget:
    """A reporting database file, written with sqlite-utils in one transaction."""

    def __init__(self, path: str) -> None:
        import sqlite_utils

        self.db = sqlite_utils.Database(path)
        self.conn = self.db.conn
        self.conn.execute("BEGIN IMMEDIATE")

    def read_position(self) -> dict[str, Any] | None:
        if POSITION not in self.db.table_names():
            return None
        rows = list(self.db[POSITION].rows)
        return rows[0] if rows else None

    def reset(self) -> None:
        tables, views = schema_statements(lambda name: name)
        for statement in [*tables, *views]:
            self.conn.execute(statement)

    def delete_members(self, keys: list[str]) -> None:
        for table in TABLES:
            self.conn.executemany(f"DELETE FROM {table} WHERE member = ?", [(k,) for k in keys])

    def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Rows as tuples in the column order of ``TABLES[table]``."""
        if rows:
            cols = list(TABLES[table])
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            self.conn.executemany(sql, rows)

    def write_position(self, position: int, settings: str) -> None:
        self.conn.execute(f"DELETE FROM {POSITION}")
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
        self.conn.execute(f"INSERT INTO {POSITION} VALUES (?, ?, ?)", (position, settings, now))

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


class PostgresTarget:
    """The same tables in schema ``zorgkas_reporting`` of a PostgreSQL database."""

    SCHEMA = "zorgkas_reporting"

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=False)
        self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.SCHEMA}")
        self.conn.execute("SELECT pg_advisory_xact_lock(4242001)")  # one report run at a time

    def _q(self, name: str) -> str:
        return f"{self.SCHEMA}.{name}"

    def read_position(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT to_regclass(%s)", (self._q(POSITION),)).fetchone()
        if row is None or row[0] is None:
            return None
        found = self.conn.execute(f"SELECT position, settings FROM {self._q(POSITION)}").fetchone()
        return {"position": found[0], "settings": found[1]} if found else None

    def reset(self) -> None:
        tables, views = schema_statements(self._q)
        for statement in tables:
            self.conn.execute(statement)
        self.conn.execute(f"SET LOCAL search_path TO {self.SCHEMA}")  # the views name tables unqualified
        for statement in views:
            self.conn.execute(statement)

    def delete_members(self, keys: list[str]) -> None:
        for table in TABLES:
            self.conn.execute(f"DELETE FROM {self._q(table)} WHERE member = ANY(%s)", (keys,))

    def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Rows as tuples in the column order of ``TABLES[table]``."""
        if rows:
            cols = list(TABLES[table])
            with (
                self.conn.cursor() as cur,
                cur.copy(f"COPY {self._q(table)} ({', '.join(cols)}) FROM STDIN") as cp,
            ):
                for r in rows:
                    cp.write_row(r)

    def write_position(self, position: int, settings: str) -> None:
        self.conn.execute(f"DELETE FROM {self._q(POSITION)}")
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
        self.conn.execute(f"INSERT INTO {self._q(POSITION)} VALUES (%s, %s, %s)", (position, settings, now))

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def open_target(target: str) -> Target:
    try:
        if target.startswith(("postgresql://", "postgres://")):
            return PostgresTarget(target)
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise BadInput("--to", target, "its folder does not exist")
        return SqliteTarget(target)
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(
            "--to", redact(target), f"cannot open the reporting database ({type(exc).__name__})"
        ) from None


def _changed_members(ledger: Ledger, after: int) -> tuple[set[str], int]:
    touched: set[str] = set()
    last = after
    for position, event in ledger.notifications(after):
        touched.add(event.insz)
        last = position
    return touched, last


def _write_members(
    target: Target, members: Iterable[Member], as_of: date, key: bytes, with_insz: bool, replace: bool
) -> int:
    count = 0
    batch: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    keys: list[str] = []
    for member in members:
        rows = member_rows(member, as_of, key, with_insz)
        for name, table_rows in rows.items():
            batch[name].extend(table_rows)
        keys.extend(r["member"] for r in rows["members"])
        count += 1
        if count % 2000 == 0:
            _flush(target, batch, keys, replace)
    _flush(target, batch, keys, replace)
    return count


def _flush(target: Target, batch: dict[str, list[dict[str, Any]]], keys: list[str], replace: bool) -> None:
    if replace and keys:
        target.delete_members(keys)
    for name, rows in batch.items():
        cols = list(TABLES[name])
        target.insert(name, [tuple(r[c] for c in cols) for r in rows])
        rows.clear()
    keys.clear()


def _load(ledger: Ledger, inszs: Iterable[str]) -> Iterator[Member]:
    for insz in sorted(inszs):
        yield ledger.load(insz)


PARALLEL_FROM_EVENTS = 200_000


def _workers(ledger: Ledger) -> int:
    """Processes for a full rebuild: members are independent, so use the cores.

    ``ZORGKAS_REPORT_WORKERS`` overrides; small stores are rebuilt in-process.
    """
    forced = os.environ.get("ZORGKAS_REPORT_WORKERS")
    if forced:
        return max(1, int(forced))
    if ledger.count_events() < PARALLEL_FROM_EVENTS:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _build_part(url: str, part: tuple[int, int], as_of: date, key: bytes, with_insz: bool, out: str) -> int:
    """One worker: the rows of one range of member ids, into its own SQLite file."""
    ledger = Ledger(url)
    target = SqliteTarget(out)
    try:
        target.reset()
        count = _write_members(target, ledger.members(part), as_of, key, with_insz, replace=False)
        target.commit()
        return count
    finally:
        target.close()
        ledger.close()


def _rebuild_in_parallel(
    target: Target, url: str, workers: int, as_of: date, key: bytes, with_insz: bool
) -> int:
    """Build ranges of members in worker processes, then copy them in the target's transaction."""
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    with tempfile.TemporaryDirectory(prefix="zorgkas-report-") as tmp:
        outs = [os.path.join(tmp, f"part{k}.sqlite") for k in range(workers)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            jobs = [
                pool.submit(_build_part, url, (k, workers), as_of, key, with_insz, outs[k])
                for k in range(workers)
            ]
            count = sum(job.result() for job in jobs)
        for out in outs:
            part = sqlite3.connect(out)
            try:
                for table, columns in TABLES.items():
                    rows = part.execute(f"SELECT {', '.join(columns)} FROM {table}")
                    while chunk := rows.fetchmany(20_000):
                        target.insert(table, chunk)
            finally:
                part.close()
    return count


def export_report(ledger: Ledger, target_url: str, *, rebuild: bool, as_of: date, with_insz: bool) -> str:
    """Bring the reporting database up to the event log; returns a one-line summary."""
    key = b"" if with_insz else pseudonym_key()
    settings = (
        f"as_of={as_of.isoformat()};with_insz={int(with_insz)};key={hashlib.sha256(key).hexdigest()[:8]}"
    )
    target = open_target(target_url)
    try:
        stored = target.read_position()
        full = rebuild or stored is None or stored["settings"] != settings
        head = ledger.max_position()
        if full:
            target.reset()
            workers = _workers(ledger)
            if workers > 1:
                count = _rebuild_in_parallel(target, ledger.url, workers, as_of, key, with_insz)
            else:
                count = _write_members(target, ledger.members(), as_of, key, with_insz, replace=False)
            what = "rebuilt"
        else:
            touched, head = _changed_members(ledger, int(stored["position"]))
            count = _write_members(target, _load(ledger, touched), as_of, key, with_insz, replace=True)
            what = "updated"
        target.write_position(head, settings)
        target.commit()
    except BaseException:
        target.rollback()
        raise
    finally:
        target.close()
    return f"report {what}: {count} members as of {as_of.isoformat()}, event position {head}"
