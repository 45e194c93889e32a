"""Every fact the ledger keeps about a member, as an immutable, typed, versioned event.

Each event carries its effective date (``on``: when it happened in the world), its
recorded time (``recorded_at``: when the ledger learned it) and the ``clerk``.
Events are ``msgspec`` structs: frozen, tagged by ``type``, decoded with one typed
decoder. Schema evolution (STYLE.md): a new field gets a default; a real change is
a new ``VERSION`` with an upcaster in ``UPCASTERS`` (see ``upcast``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import msgspec

NIL = uuid.UUID(int=0)

Region = Literal["flanders", "brussels", "wallonia", "abroad"]
Situation = Literal[
    "resident",
    "works-in-flanders",
    "works-in-brussels",
    "works-abroad",
    "international-staff",
    "international-staff-opted-in",
    "non-eu-student",
]
AffiliationKind = Literal["compulsory", "voluntary", "automatic", "early"]
PaymentMethod = Literal["transfer", "direct-debit", "budget-deduction"]
ExemptionReason = Literal["debt-settlement", "bankruptcy", "insolvency", "death"]
BudgetKind = Literal["severe-dependency", "elderly", "disability"]

REGIONS: tuple[str, ...] = ("flanders", "brussels", "wallonia", "abroad")
SITUATIONS: tuple[str, ...] = Situation.__args__  # type: ignore[attr-defined]


class Event(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True, forbid_unknown_fields=True
):
    """What every fact has. ``originator_*`` and ``chain`` are set by the store."""

    VERSION: ClassVar[int] = 1

    insz: str
    on: date
    recorded_at: datetime
    clerk: str
    id: uuid.UUID = msgspec.field(default_factory=uuid.uuid4)
    originator_id: uuid.UUID = NIL
    originator_version: int = 0
    chain: str = ""

    @property
    def type(self) -> str:
        return type(self).__name__


class Registered(Event, frozen=True):
    """A person becomes known to the ledger (R-OBL-*)."""

    born: date
    region: Region
    health_fund: str
    situation: Situation = "resident"
    resident_since: date | None = None


class RegistrationCorrected(Event, frozen=True, kw_only=True):
    """A correction of the registration ``target_id`` (the member's ``Registered``): from
    the moment it is known, the birth date and/or the start of residence are these.

    It describes the person, as the registration does: its ``on`` is the registration's
    own, and it applies at every ``as_of`` (``History.view``), filtered by recorded time
    like every fact. The registration stays as recorded; a retraction of the correction
    restores the earlier values.
    """

    target_id: uuid.UUID
    born: date | None = None
    resident_since: date | None = None
    reason: str


# The facts about who the person is: they apply at every ``as_of`` (``History.view``).
PERSON: frozenset[type[Event]] = frozenset({Registered, RegistrationCorrected})


class Moved(Event, frozen=True):
    """The person's residence (or insured situation) changed on ``on`` (R-OBL-1..6)."""

    region: Region
    situation: Situation = "resident"


class AllowanceChanged(Event, frozen=True):
    """Entitlement to the increased allowance starts or ends (R-PREM-1, R-FINE-1)."""

    entitled: bool


class Affiliated(Event, frozen=True):
    """Membership of a care fund begins; it counts from ``since`` (R-AFF-1, R-AFF-3)."""

    fund: str
    kind: AffiliationKind
    since: date
    rule: str = "R-AFF-1"


# What an invitation written before invitations carried their source says of it.
V1_SOURCE = "not recorded (invitation sent before invitations carried their source)"


class PremiumInvited(Event, frozen=True):
    """The claim of one year's premium: the payment invitation sent on ``on`` (R-PREM-2, R-PREM-9).

    It carries the amount as the schedule gave it when it was issued, with that value's
    source and confirmed flag: what is owed is read from here, never from the parameters.
    ``direct_debit``: the premium will be debited under a mandate (R-PREM-8).
    Version 1 was only a payment reference (the amount owed was read from the schedule
    at question time); version 2 is the claim itself (see ``_premium_invited_v1_to_v2``).
    """

    VERSION: ClassVar[int] = 2

    year: int
    amount_cents: int
    reduced: bool
    ogm: str
    fund: str
    source: str = V1_SOURCE
    confirmed: bool = True
    direct_debit: bool = False


class PremiumDeducted(Event, frozen=True):
    """The claim of ``year``'s premium, paid from the April budget payment on ``on`` (R-PREM-5, R-PREM-9).

    One event is both the claim and its payment. ``monthly_cents`` is the budget payment
    it was taken from: what is left of it pays earlier unpaid premiums (not those already
    claimed with a fine).
    """

    year: int
    amount_cents: int
    reduced: bool
    fund: str
    monthly_cents: int
    source: str = ""
    confirmed: bool = True


class PremiumAdjusted(Event, frozen=True):
    """A correction of the claim ``claim_id`` of ``year`` (R-PREM-9): from ``on`` the
    amount owed is ``amount_cents`` (a backdated increased allowance, a corrected schedule
    value). The claim itself is never changed; answers before and after differ by this.
    Retracting its ``cause_id`` retracts it too."""

    year: int
    claim_id: uuid.UUID
    amount_cents: int
    reduced: bool
    source: str
    confirmed: bool
    reason: str
    cause_id: uuid.UUID | None = None  # the fact that made it (a backdated allowance status)


class DirectDebitRequested(Event, frozen=True):
    """A direct-debit mandate requested on ``on`` (R-PREM-8), or its end (``stop``).

    It applies to the premiums of ``first_year`` and later: the year of the request
    when received before 15 January, else the next year; never the year of joining.
    """

    first_year: int
    stop: bool = False


class PremiumPaid(Event, frozen=True):
    """Money reached the fund for this member; ``on`` is the value date (R-PREM-6, R-PREM-7)."""

    VERSION: ClassVar[int] = 2

    amount_cents: int
    ogm: str | None = None
    bank_ref: str | None = None
    method: PaymentMethod = "transfer"
    fine_year: int | None = None


class PaymentReversed(Event, frozen=True):
    """The bank took a payment back on ``on``; it refers to the payment it corrects."""

    payment_id: uuid.UUID
    reason: str = ""


class RegisteredLetterSent(Event, frozen=True):
    """The registered letter listing unpaid premiums (R-LET-1)."""

    year: int
    premium_years: list[int]
    amount_cents: int


class FineImposed(Event, frozen=True):
    """The Agency's administrative fine for the letter of ``year`` (R-FINE-1)."""

    year: int
    amount_cents: int
    premium_years: list[int]


class FineAppealDecided(Event, frozen=True):
    """An appeal against the fine of ``fine_year`` was decided (R-FINE-2)."""

    fine_year: int
    upheld: bool


class FundSwitched(Event, frozen=True):
    """A switch request received on ``on``; the new fund counts from ``effective`` (R-SW-1)."""

    from_fund: str
    to_fund: str
    effective: date


class BudgetGranted(Event, frozen=True):
    """A monthly care budget, paid from ``on`` (R-ELIG-*, R-PREM-5)."""

    kind: BudgetKind
    monthly_cents: int
    until: date | None = None


class ExemptionGranted(Event, frozen=True):
    """No premium and no fine from ``on`` until ``until`` (R-PREM-4, R-FINE-1)."""

    reason: ExemptionReason
    until: date | None = None
    evidence: str = ""


class Died(Event, frozen=True):
    """The member died on ``on``: no premium or fine afterwards (R-PREM-4, R-FINE-1)."""


class Cancelled(Event, frozen=True):
    """A voluntary membership ends, backdated to ``until`` (R-AFF-4)."""

    until: date
    unpaid_years: list[int]
    year: int | None = None  # the cancellation run's year (absent before runs recorded it)


class EventRetracted(Event, frozen=True):
    """A fact recorded wrongly: from the moment this is known, ``target_id`` is ignored."""

    target_id: uuid.UUID
    reason: str


EVENT_TYPES: tuple[type[Event], ...] = (
    Registered,
    Moved,
    AllowanceChanged,
    Affiliated,
    PremiumInvited,
    PremiumPaid,
    PaymentReversed,
    RegisteredLetterSent,
    FineImposed,
    FineAppealDecided,
    FundSwitched,
    BudgetGranted,
    ExemptionGranted,
    Died,
    Cancelled,
    EventRetracted,
    PremiumDeducted,
    PremiumAdjusted,
    DirectDebitRequested,
    RegistrationCorrected,  # last: the import's guards number the types in this order
)
BY_NAME: dict[str, type[Event]] = {cls.__name__: cls for cls in EVENT_TYPES}

AnyEvent = (
    Registered
    | Moved
    | AllowanceChanged
    | Affiliated
    | PremiumInvited
    | PremiumPaid
    | PaymentReversed
    | RegisteredLetterSent
    | FineImposed
    | FineAppealDecided
    | FundSwitched
    | BudgetGranted
    | ExemptionGranted
    | Died
    | Cancelled
    | EventRetracted
    | PremiumDeducted
    | PremiumAdjusted
    | DirectDebitRequested
    | RegistrationCorrected
)

# Upcasters turn the stored dict of version N into version N+1, keyed by (type, N).
# Version 1 of ``PremiumPaid`` had no ``method`` and called the bank reference ``ref``;
# tests/test_events.py loads such a stored payload.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _premium_paid_v1_to_v2(state: dict[str, Any]) -> dict[str, Any]:
    state = dict(state)
    if "ref" in state:
        state["bank_ref"] = state.pop("ref")
    state.setdefault("method", "transfer")
    return state


# Version 1 of ``PremiumInvited`` was written while the amount owed was still read from
# the schedule at question time; its amount is the schedule's value of that moment, so
# it is read as the claim (R-PREM-9). It recorded no source: the upcast one says so. The
# schedule of that time marked the values of 2019 and 2020 as not confirmed; that flag is
# frozen here (never read from today's parameters, which may have changed since).
# tests/test_claims.py loads a store written before version 2.
V1_UNCONFIRMED_YEARS = frozenset({2019, 2020})


def _premium_invited_v1_to_v2(state: dict[str, Any]) -> dict[str, Any]:
    state = dict(state)
    state.setdefault("source", V1_SOURCE)
    state.setdefault("confirmed", state.get("year") not in V1_UNCONFIRMED_YEARS)
    state.setdefault("direct_debit", False)
    return state


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("PremiumPaid", 1): _premium_paid_v1_to_v2,
    ("PremiumInvited", 1): _premium_invited_v1_to_v2,
}

CLAIMS: tuple[type[Event], ...] = (PremiumInvited, PremiumDeducted)


def upcast(type_name: str, version: int, state: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored payload of ``version`` up to the current version of its type."""
    current = BY_NAME[type_name].VERSION
    while version < current:
        state = UPCASTERS[(type_name, version)](state)
        version += 1
    return state


_encoder = msgspec.json.Encoder()
_any_decoder = msgspec.json.Decoder(AnyEvent)


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def decode(data: bytes | str) -> Event:
    """Decode an event of the current version (validated by msgspec)."""
    return _any_decoder.decode(data)


def convert(state: dict[str, Any]) -> Event:
    """Validate a dict (e.g. an upcast payload or an import line) into an event."""
    return msgspec.convert(state, AnyEvent, strict=True)
