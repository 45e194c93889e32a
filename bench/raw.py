"""The raw baselines, as small standalone processes timed from outside like the real path.

    python bench/raw.py insert DB FILE [--pragma 'journal_mode=WAL' …]
    python bench/raw.py scan STORE
    python bench/raw.py write SOURCE DB [--pragma 'journal_mode=OFF' …]

``insert`` is the physical floor of ``zorgkas import``: read the same event file, key
each line by (member, version) and insert it with ``executemany`` in one transaction,
under the PRAGMAs the import itself sets (``bench.stage`` observes them on the measured
path and passes them here), so journal mode, page cache and ``synchronous`` are the same.

``scan`` is the physical floor of a full rebuild: read every stored event of the store
the rebuild reads, in the same order (member, version), decode it into its typed event,
and fold it into the minimal per-member account (premiums and fines claimed minus paid).
It imports nothing of zorgkas but the event types.

``write`` is the floor of a rebuild's other half: write the rows a rebuild wrote (read
from the reporting database ``SOURCE`` it made) into a new file ``DB`` with the same
tables, in statements of 64 rows as the rebuild writes them, then build the same indexes,
under the PRAGMAs of a rebuilt file. Scan and write together are what a rebuild would
cost with a rule book that cost nothing (reading ``SOURCE`` is charged to the baseline:
it flatters the rebuild by a little).

Each prints one JSON line (count, effective PRAGMAs); time and CPU are measured by the
caller around the whole process, reading the file and starting Python included.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator

EFFECTIVE = ("journal_mode", "cache_size", "synchronous")
# The minimal account: what is claimed from a member minus what the member paid. Event
# types not defined (yet) are skipped; a new kind of claim belongs in DEBIT.
DEBIT = ("PremiumInvited", "PremiumClaimed", "FineImposed")
CREDIT = ("PremiumPaid",)


def effective_pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in EFFECTIVE}


def insert(db: str, file: str, pragmas: list[str]) -> dict[str, object]:
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in pragmas:
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, originator_version INTEGER, "
        "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    versions: dict[bytes, int] = {}

    def rows() -> Iterator[tuple[bytes, int, bytes, bytes]]:
        with open(file, "rb") as f:
            for line in f:
                # The member key: the INSZ (the store keys by a UUID derived from it).
                at = line.index(b'"insz":"') + 8
                insz = line[at : at + 11]
                version = versions.get(insz, 0) + 1
                versions[insz] = version
                at = line.index(b'"type":"') + 8
                yield insz, version, line[at : line.index(b'"', at)], line

    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", rows())
    conn.execute("COMMIT")
    count = sum(versions.values())
    result = {"count": count, "pragmas": effective_pragmas(conn)}
    conn.close()
    return result


def events_table(conn: sqlite3.Connection) -> str:
    """The store's events table: the one with member id, version, topic and state."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
        if {"originator_id", "originator_version", "topic", "state"} <= columns:
            return str(name)
    raise SystemExit("no events table in this store")


def scan(store: str) -> dict[str, object]:
    import msgspec

    from ledger import events as ev

    decoders = {cls.__name__: msgspec.json.Decoder(cls) for cls in ev.EVENT_TYPES}
    debit = tuple(cls for name in DEBIT if (cls := ev.BY_NAME.get(name)))
    credit = tuple(cls for name in CREDIT if (cls := ev.BY_NAME.get(name)))
    conn = sqlite3.connect(store)
    table = events_table(conn)
    count = members = owing = 0
    current = None
    balance = 0
    sql = f"SELECT originator_id, topic, state FROM {table} ORDER BY originator_id, originator_version"
    for oid, topic, state in conn.execute(sql):
        try:
            event = decoders[topic.partition("@")[0]].decode(state)
        except (KeyError, msgspec.DecodeError) as exc:
            raise SystemExit(
                f"raw scan: stored event {topic} of {oid} is not a plain typed event ({exc}); "
                "a sealed or encrypted store needs its opening step added here"
            ) from None
        count += 1
        if oid != current:
            members += 1
            owing += balance > 0
            current, balance = oid, 0
        if isinstance(event, debit):
            balance += event.amount_cents  # type: ignore[attr-defined]
        elif isinstance(event, credit):
            balance -= event.amount_cents  # type: ignore[attr-defined]
    owing += balance > 0
    conn.close()
    return {"count": count, "members": members, "owing": owing}


def write(source: str, db: str, pragmas: list[str]) -> dict[str, object]:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in pragmas:
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN")
    schema = src.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "AND type IN ('table', 'index') ORDER BY type = 'index', rowid"
    ).fetchall()
    rows = 0
    for kind, _name, sql in schema:
        if kind == "table":
            conn.execute(sql)
    for kind, name, _sql in schema:
        if kind != "table":
            continue
        # The stored columns (a generated column is computed, not written).
        cols = [r[1] for r in src.execute(f"PRAGMA table_xinfo({name})") if r[6] == 0]
        per = max(1, min(64, 999 // len(cols)))
        one = "(" + ", ".join("?" * len(cols)) + ")"
        head = f"INSERT INTO {name} ({', '.join(cols)}) VALUES "
        many = head + ", ".join([one] * per)
        cursor = src.execute(f"SELECT {', '.join(cols)} FROM {name}")
        while batch := cursor.fetchmany(per * 256):
            whole = len(batch) - len(batch) % per
            flat = [v for row in batch[:whole] for v in row]
            width = per * len(cols)
            conn.executemany(many, [flat[i : i + width] for i in range(0, len(flat), width)])
            if whole < len(batch):
                conn.executemany(head + one, batch[whole:])
            rows += len(batch)
    for kind, _name, sql in schema:
        if kind == "index":
            conn.execute(sql)
    conn.execute("COMMIT")
    result = {"rows": rows, "pragmas": effective_pragmas(conn)}
    conn.close()
    src.close()
    return result


def main() -> None:
    what, db, *rest = sys.argv[1:]
    if what == "insert":
        file, *flags = rest
        pragmas = [flags[i + 1] for i, flag in enumerate(flags) if flag == "--pragma"]
        print(json.dumps(insert(db, file, pragmas)))
    elif what == "scan":
        print(json.dumps(scan(db)))
    elif what == "write":
        target, *flags = rest
        pragmas = [flags[i + 1] for i, flag in enumerate(flags) if flag == "--pragma"]
        print(json.dumps(write(db, target, pragmas)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
