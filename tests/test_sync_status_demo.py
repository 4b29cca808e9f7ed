"""sync, status and demo against the simulated site."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from trio_enrich.cli import main
from trio_enrich.sim import Faults, make_dataset, open_simulator

from .helpers import FAST, cli, database_with_listing, rows_by_key


def listing_rows(db: Path) -> dict[int, tuple[object, ...]]:
    return rows_by_key(
        db,
        "SELECT t.tx_id, t.politician_id, t.issuer_id, t.pub_date, t.filing_date, t.tx_date,"
        " t.tx_type, t.tx_type_extended, t.owner, t.chamber, t.price, t.value, t.reporting_gap,"
        " t.comment, a.asset_type, i.issuer_name, i.issuer_ticker, i.sector, i.country,"
        " p.first_name, p.last_name, p.party, p.state_id, p.dob, p.gender, p.nickname"
        " FROM trades t JOIN assets a USING (asset_id) JOIN issuers i USING (issuer_id)"
        " JOIN politicians p USING (politician_id)",
    )


def expected_listing_row(trade: object) -> tuple[object, ...]:
    from trio_enrich import ListingTrade

    assert isinstance(trade, ListingTrade)
    issuer, politician = trade.issuer, trade.politician
    return (
        politician.politician_id, issuer.issuer_id, trade.pub_date, trade.pub_date[:10],
        trade.tx_date, trade.tx_type, trade.tx_type_extended, trade.owner, trade.chamber,
        trade.price, trade.value, trade.reporting_gap, trade.comment, "unknown",
        issuer.issuer_name, issuer.issuer_ticker, issuer.sector, issuer.country,
        politician.first_name, politician.last_name, politician.party, politician.state_id,
        politician.dob, politician.gender, politician.nickname,
    )  # fmt: skip


async def test_full_sync_then_incremental_sync(tmp_path: Path) -> None:
    dataset = make_dataset(seed=31, trades=600)
    db = tmp_path / "new.db"
    async with open_simulator(dataset, Faults(latency_ms=2), seed=31) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--full", "--concurrency", "5") == 0
        assert len(sim.log) == 50  # 600 trades, 12 a page
        rows = listing_rows(db)
        assert len(rows) == 600
        for trade in dataset.trades:
            assert rows[trade.listing.tx_id] == expected_listing_row(trade.listing)
        # 24 new trades appear at the top; an incremental sync reads only the first pages.
        new = dataset.publish(24)
        before = len(sim.log)
        assert await cli(*args, "--json") == 0
        pages_read = sim.log.paths()[before:]
        assert pages_read == ["/trades?page=1", "/trades?page=2", "/trades?page=3"]
        rows = listing_rows(db)
        assert len(rows) == 624
        for trade in new:
            assert rows[trade.listing.tx_id] == expected_listing_row(trade.listing)
    connection = sqlite3.connect(db)
    newest = connection.execute(
        "SELECT value FROM ingest_meta WHERE key = 'last_trade_pub_date'"
    ).fetchone()[0]
    assert newest == new[0].listing.pub_date
    # The stats tables are recomputed from the trades.
    stats = dict(connection.execute("SELECT issuer_id, count_trades FROM issuer_stats").fetchall())
    assert stats == {i: s.stats.count_trades for i, s in dataset.issuers.items() if s.stats}
    politicians = connection.execute("SELECT SUM(count_trades) FROM politician_stats").fetchone()
    assert politicians == (624,)


async def test_incremental_sync_reports_exactly_the_new_trades(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=32, trades=300)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=32) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--full") == 0
        capsys.readouterr()
        dataset.publish(24)
        assert await cli(*args, "--json") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["new_trades"] == 24
    assert summary["finish_reason"] == "completed"


async def test_sync_since_and_pages(tmp_path: Path) -> None:
    dataset = make_dataset(seed=33, trades=240)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=33) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--pages", "3") == 0  # an empty database: reads until --pages
        assert len(sim.log) == 3
        assert len(listing_rows(db)) == 36
        since = dataset.trades[100].listing.pub_date[:10]
        assert await cli(*args, "--since", since) == 0
    rows = listing_rows(db)
    assert all(t.listing.tx_id in rows for t in dataset.trades if t.listing.pub_date >= since)


EVERYTHING = "SELECT t.*, a.asset_type FROM trades t JOIN assets a USING (asset_id) ORDER BY tx_id"


async def test_resync_never_erases_enriched_values(tmp_path: Path) -> None:
    dataset = make_dataset(seed=34, trades=120)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=34) as sim:
        common = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("trades", *common) == 0
        before = sqlite3.connect(db).execute(EVERYTHING).fetchall()
        assert await cli("sync", "--full", *common) == 0
    after = sqlite3.connect(db).execute(EVERYTHING).fetchall()
    assert after == before


async def test_status_json_equals_the_sql_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=35, trades=200)
    gone = frozenset(t.listing.tx_id for t in dataset.trades[:7])
    broken = frozenset(t.listing.tx_id for t in dataset.trades[7:10])
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(not_found_ids=gone, error_digest_ids=broken)
    async with open_simulator(dataset, faults, seed=35) as sim:
        common = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("trades", *common, "--batch-size", "150") == 1
        capsys.readouterr()
    assert await cli("status", "--db", str(db), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    sql = sqlite3.connect(db)

    def count(query: str) -> int:
        return int(sql.execute(query).fetchone()[0])

    trades = report["trades"]
    assert trades["total"] == count("SELECT COUNT(*) FROM trades") == 200
    assert trades["enriched"] == count("SELECT COUNT(*) FROM trades WHERE enriched_at IS NOT NULL")
    not_found = count(
        "SELECT COUNT(*) FROM trio_enrich_failures WHERE entity='trade' AND kind='not_found'"
    )
    failed = count(
        "SELECT COUNT(*) FROM trio_enrich_failures WHERE entity='trade' AND kind<>'not_found'"
    )
    assert trades["not_found"] == not_found
    assert trades["failed"] == failed
    assert trades["pending"] == trades["total"] - trades["enriched"] - not_found
    assert trades["enriched"] + not_found + failed == 150
    issuers = report["issuers"]
    assert issuers["total"] == count("SELECT COUNT(*) FROM issuers")
    assert issuers["enriched"] == 0
    assert issuers["pending"] == issuers["total"]
    assert report["last_trade_pub_date"] == dataset.trades[0].listing.pub_date


def test_status_of_a_missing_database_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--db", str(tmp_path / "nope.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_demo_runs_to_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db), "--trades", "150", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    assert "trades: 150 in all, 150 enriched, 0 pending" in out
    assert "update: done" in out
    assert "committees: completed" in out
    assert "memberships" in out
    assert str(db) in out
    # readable at 80 columns, apart from lines that hold the database's path
    assert [line for line in out.splitlines() if len(line) > 80 and str(db) not in line] == []


def test_demo_never_writes_into_an_existing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = database_with_listing(tmp_path / "real.db", make_dataset(seed=36, trades=12))
    before = db.read_bytes()
    assert main(["demo", "--db", str(db), "--progress", "none"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert db.read_bytes() == before


BAD = [
    ["sync", "--since", "2024-13-01"],
    ["sync", "--since", "yesterday"],
    ["sync", "--since", "2024-1-5"],
    ["sync", "--pages", "0"],
    ["sync", "--page-size", "0"],
    ["sync", "--page-size", "101"],
    ["sync", "--concurrency", "11"],
    ["sync", "--base-url", "nope"],
    ["sync", "--full", "yes"],
    ["sync", "--max-failures", "0"],
    ["sync", "--timeout", "0"],
    ["sync", "--retry-max", "abc"],
    ["sync", "--retry-base-ms", "-1"],
    ["sync", "--retry-max-ms", "x"],
    ["sync", "--details-delay-ms", "-1"],
    ["sync", "--max-rps", "-3"],
    ["sync", "--progress", "x"],
    ["sync", "--json", "no"],
    ["status", "--json", "--bogus"],
    ["status", "extra"],
    ["demo", "--seed", "abc"],
    ["sim", "--seed", "x"],
    ["sim", "--latency-ms", "-1"],
    ["sim", "--shape", "round"],
    ["sim", "--log"],
    ["demo", "--trades", "5"],
    ["demo", "--progress", "loud"],
    ["sim", "--port", "70000"],
    ["sim", "--profile", "angry"],
    ["sim", "--trades", "0"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_values_give_one_line_and_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ct.db"
    extra = ["--db", str(db)] if args[0] in ("sync", "status") else []
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("trio-enrich: error:")
    assert not db.exists()
