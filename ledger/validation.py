"""One validator for every value that enters the ledger: typed by a clerk or read from a file.

The command line's parameter types (``commands/options.py``) and ``import``'s line decoder
(``ledger/bulk.py``) call the same functions, so a value the command line refuses, an
event file cannot smuggle in, and the other way round; the message names the field and
the value (and the line, for files). Every refusal is ``BadInput`` (exit 2).

What a value may be (decisions where the rule book is silent, see docs/reliability.md):
- numbers are ASCII digits only (``²`` or ``٢٠٢٥`` are not years); years lie in 1900–2999
  on the command line and in 1900–next year in an event file;
- dates are ``YYYY-MM-DD`` only (no week or ordinal dates, no ``20240101``), 1900–2199;
  date-times ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` with an optional ``Z`` or ``±HH:MM``;
- an INSZ is 11 ASCII digits, optionally split by dots and dashes as clerks type it
  (``98.01.01-103.89``), with valid check digits; never spaces, newlines or other
  scripts' digits; in a file it is a JSON string, never a number;
- text (clerk, bank reference, reasons, evidence) is printable Unicode or spaces (no NUL,
  control or format characters, lone surrogates, undecodable bytes, private-use or
  unassigned code points) of bounded length; a clerk and a bank reference are never blank;
- codes come from the fund table (care funds, health funds), the rule book (rule ids);
- money moves only in positive cents (a payment, a fine, a monthly budget).
"""

from __future__ import annotations

import functools
import re
import typing
import unicodedata
import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from ledger import events as ev
from ledger.dates import end_of_day
from ledger.errors import BadInput
from ledger.identity import FUNDS, HEALTH_FUNDS

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
MAX_CLERK = 100  # characters: an account name or a person's name
MAX_REF = 100  # a bank reference
MAX_TEXT = 1_000  # a reason or the evidence of an exemption
MAX_LINE = 16_384  # bytes of one event-file line: the longest real line is under 8 KiB
MAX_YEARS = 50  # entries of a list of years (premium_years, unpaid_years)
MAX_CENTS = 10**11 - 1  # under a billion euro, as an --amount of nine digits: more is a typo
RULE_IDS = frozenset(
    [f"R-OBL-{n}" for n in range(1, 8)]
    + [f"R-AFF-{n}" for n in range(1, 5)]
    + [f"R-PREM-{n}" for n in range(1, 10)]
    + ["R-FUND-1", "R-LET-1", "R-FINE-1", "R-FINE-2", "R-SW-1", "R-SW-2"]
    + [f"R-ELIG-{n}" for n in range(1, 4)]
)

_YEAR = re.compile(r"[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_INSZ = re.compile(r"[0-9]+(?:[.-][0-9]+)*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_OGM = re.compile(r"(?:\+\+\+)?[0-9]{3}/?[0-9]{4}/?[0-9]{5}(?:\+\+\+)?")


# -- scalars ---------------------------------------------------------------------------


def parse_count(value: str, field: str, low: int, high: int | None, what: str) -> int:
    """A whole number in ASCII digits from ``low`` to ``high`` (None: no bound): a port, a
    number of processes. ``what`` is the refusal (``²`` or ``٢`` are not digits here)."""
    number = int(value) if value.isascii() and value.isdigit() else None
    if number is None or number < low or (high is not None and number > high):
        raise BadInput(field, value, what)
    return number


def parse_year(value: str, field: str = "YEAR") -> int:
    """Four ASCII digits, 1900–2999."""
    if not isinstance(value, str) or not _YEAR.fullmatch(value) or not 1900 <= int(value) <= 2999:
        raise BadInput(field, value, "not a year such as 2024 (four ASCII digits, 1900-2999)")
    return int(value)


def parse_date(value: str, field: str = "DATE") -> date:
    """``YYYY-MM-DD`` in ASCII digits, a real day between 1900 and 2199."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise BadInput(field, value, "not a date YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise BadInput(field, value, "not a day of the calendar (YYYY-MM-DD)") from None
    return in_range(parsed, field)


def in_range(day: date, field: str) -> date:
    if not EARLIEST <= day <= LATEST:
        raise BadInput(field, day.isoformat(), f"lies outside {EARLIEST.year}-{LATEST.year}")
    return day


def parse_datetime(value: str, field: str = "DATETIME") -> datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` (UTC unless an offset is given); a plain date means its end."""
    if isinstance(value, str) and _DATE.fullmatch(value):
        return end_of_day(parse_date(value, field))
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise BadInput(field, value, "not a date-time YYYY-MM-DDTHH:MM:SS")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(field, value, "not a moment of the calendar (YYYY-MM-DDTHH:MM:SS)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    in_range(parsed.date(), field)
    return parsed


def insz(value: object, field: str = "INSZ") -> str:
    """The 11 digits of a valid INSZ (national register or BIS number)."""
    if not isinstance(value, str):
        raise BadInput(field, value, "write the INSZ as a string of 11 digits")
    if len(value) > 20 or not _INSZ.fullmatch(value):
        raise BadInput(field, value, "not an INSZ: 11 digits, optionally with dots and a dash")
    digits = value.replace(".", "").replace("-", "")
    if _valid_insz(digits):
        return digits
    # python-stdnum (ssl and pydoc come with it: ~20 ms) only to word the refusal
    from stdnum.be import ssn
    from stdnum.exceptions import ValidationError

    try:
        return ssn.validate(digits)
    except ValidationError as exc:
        raise BadInput(field, value, f"not a valid INSZ number ({exc})") from None


def _valid_insz(digits: str) -> bool:
    """Whether ``stdnum.be.ssn.validate`` accepts these 11 ASCII digits (a national register
    or BIS number), without importing python-stdnum: a clerk's command validates one INSZ
    and ``import stdnum`` costs more than the rest of the check. False sends the number to
    stdnum itself, which words the refusal (tests/test_startup.py holds the two equal).

    The last two digits are 97 minus the first nine modulo 97, with a ``2`` in front for
    someone born from 2000 on (only for a two-digit year not after this year, as stdnum
    does); the month is 0-12 (national register), 20-32 or 40-52 (BIS).
    """
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit() or int(digits) == 0:
        return False
    month = int(digits[2:4])
    if not (month <= 12 or 20 <= month <= 32 or 40 <= month <= 52):
        return False
    check = int(digits[9:])
    if 97 - int(digits[:9]) % 97 == check:
        return True
    return int(digits[:2]) + 2000 <= date.today().year and 97 - int("2" + digits[:9]) % 97 == check


def ogm(value: object, field: str = "--ogm") -> str:
    """The 12 digits of a structured message (OGM/VCS) with valid check digits."""
    if not isinstance(value, str) or not _OGM.fullmatch(value):
        raise BadInput(field, value, "not a structured message +++123/4567/89002+++ (12 digits)")
    # imported here: python-stdnum brings ssl and pydoc, which a clerk's status never needs
    from stdnum.be import ogm_vcs
    from stdnum.exceptions import ValidationError

    try:
        return ogm_vcs.validate(value)
    except ValidationError as exc:
        raise BadInput(field, value, f"not a valid structured message OGM/VCS ({exc})") from None


def _plain_ogm(value: str) -> bool:
    """12 ASCII digits with valid mod-97 check digits (the fast path of ``ogm``)."""
    return (
        len(value) == 12
        and value.isascii()
        and value.isdigit()
        and ((int(value[:10]) % 97) or 97) == int(value[10:])
    )


def text(value: object, field: str, max_len: int = MAX_TEXT, *, required: bool = False) -> str:
    """Printable text (no NUL, control characters or lone surrogates), at most ``max_len``."""
    if not isinstance(value, str):
        raise BadInput(field, value, "not text")
    if len(value) > max_len:
        raise BadInput(field, f"{value[:20]}…", f"longer than {max_len} characters")
    if not value.isprintable():
        # Spaces of every script (a no-break space in a name) are text; controls, lone
        # surrogates, format characters (bidi overrides), private-use and unassigned not.
        bad = next((ch for ch in value if not ch.isprintable() and unicodedata.category(ch) != "Zs"), None)
        if bad is not None:
            raise BadInput(field, value, f"contains the unprintable character U+{ord(bad):04X}")
    if required and not value.strip():
        raise BadInput(field, value, "empty")
    return value


def clerk(value: object, field: str = "--clerk") -> str:
    """Who records a fact: printable, not blank, at most 100 characters."""
    return text(value, field, MAX_CLERK, required=True)


def bank_ref(value: object, field: str = "--bank-ref") -> str:
    return text(value, field, MAX_REF, required=True)


def fund(value: object, field: str = "--fund") -> str:
    code = value.upper() if isinstance(value, str) else value
    if code not in FUNDS:
        raise BadInput(field, value, f"unknown care fund code (one of {', '.join(FUNDS)})")
    return code  # type: ignore[return-value]


def health_fund(value: object, field: str = "--health-fund") -> str:
    code = value.upper() if isinstance(value, str) else value
    if code not in HEALTH_FUNDS:
        raise BadInput(field, value, f"unknown health fund (one of {', '.join(HEALTH_FUNDS)})")
    return code  # type: ignore[return-value]


def rule_id(value: object, field: str = "rule") -> str:
    if value not in RULE_IDS:
        raise BadInput(field, value, "not a rule id of the rule book (R-AFF-1, R-AFF-3, …)")
    return value  # type: ignore[return-value]


# -- whole events (an event file's line, after typed decoding) -------------------------


def _hint_fields(cls: type, needle: str) -> tuple[str, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(f for f in cls.__struct_fields__ if needle in str(hints[f]))


class _Fields(typing.NamedTuple):
    dates: tuple[str, ...]
    money: tuple[str, ...]
    positive: bool  # money moves: a payment, a fine, a budget
    years: tuple[str, ...]
    year_lists: tuple[str, ...]
    funds: tuple[str, ...]
    texts: tuple[tuple[str, int], ...]
    own: bool  # a check of its own in ``_check_own``
    plain: bool  # nothing to check beyond the common fields


_POSITIVE = (ev.PremiumPaid, ev.FineImposed, ev.BudgetGranted)
# ``source``: the public title of a schedule value's source, recorded on each claim.
_TEXT_LIMITS = {"bank_ref": MAX_REF, "reason": MAX_TEXT, "evidence": MAX_TEXT, "source": MAX_TEXT}


_OWN = (
    ev.Registered,
    ev.RegistrationCorrected,
    ev.Affiliated,
    ev.PremiumInvited,
    ev.PremiumPaid,
    ev.FundSwitched,
)


def _fields(cls: type[ev.Event]) -> _Fields:
    own = cls.__struct_fields__
    f = _Fields(
        dates=tuple(f for f in _hint_fields(cls, "date") if f not in ("on", "recorded_at")),
        money=tuple(f for f in ("amount_cents", "monthly_cents") if f in own),
        positive=cls in _POSITIVE,
        years=tuple(f for f in ("year", "fine_year", "first_year") if f in own),
        year_lists=tuple(f for f in ("premium_years", "unpaid_years") if f in own),
        funds=tuple(f for f in ("fund", "from_fund", "to_fund") if f in own),
        texts=tuple((f, n) for f, n in _TEXT_LIMITS.items() if f in own),
        own=cls in _OWN,
        plain=False,
    )
    return f._replace(
        plain=not (f.dates or f.money or f.years or f.year_lists or f.funds or f.texts or f.own)
    )


@functools.cache
def _field_table() -> dict[type[ev.Event], _Fields]:
    # Built by the first EventChecker, not at import: typing.get_type_hints on every event
    # type costs a clerk's command, which never checks a decoded event, a few milliseconds.
    return {cls: _fields(cls) for cls in ev.EVENT_TYPES}


def _plainly_valid(cls: type[ev.Event], f: _Fields) -> str:
    """The source of a predicate that is true only when ``EventChecker._checked`` would
    return an event of type ``cls`` unchanged: every value plainly in range, nothing to
    normalise. Written out per type (an import checks millions of events, and the loops
    over the field table cost more than the comparisons); anything else, true or false,
    is left to ``_checked``, which refuses or normalises it with its own message."""
    terms = [
        "e.insz in good_insz",
        "e.clerk in good_clerks",
        "(r := e.recorded_at).tzinfo is None",
        "EARLIEST <= e.on <= today",
        "r <= now",
        "r.year >= 1900",
    ]
    terms += [f"((v := e.{n}) is None or EARLIEST <= v <= LATEST)" for n in f.dates]
    low = 1 if f.positive else 0
    terms += [f"{low} <= e.{n} <= MAX_CENTS" for n in f.money]
    terms += [f"((v := e.{n}) is None or 1900 <= v <= last_year)" for n in f.years]
    if f.year_lists:
        terms.append("False")  # rare: always the full check
    terms += [f"e.{n} in FUNDS" for n in f.funds]
    for n, limit in f.texts:
        blank = " and v.strip()" if n == "bank_ref" else ""
        terms.append(f"((v := e.{n}) is None or (len(v) <= {limit} and v.isprintable(){blank}))")
    if cls is ev.Registered:
        terms += ["e.health_fund in HEALTH_FUNDS", "not (e.born > e.on and e.born > today)"]
    elif cls is ev.Affiliated:
        terms.append("e.rule in RULE_IDS")
    elif cls in (ev.PremiumInvited, ev.PremiumPaid):
        terms.append("(not e.ogm or _plain_ogm(e.ogm))")
    elif cls is ev.FundSwitched:
        terms.append("e.from_fund != e.to_fund")
    elif f.own:
        terms.append("False")  # an own check not written out here: always the full check
    return " and ".join(terms)


def _fast_checks(today: date, now: datetime, good_insz: set[str], good_clerks: set[str]) -> dict[type, Any]:
    """``_plainly_valid`` of every event type, compiled once per checker."""
    names = {
        "good_insz": good_insz, "good_clerks": good_clerks, "today": today, "now": now,
        "last_year": today.year + 1, "EARLIEST": EARLIEST, "LATEST": LATEST, "MAX_CENTS": MAX_CENTS,
        "FUNDS": FUNDS, "HEALTH_FUNDS": HEALTH_FUNDS, "RULE_IDS": RULE_IDS, "_plain_ogm": _plain_ogm,
    }  # fmt: skip
    checks: dict[type, Any] = {}
    for cls, f in _field_table().items():
        checks[cls] = eval(f"lambda e: {_plainly_valid(cls, f)}", names)  # noqa: S307 - our own source
    return checks


class EventChecker:
    """Checks (and normalises: a formatted INSZ, a lower-case code, a formatted OGM) the
    values of decoded events; remembers the INSZ numbers and clerks already seen, so a
    file of millions of lines pays the checks once per member and per clerk."""

    def __init__(self, today: date, now: datetime) -> None:
        self.today, self.now = today, now
        self.good_insz: set[str] = set()
        self.good_clerks: set[str] = set()
        self.fields = _field_table()
        self.fast: dict[type, Any] | None = None  # compiled by the first ``checked``

    def check(self, e: ev.Event, line: int | None = None) -> ev.Event:
        try:
            return self.checked(e)
        except BadInput as exc:
            raise BadInput(exc.field, exc.value, exc.reason, line) from None

    def checked(self, e: ev.Event) -> ev.Event:
        """``check`` without the line in the message (the caller adds it)."""
        fast = self.fast
        if fast is None:
            fast = self.fast = _fast_checks(self.today, self.now, self.good_insz, self.good_clerks)
        if fast[type(e)](e):
            return e
        return self._checked(e)

    def _checked(self, e: ev.Event) -> ev.Event:
        """Every check, normalising what the command line normalises."""
        fix: dict[str, Any] | None = None
        if e.insz not in self.good_insz:
            normal = insz(e.insz, "insz")
            if normal != e.insz:
                fix = {"insz": normal}
            elif len(self.good_insz) < 1_000_000:
                self.good_insz.add(normal)
        if e.clerk not in self.good_clerks:
            clerk(e.clerk, "clerk")
            if len(self.good_clerks) < 10_000:
                self.good_clerks.add(e.clerk)
        recorded = e.recorded_at
        if recorded.tzinfo is not None:
            recorded = recorded.astimezone(UTC).replace(tzinfo=None)
            fix = {**(fix or {}), "recorded_at": recorded}
        on = e.on
        if on > self.today:
            raise BadInput("on", on.isoformat(), f"lies after today ({self.today})")
        if on < EARLIEST:
            in_range(on, "on")
        if recorded > self.now:
            raise BadInput("recorded_at", recorded.isoformat(), f"lies after now ({self.now})")
        if recorded.year < 1900:
            in_range(recorded.date(), "recorded_at")
        dates, money, positive, years, year_lists, funds, texts, own, plain = self.fields[type(e)]
        if plain:
            return msgspec.structs.replace(e, **fix) if fix else e
        for name in dates:
            day = getattr(e, name)
            if day is not None and not EARLIEST <= day <= LATEST:
                in_range(day, name)
        for name in money:
            cents = getattr(e, name)
            low = 1 if positive else 0
            if not low <= cents <= MAX_CENTS:
                raise BadInput(name, cents, f"must be between {low} and {MAX_CENTS} cents")
        last_year = self.today.year + 1
        for name in years:
            year = getattr(e, name)
            if year is not None and not 1900 <= year <= last_year:
                raise BadInput(name, year, f"not a plausible year (1900-{last_year})")
        for name in year_lists:
            listed = getattr(e, name)
            if len(listed) > MAX_YEARS or len(set(listed)) != len(listed):
                raise BadInput(name, listed[:10], f"at most {MAX_YEARS} different years")
            if any(not 1900 <= y <= last_year for y in listed):
                raise BadInput(name, listed[:10], f"not plausible years (1900-{last_year})")
        for name in funds:
            code = getattr(e, name)
            if code not in FUNDS:
                fix = {**(fix or {}), name: fund(code, name)}
        for name, limit in texts:
            value = getattr(e, name)
            if value is not None and not (len(value) <= limit and value.isprintable()):  # fast path
                text(value, name, limit)
            if name == "bank_ref" and value is not None and not value.strip():
                raise BadInput(name, value, "empty")
        if own:
            fix = self._check_own(e, fix or {})
        return msgspec.structs.replace(e, **fix) if fix else e

    def _check_own(self, e: ev.Event, fix: dict[str, Any]) -> dict[str, Any]:
        """The fields only one event type has."""
        if isinstance(e, ev.Registered):
            if e.health_fund not in HEALTH_FUNDS:
                fix["health_fund"] = health_fund(e.health_fund, "health_fund")
            if e.born > e.on and e.born > self.today:
                raise BadInput("born", e.born.isoformat(), "lies in the future")
        elif isinstance(e, ev.RegistrationCorrected):
            # As ``correct-registration`` checks them: something to correct, a reason, a birth
            # date not in the future and not after the start of residence it gives.
            if e.born is None and e.resident_since is None:
                raise BadInput(
                    "born", None, "a correction of the registration needs born and/or resident_since"
                )
            text(e.reason, "reason", MAX_TEXT, required=True)
            if e.born is not None and e.born > self.today:
                raise BadInput("born", e.born.isoformat(), "lies in the future")
            if e.resident_since is not None and e.resident_since > self.today:
                raise BadInput("resident_since", e.resident_since.isoformat(), "lies in the future")
            if e.born is not None and e.resident_since is not None and e.resident_since < e.born:
                raise BadInput("resident_since", e.resident_since.isoformat(), f"lies before born {e.born}")
        elif isinstance(e, ev.Affiliated):
            rule_id(e.rule, "rule")
        elif isinstance(e, (ev.PremiumInvited, ev.PremiumPaid)):
            if e.ogm and not _plain_ogm(e.ogm):  # empty: none (a takeover from an older system)
                normal = ogm(e.ogm, "ogm")
                if normal != e.ogm:
                    fix["ogm"] = normal
        elif isinstance(e, ev.FundSwitched) and e.from_fund == e.to_fund:
            raise BadInput("to_fund", e.to_fund, "the same fund as from_fund")
        return fix


def event_id(value: object, field: str = "--event") -> uuid.UUID:
    """An event id as ``history`` shows it: 32 ASCII hex digits, dashes optional."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise BadInput(field, value, "not an event id such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    return uuid.UUID(value)
