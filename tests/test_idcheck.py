"""The duplicate-id check of the import (``ledger.idcheck``): exact despite its filter."""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable

from ledger.idcheck import IdCheck


def _ids(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(16) for _ in range(n)]


def _add(check: IdCheck, ids: list[bytes], lines: Iterable[int]) -> None:
    """As the import adds them: the ids one after the other, the lines as 64-bit integers."""
    check.add(b"".join(ids), array("q", lines).tobytes())


def test_distinct_ids_pass_and_the_filter_stays_small() -> None:
    check = IdCheck(expected=1000)
    ids = _ids(50_000, 1)  # far more than expected: the filter grows layers
    _add(check, ids, range(1, len(ids) + 1))
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
    _add(check, ids[:10_000], lines[:10_000])
    _add(check, ids[10_000:], lines[10_000:])
    error = check.first_repeat()
    assert error is not None and error.line == 25_000
    check.close()


def test_a_stored_id_met_after_the_line_names_the_line() -> None:
    ids = _ids(1000, 3)
    check = IdCheck()
    _add(check, ids, range(1, 1001))
    check.add(ids[499], None)  # stored for a member the file names later
    error = check.first_repeat()
    assert error is not None and error.line == 500
    check.close()


def test_a_stored_id_twice_among_stored_events_is_not_a_line() -> None:
    ids = _ids(10, 4)
    check = IdCheck()
    check.add(ids[0] + ids[0], None)
    _add(check, ids[1:], range(1, 10))
    assert check.first_repeat() is None
    check.close()


def test_the_first_repeated_line_does_not_depend_on_the_order_the_ids_come_in() -> None:
    """The import's workers send their ids as they finish a batch: a later line's id may
    come first. The repeated line is the one the sequential import names."""
    ids = _ids(3000, 5)
    ids[2500] = ids[100]  # member A's line 101 and member B's line 2,501: the later one repeats
    ids[2900] = ids[1500]  # a stored id met at line 1,501 as well: that line repeats it
    check = IdCheck(expected=100)
    _add(check, ids[2000:], range(2001, 3001))  # a later batch first
    check.add(ids[1500], None)
    _add(check, ids[:2000], range(1, 2001))
    error = check.first_repeat()
    assert error is not None and error.line == 1501
    check.close()
    check = IdCheck(expected=100)
    _add(check, ids[2000:], range(2001, 3001))
    _add(check, ids[:2000], range(1, 2001))
    error = check.first_repeat()
    assert error is not None and error.line == 2501
    check.close()
