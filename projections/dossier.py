"""A case dossier: one self-contained HTML page an appeal officer can put in the file.

It holds, for one member as of one date: the status, a timeline picture (inline SVG) of
residence, obligation, affiliation periods, claimed premiums, payments, letters, fines,
appeals and corrections, the explanation of every figure (the same trace as
``explain``), the events in words (the same timeline as ``history``), and, when a
``known_on`` moment is given, what differed between what the fund knew then and what
it knows now.

Self-contained on purpose: inline CSS and SVG only, no script, no font, no image and no
link to fetch, so the page opens the same way offline, years later, in any browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from ledger import events as ev
from ledger.dates import dec31, jan1
from ledger.history import History
from ledger.rules import affiliation as aff
from ledger.rules.obligation import obligation_on, turns_26_year
from projections import timeline
from projections.explain import heading, total_sentence, trace
from projections.status import Status
from projections.wording import and_list, day, eur, mandate, moment, yes_no

REGION_COLOURS = {"flanders": "#3f6fa6", "brussels": "#7b5ea7", "wallonia": "#b08a3e", "abroad": "#8d8d8d"}
OBLIGATION_COLOURS = {
    "compulsory": "#2e7d4f",
    "voluntary": "#8cc59f",
    "exempt": "#c9c9c9",
    "excluded": "#d98080",
}
FUND_COLOURS = {
    "CM": "#2f6f9f",
    "NZV": "#6a8f3a",
    "SOM": "#b04a3a",
    "LZ": "#3a7fb0",
    "OZ": "#8a5a9a",
    "VZK": "#c08a1e",
}
STATE_COLOURS = {"paid": "#2e7d4f", "incomplete": "#e08a00", "unpaid": "#c0392b", "open": "#c0392b",
                 "annulled": "#9a9a9a"}  # fmt: skip


def insz_label(insz: str) -> str:
    """98010110389 -> '98.01.01-103.89', as the number is printed on Belgian documents."""
    return f"{insz[0:2]}.{insz[2:4]}.{insz[4:6]}-{insz[6:9]}.{insz[9:11]}" if len(insz) == 11 else insz


# -- the timeline picture ------------------------------------------------------------------
@dataclass
class Scale:
    start: date
    end: date
    left: int = 170
    width: int = 900

    def x(self, d: date) -> float:
        d = min(max(d, self.start), self.end)
        return round(self.left + (d - self.start).days / max((self.end - self.start).days, 1) * self.width, 1)


LANE = 38


def _bar(s: Scale, y: int, start: date, end: date, colour: str, label: str, tip: str) -> str:
    x0, x1 = s.x(start), s.x(end + timedelta(days=1))
    text = (
        f'<text x="{x0 + 5}" y="{y + LANE // 2 + 4}" class="in">{escape(label)}</text>'
        if x1 - x0 > 7 * len(label) + 8
        else ""
    )
    return (
        f'<g><title>{escape(tip)}</title><rect x="{x0}" y="{y + 5}" width="{max(x1 - x0, 2):.1f}" '
        f'height="{LANE - 12}" rx="3" fill="{colour}"/>{text}</g>'
    )


def _mark(s: Scale, y: int, d: date, shape: str, colour: str, tip: str, label: str = "") -> str:
    cx, cy = s.x(d), y + LANE // 2
    shapes = {
        "circle": f'<circle cx="{cx}" cy="{cy}" r="6" fill="{colour}" stroke="#222" stroke-width=".6"/>',
        "up": f'<path d="M{cx - 6},{cy + 6} L{cx + 6},{cy + 6} L{cx},{cy - 6} Z" fill="{colour}"/>',
        "square": f'<rect x="{cx - 6}" y="{cy - 5}" width="12" height="10" fill="{colour}" stroke="#222" '
        'stroke-width=".6"/>',
        "diamond": f'<path d="M{cx},{cy - 8} L{cx + 8},{cy} L{cx},{cy + 8} L{cx - 8},{cy} Z" fill="{colour}" '
        'stroke="#222" stroke-width=".6"/>',
        "cross": f'<path d="M{cx - 6},{cy - 6} L{cx + 6},{cy + 6} M{cx - 6},{cy + 6} L{cx + 6},{cy - 6}" '
        f'stroke="{colour}" stroke-width="3"/>',
        "star": f'<circle cx="{cx}" cy="{cy}" r="7" fill="#fff" stroke="{colour}" stroke-width="3"/>',
        "tick": f'<path d="M{cx},{cy - 13} L{cx},{cy + 13}" stroke="{colour}" stroke-width="2"/>',
    }
    text = f'<text x="{cx}" y="{y + LANE + 2}" class="under">{escape(label)}</text>' if label else ""
    return f"<g><title>{escape(tip)}</title>{shapes[shape]}{text}</g>"


def _range(h: History, as_of: date) -> tuple[date, date]:
    days = [e.on for e in h.events] + [p.start for p in aff.periods(h)]
    first = min(days) if days else as_of
    return jan1(min(first.year, as_of.year)), dec31(as_of.year)


def _obligation_stretches(h: History, start: date, end: date) -> list[tuple[date, date, str]]:
    """(from, until, status) of the obligation, cut where it can change (R-OBL-1..7)."""
    start = max(start, h.residences()[0].since)  # before the first known residence: nothing to draw
    cuts = {start, jan1(turns_26_year(h))} | {r.since for r in h.residences()}
    if h.died_on():
        cuts.add(h.died_on())  # type: ignore[arg-type]
    points = sorted(c for c in cuts if start <= c <= end)
    found: list[tuple[date, date, str]] = []
    for i, p in enumerate(points):
        until = points[i + 1] - timedelta(days=1) if i + 1 < len(points) else end
        status = obligation_on(h, p).status
        if found and found[-1][2] == status:
            found[-1] = (found[-1][0], until, status)
        else:
            found.append((p, until, status))
    return found


LANES = ("Residence", "Obligation", "Affiliation", "Premiums", "Payments", "Letters", "Fines", "Appeals",
         "Corrections")  # fmt: skip
TOP = 44


def _membership_lanes(s: Scale, y: dict[str, int], h: History) -> list[str]:
    """Residence, obligation and affiliation as bars (a switch changes the fund's colour)."""
    out: list[str] = []
    stretches = h.residences()
    for i, r in enumerate(stretches):
        until = stretches[i + 1].since - timedelta(days=1) if i + 1 < len(stretches) else s.end
        label = timeline.residence(r.region, r.situation).removeprefix("in ")
        out.append(_bar(s, y["Residence"], max(r.since, s.start), until, REGION_COLOURS.get(r.region, "#888"),
                        label, f"Living {label} from {r.since}"))  # fmt: skip
    for start, until, st in _obligation_stretches(h, s.start, s.end):
        out.append(_bar(s, y["Obligation"], start, until, OBLIGATION_COLOURS.get(st, "#aaa"), st,
                        f"{st} from {start} until {until}"))  # fmt: skip
    for p in aff.periods(h):
        end = p.end or s.end
        funds = [(p.start, p.fund)] + [
            (sw.effective, sw.to_fund)
            for sw in h.of(ev.FundSwitched)
            if sw.on >= p.opened_by.on and p.covers(sw.effective) and sw.effective <= s.end
        ]
        for i, (start, fund) in enumerate(funds):
            until = funds[i + 1][0] - timedelta(days=1) if i + 1 < len(funds) else end
            tip = f"{fund} ({p.kind}) from {start}" + (f" until {p.end}" if p.end else "")
            out.append(_bar(s, y["Affiliation"], start, until, FUND_COLOURS.get(fund, "#555"),
                            f"{fund} {p.kind}", tip))  # fmt: skip
    # Requests and cancellations, also those backdated so far that no membership remains (R-AFF-4).
    for e in h.of(ev.Affiliated):
        out.append(_mark(s, y["Affiliation"], e.on, "tick", "#222", f"{timeline.describe(e)} on {e.on}"))
    for e in h.of(ev.Cancelled):
        out.append(_mark(s, y["Affiliation"], e.on, "cross", "#c0392b", f"{timeline.describe(e)} on {e.on}",
                         "cancelled"))  # fmt: skip
    return out


def _money_lanes(s: Scale, y: dict[str, int], status: Status) -> list[str]:
    """Claims, payments, letters, fines and appeals as marks, coloured by how they stand."""
    h, acc = status.history, status.account
    out: list[str] = []
    for year, ya in sorted(acc.years.items()):
        when = ya.due.claim.on  # the recorded claim (R-PREM-9): an invitation or a budget deduction
        tip = (f"Premium {year}: {eur(ya.due.amount_cents)} claimed {when}; paid {eur(ya.paid_cents)}; "
               f"still due {eur(ya.outstanding_cents)}")  # fmt: skip
        out.append(_mark(s, y["Premiums"], when, "circle", STATE_COLOURS[ya.status], tip, str(year)))
    reversed_ids = {r.payment_id for r in h.of(ev.PaymentReversed)}
    for p in h.of(ev.PremiumPaid):
        colour = "#bbbbbb" if p.id in reversed_ids else "#2e7d4f"
        out.append(_mark(s, y["Payments"], p.on, "up", colour, f"{timeline.describe(p)} on {p.on}"))
    for letter in h.of(ev.RegisteredLetterSent):
        tip = f"{timeline.describe(letter)} on {letter.on}"
        out.append(_mark(s, y["Letters"], letter.on, "square", "#f3d36b", tip, str(letter.year)))
    for year, fine in sorted(acc.fines.items()):
        tip = f"{timeline.describe(fine.fine)} on {fine.fine.on}: {fine.status}"
        colour = STATE_COLOURS.get(fine.status, "#2e7d4f")
        out.append(_mark(s, y["Fines"], fine.fine.on, "diamond", colour, tip, f"{year} {fine.status}"))
    for a in h.of(ev.FineAppealDecided):
        out.append(_mark(s, y["Appeals"], a.on, "star", "#2e7d4f" if a.upheld else "#c0392b",
                         timeline.describe(a), "upheld" if a.upheld else "rejected"))  # fmt: skip
    return out


def _correction_lane(s: Scale, y: dict[str, int], h: History, entries: list[timeline.Entry]) -> list[str]:
    out = [
        _mark(s, y["Corrections"], r.on, "cross", "#c0392b", timeline.describe(r), "reversal")
        for r in h.of(ev.PaymentReversed)
    ]
    # A claim is never changed: its correction is an event of its own (R-PREM-9).
    out += [
        _mark(s, y["Corrections"], a.on, "cross", "#e67e22", f"{timeline.describe(a)} on {a.on}", "adjusted")
        for a in h.of(ev.PremiumAdjusted)
    ]
    # A registration is never changed either: its correction names it and applies from the
    # moment it was recorded, drawn on the registration's own day (its effective date).
    out += [
        _mark(s, y["Corrections"], c.on, "cross", "#2c7fb8", timeline.describe(c, _registration_of(h)),
              "registration corrected")
        for c in h.registration_corrections()
    ]  # fmt: skip
    # Retracted facts are left out of a History view; the entries still hold the retraction.
    out += [
        _mark(s, y["Corrections"], x.event.on, "cross", "#7b5ea7", x.text, "retraction")
        for x in entries
        if isinstance(x.event, ev.EventRetracted)
    ]
    return out


def _registration_of(h: History) -> timeline.Lookup:
    """The lookup a correction's sentence needs: the registration as recorded."""
    reg = h.registered
    return lambda event_id: reg if event_id == reg.id else None


def _frame(s: Scale, y: dict[str, int], height: int) -> list[str]:
    """Year lines and labels, lane names and separators."""
    out: list[str] = []
    for year in range(s.start.year, s.end.year + 1):
        x = s.x(jan1(year))
        out.append(f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{height - 14}" class="grid"/>')
        out.append(f'<text x="{x + 3}" y="{TOP - 12}" class="year">{year}</text>')
    for name, ly in y.items():
        out.append(f'<text x="{s.left - 10}" y="{ly + 23}" class="lane">{name}</text>')
        out.append(f'<line x1="{s.left}" y1="{ly + LANE + 5}" x2="{s.left + s.width}" y2="{ly + LANE + 5}" '
                   'class="sep"/>')  # fmt: skip
    return out


def timeline_svg(status: Status, entries: list[timeline.Entry], known_on: datetime | None = None) -> str:
    """The picture: one lane per kind of fact, years across, ``as_of`` (and ``known_on``) marked."""
    h, as_of = status.history, status.history.as_of
    s = Scale(*_range(h, as_of))
    y = {name: TOP + i * (LANE + 12) for i, name in enumerate(LANES)}
    height = TOP + len(LANES) * (LANE + 12) + 20
    out = _frame(s, y, height) + _membership_lanes(s, y, h) + _money_lanes(s, y, status)
    out += _correction_lane(s, y, h, entries)
    x = s.x(as_of)
    out.append(f'<line x1="{x}" y1="16" x2="{x}" y2="{height - 14}" class="asof"/>')
    out.append(f'<text x="{x}" y="12" class="asof-label">as of {as_of}</text>')
    if known_on is not None and s.start <= known_on.date() <= s.end:
        kx = s.x(known_on.date())
        out.append(f'<line x1="{kx}" y1="{TOP - 6}" x2="{kx}" y2="{height - 14}" class="known"/>')
        out.append(
            f'<text x="{kx + 4}" y="{height - 2}" class="known-label">known on {known_on.date()}</text>'
        )
    total = s.left + s.width + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {height + 6}" width="100%" '
        f'role="img" aria-label="Timeline of the member">{"".join(out)}</svg>'
    )


# -- the page ----------------------------------------------------------------------------------
STYLE = """
@page { size: A4; margin: 16mm; }
body { font: 14px/1.45 "DejaVu Serif", Georgia, serif; color: #1d1d1d; margin: 0; background: #f4f3ef; }
main { max-width: 1120px; margin: 0 auto; background: #fff; padding: 28px 40px 40px;
       border-left: 1px solid #ddd; border-right: 1px solid #ddd; }
header { border-bottom: 3px double #333; padding-bottom: 10px; margin-bottom: 18px; }
header .kicker { font: 12px "DejaVu Sans", Arial, sans-serif; letter-spacing: .12em;
                 text-transform: uppercase;
                 color: #666; }
h1 { font-size: 26px; margin: 4px 0 2px; }
h2 { font: bold 15px "DejaVu Sans", Arial, sans-serif; text-transform: uppercase; letter-spacing: .06em;
     border-bottom: 1px solid #bbb; padding-bottom: 3px; margin-top: 28px; }
.meta { font: 13px "DejaVu Sans", Arial, sans-serif; color: #444; }
table { border-collapse: collapse; width: 100%; font: 13px "DejaVu Sans", Arial, sans-serif; }
td.day { white-space: nowrap; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #e2e2e2; }
th { background: #f0efe9; font-weight: 600; }
table.figures td:first-child { width: 30%; color: #444; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.total { font-weight: bold; font-size: 15px; margin-top: 10px; }
ol.trace li { margin: 0 0 7px; }
.rule { font: 11px "DejaVu Sans Mono", monospace; background: #eef2f7; border: 1px solid #c9d3e0;
        padding: 0 4px; border-radius: 3px; white-space: nowrap; }
.source { display: block; font-size: 12px; color: #555; font-style: italic; }
.mark { color: #a33; font-weight: 600; }
tr.corrected td { color: #777; text-decoration: line-through; text-decoration-color: #c99; }
tr.corrected td.marks { text-decoration: none; }
.changed { background: #fff4d6; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; }
svg .year { font-size: 11px; fill: #555; }
svg .lane { font-size: 12px; fill: #333; text-anchor: end; font-weight: 600; }
svg .in { font-size: 11px; fill: #fff; }
svg .under { font-size: 10px; fill: #333; text-anchor: middle; }
svg .grid { stroke: #e4e4e4; stroke-width: 1; }
svg .sep { stroke: #f0f0f0; stroke-width: 1; }
svg .asof { stroke: #c0392b; stroke-width: 1.5; }
svg .asof-label { font-size: 11px; fill: #c0392b; text-anchor: end; }
svg .known { stroke: #1f5fa8; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .known-label { font-size: 11px; fill: #1f5fa8; }
.legend { font: 12px "DejaVu Sans", Arial, sans-serif; color: #444; margin-top: 4px; }
.legend span { display: inline-block; margin-right: 14px; }
.sw { display: inline-block; width: 11px; height: 11px; vertical-align: -1px; margin-right: 4px;
      border: 1px solid #444; }
footer { margin-top: 30px; border-top: 1px solid #bbb; padding-top: 8px;
         font: 11px "DejaVu Sans", Arial, sans-serif;
         color: #666; }
"""


def _figures(data: dict[str, Any]) -> list[tuple[str, str]]:
    arrears = data["arrears"]
    fund = timeline.fund_label(data["fund"]) if data["fund"] else "not affiliated"
    undecided = "not decided yet" if data["affiliated"] else "—"
    rows = [
        ("Obligation", f"{data['obligation']} ({data['obligation_rule']})"),
        ("Care fund", fund + (f", {data['kind']}" if data["kind"] else "")),
        ("Affiliated since", data["affiliated_since"] or "—"),
        ("Joined on time (R-AFF-2)", yes_no(data["joined_on_time"], undecided)),
        ("Eligible for a care budget",
         yes_no(data["eligible"]) + (f", from {data['eligible_from']}" if data["eligible_from"] else "")
         + f" ({', '.join(data['eligibility_rules'])})"),
        ("Premiums still due", eur(arrears["premiums_cents"])
         + (f" ({and_list(arrears['unpaid_years'])})" if arrears["unpaid_years"] else "")),
        ("Fines still due", eur(arrears["fines_cents"])),
        ("Total owed", eur(arrears["total_cents"])),
        ("Credit", eur(data["credit_cents"])),
    ]  # fmt: skip
    if data.get("unclaimed_years"):
        rows.append(("Never claimed (R-PREM-9)", and_list(data["unclaimed_years"])))
    if data.get("direct_debit"):
        rows.append(("Direct debit", mandate(data["direct_debit"])))
    if data["pending_switch"]:
        rows.append(
            ("Pending switch", f"to {data['pending_switch']['to']} on {data['pending_switch']['effective']}")
        )
    return rows


def _table(rows: list[tuple[str, str]], cls: str = "figures") -> str:
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _premium_table(status: Status) -> str:
    rows = []
    for year, ya in sorted(status.account.years.items()):
        rows.append(
            f"<tr><td>{year}</td><td class='num'>{eur(ya.due.amount_cents)}</td>"
            f"<td class='num'>{eur(ya.paid_cents)}</td><td class='num'>{eur(ya.outstanding_cents)}</td>"
            f"<td>{escape(ya.status)}</td></tr>"
        )
    for year, fine in sorted(status.account.fines.items()):
        rows.append(
            f"<tr><td>fine {year}</td><td class='num'>{eur(fine.fine.amount_cents)}</td>"
            f"<td class='num'>{eur(fine.paid_cents)}</td><td class='num'>{eur(fine.outstanding_cents)}</td>"
            f"<td>{escape(fine.status)}</td></tr>"
        )
    if not rows:
        return "<p>No premium has been claimed.</p>"
    head = "<tr><th>Year</th><th>Claimed</th><th>Paid</th><th>Still due</th><th>Status</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _trace_html(status: Status) -> str:
    items = []
    for step in trace(status):
        source = f'<span class="source">Source: {escape(step.source)}</span>' if step.source else ""
        items.append(f'<li>{escape(step.because)} <span class="rule">{escape(step.rule)}</span>{source}</li>')
    return f'<ol class="trace">{"".join(items)}</ol><p class="total">{escape(total_sentence(status))}</p>'


def _events_html(entries: list[timeline.Entry]) -> str:
    rows = []
    for x in entries:
        e = x.event
        marks = "; ".join(x.notes)
        cls = ' class="corrected"' if x.corrected else ""
        rows.append(
            f'<tr{cls}><td class="day">{e.on.isoformat()}</td><td>{escape(x.text)}</td>'
            f'<td class="marks"><span class="mark">{escape(marks)}</span></td>'
            f'<td class="day">{moment(e.recorded_at)}</td><td>{escape(e.clerk)}</td></tr>'
        )
    head = (
        "<tr><th>Effective</th><th>What happened</th><th>Corrected</th>"
        "<th>Recorded (UTC)</th><th>By</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _details(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Each claimed premium, letter and fine of ``status --json`` as one row in words."""
    rows = []
    for p in data["premiums"]:
        still = p["due_cents"] - p["paid_cents"]
        state = p["status"] if still == 0 else f"{p['status']}, {eur(still)} still due"
        rows.append(
            (f"Premium {p['year']}", f"{eur(p['due_cents'])} claimed, {eur(p['paid_cents'])} paid ({state})")
        )
    for letter in data["letters"]:
        rows.append(
            (f"Letter {letter['year']}", f"sent {letter['sent_on']} for {and_list(letter['premium_years'])}")
        )
    for fine in data["fines"]:
        rows.append((f"Fine {fine['year']}", f"{eur(fine['amount_cents'])}, {fine['status']}"))
    return rows


def knowledge_diff(then: Status, now: Status) -> list[tuple[str, str, str]]:
    """(figure, as known then, as known now) for every figure of the dossier that differs."""
    a = dict(_figures(then.to_json()) + _details(then.to_json()))
    b = dict(_figures(now.to_json()) + _details(now.to_json()))
    return [
        (k, a.get(k, "—"), b.get(k, "—")) for k in [*b, *(k for k in a if k not in b)] if a.get(k) != b.get(k)
    ]


def _knowledge_html(then: Status, now: Status, events: list[ev.Event], known_on: datetime) -> str:
    rows = knowledge_diff(then, now)
    if rows:
        body = "".join(
            f'<tr class="changed"><td>{escape(k)}</td><td>{escape(a)}</td><td>{escape(b)}</td></tr>'
            for k, a, b in rows
        )
        head = f"<tr><th>Figure</th><th>Known on {known_on:%Y-%m-%d %H:%M}</th><th>Known now</th></tr>"
        table = f"<table>{head}{body}</table>"
    else:
        table = "<p>Every figure was the same then as it is now.</p>"
    as_of = now.history.as_of
    by_id = {e.id: e for e in events}

    def about(e: ev.Event | None) -> bool:
        return e is not None and (e.on <= as_of or type(e) in ev.PERSON)

    # A retraction applies at every as-of date once recorded (``History.view``): one dated
    # after ``as_of`` changed the figures of that date too, so it is listed with the rest.
    later = [
        e
        for e in events
        if e.recorded_at > known_on
        and (about(e) or (type(e) is ev.EventRetracted and about(by_id.get(e.target_id))))
    ]
    if later:
        found = timeline.entries(later, max(e.on for e in later))
        for x in found:  # what a retraction retracted was mostly recorded before: named in full
            if type(x.event) is ev.EventRetracted:
                x.text = timeline.describe(x.event, by_id.get)
        learned = (
            "<p>Recorded after that moment (effective on or before the date of the dossier, and the "
            "retractions of such facts):</p>" + _events_html(found)
        )
    else:
        learned = "<p>Nothing about this date was recorded after that moment.</p>"
    return (
        f"<p>What the fund knew on {day(known_on.date())} at {known_on:%H:%M} UTC, compared with what it "
        f"knows now, both for {day(now.history.as_of)}.</p>{table}{learned}"
    )


LEGEND = (
    '<div class="legend">'
    '<span><i class="sw" style="background:#3f6fa6"></i>Flanders</span>'
    '<span><i class="sw" style="background:#7b5ea7"></i>Brussels</span>'
    '<span><i class="sw" style="background:#2e7d4f"></i>compulsory / paid</span>'
    '<span><i class="sw" style="background:#8cc59f"></i>voluntary</span>'
    '<span><i class="sw" style="background:#e08a00"></i>incomplete</span>'
    '<span><i class="sw" style="background:#c0392b"></i>unpaid / open</span>'
    '<span><i class="sw" style="background:#9a9a9a"></i>annulled / reversed</span>'
    "<span>| affiliation request · ● claim · ▲ payment · ■ letter · ◆ fine · ○ appeal · "
    "✕ cancellation or correction</span>"
    "</div>"
)


def render(
    insz: str, events: list[ev.Event], as_of: date, known_on: datetime | None, generated: datetime
) -> str:
    """The dossier of one member as of ``as_of`` (as known now), compared with ``known_on``."""
    now = Status.of(History.view(insz, events, as_of))
    reg = now.history.registration  # refuses an unknown person (R-OBL-1)
    entries = timeline.entries(events, as_of)
    sections = [
        "<h2>1. Status</h2>",
        _table(_figures(now.to_json())),
        "<h2>2. Timeline</h2>",
        timeline_svg(now, entries, known_on),
        LEGEND,
        "<h2>3. Premiums and fines</h2>",
        _premium_table(now),
        "<h2>4. How each figure follows from the events</h2>",
        _trace_html(now),
    ]
    if known_on is not None:
        then_view = History.view(insz, events, as_of, known_on)
        if then_view.is_registered:
            known = _knowledge_html(Status.of(then_view), now, events, known_on)
        else:
            when = f"{day(known_on.date())} at {known_on:%H:%M} UTC"
            known = f"<p>On {when} the fund did not know this person yet.</p>"
        sections += ["<h2>5. What the fund knew then</h2>", known]
    sections += [f"<h2>{6 if known_on else 5}. Events</h2>", _events_html(entries)]
    title = f"Case dossier {insz_label(insz)}"
    born = f"Born {day(reg.born)}" + (
        f" (corrected; registered as {day(now.history.registered.born)})"
        if reg.born != now.history.registered.born
        else ""
    )
    meta = f"{born} · health fund {escape(reg.health_fund)} · situation on {day(as_of)}" + (
        f" · compared with what was known on {moment(known_on)} UTC" if known_on else ""
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f'<body><main><header><div class="kicker">Flemish care insurance · case dossier</div>'
        f'<h1>{escape(heading(now))}</h1><div class="meta">INSZ {insz_label(insz)} · {meta}</div></header>'
        f"{''.join(sections)}"
        f"<footer>Drawn up on {moment(generated)} UTC from the fund's event ledger. Every figure is derived "
        "from the recorded events by the rules named beside it (R-…); amounts in euro.</footer>"
        "</main></body></html>\n"
    )
