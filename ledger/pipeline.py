"""The import on several cores: the main process reads and writes, workers check and seal.

``zorgkas import`` of a big file checks and seals each event in Python (decode, value
checks, the rule book's guards, the seal): that work is per member, so it is spread over
worker processes by member. The main process does what a raw insert does: it reads the
lines, finds each line's INSZ (its digits: a formatted INSZ is the same member), and sends
the member's lines, in file order, always to the same worker (a hash of the INSZ). A
worker runs stage one and two of ``ledger.bulk`` on them (a line's derived id counts the
member's lines, which stay in order; stream numbers follow the member's stored events,
read over the worker's own read connection, which sees the store as it was before the
import: the import holds the write lock), and sends back compact rows (msgspec msgpack).
The main process inserts them in its one transaction and runs the duplicate-id check.

Rows of different members arrive interleaved: each member's versions stay ascending, but
the notification order across members may differ from the file order. Nothing reads the
store in file order: export and verification go by member, reporting by member too.

Errors: a worker stops at its first error; the main process then stops reading, sends
every line it has read, lets every worker finish, and reports the error of the smallest
line: every line before it has been checked, so it is the error the sequential import
reports. Nothing is written (the transaction rolls back). Workers are forked (cheap, and
they inherit the importer's key and cipher), die with the parent (``PR_SET_PDEATHSIG``),
and never touch the parent's connections (they leave by ``os._exit``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from ledger.children import die_with_parent
from ledger.errors import LedgerError
from ledger.eventfile import bounded_lines
from ledger.recorders import ImportRow

if TYPE_CHECKING:
    from ledger.bulk import Importer

BATCH = 2_000  # lines per message to a worker
THRESHOLD = 20_000_000  # bytes of a file from which the import uses the workers by itself
Existing = Callable[[UUID], list[tuple[int, bytes]]]

_encode = msgspec.msgpack.Encoder()  # both ways: batches of lines, rows back
_batch = msgspec.msgpack.Decoder(tuple[list[int], list[bytes]])
_from_worker = msgspec.msgpack.Decoder(tuple[int, list[ImportRow], list[bytes], int, bytes])
_OK, _ERROR, _DONE, _FAILED = 0, 1, 2, 3
_DIGITS = bytes(range(48, 58))
_NOT_DIGITS = bytes(b for b in range(256) if b not in _DIGITS)


def workers_for(requested: int | None, size: int | None) -> int:
    """How many workers: ``requested`` (1: the sequential import), else one per core for a
    file of at least ``THRESHOLD`` bytes (standard input stays sequential)."""
    if requested is not None:
        return max(1, requested)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if size is None or size < THRESHOLD or cores < 2:
        return 1
    return cores


def _member_key(text: bytes) -> bytes:
    """The digits of the line's INSZ (the member), found as the raw insert finds it; a
    line written otherwise is decoded for it; a line without one goes to any worker (it
    is refused there, whoever checks it)."""
    at = text.find(b'"insz":"')
    if at >= 0:
        end = text.find(b'"', at + 8)
        key = text[at + 8 : end]
        if b"\\" not in key:
            return key if len(key) == 11 and key.isdigit() else key.translate(None, _NOT_DIGITS)
    try:
        value = msgspec.json.decode(text).get("insz")
    except (msgspec.DecodeError, AttributeError, UnicodeDecodeError, RecursionError):
        return b""
    return value.encode().translate(None, _NOT_DIGITS) if isinstance(value, str) else b""


def _work(
    importer: Importer, reader: Callable[[], Existing] | None, parent: int, inbox: Any, outbox: Any
) -> None:
    """A worker: check, number and seal the lines it is sent, member by member."""
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    from ledger.bulk import LineChecker

    send = outbox.send_bytes
    failed = False
    try:
        importer.existing = reader() if reader is not None else None
        checker = LineChecker(importer.today, importer.now)
        while message := inbox.recv_bytes():
            if failed:
                continue  # stopped at the first error: read on until the end
            numbers, lines = _batch.decode(message)
            rows: list[tuple[Any, ...]] = []
            n = 0
            try:
                for n, text in zip(numbers, lines, strict=True):
                    event, canonical = checker.event(text, n)
                    rows.append(importer.row(event, n, canonical))
            except LedgerError as exc:
                failed = True
                send(_encode.encode((_ERROR, [], [], n, pickle.dumps(exc))))
                continue
            send(_encode.encode((_OK, rows, importer.stored_ids, 0, b"")))
            importer.stored_ids.clear()
        send(_encode.encode((_DONE, [], [], len(importer.streams), b"")))
    except BaseException:  # a bug, not bad input: the parent reports it
        send(_encode.encode((_FAILED, [], [], 0, traceback.format_exc().encode())))


class Pipeline:
    """The import's rows from ``workers`` processes, chunk by chunk, in the main process."""

    def __init__(self, importer: Importer, workers: int, reader: Callable[[], Existing] | None) -> None:
        self.importer = importer
        ctx = multiprocessing.get_context("fork")
        self.inboxes: list[Any] = []
        self.procs: list[Any] = []
        self.results: queue.SimpleQueue[tuple[int, bytes | None]] = queue.SimpleQueue()
        outboxes = []
        for _ in range(workers):
            inbox_r, inbox_w = ctx.Pipe(duplex=False)
            outbox_r, outbox_w = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_work, args=(importer, reader, os.getpid(), inbox_r, outbox_w), daemon=True
            )
            proc.start()
            inbox_r.close()
            outbox_w.close()
            self.inboxes.append(inbox_w)
            self.procs.append(proc)
            outboxes.append(outbox_r)
        # Results are received by threads (reading a pipe releases the GIL), so a worker
        # never waits on a full pipe while the main process waits on the worker's inbox.
        # Batches are sent by threads too: the main process hands a batch over and goes on
        # inserting while the worker is still busy with its previous one.
        self.outgoing: list[queue.Queue[bytes | None]] = [queue.Queue(maxsize=4) for _ in range(workers)]
        self.threads = [
            threading.Thread(target=self._receive, args=(w, c), daemon=True) for w, c in enumerate(outboxes)
        ]
        self.threads += [threading.Thread(target=self._send, args=(w,), daemon=True) for w in range(workers)]
        for t in self.threads:
            t.start()
        self.running = workers
        self.members = 0
        self.errors: list[tuple[int, BaseException]] = []

    def _hand(self, w: int, message: bytes) -> None:
        """Give a batch to worker ``w``'s sender, waiting while it is busy; a worker that
        died (killed, out of memory) stops the import instead of hanging it."""
        while True:
            try:
                self.outgoing[w].put(message, timeout=1)
                return
            except queue.Full:
                if not self.procs[w].is_alive():
                    raise RuntimeError("a worker of the import stopped unexpectedly") from None

    def _send(self, w: int) -> None:
        inbox, outgoing = self.inboxes[w], self.outgoing[w]
        try:
            while (message := outgoing.get()) is not None:
                inbox.send_bytes(message)
        except OSError:  # the worker is gone: its receiver reports it
            pass

    def _receive(self, w: int, conn: Any) -> None:
        try:
            while True:
                message = conn.recv_bytes()
                self.results.put((w, message))
                if message[1:2] in (b"\x02", b"\x03"):  # done or failed: the last message
                    return
        except (EOFError, OSError):
            self.results.put((w, None))
        finally:
            conn.close()

    def _take(self, message: bytes | None, stored: list[bytes]) -> list[ImportRow]:
        if message is None:
            self.running -= 1
            self.errors.append((0, RuntimeError("a worker of the import stopped unexpectedly")))
            return []
        kind, rows, ids, number, blob = _from_worker.decode(message)
        if kind == _OK:
            stored.extend(ids)
            return rows
        if kind == _ERROR:
            self.errors.append((number, pickle.loads(blob)))
        elif kind == _DONE:
            self.running -= 1
            self.members += number
        else:
            self.running -= 1
            self.errors.append((0, RuntimeError("a worker of the import failed:\n" + blob.decode())))
        return []

    def chunks(self, lines: Iterable[str | bytes], stored: list[bytes]) -> Iterator[list[ImportRow]]:
        """Rows to insert as they come back; raises the first line's error at the end."""
        n_workers = len(self.inboxes)
        numbers: list[list[int]] = [[] for _ in range(n_workers)]
        batches: list[list[bytes]] = [[] for _ in range(n_workers)]
        results = self.results
        key = _member_key

        def send(w: int) -> None:
            self._hand(w, _encode.encode((numbers[w], batches[w])))
            numbers[w], batches[w] = [], []

        for n, text in enumerate(bounded_lines(lines), start=1):
            if not text or text.isspace():
                continue
            if isinstance(text, str):
                text = text.encode()
            w = hash(key(text)) % n_workers
            batch = batches[w]
            batch.append(text)
            numbers[w].append(n)
            if len(batch) >= BATCH:
                send(w)
                while not results.empty():
                    rows = self._take(results.get()[1], stored)
                    if rows:
                        yield rows
                if self.errors:
                    break
        for w in range(n_workers):  # every line read is checked: an earlier error may wait there
            if batches[w]:
                send(w)
            self._hand(w, b"")
        while self.running:
            rows = self._take(results.get()[1], stored)
            if rows and not self.errors:
                yield rows
        if self.errors:
            raise min(self.errors, key=lambda e: e[0])[1]
        self.importer.members = self.members

    def close(self) -> None:
        for outgoing in self.outgoing:
            with contextlib.suppress(queue.Full):
                outgoing.put_nowait(None)
        for inbox in self.inboxes:
            inbox.close()
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
            proc.join()
