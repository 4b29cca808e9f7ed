"""The SQLite store: capitoltraders compatibility, write rules, queues, batching."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trio_enrich import (
    SCHEMA_VERSION,
    DatabaseError,
    FailureKind,
    Issuer,
    IssuerDetail,
    IssuerPerformance,
    IssuerStats,
    ItemFailure,
    ListingPage,
    Store,
    TradeDetail,
    parse_trades_page,
)

from .helpers import query, recorded_failures
from .pages import fixture_bytes

# The capitoltraders schema, written out here on purpose (not imported from the package) so the
# test checks compatibility with that tool's DDL rather than with our own copy of it.
CAPITOLTRADERS_DDL = """
CREATE TABLE assets (asset_id INTEGER PRIMARY KEY, asset_type TEXT NOT NULL,
    asset_ticker TEXT, instrument TEXT);
CREATE TABLE issuers (issuer_id INTEGER PRIMARY KEY, state_id TEXT, c2iq TEXT, country TEXT,
    issuer_name TEXT NOT NULL, issuer_ticker TEXT, sector TEXT, enriched_at TEXT);
CREATE TABLE politicians (politician_id TEXT PRIMARY KEY, state_id TEXT NOT NULL,
    party TEXT NOT NULL, party_other TEXT, district TEXT, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, nickname TEXT, middle_name TEXT, full_name TEXT, dob TEXT NOT NULL,
    gender TEXT NOT NULL, social_facebook TEXT, social_twitter TEXT, social_youtube TEXT,
    website TEXT, chamber TEXT NOT NULL, enriched_at TEXT);
CREATE TABLE trades (tx_id INTEGER PRIMARY KEY, politician_id TEXT NOT NULL,
    asset_id INTEGER NOT NULL, issuer_id INTEGER NOT NULL, pub_date TEXT NOT NULL,
    filing_date TEXT NOT NULL, tx_date TEXT NOT NULL, tx_type TEXT NOT NULL,
    tx_type_extended TEXT, has_capital_gains INTEGER NOT NULL, owner TEXT NOT NULL,
    chamber TEXT NOT NULL, price REAL, size INTEGER, size_range_high INTEGER,
    size_range_low INTEGER, value INTEGER NOT NULL, filing_id INTEGER NOT NULL,
    filing_url TEXT NOT NULL, reporting_gap INTEGER NOT NULL, comment TEXT, enriched_at TEXT,
    FOREIGN KEY (politician_id) REFERENCES politicians(politician_id) ON DELETE CASCADE,
    FOREIGN KEY (asset_id) REFERENCES assets(asset_id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id) REFERENCES issuers(issuer_id) ON DELETE CASCADE);
CREATE TABLE trade_committees (tx_id INTEGER NOT NULL, committee TEXT NOT NULL,
    PRIMARY KEY (tx_id, committee), FOREIGN KEY (tx_id) REFERENCES trades(tx_id) ON DELETE CASCADE);
CREATE TABLE trade_labels (tx_id INTEGER NOT NULL, label TEXT NOT NULL,
    PRIMARY KEY (tx_id, label), FOREIGN KEY (tx_id) REFERENCES trades(tx_id) ON DELETE CASCADE);
CREATE TABLE politician_committees (politician_id TEXT NOT NULL, committee TEXT NOT NULL,
    PRIMARY KEY (politician_id, committee));
CREATE TABLE politician_stats (politician_id TEXT PRIMARY KEY, date_last_traded TEXT,
    count_trades INTEGER NOT NULL, count_issuers INTEGER NOT NULL, volume INTEGER NOT NULL);
CREATE TABLE issuer_stats (issuer_id INTEGER PRIMARY KEY, count_trades INTEGER NOT NULL,
    count_politicians INTEGER NOT NULL, volume INTEGER NOT NULL, date_last_traded TEXT NOT NULL);
CREATE TABLE issuer_performance (issuer_id INTEGER PRIMARY KEY, mcap INTEGER NOT NULL,
    trailing1 REAL NOT NULL, trailing1_change REAL NOT NULL, trailing7 REAL NOT NULL,
    trailing7_change REAL NOT NULL, trailing30 REAL NOT NULL, trailing30_change REAL NOT NULL,
    trailing90 REAL NOT NULL, trailing90_change REAL NOT NULL, trailing365 REAL NOT NULL,
    trailing365_change REAL NOT NULL, wtd REAL NOT NULL, wtd_change REAL NOT NULL,
    mtd REAL NOT NULL, mtd_change REAL NOT NULL, qtd REAL NOT NULL, qtd_change REAL NOT NULL,
    ytd REAL NOT NULL, ytd_change REAL NOT NULL);
CREATE TABLE issuer_eod_prices (issuer_id INTEGER NOT NULL, price_date TEXT NOT NULL,
    price REAL NOT NULL, PRIMARY KEY (issuer_id, price_date));
CREATE TABLE ingest_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX idx_trades_enriched_at ON trades(enriched_at);
"""

# What later releases of that tool (up to user_version 10) add; we must keep it untouched.
CAPITOLTRADERS_V10_ADDITIONS = """
ALTER TABLE trades ADD COLUMN trade_date_price REAL;
ALTER TABLE trades ADD COLUMN current_price REAL;
ALTER TABLE trades ADD COLUMN price_enriched_at TEXT;
ALTER TABLE trades ADD COLUMN estimated_shares REAL;
ALTER TABLE trades ADD COLUMN estimated_value REAL;
ALTER TABLE trades ADD COLUMN benchmark_price REAL;
ALTER TABLE trades ADD COLUMN price_source TEXT;
ALTER TABLE issuers ADD COLUMN gics_sector TEXT;
CREATE TABLE fec_mappings (politician_id TEXT, fec_candidate_id TEXT);
CREATE TABLE fec_committees (committee_id TEXT PRIMARY KEY, name TEXT);
CREATE TABLE donations (id INTEGER PRIMARY KEY, amount REAL);
CREATE TABLE donation_sync_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE employer_mappings (employer TEXT, issuer_id INTEGER);
CREATE TABLE employer_lookup (employer TEXT PRIMARY KEY);
CREATE TABLE sector_benchmarks (sector TEXT PRIMARY KEY, ticker TEXT);
CREATE TABLE positions (politician_id TEXT, issuer_id INTEGER, shares REAL);
"""


def _listing() -> ListingPage:
    page = parse_trades_page(fixture_bytes("real/trades_page1_2025-01-02.html"))
    assert isinstance(page, ListingPage)
    return page


def _make_capitoltraders_db(path: Path, *, version: int) -> None:
    db = sqlite3.connect(path)
    db.executescript(CAPITOLTRADERS_DDL)
    if version >= 10:
        db.executescript(CAPITOLTRADERS_V10_ADDITIONS)
        db.execute("INSERT INTO fec_committees VALUES ('C1', 'Friends of Somebody')")
        db.execute("INSERT INTO positions VALUES ('P000001', 1, 12.5)")
    db.execute(
        "INSERT INTO politicians (politician_id, state_id, party, first_name, last_name,"
        " dob, gender, chamber) VALUES ('P000001', 'ca', 'democrat', 'Ann', 'Bee',"
        " '1960-01-01', 'female', 'house')"
    )
    db.execute(
        "INSERT INTO issuers (issuer_id, issuer_name, enriched_at) VALUES"
        " (1, 'Acme', '2026-01-01T00:00:00Z'), (2, 'Globex', NULL)"
    )
    db.execute(
        "INSERT INTO assets VALUES (100, 'stock', 'ACME', NULL), (101, 'unknown', NULL, NULL)"
    )
    db.execute(
        "INSERT INTO trades (tx_id, politician_id, asset_id, issuer_id, pub_date,"
        " filing_date, tx_date, tx_type, has_capital_gains, owner, chamber, price, size,"
        " value, filing_id, filing_url, reporting_gap, enriched_at) VALUES"
        " (100, 'P000001', 100, 1, '2026-01-02T00:00:00Z', '2026-01-02', '2026-01-01',"
        "  'buy', 1, 'self', 'house', 10.5, 30, 8000, 555, 'https://x/555.pdf', 3,"
        "  '2026-01-03T00:00:00Z'),"
        " (101, 'P000001', 101, 2, '2026-01-05T00:00:00Z', '2026-01-05', '2026-01-04',"
        "  'sell', 0, 'spouse', 'house', NULL, NULL, 32500, 0, '', 4, NULL)"
    )
    db.execute("INSERT INTO trade_labels VALUES (100, 'faang')")
    db.execute("INSERT INTO ingest_meta VALUES ('last_trade_pub_date', '2026-01-05T00:00:00Z')")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table except ours, for before/after comparison."""
    db = sqlite3.connect(path)
    tables = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'trio_enrich%'"
        )
    ]
    dump = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    dump["__columns__"] = sorted(
        (t, row[1]) for t in tables for row in db.execute(f"PRAGMA table_info({t})")
    )
    db.close()
    return dump


@pytest.mark.parametrize("version", [1, 5, 10])
def test_existing_capitoltraders_db_opens_with_every_row_intact(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "capitoltraders.db"
    _make_capitoltraders_db(path, version=version)
    before = _dump(path)
    with Store.open(path) as store:
        assert store.user_version() == version  # theirs, left as it was
        assert store.schema_version() == SCHEMA_VERSION
        assert query(store, "PRAGMA integrity_check") == [("ok",)]
        assert store.pending_trade_ids() == [101]
        assert store.pending_issuer_ids() == [2]
    after = _dump(path)
    assert {t: after[t] for t in before} == before  # nothing lost, nothing changed
    if version >= 10:
        assert ("trades", "price_source") in after["__columns__"]
        assert after["positions"] == [("P000001", 1, 12.5)]


def test_a_new_database_is_at_capitoltraders_first_version_in_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = db.execute("SELECT value FROM trio_enrich_meta WHERE key='schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)
    db.close()


def test_a_newer_schema_version_is_refused_and_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store.open(path).close()
    db = sqlite3.connect(path)
    db.execute(
        "UPDATE trio_enrich_meta SET value = ? WHERE key = 'schema_version'",
        (str(SCHEMA_VERSION + 1),),
    )
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="newer than"):
        Store.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"hello, this is not a database at all" * 10, b"\x00" * 512])
def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(DatabaseError, match="not an SQLite database"):
        Store.open(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a directory"):
        Store.open(tmp_path)


def test_a_read_only_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    Store.open(path).close()
    path.chmod(0o444)
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="read-only"):
        Store.open(path)
    assert path.read_bytes() == before


def test_listing_upsert_fills_every_table(tmp_path: Path) -> None:
    page = _listing()
    with Store.open(tmp_path / "db.sqlite") as store:
        assert store.upsert_listing(page.trades).new == 12
        assert query(store, "SELECT COUNT(*) FROM trades") == [(12,)]
        first = query(
            store,
            "SELECT t.politician_id, t.issuer_id, t.value, t.pub_date, t.filing_date, a.asset_type,"
            " t.filing_id, t.filing_url, t.enriched_at, i.issuer_name, i.issuer_ticker"
            " FROM trades t JOIN assets a USING (asset_id) JOIN issuers i USING (issuer_id)"
            " WHERE tx_id = 10000062880",
        )
        assert first == [
            (
                "C000174",
                429900,
                8000,
                "2025-01-02T15:15:09Z",
                "2025-01-02",
                "unknown",
                0,
                "",
                None,
                "Atlantica Sustainable Infrastructure PLC",
                "AY:US",
            )
        ]
        tickers = {row[0] for row in query(store, "SELECT issuer_ticker FROM issuers")}
        assert "$SKI" in tickers
        # The cutoff moves only when a walk completes, not with each batch of rows.
        assert store.get_meta("last_trade_pub_date") is None
        store.finish_sync("2025-01-02T15:15:09Z", advance_cutoff=True)
        assert store.get_meta("last_trade_pub_date") == "2025-01-02T15:15:09Z"
        store.finish_sync("2024-12-31T00:00:00Z", advance_cutoff=True)  # never backwards
        assert store.get_meta("last_trade_pub_date") == "2025-01-02T15:15:09Z"
        assert store.pending_trade_ids() == sorted(t.tx_id for t in page.trades)


ENRICHED_DETAIL = TradeDetail(
    tx_id=10000062880,
    asset_type="stock",
    asset_ticker="AY",
    filing_url="https://e/x.pdf",
    filing_id=777,
    price=12.5,
    size=640,
    size_range_low=80,
    size_range_high=1200,
    has_capital_gains=True,
    committees=("Finance",),
    labels=("esg", "utility"),
    reporting_gap=20,
)


def _trade_row(store: Store, tx_id: int) -> tuple[object, ...]:
    return query(
        store,
        "SELECT a.asset_type, a.asset_ticker, t.filing_url, t.filing_id, t.price, t.size,"
        " t.size_range_low, t.size_range_high, t.has_capital_gains, t.reporting_gap,"
        " t.enriched_at FROM trades t JOIN assets a USING (asset_id) WHERE tx_id = ?",
        (tx_id,),
    )[0]


def test_listing_upsert_after_enrichment_keeps_every_enriched_value(tmp_path: Path) -> None:
    page = _listing()
    with Store.open(tmp_path / "db.sqlite") as store:
        store.upsert_listing(page.trades)
        store.write_trade_batch([ENRICHED_DETAIL], now="2026-11-28T00:00:00Z")
        enriched = _trade_row(store, ENRICHED_DETAIL.tx_id)
        assert enriched == (
            "stock",
            "AY",
            "https://e/x.pdf",
            777,
            12.5,
            640,
            80,
            1200,
            1,
            20,
            "2026-11-28T00:00:00Z",
        )
        store.upsert_listing(page.trades)  # a re-sync of the same page (its price is null)
        assert _trade_row(store, ENRICHED_DETAIL.tx_id) == enriched
        assert query(store, "SELECT committee FROM trade_committees") == [("Finance",)]
        assert sorted(query(store, "SELECT label FROM trade_labels")) == [("esg",), ("utility",)]
        assert ENRICHED_DETAIL.tx_id not in store.pending_trade_ids()


def test_null_never_erases_and_sentinels_are_respected(tmp_path: Path) -> None:
    page = _listing()
    with Store.open(tmp_path / "db.sqlite") as store:
        store.upsert_listing(page.trades)
        store.write_trade_batch([ENRICHED_DETAIL], now="2026-11-28T00:00:00Z")
        # A later, poorer page: no values, a zero filing id, an empty URL, empty lists, and a
        # different asset type (only 'unknown' may be upgraded).
        poorer = TradeDetail(
            tx_id=ENRICHED_DETAIL.tx_id,
            asset_type="etf",
            filing_id=0,
            filing_url="",
            has_capital_gains=None,
        )
        store.write_trade_batch([poorer], now="2026-11-29T00:00:00Z")
        row = _trade_row(store, ENRICHED_DETAIL.tx_id)
        assert row[:10] == ("stock", "AY", "https://e/x.pdf", 777, 12.5, 640, 80, 1200, 1, 20)
        assert row[10] == "2026-11-29T00:00:00Z"
        assert query(store, "SELECT committee FROM trade_committees") == [("Finance",)]
        # A new non-empty list replaces the old one.
        store.write_trade_batch([TradeDetail(tx_id=ENRICHED_DETAIL.tx_id, labels=("new",))])
        assert query(store, "SELECT label FROM trade_labels") == [("new",)]


def test_one_thousand_outcomes_are_written_in_one_transaction(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite") as store:
        trades = list(_listing().trades)
        template = trades[0]
        import dataclasses

        many = [dataclasses.replace(template, tx_id=20_000_000_000 + i) for i in range(1_000)]
        store.upsert_listing(many)
        statements: list[str] = []
        # (the one private field a test reads: the statements SQLite ran, which no public
        # snapshot can give; how many transactions a batch takes is the point)
        store._db.set_trace_callback(statements.append)
        details = [
            TradeDetail(tx_id=t.tx_id, asset_type="stock", filing_id=i + 1)
            for i, t in enumerate(many[:900])
        ]
        failures = [ItemFailure(t.tx_id, FailureKind.NOT_FOUND, "gone") for t in many[900:]]
        result = store.write_trade_batch(details, failures)
        store._db.set_trace_callback(None)
        assert (result.enriched, result.failures) == (900, 100)
        assert sum(s.strip().upper().startswith("BEGIN") for s in statements) == 1
        assert sum(s.strip().upper() == "COMMIT" for s in statements) == 1
        assert query(store, "SELECT COUNT(*) FROM trades WHERE enriched_at IS NOT NULL") == [(900,)]
        assert store.pending_trade_ids() == []  # the 100 not-found ones are excluded...
        assert len(store.pending_trade_ids(include_not_found=True)) == 100  # ...unless asked
        assert query(store, "PRAGMA integrity_check") == [("ok",)]


def test_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite") as store:
        store.upsert_listing(_listing().trades)
        good = TradeDetail(tx_id=10000062880, asset_type="stock")
        with pytest.raises(AttributeError):
            store.write_trade_batch([good, "not a detail"])  # type: ignore[list-item]
        assert query(store, "SELECT COUNT(*) FROM trades WHERE enriched_at IS NOT NULL") == [(0,)]


def test_pending_queue_is_ordered_limited_and_counts_failures(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite") as store:
        ids = sorted(t.tx_id for t in _listing().trades)
        store.upsert_listing(_listing().trades)
        assert store.pending_trade_ids(limit=3) == ids[:3]
        store.write_trade_batch([], [ItemFailure(ids[0], FailureKind.ERROR_DIGEST, "digest 1")])
        store.write_trade_batch([], [ItemFailure(ids[0], FailureKind.ERROR_DIGEST, "digest 2")])
        # An error digest is retried on a later run; its attempts add up.
        assert store.pending_trade_ids(limit=1) == [ids[0]]
        assert recorded_failures(store, "trade")[ids[0]] == ("error_digest", "digest 2", 2)
        store.write_trade_batch([TradeDetail(tx_id=ids[0], asset_type="stock")])
        assert ids[0] not in recorded_failures(store, "trade")  # success clears the failure record


def test_issuer_detail_writes_stats_performance_and_prices(tmp_path: Path) -> None:
    detail = IssuerDetail(
        issuer=Issuer(
            issuer_id=429900,
            state_id="ny",
            c2iq="C2",
            country="us",
            issuer_name="Renamed PLC",
            issuer_ticker=None,
            sector=None,
        ),
        stats=IssuerStats(
            count_trades=3, count_politicians=2, volume=50000, date_last_traded="2025-01-01"
        ),
        performance=IssuerPerformance(
            mcap=10**9,
            numbers=tuple(float(i) for i in range(18)),
            eod_prices=(("2025-01-02", 1.5), ("2025-01-01", 1.25)),
        ),
    )
    with Store.open(tmp_path / "db.sqlite") as store:
        store.upsert_listing(_listing().trades)
        assert 429900 in store.pending_issuer_ids()
        store.write_issuer_batch([detail], now="2026-11-28T00:00:00Z")
        assert query(
            store,
            "SELECT issuer_name, issuer_ticker, sector, state_id, enriched_at"
            " FROM issuers WHERE issuer_id = 429900",
        ) == [("Renamed PLC", "AY:US", "utilities", "ny", "2026-11-28T00:00:00Z")]
        assert query(store, "SELECT count_trades, volume FROM issuer_stats") == [(3, 50000)]
        assert query(store, "SELECT mcap, trailing1, ytd_change FROM issuer_performance") == [
            (10**9, 0.0, 17.0)
        ]
        assert query(
            store, "SELECT price_date, price FROM issuer_eod_prices ORDER BY price_date"
        ) == [("2025-01-01", 1.25), ("2025-01-02", 1.5)]
        # A later page without performance never erases it.
        import dataclasses

        store.write_issuer_batch([dataclasses.replace(detail, performance=None)])
        assert query(store, "SELECT COUNT(*) FROM issuer_eod_prices") == [(2,)]
        assert 429900 not in store.pending_issuer_ids()


def test_a_rounded_detail_price_never_overwrites_a_more_precise_one(tmp_path: Path) -> None:
    import dataclasses

    page = _listing()
    first = dataclasses.replace(page.trades[0], price=2.489709)  # a listing's exact price
    others = [dataclasses.replace(t, price=12.5) for t in page.trades[1:3]]

    def price(tx_id: int) -> object:
        return query(store, "SELECT price FROM trades WHERE tx_id = ?", (tx_id,))[0][0]

    with Store.open(tmp_path / "db.sqlite") as store:
        store.upsert_listing([first, *others, *page.trades[3:]])
        store.write_trade_batch(
            [
                # "$2.49" on the live page agrees with 2.489709 to the cent: keep the listing's.
                TradeDetail(tx_id=first.tx_id, asset_type="stock", price=2.49, price_decimals=2),
                # "$9.99" where 12.5 is stored disagrees beyond the rounding: the page wins.
                TradeDetail(
                    tx_id=others[0].tx_id, asset_type="stock", price=9.99, price_decimals=2
                ),
                # An exact price (object pages) always wins.
                TradeDetail(tx_id=others[1].tx_id, asset_type="stock", price=1.23456),
            ]
        )
        assert price(first.tx_id) == 2.489709
        assert price(others[0].tx_id) == 9.99
        assert price(others[1].tx_id) == 1.23456
        # With no stored price, the rounded one is better than none.
        with sqlite3.connect(store.path) as connection:  # (a write of the test's own)
            connection.execute(
                "UPDATE trades SET price = NULL, enriched_at = NULL WHERE tx_id = ?", (first.tx_id,)
            )
        connection.close()
        store.write_trade_batch(
            [TradeDetail(tx_id=first.tx_id, asset_type="stock", price=2.49, price_decimals=2)]
        )
        assert price(first.tx_id) == 2.49
