"""The event store: upcasting, hash chains and tampering, export/import, concurrent clerks."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Callable
from datetime import date, datetime

import msgspec
import pytest

from ledger import events as ev
from ledger.errors import ConcurrentChange, RuleRefused
from ledger.identity import member_id
from ledger.member import Stamp
from ledger.store import Ledger, decode_stored
from tests.conftest import Clerk, make_insz

A = make_insz(date(1990, 2, 2), 51)
B = make_insz(date(1991, 3, 3), 53)


def test_an_old_version_of_premium_paid_still_loads() -> None:
    stored_v1 = json.dumps(
        {
            "type": "PremiumPaid",
            "insz": A,
            "on": "2020-02-01",
            "recorded_at": "2020-02-02T08:00:00",
            "clerk": "legacy",
            "id": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "originator_id": str(member_id(A)),
            "originator_version": 3,
            "chain": "",
            "amount_cents": 5300,
            "ref": "OLD-77",
        }
    ).encode()
    event = decode_stored("PremiumPaid@1", stored_v1)
    assert isinstance(event, ev.PremiumPaid)
    assert (event.bank_ref, event.method, event.amount_cents) == ("OLD-77", "transfer", 5300)


def test_events_round_trip_through_msgspec() -> None:
    e = ev.FineImposed(
        insz=A,
        on=date(2024, 10, 20),
        recorded_at=datetime(2024, 10, 20, 9),
        clerk="c",
        year=2024,
        amount_cents=25000,
        premium_years=[2023, 2024],
    )
    assert ev.decode(ev.encode(e)) == e


def _populate(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2020-01-02")
    clerk("pay", A, "--amount", "53", "--on", "2020-02-01", "--bank-ref", "R1")
    clerk.register(B, "1991-03-03", "brussels", "NZV", "2021-01-01")
    clerk("pay", B, "--amount", "54", "--on", "2021-03-01", "--bank-ref", "R2")
    clerk("run", "letters", "--year", "2024", "--on", "2024-08-20")
    clerk("run", "fines", "--year", "2024", "--on", "2024-10-20")
    clerk("switch", A, "--to", "VZK", "--requested-on", "2025-11-20")


def test_verify_passes_on_an_untouched_store(clerk: Clerk) -> None:
    _populate(clerk)
    assert "every hash chain intact" in clerk("verify").output


def test_verify_names_the_member_and_event_of_an_edited_payment(sqlite_clerk: Clerk) -> None:
    _populate(sqlite_clerk)
    conn = sqlite3.connect(sqlite_clerk.store)
    row = conn.execute(
        "SELECT rowid, state FROM stored_events WHERE topic LIKE 'PremiumPaid%' LIMIT 1"
    ).fetchone()
    forged = row[1].replace(b'"amount_cents":5300', b'"amount_cents":9900')
    conn.execute("UPDATE stored_events SET state=? WHERE rowid=?", (forged, row[0]))
    conn.commit()
    conn.close()
    result = sqlite_clerk("verify", expect=1)
    assert A in result.output and "event 3 (PremiumPaid" in result.output


def test_verify_detects_tampering_on_postgres_too(postgres_url: str) -> None:
    clerk = Clerk(postgres_url)
    _populate(clerk)
    import psycopg

    with psycopg.connect(clerk.store, autocommit=True) as conn:
        conn.execute(
            "UPDATE zorgkas_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
            " '\"fund\":\"CM\"', '\"fund\":\"VZK\"'), 'UTF8') WHERE topic LIKE 'Affiliated%'"
        )
    result = clerk("verify", expect=1)
    assert "Affiliated" in result.output and "hash chain" in result.output


def test_verify_detects_a_deleted_event(sqlite_clerk: Clerk) -> None:
    _populate(sqlite_clerk)
    conn = sqlite3.connect(sqlite_clerk.store)
    conn.execute("DELETE FROM stored_events WHERE originator_version = 2")
    conn.commit()
    conn.close()
    assert "missing" in sqlite_clerk("verify", expect=1).output


def test_export_then_import_into_an_empty_store_answers_the_same(
    clerk: Clerk, tmp_path: object, import_workers: str
) -> None:
    clerk.import_workers = import_workers
    _populate(clerk)
    path = os.path.join(str(tmp_path), "events.jsonl")
    clerk("export", path)
    other = Clerk(os.path.join(str(tmp_path), "copy.sqlite"))
    other.import_workers = import_workers
    other("import", path)
    for insz in (A, B):
        for as_of in ("2020-06-01", "2024-09-01", "2026-01-02"):
            assert other.status(insz, "--as-of", as_of) == clerk.status(insz, "--as-of", as_of)
        assert other("explain", insz).output == clerk("explain", insz).output
    assert "intact" in other("verify").output
    again = other("import", path, expect=2)  # the same file twice: refused, nothing written
    assert "already in the store" in again.output


def test_import_is_all_or_nothing_and_names_the_line(
    sqlite_clerk: Clerk, tmp_path: object, import_workers: str
) -> None:
    sqlite_clerk.import_workers = import_workers
    good = {
        "type": "Registered",
        "insz": A,
        "on": "2020-01-01",
        "recorded_at": "2020-01-01T09:00:00",
        "clerk": "x",
        "born": "1990-02-02",
        "region": "flanders",
        "health_fund": "CM",
    }
    bad = {**good, "insz": B, "born": "not a date"}
    path = os.path.join(str(tmp_path), "in.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    result = sqlite_clerk("import", path, expect=2)
    assert "line 2" in result.output
    assert sqlite_clerk("status", A, expect=1)  # nothing of line 1 was written


def _until_not_busy(command: Callable[[], object]) -> None:
    while True:
        try:
            with contextlib.suppress(RuleRefused):
                command()
            return
        except ConcurrentChange:
            continue


def _hammer(store: str, insz: str, worker: int, ops: int, out: multiprocessing.Queue) -> None:
    ledger = Ledger(store)
    retried = 0
    for op in range(ops):
        stamp = Stamp(clerk=f"w{worker}", recorded_at=datetime(2026, 1, 1, 12), today=date(2026, 11, 23))
        ref = f"W{worker}-{op % (ops // 2)}"  # every reference is sent twice
        tries = {"n": 0}

        def decide(m, ref=ref, stamp=stamp, tries=tries):  # type: ignore[no-untyped-def]
            tries["n"] += 1
            return m.pay(
                stamp, amount_cents=100, on=date(2026, 2, 1), ogm=None, bank_ref=ref, method="transfer"
            )

        # A clerk whose command lost the race 60 times in a row is told the store is busy
        # (ConcurrentChange) and tries again: on a loaded machine eight processes on one
        # member can starve one that long. What must hold is that nothing is lost or doubled.
        _until_not_busy(lambda: ledger.change(insz, decide))
        retried += tries["n"] - 1
        if op % 10 == 0:
            _until_not_busy(
                lambda s=stamp: ledger.change(insz, lambda m: m.invite(s, year=2026, on=date(2026, 1, 10)))
            )
    ledger.close()
    out.put(retried)


def test_concurrent_clerks_lose_and_double_nothing(store_url: str) -> None:
    clerk = Clerk(store_url)
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2026-01-02")
    workers, ops = 8, 200
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(store_url, A, w, ops, queue)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0
    retried = sum(queue.get() for _ in procs)
    history = json.loads(clerk("history", A, "--json").output)
    payments = [e for e in history if e["type"] == "PremiumPaid"]
    invitations = [e for e in history if e["type"] == "PremiumInvited"]
    assert len(payments) == workers * ops // 2  # each bank reference exactly once
    assert len({p["bank_ref"] for p in payments}) == len(payments)
    assert len(invitations) == 1  # one invitation per member and year
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))
    assert "intact" in clerk("verify").output
    status = clerk.status(A, "--as-of", "2026-06-01")
    assert status["credit_cents"] == 100 * len(payments) - 10000  # money conserved
    print(f"concurrency: {workers}x{ops} operations, {retried} conflicts retried")


def test_a_member_event_msgspec_payload_is_validated_at_the_boundary() -> None:
    with pytest.raises(msgspec.ValidationError):
        ev.convert(
            {
                "type": "PremiumPaid",
                "insz": A,
                "on": "2020-01-01",
                "recorded_at": "2020-01-01T00:00:00",
                "clerk": "x",
                "amount_cents": "lots",
            }
        )


def test_a_line_repeated_in_an_event_file_is_refused_naming_it(
    clerk: Clerk, tmp_path: object, import_workers: str
) -> None:
    clerk.import_workers = import_workers
    line = {
        "type": "Registered", "insz": A, "on": "2020-01-01", "recorded_at": "2020-01-01T09:00:00",
        "clerk": "x", "born": "1990-02-02", "region": "flanders", "health_fund": "CM",
        "id": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
    }  # fmt: skip
    moved = {**line, "type": "Moved", "region": "brussels", "on": "2021-01-01"}
    del moved["born"], moved["health_fund"]
    path = os.path.join(str(tmp_path), "twice.jsonl")
    with open(path, "w") as f:
        f.write(
            json.dumps(line)
            + "\n"
            + json.dumps({**moved, "id": "7f9619ff-8b86-d011-b42d-00c04fc964ff"})
            + "\n"
        )
        f.write(json.dumps(moved) + "\n")
    result = clerk("import", path, expect=2)
    assert "line 3" in result.output and "already in the store or the file" in result.output
    clerk("status", A, expect=1)


def test_an_event_file_may_give_recorded_times_with_a_zone(sqlite_clerk: Clerk, tmp_path: object) -> None:
    line = {"type": "Registered", "insz": A, "on": "2020-01-01", "recorded_at": "2020-01-01T10:00:00+01:00",
            "clerk": "x", "born": "1990-02-02", "region": "flanders", "health_fund": "CM"}  # fmt: skip
    path = os.path.join(str(tmp_path), "zoned.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(line) + "\n")
    sqlite_clerk("import", path)
    assert json.loads(sqlite_clerk("history", A, "--json").output)[0]["recorded_at"] == "2020-01-01T09:00:00"


def test_a_bad_line_deep_in_a_large_file_is_named(
    sqlite_clerk: Clerk, tmp_path: object, import_workers: str
) -> None:
    sqlite_clerk.import_workers = import_workers  # fmt: skip
    from bench.population import generate

    lines = list(generate(200, 3, seed=4))
    lines[1234] = (
        b'{"type": "PremiumPaid", "insz": "'
        + lines[1234][lines[1234].index(b'"insz":"') + 8 :][:11]
        + b'"}\n'
    )
    path = os.path.join(str(tmp_path), "bad.jsonl")
    with open(path, "wb") as f:
        f.writelines(lines)
    result = sqlite_clerk("import", path, expect=2)
    assert "line 1235" in result.output
    assert sqlite_clerk("verify").output.startswith("verified 0 events")


def test_members_read_in_small_pages_come_whole_and_in_order(
    clerk: Clerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild reads members from pages of stored rows (``member_pages``): a member whose
    events straddle pages still comes once, whole, and every range of ids adds up."""
    from ledger import recorders

    _populate(clerk)
    ledger = Ledger(clerk.store)
    try:
        expected = {}
        for row in ledger.rows("member"):
            expected.setdefault(row.oid, []).append(row.version)
        monkeypatch.setattr(recorders, "PAGE", 3)  # both stores page through recorders.paged
        members = list(ledger.members())
        assert [len(m.events) for m in members] == [len(v) for v in expected.values()]
        assert [m.insz for m in members] == [ledger.load(m.insz).insz for m in members]
        assert [m.events for m in members] == [ledger.load(m.insz).events for m in members]
        parts = [m.insz for k in range(3) for m in ledger.members((k, 3))]
        assert parts == [m.insz for m in members]
    finally:
        ledger.close()


def test_a_later_page_of_any_part_seeks_by_its_cursor_not_by_the_part_s_start(sqlite_clerk: Clerk) -> None:
    """With the part's lower bound beside the cursor, SQLite sought the range's start and
    scanned to the cursor on every page: every part but the first was read quadratically
    (a two-worker rebuild of a million members spent most of its time there)."""
    from uuid import UUID

    from ledger import recorders

    _populate(sqlite_clerk)
    cursor = recorders.Row(0, UUID("c0000000-0000-0000-0000-000000000000"), 3, "", b"")
    with sqlite3.connect(sqlite_clerk.store) as conn:
        for part in [(1, 2), (1, 3), (2, 3)]:
            sql, params = recorders._page("member", part, None, cursor, "?", "rowid", lambda u: u.hex)
            plan = " ".join(
                row[-1]
                for row in conn.execute(f"EXPLAIN QUERY PLAN SELECT * FROM stored_events {sql}", params)
            )
            assert "(originator_id,originator_version)>(?,?)" in plan, plan
    conn.close()
