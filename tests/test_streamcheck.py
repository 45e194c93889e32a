"""The import's guards keep only the ids a line names: memory that grows with members, not events."""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from ledger import events as ev
from ledger import streamcheck
from ledger.streamcheck import StreamCheck, referenced_ids
from tests.conftest import make_insz

INSZ = make_insz(date(1980, 5, 5), 31)


def _event(cls: type[ev.Event], **fields: object) -> ev.Event:
    base = {"insz": INSZ, "on": date(2020, 1, 1), "recorded_at": datetime(2020, 1, 1, 9), "clerk": "x"}
    return cls(**base, **fields)  # type: ignore[arg-type]


def test_the_scan_finds_every_named_id_however_written_and_across_its_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streamcheck, "SCAN_BLOCK", 64)  # keys and ids cut by the blocks' ends
    named = [uuid.uuid4() for _ in range(36)]
    keys = ["target_id", "payment_id", "claim_id", "target\\u005fid", "payment_\\u0069d", "claim_id"]
    colons = [":", " : ", ":" + " " * 200, "\t:\r "]
    values = [
        str,
        lambda u: str(u).upper(),
        lambda u: u.hex,
        lambda u: "\\u00" + hex(ord(str(u)[0]))[2:] + str(u)[1:],
    ]
    lines = [
        f'{{"type":"X","{keys[k % 6]}"{colons[k % 4]}"{values[k // 9 % 4](u)}","id":"{uuid.uuid4()}"}}'
        for k, u in enumerate(named)
    ]
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert referenced_ids(fd, path.stat().st_size) == {u.bytes for u in named}
    finally:
        os.close(fd)


def test_a_stream_keeps_no_id_nobody_names() -> None:
    def recall(insz: str, event_id: bytes, line: int) -> int | None:
        return None

    check = StreamCheck(INSZ, keep=set(), recall=recall)
    for n, e in enumerate([
        _event(ev.Registered, born=date(1980, 5, 5), region="flanders", health_fund="CM"),
        _event(ev.PremiumPaid, amount_cents=5000),
        _event(ev.PremiumPaid, amount_cents=5000),
    ], start=1):  # fmt: skip
        check.admit(e, e.id.bytes, n)
    assert check.ids is None and check.kinds is None


def test_a_stream_keeps_the_named_ids_and_finds_them_without_reading_again() -> None:
    paid = _event(ev.PremiumPaid, amount_cents=5000)

    def recall(insz: str, event_id: bytes, line: int) -> int | None:
        raise AssertionError("a kept id is not read again")

    check = StreamCheck(INSZ, keep={paid.id.bytes}, recall=recall)
    check.admit(
        _event(ev.Registered, born=date(1980, 5, 5), region="flanders", health_fund="CM"),
        uuid.uuid4().bytes,
        1,
    )
    check.admit(paid, paid.id.bytes, 2)
    check.admit(_event(ev.PaymentReversed, payment_id=paid.id), uuid.uuid4().bytes, 3)
    assert check.ids == paid.id.bytes
