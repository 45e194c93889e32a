"""Datasette metadata for the reporting database: titles, descriptions, canned queries,
and a dashboard (datasette-dashboards, Vega-Lite) of arrears and fines by year and fund.

``zorgkas serve-report reporting.sqlite`` serves it; ``--metadata-out`` only writes the
metadata so it can be used with ``datasette reporting.sqlite -m metadata.json``.
"""

from __future__ import annotations

from typing import Any

TABLE_DOCS = {
    "members": "One row per member: status as of the extract's date (pseudonymized key).",
    "affiliation_periods": "Membership periods: fund, kind, start and end (R-AFF-1..4).",
    "premiums": "One row per member and premium year: due, paid, status (R-PREM-1..8).",
    "letters": "Registered letters for unpaid premiums (R-LET-1).",
    "fines": "Administrative fines and their status: open, paid or annulled (R-FINE-1, R-FINE-2).",
    "budgets": "Monthly care budgets granted (R-ELIG-1..3).",
    "fund_switches": "Fund switch requests and when they take effect (R-SW-1).",
    "arrears_by_fund_year": "Premiums due, paid and in arrears, and open fines, per fund and year.",
    "letters_fines_per_year": "Letters sent and fines imposed per year and fund.",
    "members_becoming_eligible": "Members by the year they become eligible for a care budget.",
    "_position": "Where in the event log this extract stands, and for which --as-of.",
}

QUERIES = {
    "arrears_by_year": {
        "title": "Arrears by year",
        "description": "Premium arrears and open fines (euro) per premium year, all funds.",
        "sql": "SELECT year, SUM(arrears_cents) / 100.0 AS arrears_eur, "
        "SUM(open_fines_cents) / 100.0 AS open_fines_eur FROM arrears_by_fund_year "
        "GROUP BY year ORDER BY year",
    },
    "members_in_arrears": {
        "title": "Members in arrears",
        "description": "Members owing premiums or fines, largest first.",
        "sql": "SELECT member, fund, unpaid_years, total_cents / 100.0 AS owed_eur FROM members "
        "WHERE total_cents > 0 ORDER BY total_cents DESC LIMIT 500",
    },
    "letters_without_payment": {
        "title": "Letters not (fully) paid",
        "description": "Letters whose listed premiums are still unpaid.",
        "sql": "SELECT l.member, l.year, l.fund, l.premium_years, l.amount_cents / 100.0 AS listed_eur "
        "FROM letters l JOIN members m ON m.member = l.member WHERE m.premiums_cents > 0",
    },
}


CHART_QUERY = (
    "SELECT CAST(year AS TEXT) AS year, fund, arrears_cents / 100.0 AS arrears_eur, "
    "open_fines_cents / 100.0 AS open_fines_eur FROM arrears_by_fund_year ORDER BY year, fund"
)


def _bar_chart(title: str, db_name: str, measure: str) -> dict[str, Any]:
    """A Vega-Lite bar chart of one measure by year, coloured by fund."""
    return {
        "title": title,
        "db": db_name,
        "query": CHART_QUERY,
        "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal"},
                "y": {"field": measure, "type": "quantitative"},
                "color": {"field": "fund", "type": "nominal"},
            },
        },
    }


def metadata(db_name: str = "reporting") -> dict[str, Any]:
    tables = {name: {"title": name.replace("_", " "), "description": doc} for name, doc in TABLE_DOCS.items()}
    dashboard = {
        "title": "Arrears and fines",
        "description": "Premium arrears and open fines by year and care fund.",
        "layout": [["arrears", "fines"]],
        "charts": {
            "arrears": _bar_chart("Premium arrears by year and fund (EUR)", db_name, "arrears_eur"),
            "fines": _bar_chart("Open fines by year and fund (EUR)", db_name, "open_fines_eur"),
        },
    }
    return {
        "title": "zorgkas reporting",
        "description": "Projections of the zorgkas event ledger (Flemish care insurance). "
        "Amounts in cents unless named _eur; members are pseudonymized.",
        "databases": {db_name: {"tables": tables, "queries": QUERIES}},
        "plugins": {"datasette-dashboards": {"zorgkas": dashboard}},
    }
