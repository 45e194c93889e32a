"""Parameter types and options shared by many commands (one decorator each, not copies).

Every parse error is bad input: click turns ``BadParameter`` into exit code 2 and
names the option and the value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import click

from ledger import validation
from ledger.errors import BadInput
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
        return validation.insz(value)


class FundType(_Converting):
    name = "FUND"

    def parse(self, value: str) -> str:
        return validation.fund(value)


class HealthFundType(_Converting):
    name = "HEALTH_FUND"

    def parse(self, value: str) -> str:
        return validation.health_fund(value)


class EuroType(_Converting):
    name = "EUR"

    def parse(self, value: str) -> int:
        return parse_euro(value)


class OgmType(_Converting):
    name = "OGM"

    def parse(self, value: str) -> str | None:
        return validation.ogm(value) if value else None  # empty: no structured message


class YearType(_Converting):
    name = "YEAR"

    def parse(self, value: str) -> int:
        return validation.parse_year(value)


class TextType(_Converting):
    """Printable text of bounded length (a bank reference, a reason, evidence)."""

    name = "TEXT"

    def __init__(self, max_len: int, *, required: bool = False) -> None:
        self.max_len, self.required = max_len, required

    def parse(self, value: str) -> str:
        return validation.text(value, "TEXT", self.max_len, required=self.required)


class EventIdType(_Converting):
    name = "EVENT_ID"

    def parse(self, value: str) -> object:
        return validation.event_id(value)


class PortType(_Converting):
    name = "PORT"

    def parse(self, value: str) -> int:
        return validation.parse_count(value, "PORT", 1, 65535, "not a TCP port (1-65535)")


DATE = DateType()
DATETIME = DateTimeType()
INSZ = InszType()
FUND = FundType()
HEALTH_FUND = HealthFundType()
EURO = EuroType()
OGM = OgmType()
YEAR = YearType()
BANK_REF = TextType(validation.MAX_REF, required=True)
REASON = TextType(validation.MAX_TEXT, required=True)
EVIDENCE = TextType(validation.MAX_TEXT)
PORT = PortType()
EVENT_ID = EventIdType()


EARLIEST, LATEST = validation.EARLIEST, validation.LATEST


def parse_date(value: str, field_name: str) -> date:
    """An ISO date ``YYYY-MM-DD`` a care fund can mean: 1900 to 2199 (``ledger.validation``)."""
    return validation.parse_date(value, field_name)


def parse_datetime(value: str, field_name: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SS``; a plain date means the end of that day (``ledger.validation``)."""
    return validation.parse_datetime(value, field_name)


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


class Session:
    """What one command line works with: the store, the clerk and the clock.

    A plain class: a dataclass generates its methods with ``exec`` at import (~0.5 ms of
    every command for one that is made once per command line).
    """

    def __init__(self, store_url: str, clerk: str, creates: bool = True) -> None:
        self.store_url = store_url
        self.clerk = clerk
        self.creates = creates  # whether this command may create the store
        self._ledger: Ledger | None = None

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
        for given in (store_url, root.get("store_url")):
            if given is not None and not given.strip():  # not a path: never the default instead
                raise BadInput("--store", given, "is empty: give a SQLite file or a postgresql:// URL")
        url = store_url or root.get("store_url") or os.environ.get("ZORGKAS_STORE") or DEFAULT_STORE
        who = _clerk(clerk, root.get("clerk"))
        session = Session(url, who, creates=_creates(ctx))
        ctx.call_on_close(session.close)
        return fn(session, **kwargs)

    return wrapper


def _clerk(here: str | None, before: str | None) -> str:
    """The clerk of the command line: ``--clerk`` (after or before the command), else
    ZORGKAS_CLERK, else the operating-system account; the same check as an event file's
    ``clerk`` (printable, not blank, at most 100 characters), so every export imports."""
    if here is not None and before is not None and here != before:
        raise BadInput("--clerk", f"{before} / {here}", "given twice with two values: which one?")
    env = os.environ.get("ZORGKAS_CLERK") or None  # set but empty: as if unset
    given = [(here, "--clerk"), (before, "--clerk"), (env, "ZORGKAS_CLERK")]
    for value, field_name in given:
        if value is not None:
            return validation.clerk(value, field_name)
    return _default_clerk()


def _default_clerk() -> str:
    """Without --clerk or ZORGKAS_CLERK, the operating-system account that runs the command."""
    import getpass  # here: it brings termios, and a clerk mostly names herself

    try:
        return validation.clerk(getpass.getuser())
    except (KeyError, OSError, BadInput):
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


def refuse_repeated(command: click.Command, args: list[str], ctx: click.Context | None = None) -> None:
    """Refuse an option given twice with different values, on the command line as typed.

    Click keeps the last of ``--entitled --not-entitled``, ``--upheld --rejected``,
    ``--voluntary --early`` or ``--on A --on B`` silently: a contradiction is bad input
    (exit 2) naming both. The same option twice with the same value is harmless. Groups
    are followed into the command named on the line (``zorgkas run letters …``).
    """
    table: dict[str, tuple[click.Option, bool]] = {}
    for param in command.params:
        if isinstance(param, click.Option) and not (param.multiple or param.count):
            for opt in (*param.opts, *param.secondary_opts):
                table[opt] = (param, not param.is_flag)
    seen: dict[str, tuple[str, str | None]] = {}
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if token == "--":
            return
        if not token.startswith("-") or token == "-":
            if isinstance(command, click.Group):
                # get_command, not the table: the lazy group imports only this command's module
                sub = command.get_command(ctx or click.Context(command), token)
                if sub is not None:  # its own usage line in the message
                    sub_ctx = click.Context(sub, info_name=token, parent=ctx) if ctx else None
                    refuse_repeated(sub, args[i:], sub_ctx)
                return
            continue
        spelled, eq, inline = token.partition("=")
        found = table.get(spelled)
        if found is None:
            continue
        param, takes_value = found
        value: str | None = None
        if takes_value:
            value = inline if eq else (args[i] if i < len(args) else None)
            i += 0 if eq else 1
        key = param.name or spelled
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = (spelled, value)
            continue
        if takes_value and earlier[1] != value:
            raise click.UsageError(f"{spelled} given twice ({earlier[1]!r}, {value!r}): give it once", ctx)
        if not takes_value and earlier[0] != spelled:
            raise click.UsageError(f"{earlier[0]} and {spelled} contradict each other: give one", ctx)
