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


def test_only_jsons_own_whitespace_may_follow_a_line_in_the_store_form(tmp_path: object) -> None:
    """A line exactly in the store's form takes a shortcut past the full decode; it must
    refuse what JSON refuses: a form feed or vertical tab after the object is malformed
    (exit 2, by its line), where spaces and a carriage return are whitespace."""
    from bench.population import generate

    lines = list(generate(2, 2, 7))
    for tail, code in ((b" \r", 0), (b"\x0c", 2), (b"\x0b", 2)):
        path = os.path.join(str(tmp_path), f"tail-{tail.hex()}.jsonl")
        with open(path, "wb") as f:
            f.writelines([*lines[:-1], lines[-1].rstrip(b"\n") + tail + b"\n"])
        other = Clerk(os.path.join(str(tmp_path), f"{tail.hex()}.sqlite"))
        result = other("import", path, expect=code)
        if code:
            assert f"line {len(lines)}" in result.output, result.output
