"""The ``zorgkas`` command line (CONTRACT.md): one group, commands split by area.

Errors are translated to exit codes in one place, ``LedgerGroup.invoke``:
a rule's refusal exits 1, bad input exits 2, both with nothing written and no traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from commands import data, demo, facts, questions, runs
from commands.options import refuse_repeated, where_and_who
from ledger.errors import BadInput, ConcurrentChange, RuleRefused

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class LedgerGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for n, arg in enumerate(args):  # an argv cannot carry NUL; a caller in the same process can
            if "\x00" in arg:
                option = args[n - 1] if n and args[n - 1].startswith("-") else "argument"
                raise click.UsageError(f"{option} {arg!r}: contains NUL", ctx)
        refuse_repeated(self, args, ctx)  # --entitled --not-entitled: exit 2, not the last one
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RuleRefused as exc:
            click.echo(f"refused: {exc.rule_id}: {exc.message}", err=True)
            ctx.exit(EXIT_REFUSED)
        except BadInput as exc:
            click.echo(f"bad input: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
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
    at any moment. Exit codes: 0 done, 1 refused by a rule, 2 bad input.

    \b
    Example:
      ZORGKAS_TODAY=2025-09-01 zorgkas status 98010112345 --json
    """


for command in [*facts.COMMANDS, *questions.COMMANDS, *data.COMMANDS, demo.demo]:
    cli.add_command(command)
cli.add_command(runs.run)


def main() -> None:
    cli.main(prog_name="zorgkas")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
