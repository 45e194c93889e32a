"""A CLI that feels finished: progress on a terminal only, `-` for stdin/stdout, safe
exports, JSON errors, help that fits, and help examples that run."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commands.cli import cli
from tests.conftest import Clerk, on_a_terminal
from tests.test_clerk_explain import B, _story


def test_export_shows_a_bar_on_a_terminal_and_keeps_stdout_for_the_summary(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _story(sqlite_clerk)
    out, shown = on_a_terminal(["export", str(tmp_path / "all.jsonl")], sqlite_clerk.store)
    assert out == f"exported 13 events to {tmp_path / 'all.jsonl'}\n"
    assert "export" in shown and "13/13" in shown and "events" in shown and "left" in shown


def test_a_yearly_run_bar_counts_events_and_members(sqlite_clerk: Clerk) -> None:
    _story(sqlite_clerk)
    out, shown = on_a_terminal(["run", "letters", "--year", "2025", "--on", "2025-03-01"], sqlite_clerk.store)
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


def _commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
        else:
            found.append((prefix + name, command))
    return found


def _examples(help_text: str) -> list[list[str]]:
    """Every `zorgkas …` command line of a help text, continuation lines joined."""
    text = help_text.replace("\\\n", " ").split("Example", 1)[-1] if "Example" in help_text else ""
    found = []
    for line in text.splitlines():
        for part in line.split("&&"):
            words = shlex.split(part.strip()) if "zorgkas " in part else []
            while words and "=" in words[0] and not words[0].startswith("-"):
                words.pop(0)  # ZORGKAS_TODAY=… before the command
            if words and words[0] == "zorgkas":
                found.append(words[1:])
    return found


def _parse(words: list[str]) -> click.Context:
    """Parse a command line as zorgkas would, converting every value by its parameter type."""
    group: click.Group = cli
    while isinstance(group.commands.get(words[0]), click.Group):
        group = group.commands[words[0]]  # type: ignore[assignment]
        words = words[1:]
    return group.commands[words[0]].make_context(words[0], words[1:])


def test_every_help_example_runs_through_the_parameter_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reporting.sqlite").touch()  # serve-report's example opens a report made just before
    seen = 0
    for name, command in [("zorgkas", cli), *_commands()]:
        examples = _examples(command.help or "")
        assert examples, f"{name} has no example"
        for words in examples:
            ctx = _parse(words)  # a bad INSZ, OGM, date or amount raises BadParameter here
            assert ctx.params, words
            seen += 1
    assert seen >= len(_commands())


def test_the_parameter_types_reject_what_a_bad_example_would_hold() -> None:
    with pytest.raises(click.BadParameter):
        _parse(["status", "98010112345"])  # wrong check digits
    with pytest.raises(click.BadParameter):
        _parse(["pay", "98010110389", "--amount", "5", "--on", "2024-01-01", "--ogm", "+++123/4567/89012+++"])


def test_every_option_has_help_and_every_summary_fits() -> None:
    for name, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"zorgkas {name} {param.opts[0]} has no help"
    for name, _command in _commands():
        listing = CliRunner().invoke(cli, [*name.split(), "--help"], terminal_width=80).output
        example = listing.split("Example:", 1)[1].split("Options:", 1)[0]
        assert all(len(line) <= 80 for line in example.splitlines()), f"zorgkas {name}: a long example line"
    for args in ([], ["run"]):
        listing = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80).output
        commands = listing.split("Commands:\n", 1)[1].splitlines()
        assert all(len(line) <= 80 and "..." not in line for line in commands), commands
        assert all(line.startswith("  ") and line[2] != " " for line in commands), "a summary wraps"


WRITING = {"register", "correct-registration", "move", "allowance", "affiliate", "pay", "switch", "exempt",
           "budget", "appeal", "death", "reverse-payment", "retract", "direct-debit", "adjust-claim",
           "import", "demo", "init", "checkpoint", "reseal"}  # fmt: skip


def test_clerk_is_offered_only_on_commands_that_write() -> None:
    for name, _command in _commands():
        offered = "--clerk" in CliRunner().invoke(cli, [*name.split(), "--help"]).output
        writes = name in WRITING or name.startswith("run ")
        assert offered == writes, name


def test_clerk_is_still_accepted_on_a_question(sqlite_clerk: Clerk) -> None:
    _story(sqlite_clerk)
    assert sqlite_clerk("status", B, "--clerk", "an.peeters", "--json").output.startswith("{")


def test_with_json_errors_are_one_json_object_on_stderr(sqlite_clerk: Clerk) -> None:
    sqlite_clerk("init")  # a question to a store that does not exist is bad input, not a refusal
    runner = CliRunner()
    env = {"ZORGKAS_STORE": sqlite_clerk.store, "ZORGKAS_TODAY": "2025-03-01"}
    refused = runner.invoke(cli, ["status", B, "--json"], env=env)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert json.loads(refused.stderr) == {
        "error": "refused",
        "rule": "R-OBL-1",
        "message": f"{B} is not registered: record the person with `zorgkas register` first",
    }
    bad = runner.invoke(cli, ["status", "12345678901", "--json"], env=env)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["error"] == "bad_input"
    assert "INSZ" in json.loads(bad.stderr)["message"]
    text = runner.invoke(cli, ["status", B], env=env)
    assert text.exit_code == 1 and text.stderr.startswith("refused: R-OBL-1: ")


def test_a_question_about_a_moment_before_the_registration_says_so(clerk: Clerk) -> None:
    """An auditor asking what the fund knew before the person was recorded is not told to register."""
    clerk.register(B, "1985-06-15", "flanders", "CM", "2022-01-03")
    out = clerk("status", B, "--known-on", "2020-01-01T00:00:00", expect=1).output
    assert "R-OBL-1" in out and "was not registered as known on 2020-01-01T00:00:00" in out
    assert "zorgkas register" not in out


def test_demo_prints_a_readable_table_in_euro(sqlite_clerk: Clerk) -> None:
    out = sqlite_clerk("demo").output
    lines = out.splitlines()
    assert lines[0].startswith("loaded ") and lines[0].endswith(f" members into {sqlite_clerk.store}")
    assert lines[1].startswith(f"Sample members on {sqlite_clerk.today}")
    assert "Premiums due" in out and "€ " in out and "{" not in out and "_cents" not in out
    row = next(line for line in lines if "85061510214" in line)
    assert "CM (compulsory)" in row and "€ " in row
    again = sqlite_clerk("demo", "--json").output.splitlines()
    rows = [json.loads(line) for line in again[1:]]
    assert len(rows) == 6 and {"insz", "arrears", "credit_cents"} <= set(rows[0])


def test_demo_on_an_earlier_clock_shows_the_samples_as_known_that_day(sqlite_clerk: Clerk) -> None:
    # The samples run into 2026; on 1 June 2025 the later ones are left out, not refused.
    first = sqlite_clerk("demo", "--json", today="2025-06-01").output.splitlines()[0]
    assert first.startswith("loaded ") and first.endswith("sample events dated after today left out)")
    rows = [
        json.loads(line)
        for line in sqlite_clerk("demo", "--json", today="2025-06-01").output.splitlines()[1:]
    ]
    assert len(rows) == 6 and all(r["as_of"] == "2025-06-01" for r in rows)
    # Nothing recorded after that day: the store's last event is one of 2025 at the latest.
    history = json.loads(sqlite_clerk("history", "85061510214", "--json", today="2025-06-01").output)
    assert len(history) > 3 and max(e["on"] for e in history) <= "2025-06-01"


def test_a_loop_owned_elsewhere_gets_the_bar_through_its_progress_keyword(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from commands import progress as bars

    monkeypatch.setattr(bars, "shown", lambda: True)
    seen: list[int] = []

    def verify(progress: bars.Advance) -> list[str]:
        progress(0, total=3)
        for _ in range(3):
            progress(1)
            seen.append(1)
        return []

    assert bars.accepts_progress(verify) and not bars.accepts_progress(lambda: None)
    with bars.progress("verify", None, unit="events") as advance:
        verify(progress=advance)
    assert seen == [1, 1, 1]
    assert "3/3 events" in capsys.readouterr().err
