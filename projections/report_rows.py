"""One member's reporting rows, and the next date on which they change by the calendar alone.

``member_rows`` evaluates the rule book for one member as of one date (and, for an
extract, as known at one moment) and returns a tuple per row in the column order of
``report_schema``. ``next_change`` is what keeps the nightly run incremental: a member's
figures are a function of their events and of the date, and between two events they
change only on a few dates the events and the parameters name (a switch taking effect,
a joining window closing, a budget deduction in April, the eligibility date, the year a
person turns 26, 1 January for a new premium year). The nightly run stores that date in
``_changes_on`` and re-evaluates a member when it has come (tests/test_reporting.py
checks, on a generated population, that the rows do not change before it).

Premiums are the recorded claims (R-PREM-9): ``account(history).years`` holds the claimed
years, ``unclaimed_years(history)`` the years of membership not claimed.
"""

from __future__ import annotations

import hmac
import json
from datetime import date, datetime, timedelta
from typing import Any

from ledger import events as ev
from ledger import parameters
from ledger.dates import jan1
from ledger.history import History
from ledger.member import Member
from ledger.rules import affiliation as aff
from ledger.rules import premium as prem
from ledger.rules.joining import window_on
from ledger.rules.obligation import turns_26_year
from projections.report_schema import BY_NAME
from projections.status import Status

Rows = dict[str, list[tuple[Any, ...]]]


def pseudonym(key: bytes, insz: str) -> str:
    # hmac.digest: the one-shot C path (hmac.new builds a Python HMAC object); same digest
    return hmac.digest(key, insz.encode(), "sha256").hex()[:20]


def _json(values: Any) -> str:
    """The JSON list of ``values``; a list of years is written directly, as json.dumps would."""
    values = list(values)
    if all(type(v) is int for v in values):
        return _years(values)
    return json.dumps(values)


def _years(years: list[int]) -> str:
    """The JSON list of a rule's list of years (``unpaid_years``, ``unclaimed_years``: ints by
    their type), as json.dumps writes it, without checking each value's type."""
    return "[" + ", ".join(map(str, years)) + "]"


class _IsoText(dict[date, str]):
    """The ISO text of a date, made once per distinct date (``_ISO[day]``): a rebuild writes
    about thirty dates a member, mostly the few days the yearly runs and the bank files
    name, and a lookup costs a sixth of ``isoformat``. A pure function of the date alone,
    so nothing of one member reaches another; bounded, in case a run sees many days."""

    def __missing__(self, day: date) -> str:
        if len(self) >= 100_000:
            self.clear()
        text = self[day] = day.isoformat()
        return text


_ISO = _IsoText()


def _iso(day: date | None) -> str | None:
    """``_ISO[day]``, or None for no date: the members and periods rows' dates go in as text
    too (sqlite3's date adapter is a Python call per value)."""
    return None if day is None else _ISO[day]


def _deducted_cents(acc: prem.Account, deduction: ev.PremiumDeducted) -> int:
    """What a budget deduction took from the April budget payment (R-PREM-5): its year's
    premium and the earlier unpaid ones it paid, as the account allocated them."""
    return sum(
        a.cents
        for a in acc.allocations
        if a.payment is None and a.rule == "R-PREM-5" and a.on == deduction.on and a.cents > 0
    )


def member_rows(member: Member, as_of: date, key: bytes, with_insz: bool,
                known_on: datetime | None = None) -> tuple[Rows, Status | None]:  # fmt: skip
    """Every reporting row of one member as of ``as_of`` (and known on ``known_on``)."""
    history = History.view(member.insz, member.events, as_of, known_on)
    rows: Rows = {name: [] for name in BY_NAME}
    if not history.is_registered:
        return rows, None
    status = Status.of(history)
    acc = status.account
    mk = pseudonym(key, member.insz)
    reg = history.registration
    res = history.residence_on(as_of)
    pending = aff.pending_switch(history, as_of)

    params = parameters.raw()
    fund_on = aff.fund_on  # asked per claim, letter and fine
    # The figures of ``status --json`` (Status.to_json), read from the status directly:
    # building the whole JSON (premium list, letters, mandate) for a few fields cost a tenth
    # of a rebuild. tests/test_reporting.py compares the two.
    fund = aff.fund_on(history, as_of)
    premiums_cents, fines_cents = acc.premiums_outstanding_cents, acc.fines_outstanding_cents
    rows["members"].append((
        mk, member.insz if with_insz else None, reg.born.year, res.region, res.situation,
        reg.health_fund, status.obligation.status, fund is not None, fund, aff.kind_on(history, as_of),
        _iso(aff.affiliated_since(history, as_of)), status.joined_on_time, bool(status.eligibility.eligible),
        _iso(status.eligibility.eligible_from), _iso(history.died_on()), premiums_cents,
        fines_cents, premiums_cents + fines_cents, acc.credit_cents,
        _years(acc.unpaid_years()), _years(prem.unclaimed_years(history)),
        pending.to_fund if pending else None, _iso(pending.effective) if pending else None,
    ))  # fmt: skip
    for p in aff.periods(history):
        rows["affiliation_periods"].append((mk, p.fund, p.kind, _ISO[p.start], _iso(p.end), p.opened_by.rule))
    # Claims and payments are most of a rebuild's rows: their dates go in as the ISO text
    # the schema stores, made here, rather than through sqlite3's adapter call per value.
    claims = rows["claims"]
    iso = _ISO
    for year, ya in sorted(acc.years.items()):
        due = ya.due
        paid_on = ya.paid_on
        owed_from = due.owed_from
        # The fund on max(1 January of the year, owed_from): the year's first day is made only
        # when owed_from lies before it (a date() costs a keyword-argument parse per claim).
        claim_fund = fund_on(history, owed_from if owed_from.year >= year else jan1(year))
        claims.append((
            mk, year, claim_fund, due.amount_cents,
            ya.paid_cents, ya.outstanding_cents, ya.status, bool(due.reduced),
            iso[due.claim.on], iso[owed_from], _premium_due(year, params),
            iso[paid_on] if paid_on else None, due.source, due.confirmed, len(due.adjustments),
        ))  # fmt: skip
    reversals = {r.payment_id: r for r in history.of(ev.PaymentReversed)}
    payments = rows["payments"]
    for pay in history.of(ev.PremiumPaid):
        rev = reversals.get(pay.id) if reversals else None  # most members: no id to hash
        payments.append((
            mk, iso[pay.on], pay.amount_cents, pay.method, pay.bank_ref, pay.ogm or None,
            pay.fine_year, rev is not None, iso[rev.on] if rev else None,
            (rev.reason or None) if rev else None,
        ))  # fmt: skip
    for ded in history.of(ev.PremiumDeducted):  # a claim and its payment in one event (R-PREM-5)
        rows["payments"].append((
            mk, ded.on, _deducted_cents(acc, ded), "budget-deduction", None, None, None, False, None, None,
        ))  # fmt: skip
    for letter in history.of(ev.RegisteredLetterSent):
        unpaid = [y for y in letter.premium_years if y in acc.years and acc.years[y].outstanding_cents > 0]
        unpaid_cents = sum(acc.years[y].outstanding_cents for y in unpaid)
        rows["letters"].append((
            mk, letter.year, fund_on(history, letter.on), letter.on, _json(letter.premium_years),
            letter.amount_cents, _json(unpaid), unpaid_cents, bool(unpaid),
        ))  # fmt: skip
    for year, fine in sorted(acc.fines.items()):
        rows["fines"].append((
            mk, year, fund_on(history, fine.fine.on), fine.fine.on, fine.fine.amount_cents, fine.paid_cents,
            _json(fine.fine.premium_years), fine.status, fine.annulled_by,
        ))  # fmt: skip
    for appeal in history.of(ev.FineAppealDecided):
        rows["appeals"].append((mk, appeal.fine_year, appeal.on, appeal.upheld))
    for ex in history.of(ev.ExemptionGranted):
        rows["exemptions"].append((mk, ex.reason, ex.on, ex.until, ex.evidence or None))
    for death in history.of(ev.Died)[:1]:
        rows["deaths"].append((mk, death.on))
    for c in history.of(ev.Cancelled):
        rows["cancellations"].append((mk, c.on, c.until, _json(c.unpaid_years)))
    changes = history.of(ev.AllowanceChanged)
    for n, change in enumerate(changes):
        end = changes[n + 1].on - timedelta(days=1) if n + 1 < len(changes) else None
        rows["allowance_periods"].append((mk, change.entitled, change.on, end))
    for b in history.of(ev.BudgetGranted):
        rows["budgets"].append((mk, b.kind, b.on, b.until, b.monthly_cents))
    for sw in history.of(ev.FundSwitched):
        rows["fund_switches"].append((mk, sw.from_fund, sw.to_fund, sw.on, sw.effective))
    return rows, status


_DUE: dict[int, tuple[object, str]] = {}


def _premium_due(year: int, data: object) -> str:
    """R-PREM-2 for ``year`` (ISO), computed once per loaded parameters ``data`` (a reload gives new ones)."""
    cached = _DUE.get(year)
    if cached is None or cached[0] is not data:
        cached = _DUE[year] = (data, parameters.premium_due(year).isoformat())
    return cached[1]


_ONE_DAY = timedelta(days=1)  # made once: timedelta's keyword parse costs more than the addition
# A date an event names, and when the figures change: from a start date on that day, after
# a last day ("until": the last day of an exemption, a budget, a cancelled membership) the
# day after.
_DATE_FIELDS = {
    "on": timedelta(0),
    "since": timedelta(0),
    "effective": timedelta(0),
    "resident_since": timedelta(0),
    "until": timedelta(days=1),
}


def _date_fields(kind: type) -> tuple[tuple[str, timedelta], ...]:
    """The date fields of ``_DATE_FIELDS`` an event type has that can lie after a view's
    ``as_of``, looked up once per type. A view holds only events effective by its
    ``as_of`` (``History.view``), the registration and its corrections excepted: no other
    ``on`` is later. A correction's ``resident_since`` is named as the registration's is."""
    found = _FIELDS_OF.get(kind)
    if found is None:
        found = _FIELDS_OF[kind] = tuple(
            (n, a) for n, a in _DATE_FIELDS.items() if hasattr(kind, n) and (n != "on" or kind in ev.PERSON)
        )
    return found


_FIELDS_OF: dict[type, tuple[tuple[str, timedelta], ...]] = {}
# The parameters' own dates around one year, per loaded parameters (a reload gives new ones).
_CALENDAR: dict[int, tuple[object, list[date]]] = {}


def _calendar(year: int) -> list[date]:
    """The dates the parameters name for ``year`` and the next (R-PREM-5, R-PREM-2, R-ELIG-1)."""
    data = parameters.raw()
    cached = _CALENDAR.get(year)
    if cached is not None and cached[0] is data:
        return cached[1]
    days: list[date] = []
    for y in (year, year + 1):
        for rule_day in (parameters.budget_deduction_day, parameters.premium_due):
            days.append(rule_day(y))
    for start, until, *_rest in parameters.residence_periods():
        days.append(start)
        if until < date.max:
            days.append(until + timedelta(days=1))
    _CALENDAR[year] = (data, days)
    return days


def next_change(status: Status) -> date:
    """The first date after ``history.as_of`` on which this member's rows may change
    without a new event: the smallest of the dates named by the events and the rules.

    A date named twice costs nothing; a date missed would leave a stale row, so the list
    errs on the side of more dates (each costs one re-evaluation of one member).
    """
    history = status.history
    day = history.as_of
    later: set[date] = {jan1(day.year + 1)}  # a new premium year can be claimed (R-PREM-9)
    for kind in history.kinds():  # by type: claims and payments, most events, name no later date
        fields = _FIELDS_OF.get(kind)  # known after the first member: one lookup, no call
        if fields is None:
            fields = _date_fields(kind)
        if not fields:
            continue
        for e in history.of(kind):
            for name, after in fields:
                value = getattr(e, name)
                # Only later dates count; most an event names are past (not added, same minimum).
                if isinstance(value, date):
                    value += after
                    if value > day:
                        later.add(value)
    later.update(_calendar(day.year))
    later.add(jan1(turns_26_year(history)))  # born.year + the obligation age, once per view
    if status.eligibility.eligible_from:
        later.add(status.eligibility.eligible_from)
    window = window_on(history, day)
    if window is not None:
        later.add(window.end + _ONE_DAY)  # open through its last day
    return min(filter(day.__lt__, later))  # the later dates (d > day), filtered in C
