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


class PremiumInvited(Event, frozen=True):
    """A payment invitation for one year's premium was sent (R-PREM-1, R-PREM-2)."""

    year: int
    amount_cents: int
    reduced: bool
    ogm: str
    fund: str


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


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("PremiumPaid", 1): _premium_paid_v1_to_v2,
}


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
