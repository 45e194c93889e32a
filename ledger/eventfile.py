"""Event files (JSON lines): one event a line, as ``export`` writes and ``import`` reads.

Each line is an object with ``type``, ``insz``, ``on``, ``recorded_at``, ``clerk``, then
the event's own fields (amounts as integer ``…_cents``). Reading validates every line
and names the line of the first problem; nothing is written unless all lines are good.
"""

from __future__ import annotations

import json
import typing
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from ledger import events as ev
from ledger.errors import BadInput
from ledger.identity import normalize_insz

REQUIRED = ("type", "insz", "on", "recorded_at", "clerk")
_STORE_ONLY = ("originator_id", "originator_version", "chain")
_MAX_CENTS = 10**11  # a billion euro: anything larger is a typing error


def to_line(e: ev.Event) -> dict[str, Any]:
    raw = json.loads(ev.encode(e))
    for key in _STORE_ONLY:
        raw.pop(key, None)
    head = {k: raw.pop(k) for k in REQUIRED}
    return {**head, **raw}


def parse_line(text: str, line_no: int, today: date, now: datetime) -> ev.Event:
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput("line", text[:60], f"not JSON ({exc.msg})", line_no) from None
    if not isinstance(raw, dict):
        raise BadInput("line", text[:60], "not a JSON object", line_no)
    for key in REQUIRED:
        if key not in raw:
            raise BadInput(key, None, "missing", line_no)
    if not isinstance(raw["type"], str) or raw["type"] not in ev.BY_NAME:
        raise BadInput("type", raw["type"], f"unknown event type (one of {', '.join(ev.BY_NAME)})", line_no)
    for key in _STORE_ONLY:
        if key in raw:
            raise BadInput(key, raw[key], "set by the store, not by an event file", line_no)
    try:
        insz = raw["insz"]
        raw["insz"] = normalize_insz(str(insz) if isinstance(insz, (str, int)) else repr(insz), "insz")
        event = ev.convert(raw)
    except msgspec.ValidationError as exc:
        raise BadInput(raw["type"], text[:80], str(exc), line_no) from None
    except BadInput as exc:
        raise BadInput(exc.field, exc.value, exc.reason, line_no) from None
    return checked(event, line_no, today, now)


_MONEY_FIELDS = ("amount_cents", "monthly_cents")
_YEAR_FIELDS = ("year", "fine_year")


def _date_fields(cls: type) -> tuple[str, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        f for f in cls.__struct_fields__ if f not in ("on", "recorded_at") and "date" in str(hints[f])
    )


_CHECKED: dict[type, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    cls: (
        tuple(f for f in _MONEY_FIELDS if f in cls.__struct_fields__),
        tuple(f for f in _YEAR_FIELDS if f in cls.__struct_fields__),
        _date_fields(cls),
    )
    for cls in ev.EVENT_TYPES
}


def checked(e: ev.Event, line_no: int, today: date, now: datetime) -> ev.Event:
    """The event with its recorded time in UTC, once every value is plausible."""
    if e.recorded_at.tzinfo is not None:
        utc = e.recorded_at.astimezone(UTC).replace(tzinfo=None)
        e = msgspec.structs.replace(e, recorded_at=utc)
    _check_values(e, line_no, today, now)
    return e


def _check_values(e: ev.Event, line_no: int, today: date, now: datetime) -> None:
    if e.on > today:
        raise BadInput("on", e.on.isoformat(), f"lies after today ({today})", line_no)
    if e.on.year < 1900:
        raise BadInput("on", e.on.isoformat(), "lies before 1900", line_no)
    if e.recorded_at.year < 1900:
        raise BadInput("recorded_at", e.recorded_at.isoformat(), "lies before 1900", line_no)
    if e.recorded_at > now:
        raise BadInput("recorded_at", e.recorded_at.isoformat(), f"lies after now ({now})", line_no)
    if not e.clerk.strip():
        raise BadInput("clerk", e.clerk, "empty", line_no)
    money, years, dates = _CHECKED[type(e)]
    for name in dates:
        day = getattr(e, name)
        if day is not None and not 1900 <= day.year <= 2199:
            raise BadInput(name, day.isoformat(), "lies outside 1900-2199", line_no)
    for name in money:
        cents = getattr(e, name)
        if not 0 <= cents <= _MAX_CENTS:
            raise BadInput(name, cents, "must be between 0 and 100000000000 cents", line_no)
    for name in years:
        year = getattr(e, name)
        if year is not None and not 1900 <= year <= today.year + 1:
            raise BadInput(name, year, "not a plausible year", line_no)
    if isinstance(e, ev.Registered) and e.born > e.on and e.born > today:
        raise BadInput("born", e.born.isoformat(), "lies in the future", line_no)
