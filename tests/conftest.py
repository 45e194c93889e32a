"""Shared fixtures: valid INSZ numbers, and a clerk driving the CLI on SQLite and PostgreSQL.

Store-level and CLI tests take the ``store_url`` fixture, parametrized over the embedded
SQLite store and, when ``ZORGKAS_TEST_POSTGRES`` is set, the PostgreSQL store.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner, Result

from commands.cli import cli

PG_ENV = "ZORGKAS_TEST_POSTGRES"


def make_insz(born: date, seq: int = 1) -> str:
    """A valid national register number for ``born`` (odd sequence: a man, even: a woman)."""
    base = f"{born:%y%m%d}{seq:03d}"
    prefix = "2" if born.year >= 2000 else ""
    check = 97 - int(prefix + base) % 97
    return f"{base}{check:02d}"


@pytest.fixture(autouse=True, scope="session")
def _seal_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests seal with a key of their own, never the one in the home folder."""
    os.environ["ZORGKAS_SEAL_KEY_FILE"] = str(tmp_path_factory.mktemp("seal") / "seal.key")


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS zorgkas_events")
        conn.execute("DROP TABLE IF EXISTS zorgkas_events_meta")
        conn.execute("DROP SCHEMA IF EXISTS zorgkas_reporting CASCADE")


def store_params() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    params.append(
        pytest.param(
            "postgres",
            id="postgres",
            marks=pytest.mark.skipif(
                not os.environ.get(PG_ENV),
                reason=f"{PG_ENV} is not set: no PostgreSQL server to test against",
            ),
        )
    )
    return params


@pytest.fixture(params=["1", "2"], ids=["sequential", "pipelined"])
def import_workers(request: pytest.FixtureRequest) -> str:
    """``import --workers``: 1 is the sequential import, 2 the pipeline of worker processes
    (``ledger/pipeline.py``), forced whatever the file's size."""
    return str(request.param)


@pytest.fixture(params=store_params())
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "zorgkas.sqlite")
        return
    url = os.environ[PG_ENV]
    _reset_postgres(url)
    yield url
    _reset_postgres(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A clean PostgreSQL store, for tests that are about PostgreSQL itself."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against")
    _reset_postgres(url)
    yield url
    _reset_postgres(url)


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return str(tmp_path / "zorgkas.sqlite")


class Clerk:
    """Drives ``zorgkas`` exactly as a script would: arguments, environment, exit codes."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.runner = CliRunner()
        self.today = "2026-11-23"
        self.now: str | None = None
        self.import_workers: str | None = None  # given to every ``import`` as ``--workers``

    def __call__(
        self, *args: str, today: str | None = None, now: str | None = None, expect: int | None = 0
    ) -> Result:
        if args and args[0] == "import" and self.import_workers is not None:
            args = ("import", "--workers", self.import_workers, *args[1:])
        env = {
            "ZORGKAS_STORE": self.store,
            "ZORGKAS_CLERK": "test-clerk",
            "ZORGKAS_TODAY": today or self.today,
        }
        if now or self.now:
            env["ZORGKAS_NOW"] = now or self.now  # type: ignore[assignment]
        result = self.runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"zorgkas {' '.join(map(str, args))} -> {result.exit_code}\n{result.output}"
            )
        return result

    def status(self, insz: str, *extra: str, today: str | None = None) -> dict[str, Any]:
        return json.loads(self("status", insz, "--json", *extra, today=today).output)

    def register(
        self,
        insz: str,
        born: str,
        region: str = "flanders",
        fund: str = "CM",
        on: str | None = None,
        *extra: str,
    ) -> None:
        day = on or self.today
        self(
            "register",
            insz,
            "--born",
            born,
            "--region",
            region,
            "--health-fund",
            fund,
            "--on",
            day,
            *extra,
            today=day,
        )


@pytest.fixture
def clerk(store_url: str) -> Clerk:
    return Clerk(store_url)


@pytest.fixture
def sqlite_clerk(sqlite_url: str) -> Clerk:
    return Clerk(sqlite_url)


def invite(clerk: Clerk, *years: int, on: str | None = None) -> None:
    """The yearly invitation run for each year (R-PREM-9: only a claimed premium is owed),
    on 15 January of that year unless ``on`` is given."""
    for year in years:
        day = on or f"{year}-01-15"
        clerk("run", "invitations", "--year", str(year), "--on", day, today=max(day, clerk.today))


def on_a_terminal(
    args: list[str], store: str, today: str = "2025-03-01", stdout_too: bool = False
) -> tuple[str, str]:
    """(stdout, what the terminal showed) of one ``zorgkas`` process whose stderr (and
    stdout, with ``stdout_too``) is a pseudo-terminal, as a clerk's screen is."""
    main, child = pty.openpty()
    env = {**os.environ, "ZORGKAS_STORE": store, "ZORGKAS_TODAY": today, "COLUMNS": "150"}
    env.pop("ZORGKAS_PROGRESS", None)
    cmd = [sys.executable, "-m", "commands.cli", *args]
    out = child if stdout_too else subprocess.PIPE
    proc = subprocess.run(cmd, stdout=out, stderr=child, env=env, timeout=120, check=False)
    os.close(child)
    shown = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(main, 4096):
            shown += chunk
    os.close(main)
    assert proc.returncode == 0, shown
    return (proc.stdout or b"").decode(), shown.decode()
