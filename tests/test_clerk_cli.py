"""A CLI that feels finished: progress on a terminal only, `-` for stdin/stdout, safe
exports, JSON errors, help that fits, and help examples that run."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from commands.cli import cli
from tests.conftest import Clerk
from tests.test_clerk_explain import B, _story


def _on_a_terminal(args: list[str], store: str) -> tuple[str, str]:
    """(stdout, what the terminal showed on stderr) of one command run with stderr on a pty."""
    main, child = pty.openpty()
    env = {**os.environ, "ZORGKAS_STORE": store, "ZORGKAS_TODAY": "2025-03-01", "COLUMNS": "150"}
    env.pop("ZORGKAS_PROGRESS", None)
    cmd = [sys.executable, "-m", "commands.cli", *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=child, env=env, timeout=120, check=False)
    os.close(child)
    shown = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(main, 4096):
            shown += chunk
    os.close(main)
    assert proc.returncode == 0, shown
    return proc.stdout.decode(), shown.decode()


def test_export_shows_a_bar_on_a_terminal_and_keeps_stdout_for_the_summary(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _story(sqlite_clerk)
    out, shown = _on_a_terminal(["export", str(tmp_path / "all.jsonl")], sqlite_clerk.store)
    assert out == f"exported 13 events to {tmp_path / 'all.jsonl'}\n"
    assert "export" in shown and "13/13" in shown and "events" in shown and "left" in shown


def test_a_yearly_run_bar_counts_events_and_members(sqlite_clerk: Clerk) -> None:
    _story(sqlite_clerk)
    out, shown = _on_a_terminal(
        ["run", "letters", "--year", "2025", "--on", "2025-03-01"], sqlite_clerk.store
    )
    assert out == "letters 2025 on 2025-03-01: 0 members touched, 0 events written (R-LET-1)\n"
    assert "13/13" in shown and "· 1 member" in shown


def test_without_a_terminal_long_commands_print_only_their_summary(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _story(sqlite_clerk)
    result = sqlite_clerk("export", str(tmp_path / "all.jsonl"))
    assert result.output == f"exported 13 events to {tmp_path / 'all.jsonl'}\n"


def test_export_to_stdout_and_import_from_stdin(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    _story(sqlite_clerk)
    runner = CliRunner()
    env = {"ZORGKAS_STORE": sqlite_clerk.store, "ZORGKAS_TODAY": "2025-03-01"}
    exported = runner.invoke(cli, ["export", "-"], env=env)
    assert exported.exit_code == 0 and exported.stderr == "exported 13 events to standard output\n"
    lines = exported.stdout.splitlines()
    assert len(lines) == 13 and json.loads(lines[0])["type"] == "Registered"
    fresh = str(tmp_path / "fresh.sqlite")
    imported = runner.invoke(cli, ["import", "-"], input=exported.stdout, env={**env, "ZORGKAS_STORE": fresh})
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == "imported 13 events for 1 member from standard input\n"
    again = Clerk(fresh)
    again.today = "2025-03-01"
    assert again.status(B, "--as-of", "2024-12-31") == sqlite_clerk.status(B, "--as-of", "2024-12-31")
    assert not (Path.cwd() / "-").exists()


def test_export_refuses_to_overwrite_without_force_and_writes_0600(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _story(sqlite_clerk)
    target = tmp_path / "backup.jsonl"
    target.write_text("keep me\n")
    result = sqlite_clerk("export", str(target), expect=2)
    assert "already exists: add --force to replace it" in result.output
    assert target.read_text() == "keep me\n"
    sqlite_clerk("export", str(target), "--force")
    assert len(target.read_text().splitlines()) == 13
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_export_never_writes_onto_the_store_itself(sqlite_clerk: Clerk) -> None:
    _story(sqlite_clerk)
    before = Path(sqlite_clerk.store).read_bytes()
    for args in (["export", sqlite_clerk.store], ["export", sqlite_clerk.store, "--force"]):
        result = sqlite_clerk(*args, expect=2)
        assert "is the event store itself" in result.output
    assert Path(sqlite_clerk.store).read_bytes() == before
    assert "intact" in sqlite_clerk("verify").output
