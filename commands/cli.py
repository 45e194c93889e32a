"""The ``zorgkas`` command line: one group, commands split by area.

Errors are translated to exit codes in one place, ``LedgerGroup.invoke``:
a rule's refusal exits 1, bad input exits 2, a busy or unreachable store exits 4, all
with nothing written and no traceback.

A clerk runs one command at a time, so start-up counts: a command's module is imported
only when that command runs (``LedgerGroup.get_command``), not every module of the
command line. ``--help`` imports them all to list them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from commands.options import where_and_who
from ledger.errors import BadInput, ConcurrentChange, RuleRefused, StoreUnavailable

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_UNAVAILABLE = 4


# Where each command is defined, so that running one imports only its module. A command
# missing here is still found (every module is searched), only without the saving.
MODULES: dict[str, str] = {
    "commands.facts": "COMMANDS",
    "commands.questions": "COMMANDS",
    "commands.data": "COMMANDS",
    "commands.demo": "demo",
    "commands.runs": "run",
}
WHERE: dict[str, str] = {
    **dict.fromkeys(
        [
            "register",
            "move",
            "allowance",
            "affiliate",
            "pay",
            "switch",
            "exempt",
            "budget",
            "appeal",
            "death",
            "reverse-payment",
            "retract",
        ],
        "commands.facts",
    ),
    **dict.fromkeys(["status", "history", "explain"], "commands.questions"),
    **dict.fromkeys(["export", "import", "verify", "report", "serve-report"], "commands.data"),
    "demo": "commands.demo",
    "run": "commands.runs",
}


def commands_of(module: str) -> dict[str, click.Command]:
    """The commands a module of the command line defines, by name."""
    # __import__, not importlib.import_module: the one ``python -X importtime`` times.
    found = getattr(__import__(module, fromlist=["_"]), MODULES[module])
    listed = found if isinstance(found, list | tuple) else [found]
    return {command.name: command for command in listed if command.name}


class _Commands(dict[str, click.Command]):
    """click's table of commands, filled from every module as soon as it is looked at as
    a whole (listing, help, tests that walk it); ``LedgerGroup.get_command`` loads one."""

    loaded = False

    def load(self) -> None:
        if not self.loaded:
            self.loaded = True
            for module in MODULES:
                for name, command in commands_of(module).items():
                    self.setdefault(name, command)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self.load()
        return super().__iter__()

    def __len__(self) -> int:
        self.load()
        return super().__len__()

    def __contains__(self, name: object) -> bool:
        self.load()
        return super().__contains__(name)

    def __getitem__(self, name: str) -> click.Command:
        if not super().__contains__(name):
            self.load()
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self.load()
        return super().get(name, default)

    def keys(self):  # type: ignore[no-untyped-def]
        self.load()
        return super().keys()

    def values(self):  # type: ignore[no-untyped-def]
        self.load()
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self.load()
        return super().items()


class LedgerGroup(click.Group):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """One command, importing only the module that defines it."""
        table = self.commands
        found = dict.get(table, cmd_name)
        if found is None and cmd_name in WHERE:
            found = commands_of(WHERE[cmd_name]).get(cmd_name)
            if found is not None:
                dict.__setitem__(table, cmd_name, found)
        return found if found is not None else table.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RuleRefused as exc:
            click.echo(f"refused: {exc.rule_id}: {exc.message}", err=True)
            ctx.exit(EXIT_REFUSED)
        except BadInput as exc:
            click.echo(f"bad input: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except StoreUnavailable as exc:
            click.echo(f"unavailable: {exc}", err=True)
            ctx.exit(EXIT_UNAVAILABLE)
        except ConcurrentChange as exc:
            click.echo(f"refused: another clerk kept changing this member ({exc}); try again", err=True)
            ctx.exit(EXIT_REFUSED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `zorgkas demo | head`: the reader left; nothing to report
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_REFUSED)
        except Exception as exc:  # never a traceback for a clerk
            click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@where_and_who
@click.version_option(package_name="zorgkas")
def cli(store_url: str | None, clerk: str | None) -> None:
    """zorgkas — the event-sourced membership ledger of the Flemish care insurance.

    Every fact is an immutable event; status, arrears and eligibility are derived
    from them by the rules of DOMAIN.md (rule ids R-…), as of any date and as known
    at any moment. Exit codes: 0 done, 1 refused by a rule, 2 bad input, 4 store busy or
    unreachable (safe to retry).

    \b
    Example:
      ZORGKAS_TODAY=2025-09-01 zorgkas status 98010112345 --json
    """


def main() -> None:
    cli.main(prog_name="zorgkas")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
