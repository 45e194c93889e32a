"""The documentation says what the code does: docs/rules.md, docs/cli.md and the README.

- Every rule id the code cites has its section in docs/rules.md, and every module,
  function, parameter and test that docs/rules.md names exists.
- Every command, flag and ``status --json`` key exists in docs/cli.md.
- Nothing a user reads points outside the repository or cites a source by an internal
  file number: sources are cited by their public title.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from commands.cli import cli
from ledger import parameters

ROOT = Path(__file__).resolve().parent.parent
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
CLI = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

RULE_IDS = (
    ["R-FUND-1"]
    + [f"R-OBL-{n}" for n in range(1, 8)]
    + [f"R-AFF-{n}" for n in range(1, 5)]
    + [f"R-PREM-{n}" for n in range(1, 10)]
    + ["R-LET-1", "R-FINE-1", "R-FINE-2", "R-SW-1", "R-SW-2"]
    + [f"R-ELIG-{n}" for n in range(1, 4)]
)


def test_every_rule_id_has_its_own_section_in_the_rule_book() -> None:
    for rule in RULE_IDS:
        assert re.search(rf"^### {rule} — ", RULES, re.M), f"docs/rules.md has no section for {rule}"


def test_every_rule_id_the_code_cites_is_in_the_rule_book() -> None:
    cited: set[str] = set()
    for folder in ("ledger", "projections", "commands"):
        for path in (ROOT / folder).rglob("*.py"):
            cited |= set(re.findall(r"R-[A-Z]+-\d+", path.read_text(encoding="utf-8")))
    missing = sorted(r for r in cited if not re.search(rf"^### {r} — ", RULES, re.M))
    assert not missing, f"rule ids cited in the code without a section in docs/rules.md: {missing}"


def _code_references(text: str) -> list[tuple[str, str]]:
    """(module, name) for each `path.py` `name`, `name` … list in the text."""
    found: list[tuple[str, str]] = []
    for match in re.finditer(
        r"`((?:ledger|projections|commands)/[\w/]+)\.py`((?:(?:,|\s+and)?\s+`[\w.]+`)*)", text
    ):
        module = match.group(1).replace("/", ".")
        for name in re.findall(r"`([\w.]+)`", match.group(2)):
            found.append((module, name))
    return found


def test_every_function_the_rule_book_names_exists() -> None:
    references = _code_references(RULES)
    assert len(references) > 60
    missing = []
    for module_name, name in references:
        target: Any = importlib.import_module(module_name)
        for part in name.split("."):
            target = getattr(target, part, None)
        if isinstance(target, click.Command):
            continue
        if target is None:
            missing.append(f"{module_name}.{name}")
    assert not missing, f"docs/rules.md names what the code does not have: {missing}"


def test_every_test_the_rule_book_names_exists() -> None:
    missing = []
    for match in re.finditer(r"`(tests/test_\w+\.py)::(\w+)`((?:,\s+`test_\w+`)*)", RULES):
        source = (ROOT / match.group(1)).read_text(encoding="utf-8")
        for name in [match.group(2), *re.findall(r"`(test_\w+)`", match.group(3))]:
            if f"def {name}(" not in source:
                missing.append(f"{match.group(1)}::{name}")
    assert not missing, f"docs/rules.md names tests that do not exist: {missing}"


def test_every_parameter_the_rule_book_names_is_in_the_parameters_file() -> None:
    named = set(re.findall(r"parameters? `([\w.]+)`", RULES))
    table = RULES.split("### Other parameters", 1)[1].split("\n## ", 1)[0]
    named |= set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert {"premium_due", "letter_threshold", "fine", "switch_deadline"} <= named
    for path in named:
        node: Any = parameters.raw()
        for key in path.split("."):
            assert isinstance(node, dict) and key in node, f"docs/rules.md: no parameter {path}"
            node = node[key]


def test_the_schedule_in_the_rule_book_is_the_schedule_in_the_parameters_file() -> None:
    rows = dict(
        (int(y), (int(n), int(r))) for y, n, r in re.findall(r"^\| (\d{4}) \| (\d+) \| (\d+) \|", RULES, re.M)
    )
    packaged = {
        int(y): (e["normal_cents"] // 100, e["reduced_cents"] // 100)
        for y, e in parameters.raw()["premium"]["years"].items()
    }
    assert rows == packaged


def _shown(flag: bool) -> str:
    return "yes" if flag else "**no**"


def test_the_schedules_confirmed_flags_and_sources_are_those_of_the_parameters_file() -> None:
    row = re.compile(r"^\| (\d{4}) \| \d+ \| \d+ \| (.*?) \| (.*?) \|$", re.M)
    rows = {int(y): (confirmed, source) for y, confirmed, source in row.findall(RULES)}
    assert set(rows) == {int(y) for y in parameters.raw()["premium"]["years"]}
    for year in rows:
        premium = parameters.premium(year)
        normal, reduced = premium.normal, premium.reduced
        if normal.confirmed == reduced.confirmed:
            confirmed = _shown(normal.confirmed)
        else:
            confirmed = f"normal {_shown(normal.confirmed)}, reduced {_shown(reduced.confirmed)}"
        if normal.source == reduced.source:
            source = normal.source
        else:
            source = f"normal: {normal.source}; reduced: {reduced.source}"
        assert rows[year] == (confirmed, source), f"docs/rules.md: the schedule row of {year}"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
        else:
            found.append((f"{prefix}{name}", command))
    return found


def test_every_command_and_flag_is_in_the_cli_contract() -> None:
    commands = _commands(cli)
    assert len(commands) >= 25
    for name, command in commands:
        assert re.search(rf"zorgkas {name}\b", CLI), f"docs/cli.md does not show `zorgkas {name}`"
        for param in command.params:
            for flag in [*param.opts, *param.secondary_opts]:
                if flag.startswith("--") and flag != "--help":
                    assert flag in CLI, f"docs/cli.md does not name {flag} of `zorgkas {name}`"


def test_every_key_of_status_json_is_in_the_cli_contract(tmp_path: Path) -> None:
    env = {"ZORGKAS_STORE": str(tmp_path / "z.sqlite"), "ZORGKAS_TODAY": "2024-02-01", "HOME": str(tmp_path)}
    runner = CliRunner()
    steps = [
        ["register", "97031423644", "--born", "1997-03-14", "--region", "flanders", "--health-fund", "CM"]
        + ["--on", "2024-01-02"],
        ["run", "invitations", "--year", "2024", "--on", "2024-01-15"],
        ["pay", "97031423644", "--amount", "62", "--on", "2024-01-20"],
    ]
    for args in steps:
        done = runner.invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
    result = runner.invoke(cli, ["status", "97031423644", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["premiums"], "a member who paid a claimed premium has one in `premiums`"
    keys = set(data) | {f"arrears.{k}" for k in data["arrears"]}
    keys |= {f"premiums[].{k}" for premium in data["premiums"] for k in premium}
    missing = sorted(k for k in keys if f"| `{k}` |" not in CLI)
    assert not missing, f"docs/cli.md does not describe these status --json keys: {missing}"


def test_every_exit_code_is_in_the_cli_contract() -> None:
    for code in range(5):
        assert f"| `{code}` |" in CLI
    top = CliRunner().invoke(cli, ["--help"]).output
    for code in range(5):
        assert f" {code} " in top, f"zorgkas --help does not name exit code {code}"


def test_every_insz_and_structured_message_a_user_may_copy_is_valid() -> None:
    """An example a clerk copies from the docs or a --help text must pass the validator."""
    from ledger import validation

    texts = [README, *(p.read_text(encoding="utf-8") for p in ROOT.glob("docs/*.md"))]
    texts += [p.read_text(encoding="utf-8") for d in ("commands", "ledger") for p in ROOT.glob(f"{d}/*.py")]
    inszs = {n for t in texts for n in re.findall(r"(?<![\d.])\d{11}(?![\d])", t)}
    ogms = {m for t in texts for m in re.findall(r"\+\+\+\d{3}/\d{4}/\d{5}\+\+\+", t)}
    assert inszs and ogms
    for n in sorted(inszs):
        validation.insz(n, "INSZ")
    for m in sorted(ogms):
        validation.ogm(m, "--ogm")


INTERNAL = re.compile(r"\.\./shared|DOMAIN\.md|CONTRACT\.md|\bseeds?/|\bseeds? 00\d\b|\bseed file", re.I)


@pytest.mark.parametrize(
    "path", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))]
)
def test_nothing_a_user_reads_points_outside_the_repository(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert not INTERNAL.findall(text), f"{path} cites internal notes: {INTERNAL.findall(text)}"


def test_every_link_in_the_readme_and_docs_points_to_a_file_of_the_repository() -> None:
    for path in [ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            assert (path.parent / target).resolve().is_relative_to(ROOT), (
                f"{path.name} links outside: {target}"
            )
            assert (path.parent / target).exists(), f"{path.name} links to a missing file: {target}"


def test_every_parameter_source_is_a_public_title_not_an_internal_note() -> None:
    text = (ROOT / "fixtures" / "parameters.json").read_text(encoding="utf-8")
    assert not INTERNAL.findall(text), INTERNAL.findall(text)


def test_every_rule_section_gives_its_sources_code_and_tests() -> None:
    sections = re.split(r"^### (?=R-)", RULES, flags=re.M)[1:]
    assert len(sections) == len(RULE_IDS)
    for section in sections:
        rule = section.split(" ", 1)[0]
        body = section.split("\n## ", 1)[0]
        for part in ("- **Sources**:", "- **Code**:", "- **Tests**:"):
            assert part in body, f"docs/rules.md: {rule} has no {part!r} line"


def test_every_event_type_and_its_fields_are_in_the_event_file_table() -> None:
    from ledger import events as ev

    base = set(ev.Event.__struct_fields__)
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*?) \|$", CLI.split("| type | own fields |", 1)[1], re.M))
    for cls in ev.EVENT_TYPES:
        assert cls.__name__ in rows, f"docs/cli.md: event type {cls.__name__} is not in the table"
        own = [f for f in cls.__struct_fields__ if f not in base]
        assert re.findall(r"`(\w+)`", rows[cls.__name__]) == own, f"docs/cli.md: fields of {cls.__name__}"
    assert set(rows) == {cls.__name__ for cls in ev.EVENT_TYPES}


# Documented in docs/cli.md, added on another branch at the same time (issue 12: the
# dossier, `history --recorded`, `export --force`): while one is missing here the test
# below skips naming it; anything else missing fails.
PENDING = {
    ("dossier", None),
    ("history", "--recorded"),
    ("export", "--force"),
}


def _documented_usage() -> list[tuple[str, str | None]]:
    """(command, flag) for every usage line of docs/cli.md's code blocks (flag None: the command)."""
    usage: list[tuple[str, str | None]] = []
    for block in re.findall(r"```\n(.*?)```", CLI, re.S):
        command = None
        for line in block.splitlines():
            words = line.split("#", 1)[0].split()
            if words[:1] == ["zorgkas"]:
                command = " ".join(words[1:3]) if words[1] == "run" else words[1]
                usage.append((command, None))
            if command is None:
                continue
            usage += [(command, flag) for flag in re.findall(r"(--[a-z][a-z-]*)", " ".join(words))]
    return usage


def test_every_command_and_flag_the_cli_contract_shows_exists() -> None:
    usage = _documented_usage()
    assert len(usage) > 60
    missing: list[tuple[str, str | None]] = []
    for command_name, flag in usage:
        group: click.Group = cli
        *groups, name = command_name.split(" ")
        for g in groups:
            group = group.commands[g]  # type: ignore[assignment]
        command = group.commands.get(name)
        if command is None:
            missing.append((command_name, None))
            continue
        flags = {o for p in command.params for o in [*p.opts, *p.secondary_opts]}
        if flag is not None and flag not in flags:
            missing.append((command_name, flag))
    unexpected = sorted({m for m in missing if m not in PENDING and (m[0], None) not in PENDING}, key=str)
    assert not unexpected, f"docs/cli.md shows what zorgkas does not have: {unexpected}"
    if missing:
        names = sorted({f"{c} {f}" if f else c for c, f in missing})
        pytest.skip(f"documented, not on this branch yet: {', '.join(names)}")


# Variables a zorgkas process sets for the workers it starts itself: not for users.
INTERNAL_VARIABLES = {"ZORGKAS_REPORT_JOB", "ZORGKAS_REPORT_KEY"}


def test_every_environment_variable_the_code_reads_is_in_the_cli_contract() -> None:
    read: set[str] = set()
    for folder in ("ledger", "projections", "commands"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"\bZORGKAS_[A-Z_]+\b", path.read_text(encoding="utf-8")))
    assert {"ZORGKAS_STORE", "ZORGKAS_SEAL_KEY_FILE", "ZORGKAS_PARAMETERS"} <= read
    missing = sorted(v for v in read - INTERNAL_VARIABLES if f"`{v}`" not in CLI)
    assert not missing, f"docs/cli.md does not describe these environment variables: {missing}"
