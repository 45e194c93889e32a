"""Who may receive a care budget (R-ELIG-1..3).

- R-ELIG-1: membership, and five years of continuous residence in Flanders or Brussels
  (or social insurance in the EU/EEA) before the budget starts; before the
  Constitutional Court's ruling 2023/112, ten years of which five continuous.
- R-ELIG-2: one who joined late voluntarily, or rejoined after a cancellation, needs
  five years of continuous affiliation.
- R-ELIG-3: under 26, an early member is eligible once the care need is recognised.
A refusal always names the rule and the day the member becomes eligible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ledger import parameters
from ledger.dates import add_years
from ledger.history import History
from ledger.rules.affiliation import affiliated_since, was_cancelled_before
from ledger.rules.joining import joined_late_voluntarily
from ledger.rules.obligation import is_adult_in


@dataclass(frozen=True)
class Eligibility:
    """Whether a member may have a care budget (R-ELIG-1..3), from when, and why."""

    eligible: bool
    eligible_from: date | None
    rules: list[str]
    reasons: list[str] = field(default_factory=list)


def qualifies(region: str, situation: str) -> bool:
    """Residence (or EU/EEA social insurance) that counts for R-ELIG-1."""
    if region in ("flanders", "brussels"):
        return situation != "international-staff"
    return region == "abroad" and situation in ("works-in-flanders", "works-in-brussels")


def residence_eligible_from(history: History) -> tuple[date | None, str]:
    """R-ELIG-1: first day the residence condition holds for the current residence run."""
    day = history.as_of
    stretches = [r for r in history.residences() if r.since <= day]
    if not stretches or not qualifies(stretches[-1].region, stretches[-1].situation):
        return None, "does not live in Flanders or Brussels"
    run_start = stretches[-1].since
    earlier_days = 0
    for i in range(len(stretches) - 1, -1, -1):
        res = stretches[i]
        if qualifies(res.region, res.situation):
            run_start = res.since
        else:
            # Earlier qualifying stretches count toward a total-years condition.
            for j in range(i):
                if qualifies(stretches[j].region, stretches[j].situation):
                    earlier_days += (stretches[j + 1].since - stretches[j].since).days
            break
    candidates: list[tuple[date, str]] = []
    for start, until, continuous, total, source in parameters.residence_periods():
        need = add_years(run_start, continuous)
        if total:
            need = max(
                need,
                run_start + timedelta(days=(add_years(run_start, total) - run_start).days - earlier_days),
            )
        when = max(need, start)
        if when <= until:
            candidates.append((when, source))
    if not candidates:
        return None, "no residence condition applies"
    return min(candidates)


def eligibility(history: History) -> Eligibility:
    day = history.as_of
    since = affiliated_since(history, day)
    if since is None:
        return Eligibility(False, None, ["R-ELIG-1"], ["not affiliated with a recognised care fund"])
    if not is_adult_in(history, day.year):
        return Eligibility(True, since, ["R-ELIG-3"], ["under 26 and affiliated early"])
    rules = ["R-ELIG-1"]
    residence_from, source = residence_eligible_from(history)
    if residence_from is None:
        return Eligibility(False, None, rules, [source])
    reasons = [f"residence condition met on {residence_from} ({source})"]
    eligible_from = max(since, residence_from)
    if joined_late_voluntarily(history) or was_cancelled_before(history, since):
        rules.append("R-ELIG-2")
        continuity_from = add_years(since, parameters.continuity_years())
        reasons.append(f"five years of continuous affiliation from {since}: {continuity_from}")
        eligible_from = max(eligible_from, continuity_from)
    return Eligibility(day >= eligible_from, eligible_from, rules, reasons)
