"""A deterministic synthetic population: N members over Y years, as an event file.

The mix is realistic for a care fund: most pay on time, some late, a few not at all
(letters and fines follow), Brussels voluntary members, newcomers, fund switches,
exemptions, increased allowance and care budgets. Same seed, same file.

Premiums are owed only once claimed (R-PREM-9), so the population carries the claims
the yearly runs would have recorded: an invitation each January (amount, reduced,
the schedule value's source and confirmed flag), or, for a member whose care budget
runs on 1 April, the budget deduction dated that day (R-PREM-5).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import msgspec

from ledger import events as ev
from ledger import parameters

FUNDS = ["CM", "NZV", "SOM", "LZ", "OZ"]


def make_insz(born: date, seq: int) -> str:
    base = f"{born:%y%m%d}{seq:03d}"
    prefix = "2" if born.year >= 2000 else ""
    return f"{base}{97 - int(prefix + base) % 97:02d}"


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0))


def member_events(rng: random.Random, insz: str, born: date, first: int, years: int) -> Iterator[ev.Event]:
    clerk = f"clerk{rng.randrange(40)}"

    def e(cls: type[ev.Event], on: date, **fields: object) -> ev.Event:
        return cls(insz=insz, on=on, recorded_at=_at(on), clerk=clerk, **fields)

    r = rng.random()
    region, situation = ("flanders", "resident")
    if r > 0.85:
        region = "brussels"
    elif r > 0.83:
        region, situation = "abroad", "works-in-flanders"
    health = rng.choice(FUNDS) if rng.random() > 0.05 else "NONE"
    newcomer = rng.random() < 0.05
    registered_on = date(first, 1, 2)
    resident_since = registered_on if newcomer else born
    yield e(
        ev.Registered,
        registered_on,
        born=born,
        region=region,
        health_fund=health,
        situation=situation,
        resident_since=resident_since,
    )
    entitled = rng.random() < 0.12
    if entitled:
        yield e(ev.AllowanceChanged, registered_on, entitled=True)
    fund = health if health != "NONE" and rng.random() > 0.1 else "VZK"
    voluntary = region == "brussels"
    if voluntary and rng.random() < 0.3:
        return  # a Brussels resident who did not join
    kind = "voluntary" if voluntary else "compulsory"
    start = max(first, born.year + 26)
    if start >= first + years:
        return
    yield e(ev.Affiliated, date(start, 1, 5), fund=fund, kind=kind, since=date(start, 1, 1))
    payer = rng.random()  # 0.9 on time, 0.06 sometimes late, 0.04 rarely pays
    unpaid: list[int] = []
    budget_from: date | None = None
    if born.year < 1955 and rng.random() < 0.1:
        budget_from = date(rng.randrange(start, first + years), rng.randrange(1, 13), 1)
    exempt_year = rng.randrange(start, first + years) if rng.random() < 0.01 else None
    schedule = {y: parameters.premium(y) for y in range(start, first + years)}
    for year in range(start, first + years):
        if exempt_year == year:
            yield e(
                ev.ExemptionGranted,
                date(year, 1, 15),
                reason="debt-settlement",
                until=date(year, 12, 31),
                evidence="court order",
            )
            continue
        reduced = entitled and year > first + 1
        value = schedule[year].value(reduced)
        amount = value.cents
        april = date(year, 4, 1)
        if budget_from and budget_from <= april:
            # R-PREM-5: no invitation; the deduction is the claim and its payment.
            yield e(
                ev.PremiumDeducted,
                april,
                year=year,
                amount_cents=amount,
                reduced=reduced,
                fund=fund,
                monthly_cents=68300,
                source=value.source,
                confirmed=value.confirmed,
            )
            continue
        yield e(
            ev.PremiumInvited,
            date(year, 1, 10),
            year=year,
            amount_cents=amount,
            reduced=reduced,
            ogm="",
            fund=fund,
            source=value.source,
            confirmed=value.confirmed,
        )
        p = rng.random()
        if payer < 0.9 or (payer < 0.96 and p < 0.8) or p < 0.3:
            on = date(year, 1, 20) + timedelta(days=rng.randrange(95))
            if payer >= 0.9 and p < 0.3:
                on = date(year, 5, 1) + timedelta(days=rng.randrange(200))
            yield e(ev.PremiumPaid, on, amount_cents=amount, bank_ref=f"{insz}-{year}")
        else:
            unpaid.append(year)
            if len(unpaid) >= 2 and not voluntary and year >= start + 2:
                yield e(
                    ev.RegisteredLetterSent,
                    date(year, 8, 20),
                    year=year,
                    premium_years=list(unpaid),
                    amount_cents=amount * len(unpaid),
                )
                if rng.random() < 0.7:
                    yield e(
                        ev.FineImposed,
                        date(year, 10, 20),
                        year=year,
                        amount_cents=10000 if reduced else 25000,
                        premium_years=list(unpaid),
                    )
                unpaid = []
        if rng.random() < 0.02 and fund != "VZK":
            yield e(
                ev.FundSwitched,
                date(year, 11, 20),
                from_fund=fund,
                to_fund="VZK",
                effective=date(year + 1, 1, 1),
            )
            fund = "VZK"
        if budget_from and budget_from.year == year:
            yield e(ev.BudgetGranted, budget_from, kind="elderly", monthly_cents=68300)


def people(members: int, years: int, seed: int, first: int = 2016) -> Iterator[tuple[str, list[ev.Event]]]:
    """Each generated member's INSZ and events, in recording order (deterministic by seed)."""
    rng = random.Random(seed)
    used: set[str] = set()
    for _ in range(members):
        while True:
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 62))
            insz = make_insz(born, rng.randrange(1, 998))
            if insz not in used:
                used.add(insz)
                break
        yield insz, list(member_events(rng, insz, born, first, years))


def generate(members: int, years: int, seed: int, first: int = 2016) -> Iterator[bytes]:
    """The event file, line by line (JSON bytes with a newline), in recording order per member."""
    encoder = msgspec.json.Encoder()
    for _insz, events in people(members, years, seed, first):
        for event in events:
            yield encoder.encode(event) + b"\n"
