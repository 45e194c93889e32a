"""An event file's lines become the same stored bytes whichever way they are written.

``import`` reuses a line's own bytes when the line is exactly its event's encoding (as the
benchmark's files are) and encodes the event otherwise (as ``export`` writes it, with
spaces): both must store byte-identical events and seals, and refuse the same mistakes.
"""

from __future__ import annotations

import os
import sqlite3

import msgspec

from ledger import events as ev
from tests.conftest import Clerk
from tests.test_store import _populate

_decoder = msgspec.json.Decoder(ev.AnyEvent)


def _stored(path: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        sql = "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_canonical_and_exported_lines_store_the_same_bytes(sqlite_clerk: Clerk, tmp_path: object) -> None:
    _populate(sqlite_clerk)
    exported = os.path.join(str(tmp_path), "events.jsonl")
    sqlite_clerk("export", exported)
    with open(exported, "rb") as f:
        lines = [line for line in f if line.strip()]
    canonical = os.path.join(str(tmp_path), "canonical.jsonl")
    with open(canonical, "wb") as f:
        f.writelines(msgspec.json.encode(_decoder.decode(line)) + b"\n" for line in lines)
    stores = []
    for name, path in (("a", exported), ("b", canonical)):
        other = Clerk(os.path.join(str(tmp_path), f"{name}.sqlite"))
        other("import", path)
        assert "intact" in other("verify").output
        stores.append(_stored(other.store))
    assert stores[0] == stores[1] and len(stores[0]) == len(lines)


def test_a_repeated_canonical_line_is_refused_by_its_line(sqlite_clerk: Clerk, tmp_path: object) -> None:
    _populate(sqlite_clerk)
    exported = os.path.join(str(tmp_path), "events.jsonl")
    sqlite_clerk("export", exported)
    with open(exported, "rb") as f:
        events = [_decoder.decode(line) for line in f if line.strip()]
    lines = [msgspec.json.encode(e) + b"\n" for e in events]
    path = os.path.join(str(tmp_path), "twice.jsonl")
    with open(path, "wb") as f:
        f.writelines([*lines, lines[-1]])
    other = Clerk(os.path.join(str(tmp_path), "c.sqlite"))
    result = other("import", path, expect=2)
    assert f"line {len(lines) + 1}" in result.output and "already in the store" in result.output
