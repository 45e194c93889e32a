"""The yearly premium: what is owed for which year, and how every cent paid is allocated.

- R-PREM-1: one premium a year from the schedule in fixtures; reduced for increased
  allowance on 1 January of the previous year.
- R-PREM-3/4: none before the year one turns 26, none in exempt years.
- R-PREM-5: a monthly budget pays the premium in April (and earlier unpaid ones,
  except those already claimed with a fine).
- R-PREM-6: no instalments: a partial payment leaves the year *incomplete*; money
  beyond what is owed is credit, shown, never lost.
- R-PREM-7: money goes to the year its structured message names, then to the oldest
  unpaid premium, years that can still lead to a fine before those already fined.
- R-PREM-8: a direct debit pays only the premium of its own year.

Decision: premiums come first (they stay owed on top of a fine, R-FINE-1); money left
after every premium pays open fines, oldest first, and only then becomes credit. A clerk
can tie a payment to one fine (``pay --fine-year``); an annulled fine gives its money back
as credit.

The allocation is a replay in effective-date order, so "paid by date D" is simply the
account of the history narrowed to D (``account(history.at(D))``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ledger import events as ev
from ledger import parameters
from ledger.dates import jan1
from ledger.history import History
from ledger.rules.affiliation import periods
from ledger.rules.exemption import exempt_year
from ledger.rules.obligation import is_adult_in


@dataclass(frozen=True)
class PremiumDue:
    year: int
    amount_cents: int
    reduced: bool
    owed_from: date
    schedule: parameters.Premium


def dues(history: History) -> list[PremiumDue]:
    """Premiums owed up to ``history.as_of``, one per year of membership (R-PREM-1..4)."""
    owed: dict[int, PremiumDue] = {}
    floor = parameters.first_premium_year()
    for period in periods(history):
        last = history.as_of.year if period.end is None else min(period.end.year, history.as_of.year)
        for year in range(max(period.start.year, floor), last + 1):
            if year in owed or not is_adult_in(history, year) or exempt_year(history, year):
                continue
            reduced = history.entitled_on(jan1(year - 1))
            schedule = parameters.premium(year)
            owed_from = max(jan1(year), period.opened_by.on)
            owed[year] = PremiumDue(year, schedule.amount(reduced), reduced, owed_from, schedule)
    return [owed[y] for y in sorted(owed)]


@dataclass
class Allocation:
    """Part of one payment put on one premium year, a fine, or credit."""

    target: str  # "premium" | "fine" | "credit"
    year: int | None
    cents: int
    on: date
    payment: ev.PremiumPaid | None  # None for a budget deduction
    rule: str


@dataclass
class YearAccount:
    due: PremiumDue
    paid_cents: int = 0
    paid_on: date | None = None
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def outstanding_cents(self) -> int:
        return self.due.amount_cents - self.paid_cents

    @property
    def status(self) -> str:
        if self.outstanding_cents == 0:
            return "paid"
        return "incomplete" if self.paid_cents else "unpaid"


@dataclass
class FineAccount:
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


@dataclass
class Account:
    """A member's premiums, fines, payments and credit as of one day."""

    as_of: date
    years: dict[int, YearAccount] = field(default_factory=dict)
    fines: dict[int, FineAccount] = field(default_factory=dict)
    allocations: list[Allocation] = field(default_factory=list)
    received_cents: int = 0
    credit_cents: int = 0

    @property
    def premiums_outstanding_cents(self) -> int:
        return sum(y.outstanding_cents for y in self.years.values())

    @property
    def fines_outstanding_cents(self) -> int:
        return sum(f.outstanding_cents for f in self.fines.values())

    def unpaid_years(self) -> list[int]:
        return [y for y, acc in sorted(self.years.items()) if acc.outstanding_cents > 0]

    def fined_years(self) -> set[int]:
        """Premium years the Agency already claims with a fine that stands."""
        return {y for f in self.fines.values() if not f.annulled_by for y in f.fine.premium_years}

    # -- moving money ------------------------------------------------------------------
    def _put(self, year: int, cents: int, on: date, payment: ev.PremiumPaid | None, rule: str) -> int:
        acc = self.years[year]
        take = min(cents, acc.outstanding_cents)
        if take <= 0:
            return 0
        acc.paid_cents += take
        alloc = Allocation("premium", year, take, on, payment, rule)
        acc.allocations.append(alloc)
        self.allocations.append(alloc)
        if acc.outstanding_cents == 0:
            acc.paid_on = on
        return take

    def _open_years(self, *, skip_fined: bool = False) -> list[int]:
        fined = self.fined_years()
        open_years = [y for y, a in self.years.items() if a.outstanding_cents > 0]
        if skip_fined:
            open_years = [y for y in open_years if y not in fined]
        # R-PREM-7: oldest first, years that can still lead to a fine before fined ones.
        return sorted(open_years, key=lambda y: (y in fined, y))

    def _spread(self, cents: int, on: date, payment: ev.PremiumPaid | None, rule: str) -> int:
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
        cents = self._spread(cents, payment.on, payment, "R-PREM-7")
        cents = self._pay_fines(cents, payment.on, payment, "R-FINE-1")
        self._to_credit(cents, payment.on, payment)

    def owe(self, due: PremiumDue) -> None:
        self.years[due.year] = YearAccount(due)
        if self.credit_cents:
            # Credit (R-PREM-6) pays a premium as soon as it is owed.
            used = self._put(due.year, self.credit_cents, due.owed_from, None, "R-PREM-6")
            self.credit_cents -= used

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
    if not payment.ogm:
        return None
    for inv in history.of(ev.PremiumInvited):
        if inv.ogm == payment.ogm:
            return inv.year
    return None


def payments(history: History) -> list[ev.PremiumPaid]:
    """Payments that stand on ``as_of``: a bank reversal takes one back from its date."""
    reversed_ids = {r.payment_id for r in history.of(ev.PaymentReversed)}
    return [p for p in history.of(ev.PremiumPaid) if p.id not in reversed_ids]


def budget_deductions(history: History) -> list[tuple[date, int, int]]:
    """(day, year, monthly cents) of each April in which a monthly budget runs (R-PREM-5)."""
    found: dict[int, tuple[date, int, int]] = {}
    for budget in history.of(ev.BudgetGranted):
        first = budget.on.year
        last = history.as_of.year if budget.until is None else budget.until.year
        for year in range(first, last + 1):
            day = parameters.budget_deduction_day(year)
            running = budget.on <= day and (budget.until is None or day <= budget.until)
            if running and day <= history.as_of and year not in found:
                found[year] = (day, year, budget.monthly_cents)
    return [found[y] for y in sorted(found)]


def account(history: History) -> Account:
    """Replay every cent owed and paid up to ``history.as_of`` (R-PREM-1..8, R-FINE-*)."""
    acc = Account(as_of=history.as_of)
    # Same-day order: what is owed first, then fines, then money, then appeals.
    timeline: list[tuple[date, int, int, object]] = []
    for n, due in enumerate(dues(history)):
        timeline.append((due.owed_from, 0, n, due))
    for n, fine in enumerate(history.of(ev.FineImposed)):
        timeline.append((fine.on, 1, n, fine))
    for n, pay in enumerate(payments(history)):
        timeline.append((pay.on, 2, n, pay))
    for n, ded in enumerate(budget_deductions(history)):
        timeline.append((ded[0], 3, n, ded))
    for n, appeal in enumerate(history.of(ev.FineAppealDecided)):
        timeline.append((appeal.on, 4, n, appeal))
    timeline.sort(key=lambda t: (t[0], t[1], t[2]))
    for _day, _order, _n, item in timeline:
        if isinstance(item, PremiumDue):
            acc.owe(item)
        elif isinstance(item, ev.FineImposed):
            acc.impose(item)
        elif isinstance(item, ev.PremiumPaid):
            acc.receive(item, _target_year(history, item))
        elif isinstance(item, ev.FineAppealDecided):
            if item.upheld:
                acc.annul(item.fine_year, "R-FINE-2")
        else:
            day, year, monthly = item  # type: ignore[misc]
            acc.deduct_from_budget(year, day, monthly)
        if isinstance(item, (ev.PremiumPaid, tuple)):
            _annul_fines_paid_in_time(acc, _day)
    return acc


def _annul_fines_paid_in_time(acc: Account, day: date) -> None:
    """R-FINE-1: letter premiums on the fund's account by 15 October mean no fine."""
    for year, fine in acc.fines.items():
        if fine.annulled_by or day > parameters.fine_received_by(year):
            continue
        if all(acc.years[y].outstanding_cents == 0 for y in fine.fine.premium_years if y in acc.years):
            acc.annul(year, "R-FINE-1")
