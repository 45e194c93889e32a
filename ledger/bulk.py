"""The fast, still validated path for taking over recorded history (``zorgkas import``).

Rebuilding every aggregate through its commands costs far too much for a quarter of a
billion events, so an event file is decoded straight into typed events (msgspec checks
every field), checked line by line with the command line's own checks
(``ledger.validation``: INSZ, codes, dates, digits, text, amounts; no repeated keys, a
bounded line), given a derived id when it has none (so a file read twice is refused),
checked per member against the rule book's guards (``ledger.streamcheck``: a
registration first and once, R-FUND-1, no fine without its letter, reversals and
retractions of real events only, judged over the member's stored events too), numbered
after each member's last stored event, sealed (``ledger/seal.py``), and written in chunks
inside **one** transaction by the store adapter (``ledger/recorders.py``): the file lands
whole or not at all. A line written exactly as its event's encoding (as the benchmark's
files are) is decoded once and its own bytes are placed and sealed; any other line takes
the general path, to the same stored bytes. Repeated event ids are found by
``ledger.idcheck`` (a Bloom filter, the ids in a temporary file). A big file is checked
and sealed by worker processes (``ledger.pipeline``, ``import --workers``). Memory grows
with the number of members (their last version and link, about 0.7 KB each) plus about 2
bytes per event for the duplicate-id filter; the guards keep an event's id only when a
line of the file names it (``streamcheck.referenced_ids``; a pipe, which cannot be read
twice: 17 bytes for every event).
"""

from __future__ import annotations

import hashlib
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger import events as ev
from ledger import seal
from ledger.errors import BadInput
from ledger.eventfile import EventFile, bounded_lines, member_key, owned_lines, read_line, repeated_key
from ledger.idcheck import IdCheck
from ledger.identity import member_id
from ledger.recorders import ImportJob, ImportRow
from ledger.streamcheck import Stored, StreamCheck, referenced_ids, stored_decoder, type_code
from ledger.validation import MAX_LINE, EventChecker

CHUNK = 20_000
_typed = msgspec.json.Decoder(ev.AnyEvent)
_untyped = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


@dataclass(slots=True)  # one per member met (about 0.7 KB with its guards): no __dict__ each
class _Stream:
    version: int
    link: str
    check: StreamCheck  # the rule book's guards over the member's events
    oid_bytes: bytes  # the stream id's bytes, hex and placed form, once per member (not per event)
    oid_hex: str  # no UUID object kept: only a line not in the store's own form needs one
    placed: bytes  # ``_placed(str(oid))``


TOPICS = {cls: f"{cls.__name__}@{cls.VERSION}" for cls in ev.EVENT_TYPES}
# Lines without an "id" get one derived from their content and their position in the
# member's stream in the file: the same file imported twice is refused as a duplicate.
_LINE_IDS = uuid.UUID("0e7c4a5e-31d2-5b8f-a2f4-6c1d9e0b7a35")


def derived_id(e: ev.Event, position: int) -> uuid.UUID:
    """A UUIDv5-style id of an event without one: its canonical encoding and its position."""
    body = _encoder.encode(msgspec.structs.replace(e, id=ev.NIL))
    digest = hashlib.sha1(_LINE_IDS.bytes + b"%d:" % position + body, usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


# An event as a file holds it ends with the fields the store sets, unset: an import writes
# them by replacing this tail (the same bytes as encoding the placed event: msgspec writes
# a struct's fields in their declared order, a UUID as its canonical string).
_UNPLACED = b',"originator_id":"%s","originator_version":0,"chain":""}' % str(ev.NIL).encode()


class LineChecker:
    """Stage one, per line and independent of the store: decode into a typed event,
    check every value (``ledger.validation``, as the command line does), give an event
    without an id its derived one."""

    def __init__(self, today: date, now: datetime) -> None:
        self.today, self.now = today, now
        self.values = EventChecker(today, now)
        self.positions: dict[str, int] = {}  # lines per member so far (for derived ids)

    def decode(self, text: str | bytes, line_no: int) -> tuple[ev.Event, bool, bytes | None]:
        """The checked event of one line, whether the line carried its id, and the line's
        bytes when they are exactly the checked event's encoding (else None)."""
        if len(text) > MAX_LINE:
            raise BadInput("line", f"{len(text)} bytes", f"longer than {MAX_LINE} bytes", line_no)
        if isinstance(text, bytes):
            exact = self._exact(text)
            if exact is not None:
                event, canonical = exact
                checked = self._checked(event, line_no)
                return checked, True, canonical if checked is event else None
        try:
            event = _typed.decode(text)
            has_id = _carries_id(text, line_no)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
            # Slow path only for a line msgspec refuses: a precise message naming the field
            # (or a formatted INSZ, a lower-case region: accepted as the command line does).
            event, has_id = read_line(text, line_no)
        else:
            if event.originator_id != ev.NIL or event.originator_version or event.chain:
                raise BadInput("originator_id", None, "set by the store, not by an event file", line_no)
        return self._checked(event, line_no), has_id, None

    def _exact(self, text: bytes) -> tuple[ev.Event, bytes] | None:
        """The event of a line that is exactly its event's encoding with the store's fields
        unset (every line of a file written in the store's own form), else None.

        Such a line holds every key once, "id" among them: one encode and a compare
        instead of ``_carries_id``'s untyped decode. Its unset tail is not decoded (the
        defaults are those values; a UUID costs msgspec about a microsecond), so the
        encoding of what is decoded must give the whole line back."""
        body = text.rstrip(b" \t\r\n")  # JSON's own whitespace: \x0b or \x0c is malformed
        if not body.endswith(_UNPLACED):
            return None
        try:
            event = _typed.decode(body[: -len(_UNPLACED)] + b"}")
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
            return None
        canonical = _encoder.encode(event)
        return (event, canonical) if canonical == body else None

    def _checked(self, event: ev.Event, line_no: int) -> ev.Event:
        try:
            checked = self.values.checked(event)
        except BadInput as exc:
            raise BadInput(exc.field, exc.value, exc.reason, line_no) from None
        return checked

    def event(self, text: str | bytes, line_no: int) -> tuple[ev.Event, bytes | None]:
        """The checked event of one line, with its id (derived when the line has none), and
        its encoding when the line is exactly that (the importer then reuses the bytes)."""
        e, has_id, canonical = self.decode(text, line_no)
        positions = self.positions
        position = positions[e.insz] = positions.get(e.insz, 0) + 1
        if not has_id:
            return msgspec.structs.replace(e, id=derived_id(e, position)), None
        return e, canonical


def _carries_id(text: str | bytes, line_no: int) -> bool:
    """Whether a line that is not exactly its event's encoding has an "id" key; refuses a
    repeated key (invisible to a decoder: the last one wins).

    (A line that is exactly the decoded event's own encoding, compact msgspec JSON as a
    system that writes the store's own form produces, holds every key once, "id" among
    them: ``LineChecker.decode`` knows that from one encode and a compare.) Any other
    line (such as `export`'s readable ones) is decoded untyped: every key ends in '":',
    so fewer keys than that marker means a repeat (or the marker inside a string): only
    then the exact, slow check.
    """
    keys = _untyped.decode(text)
    if text.count(b'":' if isinstance(text, bytes) else '":') != len(keys):
        repeated = repeated_key(text)
        if repeated is not None:
            raise BadInput(repeated.field, repeated.value, repeated.reason, line_no)
    return "id" in keys


def _placed(oid: str) -> bytes:
    """What a placed event holds between its own fields and its version: with the version,
    ``_CHAIN``, the link and ``"}`` it replaces ``_UNPLACED`` (the same bytes as encoding
    the placed event: msgspec writes a struct's fields in their declared order, a UUID as
    its canonical string)."""
    return b',"originator_id":"' + oid.encode() + b'","originator_version":'


_CHAIN = b',"chain":"'


class Importer:
    """Stage two: number each member's events after its last stored one, check the rule
    book's guards over the member's stream, seal each event; yield rows to insert."""

    def __init__(self, today: date, now: datetime, key: bytes, to_stored: Callable[[bytes], bytes],
                 from_stored: Callable[[bytes], bytes]) -> None:  # fmt: skip
        self.today, self.now = today, now
        self.key = key
        self.to_stored, self.from_stored = to_stored, from_stored  # the cipher, if any
        self.existing: Callable[[UUID], list[tuple[int, bytes]]] | None = None
        self.streams: dict[str, _Stream] = {}
        # For the duplicate-id check (``ledger.idcheck``), taken with each chunk of rows:
        # the rows' event ids and lines, and the ids of the events already stored for
        # the members met (16 bytes an id, 8 a line: no object per event).
        self.ids = bytearray()
        self.lines = array("q")
        self.stored_ids = bytearray()
        self.events = 0
        self.members: int | None = None  # counted by the workers, when they ran the import
        # A regular file can be read twice: then the guards keep only the ids a line names
        # (``streamcheck.referenced_ids``) and read the rest again when they must (``recall``).
        self.source: EventFile | None = None
        self.keep: set[bytes] | None = None
        self.recall = self._recall  # one bound method for every member's guards

    def member_count(self) -> int:
        return len(self.streams) if self.members is None else self.members

    def _stream(self, insz: str, line_no: int) -> _Stream:
        oid = member_id(insz)
        version, stored = self._stored(oid, insz, line_no)
        keep, recall = self.keep, self.recall
        if not stored:
            check = StreamCheck(insz, keep=keep, recall=recall)
            return _Stream(0, "", check, oid.bytes, oid.hex, _placed(str(oid)))
        self.stored_ids += b"".join(s.id.bytes for s in stored)
        return _Stream(
            version,
            stored[-1].chain,
            StreamCheck(insz, stored, registered=True, keep=keep, recall=recall),
            oid.bytes,
            oid.hex,
            _placed(str(oid)),
        )

    def _stored(self, oid: UUID, insz: str, line_no: int) -> tuple[int, list[Stored]]:
        """The member's last stored version and its stored events, decoded (after the
        cipher) only as far as the guards need them: a later line may reverse, retract or
        fine against them."""
        rows = self.existing(oid) if self.existing else []
        try:
            stored = [stored_decoder.decode(self.from_stored(bytes(state))) for _v, state in rows]
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise BadInput(
                "insz",
                insz,
                "a stored event of this member cannot be read by this version "
                "(written by a newer version of zorgkas?): nothing imported",
                line_no,
            ) from None
        return (rows[-1][0] if rows else 0), stored

    def _recall(self, insz: str, event_id: bytes, line_no: int) -> int | None:
        """The guards' slow, exact path (``StreamCheck.recall``): the type code of the
        member's event ``event_id``, stored or on a line before ``line_no``, read again
        (the stored events, then the file's lines of this member, numbered and given their
        derived ids as the import did); None if the member has no such event."""
        for stored in self._stored(member_id(insz), insz, line_no)[1]:
            if stored.id.bytes == event_id:
                return type_code(stored.type)
        src = self.source
        assert src is not None and src.fd is not None and src.size is not None
        checker = LineChecker(self.today, self.now)
        digits = insz.encode()
        for n, text, _read in owned_lines(src.fd, src.size, lambda _text: 0, 0, 1, src.start):
            if n >= line_no:
                break
            if member_key(text) != digits:
                continue
            event, _canonical = checker.event(text, n)
            if event.id.bytes == event_id:
                return type_code(type(event).__name__)
        return None

    def row(self, event: ev.Event, line_no: int, canonical: bytes | None = None) -> ImportRow:
        """The stored row of a checked event; ``canonical``: its encoding, if known."""
        stream = self.streams.get(event.insz)
        if stream is None:
            stream = self.streams[event.insz] = self._stream(event.insz, line_no)
        event_id = event.id.int.to_bytes(16, "big")  # UUID.bytes, without its property call
        stream.check.admit(event, event_id, line_no)  # the rule book's guards (a re-read file: a duplicate)
        version = stream.version = stream.version + 1
        topic = TOPICS[type(event)]
        head = seal.head(stream.link, topic, stream.oid_bytes, version)
        if canonical is None or not canonical.endswith(_UNPLACED):
            oid = UUID(bytes=stream.oid_bytes)
            moved = msgspec.structs.replace(event, originator_id=oid, originator_version=version)
            unsealed = _encoder.encode(moved)
            stream.link = seal.link_after(self.key, head, unsealed)
            state = seal.sealed(unsealed, stream.link)
        else:  # the line's own bytes, placed (the unplaced tail replaced): no second encode
            placed = b"".join((canonical[: -len(_UNPLACED)], stream.placed, b"%d" % version, _CHAIN))
            stream.link = seal.link_after(self.key, head, placed + b'"}')
            state = b"".join((placed, stream.link.encode(), b'"}'))
        self.ids += event_id
        self.lines.append(line_no)
        self.events += 1
        return stream.oid_hex, version, topic, self.to_stored(state)

    def take(self) -> tuple[bytes, bytes, bytes]:
        """The event ids and lines of the rows made since the last take, and the ids stored
        before for the members met since: (ids, lines as ``array('q')`` bytes, stored)."""
        taken = bytes(self.ids), self.lines.tobytes(), bytes(self.stored_ids)
        self.ids, self.lines, self.stored_ids = bytearray(), array("q"), bytearray()
        return taken

    def rows(self, lines: Iterable[str | bytes]) -> Iterator[ImportRow]:
        checker = LineChecker(self.today, self.now)
        for first, batch in _line_batches(bounded_lines(lines), LINE_BATCH):
            for n, text in enumerate(batch, start=first):
                if text.strip():
                    event, canonical = checker.event(text, n)
                    yield self.row(event, n, canonical)

    def job(self, lines: Iterable[str | bytes], expected: int = 1 << 16, workers: int = 1,
            reader: Reader | None = None) -> ImportJob:  # fmt: skip
        """The import as the store adapter runs it, inside its transaction; ``expected``:
        about how many events (sizes the duplicate-id filter); ``workers`` > 1: checked
        and sealed by that many processes (``ledger.pipeline``), each reading the store
        through its own connection opened by ``reader``."""

        if isinstance(lines, EventFile) and lines.fd is not None and lines.size is not None:
            self.source = lines
            self.keep = referenced_ids(lines.fd, lines.size, lines.start)

        def start(existing: Callable[[UUID], list[tuple[int, bytes]]] | None) -> Iterator[list[ImportRow]]:
            if workers > 1:
                return self._pipelined(lines, expected, workers, reader if existing else None)
            self.existing = existing
            return checked_chunks(self._parts(lines), expected)

        return ImportJob(start=start)

    def _pipelined(self, lines: Iterable[str | bytes], expected: int, workers: int,
                   reader: Reader | None) -> Iterator[list[ImportRow]]:  # fmt: skip
        from ledger.pipeline import Pipeline

        pipeline = Pipeline(self, workers, reader, lines)
        try:
            for chunk in checked_chunks(pipeline.parts(lines), expected):
                self.events += len(chunk)
                yield chunk
        finally:
            pipeline.close()

    def _parts(self, lines: Iterable[str | bytes]) -> Iterator[Part]:
        chunk: list[ImportRow] = []
        for row in self.rows(lines):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                yield chunk, *self.take()
                chunk = []
        yield chunk, *self.take()


Reader = Callable[[], Callable[[UUID], list[tuple[int, bytes]]]]  # opens a read connection


# A chunk of rows with what the duplicate-id check needs of it (``Importer.take``).
Part = tuple[list[ImportRow], bytes, bytes, bytes]


def checked_chunks(parts: Iterable[Part], expected: int) -> Iterator[list[ImportRow]]:
    """The rows of ``parts`` as they come, their event ids (and the ids stored before for
    the members met) through the duplicate-id check; the first repeated line is refused
    at the end, before the transaction commits."""
    ids = IdCheck(expected)
    try:
        for rows, event_ids, lines, stored in parts:
            ids.add(stored, None)
            ids.add(event_ids, lines)
            if rows:
                yield rows
        repeated = ids.first_repeat()
        if repeated is not None:
            raise repeated
    finally:
        ids.close()


LINE_BATCH = 5_000


def _line_batches(lines: Iterable[str | bytes], size: int) -> Iterator[tuple[int, list[Any]]]:
    batch: list[Any] = []
    first = 1
    for n, text in enumerate(lines, start=1):
        if not batch:
            first = n
        batch.append(text)
        if len(batch) >= size:
            yield first, batch
            batch = []
    if batch:
        yield first, batch
