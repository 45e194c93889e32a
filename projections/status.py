"""A member's status as of an effective date and as known at a recorded time.

This is the read model behind ``zorgkas status``: current affiliation (fund, kind,
pending switch), five-year continuity (``affiliated_since``, ``joined_on_time``,
eligibility) and arrears (premiums per year, fines, credit).
Only claimed premiums are arrears (R-PREM-9); ``unclaimed_years`` lists the years of
membership the fund never claimed, and ``direct_debit`` the latest mandate (R-PREM-8). It is a pure function
of the member's events, so a fresh replay of the same events gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger import events as ev
from ledger.history import History
from ledger.rules import affiliation as aff
from ledger.rules.direct_debit import mandate
from ledger.rules.eligibility import Eligibility, eligibility
from ledger.rules.joining import joined_on_time
from ledger.rules.obligation import Obligation, obligation_on
from ledger.rules.premium import Account, account, unclaimed_years


@dataclass(frozen=True)
class Status:
    """What ``status`` answers about one member on one day: obligation, account, eligibility."""

    history: History
    obligation: Obligation
    account: Account
    eligibility: Eligibility
    joined_on_time: bool | None

    @classmethod
    def of(cls, history: History) -> Status:
        # By position, in the order of the fields (once per member of a rebuild).
        return cls(
            history,
            obligation_on(history, history.as_of),
            account(history),
            eligibility(history),
            joined_on_time(history),
        )

    def to_json(self) -> dict[str, Any]:
        h, day, acc = self.history, self.history.as_of, self.account
        fund = aff.fund_on(h, day)
        since = aff.affiliated_since(h, day)
        pending = aff.pending_switch(h, day)
        letters = [
            {"year": e.year, "sent_on": e.on.isoformat(), "premium_years": list(e.premium_years)}
            for e in h.of(ev.RegisteredLetterSent)
        ]
        fines = [
            {"year": y, "amount_cents": f.fine.amount_cents, "status": f.status}
            for y, f in sorted(acc.fines.items())
        ]
        premiums = acc.premiums_outstanding_cents
        fines_owed = acc.fines_outstanding_cents
        return {
            "insz": h.insz,
            "as_of": day.isoformat(),
            "known_on": h.known_on.isoformat() if h.known_on else None,
            "obligation": self.obligation.status,
            "obligation_rule": self.obligation.rule,
            "affiliated": fund is not None,
            "fund": fund,
            "kind": aff.kind_on(h, day),
            "affiliated_since": since.isoformat() if since else None,
            "joined_on_time": self.joined_on_time,
            "eligible": self.eligibility.eligible,
            "eligible_from": _iso(self.eligibility.eligible_from),
            "eligibility_rules": list(self.eligibility.rules),
            "arrears": {
                "premiums_cents": premiums,
                "fines_cents": fines_owed,
                "total_cents": premiums + fines_owed,
                "unpaid_years": acc.unpaid_years(),
            },
            "credit_cents": acc.credit_cents,
            "letters": letters,
            "fines": fines,
            "pending_switch": (
                {"to": pending.to_fund, "effective": pending.effective.isoformat()} if pending else None
            ),
            "premiums": [
                {
                    "year": y,
                    "due_cents": a.due.amount_cents,
                    "paid_cents": a.paid_cents,
                    "status": a.status,
                    "reduced": a.due.reduced,
                    "paid_on": _iso(a.paid_on),
                    "confirmed": a.due.confirmed,
                    "claimed_on": a.due.claim.on.isoformat(),
                    "claim": a.due.claim.type,
                    "adjusted": bool(a.due.adjustments),
                }
                for y, a in sorted(acc.years.items())
            ],
            "unclaimed_years": unclaimed_years(h),
            "direct_debit": _mandate_json(h),
        }


def _mandate_json(h: History) -> dict[str, Any] | None:
    found = mandate(h)
    return found.to_json() if found else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def status_of(insz: str, events: list[ev.Event], as_of: date, known_on: datetime | None) -> Status:
    """The status of a registered person (an unknown one is refused, R-OBL-1)."""
    history = History.view(insz, events, as_of, known_on)
    history.check_registered()
    return Status.of(history)


def status_json(insz: str, events: list[ev.Event], as_of: date, known_on: datetime | None) -> dict[str, Any]:
    return status_of(insz, events, as_of, known_on).to_json()
