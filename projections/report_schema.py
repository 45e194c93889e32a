"""The reporting database's schema, defined once: tables, columns, their meaning, the
summary tables and views, for SQLite and PostgreSQL.

Every column carries its description here, so the data dictionary in the Datasette
metadata, PostgreSQL's ``COMMENT ON`` and ``docs/reporting.md`` come from one place
(``data_dictionary_markdown`` writes the doc; a test keeps it current).

Types are named by meaning (``cents``, ``date``, ``bool``, ``json``…) and mapped per
dialect: PostgreSQL gets real ``date``, ``boolean``, ``integer``/``bigint`` and
``jsonb``; SQLite stores dates as ISO text, flags as 0/1 and lists as JSON text. Each
``…_cents`` column that analysts read has a generated ``…_eur`` column beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SCHEMA_VERSION = 2
APP = "zorgkas-reporting"
PG_SCHEMA = "zorgkas_reporting"
NO_FUND = "(none)"  # the fund key of a figure that falls outside any membership


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # key | text | int | year | cents | date | bool | json
    doc: str
    eur: bool = False  # a generated euro column beside this cents column


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    per_member: bool = True  # rows belong to one member (deleted and rewritten with it)

    @property
    def stored(self) -> list[str]:
        return [c.name for c in self.columns]


def C(name: str, kind: str, doc: str, eur: bool = False) -> Column:
    return Column(name, kind, doc, eur)


MEMBER = C("member", "key", "The member's pseudonym (keyed hash of the INSZ; see members.member).")

TABLES: tuple[Table, ...] = (
    Table(
        "members",
        "One row per registered person: status on the extract's date (the nightly run: today).",
        (
            C("member", "key", "Pseudonym of the INSZ (HMAC-SHA256 with the fund's key, 20 hex digits)."),
            C("insz", "text", "The INSZ number itself, only in an extract made with --with-insz."),
            C("born_year", "year", "Year of birth (as corrected by correct-registration, if it was)."),
            C("region", "text", "Region of residence: flanders, brussels, wallonia or abroad."),
            C("situation", "text", "Insured situation (resident, works-in-flanders, …)."),
            C("health_fund", "text", "Health insurance fund as registered (NONE when none)."),
            C("obligation", "text", "compulsory, voluntary, exempt or excluded (R-OBL-1..7)."),
            C("affiliated", "bool", "Member of a care fund on the date."),
            C("fund", "text", "Care fund on the date (empty when not affiliated)."),
            C("kind", "text", "Kind of membership: compulsory, voluntary, automatic or early."),
            C("affiliated_since", "date", "Start of the unbroken membership (R-ELIG-2)."),
            C(
                "joined_on_time",
                "bool",
                "First premiums paid within the joining window (R-AFF-2); empty while undecided.",
            ),
            C("eligible", "bool", "May receive a care budget on the date (R-ELIG-1..3)."),
            C("eligible_from", "date", "Date from which the member is eligible for a care budget."),
            C("died_on", "date", "Date of death, if recorded."),
            C("premiums_cents", "cents", "Claimed premiums still unpaid (arrears).", eur=True),
            C("fines_cents", "cents", "Open administrative fines.", eur=True),
            C("total_cents", "cents", "Premiums and fines owed together.", eur=True),
            C("credit_cents", "cents", "Money paid beyond what is owed (R-PREM-6).", eur=True),
            C("unpaid_years", "json", "Claimed premium years unpaid or incomplete (JSON array)."),
            C(
                "unclaimed_years",
                "json",
                "Years of membership the fund has not claimed (R-PREM-9; JSON array).",
            ),
            C("pending_switch_to", "text", "Fund of a switch that takes effect later (R-SW-1)."),
            C("pending_switch_effective", "date", "When that switch takes effect."),
        ),
        primary_key=("member",),
        indexes=(("fund",), ("total_cents",), ("eligible_from",)),
    ),
    Table(
        "affiliation_periods",
        "Membership periods: fund, kind, first and last day (R-AFF-1..4, R-SW-1).",
        (
            MEMBER,
            C("fund", "text", "Care fund."),
            C("kind", "text", "compulsory, voluntary, automatic or early."),
            C("start", "date", "First day of membership."),
            C("end_date", "date", "Last day of membership; empty while it runs."),
            C("opened_by_rule", "text", "The rule that opened the period (R-AFF-1, R-AFF-3…)."),
        ),
        indexes=(("member",), ("fund",)),
    ),
    Table(
        "claims",
        "One row per claimed premium year (R-PREM-9): amount, what was paid, status.",
        (
            MEMBER,
            C("year", "year", "Premium year."),
            C("fund", "text", "Care fund that claimed it (the fund on the day it became owed)."),
            C("amount_cents", "cents", "Amount claimed, after recorded adjustments.", eur=True),
            C("paid_cents", "cents", "Amount allocated to this year so far (R-PREM-7).", eur=True),
            C("outstanding_cents", "cents", "Still unpaid.", eur=True),
            C("status", "text", "paid, incomplete (R-PREM-6) or unpaid."),
            C("reduced", "bool", "Reduced premium for the increased allowance (R-PREM-1)."),
            C("claimed_on", "date", "Date of the recorded claim (invitation or budget deduction)."),
            C("owed_from", "date", "Date from which the premium is owed."),
            C("due_on", "date", "Payment deadline of the year (30 April, R-PREM-2)."),
            C("paid_on", "date", "Date the year became fully paid."),
            C("source", "text", "Public source of the schedule's amount, as recorded on the claim."),
            C("confirmed", "bool", "The schedule's amount is confirmed by its source."),
            C("adjustments", "int", "Number of recorded adjustments of the claim."),
        ),
        primary_key=("member", "year"),
        indexes=(("fund", "year"), ("year",)),
    ),
    Table(
        "payments",
        "Money received: value date, method, bank reference, and whether the bank reversed it.",
        (
            MEMBER,
            C("paid_on", "date", "Value date of the payment."),
            C("amount_cents", "cents", "Amount received.", eur=True),
            C("method", "text", "transfer, direct-debit or budget-deduction (R-PREM-5, R-PREM-8)."),
            C("bank_ref", "text", "The bank's reference of the transfer."),
            C("ogm", "text", "Structured message (OGM/VCS) given with the payment."),
            C("fine_year", "year", "Year of the fine this payment was tied to (pay --fine-year)."),
            C("reversed", "bool", "The bank took the payment back."),
            C("reversed_on", "date", "Date of the reversal."),
            C("reversal_reason", "text", "Reason the bank gave for the reversal."),
        ),
        indexes=(("member",), ("paid_on",)),
    ),
    Table(
        "letters",
        "Registered letters listing unpaid premiums (R-LET-1), and whether they are paid since.",
        (
            MEMBER,
            C("year", "year", "Year of the letter."),
            C("fund", "text", "Care fund that sent it."),
            C("sent_on", "date", "Date sent."),
            C("premium_years", "json", "Premium years listed (JSON array)."),
            C("amount_cents", "cents", "Amount listed in the letter.", eur=True),
            C("unpaid_years", "json", "Listed years whose premium is still unpaid (JSON array)."),
            C("unpaid_cents", "cents", "What is still unpaid of the listed premiums.", eur=True),
            C("open", "bool", "A listed premium is still unpaid."),
        ),
        indexes=(("member",), ("year", "fund"), ("open", "year")),
    ),
    Table(
        "fines",
        "Administrative fines (R-FINE-1) and their status: open, paid or annulled (R-FINE-2).",
        (
            MEMBER,
            C("year", "year", "Year of the letter the fine follows."),
            C("fund", "text", "Care fund of the member when it was imposed."),
            C("imposed_on", "date", "Date imposed."),
            C("amount_cents", "cents", "Amount of the fine.", eur=True),
            C("paid_cents", "cents", "Paid on it so far.", eur=True),
            C("premium_years", "json", "Premium years it concerns (JSON array)."),
            C("status", "text", "open, paid or annulled."),
            C("annulled_by", "text", "Rule that annulled it (R-FINE-1 paid in time, R-FINE-2 appeal)."),
        ),
        primary_key=("member", "year"),
        indexes=(("fund", "year"), ("year",)),
    ),
    Table(
        "appeals",
        "Decisions on appeals against fines (R-FINE-2).",
        (
            MEMBER,
            C("fine_year", "year", "Year of the fine appealed."),
            C("decided_on", "date", "Date of the decision."),
            C("upheld", "bool", "The appeal was upheld: the fine is annulled."),
        ),
        indexes=(("member",),),
    ),
    Table(
        "exemptions",
        "Exemptions from premiums and fines: debt settlement, bankruptcy, insolvency (R-PREM-4).",
        (
            MEMBER,
            C("reason", "text", "debt-settlement, bankruptcy, insolvency or death."),
            C("start", "date", "First day of the exemption."),
            C("until", "date", "Last day; empty when open-ended."),
            C("evidence", "text", "What the exemption rests on."),
        ),
        indexes=(("member",),),
    ),
    Table(
        "deaths",
        "Recorded deaths (R-PREM-4: no claim, letter or fine afterwards).",
        (MEMBER, C("died_on", "date", "Date of death.")),
        indexes=(("member",),),
    ),
    Table(
        "cancellations",
        "Voluntary memberships cancelled for unpaid premiums (R-AFF-4).",
        (
            MEMBER,
            C("decided_on", "date", "Date of the cancellation."),
            C("until", "date", "Last day of membership (the cancellation is backdated)."),
            C("unpaid_years", "json", "Premium years left unpaid (JSON array)."),
        ),
        indexes=(("member",),),
    ),
    Table(
        "allowance_periods",
        "Periods with and without the increased allowance, as reported by the health fund (R-PREM-1).",
        (
            MEMBER,
            C("entitled", "bool", "Entitled to the increased allowance in this period."),
            C("start", "date", "First day."),
            C("end_date", "date", "Last day; empty while it runs."),
        ),
        indexes=(("member",),),
    ),
    Table(
        "budgets",
        "Monthly care budgets granted (R-ELIG-1..3, R-PREM-5).",
        (
            MEMBER,
            C("kind", "text", "severe-dependency, elderly or disability."),
            C("start", "date", "First day paid."),
            C("until", "date", "Last day; empty when open-ended."),
            C("monthly_cents", "cents", "Monthly amount.", eur=True),
        ),
        indexes=(("member",),),
    ),
    Table(
        "fund_switches",
        "Fund switch requests and when they take effect (R-SW-1).",
        (
            MEMBER,
            C("from_fund", "text", "Fund left."),
            C("to_fund", "text", "Fund joined."),
            C("requested_on", "date", "Date the request was received."),
            C("effective", "date", "Date the new fund counts from."),
        ),
        indexes=(("member",), ("effective",)),
    ),
)

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


@dataclass(frozen=True)
class Summary:
    """A table of totals kept up to date by the report run itself: each run subtracts the
    old rows of the members it rewrites and adds their new rows, in the same transaction
    as the rows and the position."""

    name: str
    doc: str
    source: str
    keys: tuple[tuple[str, str, str, str], ...]  # (name, kind, sql expression, doc)
    measures: tuple[tuple[str, str, str], ...]  # (name, sql of the summand per row, doc)
    where: str = ""
    eur: tuple[str, ...] = field(default_factory=tuple)

    def table(self) -> Table:
        cols = [Column(k, kind, doc) for k, kind, _expr, doc in self.keys]
        cols += [Column(m, "cents" if m.endswith("_cents") else "bigint", doc, m in self.eur)
                 for m, _expr, doc in self.measures]  # fmt: skip
        return Table(self.name, self.doc, tuple(cols), tuple(k for k, *_ in self.keys), per_member=False)


def _fund(col: str = "fund") -> str:
    return f"COALESCE({col}, '{NO_FUND}')"


def _flag(expr: str) -> str:
    return f"CASE WHEN {expr} THEN 1 ELSE 0 END"


SUMMARIES: tuple[Summary, ...] = (
    Summary(
        "summary_claims",
        "Claimed premiums per fund and year: claimed, collected, in arrears (kept by the report run).",
        "claims",
        (("fund", "text", _fund(), "Care fund that claimed."), ("year", "year", "year", "Premium year.")),
        (
            ("claims", "1", "Premiums claimed."),
            ("claimed_cents", "amount_cents", "Amount claimed."),
            ("collected_cents", "paid_cents", "Amount paid on them so far."),
            ("arrears_cents", "outstanding_cents", "Amount still unpaid."),
            ("unpaid_claims", _flag("status <> 'paid'"), "Premiums unpaid or incomplete."),
        ),
        eur=("claimed_cents", "collected_cents", "arrears_cents"),
    ),
    Summary(
        "summary_fines",
        "Fines per fund and year: imposed, open, annulled (kept by the report run).",
        "fines",
        (("fund", "text", _fund(), "Care fund."), ("year", "year", "year", "Year of the letter fined.")),
        (
            ("fines", "1", "Fines imposed."),
            (
                "fines_cents",
                _flag("status <> 'annulled'") + " * amount_cents",
                "Amount of the fines not annulled.",
            ),
            ("open_fines", _flag("status = 'open'"), "Fines still open."),
            ("open_fines_cents", _flag("status = 'open'") + " * (amount_cents - paid_cents)", "Open amount."),
            (
                "annulled_fines",
                _flag("status = 'annulled'"),
                "Fines annulled (paid in time or appeal upheld).",
            ),
        ),
        eur=("fines_cents", "open_fines_cents"),
    ),
    Summary(
        "summary_letters",
        "Registered letters per fund and year, and how many still list an unpaid premium.",
        "letters",
        (("fund", "text", _fund(), "Care fund."), ("year", "year", "year", "Year of the letter.")),
        (
            ("letters", "1", "Letters sent."),
            ("letters_cents", "amount_cents", "Amount listed."),
            ("open_letters", _flag("open"), "Letters that still list an unpaid premium."),
            ("open_cents", "unpaid_cents", "Unpaid amount of the listed premiums."),
        ),
        eur=("letters_cents", "open_cents"),
    ),
    Summary(
        "summary_eligible",
        "Members by the year they become eligible for a care budget, per fund.",
        "members",
        (
            ("fund", "text", _fund(), "Care fund on the extract's date."),
            ("year", "year", "{year_of_eligible_from}", "Year the member becomes eligible."),
        ),  # fmt: skip
        (("members", "1", "Members."),),
        where="eligible_from IS NOT NULL",
    ),
    Summary(
        "summary_payments",
        "Payments received per calendar year and method, and reversals.",
        "payments",
        (
            ("year", "year", "{year_of_paid_on}", "Calendar year of the value date."),
            ("method", "text", "method", "Payment method."),
        ),  # fmt: skip
        (
            ("payments", "1", "Payments received."),
            ("received_cents", "amount_cents", "Amount received."),
            ("reversals", _flag("reversed"), "Payments the bank took back."),
            ("reversed_cents", _flag("reversed") + " * amount_cents", "Amount taken back."),
        ),
        eur=("received_cents", "reversed_cents"),
    ),
)

SUMMARY_TABLES: tuple[Table, ...] = tuple(s.table() for s in SUMMARIES)


def _eur(expr: str) -> str:
    return f"ROUND({expr} / 100.0, 2)"


VIEWS: dict[str, tuple[str, str]] = {
    "arrears_by_fund_year": (
        "Premiums claimed, collected and in arrears, and open fines, per fund and premium year.",
        """SELECT k.fund, k.year, COALESCE(c.claims, 0) AS claims,
               COALESCE(c.claimed_cents, 0) AS claimed_cents,
               COALESCE(c.collected_cents, 0) AS collected_cents,
               COALESCE(c.arrears_cents, 0) AS arrears_cents,
               COALESCE(c.unpaid_claims, 0) AS unpaid_claims,
               COALESCE(f.open_fines, 0) AS open_fines,
               COALESCE(f.open_fines_cents, 0) AS open_fines_cents,
               ROUND(COALESCE(c.arrears_cents, 0) / 100.0, 2) AS arrears_eur,
               ROUND(COALESCE(f.open_fines_cents, 0) / 100.0, 2) AS open_fines_eur
        FROM (SELECT fund, year FROM summary_claims UNION SELECT fund, year FROM summary_fines) k
        LEFT JOIN summary_claims c ON c.fund = k.fund AND c.year = k.year
        LEFT JOIN summary_fines f ON f.fund = k.fund AND f.year = k.year""",
    ),
    "letters_fines_per_year": (
        "Registered letters sent and fines imposed per year and fund.",
        """SELECT k.year, k.fund, COALESCE(l.letters, 0) AS letters,
               COALESCE(l.open_letters, 0) AS open_letters, COALESCE(f.fines, 0) AS fines,
               COALESCE(f.fines_cents, 0) AS fines_cents,
               ROUND(COALESCE(f.fines_cents, 0) / 100.0, 2) AS fines_eur
        FROM (SELECT fund, year FROM summary_letters UNION SELECT fund, year FROM summary_fines) k
        LEFT JOIN summary_letters l ON l.fund = k.fund AND l.year = k.year
        LEFT JOIN summary_fines f ON f.fund = k.fund AND f.year = k.year""",
    ),
    "members_becoming_eligible": (
        "Members by the year they become eligible for a care budget, per fund.",
        "SELECT year, fund, members FROM summary_eligible",
    ),
    "claims_and_collections_per_year": (
        "Premiums claimed and collected per premium year, all funds (euro).",
        """SELECT year, SUM(claims) AS claims, SUM(claimed_cents) AS claimed_cents,
               SUM(collected_cents) AS collected_cents, SUM(arrears_cents) AS arrears_cents,
               ROUND(SUM(claimed_cents) / 100.0, 2) AS claimed_eur,
               ROUND(SUM(collected_cents) / 100.0, 2) AS collected_eur,
               ROUND(SUM(arrears_cents) / 100.0, 2) AS arrears_eur
        FROM summary_claims GROUP BY year""",
    ),
}


def view_columns() -> dict[str, dict[str, str]]:
    """Each view's columns with their meaning, taken from the summary columns they show."""
    import sqlite3

    docs: dict[str, str] = {}
    for t in SUMMARY_TABLES:
        for c in t.columns:
            docs.setdefault(c.name, c.doc)
            if c.eur:
                docs.setdefault(c.name.removesuffix("_cents") + "_eur", c.doc + " In euro.")
    docs.update(year="Year (premium year, or year of the letter or of eligibility).", fund="Care fund.")
    conn = sqlite3.connect(":memory:")
    try:
        for statement in create_statements(SQLITE):
            conn.execute(statement)
        return {v: {r[1]: docs[r[1]] for r in conn.execute(f"PRAGMA table_info({v})")} for v in VIEWS}
    finally:
        conn.close()


# Internal tables, hidden from analysts.
POSITION = "_position"
CHANGES_ON = "_changes_on"
INTERNAL: dict[str, str] = {
    POSITION: "Which program wrote this database, its schema version, where in the event log it "
    "stands, and whether it is the nightly database or an extract (and of which date).",
    CHANGES_ON: "Nightly database only: for each member, the next date on which a figure "
    "changes with the calendar alone; the nightly run re-evaluates the members whose date has come.",
}


# -- dialects -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dialect:
    name: str
    types: dict[str, str]
    year_of: Callable[[str], str]
    qualify: Callable[[str], str]

    def col_sql(self, col: Column) -> list[str]:
        out = [f"{col.name} {self.types[col.kind]}"]
        if col.eur:
            eur = col.name.removesuffix("_cents") + "_eur"
            if self.name == "postgresql":
                out.append(f"{eur} numeric(14, 2) GENERATED ALWAYS AS ({col.name} / 100.0) STORED")
            else:
                out.append(f"{eur} REAL GENERATED ALWAYS AS (ROUND({col.name} / 100.0, 2)) VIRTUAL")
        return out


SQLITE = Dialect(
    "sqlite",
    {
        "key": "TEXT",
        "text": "TEXT",
        "int": "INTEGER",
        "year": "INTEGER",
        "cents": "INTEGER",
        "bigint": "INTEGER",
        "date": "TEXT",
        "bool": "INTEGER",
        "json": "TEXT",
    },  # fmt: skip
    lambda col: f"CAST(substr({col}, 1, 4) AS INTEGER)",
    lambda name: name,
)
POSTGRES = Dialect(
    "postgresql",
    {
        "key": "text",
        "text": "text",
        "int": "integer",
        "year": "integer",
        "cents": "bigint",
        "bigint": "bigint",
        "date": "date",
        "bool": "boolean",
        "json": "jsonb",
    },  # fmt: skip
    lambda col: f"CAST(EXTRACT(YEAR FROM {col}) AS integer)",
    lambda name: f"{PG_SCHEMA}.{name}",
)


def _expr(sql: str, d: Dialect) -> str:
    return sql.format(year_of_eligible_from=d.year_of("eligible_from"), year_of_paid_on=d.year_of("paid_on"))


def create_statements(d: Dialect) -> list[str]:
    """Drop everything of ours and create the schema (tables, indexes, views)."""
    q = d.qualify
    cascade = " CASCADE" if d.name == "postgresql" else ""  # an older schema's dependants go too
    out = [f"DROP VIEW IF EXISTS {q(v)}{cascade}" for v in VIEWS]
    for t in [*TABLES, *SUMMARY_TABLES][::-1]:
        out.append(f"DROP TABLE IF EXISTS {q(t.name)}{cascade}")
    out += [f"DROP TABLE IF EXISTS {q(n)}{cascade}" for n in (*INTERNAL, "premiums")]
    for t in [*TABLES, *SUMMARY_TABLES]:
        cols = [s for c in t.columns for s in d.col_sql(c)]
        if t.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(t.primary_key)})")
        if t.per_member and t.name != "members":
            cols.append(f"FOREIGN KEY (member) REFERENCES {q('members')} (member)")
        out.append(f"CREATE TABLE {q(t.name)} ({', '.join(cols)})")
        for idx in t.indexes:
            out.append(f"CREATE INDEX {t.name}_{'_'.join(idx)} ON {q(t.name)} ({', '.join(idx)})")
    date_t = d.types["date"]
    out.append(
        f"CREATE TABLE {q(POSITION)} (app TEXT NOT NULL, schema_version INTEGER NOT NULL, "
        "mode TEXT NOT NULL, position BIGINT NOT NULL, as_of TEXT, known_on TEXT, "
        "settings TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    out.append(
        f"CREATE TABLE {q(CHANGES_ON)} (member TEXT PRIMARY KEY, token TEXT NOT NULL, day {date_t} NOT NULL)"
    )
    out.append(f"CREATE INDEX _changes_on_day ON {q(CHANGES_ON)} (day)")
    out += view_statements(d)
    return out


def view_statements(d: Dialect) -> list[str]:
    return [f"CREATE VIEW {d.qualify(v)} AS {sql}" for v, (_doc, sql) in VIEWS.items()]


def comment_statements() -> list[str]:
    """PostgreSQL's data dictionary: ``COMMENT ON`` every table, view and column."""
    q = POSTGRES.qualify

    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    out = []
    for t in [*TABLES, *SUMMARY_TABLES]:
        out.append(f"COMMENT ON TABLE {q(t.name)} IS {lit(t.doc)}")
        for c in t.columns:
            out.append(f"COMMENT ON COLUMN {q(t.name)}.{c.name} IS {lit(c.doc)}")
            if c.eur:
                eur = c.name.removesuffix("_cents") + "_eur"
                out.append(f"COMMENT ON COLUMN {q(t.name)}.{eur} IS {lit(c.doc + ' In euro.')}")
    for v, columns in view_columns().items():
        out.append(f"COMMENT ON VIEW {q(v)} IS {lit(VIEWS[v][0])}")
        out += [f"COMMENT ON COLUMN {q(v)}.{name} IS {lit(doc)}" for name, doc in columns.items()]
    for name, doc in INTERNAL.items():
        out.append(f"COMMENT ON TABLE {q(name)} IS {lit(doc)}")
    return out


# -- keeping the summaries -------------------------------------------------------------------
def summary_rebuild(s: Summary, d: Dialect) -> str:
    keys = ", ".join(_expr(expr, d) for _n, _k, expr, _doc in s.keys)
    sums = ", ".join(f"SUM({_expr(expr, d)})" for _n, expr, _doc in s.measures)
    names = ", ".join([*(k for k, *_ in s.keys), *(m for m, *_ in s.measures)])
    where = f"WHERE {s.where}" if s.where else ""
    return (
        f"INSERT INTO {d.qualify(s.name)} ({names}) SELECT {keys}, {sums} "
        f"FROM {d.qualify(s.source)} {where} GROUP BY {keys}"
    )


def summary_apply(s: Summary, d: Dialect, batch: str, sign: int) -> list[str]:
    """Add (``sign`` 1) or subtract (-1) the rows of the members in ``batch``."""
    keys = ", ".join(_expr(expr, d) for _n, _k, expr, _doc in s.keys)
    sums = ", ".join(f"{sign} * SUM({_expr(expr, d)})" for _n, expr, _doc in s.measures)
    key_names = [k for k, *_ in s.keys]
    names = ", ".join([*key_names, *(m for m, *_ in s.measures)])
    where = f"WHERE {s.where}" if s.where else "WHERE true"
    sets = ", ".join(f"{m} = {s.name}.{m} + excluded.{m}" for m, *_ in s.measures)
    count = s.measures[0][0]
    return [
        f"INSERT INTO {d.qualify(s.name)} AS {s.name} ({names}) SELECT {keys}, {sums} "
        f"FROM {d.qualify(s.source)} t JOIN {batch} b ON b.member = t.member {where} "
        f"GROUP BY {keys} ON CONFLICT ({', '.join(key_names)}) DO UPDATE SET {sets}",
        f"DELETE FROM {d.qualify(s.name)} WHERE {count} = 0",
    ]


# -- the data dictionary as a document --------------------------------------------------------
def _kind_words(kind: str) -> str:
    return {
        "key": "text (pseudonym)", "text": "text", "int": "integer", "year": "integer (year)",
        "cents": "integer (cents)", "bigint": "integer", "date": "date (ISO text in SQLite)",
        "bool": "boolean (0/1 in SQLite)", "json": "JSON array (jsonb in PostgreSQL)",
    }[kind]  # fmt: skip


def data_dictionary_markdown() -> str:
    lines = ["<!-- data-dictionary:start (generated from projections/report_schema.py) -->"]
    for t in [*TABLES, *SUMMARY_TABLES]:
        lines += ["", f"### `{t.name}`", "", t.doc, "", "| column | type | meaning |", "|---|---|---|"]
        for c in t.columns:
            lines.append(f"| `{c.name}` | {_kind_words(c.kind)} | {c.doc} |")
            if c.eur:
                eur = c.name.removesuffix("_cents") + "_eur"
                lines.append(f"| `{eur}` | decimal (euro, generated) | The same in euro. |")
    lines += ["", "### Views (read only summary tables)"]
    for v, columns in view_columns().items():
        lines += ["", f"#### `{v}`", "", VIEWS[v][0], "", "| column | meaning |", "|---|---|"]
        lines += [f"| `{name}` | {doc} |" for name, doc in columns.items()]
    lines += ["", "### Internal tables (hidden in Datasette)", ""]
    for name, doc in INTERNAL.items():
        lines.append(f"- `{name}`: {doc}")
    lines.append("<!-- data-dictionary:end -->")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m projections.report_schema > the data dictionary section
    print(data_dictionary_markdown())
