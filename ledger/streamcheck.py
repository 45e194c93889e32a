"""The rule book's guards over one member's imported events, in stream order.

``import`` does not rebuild members through their commands (far too slow for a takeover
of millions of events), but an event file must not record what no command could have:
the guards below are the ones the commands enforce, checked against the member's
stored events and the file's earlier lines. A refusal names the line and the rule:
- R-OBL-1: one registration per person, first; a registration or a retraction is never
  retracted, nothing is retracted twice; a retraction names an earlier event of the same
  member (else bad input, as ``retract --event`` with an unknown id); a correction of the
  registration names the member's registration (an unknown id: bad input);
- R-FUND-1: an affiliation or a switch only to the care fund of one's own health fund
  or the Vlaamse Zorgkas;
- R-LET-1 and R-FINE-1 (decision: one letter per member and year, one fine per letter):
  no fine without the registered letter of that year;
- R-FINE-2: an appeal only against a fine, decided once;
- R-PREM-7: a reversal only of an earlier payment of the same member, once; a bank
  reference once per member (``pay`` reports a repeat as a duplicate);
- R-PREM-4: one death;
- R-PREM-9: an adjustment only of an earlier claim (invitation or deduction) of the same
  member.

A structural mistake (an event before the registration, an unknown retraction target) is
bad input (exit 2); a fact the rules forbid is a rule refusal (exit 1).

Memory grows with members, not events: a member's guards keep a few small dicts for
letters, fines and corrections, 8 bytes per bank reference, and the id and type
(17 bytes) only of the events a line of the file names (``keep``: the ids of
"target_id", "payment_id" or "claim_id" anywhere in the file, found by
``referenced_ids`` before the import starts). Any other id is asked of
``recall`` (the member's stored events and earlier lines, read again): only a refusal's
wording takes that slow and exact path, once (the import stops there). Without ``keep``
(input that cannot be read twice: a pipe) every id is kept, 17 bytes an event.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Container, Iterable
from datetime import date
from typing import Any, NamedTuple

import msgspec

from ledger import events as ev
from ledger.errors import BadInput, RuleRefused
from ledger.identity import OPEN_FUND, home_fund
from ledger.validation import MAX_LINE

_CODE = {cls.__name__: i for i, cls in enumerate(ev.EVENT_TYPES, start=1)}
_UNKNOWN = 0
_NEVER_RETRACTED = {_CODE["Registered"], _CODE["EventRetracted"]}
_PAYMENT = _CODE["PremiumPaid"]
_REGISTERED = _CODE["Registered"]
_CLAIMS = {_CODE["PremiumInvited"], _CODE["PremiumDeducted"]}
_NAMES = {cls: cls.__name__ for cls in ev.EVENT_TYPES}
_REMEMBERED = frozenset(
    ["Registered", "RegisteredLetterSent", "FineImposed", "FineAppealDecided", "PaymentReversed", "Died"]
    + ["EventRetracted", "PremiumPaid", "RegistrationCorrected", "Moved"]
)


class Stored(msgspec.Struct):
    """What the guards need of an event already in the store (decoded from its payload)."""

    id: uuid.UUID
    type: str = ""
    chain: str = ""
    health_fund: str | None = None
    year: int | None = None
    fine_year: int | None = None
    payment_id: uuid.UUID | None = None
    target_id: uuid.UUID | None = None
    bank_ref: str | None = None
    on: date | None = None
    born: date | None = None
    resident_since: date | None = None


stored_decoder = msgspec.json.Decoder(Stored)


# The type code of an earlier event of a member, by its id (None: the member has none), as
# the member's stored events and the file's earlier lines give it: (insz, id, line) -> code.
Recall = Callable[[str, bytes, int], int | None]


def referenced_ids(fd: int, size: int, start: int = 0) -> set[bytes]:
    """The ids a line of the file names as its target (``keep``), read before the import:
    ``bytes.find`` over whole lines for the keys of a retraction (and of a correction of
    the registration), a reversal and an adjustment (1–2 seconds a GB). A line where that
    cannot read the id (an escaped key or id, whitespace, an id not in its usual form) is
    decoded as JSON, so every id a line names is found; it may find more (such a key inside
    a text: kept for nothing). The guards' ``recall`` is left for a refusal's wording and
    for what no line names."""
    found: set[bytes] = set()
    offset = start
    while offset < size:
        want = SCAN_BLOCK
        while True:  # whole lines only: a block ends after its last line end
            data = os.pread(fd, want, offset)
            ends = data.rfind(b"\n") + 1 if offset + len(data) < size else len(data)
            if ends or len(data) < want or want > MAX_LINE:  # a longer line: refused by the import
                break
            want *= 2
        if not data:
            break
        ends = ends or len(data)
        _scan(data, ends, found)
        offset += ends
    return found


def _scan(data: bytes, end: int, found: set[bytes]) -> None:
    """The ids named in the whole lines of ``data[:end]``."""
    for key in _REFERENCES:
        at = data.find(key, 0, end)
        while at >= 0:
            value = _VALUE.match(data, at + len(key), end)
            if value is None or not _add(found, value[1]):
                _decode_line(data, at, end, found)
            at = data.find(key, at + len(key), end)
    at = data.find(b"\\u00", 0, end)  # an escaped ASCII character: a key or an id may hide behind one
    while at >= 0:
        at = data.find(b"\\u00", _decode_line(data, at, end, found), end)


def _add(found: set[bytes], text: bytes | str) -> bool:
    try:
        found.add(uuid.UUID(text.decode("ascii") if isinstance(text, bytes) else text).bytes)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _decode_line(data: bytes, at: int, stop: int, found: set[bytes]) -> int:
    """Decode the line of ``data`` around ``at`` (lines end by ``stop``) and add the ids it
    names; its end."""
    first = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at, stop)
    end = stop if end < 0 else end
    with contextlib.suppress(msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        fields = msgspec.json.decode(data[first:end])
        if isinstance(fields, dict):
            for name in _REFERENCE_NAMES:
                if isinstance(fields.get(name), str):
                    _add(found, fields[name])
    return end


SCAN_BLOCK = 1 << 22
_REFERENCE_NAMES = ("target_id", "payment_id", "claim_id")
_REFERENCES = tuple(f'"{name}"'.encode() for name in _REFERENCE_NAMES)
_VALUE = re.compile(rb'[ \t\r\n]*:[ \t\r\n]*"([^"\\]{1,64})"')  # JSON's whitespace; as export writes it


def type_code(name: str) -> int:
    """The code the guards keep for an event type (its name)."""
    return _CODE.get(name, _UNKNOWN)


class StreamCheck:
    """The guards of one member's stream: ``check`` then ``record`` each event in order."""

    __slots__ = ("insz", "health_fund", "ids", "kinds", "facts", "refs", "keep", "recall")

    def __init__(self, insz: str, stored: Iterable[Stored] = (), *, registered: bool = False,
                 keep: Container[bytes] | None = None, recall: Recall | None = None) -> None:  # fmt: skip
        """``stored``: the member's events already in the store; ``registered`` without
        them: stored, but not shown to the guards (then R-FUND-1 cannot be judged).
        ``keep``: the only ids to remember (None: all), with ``recall`` for any other."""
        self.insz = insz
        self.health_fund: str | None = "" if registered else None  # set by the registration
        self.ids: bytearray | None = None  # 16 bytes per event kept, in stream order
        self.kinds: bytearray | None = None  # the event type's code, per event kept
        self.facts: dict[tuple[str, Any], Any] | None = None  # (what, key) -> event id (mostly)
        # A 64-bit hash of each bank reference the member's payments carry, end to end: 8
        # bytes each, not the text (a member has a payment a year, a fund millions of
        # members), in one bytes object (a bytearray's header and spare room cost more).
        self.refs: bytes = b""
        self.keep, self.recall = (keep, recall) if keep is not None and recall is not None else (None, None)
        for fact in stored:
            self.record(fact)

    # -- what the member has --------------------------------------------------------
    def _fact(self, what: str, key: Any) -> bytes | None:
        return None if self.facts is None else self.facts.get((what, key))

    def _set(self, what: str, key: Any, event_id: bytes) -> None:
        if self.facts is None:
            self.facts = {}
        self.facts[(what, key)] = event_id

    def _kind_of(self, event_id: bytes, line: int) -> int | None:
        """The type code of the member's earlier event ``event_id`` (None: there is none)."""
        if self.ids is not None and self.kinds is not None:
            start = 0
            while (i := self.ids.find(event_id, start)) >= 0:
                if i % 16 == 0:
                    return self.kinds[i // 16]
                start = i + 1
        if self.recall is not None:  # not kept (``keep``): asked the slow, exact way
            return self.recall(self.insz, event_id, line)
        return None

    def has(self, event_id: bytes, line: int) -> bool:
        """Whether the member's stream holds this event id before ``line`` (stored or in the file)."""
        return self._kind_of(event_id, line) is not None

    def _remember(self, event_id: bytes, kind: str) -> None:
        if self.keep is not None and event_id not in self.keep:
            return
        if self.ids is None or self.kinds is None:
            self.ids, self.kinds = bytearray(), bytearray()
        self.ids += event_id
        self.kinds.append(_CODE.get(kind, _UNKNOWN))

    def record(self, e: ev.Event | Stored, event_id: bytes | None = None) -> None:
        """Remember ``e`` (stored, or accepted by ``check``) for the guards of later events."""
        kind = e.type if type(e) is Stored else _NAMES[type(e)]  # type: ignore[union-attr]
        if event_id is None:
            event_id = e.id.bytes
        self._remember(event_id, kind)
        if kind not in _REMEMBERED:
            return
        if kind == "PremiumPaid":  # the most frequent first
            if e.bank_ref:  # type: ignore[union-attr]
                # Kept after a retraction too, as `pay` does: a bank file read again does not
                # bring back a payment the fund retracted (CONTRACT: a duplicate, nothing written).
                self.refs += _ref_hash(e.bank_ref)  # type: ignore[union-attr]
        elif kind == "Registered":
            self.health_fund = e.health_fund or "NONE"  # type: ignore[union-attr]
            if self.keep is None or event_id in self.keep:  # a line names it: a correction
                reg_on, born = e.on, e.born  # type: ignore[union-attr]
                self._set("person", None, _Person(reg_on, born, e.resident_since or reg_on, None))  # type: ignore[union-attr]
        elif kind == "Moved":  # rare; kept only for a registration some line corrects
            person = self._fact("person", None)
            if person is not None and (person.first_move is None or e.on < person.first_move):
                self._set("person", None, person._replace(first_move=e.on))  # the earliest, by date
        elif kind == "RegistrationCorrected":
            person = self._fact("person", None)
            if person is not None:
                born, since = e.born or person.born, e.resident_since or person.since  # type: ignore[union-attr]
                self._set("person", None, person._replace(born=born, since=since))
            self._set("correction", event_id, b"")
        elif kind == "RegisteredLetterSent":
            self._set("letter", e.year, event_id)  # type: ignore[union-attr]
        elif kind == "FineImposed":
            self._set("fine", e.year, event_id)  # type: ignore[union-attr]
        elif kind == "FineAppealDecided":
            self._set("appeal", e.fine_year, event_id)  # type: ignore[union-attr]
        elif kind == "PaymentReversed" and e.payment_id is not None:  # type: ignore[union-attr]
            self._set("reversed", e.payment_id.bytes, event_id)  # type: ignore[union-attr]
        elif kind == "Died":
            self._set("died", None, event_id)
        elif kind == "EventRetracted" and e.target_id is not None:  # type: ignore[union-attr]
            target = e.target_id.bytes  # type: ignore[union-attr]
            self._set("retracted", target, event_id)
            if self.facts is not None:  # a retracted letter, fine, appeal or death may be recorded again
                for key, value in list(self.facts.items()):
                    if value == target:
                        del self.facts[key]
                if self.facts.pop(("correction", target), None) is not None:
                    # The values before the retracted correction are not kept: a later
                    # correction of this member is checked for its target alone.
                    self.facts.pop(("person", None), None)

    # -- the guards -------------------------------------------------------------------
    def admit(self, e: ev.Event, event_id: bytes, line: int) -> None:
        """``check`` then ``record``: the import's one call per event (most types have no
        guard and are not remembered beyond their id and kind)."""
        cls = type(e)
        if self.health_fund is None or cls in _GUARDS:
            self.check(e, line)
        kind = _NAMES[cls]
        if kind in _REMEMBERED:
            self.record(e, event_id)
        else:
            self._remember(event_id, kind)

    def check(self, e: ev.Event, line: int) -> None:
        """Refuse ``e`` if the member's stream so far forbids it."""
        if self.health_fund is None:
            if not isinstance(e, ev.Registered):
                raise BadInput("type", e.type, f"{self.insz} has no Registered event before it", line)
            return
        refuse = _GUARDS.get(type(e))
        if refuse is not None:
            try:
                refuse(self, e, line)
            except RuleRefused:
                if self.has(e.id.bytes, line):  # a file read twice: say so, not the rule it now breaks
                    raise _duplicate(e, line) from None
                raise

    def _registered(self, e: ev.Registered, line: int) -> None:
        raise _refused("R-OBL-1", line, f"{self.insz} is already registered: one registration per person")

    def _fund(self, fund: str, line: int) -> None:
        if not self.health_fund:  # a stored registration the guards were not shown
            return
        own = home_fund(self.health_fund)
        if fund not in (own, OPEN_FUND):
            allowed = own if own == OPEN_FUND else f"{own} or {OPEN_FUND}"
            raise _refused(
                "R-FUND-1",
                line,
                f"{fund} is open only to members of its own health fund; {self.insz} "
                f"(health fund {self.health_fund}) may join {allowed}",
            )

    def _affiliated(self, e: ev.Affiliated, line: int) -> None:
        self._fund(e.fund, line)

    def _switched(self, e: ev.FundSwitched, line: int) -> None:
        self._fund(e.to_fund, line)

    def _payment(self, e: ev.PremiumPaid, line: int) -> None:
        if e.bank_ref and self.refs and _holds(self.refs, _ref_hash(e.bank_ref)):
            raise _refused(
                "R-PREM-7",
                line,
                f"{self.insz} already has a payment with bank reference {e.bank_ref!r}: a bank "
                "reference is recorded once per member (a bank file read twice)",
            )

    def _letter(self, e: ev.RegisteredLetterSent, line: int) -> None:
        if self._fact("letter", e.year) is not None:
            raise _refused("R-LET-1", line, f"{self.insz} already has the registered letter of {e.year}")

    def _fine(self, e: ev.FineImposed, line: int) -> None:
        if self._fact("letter", e.year) is None:
            raise _refused(
                "R-FINE-1", line, f"no fine without its letter: {self.insz} has no letter of {e.year}"
            )
        if self._fact("fine", e.year) is not None:
            raise _refused("R-FINE-1", line, f"{self.insz} already has the fine of {e.year}: one per letter")

    def _appeal(self, e: ev.FineAppealDecided, line: int) -> None:
        if self._fact("fine", e.fine_year) is None:
            raise _refused("R-FINE-2", line, f"there is no fine of {e.fine_year} to appeal against")
        if self._fact("appeal", e.fine_year) is not None:
            raise _refused("R-FINE-2", line, f"the appeal against the fine of {e.fine_year} was decided")

    def _reversal(self, e: ev.PaymentReversed, line: int) -> None:
        if self._kind_of(e.payment_id.bytes, line) != _PAYMENT:
            raise _refused("R-PREM-7", line, f"no payment {e.payment_id} of {self.insz} before this reversal")
        if self._fact("reversed", e.payment_id.bytes) is not None:
            raise _refused("R-PREM-7", line, f"the payment {e.payment_id} was already reversed")

    def _adjustment(self, e: ev.PremiumAdjusted, line: int) -> None:
        if self._kind_of(e.claim_id.bytes, line) not in _CLAIMS:
            raise _refused("R-PREM-9", line, f"no claim {e.claim_id} of {self.insz} before this adjustment")

    def _target_kind(self, target: uuid.UUID, line: int) -> int:
        """The type code of the member's earlier event a correction names; bad input (as
        ``retract --event`` with an unknown id) when there is none."""
        kind = self._kind_of(target.bytes, line)
        if kind is None:
            raise BadInput("target_id", str(target), f"no earlier event with this id for {self.insz}", line)
        return kind

    def _retraction(self, e: ev.EventRetracted, line: int) -> None:
        kind = self._target_kind(e.target_id, line)
        if kind in _NEVER_RETRACTED:
            name = ev.EVENT_TYPES[kind - 1].__name__
            raise _refused("R-OBL-1", line, f"a {name} cannot be retracted")
        if self._fact("retracted", e.target_id.bytes) is not None:
            raise _refused("R-OBL-1", line, f"the event {e.target_id} was already retracted")

    def _correction(self, e: ev.RegistrationCorrected, line: int) -> None:
        kind = self._target_kind(e.target_id, line)
        if kind != _REGISTERED:
            name = ev.EVENT_TYPES[kind - 1].__name__ if kind else "event"
            raise _refused(
                "R-OBL-1", line, f"a RegistrationCorrected names the member's Registered event, not a {name}"
            )
        person: _Person | None = self._fact("person", None)
        if person is None:  # kept only while the values are known (see ``record``)
            return
        if e.on != person.on:
            raise BadInput(
                "on", e.on.isoformat(), f"a correction is dated on the registration's day, {person.on}", line
            )
        born, since = e.born or person.born, e.resident_since or person.since
        if since < born:
            raise BadInput(
                "resident_since" if e.resident_since else "born",
                (e.resident_since or e.born or since).isoformat(),
                f"the start of residence {since} would lie before the birth date {born}",
                line,
            )
        if e.resident_since and person.first_move is not None and e.resident_since > person.first_move:
            raise BadInput(
                "resident_since",
                e.resident_since.isoformat(),
                f"lies after the move of {person.first_move}: the residence registered began before it",
                line,
            )
        if born == person.born and since == person.since:
            raise _refused(
                "R-OBL-1",
                line,
                f"the registration of {self.insz} already says born {born}, resident since {since}: "
                "nothing to correct",
            )

    def _death(self, e: ev.Died, line: int) -> None:
        if self._fact("died", None) is not None:
            raise _refused("R-PREM-4", line, f"the death of {self.insz} was already recorded")


def _duplicate(e: ev.Event, line: int) -> BadInput:
    return BadInput("id", str(e.id), "this event is already in the store or the file", line)


class _Person(NamedTuple):
    """What a correction of the registration is checked against (as ``correct-registration``):
    the registration's day, the birth date and start of residence as corrected so far, and
    the first move."""

    on: date
    born: date
    since: date
    first_move: date | None


def _ref_hash(bank_ref: str) -> bytes:
    """A bank reference as 8 bytes: Python's own string hash (SipHash, 64 bits, keyed per
    process; the guards live in one process). Two different references of one member
    share it with a chance of about 2**-64 a pair: such a pair would be refused as a
    repeat, never let through."""
    return hash(bank_ref).to_bytes(8, "little", signed=True)


def _holds(packed: bytes, item: bytes) -> bool:
    """Whether ``packed`` (8-byte items end to end) holds ``item`` as one of its items."""
    start = 0
    while (i := packed.find(item, start)) >= 0:
        if i % 8 == 0:
            return True
        start = i + 1
    return False


def _refused(rule: str, line: int, message: str) -> RuleRefused:
    return RuleRefused(rule, f"line {line}: {message}")


_GUARDS: dict[type, Any] = {
    ev.Registered: StreamCheck._registered,
    ev.PremiumPaid: StreamCheck._payment,
    ev.Affiliated: StreamCheck._affiliated,
    ev.FundSwitched: StreamCheck._switched,
    ev.RegisteredLetterSent: StreamCheck._letter,
    ev.FineImposed: StreamCheck._fine,
    ev.FineAppealDecided: StreamCheck._appeal,
    ev.PaymentReversed: StreamCheck._reversal,
    ev.EventRetracted: StreamCheck._retraction,
    ev.PremiumAdjusted: StreamCheck._adjustment,
    ev.Died: StreamCheck._death,
    ev.RegistrationCorrected: StreamCheck._correction,
}
