"""The one exception hierarchy of the ledger.

Rules raise ``RuleRefused`` (exit code 1), input parsing raises ``BadInput``
(exit code 2), a busy or unreachable store raises ``StoreUnavailable`` (exit code 4).
``commands/cli.py`` is the only place that maps them to exit codes.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger reports to a person."""


class RuleRefused(LedgerError):
    """A rule of the rule book (docs/rules.md) refuses the request: nothing is written."""

    def __init__(self, rule_id: str, message: str) -> None:
        self.rule_id = rule_id
        self.message = message
        super().__init__(f"{rule_id}: {message}")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (type(self), (self.rule_id, self.message))


class BadInput(LedgerError):
    """The input itself is wrong (format, checksum, unknown code): nothing is written."""

    def __init__(self, field: str, value: object, reason: str, line: int | None = None) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{field} {value!r}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        # Crosses process boundaries intact (parallel import workers).
        return (BadInput, (self.field, self.value, self.reason, self.line))


class ParameterMissing(RuleRefused):
    """A rule parameter (e.g. a premium year) is missing from fixtures: never guessed."""


class ConcurrentChange(LedgerError):
    """Another clerk wrote the same member at the same time; retried by the store."""


class StoreUnavailable(LedgerError):
    """The store is busy (an import or a run holds it past the wait) or unreachable:
    nothing written, safe to run again (exit code 4)."""

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (type(self), self.args)
