"""The duplicate-id check of the import (``ledger.idcheck``): exact despite its filter."""

from __future__ import annotations

import random

from ledger.idcheck import IdCheck


def _ids(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(16) for _ in range(n)]


def test_distinct_ids_pass_and_the_filter_stays_small() -> None:
    check = IdCheck(expected=1000)
    ids = _ids(50_000, 1)  # far more than expected: the filter grows layers
    check.add(ids, range(1, len(ids) + 1))
    assert check.first_repeat() is None
    assert len(check.layers) > 1
    assert len(check.suspects) < len(ids) // 50  # false positives only, few
    check.close()


def test_the_first_repeated_line_is_named_whatever_the_order_of_the_repeats() -> None:
    ids = _ids(30_000, 2)
    lines = list(range(1, len(ids) + 1))
    ids[20_000] = ids[25_000 - 1]  # line 20,001 repeats nothing earlier; line 25,000 repeats it
    ids[28_000] = ids[3]  # line 28,001 repeats line 4
    check = IdCheck(expected=100)
    check.add(ids[:10_000], lines[:10_000])
    check.add(ids[10_000:], lines[10_000:])
    error = check.first_repeat()
    assert error is not None and error.line == 25_000
    check.close()


def test_a_stored_id_met_after_the_line_names_the_line() -> None:
    ids = _ids(1000, 3)
    check = IdCheck()
    check.add(ids, range(1, 1001))
    check.add([ids[499]], [0])  # stored for a member the file names later
    error = check.first_repeat()
    assert error is not None and error.line == 500
    check.close()


def test_a_stored_id_twice_among_stored_events_is_not_a_line() -> None:
    ids = _ids(10, 4)
    check = IdCheck()
    check.add([ids[0], ids[0]], [0, 0])
    check.add(ids[1:], range(1, 10))
    assert check.first_repeat() is None
    check.close()
