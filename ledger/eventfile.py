"""Event files (JSON lines): one event a line, as ``export`` writes and ``import`` reads.

Each line is an object with ``type``, ``insz``, ``on``, ``recorded_at``, ``clerk``, then
the event's own fields (amounts as integer ``…_cents``). Reading validates every line
(``ledger.validation``: the same checks as the command line) and names the line of the
first problem; nothing is written unless all lines are good.

A line must be UTF-8, at most ``MAX_LINE`` bytes, one JSON object without repeated keys
(a repeated ``insz`` would otherwise silently move the event to another member).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

import msgspec

from ledger import events as ev
from ledger.errors import BadInput
from ledger.validation import MAX_LINE, EventChecker, insz

REQUIRED = ("type", "insz", "on", "recorded_at", "clerk")
_STORE_ONLY = {"originator_id": str(ev.NIL), "originator_version": 0, "chain": ""}
_LOWER = ("region", "situation")  # choices the command line accepts in any case


def to_line(e: ev.Event) -> dict[str, Any]:
    raw = json.loads(ev.encode(e))
    for key in _STORE_ONLY:
        raw.pop(key, None)
    head = {k: raw.pop(k) for k in REQUIRED}
    return {**head, **raw}


def bounded_lines(source: Iterable[str | bytes] | IO[bytes]) -> Iterator[str | bytes]:
    """The lines of a file (or of any iterable), refusing one longer than ``MAX_LINE``
    before reading it whole: ``import /dev/zero`` stops at the first 16 KiB."""
    readline = getattr(source, "readline", None)
    if readline is None:
        for n, line in enumerate(source, start=1):  # type: ignore[arg-type]
            if len(line) > MAX_LINE:
                raise _too_long(n)
            yield line
        return
    n = 0
    while True:
        line = readline(MAX_LINE + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE:
            raise _too_long(n)
        yield line


class EventFile:
    """The lines of an event file (bounded, as ``bounded_lines`` reads them), and, when it
    is a regular file, its descriptor and size: the import's workers then read the file
    themselves (``owned_lines``) instead of being sent its lines. ``advance(n)`` is told
    the bytes read so far, whoever reads them (a progress bar)."""

    def __init__(self, handle: IO[bytes], advance: Callable[[int], None] | None = None) -> None:
        self.handle = handle
        self.advance = advance
        self.fd: int | None = None
        self.size: int | None = None
        self.start = 0
        try:
            fd = handle.fileno()
            info = os.fstat(fd)
            start = handle.tell()
        except (AttributeError, OSError, ValueError):
            return
        if stat.S_ISREG(info.st_mode):
            self.fd, self.size, self.start = fd, info.st_size, start

    def __iter__(self) -> Iterator[str | bytes]:
        advance = self.advance
        if advance is None:
            yield from bounded_lines(self.handle)
            return
        for line in bounded_lines(self.handle):
            yield line
            advance(len(line))


_DIGITS = bytes(range(48, 58))
_NOT_DIGITS = bytes(b for b in range(256) if b not in _DIGITS)


def member_key(text: bytes) -> bytes:
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


BLOCK = 1 << 20  # bytes a worker reads at a time
_INSZ_KEY = b'"insz":"'


def owned_lines(
    fd: int, size: int, owner: Callable[[bytes], int], me: int, parts: int, start: int = 0
) -> Iterator[tuple[int, bytes, int]]:
    """(line number, line, bytes read so far) of the lines of a regular file whose member
    is ``me`` of ``parts``, read by blocks with ``os.pread`` (no shared file offset: every
    worker reads the same descriptor). Numbered, bounded and blank-skipping exactly as
    ``bounded_lines`` and the import number them: every line counts, each line keeps its
    newline, a line longer than ``MAX_LINE`` (newline included) is refused.

    The member of a line is ``hash(digits of its INSZ) % parts``: found here without a
    call for a line that holds ``"insz":"`` and 11 digits (every worker looks at every
    line, so this loop is the workers' cost per line of the file), else ``owner(line)``
    (the line without its newline). ``start``: the offset of the file's first line."""
    offset = start
    number = 0
    rest = b""
    key = _INSZ_KEY
    while offset < size:
        block = os.pread(fd, BLOCK, offset)
        if not block:
            break
        offset += len(block)
        lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
        rest = lines.pop()
        for line in lines:
            number += 1
            if len(line) >= MAX_LINE:
                raise _too_long(number)
            at = line.find(key) + 8
            if at > 7:
                insz = line[at : line.find(b'"', at)]
                if len(insz) == 11 and insz.isdigit():
                    if hash(insz) % parts == me:
                        yield number, line + b"\n", offset
                    continue
            if line and not line.isspace() and owner(line) == me:
                yield number, line + b"\n", offset
        if len(rest) > MAX_LINE:
            raise _too_long(number + 1)
    if rest:
        number += 1
        if len(rest) > MAX_LINE:
            raise _too_long(number)
        if not rest.isspace() and owner(rest) == me:
            yield number, rest, offset


def _too_long(line: int) -> BadInput:
    return BadInput("line", f"> {MAX_LINE} bytes", "too long for an event (is this a JSON-lines file?)", line)


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BadInput(key, value, "repeated in the same line (which one is meant?)")
        seen[key] = value
    return seen


def repeated_key(text: str | bytes) -> BadInput | None:
    """A repeated key anywhere in the line (the slow, exact check), or None."""
    try:
        json.loads(text, object_pairs_hook=_no_repeats)
    except BadInput as exc:
        return exc
    except (ValueError, RecursionError):
        return None
    return None


def read_line(text: str | bytes, line_no: int) -> tuple[ev.Event, bool]:
    """The typed event of one line (values not yet checked) and whether it carried an id."""
    if len(text) > MAX_LINE:
        raise _too_long(line_no)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            near = text[max(0, exc.start - 10) : exc.start + 10]
            raise BadInput("line", near, f"not UTF-8 (byte {exc.start + 1})", line_no) from None
    try:
        raw = json.loads(text, object_pairs_hook=_no_repeats)
    except BadInput as exc:
        raise BadInput(exc.field, exc.value, exc.reason, line_no) from None
    except json.JSONDecodeError as exc:
        raise BadInput("line", text[:60], f"not JSON ({exc.msg})", line_no) from None
    except (RecursionError, ValueError):
        raise BadInput("line", text[:60], "not an event: nested too deeply or malformed", line_no) from None
    if not isinstance(raw, dict):
        raise BadInput("line", text[:60], "not a JSON object", line_no)
    for key in REQUIRED:
        if key not in raw:
            raise BadInput(key, None, "missing", line_no)
    kind = raw["type"]
    if not isinstance(kind, str) or kind not in ev.BY_NAME:
        raise BadInput("type", kind, f"unknown event type (one of {', '.join(ev.BY_NAME)})", line_no)
    for key, unset in _STORE_ONLY.items():  # present only unset (as an encoded event has them)
        if key in raw and raw[key] != unset:
            raise BadInput(key, raw[key], "set by the store, not by an event file", line_no)
    try:
        raw["insz"] = insz(raw["insz"], "insz")
    except BadInput as exc:
        raise BadInput(exc.field, exc.value, exc.reason, line_no) from None
    for key in _LOWER:
        if isinstance(raw.get(key), str):
            raw[key] = raw[key].lower()
    try:
        event = ev.convert(raw)
    except msgspec.ValidationError as exc:
        raise BadInput(kind, text[:80], str(exc), line_no) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise BadInput(kind, text[:80], f"not a valid {kind} ({type(exc).__name__})", line_no) from None
    return event, "id" in raw


def parse_line(text: str | bytes, line_no: int, today: date, now: datetime) -> ev.Event:
    """One line as a checked event (the slow path: exact messages for a bad line)."""
    event, _has_id = read_line(text, line_no)
    return EventChecker(today, now).check(event, line_no)


def checked(e: ev.Event, line_no: int, today: date, now: datetime) -> ev.Event:
    """The event with its recorded time in UTC, once every value is plausible."""
    return EventChecker(today, now).check(e, line_no)
