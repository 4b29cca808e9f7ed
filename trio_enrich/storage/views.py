"""The views of the copy: what its users would otherwise work out by hand, in SQL.

Each view is a name and one SELECT. A writer (re)creates them all whenever it opens the
database (`create_views`), so the views always say what this version of trio-enrich means;
a reader that must not write (a read-only file, a database an older version last wrote) puts
the same SELECTs in front of its query as a WITH clause (`with_clause`), so it never depends
on the views being there. Their names begin with ``trio_enrich_``, which the earlier tool's
tables never do. Every column is described in the data dictionary (``read.dictionary``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
from dataclasses import dataclass
from importlib import resources

from .._errors import UsageError
from ..site.roster import COMMITTEES, chamber_of

__all__ = [
    "BRACKETS",
    "LATE_AFTER_DAYS",
    "SECTORS",
    "VIEWS",
    "VIEWS_SIGNATURE",
    "Bracket",
    "CommitteeSectors",
    "View",
    "create_views",
    "default_committee_sectors",
    "drop_views",
    "read_committee_sectors",
    "rebuild_search",
    "with_clause",
]

#: A filing is late when it is published more than this many days after the trade (the STOCK
#: Act's 45 days, counted as the site counts its reporting gap: published minus traded).
LATE_AFTER_DAYS = 45

#: The site's page of a trade, by id.
TRADE_URL = "https://www.capitoltrades.com/trades/"


@dataclass(frozen=True, slots=True)
class Bracket:
    """A disclosed dollar range (the forms give a range, not an amount)."""

    name: str  # as `--trade-size` takes it
    low: int
    high: int | None  # None: no upper end


#: The ranges members disclose, as the site's trade-size filter lists them. The listing's
#: `value` is a range's midpoint (8000 for 1K-15K), so it falls inside its range.
BRACKETS: tuple[Bracket, ...] = (
    Bracket("under-1k", 0, 1_000),
    Bracket("1k-15k", 1_001, 15_000),
    Bracket("15k-50k", 15_001, 50_000),
    Bracket("50k-100k", 50_001, 100_000),
    Bracket("100k-250k", 100_001, 250_000),
    Bracket("250k-500k", 250_001, 500_000),
    Bracket("500k-1m", 500_001, 1_000_000),
    Bracket("1m-5m", 1_000_001, 5_000_000),
    Bracket("5m-25m", 5_000_001, 25_000_000),
    Bracket("25m-50m", 25_000_001, 50_000_000),
    Bracket("over-50m", 50_000_001, None),
)


@dataclass(frozen=True, slots=True)
class View:
    name: str
    columns: tuple[str, ...]  # the names it gives its columns, in order
    select: str


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _values(rows: list[tuple[object, ...]]) -> str:
    def literal(value: object) -> str:
        if value is None:
            return "NULL"
        return str(value) if isinstance(value, int) else _quote(str(value))

    return "VALUES " + ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)


_COMMITTEES = View(
    "trio_enrich_committees",
    ("code", "name", "chamber"),
    _values([(code, label, chamber_of(code)) for code, label in sorted(COMMITTEES.items())]),
)

#: The sectors as the site writes them (its sector filter).
SECTORS = (
    "communication-services", "consumer-discretionary", "consumer-staples", "energy",
    "financials", "health-care", "industrials", "information-technology", "materials",
    "real-estate", "utilities",
)  # fmt: skip

#: (committee, sector, why): which sectors each committee oversees.
CommitteeSectors = tuple[tuple[str, str, str], ...]


def read_committee_sectors(text: str, source: str) -> CommitteeSectors:
    """The pairs of a committee-sectors file (CSV: committee, sectors joined by ';', reason;
    a committee may oversee none); UsageError naming the line of a code or sector unknown."""
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or [cell.strip() for cell in lines[0]] != ["committee", "sectors", "reason"]:
        raise UsageError(f"{source}: the first line must be: committee,sectors,reason")
    pairs: list[tuple[str, str, str]] = []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            raise UsageError(f"{source} line {number}: 3 fields expected, found {len(cells)}")
        code, sectors, reason = (cell.strip() for cell in cells)
        if code not in COMMITTEES:
            raise UsageError(f"{source} line {number}: {code!r} is not a committee code")
        for sector in filter(None, (part.strip() for part in sectors.split(";"))):
            if sector not in SECTORS:
                raise UsageError(f"{source} line {number}: {sector!r} is not one of the "
                                 f"site's sectors: {', '.join(SECTORS)}")  # fmt: skip
            pairs.append((code, sector, reason))
    return tuple(pairs)


def default_committee_sectors() -> CommitteeSectors:
    """The mapping shipped with trio-enrich (``storage/committee_sectors.csv``)."""
    text = (
        resources.files(__package__ or "trio_enrich.storage")
        .joinpath("committee_sectors.csv")
        .read_text(encoding="utf-8")
    )
    return read_committee_sectors(text, "committee_sectors.csv")


def _committee_sectors_view(pairs: CommitteeSectors) -> View:
    select = _values([*pairs]) if pairs else "SELECT NULL, NULL, NULL WHERE 0"
    return View("trio_enrich_committee_sectors", ("committee", "sector", "reason"), select)


_BRACKETS = View(
    "trio_enrich_brackets",
    ("bracket", "low", "high"),
    _values([(b.name, b.low, b.high) for b in BRACKETS]),
)

# The name the site shows: the nickname, where there is one, for the first name. A politician
# met only on listing pages has no full_name in the earlier tool's table.
_NAME = (
    "COALESCE(NULLIF(p.full_name, ''), "
    "COALESCE(NULLIF(p.nickname, ''), p.first_name) || ' ' || p.last_name)"
)

_POLITICIANS = View(
    "trio_enrich_politicians",
    ("politician_id", "name", "party", "state", "chamber", "gender", "district", "dob",
     "trades", "issuers", "volume", "last_traded", "committees", "url"),
    f"""SELECT p.politician_id, {_NAME}, p.party, p.state_id, p.chamber, NULLIF(p.gender, ''),
        p.district, NULLIF(p.dob, ''),
        COALESCE(s.count_trades, 0), COALESCE(s.count_issuers, 0), COALESCE(s.volume, 0),
        s.date_last_traded,
        (SELECT group_concat(committee, ';') FROM (SELECT committee FROM politician_committees
            WHERE politician_id = p.politician_id ORDER BY committee)),
        'https://www.capitoltrades.com/politicians/' || p.politician_id
    FROM politicians p LEFT JOIN politician_stats s ON s.politician_id = p.politician_id""",
)  # fmt: skip

# An issuer's market capitalisation: from its full performance, or the part its page showed.
_MCAP = "COALESCE(f.mcap, h.mcap)"

_ISSUERS = View(
    "trio_enrich_issuers",
    ("issuer_id", "name", "ticker", "sector", "state", "country", "market_cap", "trades",
     "politicians", "volume", "last_traded", "url"),
    f"""SELECT i.issuer_id, i.issuer_name, NULLIF(i.issuer_ticker, ''), i.sector, i.state_id,
        i.country, {_MCAP}, COALESCE(s.count_trades, 0), COALESCE(s.count_politicians, 0),
        COALESCE(s.volume, 0), s.date_last_traded,
        'https://www.capitoltrades.com/issuers/' || i.issuer_id
    FROM issuers i LEFT JOIN issuer_stats s ON s.issuer_id = i.issuer_id
    LEFT JOIN issuer_performance f ON f.issuer_id = i.issuer_id
    LEFT JOIN trio_enrich_partial_performance h ON h.issuer_id = i.issuer_id""",
)  # fmt: skip


def _bracket_case(field: str) -> str:
    """A CASE giving each trade's bracket `field` (name, low or high) from its value, as the
    brackets' view pairs them: an expression, not a join (a join tries all eleven for every
    trade, and every facet of the trades view paid for it)."""
    arms = []
    for b in BRACKETS:
        within = f"t.value >= {b.low}" + ("" if b.high is None else f" AND t.value <= {b.high}")
        value = {"name": _quote(b.name), "low": str(b.low), "high": str(b.high)}[field]
        if b.high is not None or field != "high":  # (no upper end: NULL, what no arm gives)
            arms.append(f"WHEN {within} THEN {value}")
    return f"CASE {' '.join(arms)} END"


def _politician(expression: str) -> str:
    """A trade's politician's `expression` (over `p`), as a subquery of the trade's row."""
    return f"(SELECT {expression} FROM politicians p WHERE p.politician_id = t.politician_id)"


def _issuer(expression: str) -> str:
    """A trade's issuer's `expression` (over `i`), as a subquery of the trade's row."""
    return f"(SELECT {expression} FROM issuers i WHERE i.issuer_id = t.issuer_id)"


# "member sector" for each sector a committee of the member oversees (current rosters): one
# set, made once per query, that each trade's member and sector is looked up in.
_MEMBER_SECTORS = (
    "SELECT pc.politician_id || ' ' || cs.sector FROM politician_committees pc "
    "JOIN trio_enrich_committee_sectors cs ON cs.committee = pc.committee"
)
_OVERLAP = f"COALESCE(t.politician_id || ' ' || {_issuer('i.sector')} IN ({_MEMBER_SECTORS}), 0)"
# Which of the member's committees oversee the issuer's sector (asked only of an overlap).
_OVERLAP_COMMITTEES = (
    f"CASE WHEN {_OVERLAP} THEN (SELECT group_concat(committee, ';') FROM (SELECT "
    "pc.committee AS committee FROM politician_committees pc WHERE pc.politician_id = "
    "t.politician_id AND pc.committee IN (SELECT cs.committee FROM "
    f"trio_enrich_committee_sectors cs WHERE cs.sector = {_issuer('i.sector')}) ORDER BY 1)) END"
)

# Everything beyond the trade's own row is a subquery, not a join: SQLite works out only the
# columns a query reads, so a count or a facet of the trade's own columns (type, owner, late)
# reads the trades table alone (Datasette's trades page: 6 facets, 0.27 s with joins on the
# real-size copy), and a trade whose member or issuer row is missing still shows (NULLs).
_TRADES = View(
    "trio_enrich_trades",
    ("tx_id", "pub_date", "tx_date", "filing_date", "reporting_gap", "late",
     "politician_id", "politician", "party", "chamber", "state", "gender",
     "issuer_id", "issuer", "ticker", "sector", "issuer_state", "country",
     "asset_type", "tx_type", "owner", "value", "bracket", "bracket_low", "bracket_high",
     "price", "shares", "shares_low", "shares_high", "labels", "committees", "filing_url",
     "url", "enriched_at", "first_seen_at", "first_seen_run", "overlap", "overlap_committees"),
    f"""SELECT t.tx_id, t.pub_date, t.tx_date, t.filing_date, t.reporting_gap,
        t.reporting_gap > {LATE_AFTER_DAYS},
        t.politician_id, {_politician(_NAME)}, {_politician("p.party")}, t.chamber,
        {_politician("p.state_id")}, {_politician("NULLIF(p.gender, '')")},
        t.issuer_id, {_issuer("i.issuer_name")}, {_issuer("NULLIF(i.issuer_ticker, '')")},
        {_issuer("i.sector")}, {_issuer("i.state_id")}, {_issuer("i.country")},
        (SELECT a.asset_type FROM assets a WHERE a.asset_id = t.asset_id),
        t.tx_type, t.owner, t.value, {_bracket_case("name")},
        {_bracket_case("low")}, {_bracket_case("high")},
        t.price, t.size, t.size_range_low, t.size_range_high,
        (SELECT group_concat(label, ';') FROM (SELECT label FROM trade_labels
            WHERE tx_id = t.tx_id ORDER BY label)),
        (SELECT group_concat(committee, ';') FROM (SELECT committee FROM trade_committees
            WHERE tx_id = t.tx_id ORDER BY committee)),
        NULLIF(t.filing_url, ''), '{TRADE_URL}' || t.tx_id, t.enriched_at,
        (SELECT f.first_seen_at FROM trio_enrich_first_seen f WHERE f.tx_id = t.tx_id),
        (SELECT f.run_id FROM trio_enrich_first_seen f WHERE f.tx_id = t.tx_id),
        {_OVERLAP}, {_OVERLAP_COMMITTEES}
    FROM trades t""",
)  # fmt: skip

_RETURNS = View(
    "trio_enrich_trade_returns",
    ("tx_id", "issuer_id", "price", "close", "close_date", "change"),
    """SELECT t.tx_id, t.issuer_id, t.price, c.price, c.price_date,
        CASE WHEN t.price > 0 AND c.price IS NOT NULL THEN c.price / t.price - 1 END
    FROM trades t
    LEFT JOIN (SELECT issuer_id, price, MAX(price_date) AS price_date
               FROM issuer_eod_prices GROUP BY issuer_id) c ON c.issuer_id = t.issuer_id""",
)  # fmt: skip

#: Every view, each after the views it reads.
VIEWS: tuple[View, ...] = (
    _COMMITTEES, _BRACKETS, _committee_sectors_view(default_committee_sectors()), _POLITICIANS,
    _ISSUERS, _TRADES, _RETURNS,
)  # fmt: skip


def _create_statements() -> list[str]:
    return [
        f"CREATE VIEW {view.name}({', '.join(view.columns)}) AS {view.select}" for view in VIEWS
    ]


#: What this version's views are: a writer recreates them when the copy's differ (and only
#: then: a full disk must not be filled by views written again at every open).
VIEWS_SIGNATURE = hashlib.sha256("\n".join(_create_statements()).encode()).hexdigest()[:16]


def drop_views(db: sqlite3.Connection) -> None:
    """Drop every view (before a migration alters a table they read), in the caller's
    transaction."""
    for view in reversed(VIEWS):
        db.execute(f"DROP VIEW IF EXISTS {view.name}")


def rebuild_search(db: sqlite3.Connection) -> None:
    """The full-text index of every trade's member, issuer and ticker, made again from the
    copy (in the caller's transaction; a copy without the index is left as it is)."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'trio_enrich_search'").fetchone()
    if found is None:
        return
    db.execute("DELETE FROM trio_enrich_search")
    db.execute(
        f"""INSERT INTO trio_enrich_search (rowid, politician, issuer, ticker)
            SELECT t.tx_id, {_NAME}, i.issuer_name, i.issuer_ticker
            FROM trades t JOIN politicians p ON p.politician_id = t.politician_id
            JOIN issuers i ON i.issuer_id = t.issuer_id"""
    )


def create_views(db: sqlite3.Connection) -> None:
    """(Re)create every view, inside the caller's transaction."""
    drop_views(db)
    for sql in _create_statements():
        db.execute(sql)


#: Our own tables the views read, with the columns they read: a database no trio-enrich has
#: written yet lacks them, and reads them as empty.
_OUR_TABLES: dict[str, tuple[str, ...]] = {
    "trio_enrich_partial_performance": ("issuer_id", "mcap"),
    "trio_enrich_first_seen": ("tx_id", "first_seen_at", "run_id"),
}


def with_clause(tables: set[str], sectors: CommitteeSectors | None = None) -> str:
    """Every view as a common table expression, to put in front of a query that reads them
    from a database that may not have them (a CTE of a view's name hides the view); `tables`
    are the database's tables (ours that are missing are read as empty); `sectors`, a user's
    own committee-sectors mapping in place of the shipped one."""
    parts = []
    for table, names in _OUR_TABLES.items():
        if table not in tables:
            columns, sql = ", ".join(names), "SELECT " + ", ".join(["NULL"] * len(names))
            parts.append(f"{table}({columns}) AS ({sql} WHERE 0)")
    chosen = _committee_sectors_view(sectors) if sectors is not None else None
    for view in VIEWS:
        if chosen is not None and view.name == chosen.name:
            view = chosen
        parts.append(f"{view.name}({', '.join(view.columns)}) AS ({view.select})")
    return "WITH " + ",\n".join(parts) + "\n"
