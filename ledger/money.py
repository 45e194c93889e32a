"""Money as integer cents: parsing what a clerk types, formatting what a clerk reads."""

from __future__ import annotations

import re

from ledger.errors import BadInput

_AMOUNT = re.compile(r"([0-9]{1,9})(?:[.,]([0-9]{1,2}))?")


def parse_euro(text: str, field: str = "--amount") -> int:
    """``64``, ``64.00`` and ``64,00`` are the same 6400 cents.

    ASCII digits only (``٦٤`` is not an amount); negative amounts, more than two
    decimals and anything else are bad input.
    """
    raw = text  # as typed: no spaces or newlines around it (a script's stray "\n" is refused)
    if raw.startswith("-"):
        raise BadInput(field, text, "a negative amount is not allowed")
    m = _AMOUNT.fullmatch(raw)
    if not m:
        if re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]{1,2}|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]{1,2}", raw):
            raise BadInput(field, text, "no thousands separator: type 1000,00 or 1000.00")
        if re.fullmatch(r"[0-9]+[.,][0-9]{3,}", raw):
            raise BadInput(field, text, "more than two decimals")
        if re.fullmatch(r"[0-9]{10,}(?:[.,][0-9]{1,2})?", raw):
            raise BadInput(field, text, "too large: at most 999999999,99 euro")
        raise BadInput(field, text, "not an amount in euro (e.g. 64, 64.00 or 64,00)")
    whole, frac = m.group(1), (m.group(2) or "")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)


def euro(cents: int) -> str:
    """6400 -> '€64.00' (for people; JSON always carries cents)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}€{cents // 100}.{cents % 100:02d}"
