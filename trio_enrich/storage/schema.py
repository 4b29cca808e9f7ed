"""The schema of a capitoltraders.db and our own tables: what makes a file usable, and how it
is brought up to date. Apart from the reads and writes (``_store``), as a schema should be.

The capitoltraders tables (that tool's schema at ``PRAGMA user_version`` 1) are created only in
a new or empty file; a user's tables at any of its later versions are left as they are, columns
and all. Our own tables are versioned in ``trio_enrich_meta.schema_version`` and migrated
forward, one list of statements per version; a newer version than we know is refused.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from .._errors import DatabaseError
from .views import VIEWS_SIGNATURE, create_views, drop_views

__all__ = [
    "SCHEMA_VERSION",
    "check_path",
    "check_schema",
    "connect_read_only",
    "describe_error",
    "our_schema_version",
    "prepare",
    "table_exists",
    "transaction",
]

#: trio-enrich's own schema version (in trio_enrich_meta), independent of PRAGMA user_version.
SCHEMA_VERSION = 8

_SQLITE_HEADER = b"SQLite format 3\x00"


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
    (
        # The inherited issuer_performance makes every figure NOT NULL, while the site leaves
        # some out (no trailing365 for an issuer listed less than a year ago). An issuer whose
        # page shows only part of its performance has it here, with NULL for what was not
        # shown, and no issuer_performance row: one of the two tables holds an issuer's figures.
        """CREATE TABLE IF NOT EXISTS trio_enrich_partial_performance (
            issuer_id INTEGER PRIMARY KEY,
            mcap INTEGER,
            trailing1 REAL, trailing1_change REAL, trailing7 REAL, trailing7_change REAL,
            trailing30 REAL, trailing30_change REAL, trailing90 REAL, trailing90_change REAL,
            trailing365 REAL, trailing365_change REAL, wtd REAL, wtd_change REAL,
            mtd REAL, mtd_change REAL, qtd REAL, qtd_change REAL, ytd REAL, ytd_change REAL,
            FOREIGN KEY (issuer_id) REFERENCES issuers(issuer_id) ON DELETE CASCADE
        )""",
    ),
    (
        # How many runs in a row recorded the same kind of failure, and since when: an item
        # whose page is a server error on every run for days is parked (see _store.PARKED).
        "ALTER TABLE trio_enrich_failures ADD COLUMN runs INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE trio_enrich_failures ADD COLUMN first_at TEXT",
        "UPDATE trio_enrich_failures SET first_at = last_at WHERE first_at IS NULL",
    ),
    (
        # Where an enriched trade's or issuer's values were read: the page in the page archive
        # (`x.pages.db` beside `x.db`, table `pages`, by url and hash). No row: the page was
        # not kept (a run with --no-archive, or before there was an archive).
        """CREATE TABLE IF NOT EXISTS trio_enrich_sources (
            entity TEXT NOT NULL,
            item_id INTEGER NOT NULL,
            url TEXT NOT NULL,
            hash TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (entity, item_id)
        ) WITHOUT ROWID""",
    ),
    (
        # What the copy remembers over time. Each run that held the run lock (its command,
        # start, end, the exit code a command gave, the stages' counts), when each trade was
        # first stored and by which run (trades stored before this version have no row: they
        # are history, not news), and when each committee membership was first and last seen
        # on a roster (politician_committees keeps the current roster only). No AUTOINCREMENT:
        # it would add sqlite_sequence beside the user's tables, and runs are never deleted.
        """CREATE TABLE IF NOT EXISTS trio_enrich_runs (
            run_id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            exit_code INTEGER,
            error TEXT,
            new_trades INTEGER,
            counts TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS trio_enrich_first_seen (
            tx_id INTEGER PRIMARY KEY,
            first_seen_at TEXT NOT NULL,
            run_id INTEGER
        )""",
        "CREATE INDEX IF NOT EXISTS idx_trio_enrich_first_seen_at "
        "ON trio_enrich_first_seen(first_seen_at)",
        "CREATE INDEX IF NOT EXISTS idx_trio_enrich_first_seen_run "
        "ON trio_enrich_first_seen(run_id)",
        """CREATE TABLE IF NOT EXISTS trio_enrich_memberships (
            politician_id TEXT NOT NULL,
            committee TEXT NOT NULL,
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            PRIMARY KEY (politician_id, committee)
        ) WITHOUT ROWID""",
    ),
    (
        # Full-text search over each trade's member, issuer and ticker (a trade's rowid is its
        # tx_id), without regard to case or accents; rebuilt by every sync that completes.
        "CREATE VIRTUAL TABLE IF NOT EXISTS trio_enrich_search USING fts5("
        "politician, issuer, ticker, tokenize = 'unicode61 remove_diacritics 2')",
    ),
    (
        # The alerts' ledger (storage.deliveries): destinations (by their URL's sha256: the
        # URL is never stored), the runs each took part in, each trade's delivery to each.
        """CREATE TABLE IF NOT EXISTS trio_enrich_destinations (
            destination_id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            label TEXT NOT NULL,
            first_used_at TEXT NOT NULL,
            last_attempt_at TEXT,
            last_sent_at TEXT,
            last_error TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS trio_enrich_destination_runs (
            destination_id INTEGER NOT NULL,
            run_id INTEGER NOT NULL,
            queued INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (destination_id, run_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS trio_enrich_deliveries (
            destination_id INTEGER NOT NULL,
            tx_id INTEGER NOT NULL,
            run_id INTEGER,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TEXT NOT NULL,
            sent_at TEXT,
            last_error TEXT,
            PRIMARY KEY (destination_id, tx_id)
        ) WITHOUT ROWID""",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION

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


def check_schema(db: sqlite3.Connection, path: str, *, create: bool) -> bool:
    """Refuse a database we must not use (reads only); True when it is empty and ours to make.

    A capitoltraders database has the four core tables with the columns we use, and no
    trio-enrich schema newer than ours. An empty one (no table, view, index or trigger,
    and no ``user_version`` of anybody's) may become one when `create` allows it.
    """
    version = our_schema_version(db, path)
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"database {path} has trio-enrich schema version {version}, newer than "
            f"this trio-enrich knows ({SCHEMA_VERSION}); upgrade trio-enrich to use it"
        )
    _check_existing_tables(db, path)
    names = [
        str(row[0])
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    if not names and int(db.execute("PRAGMA user_version").fetchone()[0]) == 0:
        if create:
            return True
        raise DatabaseError(f"{path} is an empty database, not a capitoltraders database")
    missing = [table for table in _REQUIRED_COLUMNS if table not in names]
    if missing:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") or "none"
        if names == ["pages"] and path.endswith(".pages.db"):
            raise DatabaseError(
                f"{path} is the page archive of a database, not a capitoltraders database: "
                f"name the database beside it (--db {path.removesuffix('.pages.db')}.db)"
            )
        raise DatabaseError(
            f"{path} is not a capitoltraders database: it lacks the table(s) "
            f"{', '.join(missing)} (its tables: {shown}); trio-enrich only creates one "
            "in a new or empty file"
        )
    return False


def prepare(db: sqlite3.Connection, path: str, *, create: bool) -> None:
    version = our_schema_version(db, path)
    fresh = check_schema(db, path, create=create)  # reads only
    db.execute("PRAGMA foreign_keys = ON")
    if path != ":memory:":
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise DatabaseError(f"cannot switch database {path} to WAL mode")
    db.execute("PRAGMA synchronous = NORMAL")
    with transaction(db, path):
        views_stale = version < SCHEMA_VERSION or _views_signature(db) != VIEWS_SIGNATURE
        if views_stale:
            drop_views(db)  # (a migration may alter a table they read)
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
        if views_stale:
            create_views(db)  # what this version means by each view
            db.execute(
                "INSERT INTO trio_enrich_meta(key, value) VALUES ('views', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (VIEWS_SIGNATURE,),
            )


def _views_signature(db: sqlite3.Connection) -> str | None:
    """The signature of the views a writer last made in this copy (None: none yet)."""
    if not table_exists(db, "trio_enrich_meta"):
        return None
    row = db.execute("SELECT value FROM trio_enrich_meta WHERE key = 'views'").fetchone()
    return None if row is None else str(row[0])


def table_exists(db: sqlite3.Connection, name: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def our_schema_version(db: sqlite3.Connection, path: str) -> int:
    if not table_exists(db, "trio_enrich_meta"):
        return 0
    row = db.execute("SELECT value FROM trio_enrich_meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return 0
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise DatabaseError(
            f"database {path} has an unreadable trio-enrich schema version {row[0]!r}"
        ) from None


def _check_existing_tables(db: sqlite3.Connection, path: str) -> None:
    for table, required in _REQUIRED_COLUMNS.items():
        if not table_exists(db, table):
            continue
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        missing = [column for column in required if column not in present]
        if missing:
            raise DatabaseError(
                f"database {path}: table {table} lacks column(s) {', '.join(missing)}; "
                "is it a capitoltraders database?"
            )


@contextmanager
def transaction(
    db: sqlite3.Connection, path: str, *, keep: bool = True
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (and at its end when not
    `keep`: a dry run that measures what a write would change).

    sqlite3 errors leave as DatabaseError (a locked file, a full disk, a read-only mount).
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise DatabaseError(describe_error(error, path)) from error
    try:
        yield db
        db.execute("COMMIT" if keep else "ROLLBACK")
    except BaseException as error:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            raise DatabaseError(describe_error(error, path)) from error
        raise


def connect_read_only(path: Path, *, timeout: float) -> sqlite3.Connection:
    """A connection that can change nothing, also to a database on read-only media.

    A WAL database read with ``mode=ro`` still needs its ``-shm`` file, made beside it on
    first use: on a read-only mount (or in a folder we may not write) that fails. When there
    is no ``-wal`` file, the last writer closed cleanly and everything is in the main file,
    so it is opened as immutable (no shared memory, no locks); with a ``-wal`` file present
    the ordinary read-only open is the only one that sees all the data.
    """
    base = f"file:{quote(str(path.absolute()))}?mode=ro"
    db = sqlite3.connect(
        base, timeout=timeout, isolation_level=None, check_same_thread=False, uri=True
    )
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        if path.with_name(path.name + "-wal").exists():
            raise
        db.close()
    return sqlite3.connect(
        base + "&immutable=1", isolation_level=None, check_same_thread=False, uri=True
    )


def check_path(path: Path, *, must_exist: bool = False, writable: bool = True) -> None:
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


def describe_error(error: sqlite3.Error, path: str) -> str:
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
