"""Explain every figure of ``status``: which events, which rule, which parameter and its source.

The trace is data (``explain --json``) and plain words (``explain``): what a clerk reads
to a member on the phone, and what an appeal officer checks. Like a computation trace,
but with both times: it says what was known on ``known_on``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ledger import events as ev
from ledger import parameters
from ledger.money import euro
from ledger.rules import affiliation as aff
from ledger.rules.joining import window_on
from ledger.rules.obligation import turns_26_year
from ledger.rules.premium import Allocation
from projections.status import Status


@dataclass
class Step:
    figure: str
    value: Any
    rule: str
    because: str
    events: list[str] = field(default_factory=list)
    source: str | None = None


def _ref(e: ev.Event | None) -> list[str]:
    if e is None:
        return []
    recorded = f"recorded {e.recorded_at.isoformat()} by {e.clerk}"
    return [f"{e.type} #{e.originator_version} on {e.on.isoformat()} ({recorded})"]


def _origin(a: Allocation) -> str:
    if a.payment is None:
        return "budget deduction" if a.rule == "R-PREM-5" else "credit"
    return a.payment.bank_ref or a.payment.method


def trace(status: Status) -> list[Step]:
    h, day, acc = status.history, status.history.as_of, status.account
    steps: list[Step] = []
    reg = h.registration
    res = h.residence_on(day)
    steps.append(
        Step(
            "obligation",
            status.obligation.status,
            status.obligation.rule,
            f"born {h.born.isoformat()} (turns 26 in {turns_26_year(h)}); "
            f"on {day} {status.obligation.reason}",
            _ref(reg) + (_ref(res.event) if res.event is not reg else []),
        )
    )
    for p in aff.periods(h):
        end = f" until {p.end.isoformat()}" if p.end else ""
        steps.append(
            Step(
                "affiliation",
                p.fund,
                p.opened_by.rule,
                f"{p.kind} member of {p.fund} ({parameters.fund_name(p.fund)}) "
                f"from {p.start.isoformat()}{end}; "
                "membership counts from 1 January of the premium year",
                _ref(p.opened_by) + _ref(p.closed_by),
            )
        )
    for sw in h.of(ev.FundSwitched):
        steps.append(
            Step(
                "fund switch",
                sw.to_fund,
                "R-SW-1",
                f"requested on {sw.on}, effective {sw.effective}; continuity unbroken (R-SW-2)",
                _ref(sw),
            )
        )
    since = aff.affiliated_since(h, day)
    steps.append(
        Step(
            "affiliated_since",
            since.isoformat() if since else None,
            "R-AFF-1",
            "start of the current continuous affiliation" if since else "not affiliated",
        )
    )
    window = window_on(h, day)
    if window is not None:
        steps.append(
            Step(
                "joined_on_time",
                status.joined_on_time,
                "R-AFF-2",
                f"first premiums {', '.join(map(str, window.years))} payable until {window.end.isoformat()}",
            )
        )
    for year, ya in sorted(acc.years.items()):
        due = ya.due
        rate = "reduced (increased allowance on 1 January of the year before)" if ya.due.reduced else "normal"
        note = "" if due.confirmed else " — amount NOT CONFIRMED"
        claimed = f"claimed by {due.claim.type} on {due.claim.on} (R-PREM-9)"
        if due.adjustments:
            claimed += "; adjusted by " + ", ".join(f"{a.type} on {a.on}" for a in due.adjustments)
        paid = "; ".join(f"{euro(a.cents)} on {a.on} ({_origin(a)}, {a.rule})" for a in ya.allocations)
        paid = paid or "nothing paid"
        steps.append(
            Step(
                f"premium {year}",
                {"due_cents": ya.due.amount_cents, "paid_cents": ya.paid_cents, "status": ya.status},
                "R-PREM-1",
                f"{rate} premium {euro(ya.due.amount_cents)}{note}, {claimed}, "
                f"due {parameters.premium_due(year)} (R-PREM-2); "
                f"paid: {paid}; {ya.status}",
                _ref(due.claim) + [r for a in due.adjustments for r in _ref(a)],
                source=due.source or None,
            )
        )
    if acc.credit_cents:
        steps.append(
            Step(
                "credit_cents",
                acc.credit_cents,
                "R-PREM-6",
                "money beyond what is owed: kept as credit, applied to the next premium",
            )
        )
    for letter in h.of(ev.RegisteredLetterSent):
        steps.append(
            Step(
                f"letter {letter.year}",
                letter.premium_years,
                "R-LET-1",
                f"sent {letter.on} listing {letter.premium_years} ({euro(letter.amount_cents)})",
                _ref(letter),
            )
        )
    for year, fine in sorted(acc.fines.items()):
        why = {"annulled": f"annulled ({fine.annulled_by})", "paid": "paid", "open": "open"}[fine.status]
        steps.append(
            Step(
                f"fine {year}",
                fine.fine.amount_cents,
                "R-FINE-1",
                f"imposed {fine.fine.on} for premiums {fine.fine.premium_years}: {why}",
                _ref(fine.fine),
            )
        )
    elig = status.eligibility
    steps.append(
        Step(
            "eligible",
            elig.eligible,
            ",".join(elig.rules),
            f"eligible from {elig.eligible_from}"
            if elig.eligible_from
            else "no date: " + "; ".join(elig.reasons),
        )
    )
    return steps


def trace_json(status: Status) -> dict[str, Any]:
    data = status.to_json()
    return {
        "insz": data["insz"],
        "as_of": data["as_of"],
        "known_on": data["known_on"],
        "status": data,
        "trace": [asdict(s) for s in trace(status)],
    }


def render(status: Status) -> str:
    h = status.history
    known = f", as known on {h.known_on.isoformat()}" if h.known_on else ""
    data = status.to_json()
    arrears = data["arrears"]
    lines = [f"Member {h.insz} on {h.as_of.isoformat()}{known}"]
    for s in trace(status):
        value = "" if isinstance(s.value, dict) else f" = {s.value}"
        lines.append(f"- {s.figure}{value}: {s.because} [{s.rule}]")
        if s.source:
            lines.append(f"    source: {s.source}")
        for ref in s.events:
            lines.append(f"    from {ref}")
    lines.append(
        f"Total owed: {euro(arrears['total_cents'])} = premiums {euro(arrears['premiums_cents'])}"
        f" (years {arrears['unpaid_years'] or 'none'}) + fines {euro(arrears['fines_cents'])};"
        f" credit {euro(data['credit_cents'])}."
    )
    return "\n".join(lines)
