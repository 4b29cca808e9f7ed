"""SQLite store, compatible with the capitoltraders.db of the earlier Rust tool.

The only module that imports sqlite3. A user's existing database is enriched in place: every table
and column of that tool (at any of its ``PRAGMA user_version`` 1 to 10) is kept as it is, and
trio-enrich's own bookkeeping lives in tables of its own whose version is kept in
``trio_enrich_meta.schema_version``.

Write rules (shared with the earlier tool, so both can keep using one file):

* a new non-null value wins, a null never erases;
* ``asset_type`` is only upgraded from ``'unknown'``; ``filing_id`` only written when > 0;
  ``filing_url`` only when non-empty; committees and labels replaced only by a non-empty list;
* ``enriched_at`` is set in the same transaction that writes the item's data, never alone.

The connection is made with ``check_same_thread=False`` because the pipeline calls it from
worker threads; callers must serialise access (the pipeline uses a ``CapacityLimiter(1)``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from ._errors import DatabaseError
from ._model import (
    PERFORMANCE_FIELDS,
    FailureKind,
    IssuerDetail,
    ListingTrade,
    TradeDetail,
)
from ._walk import Walk

__all__ = [
    "SCHEMA_VERSION",
    "Entity",
    "ItemFailure",
    "Store",
    "utc_now",
]

#: trio-enrich's own schema version (in trio_enrich_meta), independent of PRAGMA user_version.
SCHEMA_VERSION = 2

Entity = Literal["trade", "issuer"]

_SQLITE_HEADER = b"SQLite format 3\x00"

# trio_enrich_meta key of an unfinished full walk of the listing (JSON, see _walk.Walk).
_WALK_KEY = "sync_walk"

# The capitoltraders schema after its first migration (user_version 1). IF NOT EXISTS leaves a
# user's tables, with whatever columns later versions of that tool added, exactly as they are.
_CAPITOLTRADERS_DDL = """
CREATE TABLE IF NOT EXISTS assets (
    asset_id INTEGER PRIMARY KEY,
    asset_type TEXT NOT NULL,
    asset_ticker TEXT,
    instrument TEXT
);
CREATE TABLE IF NOT EXISTS issuers (
    issuer_id INTEGER PRIMARY KEY,
    state_id TEXT,
    c2iq TEXT,
    country TEXT,
    issuer_name TEXT NOT NULL,
    issuer_ticker TEXT,
    sector TEXT,
    enriched_at TEXT
);
CREATE TABLE IF NOT EXISTS politicians (
    politician_id TEXT PRIMARY KEY,
    state_id TEXT NOT NULL,
    party TEXT NOT NULL,
    party_other TEXT,
    district TEXT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    nickname TEXT,
    middle_name TEXT,
    full_name TEXT,
    dob TEXT NOT NULL,
    gender TEXT NOT NULL,
    social_facebook TEXT,
    social_twitter TEXT,
    social_youtube TEXT,
    website TEXT,
    chamber TEXT NOT NULL,
    enriched_at TEXT
);
CREATE TABLE IF NOT EXISTS trades (
    tx_id INTEGER PRIMARY KEY,
    politician_id TEXT NOT NULL,
    asset_id INTEGER NOT NULL,
    issuer_id INTEGER NOT NULL,
    pub_date TEXT NOT NULL,
    filing_date TEXT NOT NULL,
    tx_date TEXT NOT NULL,
    tx_type TEXT NOT NULL,
    tx_type_extended TEXT,
    has_capital_gains INTEGER NOT NULL,
    owner TEXT NOT NULL,
    chamber TEXT NOT NULL,
    price REAL,
    size INTEGER,
    size_range_high INTEGER,
    size_range_low INTEGER,
    value INTEGER NOT NULL,
    filing_id INTEGER NOT NULL,
    filing_url TEXT NOT NULL,
    reporting_gap INTEGER NOT NULL,
    comment TEXT,
    enriched_at TEXT,
    FOREIGN KEY (politician_id) REFERENCES politicians(politician_id) ON DELETE CASCADE,
    FOREIGN KEY (asset_id) REFERENCES assets(asset_id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id) REFERENCES issuers(issuer_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS trade_committees (
    tx_id INTEGER NOT NULL,
    committee TEXT NOT NULL,
    PRIMARY KEY (tx_id, committee),
    FOREIGN KEY (tx_id) REFERENCES trades(tx_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS trade_labels (
    tx_id INTEGER NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (tx_id, label),
    FOREIGN KEY (tx_id) REFERENCES trades(tx_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS politician_committees (
    politician_id TEXT NOT NULL,
    committee TEXT NOT NULL,
    PRIMARY KEY (politician_id, committee),
    FOREIGN KEY (politician_id) REFERENCES politicians(politician_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS politician_stats (
    politician_id TEXT PRIMARY KEY,
    date_last_traded TEXT,
    count_trades INTEGER NOT NULL,
    count_issuers INTEGER NOT NULL,
    volume INTEGER NOT NULL,
    FOREIGN KEY (politician_id) REFERENCES politicians(politician_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS issuer_stats (
    issuer_id INTEGER PRIMARY KEY,
    count_trades INTEGER NOT NULL,
    count_politicians INTEGER NOT NULL,
    volume INTEGER NOT NULL,
    date_last_traded TEXT NOT NULL,
    FOREIGN KEY (issuer_id) REFERENCES issuers(issuer_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS issuer_performance (
    issuer_id INTEGER PRIMARY KEY,
    mcap INTEGER NOT NULL,
    trailing1 REAL NOT NULL,
    trailing1_change REAL NOT NULL,
    trailing7 REAL NOT NULL,
    trailing7_change REAL NOT NULL,
    trailing30 REAL NOT NULL,
    trailing30_change REAL NOT NULL,
    trailing90 REAL NOT NULL,
    trailing90_change REAL NOT NULL,
    trailing365 REAL NOT NULL,
    trailing365_change REAL NOT NULL,
    wtd REAL NOT NULL,
    wtd_change REAL NOT NULL,
    mtd REAL NOT NULL,
    mtd_change REAL NOT NULL,
    qtd REAL NOT NULL,
    qtd_change REAL NOT NULL,
    ytd REAL NOT NULL,
    ytd_change REAL NOT NULL,
    FOREIGN KEY (issuer_id) REFERENCES issuers(issuer_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS issuer_eod_prices (
    issuer_id INTEGER NOT NULL,
    price_date TEXT NOT NULL,
    price REAL NOT NULL,
    PRIMARY KEY (issuer_id, price_date),
    FOREIGN KEY (issuer_id) REFERENCES issuers(issuer_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS ingest_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_trades_politician ON trades(politician_id);
CREATE INDEX IF NOT EXISTS idx_trades_issuer ON trades(issuer_id);
CREATE INDEX IF NOT EXISTS idx_trades_pub_date ON trades(pub_date);
CREATE INDEX IF NOT EXISTS idx_trades_tx_date ON trades(tx_date);
CREATE INDEX IF NOT EXISTS idx_politicians_party ON politicians(party);
CREATE INDEX IF NOT EXISTS idx_politicians_state ON politicians(state_id);
CREATE INDEX IF NOT EXISTS idx_issuers_sector ON issuers(sector);
CREATE INDEX IF NOT EXISTS idx_trade_labels_label ON trade_labels(label);
CREATE INDEX IF NOT EXISTS idx_trade_committees_committee ON trade_committees(committee);
CREATE INDEX IF NOT EXISTS idx_politician_committees_committee ON politician_committees(committee);
CREATE INDEX IF NOT EXISTS idx_issuer_eod_prices_date ON issuer_eod_prices(price_date);
CREATE INDEX IF NOT EXISTS idx_trades_enriched_at ON trades(enriched_at);
CREATE INDEX IF NOT EXISTS idx_politicians_enriched_at ON politicians(enriched_at);
CREATE INDEX IF NOT EXISTS idx_issuers_enriched_at ON issuers(enriched_at);
"""

# Our own tables, one list of statements per schema version (index 0 brings a database to 1).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS trio_enrich_failures (
            entity TEXT NOT NULL,
            item_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY (entity, item_id)
        )""",
        "CREATE INDEX IF NOT EXISTS idx_trio_enrich_failures_kind ON trio_enrich_failures(kind)",
    ),
    (
        # The inherited schema makes has_capital_gains NOT NULL, so a 0 there may mean "no" or
        # "the page did not say" (live detail pages do not show it). A trade is listed here
        # when its detail page did say, so the two can be told apart.
        """CREATE TABLE IF NOT EXISTS trio_enrich_capital_gains_shown (
            tx_id INTEGER PRIMARY KEY,
            FOREIGN KEY (tx_id) REFERENCES trades(tx_id) ON DELETE CASCADE
        )""",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION

# Enriched trades whose stored value only stands for "not shown on the page" (see _not_shown).
_NOT_SHOWN_SQL = """
    SELECT COALESCE(SUM(a.asset_type = 'unknown'), 0), COALESCE(SUM(t.filing_id = 0), 0),
           COALESCE(SUM(t.filing_url = ''), 0),
           COALESCE(SUM(t.tx_id NOT IN (SELECT tx_id FROM trio_enrich_capital_gains_shown)), 0)
    FROM trades t JOIN assets a USING (asset_id) WHERE t.enriched_at IS NOT NULL"""
_NOT_SHOWN_SQL_V1 = _NOT_SHOWN_SQL.replace(
    "t.tx_id NOT IN (SELECT tx_id FROM trio_enrich_capital_gains_shown)", "1"
)

# Columns that our statements use; a table lacking one is not a capitoltraders table.
_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": (
        "tx_id", "politician_id", "asset_id", "issuer_id", "pub_date", "filing_date", "tx_date",
        "tx_type", "tx_type_extended", "has_capital_gains", "owner", "chamber", "price", "size",
        "size_range_high", "size_range_low", "value", "filing_id", "filing_url", "reporting_gap",
        "comment", "enriched_at",
    ),
    "issuers": (
        "issuer_id", "state_id", "c2iq", "country", "issuer_name", "issuer_ticker", "sector",
        "enriched_at",
    ),
    "assets": ("asset_id", "asset_type", "asset_ticker", "instrument"),
    "politicians": (
        "politician_id", "state_id", "party", "first_name", "last_name", "nickname", "dob",
        "gender", "chamber",
    ),
}  # fmt: skip


def utc_now() -> str:
    """The current UTC time as ISO-8601 with a Z, the form ``enriched_at`` takes."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """A final failure of one item, for the failure table."""

    item_id: int
    kind: FailureKind
    message: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class ListingWrite:
    written: int  # trade rows inserted or refreshed
    new: int  # of which were not in the database before


@dataclass(frozen=True, slots=True)
class BatchResult:
    enriched: int
    failures: int
    missing_rows: int  # enriched items whose row is not in the database (nothing written)


class Store:
    """One open database. Create it with :meth:`open`; close it with :meth:`close`."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        create: bool = True,
        read_only: bool = False,
    ) -> Store:
        """Open (or create) a database, check it, and bring our tables up to date.

        Nothing is written to a file that is refused: the checks run before the first write.
        The capitoltraders schema is made only with `create` (the default), and only in a new
        file, a 0-byte file or an SQLite file that holds nothing at all; an existing database
        without the capitoltraders tables is refused whatever `create` says, so a file of some
        other program is never turned into ours. With `create=False` a missing file is an
        error; `read_only` opens an existing file without changing anything (for counts and
        dry runs).
        """
        location = str(path)
        if location != ":memory:":
            _check_path(Path(location), must_exist=not create or read_only, writable=not read_only)
            if not create and Path(location).stat().st_size == 0:
                raise DatabaseError(f"{location} is an empty file, not a capitoltraders database")
        target = f"file:{quote(str(Path(location).absolute()))}?mode=ro" if read_only else location
        try:
            connection = sqlite3.connect(
                target,
                timeout=busy_timeout,
                isolation_level=None,  # we open transactions explicitly
                check_same_thread=False,
                uri=read_only,
            )
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open database {location}: {error}") from error
        store = cls(connection, location)
        try:
            if read_only:
                store._check_readable()
            else:
                store._prepare(create=create)
        except sqlite3.Error as error:
            connection.close()
            raise DatabaseError(_describe(error, location)) from error
        except BaseException:
            connection.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_readable(self) -> None:
        self._check_schema(create=False)

    def _check_schema(self, *, create: bool) -> bool:
        """Refuse a database we must not use (reads only); True when it is empty and ours to make.

        A capitoltraders database has the four core tables with the columns we use, and no
        trio-enrich schema newer than ours. An empty one (no table, view, index or trigger,
        and no ``user_version`` of anybody's) may become one when `create` allows it.
        """
        version = self._our_schema_version()
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"database {self.path} has trio-enrich schema version {version}, newer than "
                f"this trio-enrich knows ({SCHEMA_VERSION}); upgrade trio-enrich to use it"
            )
        self._check_existing_tables()
        names = [
            str(row[0])
            for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if not names and self.user_version() == 0:
            if create:
                return True
            raise DatabaseError(f"{self.path} is an empty database, not a capitoltraders database")
        missing = [table for table in _REQUIRED_COLUMNS if table not in names]
        if missing:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") or "none"
            raise DatabaseError(
                f"{self.path} is not a capitoltraders database: it lacks the table(s) "
                f"{', '.join(missing)} (its tables: {shown}); trio-enrich only creates one "
                "in a new or empty file"
            )
        return False

    def _prepare(self, *, create: bool) -> None:
        db = self._db
        version = self._our_schema_version()
        fresh = self._check_schema(create=create)  # reads only
        db.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise DatabaseError(f"cannot switch database {self.path} to WAL mode")
        db.execute("PRAGMA synchronous = NORMAL")
        with self.transaction():
            for statement in _split_sql(_CAPITOLTRADERS_DDL):
                db.execute(statement)
            if fresh:
                # user_version belongs to capitoltraders; a new file is at its first migration.
                db.execute("PRAGMA user_version = 1")
            db.execute(
                "CREATE TABLE IF NOT EXISTS trio_enrich_meta "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            for target in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[target]:
                    db.execute(statement)
            db.execute(
                "INSERT INTO trio_enrich_meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    def _table_exists(self, name: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _our_schema_version(self) -> int:
        if not self._table_exists("trio_enrich_meta"):
            return 0
        row = self._db.execute(
            "SELECT value FROM trio_enrich_meta WHERE key = 'schema_version'"
        ).fetchone()
        if row is None:
            return 0
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise DatabaseError(
                f"database {self.path} has an unreadable trio-enrich schema version {row[0]!r}"
            ) from None

    def _check_existing_tables(self) -> None:
        for table, required in _REQUIRED_COLUMNS.items():
            if not self._table_exists(table):
                continue
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            missing = [column for column in required if column not in present]
            if missing:
                raise DatabaseError(
                    f"database {self.path}: table {table} lacks column(s) {', '.join(missing)}; "
                    "is it a capitoltraders database?"
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

        sqlite3 errors leave as DatabaseError (a locked file, a full disk, a read-only mount).
        """
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise DatabaseError(_describe(error, self.path)) from error
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise DatabaseError(_describe(error, self.path)) from error
            raise

    # --- reading ------------------------------------------------------------------------------

    def user_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def schema_version(self) -> int:
        return self._our_schema_version()

    def pending_trade_ids(
        self, *, limit: int | None = None, include_not_found: bool = False
    ) -> list[int]:
        """Trades not yet enriched, by id, without those recorded as not found (unless asked)."""
        return self._pending("trades", "tx_id", "trade", limit, include_not_found)

    def pending_issuer_ids(
        self, *, limit: int | None = None, include_not_found: bool = False
    ) -> list[int]:
        """Issuers not yet enriched, by id, without those recorded as not found (unless asked)."""
        return self._pending("issuers", "issuer_id", "issuer", limit, include_not_found)

    def _pending(
        self, table: str, key: str, entity: Entity, limit: int | None, include_not_found: bool
    ) -> list[int]:
        sql = f"SELECT {key} FROM {table} WHERE enriched_at IS NULL"
        parameters: list[object] = []
        if not include_not_found and self._table_exists("trio_enrich_failures"):
            sql += (
                f" AND {key} NOT IN (SELECT item_id FROM trio_enrich_failures"
                " WHERE entity = ? AND kind = ?)"
            )
            parameters += [entity, FailureKind.NOT_FOUND.value]
        sql += f" ORDER BY {key}"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)
        return [row[0] for row in self._db.execute(sql, parameters)]

    def failures(self, entity: Entity) -> dict[int, tuple[str, str, int]]:
        """item id -> (kind, message, attempts) of every recorded failure of an entity."""
        rows = self._db.execute(
            "SELECT item_id, kind, message, attempts FROM trio_enrich_failures WHERE entity = ?",
            (entity,),
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM ingest_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a read-only query (for status reports and tests)."""
        return [tuple(row) for row in self._db.execute(sql, parameters)]

    # --- writing: listing rows ----------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            _set_meta(db, key, value)

    def upsert_listing(
        self, trades: Iterable[ListingTrade], *, walk: Walk | None = None
    ) -> ListingWrite:
        """Insert or refresh listing rows (trades, their issuers, politicians and assets).

        Never erases an enriched value: the detail fields of a trade are not touched, nor are
        ``enriched_at`` columns. With `walk`, the full walk's record is saved in the same
        transaction, so what it says was read is exactly what was written. The incremental
        cutoff (``ingest_meta.last_trade_pub_date``) does not move here: only
        :meth:`finish_sync` moves it, once a walk is complete.
        """
        written = new = 0
        with self.transaction() as db:
            for trade in trades:
                exists = db.execute(
                    "SELECT 1 FROM trades WHERE tx_id = ?", (trade.tx_id,)
                ).fetchone()
                _upsert_listing_trade(db, trade)
                written += 1
                new += exists is None
            if walk is not None:
                _set_our_meta(db, _WALK_KEY, walk.to_json())
        return ListingWrite(written, new)

    def full_walk(self) -> Walk | None:
        """The unfinished full walk of the listing, if a run left one."""
        if not self._table_exists("trio_enrich_meta"):
            return None
        row = self._db.execute(
            "SELECT value FROM trio_enrich_meta WHERE key = ?", (_WALK_KEY,)
        ).fetchone()
        if row is None:
            return None
        try:
            return Walk.from_json(str(row[0]))
        except ValueError as error:
            raise DatabaseError(f"database {self.path}: unreadable sync walk: {error}") from error

    def finish_sync(self, newest: str | None, *, advance_cutoff: bool) -> None:
        """A walk is complete: recompute the stats, forget the walk, note the time, and (when
        the walk proved that every trade up to `newest` is stored) move the cutoff to it."""
        with self.transaction() as db:
            _recompute_stats(db)
            db.execute("DELETE FROM trio_enrich_meta WHERE key = ?", (_WALK_KEY,))
            if advance_cutoff and newest is not None:
                current = db.execute(
                    "SELECT value FROM ingest_meta WHERE key = 'last_trade_pub_date'"
                ).fetchone()
                if current is None or str(current[0]) < newest:
                    _set_meta(db, "last_trade_pub_date", newest)
            _set_meta(db, "last_sync_at", utc_now())

    def recompute_stats(self) -> None:
        """politician_stats and issuer_stats from the trades, in one transaction."""
        with self.transaction() as db:
            _recompute_stats(db)

    def status(self) -> dict[str, object]:
        """Counts per entity and the last sync and enrichment times (read-only)."""
        has_failures = self._table_exists("trio_enrich_failures")
        report: dict[str, object] = {}
        for entity, table, key in (
            ("trade", "trades", "tx_id"),
            ("issuer", "issuers", "issuer_id"),
        ):
            total, enriched, last = self._db.execute(
                f"SELECT COUNT(*), COUNT(enriched_at), MAX(enriched_at) FROM {table}"
            ).fetchone()
            by_kind: dict[str, int] = {}
            if has_failures:
                by_kind = {
                    str(kind): int(count)
                    for kind, count in self._db.execute(
                        f"SELECT f.kind, COUNT(*) FROM trio_enrich_failures f JOIN {table} t"
                        f" ON t.{key} = f.item_id WHERE f.entity = ? AND t.enriched_at IS NULL"
                        " GROUP BY f.kind ORDER BY f.kind",
                        (entity,),
                    )
                }
            not_found = by_kind.pop(FailureKind.NOT_FOUND.value, 0)
            report[table] = {
                "total": total,
                "enriched": enriched,
                "pending": total - enriched - not_found,
                "not_found": not_found,
                "failed": sum(by_kind.values()),
                "failed_by_kind": by_kind,
                "last_enriched_at": last,
            }
        report["not_shown"] = self._not_shown()
        report["last_sync_at"] = self.get_meta("last_sync_at")
        walk = self.full_walk()
        report["unfinished_full_walk"] = (
            None
            if walk is None
            else {
                "started_at": walk.started_at,
                "total": walk.total,
                "unread_trades": walk.unread_count(),
            }
        )
        report["last_trade_pub_date"] = self.get_meta("last_trade_pub_date")
        report["user_version"] = self.user_version()
        report["schema_version"] = self.schema_version()
        return report

    def _not_shown(self) -> dict[str, int]:
        """Enriched trades whose stored value only stands for "the site did not show it".

        The inherited schema has NOT NULL columns where the site may say nothing, so these
        values double as "unknown": asset_type 'unknown', filing_id 0, filing_url '', and a
        has_capital_gains of 0 for a trade not in trio_enrich_capital_gains_shown.
        """
        # A database our version 1 opened read-only lacks the table: nothing was shown there.
        known = self._table_exists("trio_enrich_capital_gains_shown")
        row = self._db.execute(_NOT_SHOWN_SQL if known else _NOT_SHOWN_SQL_V1).fetchone()
        keys = ("asset_type", "filing_id", "filing_url", "has_capital_gains")
        return dict(zip(keys, (int(value) for value in row), strict=True))

    # --- writing: enrichment outcomes ---------------------------------------------------------

    def write_trade_batch(
        self,
        details: Sequence[TradeDetail],
        failures: Sequence[ItemFailure] = (),
        *,
        now: str | None = None,
    ) -> BatchResult:
        """Write trade details and failures in one transaction."""
        stamp = now or utc_now()
        missing = 0
        with self.transaction() as db:
            for detail in details:
                if not _write_trade_detail(db, detail, stamp):
                    missing += 1
            _record_failures(db, "trade", failures, stamp)
        return BatchResult(len(details) - missing, len(failures), missing)

    def write_issuer_batch(
        self,
        details: Sequence[IssuerDetail],
        failures: Sequence[ItemFailure] = (),
        *,
        now: str | None = None,
    ) -> BatchResult:
        """Write issuer details and failures in one transaction."""
        stamp = now or utc_now()
        with self.transaction() as db:
            for detail in details:
                _write_issuer_detail(db, detail, stamp)
            _record_failures(db, "issuer", failures, stamp)
        return BatchResult(len(details), len(failures), 0)


# --- helpers ------------------------------------------------------------------------------------


def _check_path(path: Path, *, must_exist: bool = False, writable: bool = True) -> None:
    """Refuse what is not a database file before sqlite touches it."""
    if path.is_dir():
        raise DatabaseError(f"database path {path} is a directory")
    if not path.exists():
        if must_exist:
            raise DatabaseError(f"database {path} does not exist")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise DatabaseError(f"cannot create database {path}: folder {parent} does not exist")
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as error:
        raise DatabaseError(f"cannot read database {path}: {error.strerror}") from error
    if header and header != _SQLITE_HEADER:
        raise DatabaseError(f"{path} is not an SQLite database")
    # Mode bits, not os.access: root may write anything, but a file without write bits says
    # its owner wants it left alone.
    if writable and (not path.stat().st_mode & 0o222 or not os.access(path, os.W_OK)):
        raise DatabaseError(f"database {path} is read-only")


def _describe(error: sqlite3.Error, path: str) -> str:
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"database {path} is locked by another program (gave up waiting): {text}"
    if "readonly" in text or "read-only" in text:
        return f"database {path} is read-only: {text}"
    if "not a database" in text:
        return f"{path} is not an SQLite database"
    return f"database {path}: {text}"


def _split_sql(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _recompute_stats(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM politician_stats")
    db.execute(
        """INSERT INTO politician_stats (politician_id, date_last_traded, count_trades,
               count_issuers, volume)
           SELECT politician_id, MAX(tx_date), COUNT(*), COUNT(DISTINCT issuer_id),
                  SUM(value)
           FROM trades GROUP BY politician_id"""
    )
    db.execute("DELETE FROM issuer_stats")
    db.execute(
        """INSERT INTO issuer_stats (issuer_id, count_trades, count_politicians, volume,
               date_last_traded)
           SELECT issuer_id, COUNT(*), COUNT(DISTINCT politician_id), SUM(value),
                  MAX(tx_date)
           FROM trades GROUP BY issuer_id"""
    )


def _set_our_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO trio_enrich_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO ingest_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _upsert_listing_trade(db: sqlite3.Connection, trade: ListingTrade) -> None:
    politician = trade.politician
    issuer = trade.issuer
    db.execute(
        """INSERT INTO politicians (politician_id, state_id, party, first_name, last_name,
               nickname, dob, gender, chamber)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(politician_id) DO UPDATE SET
               state_id = CASE WHEN excluded.state_id <> ''
                               THEN excluded.state_id ELSE state_id END,
               party = CASE WHEN excluded.party <> '' THEN excluded.party ELSE party END,
               first_name = CASE WHEN excluded.first_name <> ''
                                 THEN excluded.first_name ELSE first_name END,
               last_name = CASE WHEN excluded.last_name <> ''
                                THEN excluded.last_name ELSE last_name END,
               nickname = COALESCE(excluded.nickname, nickname),
               dob = CASE WHEN excluded.dob <> '' THEN excluded.dob ELSE dob END,
               gender = CASE WHEN excluded.gender <> '' THEN excluded.gender ELSE gender END,
               chamber = CASE WHEN excluded.chamber <> '' THEN excluded.chamber ELSE chamber END""",
        (
            politician.politician_id,
            politician.state_id or "",
            politician.party or "",
            politician.first_name or "",
            politician.last_name or "",
            politician.nickname,
            politician.dob or "",
            politician.gender or "",
            politician.chamber or trade.chamber,
        ),
    )
    db.execute(
        """INSERT INTO issuers (issuer_id, state_id, c2iq, country, issuer_name, issuer_ticker,
               sector)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(issuer_id) DO UPDATE SET
               state_id = COALESCE(excluded.state_id, state_id),
               c2iq = COALESCE(excluded.c2iq, c2iq),
               country = COALESCE(excluded.country, country),
               issuer_name = excluded.issuer_name,
               issuer_ticker = COALESCE(excluded.issuer_ticker, issuer_ticker),
               sector = COALESCE(excluded.sector, sector)""",
        (
            issuer.issuer_id,
            issuer.state_id,
            issuer.c2iq,
            issuer.country,
            issuer.issuer_name,
            issuer.issuer_ticker,
            issuer.sector,
        ),
    )
    # As capitoltraders does: one asset per trade, asset_id = tx_id, type unknown until enriched.
    db.execute(
        "INSERT INTO assets (asset_id, asset_type) VALUES (?, 'unknown') "
        "ON CONFLICT(asset_id) DO NOTHING",
        (trade.tx_id,),
    )
    db.execute(
        """INSERT INTO trades (tx_id, politician_id, asset_id, issuer_id, pub_date, filing_date,
               tx_date, tx_type, tx_type_extended, has_capital_gains, owner, chamber, price,
               value, filing_id, filing_url, reporting_gap, comment)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 0, '', ?, ?)
           ON CONFLICT(tx_id) DO UPDATE SET
               politician_id = excluded.politician_id,
               issuer_id = excluded.issuer_id,
               pub_date = excluded.pub_date,
               tx_date = excluded.tx_date,
               tx_type = excluded.tx_type,
               tx_type_extended = COALESCE(excluded.tx_type_extended, tx_type_extended),
               owner = excluded.owner,
               chamber = excluded.chamber,
               price = CASE WHEN enriched_at IS NULL THEN COALESCE(excluded.price, price)
                            ELSE COALESCE(price, excluded.price) END,
               value = excluded.value,
               reporting_gap = excluded.reporting_gap,
               comment = COALESCE(excluded.comment, comment)""",
        (
            trade.tx_id,
            politician.politician_id,
            trade.tx_id,
            issuer.issuer_id,
            trade.pub_date,
            trade.pub_date[:10],
            trade.tx_date,
            trade.tx_type,
            trade.tx_type_extended,
            trade.owner or "",
            trade.chamber,
            trade.price,
            trade.value,
            trade.reporting_gap if trade.reporting_gap is not None else 0,
            trade.comment,
        ),
    )


def _write_trade_detail(db: sqlite3.Connection, detail: TradeDetail, stamp: str) -> bool:
    cursor = db.execute(
        """UPDATE trades SET
               price = CASE
                   WHEN :price IS NULL THEN price
                   -- A rounded price that agrees with the stored one keeps its precision.
                   WHEN price IS NOT NULL AND :tolerance IS NOT NULL
                        AND abs(price - :price) <= :tolerance THEN price
                   ELSE :price END,
               size = COALESCE(:size, size),
               size_range_low = COALESCE(:size_range_low, size_range_low),
               size_range_high = COALESCE(:size_range_high, size_range_high),
               filing_id = CASE WHEN :filing_id > 0 THEN :filing_id ELSE filing_id END,
               filing_url = CASE WHEN :filing_url <> '' THEN :filing_url ELSE filing_url END,
               has_capital_gains = COALESCE(:has_capital_gains, has_capital_gains),
               reporting_gap = COALESCE(:reporting_gap, reporting_gap),
               enriched_at = :stamp
           WHERE tx_id = :tx_id""",
        {
            "tx_id": detail.tx_id,
            "price": detail.price,
            "tolerance": (
                None if detail.price_decimals is None else 0.5 * 10.0**-detail.price_decimals + 1e-9
            ),
            "size": detail.size,
            "size_range_low": detail.size_range_low,
            "size_range_high": detail.size_range_high,
            "filing_id": detail.filing_id,
            "filing_url": detail.filing_url,
            "has_capital_gains": (
                None if detail.has_capital_gains is None else int(detail.has_capital_gains)
            ),
            "reporting_gap": detail.reporting_gap,
            "stamp": stamp,
        },
    )
    if cursor.rowcount == 0:
        return False
    db.execute(
        """UPDATE assets SET
               asset_type = CASE WHEN asset_type = 'unknown' AND :asset_type IS NOT NULL
                                 THEN :asset_type ELSE asset_type END,
               asset_ticker = COALESCE(:asset_ticker, asset_ticker),
               instrument = COALESCE(:instrument, instrument)
           WHERE asset_id = (SELECT asset_id FROM trades WHERE tx_id = :tx_id)""",
        {
            "tx_id": detail.tx_id,
            "asset_type": detail.asset_type,
            "asset_ticker": detail.asset_ticker,
            "instrument": detail.instrument,
        },
    )
    _replace_list(db, "trade_committees", "committee", detail.tx_id, detail.committees)
    _replace_list(db, "trade_labels", "label", detail.tx_id, detail.labels)
    if detail.has_capital_gains is not None:
        db.execute(
            "INSERT OR IGNORE INTO trio_enrich_capital_gains_shown (tx_id) VALUES (?)",
            (detail.tx_id,),
        )
    db.execute(
        "DELETE FROM trio_enrich_failures WHERE entity = 'trade' AND item_id = ?",
        (detail.tx_id,),
    )
    return True


def _replace_list(
    db: sqlite3.Connection, table: str, column: str, tx_id: int, values: tuple[str, ...]
) -> None:
    if not values:
        return  # an empty list never erases what an earlier run stored
    db.execute(f"DELETE FROM {table} WHERE tx_id = ?", (tx_id,))
    db.executemany(
        f"INSERT OR IGNORE INTO {table} (tx_id, {column}) VALUES (?, ?)",
        [(tx_id, value) for value in values],
    )


_PERFORMANCE_COLUMNS = tuple(name.replace("Change", "_change") for name in PERFORMANCE_FIELDS)


def _write_issuer_detail(db: sqlite3.Connection, detail: IssuerDetail, stamp: str) -> None:
    db.execute(
        """INSERT INTO issuers (issuer_id, state_id, c2iq, country, issuer_name, issuer_ticker,
               sector, enriched_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(issuer_id) DO UPDATE SET
               state_id = COALESCE(excluded.state_id, state_id),
               c2iq = COALESCE(excluded.c2iq, c2iq),
               country = COALESCE(excluded.country, country),
               issuer_name = excluded.issuer_name,
               issuer_ticker = COALESCE(excluded.issuer_ticker, issuer_ticker),
               sector = COALESCE(excluded.sector, sector),
               enriched_at = excluded.enriched_at""",
        (
            detail.issuer_id,
            detail.state_id,
            detail.c2iq,
            detail.country,
            detail.issuer_name,
            detail.issuer_ticker,
            detail.sector,
            stamp,
        ),
    )
    stats = detail.stats
    if stats is not None and stats.date_last_traded:
        db.execute(
            """INSERT INTO issuer_stats (issuer_id, count_trades, count_politicians, volume,
                   date_last_traded) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(issuer_id) DO UPDATE SET
                   count_trades = excluded.count_trades,
                   count_politicians = excluded.count_politicians,
                   volume = excluded.volume,
                   date_last_traded = excluded.date_last_traded""",
            (
                detail.issuer_id,
                stats.count_trades,
                stats.count_politicians,
                stats.volume,
                stats.date_last_traded,
            ),
        )
    performance = detail.performance
    if performance is not None:  # a page without performance never erases stored performance
        columns = ", ".join(("issuer_id", "mcap", *_PERFORMANCE_COLUMNS))
        marks = ", ".join("?" * (2 + len(_PERFORMANCE_COLUMNS)))
        updates = ", ".join(f"{c} = excluded.{c}" for c in ("mcap", *_PERFORMANCE_COLUMNS))
        db.execute(
            f"INSERT INTO issuer_performance ({columns}) VALUES ({marks}) "
            f"ON CONFLICT(issuer_id) DO UPDATE SET {updates}",
            (detail.issuer_id, performance.mcap, *performance.numbers),
        )
        if performance.eod_prices:
            db.execute("DELETE FROM issuer_eod_prices WHERE issuer_id = ?", (detail.issuer_id,))
            db.executemany(
                "INSERT OR REPLACE INTO issuer_eod_prices (issuer_id, price_date, price) "
                "VALUES (?, ?, ?)",
                [(detail.issuer_id, day, price) for day, price in performance.eod_prices],
            )
    db.execute(
        "DELETE FROM trio_enrich_failures WHERE entity = 'issuer' AND item_id = ?",
        (detail.issuer_id,),
    )


def _record_failures(
    db: sqlite3.Connection, entity: Entity, failures: Sequence[ItemFailure], stamp: str
) -> None:
    db.executemany(
        """INSERT INTO trio_enrich_failures (entity, item_id, kind, message, attempts, last_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(entity, item_id) DO UPDATE SET
               kind = excluded.kind,
               message = excluded.message,
               attempts = attempts + excluded.attempts,
               last_at = excluded.last_at""",
        [
            (entity, failure.item_id, failure.kind.value, failure.message, failure.attempts, stamp)
            for failure in failures
        ],
    )
