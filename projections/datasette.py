"""Datasette metadata for the reporting database: the data dictionary (every table and
column described), canned queries, hidden internal tables, and a dashboard
(datasette-dashboards, Vega-Lite) filtered by fund and year.

Every canned query and chart reads a summary table or an indexed column, so it answers
instantly however many members the fund has (``tests/test_reporting.py`` checks each
plan; ``bench/reporting_queries.py`` times them on a large database).

``zorgkas serve-report reporting.sqlite`` serves it; ``--metadata-out`` only writes the
metadata so it can be used with ``datasette reporting.sqlite -m metadata.json``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ledger.errors import BadInput
from ledger.identity import FUNDS
from projections.report_schema import (
    APP,
    INTERNAL,
    NO_FUND,
    POSITION,
    SCHEMA_VERSION,
    SUMMARY_TABLES,
    TABLES,
    VIEWS,
    view_columns,
)
from projections.report_targets import classify_sqlite

DASHBOARD = "zorgkas"

QUERIES: dict[str, dict[str, str]] = {
    "arrears_by_year": {
        "title": "Arrears by year",
        "description": "Premium arrears and open fines (euro) per premium year, all funds.",
        "sql": "SELECT year, ROUND(SUM(arrears_cents) / 100.0, 2) AS arrears_eur, "
        "ROUND(SUM(open_fines_cents) / 100.0, 2) AS open_fines_eur "
        "FROM arrears_by_fund_year GROUP BY year ORDER BY year",
    },
    "claims_and_collections": {
        "title": "Claims and collections per year",
        "description": "Premiums claimed, collected and still owed (euro) per premium year.",
        "sql": "SELECT year, claims, claimed_eur, collected_eur, arrears_eur "
        "FROM claims_and_collections_per_year ORDER BY year",
    },
    "members_in_arrears": {
        "title": "Members in arrears",
        "description": "The 500 members owing most (premiums and fines), largest first.",
        "sql": "SELECT member, fund, unpaid_years, total_eur AS owed_eur FROM members "
        "WHERE total_cents > 0 ORDER BY total_cents DESC LIMIT 500",
    },
    "letters_without_payment": {
        "title": "Letters not (fully) paid",
        "description": "Registered letters with a listed premium still unpaid (latest years first).",
        "sql": "SELECT member, year, fund, premium_years, unpaid_years, unpaid_eur "
        "FROM letters WHERE open = 1 ORDER BY year DESC LIMIT 1000",
    },
    "members_becoming_eligible_by_year": {
        "title": "Members becoming eligible",
        "description": "Members by the year they become eligible for a care budget, all funds.",
        "sql": "SELECT year, SUM(members) AS members FROM summary_eligible GROUP BY year ORDER BY year",
    },
}

_FUND_YEAR = "WHERE 1 = 1 [[ AND fund = :fund ]] [[ AND year >= :year_from ]] [[ AND year <= :year_to ]]"
_YEAR = "WHERE 1 = 1 [[ AND year >= :year_from ]] [[ AND year <= :year_to ]]"


# One colour per care fund in every chart (Vega-Lite would colour each chart by its own funds).
_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2", "#72b7b2", "#9d9d9d")
FUND_COLOURS = dict(zip((*FUNDS, NO_FUND), _COLOURS, strict=True))
_FUND_COLOUR = {
    "field": "fund",
    "type": "nominal",
    "title": "Care fund",
    "scale": {"domain": list(FUND_COLOURS), "range": list(FUND_COLOURS.values())},
}


def _by_fund(measure: str, title: str, source: str, year: str = "Premium year") -> dict[str, Any]:
    return {
        "query": f"SELECT CAST(year AS TEXT) AS year, fund, {measure} AS value FROM {source} {_FUND_YEAR} "
        "ORDER BY year, fund",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": year},
                "y": {"field": "value", "type": "quantitative", "title": title},
                "color": _FUND_COLOUR,
            },
        },
    }


# SVG rather than canvas: marks are elements a screen reader, a test or "save as" can see.
_EMBED = {"embedOptions": {"renderer": "svg", "actions": {"export": True, "source": False, "editor": False}}}


def _chart(title: str, db: str, spec: dict[str, Any]) -> dict[str, Any]:
    display = {**spec["display"], "usermeta": _EMBED}
    return {"title": title, "db": db, "library": "vega-lite", **spec, "display": display}


def charts(db: str) -> dict[str, dict[str, Any]]:
    collections = {
        "query": "SELECT CAST(year AS TEXT) AS year, 'claimed' AS measure, SUM(claimed_cents) / 100.0 AS eur "
        f"FROM summary_claims {_FUND_YEAR} GROUP BY year UNION ALL "
        "SELECT CAST(year AS TEXT), 'collected', SUM(collected_cents) / 100.0 "
        f"FROM summary_claims {_FUND_YEAR} GROUP BY year ORDER BY 1, 2",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": "Premium year"},
                "xOffset": {"field": "measure"},
                "y": {"field": "eur", "type": "quantitative", "title": "Amount (euro)"},
                "color": {"field": "measure", "type": "nominal", "title": "Premiums"},
            },
        },
    }
    eligible = {
        "query": "SELECT CAST(year AS TEXT) AS year, fund, members FROM summary_eligible "
        f"{_FUND_YEAR} ORDER BY year, fund",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": "Year of eligibility"},
                "y": {"field": "members", "type": "quantitative", "title": "Members"},
                "color": _FUND_COLOUR,
            },
        },
    }
    letters = {
        "query": "SELECT CAST(year AS TEXT) AS year, 'letters' AS what, SUM(letters) AS number "
        f"FROM summary_letters {_FUND_YEAR} GROUP BY year UNION ALL "
        "SELECT CAST(year AS TEXT), 'fines', SUM(fines) FROM summary_fines "
        f"{_FUND_YEAR} GROUP BY year ORDER BY 1, 2",
        "display": {
            # Bars side by side: as lines, a year with as many fines as letters hid one of them.
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": "Year of the letter"},
                "xOffset": {"field": "what"},
                "y": {"field": "number", "type": "quantitative", "title": "Number sent or imposed"},
                "color": {"field": "what", "type": "nominal", "title": "Registered letters and fines"},
            },
        },
    }
    return {
        "arrears": _chart("Premium arrears by year and fund (euro)", db,
                          _by_fund("arrears_cents / 100.0", "Premium arrears (euro)", "summary_claims")),
        "fines": _chart("Open fines by year and fund (euro)", db,
                        _by_fund("open_fines_cents / 100.0", "Open fines (euro)", "summary_fines",
                                 "Year of the letter")),
        "collections": _chart("Premiums claimed against collected, per year (euro)", db, collections),
        "letters": _chart("Registered letters and fines per year", db, letters),
        "eligible": _chart("Members becoming eligible for a care budget, per year", db, eligible),
    }  # fmt: skip


def _columns(table: Any) -> dict[str, str]:
    out = {}
    for c in table.columns:
        out[c.name] = c.doc
        if c.eur:
            out[c.name.removesuffix("_cents") + "_eur"] = c.doc + " In euro."
    return out


def metadata(db_name: str = "reporting") -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for t in [*TABLES, *SUMMARY_TABLES]:
        tables[t.name] = {"title": t.name.replace("_", " "), "description": t.doc, "columns": _columns(t)}
    for v, columns in view_columns().items():
        tables[v] = {"title": v.replace("_", " "), "description": VIEWS[v][0], "columns": columns}
    for name, doc in INTERNAL.items():
        tables[name] = {"description": doc, "hidden": True}
    dashboard = {
        "title": "Arrears, fines, claims and collections",
        "description": "Premiums claimed and collected, arrears and fines by year and care fund, "
        "and members becoming eligible for a care budget. Filter by fund and years.",
        "filters": {
            "fund": {
                "name": "Care fund",
                "type": "select",
                "db": db_name,
                "query": "SELECT DISTINCT fund FROM summary_claims ORDER BY fund",
            },
            "year_from": {"name": "From year", "type": "number", "min": 2001, "max": 2100},
            "year_to": {"name": "Until year", "type": "number", "min": 2001, "max": 2100},
        },  # fmt: skip
        "layout": [["arrears", "fines"], ["collections", "letters"], ["eligible", "eligible"]],
        "charts": charts(db_name),
    }
    return {
        "title": "zorgkas reporting",
        "description_html": (
            "Projections of the zorgkas event ledger (Flemish care insurance): members are "
            "pseudonymized, amounts are in cents with a euro column beside them. "
            f'<a href="/-/dashboards/{DASHBOARD}">Open the dashboard</a> of arrears, fines, '
            "claims and collections by year and fund."
        ),
        "databases": {db_name: {"tables": tables, "queries": QUERIES}},
        "plugins": {"datasette-dashboards": {DASHBOARD: dashboard}},
    }


def check_reporting_file(path: str) -> None:
    """Refuse (exit 2) anything but a zorgkas reporting database of this schema."""
    kind, names = classify_sqlite(path)
    if kind != "sqlite" or POSITION not in names:
        what = "it is not a SQLite database" if kind == "not-sqlite" else "it has no zorgkas _position table"
        if {"stored_events", "zorgkas_events"} & set(names):
            what = "it is an event store"
        raise BadInput(
            "FILE", path, f"is not a zorgkas reporting database ({what}); make one with `zorgkas report --to`"
        )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = conn.execute(f"SELECT * FROM {POSITION}")
        columns = [c[0] for c in cursor.description]
        row = cursor.fetchone()
    finally:
        conn.close()
    found = dict(zip(columns, row, strict=True)) if row else {}
    if found.get("app") != APP or found.get("schema_version") != SCHEMA_VERSION:
        raise BadInput(
            "FILE", path, f"is not a zorgkas reporting database of schema {SCHEMA_VERSION}; "
            "run `zorgkas report --to` on it first (it rebuilds an older one)",
        )  # fmt: skip


# Datasette's facet suggestions try a query per column of a table page (each up to
# 50 ms): on a members table of millions that alone passes a second. Analysts still
# facet by a column on demand (``?_facet=fund``). A --setting of the same name wins.
DEFAULT_SETTINGS = {"suggest_facets": "off"}


def datasette_command(
    python: str, file: str, metadata_path: str, host: str, port: int, settings: tuple[tuple[str, str], ...]
) -> list[str]:
    cmd = [python, "-m", "datasette", "serve", file, "-m", metadata_path, "--host", host, "--port", str(port)]
    chosen = {**DEFAULT_SETTINGS, **dict(settings)}
    for name, value in chosen.items():
        cmd += ["--setting", name, value]
    return cmd
