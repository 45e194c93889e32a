"""How figures read to people: euro as a Belgian clerk writes them, dates, lists, sources.

One place for the wording of amounts and dates, so that ``explain``, ``history``,
``status`` and the case dossier say the same thing the same way. JSON never uses
these: it carries integer cents and ISO dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# The public titles of the sources a parameter may cite by their research number.
PUBLIC_SOURCES = {
    "000": 'Vlaamse sociale bescherming, "Joining the Flemish Social Protection"',
    "001": 'CM-Zorgkas, "Zorgpremie / healthcare premium" member page',
    "002": 'European Commission, "Belgium – Long-term care"',
    "003": 'European Commission, "Your social security rights in Belgium", ch. XII',
    "004": '"Ziekteverzekering in België"',
}
_SEED = re.compile(r"\bseeds?\s*(00[0-4])\b", re.IGNORECASE)


def eur(cents: int) -> str:
    """6400 -> '€ 64,00'; 123456 -> '€ 1.234,56' (Belgian: dot for thousands, comma for cents)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}€ {whole:,}".replace(",", ".") + f",{rest:02d}"


def day(d: date) -> str:
    """2024-03-02 -> '2 March 2024' (what a clerk reads aloud)."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def moment(t: datetime) -> str:
    """A recorded time to the minute: '2024-03-03 09:12' (recorded times are UTC)."""
    return t.strftime("%Y-%m-%d %H:%M")


def and_list(items: Iterable[object]) -> str:
    """[2023, 2024, 2025] -> '2023, 2024 and 2025'; [] -> 'none'."""
    words = [str(i) for i in items]
    if not words:
        return "none"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def years(items: Iterable[int]) -> str:
    """'the premium of 2024' / 'the premiums of 2023 and 2024'."""
    found = list(items)
    noun = "premium" if len(found) == 1 else "premiums"
    return f"the {noun} of {and_list(found)}"


def yes_no(value: bool | None, unknown: str = "not applicable") -> str:
    return unknown if value is None else ("yes" if value else "no")


def public_source(text: str | None) -> str:
    """A parameter's source as a member may read it: research numbers become public titles."""
    if not text:
        return "the premium schedule (R-PREM-1)"
    return _SEED.sub(lambda m: PUBLIC_SOURCES[m.group(1)], text)


def title(words: str) -> str:
    return words[:1].upper() + words[1:]


def mandate(debit: dict[str, object]) -> str:
    """A direct-debit mandate as ``status --json`` gives it, in words (R-PREM-8)."""
    first, until = debit["from_year"], debit["until_year"]
    if until is not None and until < first:  # stopped before its first premium: it never debited
        mandate_of = f"the mandate of {debit['requested_on']}"
        return f"none: {mandate_of} was stopped before its first premium, {first} (R-PREM-8)"
    which = f"from {first}" if until is None else f"of {first}" if until == first else f"{first} to {until}"
    return f"premiums {which} (mandate of {debit['requested_on']}; R-PREM-8)"
