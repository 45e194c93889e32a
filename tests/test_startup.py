"""A clerk's command imports only what it uses: its own module, not the whole command line.

The command line loads a command's module when that command runs
(``commands/cli.py``); reporting, Datasette, rich, PostgreSQL's driver and the test
tools stay out of a clerk's ``status`` or ``pay`` on an SQLite store.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from commands import cli as command_line
from tests.conftest import make_insz

ROOT = Path(__file__).resolve().parent.parent
INSZ = make_insz(date(1998, 1, 1), 103)

# Runs one command in a fresh interpreter and prints the modules it imported.
PROBE = """
import json, sys
from commands.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="zorgkas", standalone_mode=False)
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

NEVER_FOR_A_CLERK = (
    "projections.report",  # reporting, report_rows, report_schema, report_targets, report_worker
    "projections.datasette",
    "projections.dossier",
    "commands.workers",
    "ledger.bulk",
    "ledger.recorders_postgres",
    "datasette",
    "sqlite_utils",
    "rich",
    "psycopg",
    "cryptography",
    "hypothesis",
    "pytest",
    # python-stdnum brings ssl and pydoc: only a refused INSZ or an OGM needs it
    "stdnum",
    "ssl",
    "pydoc",
    "socket",
    "email",
    "http",
    # a file written (tempfile, shutil, the compressors), a packaged file read through
    # importlib.resources (zipfile), the account name (getpass: termios)
    "tempfile",
    "shutil",
    "zipfile",
    "importlib.resources",
    "getpass",
    "termios",
    # the rules of other commands and of the yearly runs (ledger.member imports them where
    # they apply)
    "ledger.rules.cancellation",
    "ledger.rules.letters",
    "ledger.rules.fines",
    "ledger.rules.switching",
)

# Not for a question either: pathlib (with fnmatch, urllib.parse and ipaddress) comes with
# the seal key's path, which only a command that writes reads.
NEVER_FOR_A_QUESTION = ("pathlib", "fnmatch", "urllib", "ipaddress")

# What ``pay`` does not evaluate: the eligibility for a budget, the joining window, the
# direct debit (``status`` does: it shows them).
NEVER_FOR_A_PAYMENT = ("ledger.rules.eligibility", "ledger.rules.joining", "ledger.rules.direct_debit")


def imported_by(store: str, *argv: str) -> set[str]:
    env = {**os.environ, "ZORGKAS_TODAY": "2024-06-01", "ZORGKAS_CLERK": "an.peeters"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "--store", store, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


def test_every_command_is_registered_where_it_is_defined() -> None:
    """The lazy table names the module of every command each module defines."""
    defined = {name: module for module in command_line.MODULES for name in command_line.commands_of(module)}
    missing = {name: module for name, module in defined.items() if command_line.WHERE.get(name) != module}
    assert not missing, f"add these to WHERE in commands/cli.py (name: module): {missing}"
    assert set(command_line.WHERE) <= set(defined), "WHERE names a command no module defines"


def test_listing_the_commands_loads_them_all() -> None:
    names = set(command_line.cli.commands)
    assert {"register", "pay", "status", "report", "run", "demo", "import"} <= names
    assert command_line.cli.commands["run"].name == "run"


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = str(tmp_path / "zorgkas.sqlite")
    register = [
        "register",
        INSZ,
        "--born",
        "1998-01-01",
        "--region",
        "flanders",
        "--health-fund",
        "CM",
        "--resident-since",
        "1998-01-01",
        "--on",
        "2024-01-02",
    ]
    imported_by(url, *register)
    return url


def test_status_imports_only_the_questions_module(store: str) -> None:
    modules = imported_by(store, "status", INSZ, "--json")
    assert "commands.questions" in modules
    assert not {"commands.facts", "commands.data", "commands.runs", "commands.demo"} & modules
    assert not [m for m in modules if m.startswith(NEVER_FOR_A_CLERK + NEVER_FOR_A_QUESTION)]
    # status --json words nothing: the timeline and the explanation stay unloaded
    assert not {"projections.timeline", "projections.explain"} & modules


def test_status_in_words_loads_the_timeline_only_then(store: str) -> None:
    modules = imported_by(store, "status", INSZ)
    assert "projections.timeline" in modules
    assert not [m for m in modules if m.startswith(NEVER_FOR_A_CLERK)]


def test_pay_imports_only_the_facts_module(store: str) -> None:
    modules = imported_by(store, "pay", INSZ, "--amount", "62,00", "--on", "2024-03-02")
    assert "commands.facts" in modules
    assert not {"commands.questions", "commands.data", "commands.runs", "commands.demo"} & modules
    assert not [m for m in modules if m.startswith(NEVER_FOR_A_CLERK + NEVER_FOR_A_PAYMENT)]


def test_python_itself_starts_without_an_import_finder() -> None:
    """The editable install is a plain path (``package-dir`` in pyproject.toml), not
    setuptools' finder, which every Python process of the environment would import at
    start-up (pathlib, fnmatch, urllib.parse: about half of a bare interpreter's start)."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
        cwd=ROOT.parent,  # not the checkout: only what site itself loads
        capture_output=True,
        text=True,
        check=True,
    )
    finders = [m for m in out.stdout.split() if m.startswith("__editable__")]
    assert not finders, (
        f"{finders} loaded at start-up: install zorgkas again with `pip install -e '.[test]'` "
        "(pyproject.toml's package-dir makes it a plain .pth path)"
    )


def test_a_command_leaves_fast_with_its_output_and_exit_code(store: str) -> None:
    """``main`` ends the process without the interpreter's teardown: the output is whole,
    the exit code the command's; an ``atexit`` callback still runs (the normal exit)."""
    env = {**os.environ, "ZORGKAS_TODAY": "2024-06-01", "ZORGKAS_CLERK": "an.peeters"}

    def command(*argv: str, python: tuple[str, ...] = ("-m", "commands.cli")) -> Any:
        line = (sys.executable, *python, "--store", store, *argv)
        return subprocess.run(line, cwd=ROOT, env=env, capture_output=True, text=True)

    done = command("status", INSZ, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["insz"] == INSZ
    bad = command("status", "12345678901", "--json")
    assert bad.returncode == 2 and json.loads(bad.stderr)["error"] == "bad_input"
    refused = command("switch", INSZ, "--to", "CM", "--requested-on", "2024-03-02")
    assert refused.returncode == 1 and refused.stderr.startswith("refused: R-")
    with_callback = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran', file=sys.stderr))\n"
        "from commands.cli import main\n"
        "main()\n"
    )
    called = command("status", INSZ, "--json", python=("-c", with_callback))
    assert called.returncode == 0 and json.loads(called.stdout)["insz"] == INSZ
    assert "atexit ran" in called.stderr


def test_the_sqlite_uri_is_quoted_as_urllib_quotes_it() -> None:
    """``recorders.quote`` (no urllib.parse on a clerk's path) gives urllib's text."""
    from urllib.parse import quote as urllib_quote

    from ledger.recorders import quote

    rnd = random.Random(2026)
    alphabet = "aZ09_.-~/ %?#&=+:;@!$'()*,[]\\\"<>^`{|}é€😀\x00\x7f\u0301"
    samples = ["", "/tmp/zorgkas.sqlite", "/home/an peeters/store 100%.sqlite", "/x/?mode=rw#y"]
    samples += ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 30))) for _ in range(2000)]
    for text in samples:
        assert quote(text) == urllib_quote(text), text
    for broken in ("\udc80", "a\ud800b"):  # a lone surrogate: both refuse it alike
        with pytest.raises(UnicodeEncodeError):
            urllib_quote(broken)
        with pytest.raises(UnicodeEncodeError):
            quote(broken)


def _numbers(n: int, seed: int) -> list[str]:
    """INSZ-like strings: random digits, and numbers with the check digits of either century
    for every month 00-99 (national register, BIS, and the invalid ones between)."""
    rnd = random.Random(seed)
    out = [f"{rnd.randrange(10**11):011d}" for _ in range(n)]
    for _ in range(n):
        yy, mm, rest = rnd.randrange(100), rnd.randrange(100), rnd.randrange(10**5)
        first9 = f"{yy:02d}{mm:02d}{rest:05d}"
        for prefix in ("", "2"):
            check = 97 - int(prefix + first9) % 97
            out.append(f"{first9}{check:02d}")
    return out + ["00000000000", "00000000097", "00000100128", "00200100128"]


def test_insz_check_without_stdnum_agrees_with_stdnum() -> None:
    """``validation._valid_insz`` (the clerk's fast path) accepts exactly what stdnum does."""
    from stdnum.be import ssn

    from ledger import validation

    differ = [d for d in _numbers(20_000, 13) if validation._valid_insz(d) != ssn.is_valid(d)]
    assert not differ, differ[:10]


def test_ogm_check_digits_are_stdnums() -> None:
    from stdnum.be import ogm_vcs

    from ledger.identity import make_ogm

    for year in (1999, 2024, 2026):
        ogm = make_ogm(INSZ, year)
        assert ogm_vcs.is_valid(ogm) and ogm[:2] == f"{year % 100:02d}"


def test_a_refused_insz_is_worded_by_stdnum() -> None:
    """The fast path only accepts; a refusal still carries python-stdnum's own reason."""
    from stdnum.be import ssn
    from stdnum.exceptions import ValidationError

    from ledger import validation
    from ledger.errors import BadInput

    for bad in ("98010110300", "98130110389", "00000000000", "98.01.01-103.00"):
        digits = bad.replace(".", "").replace("-", "")
        with pytest.raises(ValidationError) as stdnum_says:
            ssn.validate(digits)
        with pytest.raises(BadInput) as ours:
            validation.insz(bad)
        assert ours.value.reason == f"not a valid INSZ number ({stdnum_says.value})"


def test_a_command_with_its_output_closed_exits_as_before(store: str) -> None:
    """Started with standard output closed (``>&-``, as cron may), ``sys.stdout`` is None:
    the fast exit steps aside and the normal exit gives the command's own code."""
    line = f'"{sys.executable}" -m commands.cli --version >&-'
    done = subprocess.run(line, shell=True, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "Traceback" not in done.stderr
