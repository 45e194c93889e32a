"""The ``Member`` aggregate: one INSZ, its events, and the commands a clerk gives.

Each command checks its rules on the member's history and returns the new events; it
never writes. ``ledger/store.py`` appends them with optimistic concurrency, so two
clerks acting on one member at once cannot both win (the loser is retried on the
fresh history, where the rules are checked again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from ledger import events as ev
from ledger import parameters
from ledger.dates import jan1
from ledger.errors import BadInput, RuleRefused
from ledger.history import History
from ledger.identity import home_fund, make_ogm, member_id
from ledger.money import euro
from ledger.rules import affiliation as aff
from ledger.rules.exemption import exempt_year
from ledger.rules.obligation import (
    COMPULSORY,
    EXCLUDED,
    MAY_JOIN,
    by_residence,
    is_adult_in,
    obligation_on,
    obligation_start,
    turns_26_year,
)
from ledger.rules.premium import ClaimState, account, claims, covering_period, current_claims

# The rules of one command or run only (cancellation, direct debit, eligibility, fines,
# joining, letters, switching) are imported by the method that applies them: a clerk's
# ``status`` or ``pay`` loads the rule modules it evaluates, not the whole rule book.


@dataclass(frozen=True)
class Stamp:
    """Who records, when the ledger learns it, and what "today" is (the clock of docs/cli.md)."""

    clerk: str
    recorded_at: datetime
    today: date

    def check_not_future(self, field_name: str, day: date) -> None:
        if day > self.today:
            raise BadInput(field_name, day.isoformat(), f"lies after today ({self.today})")


@dataclass
class Member:
    """One member's event stream and the decisions a clerk's command asks of it."""

    insz: str
    events: list[ev.Event] = field(default_factory=list)
    _recorded: tuple[int, History] | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> UUID:
        return member_id(self.insz)

    @property
    def version(self) -> int:
        return self.events[-1].originator_version if self.events else 0

    @property
    def is_registered(self) -> bool:
        return any(isinstance(e, ev.Registered) for e in self.events)

    def history(self, as_of: date, known_on: datetime | None = None) -> History:
        return History.view(self.insz, self.events, as_of, known_on)

    def _new(
        self, stamp: Stamp, pending: Sequence[ev.Event], cls: type[ev.Event], on: date, **fields: Any
    ) -> ev.Event:
        return cls(
            insz=self.insz,
            on=on,
            recorded_at=stamp.recorded_at,
            clerk=stamp.clerk,
            originator_id=self.id,
            originator_version=self.version + len(pending) + 1,
            **fields,
        )

    def _one(self, stamp: Stamp, cls: type[ev.Event], on: date, **fields: Any) -> list[ev.Event]:
        return [self._new(stamp, (), cls, on, **fields)]

    def recorded(self) -> History:
        """Everything recorded about the member, whatever its effective date (retracted
        facts removed). The yearly runs decide "already done" on this, never on the
        history up to their ``--on``: one claim, letter, fine per member and year."""
        if self._recorded is None or self._recorded[0] != len(self.events):
            self._recorded = (len(self.events), self.history(date.max))
        return self._recorded[1]

    def _registered_history(self, as_of: date) -> History:
        h = self.history(as_of)
        h.check_registered()
        return h

    # -- the person ------------------------------------------------------------------
    def register(
        self,
        stamp: Stamp,
        *,
        born: date,
        region: str,
        health_fund: str,
        situation: str,
        resident_since: date | None,
        on: date,
    ) -> list[ev.Event]:
        stamp.check_not_future("--on", on)
        stamp.check_not_future("--born", born)
        if resident_since is not None:
            stamp.check_not_future("--resident-since", resident_since)
            if resident_since < born:
                raise BadInput("--resident-since", resident_since.isoformat(), "lies before --born")
        if self.is_registered:
            raise RuleRefused(
                "R-OBL-1",
                f"{self.insz} is already registered; record changes with `zorgkas move` "
                "or `zorgkas allowance`, a birth date or start of residence typed wrongly "
                "with `zorgkas correct-registration`",
            )
        return self._one(
            stamp,
            ev.Registered,
            on,
            born=born,
            region=region,
            health_fund=health_fund,
            situation=situation,
            resident_since=resident_since or on,
        )

    def correct_registration(
        self, stamp: Stamp, *, born: date | None, resident_since: date | None, reason: str
    ) -> list[ev.Event]:
        """A correction of the registration's birth date and/or start of residence, typed
        wrongly (R-OBL-1): a new event naming the registration, dated on the registration's
        own day, applying at every as-of date from the moment it is recorded. The
        registration stays as recorded; claims already recorded stay recorded (R-PREM-9)."""
        if born is None and resident_since is None:
            raise BadInput("--born", None, "give --born and/or --resident-since: the values to correct")
        if born is not None:
            stamp.check_not_future("--born", born)
        if resident_since is not None:
            stamp.check_not_future("--resident-since", resident_since)
        h = self.recorded()
        h.check_registered()
        now = h.registration  # with the corrections already recorded
        was_since = now.resident_since or now.on
        new_born = born if born is not None else now.born
        new_since = resident_since if resident_since is not None else was_since
        if new_since < new_born:
            if resident_since is not None:
                raise BadInput(
                    "--resident-since", resident_since.isoformat(), f"lies before the birth date {new_born}"
                )
            raise BadInput(
                "--born",
                new_born.isoformat(),
                f"lies after the recorded start of residence {was_since}: correct --resident-since too",
            )
        moves = h.of(ev.Moved)
        if resident_since is not None and moves and resident_since > moves[0].on:
            raise BadInput(
                "--resident-since",
                resident_since.isoformat(),
                f"lies after the move of {moves[0].on}: the residence registered began before it",
            )
        if new_born == now.born and new_since == was_since:
            raise RuleRefused(
                "R-OBL-1",
                f"the registration of {self.insz} already says born {now.born}, resident since "
                f"{was_since}: nothing to correct",
            )
        return self._one(
            stamp,
            ev.RegistrationCorrected,
            h.registered.on,
            target_id=h.registered.id,
            born=new_born if new_born != now.born else None,
            resident_since=new_since if new_since != was_since else None,
            reason=reason,
        )

    def move(self, stamp: Stamp, *, region: str, situation: str, on: date) -> list[ev.Event]:
        stamp.check_not_future("--on", on)
        # A move within the same region is a fact too (a new address): continuity of
        # residence is unbroken (R-ELIG-1), so it is recorded, not refused.
        self._registered_history(on)
        return self._one(stamp, ev.Moved, on, region=region, situation=situation)

    def set_allowance(self, stamp: Stamp, *, entitled: bool, on: date) -> list[ev.Event]:
        stamp.check_not_future("--on", on)
        # A confirmation of the current status is recorded as well (what the health fund
        # reported, and when): it changes no figure, and a script may repeat it safely.
        self._registered_history(on)
        change = self._new(stamp, (), ev.AllowanceChanged, on, entitled=entitled)
        pending: list[ev.Event] = [change]
        after = History.view(self.insz, [*self.events, change], date.max)
        for year, due in sorted(current_claims(self.recorded()).items()):
            reduced = after.entitled_on(jan1(year - 1))
            if reduced != due.reduced:
                # R-PREM-9: a backdated allowance status corrects the recorded claim.
                value = parameters.premium(year).value(reduced)
                reason = f"increased allowance {'granted' if entitled else 'ended'} from {on}"
                adj = self._adjustment(stamp, pending, due, value, reduced, on, reason, cause=change.id)
                pending.append(adj)
        return pending

    def _adjustment(
        self,
        stamp: Stamp,
        pending: Sequence[ev.Event],
        due: ClaimState,
        value: parameters.Value,
        reduced: bool,
        on: date,
        reason: str,
        cause: UUID | None = None,
    ) -> ev.Event:
        return self._new(
            stamp,
            pending,
            ev.PremiumAdjusted,
            on,
            year=due.year,
            claim_id=due.claim.id,
            amount_cents=value.cents,
            reduced=reduced,
            source=value.source,
            confirmed=value.confirmed,
            reason=reason,
            cause_id=cause,
        )

    def adjust_claim(self, stamp: Stamp, *, year: int, on: date, reason: str) -> list[ev.Event]:
        """R-PREM-9: bring the claim of ``year`` to the schedule and allowance known now.

        The clerk's command after a corrected schedule value (or allowance status): a new
        event adjusting the claim, never a silent recomputation. Refused when nothing changes.
        """
        stamp.check_not_future("--on", on)
        self._registered_history(on)
        due = current_claims(self.recorded()).get(year)
        if due is None:
            raise RuleRefused("R-PREM-9", f"{self.insz} has no claim for {year}: nothing to adjust")
        if on < due.claim.on:
            raise BadInput("--on", on.isoformat(), f"lies before the claim of {year} ({due.claim.on})")
        reduced = self.recorded().entitled_on(jan1(year - 1))
        value = parameters.premium(year).value(reduced)
        if (value.cents, reduced, value.source, value.confirmed) == (
            due.amount_cents,
            due.reduced,
            due.source,
            due.confirmed,
        ):
            raise RuleRefused(
                "R-PREM-9",
                f"the claim of {year} already carries {euro(value.cents)} "
                f"({'reduced' if reduced else 'normal'}, {value.source}): nothing to adjust",
            )
        return [self._adjustment(stamp, (), due, value, reduced, on, reason)]

    def die(self, stamp: Stamp, *, on: date) -> list[ev.Event]:
        stamp.check_not_future("--on", on)
        h = self._registered_history(on)
        if h.died_on() is not None:
            raise RuleRefused("R-PREM-4", f"the death of {self.insz} was already recorded")
        return self._one(stamp, ev.Died, on)

    # -- membership ------------------------------------------------------------------
    def affiliate(self, stamp: Stamp, *, fund: str, mode: str | None, on: date) -> list[ev.Event]:
        """R-AFF-1 (direct affiliation by a clerk), R-FUND-1, R-OBL-*."""
        stamp.check_not_future("--on", on)
        h = self._registered_history(on)
        current = aff.fund_on(h, on)
        if current is not None:
            raise RuleRefused(
                "R-AFF-1",
                f"{self.insz} is already a member of {current} on {on}; use `zorgkas switch` to change fund",
            )
        aff.check_fund_allowed(h, fund)
        obligation = obligation_on(h, on)
        adult = is_adult_in(h, on.year)
        if mode == "early":
            if adult:
                raise RuleRefused(
                    "R-OBL-7",
                    f"early joining is for persons under 26; {self.insz} is 26 in "
                    f"{turns_26_year(h)}: affiliate without --early",
                )
            res = h.residence_on(on)
            if by_residence(res.region, res.situation).status == EXCLUDED:
                raise RuleRefused(
                    "R-OBL-5",
                    f"{self.insz} is staff (or a dependant of staff) of an international institution "
                    "with its own social security: may not join, not even early",
                )
            if res.region not in ("flanders", "brussels") and res.situation not in (
                "works-in-flanders",
                "works-in-brussels",
            ):
                raise RuleRefused("R-OBL-3", f"{self.insz} lives in {res.region}: may not join")
            kind = "early"
            since = on
        else:
            if not adult:
                raise RuleRefused(
                    "R-OBL-7",
                    f"{self.insz} is under 26 until {turns_26_year(h)}: no obligation; "
                    "join early with --early (care budget, mobility aid, rehabilitation)",
                )
            if obligation.status not in MAY_JOIN:  # exempt, or excluded (R-OBL-5)
                raise RuleRefused(obligation.rule, f"{self.insz} may not join: {obligation.reason}")
            if mode == "voluntary" and obligation.status == COMPULSORY:
                raise RuleRefused(
                    obligation.rule,
                    f"{self.insz} must join ({obligation.reason}): affiliate without --voluntary",
                )
            kind = obligation.status
            since = self._affiliation_start(h, on)
        return self._one(stamp, ev.Affiliated, on, fund=fund, kind=kind, since=since, rule="R-AFF-1")

    def _affiliation_start(self, h: History, on: date) -> date:
        """R-AFF-1, R-AFF-2, R-ELIG-2: membership counts from 1 January of a premium year.

        Joining within the window of the first premiums counts from the first obligation
        year; a later joining (a late voluntary joiner, or history taken over from an
        older system) counts from 1 January of the year of joining.
        """
        from ledger.rules.joining import window_on

        window = window_on(h, on)
        if window is not None and on <= window.end:
            return jan1(max(window.start.year, parameters.first_premium_year()))
        return jan1(on.year)

    def switch(self, stamp: Stamp, *, to_fund: str, requested_on: date) -> list[ev.Event]:
        """R-SW-1: takes effect on 1 January of next year (or the year after, if late)."""
        stamp.check_not_future("--requested-on", requested_on)
        h = self._registered_history(requested_on)
        from ledger.rules.switching import check_switch, switch_effective

        current = check_switch(h, to_fund)
        effective = switch_effective(to_fund, requested_on)
        return self._one(
            stamp, ev.FundSwitched, requested_on, from_fund=current, to_fund=to_fund, effective=effective
        )

    # -- money -----------------------------------------------------------------------
    def pay(
        self,
        stamp: Stamp,
        *,
        amount_cents: int,
        on: date,
        ogm: str | None,
        bank_ref: str | None,
        method: str,
        fine_year: int | None = None,
    ) -> list[ev.Event]:
        """R-PREM-6..8, R-AFF-1: record money; a first premium makes the payer a member.

        Returns no events for a bank reference already recorded (a re-read bank file).
        """
        stamp.check_not_future("--on", on)
        if amount_cents <= 0:
            raise BadInput("--amount", euro(amount_cents), "a payment must be more than zero")
        if bank_ref and self._payments_with_ref(bank_ref):
            # Also after that payment's retraction: reading the bank file again must not
            # bring back what the fund retracted (a corrected payment takes another reference).
            return []
        h = self._registered_history(on)
        if method == "direct-debit":
            self._check_direct_debit(h, on)
        if fine_year is not None and h.by_year(ev.FineImposed, fine_year) is None:
            raise RuleRefused("R-FINE-1", f"there is no fine for {fine_year} to pay")
        pending: list[ev.Event] = []
        pending.append(
            self._new(
                stamp,
                pending,
                ev.PremiumPaid,
                on,
                amount_cents=amount_cents,
                ogm=ogm,
                bank_ref=bank_ref,
                method=method,
                fine_year=fine_year,
            )
        )
        obligation = obligation_on(h, on)
        if aff.period_on(h, on) is None and obligation.status in MAY_JOIN and fine_year is None:
            invitation = self._first_premium(h, ogm)
            # R-AFF-1: only a first premium paid in full makes a member; a partial payment
            # is kept (as credit) and makes none. Earlier money not yet used counts too.
            if invitation is not None and account(h).credit_cents + amount_cents >= invitation.amount_cents:
                kind = obligation.status
                since = self._affiliation_start(h, on)
                pending.append(
                    self._new(
                        stamp,
                        pending,
                        ev.Affiliated,
                        on,
                        fund=invitation.fund,
                        kind=kind,
                        since=since,
                        rule="R-AFF-1",
                    )
                )
        return pending

    def _first_premium(self, h: History, ogm: str | None) -> ev.PremiumInvited | None:
        """R-AFF-1: the invitation a non-member pays: the one its message names, else the
        oldest one still open (an offer until paid). Without an invitation the money is
        kept as credit: the fund invites first (R-PREM-9)."""
        # An invitation of a year a membership covers, or one sent before a cancellation
        # (R-AFF-4), was a claim on that membership, not an offer: paying it joins no one
        # (a cancelled member rejoins through a clerk, ``affiliate --voluntary``).
        cancelled = max((c.on for c in h.of(ev.Cancelled)), default=None)
        invitations = [
            i
            for i in h.of(ev.PremiumInvited)
            if covering_period(h, i.year) is None and (cancelled is None or i.on > cancelled)
        ]
        named = next((i for i in invitations if ogm and i.ogm == ogm), None)
        return named or (invitations[0] if invitations else None)

    def direct_debit(self, stamp: Stamp, *, requested_on: date, stop: bool) -> list[ev.Event]:
        """R-PREM-8: record a direct-debit mandate, or its end."""
        stamp.check_not_future("--requested-on", requested_on)
        h = self._registered_history(requested_on)
        from ledger.rules.direct_debit import mandate_first_year

        first_year = mandate_first_year(h, requested_on, stop)
        return self._one(stamp, ev.DirectDebitRequested, requested_on, first_year=first_year, stop=stop)

    def _check_direct_debit(self, h: History, on: date) -> None:
        # R-PREM-8: never in the year of joining, the year the affiliation was recorded
        # (as for a mandate, ``direct_debit.mandate_first_year``), even when a membership
        # joined within the window of the first premiums counts from an earlier 1 January.
        period = aff.period_on(h, on)
        if period is None or period.opened_by.on.year >= on.year:
            raise RuleRefused(
                "R-PREM-8",
                "direct debit applies only from the year after joining; pay by transfer",
            )

    def _retracted_ids(self) -> set[UUID | None]:
        """The ids of the member's facts a retraction names (whatever its date: a
        retraction counts from the moment it is recorded, at every as-of date)."""
        return {e.target_id for e in self.events if isinstance(e, ev.EventRetracted)}

    def _payments_with_ref(self, bank_ref: str) -> list[ev.PremiumPaid]:
        """Every payment recorded with this bank reference, retracted ones too."""
        return [e for e in self.events if isinstance(e, ev.PremiumPaid) and e.bank_ref == bank_ref]

    def payment_by_ref(self, bank_ref: str) -> ev.PremiumPaid | None:
        """The standing payment recorded with this bank reference: a retracted one is gone
        (nothing to reverse)."""
        found = self._payments_with_ref(bank_ref)
        if not found:
            return None
        retracted = self._retracted_ids()
        return next((e for e in found if e.id not in retracted), None)

    def reverse_payment(self, stamp: Stamp, *, bank_ref: str, on: date, reason: str) -> list[ev.Event]:
        """A correction: the bank took the payment back; history keeps both."""
        stamp.check_not_future("--on", on)
        payment = self.payment_by_ref(bank_ref)
        if payment is None:
            raise RuleRefused("R-PREM-7", f"no payment with bank reference {bank_ref!r} for {self.insz}")
        retracted = self._retracted_ids()
        if any(
            isinstance(e, ev.PaymentReversed) and e.payment_id == payment.id and e.id not in retracted
            for e in self.events
        ):  # a reversal recorded wrongly and retracted reversed nothing: the right one may follow
            raise RuleRefused("R-PREM-7", f"the payment {bank_ref!r} was already reversed")
        if on < payment.on:
            raise BadInput("--on", on.isoformat(), f"lies before the payment's value date {payment.on}")
        return self._one(stamp, ev.PaymentReversed, on, payment_id=payment.id, reason=reason)

    def retract(self, stamp: Stamp, *, event_id: UUID, reason: str) -> list[ev.Event]:
        """A correction of a fact recorded wrongly: the fact is ignored from now on."""
        target = next((e for e in self.events if e.id == event_id), None)
        if target is None:
            raise BadInput("--event", str(event_id), f"no event with this id for {self.insz}")
        if isinstance(target, ev.Registered):
            raise RuleRefused(
                "R-OBL-1",
                "a registration cannot be retracted: record a new region or insured situation "
                "with `zorgkas move`, the increased allowance with `zorgkas allowance`, a birth "
                "date or start of residence typed wrongly with `zorgkas correct-registration`",
            )
        if isinstance(target, ev.EventRetracted):
            raise RuleRefused("R-OBL-1", "a retraction cannot itself be retracted")
        if event_id in self._retracted_ids():
            raise RuleRefused("R-OBL-1", "this event was already retracted")
        return self._one(stamp, ev.EventRetracted, stamp.today, target_id=event_id, reason=reason)

    def exempt(
        self, stamp: Stamp, *, reason: str, start: date, until: date | None, evidence: str
    ) -> list[ev.Event]:
        """R-PREM-4: no premium in the years of the exemption, no fine during it."""
        stamp.check_not_future("--from", start)
        if until is not None and until < start:
            raise BadInput("--until", until.isoformat(), f"lies before --from {start}")
        self._registered_history(start)
        return self._one(stamp, ev.ExemptionGranted, start, reason=reason, until=until, evidence=evidence)

    def grant_budget(self, stamp: Stamp, *, kind: str, start: date, monthly_cents: int) -> list[ev.Event]:
        """R-ELIG-1..3: a budget only for an eligible member; refusal names the date."""
        stamp.check_not_future("--from", start)
        if monthly_cents <= 0:
            raise BadInput("--monthly", euro(monthly_cents), "a monthly budget must be more than zero")
        h = self._registered_history(start)
        from ledger.rules.eligibility import eligibility

        elig = eligibility(h)
        if not elig.eligible:
            when = f"eligible from {elig.eligible_from}" if elig.eligible_from else "not eligible"
            raise RuleRefused(
                elig.rules[-1],
                f"{self.insz} may not receive a care budget on {start}: {when}; " + "; ".join(elig.reasons),
            )
        running = [
            b for b in h.of(ev.BudgetGranted) if b.kind == kind and (b.until is None or b.until >= start)
        ]
        if running:
            raise RuleRefused("R-ELIG-1", f"a {kind} budget already runs from {running[-1].on}")
        return self._one(stamp, ev.BudgetGranted, start, kind=kind, monthly_cents=monthly_cents)

    def appeal(self, stamp: Stamp, *, fine_year: int, upheld: bool, on: date) -> list[ev.Event]:
        """R-FINE-2: an upheld appeal annuls the fine; it stays in history."""
        stamp.check_not_future("--on", on)
        h = self._registered_history(on)
        from ledger.rules.fines import check_appeal

        fine = check_appeal(h, fine_year)
        if on < fine.on:
            raise BadInput("--on", on.isoformat(), f"lies before the fine of {fine.on}")
        return self._one(stamp, ev.FineAppealDecided, on, fine_year=fine_year, upheld=upheld)

    # -- the yearly runs (each returns nothing when the member has nothing to do) ------
    def invite(self, stamp: Stamp, *, year: int, on: date) -> list[ev.Event]:
        """R-PREM-1..5, R-PREM-9, R-AFF-1: one claim per member and year.

        The claim is the invitation, or, for a member whose monthly care budget runs on
        the April deduction day, the deduction itself (R-PREM-5), dated that day and
        recorded by a run on or after it (an earlier run leaves it to a later one).
        Decided on everything recorded: a second run, whatever its ``--on``, writes nothing.
        """
        from ledger.rules.direct_debit import debit_applies
        from ledger.rules.joining import window_on

        if not self.is_registered or year in claims(self.recorded()):
            return []
        h = self.history(on)
        died = h.died_on()
        if not is_adult_in(h, year) or exempt_year(h, year) or (died is not None and died <= on):
            return []  # R-PREM-3, R-PREM-4: nothing is claimed after the death
        period = covering_period(h, year)
        if self._receives_budget(h, year):
            day = parameters.budget_deduction_day(year)
            if on < day or period is None:
                return []  # R-PREM-5: no invitation; the deduction is recorded from its day
            return self._deduction(stamp, h, year, day)
        if period is not None:
            # The fund on 1 January of the premium year: a switch effective then counts.
            fund = aff.fund_on(h, max(jan1(year), period.start)) or period.fund
        else:
            # Not yet a member: invited in the window of their first premiums (R-AFF-1/2).
            window = window_on(h, on)
            if window is None or year not in window.years:
                return []
            fund = home_fund(h.registration.health_fund)
        reduced = h.entitled_on(jan1(year - 1))
        value = parameters.premium(year).value(reduced)
        return self._one(
            stamp,
            ev.PremiumInvited,
            on,
            year=year,
            amount_cents=value.cents,
            reduced=reduced,
            ogm=make_ogm(self.insz, year),
            fund=fund,
            source=value.source,
            confirmed=value.confirmed,
            direct_debit=debit_applies(h, year, on),
        )

    def _deduction(self, stamp: Stamp, h: History, year: int, day: date) -> list[ev.Event]:
        reduced = h.entitled_on(jan1(year - 1))
        value = parameters.premium(year).value(reduced)
        running = (b for b in h.of(ev.BudgetGranted) if b.on <= day and (b.until is None or b.until >= day))
        budget = next(running)
        return self._one(
            stamp,
            ev.PremiumDeducted,
            day,
            year=year,
            amount_cents=value.cents,
            reduced=reduced,
            fund=aff.fund_on(h, day) or home_fund(h.registration.health_fund),
            monthly_cents=budget.monthly_cents,
            source=value.source,
            confirmed=value.confirmed,
        )

    def _receives_budget(self, h: History, year: int) -> bool:
        day = parameters.budget_deduction_day(year)
        return any(b.on <= day and (b.until is None or b.until >= day) for b in h.of(ev.BudgetGranted))

    def send_letter(self, stamp: Stamp, *, year: int, on: date) -> list[ev.Event]:
        """R-LET-1: one letter per member and year, whatever ``--on`` says."""
        if not self.is_registered or self.recorded().by_year(ev.RegisteredLetterSent, year):
            return []
        from ledger.rules.letters import letter_due

        due = letter_due(self.history(on), year)
        if due is None:
            return []
        return self._one(
            stamp,
            ev.RegisteredLetterSent,
            on,
            year=year,
            premium_years=due.premium_years,
            amount_cents=due.amount_cents,
        )

    def impose_fine(self, stamp: Stamp, *, year: int, on: date) -> list[ev.Event]:
        """R-FINE-1: one fine per member and year, whatever ``--on`` says."""
        if not self.is_registered or self.recorded().by_year(ev.FineImposed, year):
            return []
        from ledger.rules.fines import fine_due

        due = fine_due(self.history(on), year)
        if due is None:
            return []
        return self._one(
            stamp,
            ev.FineImposed,
            on,
            year=year,
            amount_cents=due.amount_cents,
            premium_years=due.premium_years,
        )

    def auto_affiliate(self, stamp: Stamp, *, year: int, on: date) -> list[ev.Event]:
        """R-AFF-3: compulsory, not affiliated on 1 July: the Vlaamse Zorgkas, from 1 January."""
        if not self.is_registered:
            return []
        h = self.history(on)
        # A membership recorded with a later date may still cover ``on`` (a first premium
        # paid after 1 July counts from 1 January): decided on everything recorded.
        if aff.period_on(h, on) is not None or aff.period_on(self.recorded(), on) is not None:
            return []
        if any(a.rule == "R-AFF-3" and a.on.year == year for a in self.recorded().of(ev.Affiliated)):
            return []
        if obligation_on(h, on).status != COMPULSORY:
            return []
        start = obligation_start(h, on)
        if start is None or start.day > on:
            return []
        since = jan1(max(start.year, parameters.first_premium_year()))
        fund = parameters.auto_affiliation_fund()
        return self._one(stamp, ev.Affiliated, on, fund=fund, kind="automatic", since=since, rule="R-AFF-3")

    def cancel(self, stamp: Stamp, *, year: int, on: date) -> list[ev.Event]:
        """R-AFF-4: one cancellation per member and year, whatever ``--on`` says."""
        if not self.is_registered:
            return []
        done = self.recorded().of(ev.Cancelled)
        if any((c.year or c.on.year) == year for c in done):
            return []
        h = self.history(on)
        period = aff.period_on(h, on)
        if period is not None and any(c.on >= period.opened_by.on for c in done):
            return []  # this membership's cancellation is already recorded (dated later)
        from ledger.rules.cancellation import cancellation_due

        due = cancellation_due(h, year)
        if due is None:
            return []
        return self._one(stamp, ev.Cancelled, on, until=due.until, unpaid_years=due.unpaid_years, year=year)
