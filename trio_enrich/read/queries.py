"""The filters of ``list``, each a condition of one SQL statement over the copy's views.

Sans-io but for `open_copy` and `run`: a filter value is checked and turned into SQL text and
parameters here (`trades_query`, `politicians_query`, `issuers_query`); SQLite does the rest.
Names are compared case- and accent-insensitively through `fold`, registered on the
connection (SQLite's own ``lower`` knows ASCII only).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import DatabaseError, UsageError
from ..site.roster import COMMITTEES
from ..storage.schema import check_path, check_schema, connect_read_only, describe_error
from ..storage.views import (
    BRACKETS,
    LATE_AFTER_DAYS,
    CommitteeSectors,
    read_committee_sectors,
    with_clause,
)
from .filters import IssuerFilters, PoliticianFilters, TradeFilters
from .watch import rules_condition

__all__ = [
    "MARKET_CAPS",
    "Connection",
    "IssuerFilters",
    "PoliticianFilters",
    "Query",
    "TradeFilters",
    "fold",
    "issuers_query",
    "meta_value",
    "open_copy",
    "politicians_query",
    "run",
    "snapshot",
    "table_rows",
    "tables_of",
    "trades_query",
]

#: The site's market-cap classes (its issuer filter), by the lowest capitalisation in USD.
MARKET_CAPS: dict[str, tuple[int, int | None]] = {
    "mega": (200_000_000_000, None),
    "large": (10_000_000_000, 200_000_000_000),
    "mid": (2_000_000_000, 10_000_000_000),
    "small": (300_000_000, 2_000_000_000),
    "micro": (50_000_000, 300_000_000),
    "nano": (0, 50_000_000),
}

# Values the copy stores for the columns a filter names (the site's words), to refuse a typo
# rather than answer "no trades".
_PARTIES = ("democrat", "republican", "other")
_CHAMBERS = ("house", "senate")
_GENDERS = ("female", "male")
_TX_TYPES = ("buy", "sell", "exchange", "receive")
_OWNERS = ("self", "spouse", "joint", "child", "not-disclosed")

#: (The inherited schema makes each of these NOT NULL.)
TRADE_SORTS = {
    "published": "pub_date",
    "traded": "tx_date",
    "reporting-gap": "reporting_gap",
    "value": "value",
}
POLITICIAN_SORTS = {
    "volume": "volume",
    "name": "fold(name)",
    "issuers": "issuers",
    "trades": "trades",
    "last-traded": "last_traded",
}
ISSUER_SORTS = {
    "volume": "volume",
    "politicians": "politicians",
    "trades": "trades",
    "last-traded": "last_traded",
    "market-cap": "market_cap",
}


def fold(text: object) -> str | None:
    """`text` without case or accents ("Ramírez" -> "ramirez"); None stays None."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


#: An open copy (what `open_copy` gives), for the modules that only pass it on.
Connection = sqlite3.Connection


@dataclass(frozen=True, slots=True)
class Query:
    """One SQL statement and its parameters."""

    sql: str
    parameters: tuple[object, ...]
    body: str = ""  # the statement without the views' WITH clause (what `--sql` shows)

    def shown(self) -> str:
        """The statement over the views, its parameters written in: what a person can run in
        the sqlite3 shell on a copy a writer has opened (`fold` aside: name filters use it)."""
        text = self.body
        for value in self.parameters:
            literal = str(value) if isinstance(value, int) else "'" + str(value).replace(
                "'", "''") + "'"  # fmt: skip
            text = text.replace("?", literal, 1)
        return text + ";\n"


@dataclass(slots=True)
class _Where:
    """The conditions of a query, ANDed, with their parameters in order."""

    clauses: list[str] = field(default_factory=list)
    parameters: list[object] = field(default_factory=list)

    def add(self, clause: str, *parameters: object) -> None:
        self.clauses.append(clause)
        self.parameters.extend(parameters)

    def one_of(self, column: str, values: Sequence[str], flag: str, known: Sequence[str]) -> None:
        """`column` is one of `values` (case-insensitive); a value not in `known` is refused."""
        if not values:
            return
        chosen = [_known(value, flag, known) for value in values]
        self.add(f"{column} IN ({', '.join('?' for _ in chosen)})", *chosen)

    def any_of(self, column: str, values: Sequence[str]) -> None:
        """`column` is one of `values`, compared without case (codes of open-ended lists:
        states, countries, sectors, asset types)."""
        if values:
            marks = ", ".join("?" for _ in values)
            self.add(f"lower({column}) IN ({marks})", *(v.strip().lower() for v in values))

    def members_of(self, committees: Sequence[str]) -> None:
        """The politician is on one of `committees`' stored rosters (codes checked)."""
        if committees:
            codes = _committees(committees)
            self.add(
                "politician_id IN (SELECT politician_id FROM politician_committees "
                f"WHERE committee IN ({', '.join('?' for _ in codes)}))",
                *codes,
            )

    def text(self) -> str:
        return ("WHERE " + "\n  AND ".join(self.clauses)) if self.clauses else ""


def _known(value: str, flag: str, known: Sequence[str]) -> str:
    word = value.strip().lower()
    if word not in known:
        raise UsageError(f"{flag} {value!r} is not one of: {', '.join(known)}")
    return word


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, folded, its own % and _ taken literally."""
    folded = fold(text.strip()) or ""
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _date(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        date = None
    if date is None or len(text) != 10:
        raise UsageError(f"{flag} {text!r} is not a date in the form YYYY-MM-DD")
    return date.isoformat()


def _next_day(date: str) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()


def _not_negative(value: int | None, flag: str) -> None:
    if value is not None and value < 0:
        raise UsageError(f"{flag} {value} is negative")


# A ticker without its market ("NVDA" of "NVDA:US"), upper case: a ticker given without one
# finds it on any market.
_TICKER_ROOT = "upper(substr(ticker, 1, instr(ticker || ':', ':') - 1))"

# Who a politician is: the id, or any part of the names the site gives.
_POLITICIAN_MATCH = """SELECT politician_id FROM politicians
    WHERE politician_id = ? COLLATE NOCASE
       OR fold(first_name || ' ' || last_name || ' | ' || COALESCE(nickname, '') || ' '
               || last_name || ' | ' || COALESCE(full_name, '')) LIKE ? ESCAPE '\\'"""


def _issuer_match(text: str) -> tuple[str, tuple[object, ...]]:
    """Issuer ids matching `text`: the id itself when it is a number, or part of the name."""
    if text.strip().isdigit():
        return "SELECT ?", (int(text),)
    return "SELECT issuer_id FROM issuers WHERE fold(issuer_name) LIKE ? ESCAPE '\\'", (
        _like(text),
    )


def _committees(codes: Sequence[str]) -> list[str]:
    chosen = []
    for code in codes:
        word = code.strip().lower()
        if word not in COMMITTEES:
            raise UsageError(
                f"--committee {code!r} is not a committee code; the codes: "
                f"{', '.join(sorted(COMMITTEES))} (`trio-enrich list committees` names them)"
            )
        chosen.append(word)
    return chosen


def _market_caps(where: _Where, column: str, classes: Sequence[str]) -> None:
    ranges = []
    for name in classes:
        low, high = MARKET_CAPS[_known(name, "--market-cap", list(MARKET_CAPS))]
        if high is None:
            ranges.append(f"{column} >= {low}")
        else:
            ranges.append(f"({column} >= {low} AND {column} < {high})")
    if ranges:
        where.add("(" + " OR ".join(ranges) + ")")


def _order(
    sorts: dict[str, str], sort_by: str, ascending: bool, tie: str, *, nullable: bool = True
) -> str:
    column = sorts.get(sort_by)
    if column is None:
        raise UsageError(f"--sort-by {sort_by!r} is not one of: {', '.join(sorts)}")
    direction = "ASC" if ascending else "DESC"
    # NULLs (never traded, no market cap) last whichever the direction; a column that is
    # never NULL is ordered by its index alone, which lets a LIMIT stop early (3 ms, not 140,
    # for the newest 100 of 37,000 trades).
    nulls_last = f"{column} IS NULL, " if nullable else ""
    return f"ORDER BY {nulls_last}{column} {direction}, {tie} {direction}"


def _select(
    view: str,
    where: _Where,
    tables: set[str],
    sectors: CommitteeSectors | None,
    order: str,
    limit: int | None,
) -> Query:
    """The statement that reads `view` (from a WITH clause of every view) under `where`."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit {limit} is not a positive number (0 in the command: every row)")
    limited = "" if limit is None else f"\nLIMIT {int(limit)}"
    body = f"SELECT * FROM {view}\n{where.text()}\n{order}{limited}"
    return Query(with_clause(tables, sectors) + body, tuple(where.parameters), body)


def trades_query(filters: TradeFilters, tables: set[str], today: dt.date) -> Query:
    """The trades `filters` choose, as rows of the flat trade view (with a user's own
    committee-sectors file, read here, where `filters` name one)."""
    # Long: one condition per flag, in the order of `list trades --help`; apart, they would
    # be as many functions of two lines each.
    f, where = filters, _Where()
    if f.politician is not None:
        where.add(f"politician_id IN ({_POLITICIAN_MATCH})", f.politician.strip(),
                  _like(f.politician))  # fmt: skip
    where.one_of("party", f.party, "--party", _PARTIES)
    where.any_of("state", f.state)
    where.one_of("chamber", (f.chamber,) if f.chamber else (), "--chamber", _CHAMBERS)
    where.one_of("gender", (f.gender,) if f.gender else (), "--gender", _GENDERS)
    where.members_of(f.committee)
    if f.issuer is not None:
        sql, parameters = _issuer_match(f.issuer)
        where.add(f"issuer_id IN ({sql})", *parameters)
    if f.ticker:
        # "NVDA" finds "NVDA:US"; "NVDA:US" finds itself.
        tickers = [t.strip().upper() for t in f.ticker]
        marks = ", ".join("?" for _ in tickers)
        where.add(
            f"(upper(ticker) IN ({marks}) OR {_TICKER_ROOT} IN ({marks}))", *tickers, *tickers
        )
    where.any_of("sector", f.sector)
    if f.market_cap:
        where.add(
            "issuer_id IN (SELECT issuer_id FROM trio_enrich_issuers WHERE market_cap IS NOT NULL"
            " AND " + _cap_condition(f.market_cap) + ")"
        )
    where.any_of("issuer_state", f.issuer_state)
    where.any_of("country", f.country)
    where.one_of("tx_type", f.tx_type, "--tx-type", _TX_TYPES)
    where.one_of("owner", f.owner, "--owner", _OWNERS)
    where.any_of("asset_type", f.asset_type)
    if f.label:
        labels = [label.strip().lower() for label in f.label]
        where.add(
            "tx_id IN (SELECT tx_id FROM trade_labels WHERE lower(label) IN "
            f"({', '.join('?' for _ in labels)}))",
            *labels,
        )
    if f.trade_size:
        names = [b.name for b in BRACKETS]
        chosen = [_known(size, "--trade-size", names) for size in f.trade_size]
        where.add(f"bracket IN ({', '.join('?' for _ in chosen)})", *chosen)
    for value, flag, test in (
        (f.min_value, "--min-value", ">="),
        (f.max_value, "--max-value", "<="),
    ):
        _not_negative(value, flag)
        if value is not None:
            where.add(f"value {test} ?", value)
    since, until = _date(f.since, "--since"), _date(f.until, "--until")
    if since is not None:
        where.add("pub_date >= ?", since)
    if until is not None:
        where.add("pub_date < ?", _next_day(until))  # the whole day of `until`
    if f.days is not None:
        if f.days < 1:
            raise UsageError(f"--days {f.days} is not a positive number of days")
        where.add("pub_date >= ?", (today - dt.timedelta(days=f.days)).isoformat())
    tx_since, tx_until = _date(f.tx_since, "--tx-since"), _date(f.tx_until, "--tx-until")
    if tx_since is not None:
        where.add("tx_date >= ?", tx_since)
    if tx_until is not None:
        where.add("tx_date <= ?", tx_until)
    if f.min_gap is not None:
        where.add("reporting_gap >= ?", f.min_gap)
    if f.max_gap is not None:
        where.add("reporting_gap <= ?", f.max_gap)
    if f.late:
        where.add(f"reporting_gap > {LATE_AFTER_DAYS}")
    if f.overlap:
        where.add("overlap")
    _news(where, f)
    sectors = None if f.committee_sectors is None else _sectors_file(f.committee_sectors)
    return _select(
        "trio_enrich_trades",
        where,
        tables,
        sectors,
        _order(TRADE_SORTS, f.sort_by, f.ascending, "tx_id", nullable=False),
        f.limit,
    )


def _news(where: _Where, f: TradeFilters) -> None:
    """The conditions of `news`: first stored in a window of runs or since a day (through
    the first sightings' indexes), and wanted by a watch rule."""
    if f.seen_from_run is not None or f.seen_to_run is not None:
        where.add(
            "tx_id IN (SELECT tx_id FROM trio_enrich_first_seen WHERE run_id BETWEEN ? AND ?)",
            f.seen_from_run or 0, f.seen_to_run if f.seen_to_run is not None else 2**62,
        )  # fmt: skip
    seen_since = _date(f.seen_since, "--since")
    if seen_since is not None:
        where.add("tx_id IN (SELECT tx_id FROM trio_enrich_first_seen WHERE first_seen_at >= ?)",
                  seen_since)  # fmt: skip
    if f.watch:
        condition, parameters = rules_condition(f.watch)
        where.add(condition, *parameters)


def _sectors_file(path: Path) -> CommitteeSectors:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise UsageError(f"--committee-sectors {path}: cannot be read ({error})") from error
    return read_committee_sectors(text, str(path))


def _cap_condition(classes: Sequence[str]) -> str:
    where = _Where()
    _market_caps(where, "market_cap", classes)
    return where.clauses[0]


def politicians_query(filters: PoliticianFilters, tables: set[str]) -> Query:
    f, where = filters, _Where()
    if f.name is not None:
        where.add(f"politician_id IN ({_POLITICIAN_MATCH})", f.name.strip(), _like(f.name))
    where.one_of("party", f.party, "--party", _PARTIES)
    where.any_of("state", f.state)
    where.one_of("chamber", (f.chamber,) if f.chamber else (), "--chamber", _CHAMBERS)
    where.members_of(f.committee)
    if f.issuer is not None:
        sql, parameters = _issuer_match(f.issuer)
        where.add(
            f"politician_id IN (SELECT politician_id FROM trades WHERE issuer_id IN ({sql}))",
            *parameters,
        )
    return _select(
        "trio_enrich_politicians",
        where,
        tables,
        None,
        _order(POLITICIAN_SORTS, f.sort_by, f.ascending, "politician_id"),
        f.limit,
    )


def issuers_query(filters: IssuerFilters, tables: set[str]) -> Query:
    f, where = filters, _Where()
    if f.search is not None:
        word = f.search.strip()
        where.add(
            f"(fold(name) LIKE ? ESCAPE '\\' OR upper(ticker) = ? OR {_TICKER_ROOT} = ?)",
            _like(word), word.upper(), word.upper(),
        )  # fmt: skip
    where.any_of("sector", f.sector)
    _market_caps(where, "market_cap", f.market_cap)
    where.any_of("state", f.state)
    where.any_of("country", f.country)
    if f.politician is not None:
        where.add(
            f"issuer_id IN (SELECT issuer_id FROM trades WHERE politician_id IN "
            f"({_POLITICIAN_MATCH}))",
            f.politician.strip(), _like(f.politician),
        )  # fmt: skip
    return _select(
        "trio_enrich_issuers",
        where,
        tables,
        None,
        _order(ISSUER_SORTS, f.sort_by, f.ascending, "issuer_id"),
        f.limit,
    )


def open_copy(path: Path) -> sqlite3.Connection:
    """The copy at `path`, read-only (no lock taken or waited for; read-only media welcome),
    with `fold` registered; DatabaseError when it is not a capitoltraders database."""
    check_path(path, must_exist=True, writable=False)
    try:
        db = connect_read_only(path, timeout=5.0)
        check_schema(db, str(path), create=False)
    except sqlite3.Error as error:
        raise DatabaseError(describe_error(error, str(path))) from error
    db.create_function("fold", 1, fold, deterministic=True)
    return db


@contextmanager
def snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every query inside sees the same copy, whatever a run writes."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")


def table_rows(
    db: sqlite3.Connection, name: str, tables: set[str], batch: int = 5_000
) -> tuple[list[str], Iterator[list[tuple[object, ...]]]]:
    """The columns of a table or view (`name`, one of ours: never a user's text) and its rows
    in batches; a view is read from the WITH clause, so a copy without views has it too."""
    prefix = "" if name in tables else with_clause(tables)
    try:
        cursor = db.execute(f"{prefix}SELECT * FROM {name}")
    except sqlite3.Error as error:
        raise DatabaseError(describe_error(error, "the copy")) from error

    def batches() -> Iterator[list[tuple[object, ...]]]:
        while rows := cursor.fetchmany(batch):
            yield rows

    return [column[0] for column in cursor.description], batches()


def meta_value(db: sqlite3.Connection, table: str, key: str) -> str | None:
    """A note of `ingest_meta` or `trio_enrich_meta` (None: absent, or no such table)."""
    if table not in ("ingest_meta", "trio_enrich_meta") or table not in tables_of(db):
        return None
    row = db.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def tables_of(db: sqlite3.Connection) -> set[str]:
    return {
        str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }


def run(db: sqlite3.Connection, query: Query) -> tuple[list[str], list[tuple[object, ...]]]:
    """The column names and rows of `query`."""
    try:
        cursor = db.execute(query.sql, query.parameters)
        rows = cursor.fetchall()
    except sqlite3.Error as error:
        raise DatabaseError(describe_error(error, "the copy")) from error
    return [column[0] for column in cursor.description], rows
