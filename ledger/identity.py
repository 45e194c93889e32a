"""Who is who: INSZ numbers, member stream ids, fund codes and structured messages (OGM/VCS).

Check digits come from ``python-stdnum``; the checks of typed values live in ``ledger.validation``.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date

FUNDS = ("CM", "NZV", "SOM", "LZ", "OZ", "VZK")
HEALTH_FUNDS = ("CM", "NZV", "SOM", "LZ", "OZ", "NONE")
OPEN_FUND = "VZK"  # R-FUND-1: the Vlaamse Zorgkas is open to everyone

_NAMESPACE = uuid.UUID("6f1d3c2e-7a0b-5c4e-9f3a-2b1c0d9e8f7a")


def normalize_insz(text: str, field: str = "INSZ") -> str:
    """The 11 digits of a valid INSZ, or BadInput (``ledger.validation.insz``: one rule)."""
    from ledger.validation import insz  # validation reads the fund table here

    return insz(text, field)


def coded_birth_date(insz: str) -> date | None:
    """The birth date a valid INSZ codes in its first six digits (YYMMDD; a BIS number adds
    20 or 40 to the month), the century read from its check digits as they validate
    (a ``2`` before the first nine digits: born from 2000 on). None when the number codes
    no whole date (a day or month of 00: unknown when the number was given)."""
    year, month, day = int(insz[:2]), int(insz[2:4]) % 20, int(insz[4:6])
    century = 2000 if 97 - int("2" + insz[:9]) % 97 == int(insz[9:]) else 1900
    try:
        return date(century + year, month, day)
    except ValueError:  # month or day 00 (or out of range): no date coded
        return None


_stream_key: bytes | None = None


def use_stream_key(key: bytes | None) -> None:
    """Keyed member stream ids for the store this process works on (``Ledger`` sets it).

    A plain stream id (uuid5 of the INSZ) can be found again by anyone who tries the
    11-digit space; a keyed one (HMAC-SHA256 under a key kept outside the store) cannot.
    Stores made with encryption at rest use keyed ids; older stores keep theirs.
    """
    global _stream_key
    _stream_key = key


def member_id(insz: str) -> uuid.UUID:
    """The stable id of a member's event stream, derived from the INSZ (keyed, see above)."""
    if _stream_key is not None:
        digest = hmac.new(_stream_key, insz.encode(), hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=4)
    return uuid.uuid5(_NAMESPACE, insz)


def fund_code(text: str, field: str = "--fund") -> str:
    from ledger.validation import fund

    return fund(text, field)


def health_fund_code(text: str, field: str = "--health-fund") -> str:
    from ledger.validation import health_fund

    return health_fund(text, field)


def home_fund(health_fund: str) -> str:
    """The care fund of a person's own health fund; the Vlaamse Zorgkas without one."""
    return health_fund if health_fund in FUNDS else OPEN_FUND


def normalize_ogm(text: str, field: str = "--ogm") -> str:
    """The 12 digits of a structured message with valid check digits, or BadInput."""
    from ledger.validation import ogm

    return ogm(text, field)


def make_ogm(insz: str, year: int) -> str:
    """A deterministic structured message for one member's premium of one year.

    Ten digits: the year's last two digits and eight from a hash of the INSZ,
    then the mod-97 check digits. Only used to recognise the year of a payment
    of this member (R-PREM-7): a collision between members does no harm.
    """
    h = int(hashlib.sha256(insz.encode()).hexdigest(), 16) % 10**8
    base = f"{year % 100:02d}{h:08d}"
    from stdnum.be import ogm_vcs  # here: python-stdnum's import (ssl, pydoc) only when used

    return base + ogm_vcs.calc_check_digits(base)
