"""The fuzz suite: no input makes zorgkas fail (exit 3), print a traceback or write half.

Hypothesis generates command lines over every command and flag (hostile values: other
scripts' digits, NUL, lone surrogates as Python makes them of undecodable argv bytes,
huge strings, odd dates), hostile and byte-mutated event files, and feeds the same
values to the command line and to ``import``, which must agree. Every refused command
or import is checked to have written nothing (events counted before and after).

The seed is fixed (``derandomize``) so CI is reproducible; the budget is small by
default and larger when ``ZORGKAS_FUZZ_EXAMPLES`` is set (the benchmark runs 5000).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.population import generate
from commands.cli import cli
from ledger.identity import make_ogm
from tests.conftest import Clerk, make_insz

EXAMPLES = int(os.environ.get("ZORGKAS_FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(
    max_examples=EXAMPLES or 150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

A = make_insz(date(1990, 2, 2), 51)
B = make_insz(date(1980, 5, 5), 53)
NOT_FUZZED = {"serve-report"}  # starts a web server; its one value (--port) is a PORT type


def _count(store: str) -> int:
    conn = sqlite3.connect(store)
    try:
        return conn.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    finally:
        conn.close()


def _assert_sound(result: Any, before: int, store: str, what: object) -> None:
    """The three promises: no exit 3, no traceback, nothing written when refused."""
    output = result.output
    assert result.exit_code in (0, 1, 2), (what, result.exit_code, output)
    assert "Traceback" not in output and "error: " not in output, (what, output)
    if result.exit_code != 0:
        assert output.strip(), (what, "a refusal without a message")
        assert _count(store) == before, (what, "a refused command wrote events")


# -- hostile values ----------------------------------------------------------------------

SPECIALS = [
    "", " ", "\n", "-", "--", "²", "٢٠٢٥", "２０２５", "٦٤", "۱۲", "2024W101", "2024-W10-1", "20240101",
    "2024-001", "2024-02-30", "0001-01-01", "9999-12-31", "2024-1-1", " 2024-01-01", "2024-01-01\n",
    "2024-01-01T25:00:00", "1e309", "NaN", "-0", "64,001", "-5", "0", "0,00", "99999999999999999999",
    "+++000/0000/00000+++", "+++090/9337/55493+++", "12345678901", "98.01.01-103.89", "98010110389\n",
    "９８０１０１１０３８９", "b\x00", "é€😀", "\u202e", "\ufeff2024", ":memory:", "x" * 5000,
    b"\xff\xfe".decode("utf-8", "surrogateescape"), "\ud800", "%s%n", "'; DROP TABLE stored_events; --",
]  # fmt: skip
hostile = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(max_size=30),
    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.dates().map(lambda d: d.isoformat()),
)


def _valid(param: click.Parameter, files: dict[str, str]) -> st.SearchStrategy[str]:
    """A plausible value for ``param`` (a valid one most of the time)."""
    kind = param.type
    name = getattr(kind, "name", "")
    if isinstance(kind, click.Choice):
        return st.sampled_from(list(kind.choices))
    table: dict[str, list[str]] = {
        "DATE": ["2024-01-01", "2025-10-20", "2026-11-23", "2020-02-29"],
        "DATETIME": ["2026-11-23T12:00:00", "2025-01-01", "2026-01-01T00:00:00Z"],
        "INSZ": [A, B],
        "FUND": ["CM", "VZK", "som"],
        "HEALTH_FUND": ["CM", "NONE"],
        "EUR": ["64", "64,00", "0,01", "135"],
        "OGM": [make_ogm(A, 2024), ""],
        "YEAR": ["2024", "2025", "2026"],
        "TEXT": ["BANK-1", "een reden", "Zoë"],
        "PORT": ["8001"],
        "uuid": [str(uuid.UUID(int=7)), str(uuid.uuid5(uuid.NAMESPACE_DNS, "x"))],
        "file": [files["good"], files["bad"], files["missing"]],
        "text": ["an.peeters", "Zoë d'Hondt"],
    }
    return st.sampled_from(table.get(name, table["text"]))


def _commands() -> list[tuple[list[str], click.Command]]:
    found: list[tuple[list[str], click.Command]] = []
    for name, cmd in sorted(cli.commands.items()):
        if name in NOT_FUZZED:
            continue
        if isinstance(cmd, click.Group):
            found += [([name, sub], c) for sub, c in sorted(cmd.commands.items())]
        else:
            found.append(([name], cmd))
    return found


COMMANDS = _commands()


@st.composite
def command_lines(draw: Callable[..., Any], files: dict[str, str]) -> list[str]:
    """A command line over any command, its arguments and a random subset of its flags.

    Two in five lines carry only plausible values (they reach the rules and the store);
    in the others each value is hostile one time in three.
    """
    path, cmd = draw(st.sampled_from(COMMANDS))
    clean = draw(st.integers(0, 4)) < 2

    def value(param: click.Parameter) -> str:
        if not clean and draw(st.integers(0, 2)) == 0:
            return draw(hostile)
        return draw(_valid(param, files))

    args = list(path)
    for param in cmd.params:
        if param.name in ("store_url", "help"):
            continue  # the store is fixed here; store paths and URLs have their own test
        if isinstance(param, click.Argument):
            if path == ["export"]:  # writes: only into the scratch folder
                args.append(draw(st.sampled_from([files["out"], "out.jsonl", "", "."])))
            else:
                args.append(value(param))
            continue
        assert isinstance(param, click.Option)
        wanted = draw(st.integers(0, 9)) > 0 if param.required else draw(st.booleans())
        if not wanted:
            continue
        spellings = [*param.opts, *param.secondary_opts]
        if param.is_flag:
            args.append(draw(st.sampled_from(spellings)))
            if draw(st.integers(0, 9)) == 0:  # now and then a contradiction
                args.append(draw(st.sampled_from(spellings)))
            continue
        if param.name == "target":  # report --to: a scratch reporting file (odd targets: its own test)
            args += [spellings[0], files["report"]]
            continue
        args += [spellings[0], value(param)]
    return args


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Clerk, dict[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    clerk = Clerk(str(folder / "store.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    clerk.register(B, "1980-05-05", "brussels", "SOM", "2020-01-01")
    clerk("pay", A, "--amount", "62", "--on", "2024-03-02", "--bank-ref", "BANK-1")
    good, bad = folder / "good.jsonl", folder / "bad.jsonl"
    good.write_bytes(b"".join(generate(3, 2, seed=3)))
    bad.write_bytes(b'{"type": "Registered", "insz": 12}\n')
    files = {"good": str(good), "bad": str(bad), "missing": str(folder / "nope.jsonl")}
    files["report"] = str(folder / "report.sqlite")
    files["out"] = str(folder / "out.jsonl")
    files["folder"] = str(folder)
    return clerk, files


TRIED: dict[str, int] = {}


@FUZZ
@given(data=st.data())
def test_no_command_line_crashes_or_writes_half(fuzz_store: tuple[Clerk, dict[str, str]], data: Any) -> None:
    clerk, files = fuzz_store
    args = data.draw(command_lines(files))
    before = _count(clerk.store)
    cwd = os.getcwd()
    os.chdir(files["folder"])  # relative paths land in the scratch folder
    try:
        result = clerk(*args, expect=None)
    finally:
        os.chdir(cwd)
    TRIED["command lines"] = TRIED.get("command lines", 0) + 1
    _assert_sound(result, before, clerk.store, args)


# -- event files -----------------------------------------------------------------------


def _base_lines() -> list[bytes]:
    return list(generate(4, 3, seed=11))


BASE = _base_lines()
line_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(SPECIALS),
    st.lists(st.integers(min_value=-5, max_value=100000), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.text(max_size=12), line_values),
    st.tuples(st.just("repeat-key"), st.integers(0, 10**6), line_values),
    st.tuples(st.just("duplicate-line"), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("swap-lines"), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("drop-id"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("deep"), st.integers(0, 10**6), st.integers(10, 3000)),
)


def _apply(lines: list[bytes], m: tuple[Any, ...]) -> list[bytes]:
    lines = list(lines)
    n = m[1] % len(lines)
    kind = m[0]
    if kind in ("flip", "insert", "delete"):
        blob = bytearray(b"".join(lines))
        at = m[1] % len(blob)
        if kind == "flip":
            blob[at] ^= m[2]
        elif kind == "insert":
            blob[at:at] = m[2]
        else:
            del blob[at : at + m[2]]
        return bytes(blob).splitlines(keepends=True)
    if kind == "duplicate-line":
        lines.insert(m[2] % len(lines), lines[n])
        return lines
    if kind == "swap-lines":
        k = m[2] % len(lines)
        lines[n], lines[k] = lines[k], lines[n]
        return lines
    try:
        raw = json.loads(lines[n])
    except (ValueError, RecursionError):
        return lines  # an earlier mutation broke this line already
    if not isinstance(raw, dict) or not raw:
        return lines
    if kind == "set":
        keys = [*raw, m[2]]
        raw[keys[len(m[2]) % len(keys)]] = m[3]
        text = json.dumps(raw)
    elif kind == "repeat-key":
        key = list(raw)[m[1] % len(raw)]
        text = json.dumps(raw)[:-1] + f", {json.dumps(key)}: {json.dumps(m[2])}}}"
    elif kind == "drop-id":
        raw.pop("id", None)
        text = json.dumps(raw)
    else:  # deep
        text = json.dumps(raw)[:-1] + ', "premium_years": ' + "[" * m[2] + "]" * m[2] + "}"
    lines[n] = text.encode("utf-8", "surrogatepass") + b"\n"
    return lines


@FUZZ
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_no_event_file_crashes_or_writes_half(
    tmp_path_factory: pytest.TempPathFactory, mutations: list[tuple[Any, ...]]
) -> None:
    lines = BASE
    for m in mutations:
        lines = _apply(lines, m) or [b"\n"]
    folder = tmp_path_factory.mktemp("files")
    path = folder / "in.jsonl"
    path.write_bytes(b"".join(lines))
    clerk = Clerk(str(folder / "store.sqlite"))
    clerk("demo", expect=0)  # a store that already holds members: the import meets them
    before = _count(clerk.store)
    result = clerk("import", str(path), expect=None)
    TRIED["event files"] = TRIED.get("event files", 0) + 1
    _assert_sound(result, before, clerk.store, mutations)
    if result.exit_code == 0:
        assert "intact" in clerk("verify").output
    else:
        assert "line" in result.output or "FILE" in result.output, result.output


# -- the same values through the command line and through import -------------------------

texts = st.one_of(st.sampled_from(SPECIALS), st.text(max_size=12), st.just("x" * 101))
days = st.one_of(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 11, 23)).map(date.isoformat),
    st.sampled_from(SPECIALS),
    st.dates().map(date.isoformat),
)
cents = st.one_of(st.integers(min_value=-100, max_value=10**6), st.sampled_from([0, 10**11 - 1, 10**11]))
ogms = st.one_of(
    st.sampled_from(
        [
            "",
            make_ogm(A, 2024),
            "+++"
            + make_ogm(A, 2025)[:3]
            + "/"
            + make_ogm(A, 2025)[3:7]
            + "/"
            + make_ogm(A, 2025)[7:]
            + "+++",
            "123456789012",
        ]
    ),  # fmt: skip
    texts,
)
inszs = st.sampled_from([A, f"{A[:2]}.{A[2:4]}.{A[4:6]}-{A[6:9]}.{A[9:]}", A + "\n", A[:10], "٢" + A[1:]])


def _euro(c: int) -> str:
    return f"-{abs(c) // 100}.{abs(c) % 100:02d}" if c < 0 else f"{c // 100}.{c % 100:02d}"


@settings(FUZZ, max_examples=(EXAMPLES or 60))
@given(insz=inszs, clerk_name=texts, on=days, amount=cents, ogm=ogms, bank_ref=st.none() | texts)
def test_the_command_line_and_import_give_the_same_verdict(
    tmp_path_factory: pytest.TempPathFactory,
    insz: str,
    clerk_name: str,
    on: str,
    amount: int,
    ogm: str,
    bank_ref: str | None,
) -> None:
    folder = tmp_path_factory.mktemp("verdict")
    by_cli = Clerk(str(folder / "cli.sqlite"))
    reg = ["register", insz, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM"]
    by_cli("--clerk", clerk_name, *reg, "--on", "2020-01-01", expect=None)
    pay = ["pay", insz, "--amount", _euro(amount), "--on", on, "--ogm", ogm]
    pay += ["--bank-ref", bank_ref] if bank_ref is not None else []
    cli_verdict = by_cli("--clerk", clerk_name, *pay, expect=None).exit_code

    common = {"insz": insz, "clerk": clerk_name, "recorded_at": "2020-01-01T09:00:00"}
    registered = {"type": "Registered", **common, "on": "2020-01-01", "born": "1990-02-02",
                  "region": "flanders", "health_fund": "CM"}  # fmt: skip
    paid = {
        "type": "PremiumPaid",
        **common,
        "on": on,
        "amount_cents": amount,
        "ogm": ogm,
        "bank_ref": bank_ref,
    }
    path = folder / "in.jsonl"
    path.write_text(json.dumps(registered) + "\n" + json.dumps(paid) + "\n", encoding="utf-8")
    by_import = Clerk(str(folder / "import.sqlite"))
    import_verdict = by_import("import", str(path), expect=None).exit_code
    assert cli_verdict == import_verdict, (insz, clerk_name, on, amount, ogm, bank_ref)


codes = st.one_of(st.sampled_from(["CM", "VZK", "SOM", "NZV", "cm", "vzk", "", "XX", "NONE", "ＣＭ"]), texts)


@settings(FUZZ, max_examples=(EXAMPLES or 40))
@given(health=st.sampled_from(["CM", "SOM", "NONE", "cm", "oz"]), fund=codes)
def test_an_affiliation_gets_the_same_verdict_R_FUND_1(
    tmp_path_factory: pytest.TempPathFactory, health: str, fund: str
) -> None:
    """A fund code (R-FUND-1: one's own health fund's care fund or the Vlaamse Zorgkas)
    is accepted, refused by the rule (exit 1) or bad input (exit 2) alike."""
    folder = tmp_path_factory.mktemp("fund")
    by_cli = Clerk(str(folder / "cli.sqlite"))
    by_cli("register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", health,
           "--on", "2020-01-01", expect=None)  # fmt: skip
    cli_verdict = by_cli("affiliate", A, "--fund", fund, "--on", "2024-02-01", expect=None).exit_code
    common = {"insz": A, "clerk": "c", "recorded_at": "2024-02-01T09:00:00"}
    lines = [
        {"type": "Registered", **common, "on": "2020-01-01", "born": "1990-02-02", "region": "flanders",
         "health_fund": health},
        {"type": "Affiliated", **common, "on": "2024-02-01", "fund": fund, "kind": "compulsory",
         "since": "2024-01-01"},
    ]  # fmt: skip
    path = folder / "in.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    import_verdict = Clerk(str(folder / "import.sqlite"))("import", str(path), expect=None).exit_code
    assert cli_verdict == import_verdict, (health, fund)


# -- what export writes, import reads back -------------------------------------------------

printable = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Cf")), min_size=1, max_size=30
).filter(str.strip)


@settings(FUZZ, max_examples=(EXAMPLES or 25) // 1)
@given(clerk_name=printable, bank_ref=printable, reason=printable, evidence=st.just("") | printable)
def test_anything_export_writes_import_reads_back(
    tmp_path_factory: pytest.TempPathFactory, clerk_name: str, bank_ref: str, reason: str, evidence: str
) -> None:
    folder = tmp_path_factory.mktemp("roundtrip")
    clerk = Clerk(str(folder / "a.sqlite"))
    c = ("--clerk", clerk_name)
    clerk(*c, "register", A, "--born", "1990-02-02", "--region", "flanders", "--health-fund", "CM",
          "--on", "2020-01-01")  # fmt: skip
    clerk(*c, "pay", A, "--amount", "50", "--on", "2024-03-02", "--bank-ref", bank_ref)
    clerk(*c, "reverse-payment", A, "--bank-ref", bank_ref, "--on", "2024-04-02", "--reason", reason)
    clerk(*c, "exempt", A, "--reason", "bankruptcy", "--from", "2025-01-01", "--evidence", evidence)
    history = json.loads(clerk("history", A, "--json").output)
    clerk(*c, "retract", A, "--event", history[-1]["id"], "--reason", reason)
    clerk("export", str(folder / "out.jsonl"))
    fresh = Clerk(str(folder / "b.sqlite"))
    fresh("import", str(folder / "out.jsonl"))
    assert fresh("history", A, "--json").output == clerk("history", A, "--json").output
    assert fresh("status", A, "--json").output == clerk("status", A, "--json").output
    again = fresh("import", str(folder / "out.jsonl"), expect=2)  # a file read twice
    assert "already in the store" in again.output


# -- store paths and URLs (opening the store: its own module) ---------------------------

stores = st.one_of(
    st.sampled_from(
        [
            ":memory:",
            "x" * 5000,
            "postgresql://host:99999/x",
            "postgresql://",
            "/dev/null",
            "/proc/zorgkas.sqlite",
            "/",
            "",
            "file::memory:?cache=shared",
            "postgresql://[::1",
        ]
    ),  # fmt: skip
    st.text(max_size=40),
)


@settings(FUZZ, max_examples=(EXAMPLES or 20))
@given(store=stores)
def test_no_store_path_or_url_crashes(tmp_path_factory: pytest.TempPathFactory, store: str) -> None:
    folder = tmp_path_factory.mktemp("stores")
    cwd = os.getcwd()
    os.chdir(folder)  # a relative path lands in a scratch folder
    try:
        if "\x00" in store:  # no environment variable carries NUL: it can come only as an argument
            result = Clerk(str(folder / "unused.sqlite"))("--store", store, "status", A, expect=None)
        else:
            result = Clerk(store)("status", A, expect=None)
    finally:
        os.chdir(cwd)
    assert result.exit_code in (1, 2, 4), (store, result.output)
    assert "Traceback" not in result.output


def test_fuzz_tried_report(request: pytest.FixtureRequest) -> None:
    print(f"fuzz inputs tried: {TRIED}")


def test_every_command_is_fuzzed() -> None:
    names = {" ".join(p) for p, _c in COMMANDS}
    assert {"pay", "register", "import", "run letters", "status", "retract"} <= names
    assert all(Path(__file__).exists() for _ in names)
