"""Rule parameters by validity date: the packaged ``fixtures/parameters.json``, with a
fund's own file merged over it.

Amounts, deadlines and thresholds are data with their source, never code. A parameter
missing for a year is a clear error (``ParameterMissing``), never a guess. The files
are read on first use, not at import time.

Decisions (R-PREM-1, R-PREM-9):
- ``ZORGKAS_PARAMETERS=FILE`` names a JSON file merged over the packaged one: objects
  key by key, anything else (a number, a list of periods) replaced. A fund adds next
  year's premium or corrects a value there, without editing the installed package.
  The merged result is validated at load; a wrong file is bad input (exit 2) whose
  message names the key.
- Each premium value (normal, reduced) has its own ``confirmed`` flag and ``source``,
  the public title of the document or the law it comes from: a year gives
  ``normal_cents``, ``reduced_cents``, one ``confirmed`` and one ``source`` for both,
  and ``reduced_confirmed``/``reduced_source`` (or ``normal_…``) where one value differs
  (2019: the reduced amount is not confirmed; 2024: the two amounts have two sources).
- The schedule is read only when a claim is made (the invitation run, the budget
  deduction, a clerk's adjustment): no question about a recorded claim reads it, so
  changing it never rewrites history, and a year without schedule refuses only the
  invitation run of that year.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, wraps
from typing import Any, TypeVar

from ledger.dates import day_in
from ledger.errors import BadInput, ParameterMissing

ENV = "ZORGKAS_PARAMETERS"
T = TypeVar("T")


@dataclass(frozen=True)
class Value:
    """One schedule value, with whether it is confirmed and the public title of its source."""

    cents: int
    confirmed: bool
    source: str


@dataclass(frozen=True)
class Premium:
    """The premium of one year (R-PREM-1): the normal and the reduced value."""

    year: int
    normal: Value
    reduced: Value

    def value(self, reduced: bool) -> Value:
        return self.reduced if reduced else self.normal

    def amount(self, reduced: bool) -> int:
        return self.value(reduced).cents


# The merged parameters are kept per value of the variable: a changed variable (a test, a
# long-running process) is seen at the next call, an unchanged one costs one lookup.
_last: tuple[Any, dict[str, Any]] | None = None
# That lookup reads the environment's own mapping, which ``os.environ`` keeps in step on
# every change, with the key encoded once: ``os.environ.get`` costs three Python calls
# (Mapping.get, __getitem__, the key's encoding), and the rules ask about five times a
# member in a rebuild (2-4 % of its evaluation). The value is compared as stored.
# (CPython's own ``os._Environ``; any other mapping is asked the usual way.)
_ENVIRON: Any = os.environ
_DATA: Any = getattr(_ENVIRON, "_data", None)
_ENV_KEY: Any = _ENVIRON.encodekey(ENV) if _DATA is not None else ENV


def raw() -> dict[str, Any]:
    """The packaged parameters with ``ZORGKAS_PARAMETERS`` merged over them, validated."""
    global _last
    stored = (_DATA if _DATA is not None else os.environ).get(_ENV_KEY)
    last = _last
    if last is not None and last[0] == stored:
        return last[1]
    value = stored if _DATA is None or stored is None else _ENVIRON.decodevalue(stored)
    data = _load(value or None)
    _last = (stored, data)
    return data


def reload() -> None:
    """Forget the files read so far (a test, or a long-running process, changed them)."""
    global _last
    _last = None
    _load.cache_clear()


def _per_load(compute: Callable[[], T]) -> Callable[[], T]:
    """``compute()`` once per loaded parameter set (a reload or another file gives new ones)."""
    memo: list[Any] = [None, None]

    @wraps(compute)
    def cached() -> T:
        data = raw()
        if memo[0] is not data:
            memo[1], memo[0] = compute(), data
        return memo[1]  # type: ignore[no-any-return]

    return cached


@cache
def _load(path: str | None) -> dict[str, Any]:
    # The file beside the package, not importlib.resources: that module pulls in tempfile,
    # shutil, zipfile and the compressors (~8 ms of every clerk's command) to read one file.
    import fixtures

    # os.path, not pathlib: pathlib brings fnmatch and urllib.parse (~3 ms of every command).
    with open(os.path.join(os.path.dirname(fixtures.__file__), "parameters.json"), encoding="utf-8") as f:
        text = f.read()
    merged = json.loads(text)
    where = "fixtures/parameters.json"
    if path is not None:
        where = f"{ENV} file {path}"
        try:
            with open(path, encoding="utf-8") as f:
                overlay = json.loads(f.read())
        except OSError as exc:
            raise BadInput(ENV, path, f"cannot be read ({exc.strerror})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(ENV, path, f"not JSON ({exc})") from None
        if not isinstance(overlay, dict):
            raise BadInput(ENV, path, "must be a JSON object like fixtures/parameters.json")
        for key in overlay:
            if key not in merged:
                raise BadInput(where, key, f"unknown parameter (known: {', '.join(sorted(merged))})")
        merged = _merge(merged, overlay)
    validate(merged, where)
    return merged


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return over


PREMIUM_KEYS = frozenset(
    f"{rate}_{what}" for rate in ("normal", "reduced") for what in ("cents", "confirmed", "source")
) | {"confirmed", "source"}


def validate(data: dict[str, Any], where: str) -> None:
    """Check every value the rules read; the first wrong one is bad input naming its key."""
    check = _Checker(where)
    years = check.mapping(data, "premium.years")
    for year, entry in years.items():
        key = f"premium.years.{year}"
        if not (year.isdigit() and len(year) == 4):
            raise BadInput(where, key, "a premium year is written as four digits")
        if not isinstance(entry, dict):
            raise BadInput(where, key, "must be an object")
        for name in ("normal_cents", "reduced_cents"):
            check.cents(entry, name, key)
        check.boolean(entry, "confirmed", key)
        check.text(entry, "source", key)
        for rate in ("normal", "reduced"):
            if f"{rate}_confirmed" in entry:
                check.boolean(entry, f"{rate}_confirmed", key)
            if f"{rate}_source" in entry:
                check.text(entry, f"{rate}_source", key)
        extra = set(entry) - PREMIUM_KEYS
        if extra:
            raise BadInput(
                where, f"{key}.{sorted(extra)[0]}", f"unknown key (known: {', '.join(sorted(PREMIUM_KEYS))})"
            )
    for key in (
        "premium_due",
        "budget_deduction",
        "letter_deadline",
        "auto_affiliation",
        "fine.pay_by",
        "fine.received_by",
        "direct_debit.request_before",
        "direct_debit.debit_on",
        "switch_deadline.default",
    ):
        check.day(check.mapping(data, key), key)
    for fund, spec in check.mapping(data, "switch_deadline.funds").items():
        check.day(spec, f"switch_deadline.funds.{fund}")
    for section, fields in (
        ("letter_threshold", ("unpaid_premiums",)),
        ("fine", ("normal_cents", "reduced_cents")),
        ("residence", ("continuous_years", "total_years")),
    ):
        periods = check.mapping(data, section).get("periods")
        if not isinstance(periods, list) or not periods:
            raise BadInput(where, f"{section}.periods", "must be a non-empty list of periods")
        for n, period in enumerate(periods):
            key = f"{section}.periods[{n}]"
            if not isinstance(period, dict):
                raise BadInput(where, key, "must be an object")
            check.iso_date(period, "from", key)
            if "until" in period:
                check.iso_date(period, "until", key)
            for name in fields:
                check.cents(period, name, key)
            check.text(period, "source", key)
    for key in ("continuity.years", "obligation_age.age", "cancellation.unpaid_premiums"):
        section, _, name = key.partition(".")
        check.cents(check.mapping(data, section), name, section)


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, reason: str) -> BadInput:
        return BadInput(self.where, key, reason)

    def mapping(self, data: dict[str, Any], path: str, prefix: str = "") -> dict[str, Any]:
        node: Any = data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                raise self.fail(f"{prefix}.{path}" if prefix else path, "missing or not an object")
        return node

    def cents(self, data: dict[str, Any], name: str, key: str) -> None:
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{key}.{name}", "must be a whole number, 0 or more (amounts in cents)")

    def boolean(self, data: dict[str, Any], name: str, key: str) -> None:
        if not isinstance(data.get(name), bool):
            raise self.fail(f"{key}.{name}", "must be true or false")

    def text(self, data: dict[str, Any], name: str, key: str) -> None:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.{name}", "must name the public source of the value")

    def iso_date(self, data: dict[str, Any], name: str, key: str) -> None:
        try:
            date.fromisoformat(data[name])
        except (KeyError, TypeError, ValueError):
            raise self.fail(f"{key}.{name}", "must be a date YYYY-MM-DD") from None

    def day(self, data: dict[str, Any], key: str) -> None:
        try:
            date(2024, data["month"], data["day"])  # a leap year: 29 February is a day
        except (KeyError, TypeError, ValueError):
            raise self.fail(key, "needs a valid month and day") from None


def premium(year: int) -> Premium:
    """R-PREM-1: the schedule of ``year``; read only when a claim is made (R-PREM-9)."""
    years = raw()["premium"]["years"]
    entry = years.get(str(year))
    if entry is None:
        known = f"{min(years)}-{max(years)}"
        raise ParameterMissing(
            "R-PREM-1",
            f"no premium known for {year} (schedule covers {known}); add the year with its "
            f"source to a parameters file named by {ENV} (merged over the packaged one)",
        )
    return Premium(year, _value(entry, "normal"), _value(entry, "reduced"))


def _value(entry: dict[str, Any], rate: str) -> Value:
    """One value of a year: its own flag and source where given, else the year's."""
    return Value(
        cents=entry[f"{rate}_cents"],
        confirmed=entry.get(f"{rate}_confirmed", entry["confirmed"]),
        source=entry.get(f"{rate}_source", entry["source"]),
    )


@_per_load
def first_premium_year() -> int:
    """History before the schedule's first year is outside the ledger."""
    return min(int(y) for y in raw()["premium"]["years"])


def _period(section: str, on: date) -> dict[str, Any]:
    for period in raw()[section]["periods"]:
        start = date.fromisoformat(period["from"])
        end = date.fromisoformat(period["until"]) if "until" in period else date.max
        if start <= on <= end:
            return period
    raise ParameterMissing(raw()[section]["rule"], f"no {section} parameter valid on {on}")


def premium_due(year: int) -> date:
    """R-PREM-2: the premium of ``year`` is due by 30 April of that year."""
    return day_in(year, raw()["premium_due"])


def budget_deduction_day(year: int) -> date:
    """R-PREM-5: the day the premium is taken from the April budget payment."""
    return day_in(year, raw()["budget_deduction"])


def letter_threshold(letter_year: int) -> tuple[int, str]:
    """R-LET-1: how many unpaid premiums make a letter (3 until 2018, 2 from 2019)."""
    period = _period("letter_threshold", date(letter_year, 12, 31))
    return period["unpaid_premiums"], period["source"]


def fine_amount(fine_day: date, reduced: bool) -> tuple[int, str]:
    """R-FINE-1: €250, or €100 for increased allowance on 1 January of the year before."""
    period = _period("fine", fine_day)
    cents = period["reduced_cents"] if reduced else period["normal_cents"]
    return cents, period["source"]


def letter_deadline(year: int) -> date:
    """R-LET-1: the registered letters of ``year`` are sent by 1 September."""
    return day_in(year, raw()["letter_deadline"])


def direct_debit_request_before(year: int) -> date:
    """R-PREM-8: a mandate requested before this day applies to that year's premium."""
    return day_in(year, raw()["direct_debit"]["request_before"])


def direct_debit_day(year: int) -> date:
    """R-PREM-8: the day around which the premium is debited."""
    return day_in(year, raw()["direct_debit"]["debit_on"])


def fine_pay_by(year: int) -> date:
    return day_in(year, raw()["fine"]["pay_by"])


def fine_received_by(year: int) -> date:
    return day_in(year, raw()["fine"]["received_by"])


def auto_affiliation_day(year: int) -> date:
    """R-AFF-3: not affiliated before 1 July of the first obligation year."""
    return day_in(year, raw()["auto_affiliation"])


def auto_affiliation_fund() -> str:
    return raw()["auto_affiliation"]["fund"]


def switch_deadline(fund: str, year: int) -> tuple[date, str]:
    """R-SW-1: last day a switch request to ``fund`` counts for 1 January of next year."""
    section = raw()["switch_deadline"]
    spec = section["funds"].get(fund, section["default"])
    return day_in(year, spec), spec["source"]


def residence_condition(on: date) -> tuple[int, int, str]:
    """R-ELIG-1: (continuous years, total years, source) valid on ``on``."""
    period = _period("residence", on)
    return period["continuous_years"], period["total_years"], period["source"]


def continuity_years() -> int:
    """R-ELIG-2: years of continuous affiliation for a late joiner."""
    return raw()["continuity"]["years"]


def obligation_age() -> int:
    return raw()["obligation_age"]["age"]


def fund_name(code: str) -> str:
    return raw()["funds"][code]["name"]


def cancellation_threshold() -> int:
    """R-AFF-4: unpaid premiums after which a voluntary membership is cancelled."""
    return raw()["cancellation"]["unpaid_premiums"]


def residence_periods() -> tuple[tuple[date, date, int, int, str], ...]:
    """R-ELIG-1: (from, until, continuous years, total years, source) for each period
    (the loaded set's own tuple: immutable, so no copy per question)."""
    return _residence_periods()


@_per_load
def _residence_periods() -> tuple[tuple[date, date, int, int, str], ...]:
    return tuple(
        [
            (
                date.fromisoformat(p["from"]),
                date.fromisoformat(p["until"]) if "until" in p else date.max,
                p["continuous_years"],
                p["total_years"],
                p["source"],
            )
            for p in raw()["residence"]["periods"]
        ]
    )
