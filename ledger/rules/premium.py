"""The yearly premium: what the fund claimed for which year, and how every cent paid is allocated.

- R-PREM-9 (a premium is owed once the fund has claimed it): a claim is a recorded
  event, the invitation of the yearly run (``PremiumInvited``) or the budget deduction
  (``PremiumDeducted``). It carries the year, the amount, whether it is reduced, the
  schedule value's source and confirmed flag, as they were when it was issued. Nothing
  here reads the parameters' schedule: a later change of the parameters never changes a
  recorded claim. A correction is a ``PremiumAdjusted`` event: from its effective date
  (at the earliest when the claim is owed) the amount owed is the adjusted one.
- A claim is owed from its effective date, once a membership period covers its year:
  an invitation to a person not yet affiliated is an offer until an affiliation covers
  its year (paying it, R-AFF-1; auto-affiliation, R-AFF-3), and it stays an offer for
  a voluntary person who never joins. Years of membership without a claim are listed
  by ``unclaimed_years``, never counted as arrears.
- R-PREM-3/4: no premium before the year one turns 26, none in years of debt
  settlement, bankruptcy or insolvency (a claim for such a year is not owed).
  Decision (R-PREM-4): a premium claimed on or before the day of death stays owed (the
  estate pays it); a claim dated after the death is void.
- R-PREM-5: the budget deduction claims and pays its year's premium on its April day;
  what is left of that budget payment pays earlier unpaid premiums too, except those
  already claimed with a fine.
- R-PREM-6: no instalments: a partial payment leaves the year *incomplete*; money
  beyond what is owed is credit, shown, never lost. An adjustment that lowers a premium
  already paid turns the difference into credit.
- R-PREM-7: money goes to the year its structured message names, then to the oldest
  unpaid premium, years that can still lead to a fine before those already fined.
- R-PREM-8: a direct debit pays only the premium of its own year.

Decisions: when one year was claimed twice (stores written before runs were idempotent
on every recorded event), the earliest claim counts and the later one is ignored.
Premiums come first (they stay owed on top of a fine, R-FINE-1); money left after
every premium pays open fines, oldest first, and only then becomes credit. A clerk can
tie a payment to one fine (``pay --fine-year``); an annulled fine gives its money back
as credit.

The allocation is a replay in effective-date order, so "paid by date D" is simply the
account of the history narrowed to D (``account(history.at(D))``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter, itemgetter
from typing import NamedTuple

from ledger import events as ev
from ledger import parameters
from ledger.history import History
from ledger.rules.affiliation import Period, periods
from ledger.rules.exemption import Exemption, exempt_year, exemptions
from ledger.rules.obligation import is_adult_in

Claim = ev.PremiumInvited | ev.PremiumDeducted
# A named tuple's own ``__new__`` is a Python function (``namedtuple`` makes it) that calls
# ``tuple.__new__(cls, (fields…))``; the fold's two per-claim and per-payment records are
# built by that C call directly: the same object, without the Python frame.
_tuple_new = tuple.__new__
_on = attrgetter("on")  # sort key of claims by date (in C: no Python call per claim)


class PremiumDue(NamedTuple):
    """One claimed premium: as the claim recorded it, after the adjustments in effect.

    An immutable named tuple rather than a frozen dataclass: one is made per claim and
    view, and a frozen dataclass's ``__init__`` costs twice as much (a setattr per field).
    """

    year: int
    amount_cents: int
    reduced: bool
    owed_from: date
    claim: ev.Event
    adjustments: tuple[ev.Event, ...]
    source: str
    confirmed: bool

    def adjusted(self, adj: ev.PremiumAdjusted) -> PremiumDue:
        return self._replace(
            amount_cents=adj.amount_cents,
            reduced=adj.reduced,
            source=adj.source,
            confirmed=adj.confirmed,
            adjustments=(*self.adjustments, adj),
        )


@History.per_view
def claims(history: History) -> dict[int, Claim]:
    """The claim of each year (the earliest, if a year was claimed twice), by year."""
    invited, deducted = history.of(ev.PremiumInvited), history.of(ev.PremiumDeducted)
    # Each list is in effective-date order already: only the two together need sorting.
    ordered = sorted([*invited, *deducted], key=_on) if deducted else invited
    # Read from the last back, the earliest claim of a year is the one that stays.
    found = {claim.year: claim for claim in reversed(ordered)}
    return dict(sorted(found.items()))


def claim_void(history: History, claim: Claim) -> bool:
    """R-PREM-3, R-PREM-4: a claim for a year without premium, or made after the death."""
    return not is_adult_in(history, claim.year) or freeing_exemption(history, claim) is not None


def freeing_exemption(history: History, claim: Claim) -> Exemption | None:
    """R-PREM-4: the exemption that frees ``claim`` (one covering any day of its year), or
    the death before it was made; None when none does."""
    for x in exemptions(history):
        if x.reason == "death":
            if x.start < claim.on:
                return x
        elif x.overlaps_year(claim.year):
            return x
    return None


def covering_period(history: History, year: int) -> Period | None:
    for period in periods(history):  # a loop, not next(genexpr): asked once per claim
        if period.covers_year(year):
            return period
    return None


def dues(history: History) -> list[PremiumDue]:
    """Premiums owed by ``history.as_of``: claims whose year a membership covers (R-PREM-9)."""
    owed: list[PremiumDue] = []
    for year, claim in claims(history).items():
        # Both read memoized rule results of the view (periods, age, exemptions).
        period = covering_period(history, year)
        if period is None or claim_void(history, claim):
            continue
        owed_from = max(claim.on, period.opened_by.on)
        # By position, in the order of PremiumDue's fields (keywords cost a third more per claim):
        # year, amount_cents, reduced, owed_from, claim, adjustments, source, confirmed.
        due = (year, claim.amount_cents, claim.reduced, owed_from, claim, (), claim.source, claim.confirmed)
        owed.append(_tuple_new(PremiumDue, due))
    return owed


def adjustments(history: History, due: PremiumDue) -> list[ev.PremiumAdjusted]:
    return [a for a in history.of(ev.PremiumAdjusted) if a.claim_id == due.claim.id]


@dataclass(frozen=True)
class ClaimState:
    """A claim as recorded, with every adjustment recorded for it (for writing corrections)."""

    year: int
    claim: ev.Event
    amount_cents: int
    reduced: bool
    source: str
    confirmed: bool


def current_claims(history: History) -> dict[int, ClaimState]:
    """Each year's standing claim and its latest adjustment, whatever their dates."""
    found: dict[int, ClaimState] = {}
    for year, claim in claims(history).items():
        if claim_void(history, claim):
            continue
        state = ClaimState(year, claim, claim.amount_cents, claim.reduced, claim.source, claim.confirmed)
        for adj in history.of(ev.PremiumAdjusted):
            if adj.claim_id == claim.id:
                state = ClaimState(year, claim, adj.amount_cents, adj.reduced, adj.source, adj.confirmed)
        found[year] = state
    return found


def unclaimed_years(history: History) -> list[int]:
    """R-PREM-9: years of membership up to ``as_of`` for which the fund recorded no claim.

    Years before 26 (R-PREM-3), years with an exemption or the death (R-PREM-4), and
    years before the ledger's first premium year are not premium years at all.
    """
    return list(_unclaimed_years(history))


@History.per_view
def _unclaimed_years(history: History) -> list[int]:
    floor = parameters.first_premium_year()
    member: set[int] = set()  # the years of membership up to as_of
    for period in periods(history):
        last = history.as_of.year if period.end is None else min(period.end.year, history.as_of.year)
        member.update(range(max(period.start.year, floor), last + 1))
    # Most years of membership are claimed: the set difference leaves the few to judge.
    member.difference_update(claims(history))
    return sorted(y for y in member if is_adult_in(history, y) and not exempt_year(history, y))


class Allocation(NamedTuple):
    """Part of one payment put on one premium year, a fine, or credit.

    An immutable named tuple built by position, like ``PremiumDue``: the fold makes one
    per payment and year it pays (about nine a member), and never changes one.
    """

    target: str  # "premium" | "fine" | "credit"
    year: int | None
    cents: int
    on: date
    payment: ev.PremiumPaid | None  # None for a budget deduction
    rule: str


@dataclass(slots=True)  # attributes read and set per payment: slots are quicker
class YearAccount:
    """One premium year of the account: what is due, what was paid and to which payments."""

    due: PremiumDue
    paid_cents: int = 0
    paid_on: date | None = None
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def outstanding_cents(self) -> int:
        return self.due.amount_cents - self.paid_cents

    @property
    def status(self) -> str:
        paid = self.paid_cents
        if self.due.amount_cents == paid:  # nothing outstanding (no property call: asked per claim row)
            return "paid"
        return "incomplete" if paid else "unpaid"


@dataclass(slots=True)
class FineAccount:
    """One fine of the account: what was paid of it, or the rule that annulled it."""

    fine: ev.FineImposed
    paid_cents: int = 0
    annulled_by: str | None = None  # the rule that annulled it

    @property
    def outstanding_cents(self) -> int:
        return 0 if self.annulled_by else max(self.fine.amount_cents - self.paid_cents, 0)

    @property
    def status(self) -> str:
        if self.annulled_by:
            return "annulled"
        return "paid" if self.outstanding_cents == 0 else "open"


@dataclass(slots=True)
class Account:
    """A member's premiums, fines, payments and credit as of one day."""

    as_of: date
    years: dict[int, YearAccount] = field(default_factory=dict)
    fines: dict[int, FineAccount] = field(default_factory=dict)
    allocations: list[Allocation] = field(default_factory=list)
    received_cents: int = 0
    credit_cents: int = 0
    # The years with something outstanding, kept as money moves: R-PREM-7 asks for them
    # on every payment, and a member has few of them among many paid years.
    _open: set[int] = field(default_factory=set, repr=False, compare=False)

    @property
    def premiums_outstanding_cents(self) -> int:
        # Only the years in ``_open`` have something outstanding (never less than nothing: a
        # payment takes at most what is owed, an adjustment gives the excess back as credit).
        years = self.years
        return sum(years[y].outstanding_cents for y in self._open)

    @property
    def fines_outstanding_cents(self) -> int:
        return sum(f.outstanding_cents for f in self.fines.values())

    def unpaid_years(self) -> list[int]:
        # The years whose outstanding_cents > 0: ``_open``, kept in step by every move of money.
        return sorted(self._open)

    def fined_years(self) -> set[int]:
        """Premium years the Agency already claims with a fine that stands."""
        return {y for f in self.fines.values() if not f.annulled_by for y in f.fine.premium_years}

    # -- moving money ------------------------------------------------------------------
    def _put(self, year: int, cents: int, on: date, payment: ev.PremiumPaid | None, rule: str) -> int:
        acc = self.years[year]
        owed = acc.due.amount_cents  # outstanding_cents is owed - paid (no property call per payment)
        take = owed - acc.paid_cents
        if cents < take:  # min(cents, outstanding), without the builtin's call per payment
            take = cents
        if take <= 0:
            return 0
        acc.paid_cents += take
        alloc = _tuple_new(Allocation, ("premium", year, take, on, payment, rule))
        acc.allocations.append(alloc)
        self.allocations.append(alloc)
        if acc.paid_cents == owed:
            acc.paid_on = on
            self._open.discard(year)
        return take

    def _track(self, year: int) -> None:
        """Keep ``_open`` in step after the amount owed of ``year`` changed."""
        acc = self.years[year]
        if acc.due.amount_cents > acc.paid_cents:
            self._open.add(year)
        else:
            self._open.discard(year)

    def _open_years(self, *, skip_fined: bool = False) -> list[int]:
        open_years = sorted(self._open)  # the years whose outstanding_cents > 0
        if not self.fines:  # most members: no fine, so no fined year to put last
            return open_years
        fined = self.fined_years()
        if skip_fined:
            open_years = [y for y in open_years if y not in fined]
        # R-PREM-7: oldest first, years that can still lead to a fine before fined ones.
        return sorted(open_years, key=lambda y: (y in fined, y))

    def _spread(self, cents: int, on: date, payment: ev.PremiumPaid | None, rule: str) -> int:
        if cents == 0:  # the payment paid its own year exactly: nothing to spread
            return 0
        for year in self._open_years():
            if cents == 0:
                break
            cents -= self._put(year, cents, on, payment, rule)
        return cents

    def _to_credit(self, cents: int, on: date, payment: ev.PremiumPaid | None) -> None:
        if cents > 0:
            self.credit_cents += cents
            self.allocations.append(Allocation("credit", None, cents, on, payment, "R-PREM-6"))

    def _pay_fine(
        self, fine: FineAccount, cents: int, on: date, payment: ev.PremiumPaid | None, rule: str
    ) -> int:
        take = min(cents, fine.outstanding_cents)
        if take > 0:
            fine.paid_cents += take
            self.allocations.append(Allocation("fine", fine.fine.year, take, on, payment, rule))
        return max(take, 0)

    def _pay_fines(self, cents: int, on: date, payment: ev.PremiumPaid | None, rule: str) -> int:
        if cents == 0 or not self.fines:
            return cents
        for year in sorted(self.fines):
            if cents == 0:
                break
            cents -= self._pay_fine(self.fines[year], cents, on, payment, rule)
        return cents

    def receive(self, payment: ev.PremiumPaid, target_year: int | None) -> None:
        cents = payment.amount_cents
        self.received_cents += cents
        if payment.fine_year in self.fines:
            cents -= self._pay_fine(self.fines[payment.fine_year], cents, payment.on, payment, "R-FINE-1")
        if payment.method == "direct-debit":
            # R-PREM-8: overdue premiums cannot be paid by direct debit.
            if payment.on.year in self.years:
                cents -= self._put(payment.on.year, cents, payment.on, payment, "R-PREM-8")
            self._to_credit(cents, payment.on, payment)
            return
        if target_year in self.years:
            cents -= self._put(target_year, cents, payment.on, payment, "R-PREM-7")
        # Most payments end with the open years: nothing left for fines or credit, no call.
        if cents:
            cents = self._spread(cents, payment.on, payment, "R-PREM-7")
        if cents:
            cents = self._pay_fines(cents, payment.on, payment, "R-FINE-1")
        if cents:
            self._to_credit(cents, payment.on, payment)

    def owe(self, due: PremiumDue) -> None:
        self.years[due.year] = YearAccount(due)
        self._track(due.year)
        if self.credit_cents:
            # Credit (R-PREM-6) pays a premium as soon as it is owed.
            used = self._put(due.year, self.credit_cents, due.owed_from, None, "R-PREM-6")
            self.credit_cents -= used

    def adjust(self, adj: ev.PremiumAdjusted) -> None:
        """R-PREM-9: a correction replaces the amount owed; money beyond it becomes credit.

        The money taken back comes off the year's latest allocations first, each with its
        origin, so every cent still sits in exactly one place. Money that came from a
        budget deduction is the member's too: it becomes credit as if received.
        """
        acc = self.years.get(adj.year)
        if acc is None:
            return
        acc.due = acc.due.adjusted(adj)
        excess = acc.paid_cents - acc.due.amount_cents
        for alloc in reversed(list(acc.allocations)):
            if excess <= 0:
                break
            take = min(excess, alloc.cents)
            if take <= 0:
                continue
            back = Allocation("premium", adj.year, -take, adj.on, alloc.payment, alloc.rule)
            acc.allocations.append(back)
            self.allocations.append(back)
            acc.paid_cents -= take
            excess -= take
            if alloc.payment is None and alloc.rule == "R-PREM-5":
                self.received_cents += take
            self._to_credit(take, adj.on, None)
        acc.paid_on = (acc.paid_on or adj.on) if acc.outstanding_cents == 0 else None
        self._track(adj.year)
        if acc.outstanding_cents > 0 and self.credit_cents:
            self.credit_cents -= self._put(adj.year, self.credit_cents, adj.on, None, "R-PREM-6")

    def deduct_from_budget(self, year: int, on: date, monthly_cents: int) -> None:
        """R-PREM-5: the April budget payment pays this year's and earlier unpaid premiums."""
        left = monthly_cents
        if year in self.years:
            left -= self._put(year, left, on, None, "R-PREM-5")
        for y in self._open_years(skip_fined=True):
            if left == 0:
                break
            left -= self._put(y, left, on, None, "R-PREM-5")

    def impose(self, fine: ev.FineImposed) -> None:
        self.fines[fine.year] = FineAccount(fine)
        if self.credit_cents:
            self.credit_cents -= self._pay_fine(
                self.fines[fine.year], self.credit_cents, fine.on, None, "R-PREM-6"
            )

    def annul(self, year: int, rule: str) -> None:
        fine = self.fines.get(year)
        if fine is None or fine.annulled_by:
            return
        fine.annulled_by = rule
        if fine.paid_cents:
            # Money paid on an annulled fine is the member's again.
            self._to_credit(fine.paid_cents, self.as_of, None)
            fine.paid_cents = 0


def _target_year(history: History, payment: ev.PremiumPaid) -> int | None:
    """R-PREM-7: the year whose invitation carries this payment's structured message."""
    if not payment.ogm:  # the messages' map is made only when a payment carries one
        return None
    return _ogm_years(history).get(payment.ogm)


@History.per_view
def _ogm_years(history: History) -> dict[str, int]:
    """Structured message -> year of the first invitation (effective order) carrying it."""
    found: dict[str, int] = {}
    for inv in history.of(ev.PremiumInvited):
        found.setdefault(inv.ogm, inv.year)
    return found


def payments(history: History) -> list[ev.PremiumPaid]:
    """Payments that stand on ``as_of``: a bank reversal takes one back from its date."""
    reversals = history.of(ev.PaymentReversed)
    if not reversals:  # most members: no id to hash per payment
        return history.of(ev.PremiumPaid)
    reversed_ids = {r.payment_id for r in reversals}
    return [p for p in history.of(ev.PremiumPaid) if p.id not in reversed_ids]


@History.per_view
def account(history: History) -> Account:
    """Replay every cent claimed and paid up to ``history.as_of`` (R-PREM-1..9, R-FINE-*).

    One fold per view: status, explain, the letters, fines and joining rules and the
    reporting rows all ask for it, and a view never changes. Callers only read it.
    """
    return _fold(history)


# Same-day order of the fold: what is owed first, its corrections, then fines, money, appeals.
_OWE, _ADJUST, _FINE, _PAY, _DEDUCT, _APPEAL = range(6)


def _fold(history: History) -> Account:
    acc = Account(as_of=history.as_of)
    timeline: list[tuple[date, int, int, object]] = []
    adjusted: dict[object, list[ev.PremiumAdjusted]] = {}
    for adj in history.of(ev.PremiumAdjusted):
        adjusted.setdefault(adj.claim_id, []).append(adj)
    owed = dues(history)
    timeline += [(due.owed_from, _OWE, n, due) for n, due in enumerate(owed)]
    if adjusted:  # most members: no adjustment, no claim id to hash
        for due in owed:
            for m, adj in enumerate(adjusted.get(due.claim.id, ())):
                timeline.append((max(adj.on, due.owed_from), _ADJUST, m, adj))
    # List displays, not append calls: a member has about as many payments as claims.
    timeline += [(fine.on, _FINE, n, fine) for n, fine in enumerate(history.of(ev.FineImposed))]
    timeline += [(pay.on, _PAY, n, pay) for n, pay in enumerate(payments(history))]
    timeline += [(ded.on, _DEDUCT, n, ded) for n, ded in enumerate(history.of(ev.PremiumDeducted))]
    timeline += [(a.on, _APPEAL, n, a) for n, a in enumerate(history.of(ev.FineAppealDecided))]
    if adjusted:
        timeline.sort(key=itemgetter(0, 1, 2))  # adjustments of two claims may tie: keep their order
    else:
        timeline.sort()  # (day, kind, n) are unique: the items themselves are never compared
    for day, kind, _n, item in timeline:
        # the most frequent first: payments, then claims
        if kind == _PAY:
            acc.receive(item, _target_year(history, item))  # type: ignore[arg-type]
        elif kind == _OWE:
            acc.owe(item)  # type: ignore[arg-type]
        elif kind == _ADJUST:
            acc.adjust(item)  # type: ignore[arg-type]
        elif kind == _FINE:
            acc.impose(item)  # type: ignore[arg-type]
        elif kind == _DEDUCT:
            acc.deduct_from_budget(item.year, item.on, item.monthly_cents)  # type: ignore[attr-defined]
        elif item.upheld:  # type: ignore[attr-defined]
            acc.annul(item.fine_year, "R-FINE-2")  # type: ignore[attr-defined]
        if acc.fines and kind in (_PAY, _DEDUCT):  # most members: no fine, one test per item
            _annul_fines_paid_in_time(acc, day)
    return acc


def _annul_fines_paid_in_time(acc: Account, day: date) -> None:
    """R-FINE-1: letter premiums on the fund's account by 15 October mean no fine."""
    for year, fine in acc.fines.items():
        if fine.annulled_by or day > parameters.fine_received_by(year):
            continue
        if all(acc.years[y].outstanding_cents == 0 for y in fine.fine.premium_years if y in acc.years):
            acc.annul(year, "R-FINE-1")
