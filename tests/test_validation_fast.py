"""The import's written-out value checks (``validation._plainly_valid``) never pass what the
full check (``EventChecker._checked``) would refuse or normalise."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from bench.population import generate
from ledger import events as ev
from ledger.errors import BadInput
from ledger.validation import MAX_CENTS, EventChecker

TODAY, NOW = date(2026, 11, 23), datetime(2026, 11, 23, 12)

# Values that are wrong, or right but written otherwise (normalised), per field name.
ODD: dict[str, list[Any]] = {
    "on": [date(1899, 12, 31), date(2026, 11, 24), date(2200, 1, 1)],
    "recorded_at": [datetime(1899, 1, 1), datetime(2026, 11, 23, 12, 0, 1),
                    datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 23, 13, tzinfo=UTC)],
    "insz": ["97.03.14-236.44", "97031423645", "00000000000"],
    "clerk": ["", " ", "a\x00b", "x" * 101],
    "amount_cents": [-1, 0, MAX_CENTS + 1],
    "monthly_cents": [-1, 0, MAX_CENTS + 1],
    "year": [1899, 2028, None],
    "fine_year": [1899, 2028],
    "fund": ["cm", "XX", ""],
    "health_fund": ["cm", "XX"],
    "to_fund": ["cm", "XX"],
    "from_fund": ["cm", "XX"],
    "ogm": ["+++090/9337/55493+++", "123456789012", "abc"],
    "bank_ref": ["", "   ", "a\u202eb", "x" * 101],
    "source": ["a\x07", "x" * 1001],
    "rule": ["R-XX-1"],
    "born": [date(2026, 12, 1), date(1899, 1, 1)],
    "since": [date(1899, 1, 1), date(2200, 1, 1)],
    "resident_since": [date(1899, 1, 1)],
}  # fmt: skip


def _outcome(checker: EventChecker, e: ev.Event) -> tuple[str, Any]:
    try:
        return "ok", checker._checked(e)
    except (BadInput, TypeError, ValueError) as exc:
        return "refused", type(exc)


def test_the_written_out_checks_pass_only_what_the_full_check_passes_unchanged() -> None:
    decoder = msgspec.json.Decoder(ev.AnyEvent)
    events = [decoder.decode(line) for line in generate(200, 4, seed=11)]
    rng = random.Random(5)
    checker = EventChecker(TODAY, NOW)
    fast = None
    tried = passed = 0
    for e in events:
        variants = [e]
        for name in e.__struct_fields__:
            for value in ODD.get(name, []):
                variants.append(msgspec.structs.replace(e, **{name: value}))
        variants.append(msgspec.structs.replace(e, on=e.on + timedelta(days=rng.randint(-5, 5))))
        for variant in variants:
            checker.checked(e)  # the member and clerk are known, as in an import
            fast = checker.fast
            assert fast is not None
            tried += 1
            if fast[type(variant)](variant):  # else the full check decides
                passed += 1
                assert _outcome(checker, variant) == ("ok", variant), variant
    assert tried > 2000 and 0 < passed < tried


def test_checked_gives_what_the_full_check_gives() -> None:
    decoder = msgspec.json.Decoder(ev.AnyEvent)
    one, two = EventChecker(TODAY, NOW), EventChecker(TODAY, NOW)  # the same values seen, in order
    for line in generate(50, 3, seed=2):
        e = decoder.decode(line)
        odd = [msgspec.structs.replace(e, **{n: v}) for n in e.__struct_fields__ for v in ODD.get(n, [])]
        for variant in [e, *odd]:
            try:
                expected: Any = two._checked(variant)
            except BadInput as exc:
                expected = str(exc)
            try:
                got: Any = one.checked(variant)
            except BadInput as exc:
                got = str(exc)
            assert got == expected
