"""``zorgkas import --workers N``: the pipeline of worker processes (``ledger/pipeline.py``)
stores what the sequential import stores and refuses what it refuses, naming the same line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.population import generate
from commands.cli import cli
from ledger import pipeline
from ledger.validation import MAX_LINE
from tests.conftest import Clerk


def _population(tmp_path: Path, name: str = "p.jsonl") -> tuple[Path, list[bytes]]:
    lines = list(generate(300, 3, seed=7))
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path, lines


def _insz(line: bytes) -> bytes:
    at = line.index(b'"insz":"') + 8
    return line[at : at + 11]


def _rows(store: str) -> list[tuple[str, int, str, bytes]]:
    conn = sqlite3.connect(store)
    rows = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY 1, 2"
    ).fetchall()
    conn.close()
    return rows


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "BATCH", 37)  # many messages per worker, even for a small file


def test_the_pipeline_stores_the_same_rows_as_the_sequential_import(tmp_path: Path) -> None:
    path, lines = _population(tmp_path)
    stores = {}
    for workers in ("1", "2", "3"):
        clerk = Clerk(str(tmp_path / f"w{workers}.sqlite"))
        out = clerk("import", "--workers", workers, str(path)).output
        assert out.startswith(f"imported {len(lines)} events for 300 members")
        assert clerk("verify").output.startswith(f"verified {len(lines)} events")
        stores[workers] = _rows(clerk.store)
    assert stores["1"] == stores["2"] == stores["3"]
    again = Clerk(str(tmp_path / "w2.sqlite"))("import", "--workers", "2", str(path), expect=2)
    assert "line 1:" in again.output and "already in the store or the file" in again.output


def test_the_error_of_the_smallest_line_is_named_and_nothing_written(tmp_path: Path) -> None:
    _, lines = _population(tmp_path)
    # Bad lines of different members (so, mostly, of different workers); the one a worker
    # meets first is not the smallest.
    for at in (1900, 1500, 610):
        lines[at] = b'{"type": "PremiumPaid", "insz": "' + _insz(lines[at]) + b'"}\n'
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"".join(lines))
    for workers in ("1", "2"):
        clerk = Clerk(str(tmp_path / f"bad{workers}.sqlite"))
        result = clerk("import", "--workers", workers, str(path), expect=2)
        assert "line 611:" in result.output
        assert clerk("verify").output.startswith("verified 0 events")


def test_an_id_repeated_by_another_member_is_named(tmp_path: Path) -> None:
    _, lines = _population(tmp_path)
    first = lines[5].split(b'"id":"')[1][:36]
    later = next(i for i, line in enumerate(lines) if i > 1000 and _insz(line) != _insz(lines[5]))
    head, tail = lines[later].split(b'"id":"')
    lines[later] = head + b'"id":"' + first + tail[36:]
    path = tmp_path / "dup.jsonl"
    path.write_bytes(b"".join(lines))
    for workers in ("1", "2"):
        clerk = Clerk(str(tmp_path / f"dup{workers}.sqlite"))
        result = clerk("import", "--workers", workers, str(path), expect=2)
        assert f"line {later + 1}:" in result.output and "already in the store" in result.output
        assert clerk("verify").output.startswith("verified 0 events")


def test_a_member_written_with_a_formatted_insz_stays_one_member(tmp_path: Path) -> None:
    _, lines = _population(tmp_path)
    member = _insz(lines[0])
    formatted = b"%s.%s.%s-%s.%s" % (member[:2], member[2:4], member[4:6], member[6:9], member[9:])
    lines = [line.replace(b'"insz":"' + member, b'"insz":"' + formatted) if i % 2 else line
             for i, line in enumerate(lines)]  # fmt: skip
    path = tmp_path / "formatted.jsonl"
    path.write_bytes(b"".join(lines))
    one, two = Clerk(str(tmp_path / "f1.sqlite")), Clerk(str(tmp_path / "f2.sqlite"))
    assert (
        one("import", "--workers", "1", str(path)).output == two("import", "--workers", "2", str(path)).output
    )
    assert _rows(one.store) == _rows(two.store)


def test_a_big_file_uses_the_workers_by_itself_and_stdin_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline.os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    assert pipeline.workers_for(None, pipeline.THRESHOLD) == 3
    assert pipeline.workers_for(None, pipeline.THRESHOLD - 1) == 1
    assert pipeline.workers_for(None, None) == 1
    assert pipeline.workers_for(1, 10**10) == 1
    assert pipeline.workers_for(2, 10) == 2
    monkeypatch.setattr(pipeline.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert pipeline.workers_for(None, 10**10) == 1


def test_a_worker_that_dies_stops_the_import_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = _population(tmp_path)

    def dies_at_once(importer: object, reader: object, parent: int, reading: object, outbox: object,
                     stop: object) -> None:  # fmt: skip
        pipeline.os._exit(9)  # as a worker killed by the kernel

    monkeypatch.setattr(pipeline, "_work", dies_at_once)
    clerk = Clerk(str(tmp_path / "dead.sqlite"))
    result = clerk("import", "--workers", "2", str(path), expect=3)
    assert "a worker of the import stopped" in result.output
    assert clerk("verify").output.startswith("verified 0 events")


def test_standard_input_with_workers_is_read_by_the_main_process(tmp_path: Path) -> None:
    """A pipe cannot be read by every worker: the main process reads it and sends each
    worker its members' lines; the rows are those of the sequential import."""
    path, lines = _population(tmp_path)
    one = Clerk(str(tmp_path / "file1.sqlite"))
    one("import", "--workers", "1", str(path))
    piped = Clerk(str(tmp_path / "stdin2.sqlite"))
    env = {"ZORGKAS_STORE": piped.store, "ZORGKAS_CLERK": "test-clerk", "ZORGKAS_TODAY": piped.today}
    result = piped.runner.invoke(cli, ["import", "--workers", "2", "-"], input=b"".join(lines), env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"imported {len(lines)} events for 300 members from standard input")
    assert _rows(piped.store) == _rows(one.store)


def test_workers_number_and_bound_the_lines_of_a_file_as_the_sequential_import(tmp_path: Path) -> None:
    """Every worker reads the file itself: blank lines count, the last line may lack its
    newline, a line over the limit is refused by its number; all as with one process."""
    _, lines = _population(tmp_path)
    spaced = [line + (b"\n   \n" if i % 97 == 0 else b"") for i, line in enumerate(lines)]
    path = tmp_path / "spaced.jsonl"
    path.write_bytes(b"".join(spaced).rstrip(b"\n"))
    stores = {}
    for workers in ("1", "2"):
        clerk = Clerk(str(tmp_path / f"spaced{workers}.sqlite"))
        out = clerk("import", "--workers", workers, str(path)).output
        assert out.startswith(f"imported {len(lines)} events")
        stores[workers] = _rows(clerk.store)
    assert stores["1"] == stores["2"]
    long = list(lines)
    long[700] = long[700].rstrip(b"\n") + b" " * MAX_LINE + b"\n"
    path.write_bytes(b"".join(long))
    outputs = set()
    for workers in ("1", "2"):
        clerk = Clerk(str(tmp_path / f"long{workers}.sqlite"))
        result = clerk("import", "--workers", workers, str(path), expect=2)
        assert "line 701:" in result.output
        outputs.add(result.output)
        assert clerk("verify").output.startswith("verified 0 events")
    assert len(outputs) == 1


def test_a_line_is_checked_by_the_worker_of_its_member_whichever_way_it_is_written(tmp_path: Path) -> None:
    """The workers' own reading (``eventfile.owned_lines``, a shortcut for a line with 11
    plain digits) and the main process's routing (``pipeline._owner``) agree on every line,
    written however: otherwise a member's lines would be split between two workers and
    each would see only part of its stream."""
    import os

    from ledger.eventfile import owned_lines

    written = [
        b'{"type":"Registered","insz":"79113010453","on":"2024-01-01"}',
        b'{"type": "Registered", "insz": "79113010453"}',
        b'{"insz":"79.11.30-104.53","type":"Registered"}',
        b'{"insz":"\\u00379113010453"}',
        b'{"insz":"7911301045"}',
        b'{"type":"Registered"}',
        b"not json at all",
        b'{"clerk":"x \\"insz\\":\\"12345678901\\"","insz":"85073003328"}',
    ]
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in written))
    for parts in (2, 3, 5):
        owner = pipeline._owner(parts)
        fd = os.open(path, os.O_RDONLY)
        try:
            taken = {me: [n for n, _line, _read in owned_lines(fd, path.stat().st_size, owner, me, parts)]
                     for me in range(parts)}  # fmt: skip
        finally:
            os.close(fd)
        assert sorted(n for lines in taken.values() for n in lines) == list(range(1, len(written) + 1))
        for me, numbers in taken.items():
            assert all(owner(written[n - 1]) == me for n in numbers), (parts, me, numbers)
