"""A member's history as seen from one point in both times.

``History.view(events, as_of, known_on)`` keeps the events the ledger had recorded
by ``known_on`` whose effective date is on or before ``as_of``, with retracted facts
removed (and the claim adjustments a retracted fact caused, R-PREM-9). Every rule
reads a ``History``; nothing else filters events.

Decision: the registration describes the person (birth date, first residence) and
applies at every ``as_of``, whatever day it was recorded on; a move counts from its
effective date. A correction of the registration (``RegistrationCorrected``: the birth
date or the start of residence typed wrongly) describes the person too: it applies at
every ``as_of`` from the moment it is recorded (``known_on`` shows the original before
it), and ``registration`` is the registration with the corrections known in the view
applied in recording order. The registration itself stays as recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import wraps
from operator import attrgetter
from typing import Any, TypeVar

import msgspec

from ledger import events as ev
from ledger.errors import RuleRefused

E = TypeVar("E", bound=ev.Event)
T = TypeVar("T")
_MISSING: Any = object()


@dataclass(frozen=True)
class Residence:
    """One stretch of residence: region and situation from ``since`` (until the next)."""

    since: date
    region: str
    situation: str
    event: ev.Event


_on = attrgetter("on")  # the sort key of every view (in C: no Python call per event)
_PERSON = ev.PERSON  # kept at every as_of: the registration and its corrections


@dataclass(frozen=True)
class History:
    """A member's events as seen on ``as_of``, as known at ``known_on`` (None: all recorded)."""

    insz: str
    as_of: date
    known_on: datetime | None
    events: tuple[ev.Event, ...]
    # Derived once per view: events by type in effective-date order, and rule results
    # that many rules ask for (periods, residences). A view never changes, so neither do they.
    _by_type: dict[type, list[ev.Event]] = field(default_factory=dict, compare=False, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.events, key=_on)
        by_type = self._by_type
        for e in ordered:
            kind = type(e)
            if kind in by_type:
                by_type[kind].append(e)
            else:
                by_type[kind] = [e]
        self._memo["in_order"] = ordered

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A rule result computed once per view (the view is immutable)."""
        memo = self._memo
        found = memo.get(key, _MISSING)  # one lookup: rules ask about a million times a rebuild
        if found is _MISSING:
            found = memo[key] = compute()
        return found  # type: ignore[no-any-return]

    @classmethod
    def view(
        cls,
        insz: str,
        events: Iterable[ev.Event],
        as_of: date,
        known_on: datetime | None = None,
    ) -> History:
        known = list(events) if known_on is None else [e for e in events if e.recorded_at <= known_on]
        # Exact types (no event type has subclasses): a comparison, not an isinstance call, per event.
        retracted = {e.target_id for e in known if type(e) is ev.EventRetracted}
        if not retracted:  # nothing retracted (most members): only the effective date filters
            kept = tuple([e for e in known if e.on <= as_of or type(e) in _PERSON])
            return cls(insz=insz, as_of=as_of, known_on=known_on, events=kept)
        kept = tuple(
            e
            for e in known
            if e.id not in retracted
            and not (isinstance(e, ev.PremiumAdjusted) and e.cause_id in retracted)
            and not isinstance(e, ev.EventRetracted)
            and (e.on <= as_of or type(e) in _PERSON)
        )
        return cls(insz=insz, as_of=as_of, known_on=known_on, events=kept)

    def at(self, as_of: date) -> History:
        """The same knowledge, looking at an earlier effective date."""
        if as_of > self.as_of:
            raise ValueError("a history can only be narrowed")
        if as_of == self.as_of:
            return self  # the same view: its memoized rule results stay valid
        return History(
            insz=self.insz,
            as_of=as_of,
            known_on=self.known_on,
            events=tuple([e for e in self.events if e.on <= as_of or type(e) in _PERSON]),
        )

    def of(self, kind: type[E]) -> list[E]:
        """Events of one type in effective-date order (recording order breaks ties)."""
        return self._by_type.get(kind, [])  # type: ignore[return-value]

    def kinds(self) -> Iterable[type]:
        """The event types this view holds (each at least once)."""
        return self._by_type.keys()

    @staticmethod
    def per_view(rule: Callable[[History], T]) -> Callable[[History], T]:
        """Decorate a rule of one argument, the view: computed once per view and kept in
        its memo. The asked-for case costs one call and one lookup (no closure per
        question, as ``memo`` needs): the premium fold asks some rules once per claim."""
        key = f"{rule.__module__}.{rule.__qualname__}"

        @wraps(rule)
        def once(history: History) -> T:
            memo = history._memo
            found = memo.get(key, _MISSING)
            if found is _MISSING:
                found = memo[key] = rule(history)
            return found  # type: ignore[no-any-return]

        return once

    @staticmethod
    def per_view_as_of(rule: Callable[[History, date], T]) -> Callable[[History, date], T]:
        """Decorate a rule of the view and a day: asked about the view's own ``as_of`` (as
        status, the members row and the window all do), computed once per view and kept
        in its memo; asked about another day, computed each time."""
        key = f"{rule.__module__}.{rule.__qualname__}"

        @wraps(rule)
        def once(history: History, day: date) -> T:
            if day != history.as_of:
                return rule(history, day)
            memo = history._memo
            found = memo.get(key, _MISSING)
            if found is _MISSING:
                found = memo[key] = rule(history, day)
            return found  # type: ignore[no-any-return]

        return once

    def events_in_order(self) -> list[ev.Event]:
        """All events by effective date; events of one day keep their recording order."""
        return self.memo("in_order", lambda: sorted(self.events, key=_on))

    # -- the person ----------------------------------------------------------------
    @property
    def registration(self) -> ev.Registered:
        """The registration, with the corrections known in this view applied in recording
        order (``registration_corrections``); the recorded one is ``registered``."""
        by_type = self._by_type
        regs = by_type.get(ev.Registered)
        if regs and ev.RegistrationCorrected not in by_type:  # most members: as recorded
            return regs[-1]  # type: ignore[return-value]
        reg = self.registered  # refuses an unknown person
        return self.memo("registration", lambda: corrected(reg, self.registration_corrections()))

    @property
    def registered(self) -> ev.Registered:
        """The registration as it was recorded (R-OBL-1 refuses an unknown person)."""
        regs = self.of(ev.Registered)
        if not regs:
            if self.known_on is not None:  # an auditor's question about a past moment, not a clerk's slip
                raise RuleRefused(
                    "R-OBL-1",
                    f"{self.insz} was not registered as known on {self.known_on.isoformat()}: "
                    "nothing about the person had been recorded by then",
                )
            raise RuleRefused(
                "R-OBL-1",
                f"{self.insz} is not registered: record the person with `zorgkas register` first",
            )
        return regs[-1]

    def registration_corrections(self) -> list[ev.RegistrationCorrected]:
        """The corrections of the registration known in this view, in recording order
        (the order of the member's stream), retracted ones left out."""
        if ev.RegistrationCorrected not in self._by_type:
            return []
        target = self.registered.id
        return [e for e in self.events if type(e) is ev.RegistrationCorrected and e.target_id == target]

    def check_registered(self) -> None:
        """Refuse (R-OBL-1) a question or command about a person the ledger does not know."""
        self.registration  # noqa: B018 - the property raises RuleRefused

    @property
    def is_registered(self) -> bool:
        return ev.Registered in self._by_type  # the events grouped by their exact type

    @property
    def born(self) -> date:
        return self.registration.born

    def residences(self) -> list[Residence]:
        memo = self._memo  # one lookup when known (asked a few times a view): no bound method, no call
        found = memo.get("residences")
        if found is None:
            found = memo["residences"] = self._residences()
        return found  # type: ignore[no-any-return]

    def _residences(self) -> list[Residence]:
        reg = self.registration
        first = Residence(reg.resident_since or reg.on, reg.region, reg.situation, reg)
        moves = [Residence(m.on, m.region, m.situation, m) for m in self.of(ev.Moved)]
        return [first, *moves]

    def residence_on(self, day: date) -> Residence:
        stretches = self.residences()
        current = stretches[0]
        for res in stretches:
            if res.since <= day:
                current = res
        return current

    def entitled_on(self, day: date) -> bool:
        """Increased allowance on ``day`` (R-PREM-1, R-FINE-1)."""
        entitled = False
        for change in self.of(ev.AllowanceChanged):
            if change.on <= day:
                entitled = change.entitled
        return entitled

    def died_on(self) -> date | None:
        deaths = self.of(ev.Died)
        return deaths[0].on if deaths else None

    # -- lookups by reference --------------------------------------------------------
    def by_year(self, kind: type[E], year: int) -> E | None:
        for e in self.of(kind):
            if getattr(e, "year", None) == year:
                return e
        return None


def corrected(reg: ev.Registered, corrections: Iterable[ev.RegistrationCorrected]) -> ev.Registered:
    """``reg`` with the values of each correction (in the order given) put in its place."""
    for c in corrections:
        fields: dict[str, Any] = {}
        if c.born is not None:
            fields["born"] = c.born
        if c.resident_since is not None:
            fields["resident_since"] = c.resident_since
        if fields:
            reg = msgspec.structs.replace(reg, **fields)
    return reg
