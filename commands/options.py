"""Parameter types and options shared by many commands (one decorator each, not copies).

Every parse error is bad input: click turns ``BadParameter`` into exit code 2 and
names the option and the value.
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import click

from ledger.dates import end_of_day
from ledger.errors import BadInput
from ledger.identity import fund_code, health_fund_code, normalize_insz, normalize_ogm
from ledger.member import Stamp
from ledger.money import parse_euro
from ledger.store import DEFAULT_STORE, Ledger


class _Converting(click.ParamType):
    """A click type whose ``parse`` raises ``BadInput`` on a wrong value."""

    def parse(self, value: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except BadInput as exc:
            self.fail(f"{value!r}: {exc.reason}", param, ctx)


class DateType(_Converting):
    name = "DATE"

    def parse(self, value: str) -> date:
        return parse_date(value, "DATE")


class DateTimeType(_Converting):
    name = "DATETIME"

    def parse(self, value: str) -> datetime:
        return parse_datetime(value, "DATETIME")


class InszType(_Converting):
    name = "INSZ"

    def parse(self, value: str) -> str:
        return normalize_insz(value)


class FundType(_Converting):
    name = "FUND"

    def parse(self, value: str) -> str:
        return fund_code(value)


class HealthFundType(_Converting):
    name = "HEALTH_FUND"

    def parse(self, value: str) -> str:
        return health_fund_code(value)


class EuroType(_Converting):
    name = "EUR"

    def parse(self, value: str) -> int:
        return parse_euro(value)


class OgmType(_Converting):
    name = "OGM"

    def parse(self, value: str) -> str:
        return normalize_ogm(value)


class YearType(_Converting):
    name = "YEAR"

    def parse(self, value: str) -> int:
        if not value.isdigit() or not 1900 <= int(value) <= 2999:
            raise BadInput("YEAR", value, "not a year such as 2024")
        return int(value)


DATE = DateType()
DATETIME = DateTimeType()
INSZ = InszType()
FUND = FundType()
HEALTH_FUND = HealthFundType()
EURO = EuroType()
OGM = OgmType()
YEAR = YearType()


EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def parse_date(value: str, field_name: str) -> date:
    """An ISO date a care fund can mean: 1900 to 2199 (0001 and 9999 are typing errors)."""
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(field_name, value, "not a date YYYY-MM-DD") from None
    if not EARLIEST <= parsed <= LATEST:
        raise BadInput(field_name, value, f"lies outside {EARLIEST.year}-{LATEST.year}")
    return parsed


def parse_datetime(value: str, field_name: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SS``; a plain date means the end of that day."""
    text = value.strip()
    try:
        if len(text) == 10:
            return end_of_day(parse_date(text, field_name))
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(field_name, value, "not a date-time YYYY-MM-DDTHH:MM:SS") from None
    if not EARLIEST <= parsed.date() <= LATEST:
        raise BadInput(field_name, value, f"lies outside {EARLIEST.year}-{LATEST.year}")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


# Commands that only read, ``reseal`` and the yearly runs (under ``run``) need an existing
# store: asked about a path with no store they say so (bad input) rather than making an
# empty one. Every other command writes facts and creates the store on first use.
NEEDS_A_STORE = frozenset(
    {"status", "explain", "history", "dossier", "timeline", "export", "verify", "checkpoint", "report"}
    | {"reseal"}
)


def _creates(ctx: click.Context) -> bool:
    parent = ctx.parent.info_name if ctx.parent is not None else None
    return ctx.info_name not in NEEDS_A_STORE and parent != "run"


@dataclass
class Session:
    """What one command line works with: the store, the clerk and the clock."""

    store_url: str
    clerk: str
    _ledger: Ledger | None = field(default=None, repr=False)
    creates: bool = True  # whether this command may create the store

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.store_url, create=self.creates)
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    @property
    def now(self) -> datetime:
        """ZORGKAS_NOW fixes the recorded time; else the real clock (UTC, to the second)."""
        fixed = os.environ.get("ZORGKAS_NOW")
        if fixed:
            return parse_datetime(fixed, "ZORGKAS_NOW")
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    @property
    def today(self) -> date:
        """ZORGKAS_TODAY fixes "today", the default of every --on and --as-of."""
        fixed = os.environ.get("ZORGKAS_TODAY")
        if fixed:
            return parse_date(fixed, "ZORGKAS_TODAY")
        if os.environ.get("ZORGKAS_NOW"):
            return self.now.date()
        return datetime.now().date()

    def stamp(self) -> Stamp:
        return Stamp(clerk=self.clerk, recorded_at=self.now, today=self.today)


def where_and_who(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--store`` and ``--clerk`` options themselves (on the group and on each command)."""
    fn = click.option("--clerk", default=None, help="Who records the facts (env ZORGKAS_CLERK).")(fn)
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        default=None,
        help="SQLite file or postgresql://… URL (env ZORGKAS_STORE; default ./zorgkas.sqlite).",
    )(fn)


def store_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--store`` and ``--clerk`` on every command (also accepted before the command)."""

    @where_and_who
    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, store_url: str | None, clerk: str | None, **kwargs: Any) -> Any:
        root = ctx.find_root().params
        url = store_url or root.get("store_url") or os.environ.get("ZORGKAS_STORE") or DEFAULT_STORE
        who = clerk or root.get("clerk") or os.environ.get("ZORGKAS_CLERK") or _default_clerk()
        session = Session(url, who, creates=_creates(ctx))
        ctx.call_on_close(session.close)
        return fn(session, **kwargs)

    return wrapper


def _default_clerk() -> str:
    """Without --clerk or ZORGKAS_CLERK, the operating-system account that runs the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def as_of_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--as-of`` and ``--known-on``: the two times of every question."""
    fn = click.option(
        "--known-on",
        type=DATETIME,
        default=None,
        help="Only what had been recorded by then (default: now). A date means its end.",
    )(fn)
    return click.option(
        "--as-of", type=DATE, default=None, help="The world as it was on this date (default: today)."
    )(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


def read_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A command that only reads: ``--clerk`` (and ZORGKAS_CLERK) still accepted, not offered.

    Put it right above ``@store_options``.
    """
    for param in getattr(fn, "__click_params__", []):
        if param.name == "clerk":
            param.hidden = True
    return fn
