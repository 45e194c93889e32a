"""The fast, still validated path for taking over recorded history (``zorgkas import``).

Rebuilding every aggregate through its commands costs far too much for a quarter of a
billion events, so an event file is decoded straight into typed events (msgspec checks
every field), checked line by line (INSZ check digits, dates, amounts, a registration
first), numbered after each member's last stored event, sealed (``ledger/seal.py``), and written
in chunks inside **one** transaction by the store adapter (``ledger/recorders.py``): the
file lands whole or not at all. Memory grows with the number of members (their last
version and link), not with the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger import events as ev
from ledger import seal
from ledger.errors import BadInput
from ledger.eventfile import checked, parse_line
from ledger.identity import member_id, normalize_insz
from ledger.recorders import ImportJob, ImportRow

CHUNK = 20_000
_typed = msgspec.json.Decoder(ev.AnyEvent)
_encoder = msgspec.json.Encoder()


def duplicate_line(chunk: list[ImportRow], is_known: Callable[[bytes], bool]) -> BadInput:
    """The first line of a chunk whose event id is already stored or repeated in the file."""
    seen: set[bytes] = set()
    for r in chunk:
        if r.event_id in seen or is_known(r.event_id):
            return BadInput(
                "id", str(UUID(bytes=r.event_id)), "this event is already in the store or the file", r.line
            )
        seen.add(r.event_id)
    return BadInput("id", None, "an event id is already in the store or the file")


@dataclass
class _Stream:
    oid: UUID
    version: int
    link: str
    registered: bool


Prepared = tuple[str, bool, str, bytes, bytes, int]  # insz, is registration, topic, body, id, line
TOPICS = {cls: f"{cls.__name__}@{cls.VERSION}" for cls in ev.EVENT_TYPES}


class LineChecker:
    """Stage one, per line and independent of the store: decode into a typed event,
    check every value, encode it with the store fields unset."""

    def __init__(self, today: date, now: datetime) -> None:
        self.today, self.now = today, now
        self.valid_insz: set[str] = set()

    def decode(self, text: str | bytes, line_no: int) -> ev.Event:
        try:
            event = _typed.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError):
            # Slow path only for the bad line: a precise message naming the field.
            raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            return parse_line(raw, line_no, self.today, self.now)
        if event.originator_id != ev.NIL or event.originator_version or event.chain:
            raise BadInput("originator_id", None, "set by the store, not by an event file", line_no)
        if event.insz not in self.valid_insz:
            try:
                valid = normalize_insz(event.insz, "insz") == event.insz
            except BadInput as exc:
                raise BadInput(exc.field, exc.value, exc.reason, line_no) from None
            if not valid:
                raise BadInput("insz", event.insz, "write the INSZ as 11 digits", line_no)
            self.valid_insz.add(event.insz)
        return checked(event, line_no, self.today, self.now)

    def prepare(self, lines: Iterable[str | bytes], first_line: int) -> list[Prepared]:
        out: list[Prepared] = []
        for n, text in enumerate(lines, start=first_line):
            if text.strip():
                e = self.decode(text, n)
                body = _encoder.encode(e)
                out.append((e.insz, isinstance(e, ev.Registered), TOPICS[type(e)], body, e.id.bytes, n))
        return out


class Importer:
    """Stage two: number each member's events after its last stored one, require a
    registration first, seal each event; yield rows to insert."""

    def __init__(self, today: date, now: datetime, key: bytes, to_stored: Callable[[bytes], bytes],
                 from_stored: Callable[[bytes], bytes]) -> None:  # fmt: skip
        self.today, self.now = today, now
        self.key = key
        self.to_stored, self.from_stored = to_stored, from_stored  # the cipher, if any
        self.existing: Callable[[UUID], list[tuple[int, bytes]]] | None = None
        self.streams: dict[str, _Stream] = {}
        # Ids of the events already stored for the members met so far; the recorder puts
        # them in its duplicate-id index (a temporary table, so memory stays per member).
        self.stored_ids: list[bytes] = []
        self.events = 0

    def _stream(self, insz: str) -> _Stream:
        oid = member_id(insz)
        rows = self.existing(oid) if self.existing else []
        if not rows:
            return _Stream(oid, 0, "", False)
        decoded = [_stored.decode(self.from_stored(state)) for _v, state in rows]
        self.stored_ids.extend(d.id.bytes for d in decoded)
        return _Stream(oid, rows[-1][0], decoded[-1].chain, True)

    def row(self, event: ev.Event, line_no: int) -> ImportRow:
        stream = self.streams.get(event.insz)
        if stream is None:
            stream = self.streams[event.insz] = self._stream(event.insz)
        if not stream.registered:
            if not isinstance(event, ev.Registered):
                raise BadInput("type", event.type, f"{event.insz} has no Registered event before it", line_no)
            stream.registered = True
        stream.version += 1
        topic = TOPICS[type(event)]
        placed = msgspec.structs.replace(event, originator_id=stream.oid, originator_version=stream.version)
        unsealed = _encoder.encode(placed)
        stream.link = seal.link(self.key, stream.link, topic, stream.oid, stream.version, unsealed)
        state = self.to_stored(seal.sealed(unsealed, stream.link))
        self.events += 1
        return ImportRow(stream.oid, stream.version, topic, state, event.id.bytes, line_no)

    def rows(self, lines: Iterable[str | bytes]) -> Iterator[ImportRow]:
        checker = LineChecker(self.today, self.now)
        for first, batch in _line_batches(lines, LINE_BATCH):
            for n, text in enumerate(batch, start=first):
                if text.strip():
                    yield self.row(checker.decode(text, n), n)

    def job(self, lines: Iterable[str | bytes]) -> ImportJob:
        """The import as the store adapter runs it, inside its transaction."""

        def start(existing: Callable[[UUID], list[tuple[int, bytes]]] | None) -> Iterator[list[ImportRow]]:
            self.existing = existing
            return _chunks(self.rows(lines))

        return ImportJob(start=start, stored_ids=self.stored_ids, duplicate=duplicate_line)


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


def _chunks(rows: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Stored(msgspec.Struct):
    id: UUID
    chain: str = ""


_stored = msgspec.json.Decoder(_Stored)
