"""The ``zorgkas`` command line: one group, commands split by area.

Errors are translated to exit codes in one place, ``LedgerGroup.invoke``:
a rule's refusal exits 1, bad input exits 2, a busy or unreachable store exits 4, all
with nothing written and no traceback.

A clerk runs one command at a time, so start-up counts: a command's module is imported
only when that command runs (``LedgerGroup.get_command``), not every module of the
command line. ``--help`` imports them all to list them.
With ``--json`` on the command line, the error is also one JSON object on stderr
(``{"error": "refused"|"bad_input"|"unavailable", "rule": …, "message": …}``) so that
a script reads the reason as data beside the exit code.
"""

from __future__ import annotations

import gc

# Start-up builds only long-lived objects (modules, classes, tables): the cyclic garbage
# collector would walk them some fifty times for nothing (~5 ms of a clerk's command). Off
# while the command line and the command's module load; then they are frozen (never walked
# again: they live as long as the process) and it is on again before anything runs.
_collecting = gc.isenabled()
gc.disable()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

import click  # noqa: E402

from commands.options import refuse_repeated, where_and_who  # noqa: E402
from ledger.errors import BadInput, ConcurrentChange, RuleRefused, StoreUnavailable  # noqa: E402

if _collecting:
    gc.freeze()
    gc.enable()

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
            "correct-registration",
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
            "direct-debit",
            "adjust-claim",
        ],
        "commands.facts",
    ),
    **dict.fromkeys(["status", "history", "explain", "dossier"], "commands.questions"),
    **dict.fromkeys(
        ["export", "import", "verify", "checkpoint", "keygen", "init", "reseal", "report", "serve-report"],
        "commands.data",
    ),
    "demo": "commands.demo",
    "run": "commands.runs",
}


def commands_of(module: str) -> dict[str, click.Command]:
    """The commands a module of the command line defines, by name."""
    # __import__, not importlib.import_module: the one ``python -X importtime`` times.
    collecting = gc.isenabled()
    gc.disable()  # as for the command line's own imports (above)
    try:
        found = getattr(__import__(module, fromlist=["_"]), MODULES[module])
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    listed = found if isinstance(found, list | tuple) else [found]
    for command in listed:
        _summarise(command)
    return {command.name: command for command in listed if command.name}


def _summarise(command: click.Command) -> None:
    """The one-line summary ``zorgkas --help`` lists (``SUMMARIES``), never cut."""
    if command.name in SUMMARIES:
        command.short_help = SUMMARIES[command.name]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _summarise(sub)


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


# What `zorgkas --help` lists: one line each, short enough never to be cut.
SUMMARIES = {
    "adjust-claim": "Correct a recorded premium claim (R-PREM-9).",
    "affiliate": "Affiliate a person with a care fund (R-AFF-1).",
    "allowance": "Record the increased allowance status (R-PREM-1).",
    "appeal": "Record the decision on a fine's appeal (R-FINE-2).",
    "budget": "Grant a monthly care budget (R-ELIG-1..3).",
    "correct-registration": "Correct a birth date or residence start (R-OBL-1).",
    "checkpoint": "Sign the store's current head into a file.",
    "death": "Record a member's death (R-PREM-4).",
    "demo": "Load sample members and show their status.",
    "direct-debit": "Record a direct-debit mandate or its end (R-PREM-8).",
    "dossier": "Write a case dossier (HTML) for a dispute.",
    "exempt": "Record an exemption from premiums (R-PREM-4).",
    "explain": "Explain each figure of status in plain words.",
    "export": "Write every event to a file (- for stdout).",
    "history": "A member's events in words, by effective date.",
    "import": "Append the events of a file (- for stdin).",
    "init": "Create an empty event store.",
    "keygen": "Make a signing key pair for checkpoints.",
    "move": "Record a move or a new situation (R-OBL-1..6).",
    "pay": "Record a payment (R-PREM-6..8).",
    "register": "Make a person known to the ledger (R-OBL-1..7).",
    "report": "Feed the reporting database (incremental).",
    "reseal": "Re-seal an old store's links with the seal key.",
    "retract": "Retract a fact that was recorded wrongly.",
    "reverse-payment": "Record a payment the bank took back.",
    "run": "The yearly runs (idempotent).",
    "serve-report": "Browse a reporting database in Datasette.",
    "status": "A member's affiliation, arrears and eligibility.",
    "switch": "Request a switch of care fund (R-SW-1).",
    "verify": "Check the store's integrity (exit 1 if tampered).",
    "invitations": "Send the payment invitations of YEAR (R-PREM-1..5).",
    "letters": "Send the registered letters of YEAR (R-LET-1).",
    "fines": "Impose the fines of YEAR's letters (R-FINE-1).",
    "auto-affiliation": "Affiliate everyone still unaffiliated (R-AFF-3).",
    "cancellations": "Cancel voluntary members who did not pay (R-AFF-4).",
}


def fail(kind: str, message: str, code: int, rule: str | None = None, **extra: Any) -> NoReturn:
    """Report an error the way the command line was asked (text, or JSON with ``--json``), and exit."""
    ctx = click.get_current_context()
    if ctx.find_root().meta.get("zorgkas.json"):
        click.echo(
            json.dumps({"error": kind, "rule": rule, "message": message, **extra}, ensure_ascii=False),
            err=True,
        )
    else:
        prefix = {"refused": "refused", "bad_input": "bad input", "unavailable": "unavailable"}.get(
            kind, "error"
        )
        click.echo(f"{prefix}: {rule + ': ' if rule else ''}{message}", err=True)
    ctx.exit(code)
    raise AssertionError("unreachable")  # pragma: no cover - ctx.exit raises


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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            for n, arg in enumerate(args):  # an argv cannot carry NUL; a caller in the same process can
                if "\x00" in arg:
                    option = args[n - 1] if n and args[n - 1].startswith("-") else "argument"
                    raise click.UsageError(f"{option} {arg!r}: contains NUL", ctx)
            refuse_repeated(self, args, ctx)  # --entitled --not-entitled: exit 2, not the last one
        except click.UsageError as exc:
            if "--json" not in args:
                raise
            ctx.meta["zorgkas.json"] = True  # asked for JSON: the refusal is JSON too
            fail("bad_input", exc.format_message(), EXIT_BAD_INPUT)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        raw = [*getattr(ctx, "_protected_args", []), *ctx.args]
        ctx.meta["zorgkas.json"] = "--json" in raw
        try:
            return super().invoke(ctx)
        except RuleRefused as exc:
            fail("refused", exc.message, EXIT_REFUSED, exc.rule_id)
        except BadInput as exc:
            fail("bad_input", str(exc), EXIT_BAD_INPUT, field=exc.field, line=exc.line)
        except StoreUnavailable as exc:
            fail("unavailable", str(exc), EXIT_UNAVAILABLE)
        except ConcurrentChange as exc:
            fail("refused", f"another clerk kept changing this member ({exc}); try again", EXIT_REFUSED)
        except click.UsageError as exc:
            if not ctx.meta["zorgkas.json"]:
                raise
            fail("bad_input", exc.format_message(), EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `zorgkas demo | head`: the reader left; nothing to report
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_REFUSED)
        except Exception as exc:  # never a traceback for a clerk
            fail("internal", f"{type(exc).__name__}: {exc}", EXIT_INTERNAL)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@where_and_who
@click.version_option(package_name="zorgkas")
def cli(store_url: str | None, clerk: str | None) -> None:
    """zorgkas — the event-sourced membership ledger of the Flemish care insurance.

    Every fact is an immutable event; status, arrears and eligibility are derived
    from them by the rule book (rule ids R-…), as of any date and as known at any
    moment. Exit codes: 0 done, 1 refused by a rule, 2 bad input, 3 a defect of
    zorgkas (please report it), 4 unavailable (try again). With --json, errors too are
    printed as JSON (on stderr).

    \b
    Example:
      ZORGKAS_TODAY=2025-09-01 zorgkas status 98010110389 --json
    """


def main() -> None:
    try:
        cli.main(prog_name="zorgkas")
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code: Any) -> NoReturn:
    """Exit with ``code`` once the command is done, without tearing the interpreter down.

    Python's own exit clears every module and frees every object one by one (~3 ms of a
    clerk's command), for an operating system that takes the whole process back anyway.
    The command has closed its store by then (``Session.close``); when anything could still
    run at exit (an ``atexit`` callback: multiprocessing's, a coverage tool's; another
    thread) or the output cannot be flushed, the normal exit is taken.
    """
    import atexit

    threading = sys.modules.get("threading")
    others = threading is not None and threading.active_count() > 1
    # ``_ncallbacks`` is CPython's own count; an interpreter without it takes the normal exit.
    pending = getattr(atexit, "_ncallbacks", lambda: 1)()
    streams = (sys.stdout, sys.stderr)
    if not isinstance(code, int) or others or pending or None in streams:
        sys.exit(code)  # a stream closed at start (``>&-``) is None: the normal exit copes
    try:
        for stream in streams:
            stream.flush()
    except (OSError, ValueError):  # a closed pipe or stream: the normal exit reports it
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
