"""The import on several cores: the main process writes, workers read, check and seal.

``zorgkas import`` of a big file checks and seals each event in Python (decode, value
checks, the rule book's guards, the seal): that work is per member, so it is spread over
worker processes by member, each member always to the same worker (a hash of the digits
of its INSZ: a formatted INSZ is the same member). A worker runs stage one and two of
``ledger.bulk`` on its members' lines in file order (a line's derived id counts the
member's lines, which stay in order; stream numbers follow the member's stored events,
read over the worker's own read connection, which sees the store as it was before the
import: the import holds the write lock), and sends back batches of rows ready to insert
with their event ids and lines (msgspec msgpack). The main process inserts them in its
one transaction and runs the duplicate-id check over the ids.

Who reads the lines: a regular file is read by every worker by itself (``os.pread`` on
the inherited descriptor, ``eventfile.owned_lines``): each one numbers every line and keeps
its own members' lines, so the main process does no work per line but the insert. Other
input (standard input with ``--workers``) is read by the main process, which sends each
worker its members' lines in batches.

Rows of different members arrive interleaved: each member's versions stay ascending, but
the notification order across members may differ from the file order. Nothing reads the
store in file order: export and verification go by member, reporting by member too.

Errors: a worker stops at its first error and publishes its line; the others stop once
past it (a line before it may still hold an earlier error), every worker finishes, and
the main process reports the error of the smallest line: every line before it has been
checked, so it is the error the sequential import reports. Nothing is written (the
transaction rolls back). Workers are forked (cheap, and they inherit the importer's key
and cipher), die with the parent (``PR_SET_PDEATHSIG``), and never touch the parent's
connections (they leave by ``os._exit``). Memory: the results waiting to be inserted are
bounded (a few batches per worker); the rest grows with members, as the sequential import.
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
from itertools import repeat
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from ledger.children import die_with_parent
from ledger.errors import LedgerError
from ledger.eventfile import EventFile, bounded_lines, member_key, owned_lines

if TYPE_CHECKING:
    from ledger.bulk import Importer, Part

BATCH = 2_000  # lines per message to a worker, rows per message back
WAITING = 4  # messages per worker received and not yet inserted (bounds the memory)
THRESHOLD = 20_000_000  # bytes of a file from which the import uses the workers by itself
Existing = Callable[[UUID], list[tuple[int, bytes]]]

_encode = msgspec.msgpack.Encoder()  # both ways: batches of lines, rows back
_batch = msgspec.msgpack.Decoder(tuple[list[int], list[bytes]])
# kind, rows, their event ids, their lines, ids stored before, a number (an error's line,
# the members counted), a blob (the pickled error, a traceback), bytes of the file read
_from_worker = msgspec.msgpack.Decoder(
    tuple[int, list[tuple[str, int, str, bytes]], bytes, bytes, bytes, int, bytes, int]
)
_OK, _ERROR, _DONE, _FAILED = 0, 1, 2, 3
_NO_ERROR = 1 << 62  # the published first error's line while there is none


def workers_for(requested: int | None, size: int | None) -> int:
    """How many workers: ``requested`` (1: the sequential import), else one per core for a
    file of at least ``THRESHOLD`` bytes (standard input stays sequential)."""
    if requested is not None:
        return max(1, requested)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if size is None or size < THRESHOLD or cores < 2:
        return 1
    return cores


def _owner(n_workers: int) -> Callable[[bytes], int]:
    """Which worker checks a line's member (the same in every process: forked workers share
    the parent's hash seed)."""
    return lambda text: hash(member_key(text)) % n_workers


class _Reading:
    """Where a worker's lines come from: the file itself, or the main process's batches."""

    def __init__(self, me: int, n_workers: int, source: EventFile | None, inbox: Any) -> None:
        self.me, self.n_workers, self.source, self.inbox = me, n_workers, source, inbox

    def lines(self) -> Iterator[tuple[int, bytes, int]]:
        """(line number, line, bytes of the file read) of this worker's members."""
        if self.source is not None:
            src = self.source
            assert src.fd is not None and src.size is not None
            return owned_lines(src.fd, src.size, _owner(self.n_workers), self.me, self.n_workers, src.start)
        return self._received()

    def _received(self) -> Iterator[tuple[int, bytes, int]]:
        while message := self.inbox.recv_bytes():
            numbers, lines = _batch.decode(message)
            yield from zip(numbers, lines, repeat(0))

    def drain(self) -> None:
        """After an error: the main process still sends what it read; take it until the end."""
        if self.inbox is not None:
            while self.inbox.recv_bytes():
                pass


def _work(importer: Importer, reader: Callable[[], Existing] | None, parent: int, reading: _Reading,
          outbox: Any, stop: Any) -> None:  # fmt: skip
    """A worker: check, number and seal its members' lines; send the rows in batches."""
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    from ledger.bulk import LineChecker

    send = outbox.send_bytes
    try:
        importer.existing = reader() if reader is not None else None
        checker = LineChecker(importer.today, importer.now)
        event, row = checker.event, importer.row
        rows: list[Any] = []
        n = read = 0
        try:
            for n, text, read in reading.lines():
                checked, canonical = event(text, n)
                rows.append(row(checked, n, canonical))
                if len(rows) >= BATCH:
                    send(_encode.encode((_OK, rows, *importer.take(), 0, b"", read)))
                    rows = []
                    if stop.value < n:  # another worker failed before this line: done
                        reading.drain()
                        break
            send(_encode.encode((_OK, rows, *importer.take(), 0, b"", read)))
        except LedgerError as exc:
            line = getattr(exc, "line", None) or n
            with stop.get_lock():
                stop.value = min(stop.value, line)
            send(_encode.encode((_ERROR, [], b"", b"", b"", line, pickle.dumps(exc), read)))
            reading.drain()
        send(_encode.encode((_DONE, [], b"", b"", b"", len(importer.streams), b"", read)))
    except BaseException:  # a bug, not bad input: the parent reports it
        send(_encode.encode((_FAILED, [], b"", b"", b"", 0, traceback.format_exc().encode(), 0)))


class Pipeline:
    """The import's rows from ``workers`` processes, batch by batch, in the main process."""

    def __init__(self, importer: Importer, workers: int, reader: Callable[[], Existing] | None,
                 lines: Iterable[str | bytes]) -> None:  # fmt: skip
        self.importer = importer
        source = lines if isinstance(lines, EventFile) and lines.size is not None else None
        self.advance = source.advance if source is not None else None
        ctx = multiprocessing.get_context("fork")
        self.stop = ctx.Value("q", _NO_ERROR)
        self.inboxes: list[Any] = []
        self.procs: list[Any] = []
        # Bounded when the workers read the file (the main process only inserts); not when
        # it routes lines itself: it may wait on a worker's inbox while results pile up.
        waiting = WAITING * workers if source is not None else 0
        self.results: queue.Queue[tuple[int, bytes | None]] = queue.Queue(maxsize=waiting)
        outboxes = []
        for w in range(workers):
            inbox_r = inbox_w = None
            if source is None:
                inbox_r, inbox_w = ctx.Pipe(duplex=False)
            outbox_r, outbox_w = ctx.Pipe(duplex=False)
            reading = _Reading(w, workers, source, inbox_r)
            proc = ctx.Process(
                target=_work, args=(importer, reader, os.getpid(), reading, outbox_w, self.stop), daemon=True
            )
            proc.start()
            if inbox_r is not None:
                inbox_r.close()
                self.inboxes.append(inbox_w)
            outbox_w.close()
            self.procs.append(proc)
            outboxes.append(outbox_r)
        # Results are received by threads (reading a pipe releases the GIL), so a worker
        # goes on while the main process inserts; at most WAITING batches a worker wait.
        # Batches of lines (standard input) are sent by threads too: the main process
        # hands a batch over and goes on while the worker is still busy with its previous one.
        self.outgoing: list[queue.Queue[bytes | None]] = [queue.Queue(maxsize=4) for _ in self.inboxes]
        self.threads = [
            threading.Thread(target=self._receive, args=(w, c), daemon=True) for w, c in enumerate(outboxes)
        ]
        self.threads += [
            threading.Thread(target=self._send, args=(w,), daemon=True) for w in range(len(self.inboxes))
        ]
        for t in self.threads:
            t.start()
        self.running = workers
        self.members = 0
        self.errors: list[tuple[int, BaseException]] = []
        self.read = [0] * workers  # bytes of the file each worker has read
        self.shown = 0

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
        put = self.results.put
        try:
            while True:
                message = conn.recv_bytes()
                put((w, message))
                if message[1:2] in (b"\x02", b"\x03"):  # done or failed: the last message
                    return
        except (EOFError, OSError):
            put((w, None))
        finally:
            conn.close()

    def _take(self, w: int, message: bytes | None) -> Part | None:
        if message is None:
            self.running -= 1
            self.errors.append((0, RuntimeError("a worker of the import stopped unexpectedly")))
            return None
        kind, rows, ids, lines, stored, number, blob, read = _from_worker.decode(message)
        if self.advance is not None and read > self.read[w]:
            self.read[w] = read
            done = min(self.read)  # every line before it is checked
            if done > self.shown:
                self.advance(done - self.shown)
                self.shown = done
        if kind == _OK:
            return rows, ids, lines, stored
        if kind == _ERROR:
            self.errors.append((number, pickle.loads(blob)))
        elif kind == _DONE:
            self.running -= 1
            self.members += number
        else:
            self.running -= 1
            self.errors.append((0, RuntimeError("a worker of the import failed:\n" + blob.decode())))
        return None

    def parts(self, lines: Iterable[str | bytes]) -> Iterator[Part]:
        """Rows to insert, with their ids, as they come back; raises the first line's error
        at the end."""
        if self.inboxes:
            yield from self._routed(lines)
        results = self.results
        while self.running:
            part = self._take(*results.get())
            if part is not None and not self.errors:
                yield part
        if self.errors:
            raise min(self.errors, key=lambda e: e[0])[1]
        self.importer.members = self.members

    def _routed(self, lines: Iterable[str | bytes]) -> Iterator[Part]:
        """Standard input: read the lines here and send each worker its members' lines."""
        n_workers = len(self.inboxes)
        numbers: list[list[int]] = [[] for _ in range(n_workers)]
        batches: list[list[bytes]] = [[] for _ in range(n_workers)]
        results = self.results
        owner = _owner(n_workers)

        def send(w: int) -> None:
            self._hand(w, _encode.encode((numbers[w], batches[w])))
            numbers[w], batches[w] = [], []

        for n, text in enumerate(bounded_lines(lines), start=1):
            if not text or text.isspace():
                continue
            if isinstance(text, str):
                text = text.encode()
            w = owner(text)
            batch = batches[w]
            batch.append(text)
            numbers[w].append(n)
            if len(batch) >= BATCH:
                send(w)
                while not results.empty():
                    part = self._take(*results.get())
                    if part is not None:
                        yield part
                if self.errors:
                    break
        for w in range(n_workers):  # every line read is checked: an earlier error may wait there
            if batches[w]:
                send(w)
            self._hand(w, b"")

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
