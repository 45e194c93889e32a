"""Explain every figure of ``status`` in sentences a clerk can read aloud on the phone.

Each step names a figure (``premium 2024``, ``fine 2024``, ``payment 2024-03-02``), its
value as data, the rule that decides it, the events it comes from, and the public
source of any amount. ``explain --json`` is the same trace as data; ``explain`` prints
the sentences, with euro as a Belgian clerk writes them (€ 1.234,56).

The trace reads the same rule results as ``status`` (``fund_on``, ``kind_on``, the
premium account), so the two never disagree about a date. Where it cites the source of
a premium, it uses what was recorded on the claim, never today's parameters file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ledger import events as ev
from ledger import parameters
from ledger.history import History
from ledger.rules import affiliation as aff
from ledger.rules import premium as prem
from ledger.rules.joining import window_on
from ledger.rules.obligation import is_adult_in, turns_26_year
from projections.status import Status
from projections.timeline import KIND_NAMES, correction_values, describe, fund_label, residence
from projections.wording import and_list, day, eur, moment, public_source, title, years

ALLOCATION_ORDER = (
    "Money received goes first to the premium year its structured message names, then to "
    "the oldest unpaid premium, years that can still lead to a fine before years already "
    "fined (R-PREM-7); a direct debit pays only its own year's premium (R-PREM-8). Money "
    "left after every premium pays open fines, oldest first; what is left is kept as credit "
    "and pays the next premium as soon as it is claimed (R-PREM-6)."
)


@dataclass
class Step:
    figure: str
    value: Any
    rule: str
    because: str  # the sentences read aloud
    events: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None


def ref(e: ev.Event | None) -> list[dict[str, Any]]:
    """An event as the trace cites it: what it says, when it happened, who recorded it when."""
    if e is None:
        return []
    return [
        {
            "type": e.type,
            "id": str(e.id),
            "version": e.originator_version,
            "on": e.on.isoformat(),
            "recorded_at": e.recorded_at.isoformat(),
            "clerk": e.clerk,
            "says": describe(e),
        }
    ]


def _cited(e: ev.Event) -> str:
    """An event inside a sentence: 'the payment invitation sent on 15 January 2024 (…)'."""
    recorded = f"recorded {moment(e.recorded_at)} by {e.clerk}"
    if isinstance(e, ev.PremiumInvited):
        debit = ", to be debited under the mandate (R-PREM-8)" if e.direct_debit else ""
        return f"the payment invitation sent on {day(e.on)} (structured message {e.ogm}; {recorded}){debit}"
    return f"“{describe(e)}” of {day(e.on)} ({recorded})"


# -- the person and the membership -------------------------------------------------------
def a_kind(kind: str) -> str:
    """'a compulsory', 'an automatic (by the Vlaamse Zorgkas)', 'an early (under 26)'."""
    words = KIND_NAMES.get(kind, kind)
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


def _person(status: Status) -> list[Step]:
    h, as_of = status.history, status.history.as_of
    reg, res = h.registration, h.residence_on(as_of)
    ob = status.obligation
    text = (
        f"Born {day(h.born)}, so the obligation can start in {turns_26_year(h)}, the year of the "
        f"26th birthday. On {day(as_of)} living {residence(res.region, res.situation)} "
        f"(since {day(res.since)}): {ob.status} — {ob.reason}."
    )
    corrections = h.registration_corrections()
    for c in corrections:
        text += (
            f" The registration was corrected: {correction_values(c, h.registered)}; reason: "
            f"{c.reason} (recorded {moment(c.recorded_at)} by {c.clerk})."
        )
    cited = ref(h.registered) + [r for c in corrections for r in ref(c)]
    return [
        Step(
            "obligation",
            ob.status,
            ob.rule,
            text,
            cited + (ref(res.event) if res.event is not reg else []),
        )
    ]


def _fund_stretches(h: History, period: aff.Period) -> list[tuple[date, str, ev.Event]]:
    """The fund of a period from its start and after each switch that took effect (R-SW-1)."""
    found: list[tuple[date, str, ev.Event]] = [(period.start, period.fund, period.opened_by)]
    for sw in h.of(ev.FundSwitched):
        if sw.on >= period.opened_by.on and sw.effective <= h.as_of and period.covers(sw.effective):
            found.append((sw.effective, sw.to_fund, sw))
    return found


def _membership(status: Status) -> list[Step]:
    h, as_of = status.history, status.history.as_of
    steps: list[Step] = []
    for p in aff.periods(h):
        stretches = _fund_stretches(h, p)
        parts = [f"{fund_label(stretches[0][1])} from {day(p.start)}"]
        parts += [
            f"{fund_label(fund)} from {day(start)} (switch, R-SW-1)" for start, fund, _ in stretches[1:]
        ]
        end = f" until {day(p.end)}" if p.end else ""
        closed = f"; ended by: {describe(p.closed_by)}" if p.closed_by else ""
        text = (
            f"{title(a_kind(p.kind))} member of {', then '.join(parts)}{end}"
            f"{closed}. Membership counts from 1 January of the premium year; a switch never "
            "breaks continuity (R-SW-2)."
        )
        steps.append(
            Step(
                "affiliation",
                {"fund": stretches[0][1], "kind": p.kind, "start": p.start.isoformat(),
                 "end": p.end.isoformat() if p.end else None,
                 "funds": [{"fund": f, "from": s.isoformat()} for s, f, _ in stretches]},
                p.opened_by.rule,
                text,
                [r for _s, _f, e in stretches for r in ref(e)] + ref(p.closed_by),
            )
        )  # fmt: skip
    fund, kind = aff.fund_on(h, as_of), aff.kind_on(h, as_of)
    if fund is None:
        text = f"On {day(as_of)} not a member of any care fund."
    else:
        text = f"On {day(as_of)} {a_kind(kind or '')} member of {fund_label(fund)}."
    steps.append(Step("fund", {"fund": fund, "kind": kind}, "R-AFF-1", text))
    pending = aff.pending_switch(h, as_of)
    if pending is not None:
        steps.append(
            Step(
                "pending_switch",
                {"to": pending.to_fund, "effective": pending.effective.isoformat()},
                "R-SW-1",
                f"A switch to {fund_label(pending.to_fund)} was requested on {day(pending.on)}; it "
                f"takes effect on {day(pending.effective)}, so on {day(as_of)} the fund is still "
                f"{fund or 'none'}.",
                ref(pending),
            )
        )
    since = aff.affiliated_since(h, as_of)
    steps.append(
        Step(
            "affiliated_since",
            since.isoformat() if since else None,
            "R-AFF-1",
            f"Continuously affiliated since {day(since)}." if since else "Not affiliated on this date.",
        )
    )
    window = window_on(h, as_of)
    if window is not None:
        verdict = {
            True: "joined on time: those premiums were paid within the window",
            False: "did not join on time",
            None: "not decided yet: the window is still open"
            if as_of <= window.end
            else "not decided: not affiliated on this date",
        }[status.joined_on_time]
        steps.append(
            Step(
                "joined_on_time",
                status.joined_on_time,
                "R-AFF-2",
                f"The first premiums ({and_list(window.years)}) could be paid "
                f"until {day(window.end)}: {verdict}.",
            )
        )
    return steps


# -- premiums and payments ---------------------------------------------------------------
def _source(due: prem.PremiumDue) -> tuple[str, bool]:
    """(public source, confirmed) as recorded on the claim (R-PREM-9), never the schedule now."""
    return public_source(due.source), due.confirmed


def _origin(a: prem.Allocation) -> str:
    if a.payment is not None:
        p = a.payment
        ref_ = f" (bank ref {p.bank_ref})" if p.bank_ref else ""
        return f"{eur(a.cents)} on {day(a.on)} from the payment of {eur(p.amount_cents)}{ref_}"
    if a.rule == "R-PREM-5":
        return f"{eur(a.cents)} on {day(a.on)} from the care budget (R-PREM-5)"
    return f"{eur(a.cents)} on {day(a.on)} from credit (R-PREM-6)"


def _premium(h: History, year: int, ya: prem.YearAccount) -> Step:
    due = ya.due
    claim = due.claim
    source, confirmed = _source(due)
    rate = (
        "reduced rate (increased allowance on 1 January of the year before)" if due.reduced else "normal rate"
    )
    claimed = f"claimed (R-PREM-9) by {_cited(claim)}"
    sure = "the amount is confirmed" if confirmed else "the amount is NOT confirmed by an official source"
    adjusted, before = "", getattr(claim, "amount_cents", None)
    for a in due.adjustments:  # the claim is never changed: each correction is its own event
        was = f" from {eur(before)}" if before is not None else ""
        adjusted += (
            f" The claim was adjusted{was} to {eur(a.amount_cents)} as from {day(a.on)}: {a.reason} "
            f"(R-PREM-9; recorded {moment(a.recorded_at)} by {a.clerk})."
        )
        before = a.amount_cents
    paid = "; ".join(_origin(a) for a in ya.allocations) or "nothing"
    still = ya.outstanding_cents
    if still == 0:
        left = f"Paid in full on {day(ya.paid_on)}." if ya.paid_on else "Paid in full."
    elif ya.paid_cents:
        left = (
            f"Still due: {eur(still)} — incomplete: a premium cannot be paid in instalments, "
            "so it counts as unpaid for letters and fines (R-PREM-6)."
        )
    else:
        left = f"Still due: {eur(still)} (unpaid)."
    text = (
        f"The {year} premium is {eur(due.amount_cents)} at the {rate}, {claimed}; {sure}. "
        f"Due by {day(parameters.premium_due(year))} (R-PREM-2).{adjusted} Paid: {paid}. {left}"
    )
    return Step(
        f"premium {year}",
        {
            "due_cents": due.amount_cents,
            "paid_cents": ya.paid_cents,
            "outstanding_cents": still,
            "status": ya.status,
            "reduced": due.reduced,
            "confirmed": confirmed,
            "claimed_by": str(claim.id) if claim else None,
            "paid_by": [_allocation_json(a) for a in ya.allocations],
        },
        "R-PREM-1",
        text,
        ref(claim)
        + [r for a in due.adjustments for r in ref(a)]
        + [r for a in ya.allocations for r in ref(a.payment)],
        source,
    )


def _why_not_owed(h: History, year: int, claim: ev.Event) -> tuple[str, str, ev.Event | None] | None:
    """(rule, reason, the fact that frees it) for a claim not owed on ``as_of``; None if owed."""
    if not is_adult_in(h, year):
        first = turns_26_year(h)
        return "R-PREM-3", f"no premium is owed before {first}, the year of the 26th birthday", None
    x = prem.freeing_exemption(h, claim)
    if x is not None:
        if x.reason == "death":
            return "R-PREM-4", f"the member died on {day(x.start)}, before the claim", x.event
        until = f" until {day(x.end)}" if x.end else ""
        return (
            "R-PREM-4",
            (
                f"exempt from premiums ({x.reason.replace('-', ' ')}) from {day(x.start)}{until}: "
                "an exemption that covers any day of a year frees that year's premium"
            ),
            x.event,
        )
    if prem.covering_period(h, year) is None:
        ended = [p for p in aff.periods(h) if p.end is not None and p.end.year < year]
        if ended and ended[-1].closed_by is not None:  # cancelled (R-AFF-4), moved away, died
            last, cancelled = ended[-1], isinstance(ended[-1].closed_by, ev.Cancelled)
            why = " (cancelled for unpaid premiums)" if cancelled else ""
            reason = f"no membership covers {year}: the membership ended on {day(last.end)}{why}"
            return ("R-AFF-4" if cancelled else "R-PREM-9"), reason, last.closed_by
        return "R-PREM-9", f"no membership covers {year} on {day(h.as_of)}: it is owed once one does", None
    return None


def _claims_not_owed(status: Status) -> list[Step]:
    """Claims recorded but not owed on ``as_of``, each with the rule and the fact that free it."""
    h, owed = status.history, status.account.years
    steps: list[Step] = []
    for year, claim in prem.claims(h).items():
        found = None if year in owed else _why_not_owed(h, year, claim)
        if found is None:
            continue
        rule, reason, cause = found
        steps.append(
            Step(
                f"claim {year}",
                {"claimed_cents": claim.amount_cents, "owed": False},
                rule,
                f"The {year} premium of {eur(claim.amount_cents)} was claimed by {_cited(claim)}, "
                f"but is not owed: {reason}.",
                ref(claim) + ref(cause),
            )
        )
    return steps


def _named_year(h: History, payment: ev.PremiumPaid) -> int | None:
    """R-PREM-7: the year whose claim carries this payment's structured message."""
    if not payment.ogm:
        return None
    for e in h.events:
        if e is not payment and getattr(e, "ogm", None) == payment.ogm and hasattr(e, "year"):
            return e.year  # type: ignore[attr-defined, no-any-return]
    return None


def _fined_on(h: History, on: date) -> set[int]:
    """Premium years claimed with a fine that stood on ``on`` (the R-PREM-7 order then)."""
    upheld = {a.fine_year: a.on for a in h.of(ev.FineAppealDecided) if a.upheld}
    return {
        y
        for f in h.of(ev.FineImposed)
        if f.on <= on and not (f.year in upheld and upheld[f.year] <= on)
        for y in f.premium_years
    }


def _why(a: prem.Allocation, named: int | None, fined: set[int], payment: ev.PremiumPaid) -> tuple[str, str]:
    """(reason code, sentence) for one part of a payment: where it went and why (R-PREM-6..8)."""
    if a.target == "credit":
        return "credit", f"{eur(a.cents)} kept as credit: more than what is owed (R-PREM-6)"
    if a.target == "fine":
        if payment.fine_year == a.year:
            return "named_fine", f"{eur(a.cents)} to the fine of {a.year}: the payment names that fine"
        return (
            "open_fine",
            f"{eur(a.cents)} to the fine of {a.year}: every premium was paid, the rest pays open fines",
        )
    if a.rule == "R-PREM-8":
        return "direct_debit", (
            f"{eur(a.cents)} to the {a.year} premium: a direct debit pays only its own year (R-PREM-8)"
        )
    if a.year == named:
        return "named_year", f"{eur(a.cents)} to the {a.year} premium: the year its structured message names"
    if a.year in fined:
        return "oldest_fined", (
            f"{eur(a.cents)} to the {a.year} premium: the oldest unpaid premium among those "
            "already claimed with a fine, after every premium that can still lead to one"
        )
    if named is not None:
        reason = f"after the {named} premium it names"
    elif payment.ogm:
        reason = "its structured message names no claimed year"
    else:
        reason = "it carries no structured message"
    return "oldest", (
        f"{eur(a.cents)} to the {a.year} premium: the oldest unpaid premium "
        f"that can still lead to a fine ({reason})"
    )


def _allocation_json(a: prem.Allocation, reason: str | None = None) -> dict[str, Any]:
    data = {
        "target": a.target,
        "year": a.year,
        "cents": a.cents,
        "on": a.on.isoformat(),
        "payment_id": str(a.payment.id) if a.payment else None,
        "rule": a.rule,
    }
    return data if reason is None else {**data, "reason": reason}


def _payments(status: Status) -> list[Step]:
    h, acc = status.history, status.account
    standing = {p.id for p in prem.payments(h)}
    reversals = {r.payment_id: r for r in h.of(ev.PaymentReversed)}
    steps: list[Step] = []
    for p in h.of(ev.PremiumPaid):
        named = _named_year(h, p)
        head = f"{describe(p)} on {day(p.on)} (recorded {moment(p.recorded_at)} by {p.clerk})"
        if p.id not in standing:
            r = reversals[p.id]
            steps.append(
                Step(
                    f"payment {p.on.isoformat()}",
                    {"amount_cents": p.amount_cents, "reversed_on": r.on.isoformat(), "allocations": []},
                    "R-PREM-6",
                    f"{head}. The bank took it back on {day(r.on)}: it pays nothing from then on.",
                    ref(p) + ref(r),
                )
            )
            continue
        allocs = [a for a in acc.allocations if a.payment is p]
        fined = _fined_on(h, p.on)
        whys = [_why(a, named, fined, p) for a in allocs]
        went = "; ".join(text for _code, text in whys) or "nothing: it was already used"
        named_text = f" It names the {named} premium." if named is not None else ""
        steps.append(
            Step(
                f"payment {p.on.isoformat()}",
                {
                    "amount_cents": p.amount_cents,
                    "named_year": named,
                    "allocations": [
                        _allocation_json(a, code) for a, (code, _t) in zip(allocs, whys, strict=True)
                    ],
                },
                "R-PREM-7",
                f"{head}.{named_text} It went: {went}.",
                ref(p),
            )
        )
    for a in acc.allocations:
        if a.payment is None and a.rule == "R-PREM-5":
            steps.append(
                Step(
                    f"budget deduction {a.on.isoformat()}",
                    _allocation_json(a),
                    "R-PREM-5",
                    f"On {day(a.on)} {eur(a.cents)} of the monthly care budget paid the {a.year} premium.",
                )
            )
    steps.append(Step("allocation order", None, "R-PREM-7", ALLOCATION_ORDER))
    if acc.credit_cents:
        steps.append(
            Step(
                "credit_cents",
                acc.credit_cents,
                "R-PREM-6",
                f"{eur(acc.credit_cents)} paid beyond what is owed is kept as credit; it pays the next "
                "premium as soon as it is claimed, and is never lost.",
            )
        )
    return steps


def _unclaimed(status: Status) -> list[Step]:
    found = prem.unclaimed_years(status.history)
    if not found:
        return []
    return [
        Step(
            "unclaimed_years",
            list(found),
            "R-PREM-9",
            f"Member in {and_list(found)}, but the fund never claimed a premium for "
            f"{'that year' if len(found) == 1 else 'those years'}: nothing is owed for "
            f"{'it' if len(found) == 1 else 'them'} until it is claimed.",
        )
    ]


# -- letters, fines, eligibility, the total ---------------------------------------------------
def _letters_and_fines(status: Status) -> list[Step]:
    h, acc = status.history, status.account
    steps: list[Step] = []
    for letter in h.of(ev.RegisteredLetterSent):
        steps.append(
            Step(
                f"letter {letter.year}",
                {"sent_on": letter.on.isoformat(), "premium_years": list(letter.premium_years),
                 "amount_cents": letter.amount_cents},
                "R-LET-1",
                f"A registered letter was sent on {day(letter.on)} for {years(letter.premium_years)} "
                f"({eur(letter.amount_cents)} unpaid then).",
                ref(letter),
            )
        )  # fmt: skip
    appeals = {a.fine_year: a for a in h.of(ev.FineAppealDecided)}
    for year, fine in sorted(acc.fines.items()):
        f = fine.fine
        received_by = parameters.fine_received_by(year)
        if fine.status == "annulled" and fine.annulled_by == "R-FINE-2":
            now = f"annulled: the appeal was upheld on {day(appeals[year].on)} (R-FINE-2); nothing is due"
        elif fine.status == "annulled":
            now = (
                f"annulled: the premiums of the letter reached the fund's account by "
                f"{day(received_by)} (R-FINE-1); nothing is due"
            )
        elif fine.status == "paid":
            now = "paid in full"
        else:
            now = f"open: {eur(fine.outstanding_cents)} still due"
            if year in appeals and not appeals[year].upheld:
                now += f" (the appeal was rejected on {day(appeals[year].on)}, R-FINE-2)"
        steps.append(
            Step(
                f"fine {year}",
                {"amount_cents": f.amount_cents, "paid_cents": fine.paid_cents,
                 "outstanding_cents": fine.outstanding_cents, "status": fine.status,
                 "annulled_by": fine.annulled_by},
                fine.annulled_by or "R-FINE-1",
                f"A fine of {eur(f.amount_cents)} was imposed on {day(f.on)} for "
                f"{years(f.premium_years)}, unpaid after the letter of {year} (R-FINE-1). It is {now}.",
                ref(f) + ref(appeals.get(year)),
            )
        )  # fmt: skip
    return steps


def _eligibility(status: Status) -> Step:
    elig, as_of = status.eligibility, status.history.as_of
    reasons = "; ".join(public_source(r) for r in elig.reasons)
    if elig.eligible:
        text = (
            f"Eligible for a care budget from {day(elig.eligible_from)}" if elig.eligible_from else "Eligible"
        )
    elif elig.eligible_from:
        text = f"Not yet eligible for a care budget on {day(as_of)}: eligible from {day(elig.eligible_from)}"
    else:
        text = f"Not eligible for a care budget on {day(as_of)}"
    text += f" ({', '.join(elig.rules)}): {reasons}." if reasons else f" ({', '.join(elig.rules)})."
    return Step(
        "eligible",
        {
            "eligible": elig.eligible,
            "eligible_from": elig.eligible_from.isoformat() if elig.eligible_from else None,
        },
        ",".join(elig.rules),
        text,
    )


def total_sentence(status: Status) -> str:
    acc = status.account
    premiums, fines = acc.premiums_outstanding_cents, acc.fines_outstanding_cents
    unpaid = acc.unpaid_years()
    what = f"premiums {eur(premiums)}" + (f" ({and_list(unpaid)})" if unpaid else "")
    credit = f"; credit {eur(acc.credit_cents)}" if acc.credit_cents else ""
    return f"Total owed: {eur(premiums + fines)} = {what} + fines {eur(fines)}{credit}."


def trace(status: Status) -> list[Step]:
    steps = _person(status) + _membership(status)
    for year, ya in sorted(status.account.years.items()):
        steps.append(_premium(status.history, year, ya))
    steps += _claims_not_owed(status) + _unclaimed(status) + _payments(status) + _letters_and_fines(status)
    steps.append(_eligibility(status))
    return steps


def trace_json(status: Status) -> dict[str, Any]:
    data = status.to_json()
    return {
        "insz": data["insz"],
        "as_of": data["as_of"],
        "known_on": data["known_on"],
        "status": data,
        "trace": [asdict(s) for s in trace(status)],
        "total": total_sentence(status),
    }


def heading(status: Status) -> str:
    h = status.history
    known = f", as known on {moment(h.known_on)}" if h.known_on else ""
    return f"Member {h.insz} on {day(h.as_of)}{known}"


def render(status: Status) -> str:
    """The trace as text: one paragraph per figure, its rule, its source."""
    lines = [heading(status), ""]
    for s in trace(status):
        lines.append(f"- {s.because} [{s.rule}]")
        if s.source:
            lines.append(f"    Source: {s.source}")
    lines += ["", total_sentence(status)]
    return "\n".join(lines)
