"""A member's events as a timeline in words: what ``history`` prints and the dossier shows.

Each event reads as one sentence (``describe``); each entry carries the marks of the
corrections that touch it (a reversed payment, a retracted fact, a fine annulled by an
upheld appeal, a corrected registration), so a correction is always shown next to what
it corrects. The order is by effective date (events of one day in recording order), or by recorded time.

Corrections are read from what was known at ``known_on``: a retraction recorded later
does not mark anything as seen then; a reversal or appeal dated after ``as_of`` has not
happened yet on that day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ledger import events as ev
from ledger import parameters
from ledger.eventfile import to_line
from projections.wording import and_list, eur, years

REGION_NAMES = {"flanders": "Flanders", "brussels": "Brussels", "wallonia": "Wallonia", "abroad": "abroad"}
KIND_NAMES = {
    "compulsory": "compulsory",
    "voluntary": "voluntary",
    "automatic": "automatic (by the Vlaamse Zorgkas)",
    "early": "early (under 26)",
}


def _a(words: str) -> str:
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


def fund_label(code: str) -> str:
    """'CM (CM-Zorgkas Vlaanderen)'; an unknown code is shown as it is."""
    try:
        return f"{code} ({parameters.fund_name(code)})"
    except KeyError:
        return code


def residence(region: str, situation: str) -> str:
    where = REGION_NAMES.get(region, region)
    place = f"in {where}" if region != "abroad" else "abroad"
    return place if situation == "resident" else f"{place} ({situation.replace('-', ' ')})"


def _registered(e: ev.Registered, _: Lookup) -> str:
    since = f" since {e.resident_since.isoformat()}" if e.resident_since else ""
    return (
        f"Registered: born {e.born.isoformat()}, living {residence(e.region, e.situation)}{since}, "
        f"health fund {e.health_fund}"
    )


def correction_values(e: ev.RegistrationCorrected, was: ev.Event | None) -> str:
    """The values a registration's correction gives, with the registered ones (``was``)."""
    parts = []
    for name, words in (("born", "born"), ("resident_since", "resident since")):
        value = getattr(e, name)
        if value is not None:
            old = getattr(was, name, None) if isinstance(was, ev.Registered) else None
            registered = f" (registered as {old.isoformat()})" if old is not None else ""
            parts.append(f"{words} {value.isoformat()}{registered}")
    return ", ".join(parts)


def _registration_corrected(e: ev.RegistrationCorrected, find: Lookup) -> str:
    return f"Registration corrected: {correction_values(e, find(e.target_id))}; reason: {e.reason}"


def _paid(e: ev.PremiumPaid, _: Lookup) -> str:
    how = {"direct-debit": " by direct debit", "budget-deduction": " from the care budget"}.get(e.method, "")
    details = [f"bank ref {e.bank_ref}"] if e.bank_ref else []
    if e.ogm:
        details.append(f"structured message {e.ogm}")
    if e.fine_year is not None:
        details.append(f"for the fine of {e.fine_year}")
    tail = f" ({', '.join(details)})" if details else ""
    return f"Payment of {eur(e.amount_cents)} received{how}{tail}"


def _reversed(e: ev.PaymentReversed, find: Lookup) -> str:
    target = find(e.payment_id)
    what = "a payment"
    if isinstance(target, ev.PremiumPaid):
        ref = f", bank ref {target.bank_ref}" if target.bank_ref else ""
        what = f"the payment of {eur(target.amount_cents)} of {target.on.isoformat()}{ref}"
    why = f": {e.reason}" if e.reason else ""
    return f"The bank took back {what}{why}"


def _retracted(e: ev.EventRetracted, find: Lookup) -> str:
    target = find(e.target_id)
    what = f"“{describe(target, find)}” of {target.on.isoformat()}" if target else f"event {e.target_id}"
    return f"Retracted {what} (reason: {e.reason})"


def _appeal(e: ev.FineAppealDecided, _: Lookup) -> str:
    if e.upheld:
        return f"Appeal against the fine of {e.fine_year} upheld: the fine is annulled (R-FINE-2)"
    return f"Appeal against the fine of {e.fine_year} rejected: the fine stands (R-FINE-2)"


def _budget(e: ev.BudgetGranted, _: Lookup) -> str:
    until = f" until {e.until.isoformat()}" if e.until else ""
    return f"Care budget ({e.kind.replace('-', ' ')}) of {eur(e.monthly_cents)} a month granted{until}"


def _exempt(e: ev.ExemptionGranted, _: Lookup) -> str:
    until = f" until {e.until.isoformat()}" if e.until else ""
    evidence = f" (evidence: {e.evidence})" if e.evidence else ""
    return f"Exempt from premiums and fines ({e.reason.replace('-', ' ')}){until}{evidence}"


def _cancelled(e: ev.Cancelled, _: Lookup) -> str:
    return (
        f"Voluntary membership cancelled as from {e.until.isoformat()}: "
        f"{years(e.unpaid_years)} unpaid (R-AFF-4)"
    )


def _invited(e: ev.PremiumInvited, _: Lookup) -> str:
    debit = ", to be debited under the mandate (R-PREM-8)" if e.direct_debit else ""
    return (
        f"Payment invitation for the {e.year} premium: {eur(e.amount_cents)}"
        f"{' (reduced rate)' if e.reduced else ''}, structured message {e.ogm}{debit}"
    )


def _deducted(e: ev.PremiumDeducted, _: Lookup) -> str:
    return (
        f"The {e.year} premium of {eur(e.amount_cents)}{' (reduced rate)' if e.reduced else ''} "
        f"deducted from the care budget payment of {eur(e.monthly_cents)} (R-PREM-5)"
    )


def _adjusted(e: ev.PremiumAdjusted, _: Lookup) -> str:
    amount = f"{eur(e.amount_cents)} ({'reduced' if e.reduced else 'normal'} rate)"
    return f"The claim of the {e.year} premium adjusted to {amount}: {e.reason} (R-PREM-9)"


def _direct_debit(e: ev.DirectDebitRequested, _: Lookup) -> str:
    if e.stop:
        return f"Direct-debit mandate ended: premiums from {e.first_year} are no longer debited (R-PREM-8)"
    return f"Direct-debit mandate received: premiums from {e.first_year} are debited (R-PREM-8)"


Lookup = Callable[[Any], "ev.Event | None"]

_WORDS: dict[type, Callable[[Any, Lookup], str]] = {
    ev.Registered: _registered,
    ev.RegistrationCorrected: _registration_corrected,
    ev.Moved: lambda e, _: f"Moved: now living {residence(e.region, e.situation)}",
    ev.AllowanceChanged: lambda e, _: (
        "Increased allowance begins" if e.entitled else "Increased allowance ends"
    ),
    ev.Affiliated: lambda e, _: (
        f"Affiliated with {fund_label(e.fund)} as {_a(KIND_NAMES.get(e.kind, e.kind))} member, "
        f"counting from {e.since.isoformat()} ({e.rule})"
    ),
    ev.PremiumInvited: _invited,
    ev.PremiumDeducted: _deducted,
    ev.PremiumAdjusted: _adjusted,
    ev.DirectDebitRequested: _direct_debit,
    ev.PremiumPaid: _paid,
    ev.PaymentReversed: _reversed,
    ev.RegisteredLetterSent: lambda e, _: (
        f"Registered letter for {years(e.premium_years)} ({eur(e.amount_cents)} unpaid) (R-LET-1)"
    ),
    ev.FineImposed: lambda e, _: (
        f"Fine of {eur(e.amount_cents)} imposed for {years(e.premium_years)} (letter of {e.year}) (R-FINE-1)"
    ),
    ev.FineAppealDecided: _appeal,
    ev.FundSwitched: lambda e, _: (
        f"Switch from {e.from_fund} to {fund_label(e.to_fund)} requested, "
        f"effective {e.effective.isoformat()} (R-SW-1)"
    ),
    ev.BudgetGranted: _budget,
    ev.ExemptionGranted: _exempt,
    ev.Died: lambda e, _: "Died",
    ev.Cancelled: _cancelled,
    ev.EventRetracted: _retracted,
}


def _words_of_name(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _generic(e: ev.Event) -> str:
    """An event type this module has no sentence for yet: its name and its own fields."""
    parts = []
    for key, value in to_line(e).items():
        if key in ("type", "insz", "on", "recorded_at", "clerk", "id"):
            continue
        if key.endswith("_cents") and isinstance(value, int):
            parts.append(f"{key.removesuffix('_cents').replace('_', ' ')} {eur(value)}")
        elif isinstance(value, list):
            parts.append(f"{key.replace('_', ' ')} {and_list(value)}")
        elif isinstance(value, bool):
            parts.append(key.replace("_", " ") if value else f"not {key.replace('_', ' ')}")
        elif value not in (None, ""):
            parts.append(f"{key.replace('_', ' ')} {value}")
    name = _words_of_name(e.type)
    return name[:1].upper() + name[1:] + (f": {', '.join(parts)}" if parts else "")


def describe(e: ev.Event, find: Lookup | None = None) -> str:
    """One event as one sentence a clerk can read aloud."""
    words = _WORDS.get(type(e))
    if words is None:
        return _generic(e)
    return words(e, find or (lambda _id: None))


@dataclass
class Entry:
    """One line of the timeline: the event, its sentence, and the corrections that touch it."""

    event: ev.Event
    text: str
    marks: dict[str, Any] = field(default_factory=dict)  # JSON-ready: reversed_by, retracted_by, …
    notes: list[str] = field(default_factory=list)  # the same marks in words

    @property
    def corrected(self) -> bool:
        return any(k in self.marks for k in ("reversed_by", "retracted_by", "annulled_by"))


def entries(
    events: list[ev.Event], as_of: date, known_on: datetime | None = None, *, by_recorded: bool = False
) -> list[Entry]:
    """The member's events known at ``known_on`` with effective date up to ``as_of``, in words."""
    known = [e for e in events if known_on is None or e.recorded_at <= known_on]
    by_id = {e.id: e for e in known}
    shown = [e for e in known if e.on <= as_of or type(e) in ev.PERSON]
    found = {e.id: Entry(e, describe(e, by_id.get)) for e in shown}
    fines = {e.year: e for e in shown if isinstance(e, ev.FineImposed)}
    # A retraction applies at every as-of date once it is known (``History.view``): one
    # dated after ``as_of`` is not listed, but still marks what it retracts.
    retractions = [e for e in known if type(e) is ev.EventRetracted]
    retracted = {e.target_id for e in retractions}
    for e in shown:
        _mark(e, found, fines, retracted)
    for e in retractions:
        if e.id not in found and e.target_id in found:
            _retracted(e, found[e.target_id])
    # A claim adjustment goes with the fact that caused it (a backdated allowance): the
    # view drops it when that fact is retracted (R-PREM-9), so it carries the same mark.
    by_target = {e.target_id: e for e in retractions}
    for x in found.values():
        cause = getattr(x.event, "cause_id", None) if type(x.event) is ev.PremiumAdjusted else None
        if cause in by_target and "retracted_by" not in x.marks:
            _retracted(by_target[cause], x, "with the fact that caused it ")
    order: Callable[[Entry], Any] = (
        (lambda x: (x.event.recorded_at, x.event.originator_version))
        if by_recorded
        else (lambda x: (x.event.on, x.event.originator_version))
    )
    return sorted(found.values(), key=order)


def _mark(
    e: ev.Event, found: dict[Any, Entry], fines: dict[int, ev.FineImposed], retracted: set[Any]
) -> None:
    """Put the marks of one correcting event on what it corrects (and on itself)."""
    when = e.on.isoformat()
    # A reversal or an appeal since retracted corrects nothing (``History.view`` drops it):
    # it bears its own retraction mark and puts none on what it named.
    void = e.id in retracted
    if isinstance(e, ev.PaymentReversed) and e.payment_id in found:
        if not void:
            target = found[e.payment_id]
            target.marks.update(reversed_by=str(e.id), reversed_on=when)
            target.notes.append(f"reversed on {when}")
        found[e.id].marks["corrects"] = str(e.payment_id)
    elif isinstance(e, ev.EventRetracted) and e.target_id in found:
        _retracted(e, found[e.target_id])
        found[e.id].marks["corrects"] = str(e.target_id)
    elif isinstance(e, ev.RegistrationCorrected) and e.target_id in found:
        # Not void, as a retracted fact is: the registration's values are replaced from the
        # moment the correction is recorded (its own date is the registration's).
        target = found[e.target_id]
        recorded = e.recorded_at.date().isoformat()
        note = f"corrected, recorded {recorded}: {correction_values(e, None)} ({e.reason})"
        if e.id in retracted:
            note += ", a correction since retracted"
        else:
            target.marks.setdefault("corrected_by", []).append(str(e.id))
        target.notes.append(note)
        found[e.id].marks["corrects"] = str(e.target_id)
    elif isinstance(e, ev.FineAppealDecided) and e.fine_year in fines:
        fine = fines[e.fine_year]
        found[e.id].marks["corrects" if e.upheld else "concerns"] = str(fine.id)
        if void:
            return
        key = "annulled_by" if e.upheld else "appeal_rejected_by"
        found[fine.id].marks.update({key: str(e.id), key.replace("_by", "_on"): when})
        found[fine.id].notes.append(
            f"annulled on appeal on {when}" if e.upheld else f"appeal rejected on {when}"
        )


def _retracted(e: ev.EventRetracted, target: Entry, how: str = "") -> None:
    when = e.on.isoformat()
    target.marks.update(retracted_by=str(e.id), retracted_on=when)
    target.notes.append(f"retracted {how}on {when}: {e.reason}")


def to_json(entry: Entry) -> dict[str, Any]:
    """The event line of ``export`` with its stream version and the correction marks added."""
    return {**to_line(entry.event), "version": entry.event.originator_version, **entry.marks}


def render_line(entry: Entry, width: int) -> str:
    e = entry.event
    notes = "".join(f"  [{n}]" for n in entry.notes)
    text = f"{entry.text}{notes}"
    return f"{e.on.isoformat()}  {text:<{width}}   recorded {e.recorded_at:%Y-%m-%d %H:%M} by {e.clerk}"


def render(found: list[Entry]) -> str:
    """The timeline as text: one line per event, the recorded time and clerk beside it."""
    if not found:
        return "no events"
    width = min(max(len(x.text) + sum(len(n) + 4 for n in x.notes) for x in found), 100)
    return "\n".join(render_line(x, width) for x in found)
