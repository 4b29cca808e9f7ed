"""The page archive (issue 23): every answer kept, by content, durably before the data read
from it; `reparse` mends a reader defect with no request sent; `page`; `archive prune`;
provenance."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from trio_enrich import FailureKind, IssuerDetail, PageFailure, TradeDetail
from trio_enrich._errors import DatabaseError
from trio_enrich.cli import main
from trio_enrich.runs.jobs import ISSUERS, TRADES
from trio_enrich.sim import make_dataset, open_simulator
from trio_enrich.storage.archive import PageArchive, archive_path, page_kind

from .helpers import (
    FAST,
    assert_issuers_match_truth,
    assert_trades_match_truth,
    cli,
    database_with_listing,
    read_as,
    reader,
    sim_process,
    trade_rows,
)


def dump(db: Path, *, skip: tuple[str, ...] = ()) -> list[str]:
    """The database's content as SQL, without the run lock's bookkeeping, the runs' ledger
    (each run adds its row) and the search index's own storage (the same words, stored in
    segments that depend on how it was last rebuilt)."""
    connection = sqlite3.connect(db)
    try:
        return [line for line in connection.iterdump()
                if "'run'" not in line and not line.startswith(skip)
                and not line.startswith(('INSERT INTO "trio_enrich_runs"',
                                         'INSERT INTO "trio_enrich_search_'))]  # fmt: skip
    finally:
        connection.close()


# What a reparse is not compared on: our notes, and the memberships' sightings (a reparse notes
# when its pages were read, a run when it wrote them: a second apart, at a second's boundary).
_NOTES = ('INSERT INTO "trio_enrich_meta"', 'INSERT INTO "trio_enrich_memberships"')


def pages_of(db: Path) -> set[tuple[str, str]]:
    connection = sqlite3.connect(archive_path(db))
    try:
        return set(connection.execute("SELECT url, hash FROM pages"))
    finally:
        connection.close()


def sources_of(db: Path, entity: str) -> dict[int, tuple[str, str]]:
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT item_id, url, hash FROM trio_enrich_sources WHERE entity = ?", (entity,)
        )
        return {row[0]: (row[1], row[2]) for row in rows}
    finally:
        connection.close()


# --- the archive itself ---------------------------------------------------------------------------


def test_a_path_says_what_page_it_is() -> None:
    assert page_kind("/trades/7") == ("trade", "7")
    assert page_kind("/issuers/435") == ("issuer", "435")
    assert page_kind("/trades?page=3&pageSize=100") == ("listing", None)
    assert page_kind("/trades") == ("listing", None)
    assert page_kind("/politicians?committee=ssfi&page=2") == ("committee", "ssfi")
    assert page_kind("/robots.txt") == ("robots", None)
    assert page_kind("/trades/7/x") == ("other", None)
    assert archive_path("a/capitoltraders.db") == Path("a/capitoltraders.pages.db")
    assert archive_path("a/data.sqlite") == Path("a/data.sqlite.pages.db")


async def test_a_page_fetched_twice_in_one_batch_is_one_version_unless_it_changed(
    tmp_path: Path,
) -> None:
    with PageArchive.open(tmp_path / "x.pages.db") as archive:
        for body in (b"a", b"a", b"b", b"b", b"a"):
            archive.keep("/issuers/1", 200, body)
        archive.keep("/issuers/2", 404, b"gone")
        archive.keep("/issuers/2", 200, b"gone")
        await archive.flush()
        versions = archive.versions("/issuers/1")
        assert [(v.body, v.fetches) for v in versions] == [(b"a", 2), (b"b", 2), (b"a", 1)]
        again = archive.versions("/issuers/2")
        assert [(v.status, v.fetches) for v in again] == [(200, 2)]  # the last answer's status
        archive.keep("/issuers/1", 200, b"a")
        await archive.flush()
        assert [v.fetches for v in archive.versions("/issuers/1")] == [2, 2, 2]


async def test_a_page_that_did_not_change_is_stored_once(tmp_path: Path) -> None:
    with PageArchive.open(tmp_path / "x.pages.db") as archive:
        first = archive.keep("/trades/1", 200, b"<html>one</html>")
        archive.keep("/trades/2", 200, b"<html>one</html>")  # the same content elsewhere
        await archive.flush()
        again = archive.keep("/trades/1", 200, b"<html>one</html>")
        await archive.flush()
        changed = archive.keep("/trades/1", 200, b"<html>two</html>")
        await archive.flush()
        summary = archive.summary()
        assert (summary.urls, summary.versions, summary.contents) == (2, 3, 2)
        versions = archive.versions("/trades/1")
        assert [v.body for v in versions] == [b"<html>one</html>", b"<html>two</html>"]
        assert versions[0].fetches == 2
        assert versions[0].hash == first.hash == again.hash != changed.hash
        newest = archive.newest("/trades/1")
        assert newest is not None
        assert newest.body == b"<html>two</html>"
        assert archive.find("/trades/1", first.hash[:10]) == versions[0]
        assert summary.stored_bytes > 0
        assert summary.page_bytes == 3 * len(b"<html>one</html>")  # (by URL, not shared)


async def test_prune_keeps_the_newest_versions_and_every_page_a_value_came_from(
    tmp_path: Path,
) -> None:
    with PageArchive.open(tmp_path / "x.pages.db") as archive:
        refs = []
        for n in range(5):
            refs.append(archive.keep("/issuers/9", 200, f"version {n}".encode()))
            await archive.flush()
        archive.keep("/issuers/8", 200, b"alone")
        await archive.flush()
        assert archive.prune(2, protected={refs[0].hash}) == 2
        kept = [v.body for v in archive.versions("/issuers/9")]
        assert kept == [b"version 0", b"version 3", b"version 4"]
        assert archive.newest("/issuers/8") is not None
        with pytest.raises(ValueError, match="at least one"):
            archive.prune(0, set())


def test_a_file_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE notes (x)")
    connection.close()
    with pytest.raises(DatabaseError, match="not a trio-enrich page archive"):
        PageArchive.open(other)
    newer = tmp_path / "newer.pages.db"
    connection = sqlite3.connect(newer)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(DatabaseError, match="newer than this trio-enrich knows"):
        PageArchive.open(newer)


# --- a run keeps what the site sent ---------------------------------------------------------------


async def test_every_answer_is_kept_and_every_enriched_row_names_its_page(tmp_path: Path) -> None:
    dataset = make_dataset(seed=61, trades=80)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=61) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("update", *site) == 0
        requests = len(sim.log) + len(sim.robots_log)
    connection = sqlite3.connect(archive_path(db))
    kinds = dict(connection.execute("SELECT kind, SUM(fetches) FROM pages GROUP BY kind"))
    connection.close()
    assert kinds["trade"] == len(dataset.trades)
    assert kinds["issuer"] == len(dataset.issuers)
    assert kinds["committee"] >= 48
    assert kinds["robots"] == 1
    assert sum(kinds.values()) == requests  # every answer: none left out
    stored = pages_of(db)
    trades = sources_of(db, "trade")
    issuers = sources_of(db, "issuer")
    assert set(trades) == set(dataset.trade_index)
    assert set(issuers) == set(dataset.issuers)
    assert set(trades.values()) | set(issuers.values()) <= stored
    first = dataset.trades[0].listing.tx_id
    assert trades[first][0] == f"/trades/{first}"


async def test_no_archive_keeps_nothing_and_names_no_page(tmp_path: Path) -> None:
    dataset = make_dataset(seed=62, trades=24)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=62) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("trades", "--no-archive", *site) == 0
    assert not archive_path(db).exists()
    assert sources_of(db, "trade") == {}
    assert_trades_match_truth(db, dataset)


async def test_failed_pages_are_kept_too(tmp_path: Path) -> None:
    dataset = make_dataset(seed=63, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    unread = dataset.trades[5].listing.tx_id
    original = TRADES.read

    def old_reader(body: bytes, tx_id: int) -> Any:
        if tx_id == unread:
            return PageFailure(FailureKind.LAYOUT_CHANGED, "the reader knows no such page")
        return original(body, tx_id)

    async with open_simulator(dataset, seed=63) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        with reader(TRADES, old_reader):
            assert await cli("trades", *site) == 1
    with PageArchive.open(archive_path(db), read_only=True) as archive:
        page = archive.newest(f"/trades/{unread}")
    assert page is not None
    assert page.status == 200
    assert page.body.startswith(b"<!DOCTYPE html>")
    assert unread not in sources_of(db, "trade")


# --- reparse: a reader defect mended with no request ----------------------------------------------


async def test_reparse_mends_a_trade_reader_that_missed_a_field_without_a_request(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=64, trades=120)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    original = TRADES.read
    async with open_simulator(dataset, seed=64) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        with reader(TRADES, lambda body, tx_id: dataclasses.replace(
                read_as(TradeDetail, original(body, tx_id)), size_range_high=None)):  # fmt: skip
            assert await cli("trades", *site) == 0
        index = dataset.trade_index
        truth = {tx_id: trade.detail("live").size_range_high for tx_id, trade in index.items()}
        wrong = [tx_id for tx_id, row in trade_rows(db).items() if row[8] != truth[tx_id]]
        assert len(wrong) > 20  # the defect is there to mend
        seen = (len(sim.log), len(sim.robots_log))
        assert await cli("reparse", "trades", "--db", str(db), "--progress", "none") == 0
        assert (len(sim.log), len(sim.robots_log)) == seen  # not one request
    assert_trades_match_truth(db, dataset)


async def test_reparse_mends_an_issuer_reader_that_missed_the_performance(tmp_path: Path) -> None:
    dataset = make_dataset(seed=65, trades=200)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    original = ISSUERS.read
    async with open_simulator(dataset, seed=65) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        with reader(ISSUERS, lambda body, issuer_id: dataclasses.replace(
                read_as(IssuerDetail, original(body, issuer_id)), performance=None)):  # fmt: skip
            assert await cli("issuers", *site) == 0
        connection = sqlite3.connect(db)
        assert connection.execute("SELECT COUNT(*) FROM issuer_performance").fetchone() == (0,)
        connection.close()
        seen = (len(sim.log), len(sim.robots_log))
        assert await cli("reparse", "issuers", "--db", str(db), "--progress", "none") == 0
        assert (len(sim.log), len(sim.robots_log)) == seen
    assert_issuers_match_truth(db, dataset)


async def test_pages_that_failed_as_layout_changed_are_enriched_by_reparse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=66, trades=90)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    order = sorted(dataset.trade_index)
    unknown = set(order[1::3])  # (never three in a row: the run goes on)
    original = TRADES.read

    def old_reader(body: bytes, tx_id: int) -> Any:
        if tx_id in unknown:
            return PageFailure(FailureKind.LAYOUT_CHANGED, "trade page: no 'asset' where expected")
        return original(body, tx_id)

    async with open_simulator(dataset, seed=66) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        with reader(TRADES, old_reader):
            assert await cli("trades", *site) == 1
            # Today's reader still cannot read them: said, exit 1, and nothing recorded anew.
            capsys.readouterr()
            assert await cli("reparse", "trades", "--db", str(db), "--progress", "none") == 1
            assert "still not read: 30 (layout changed 30)" in capsys.readouterr().out
        failures = sqlite3.connect(db).execute(
            "SELECT item_id FROM trio_enrich_failures WHERE kind = 'layout_changed'"
        )
        assert {row[0] for row in failures} == unknown
        seen = (len(sim.log), len(sim.robots_log))
        before = dump(db)
        assert await cli("reparse", "trades", "--db", str(db), "--progress", "none",
                         "--dry-run", "--json") == 0  # fmt: skip
        report = json.loads(capsys.readouterr().out)["reparse"][0]
        assert (report["newly_enriched"], report["unchanged"]) == (30, 60)
        assert dump(db) == before  # a dry run changes nothing
        assert await cli("reparse", "trades", "--db", str(db), "--progress", "none") == 0
        assert "newly enriched 30, changed 0, unchanged 60" in capsys.readouterr().out
        assert (len(sim.log), len(sim.robots_log)) == seen
    assert_trades_match_truth(db, dataset)
    left = sqlite3.connect(db).execute("SELECT COUNT(*) FROM trio_enrich_failures").fetchone()
    assert left == (0,)
    assert set(sources_of(db, "trade")) == set(order)


async def test_a_changed_value_is_counted_shown_and_written_never_erasing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=67, trades=40)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    original = TRADES.read
    async with open_simulator(dataset, seed=67) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("trades", *site) == 0
    truth = trade_rows(db)
    first = min(truth)
    # A reader that now reads a wrong ticker for one trade and no filing for every trade.
    with reader(
        TRADES,
        lambda body, tx_id: dataclasses.replace(
            read_as(TradeDetail, original(body, tx_id)),
            filing_url=None,
            filing_id=None,
            asset_ticker=(
                "WRONG"
                if tx_id == first
                else read_as(TradeDetail, original(body, tx_id)).asset_ticker
            ),
        ),
    ):
        capsys.readouterr()
        assert await cli("reparse", "trades", "--db", str(db), "--progress", "none") == 0
    out = capsys.readouterr().out
    assert "newly enriched 0, changed 1, unchanged 39" in out
    assert f"trade {first}: assets.asset_ticker" in out
    assert "-> 'WRONG'" in out
    after = trade_rows(db)
    assert after[first][1] == "WRONG"
    assert {k: v for k, v in after.items() if k != first} == {
        k: v for k, v in truth.items() if k != first
    }  # a missing filing erased nothing


def test_reparse_and_page_say_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=68, trades=24)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    assert main(["reparse", "--db", str(db), "--progress", "none"]) == 2
    assert "no page archive at" in capsys.readouterr().err
    assert main(["reparse", "--db", str(tmp_path / "none.db")]) == 2
    with sim_process("--seed", "68", "--trades", "24") as url:
        site = ["--db", str(db), "--base-url", url, "--progress", "none", *FAST]
        assert main(["trades", *site]) == 0
    tx_id = dataset.trades[3].listing.tx_id
    capsys.readouterr()
    assert main(["page", str(tx_id), "--db", str(db)]) == 0
    html = capsys.readouterr().out
    assert html.startswith("<!DOCTYPE html>")
    assert main(["page", f"https://www.capitoltrades.com/trades/{tx_id}", "--db", str(db),
                 "--json"]) == 0  # fmt: skip
    record = json.loads(capsys.readouterr().out)
    assert record["page"] == html
    assert record["hash"] == sources_of(db, "trade")[tx_id][1]
    assert main(["page", str(tx_id), "--db", str(db), "--rows"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows
    assert all(":" in row for row in rows)
    assert main(["page", "/trades/1", "--db", str(db)]) == 2
    assert "no page /trades/1 in the archive" in capsys.readouterr().err
    assert main(["page", "trades-1", "--db", str(db)]) == 2
    assert "is not a page" in capsys.readouterr().err
    assert main(["archive", "prune", "--keep", "1", "--db", str(db)]) == 0
    assert "0 older versions removed" in capsys.readouterr().out
    assert main(["archive", "prune", "--keep", "1", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed_versions"] == 0
    assert main(["status", "--db", str(db), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["archive"]["urls"] == len(dataset.trades) + 1  # and robots.txt


# --- durability: never an enriched row without its page -----------------------------------------


def assert_every_enriched_row_has_its_page(db: Path) -> None:
    """Every enriched trade and issuer names its page, and the archive holds that page; both
    files are whole. (A run killed before its schema's transaction committed leaves a file
    without tables: nothing in it is enriched.)"""
    main_db = sqlite3.connect(db)
    try:
        assert main_db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        made = bool(main_db.execute("SELECT 1 FROM sqlite_master WHERE name = 'trades'").fetchall())
        enriched = {
            entity: {row[0] for row in main_db.execute(
                f"SELECT {key} FROM {table} WHERE enriched_at IS NOT NULL")} if made else set()
            for entity, table, key in (("trade", "trades", "tx_id"),
                                       ("issuer", "issuers", "issuer_id"))
        }  # fmt: skip
    finally:
        main_db.close()
    if not archive_path(db).exists():
        assert not any(enriched.values())
        return
    archive = sqlite3.connect(archive_path(db))
    try:
        assert archive.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        archive.close()
    stored = pages_of(db) if any(enriched.values()) else set()
    for entity, ids in enriched.items():
        if not ids:
            continue
        sources = sources_of(db, entity)
        assert ids <= set(sources), f"enriched {entity}s without a source"
        assert {sources[i] for i in ids} <= stored, f"an enriched {entity}'s page is missing"


async def test_each_batch_of_pages_is_written_before_the_rows_read_from_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trio_enrich import Store

    events: list[tuple[str, int]] = []
    write_pages = PageArchive.write
    write_trades = Store.write_trade_batch

    def pages(self: PageArchive, answers: Any) -> None:
        write_pages(self, answers)  # (committed when it returns)
        events.append(("pages", len([a for a in answers if a.url.startswith("/trades/")])))

    def rows(self: Store, details: Any, *args: Any, **kwargs: Any) -> Any:
        events.append(("rows", len(details)))
        return write_trades(self, details, *args, **kwargs)

    monkeypatch.setattr(PageArchive, "write", pages)
    monkeypatch.setattr(Store, "write_trade_batch", rows)
    dataset = make_dataset(seed=70, trades=150)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=70) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("trades", *site) == 0
    kept = 0
    written = 0
    for event, count in events:
        if event == "pages":
            kept += count
        else:
            written += count
            assert written <= kept, "rows committed before their pages"
    assert written == kept == len(dataset.trades)
    assert sum(event == "rows" for event, _ in events) >= 3  # (batches of 50 at most)


@pytest.mark.slow
def test_sigkill_at_twenty_random_moments_of_update_never_leaves_a_row_without_its_page(
    tmp_path: Path,
) -> None:
    import random
    import signal
    import subprocess
    import sys
    import time

    db = tmp_path / "ct.db"
    rng = random.Random(69)
    with sim_process("--seed", "69", "--trades", "1500", "--latency-ms", "5") as url:
        command = [sys.executable, "-m", "trio_enrich", "update", "--db", str(db),
                   "--base-url", url, "--concurrency", "4", "--max-rps", "40",
                   "--progress", "none", *FAST]  # fmt: skip
        kills = 0
        while kills < 20:
            run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.4, 1.4))
            if run.poll() is not None:
                break  # finished before the kill: nothing left to interrupt
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=10)
            kills += 1
            assert_every_enriched_row_has_its_page(db)
        assert kills == 20, f"only {kills} kills before the work ran out"
        final = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr
    assert_every_enriched_row_has_its_page(db)
    dataset = make_dataset(seed=69, trades=1500)
    assert_trades_match_truth(db, dataset)
    assert set(sources_of(db, "trade")) == set(dataset.trade_index)


async def test_reparse_of_listing_and_committee_pages_restores_what_was_lost_with_no_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=71, trades=60)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=71) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("sync", *site) == 0
        assert await cli("committees", *site) == 0
        fetched = dump(db, skip=_NOTES)
        connection = sqlite3.connect(db)
        with connection:
            connection.execute("DELETE FROM politician_committees")
            lost = connection.execute("DELETE FROM trades WHERE tx_id % 3 = 0").rowcount
        connection.close()
        seen = (len(sim.log), len(sim.robots_log))
        capsys.readouterr()
        assert await cli("reparse", "listing", "committees", "--db", str(db), "--progress",
                         "none") == 0  # fmt: skip
        assert (len(sim.log), len(sim.robots_log)) == seen
    out = capsys.readouterr().out
    assert "reparse listing:" in out
    assert lost > 10
    assert f"of which new trades {lost}" in out
    assert "added, 0 removed" in out
    assert dump(db, skip=_NOTES) == fetched
    connection = sqlite3.connect(db)
    searched, stored = connection.execute(
        "SELECT (SELECT COUNT(*) FROM trio_enrich_search), (SELECT COUNT(*) FROM trades)"
    ).fetchone()
    connection.close()
    assert searched == stored  # the restored trades can be searched for again


async def test_reparse_of_pages_not_in_the_archive_says_so_apart_and_trips_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 31, item 8: no request was sent, so no "unexpected HTTP answer", no GET, no
    breaker: the pages are counted apart as not in the archive."""
    dataset = make_dataset(seed=72, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=72) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("sync", *site) == 0
        assert await cli("committees", *site) == 0
    connection = sqlite3.connect(archive_path(db))
    with connection:
        gone = connection.execute(
            "DELETE FROM pages WHERE url LIKE '/politicians?committee=%' AND item IN "
            "(SELECT DISTINCT item FROM pages WHERE kind = 'committee' LIMIT 6)"
        ).rowcount
    connection.close()
    assert gone >= 6
    capsys.readouterr()
    for args in ((), ("--json",), ("--progress", "log")):
        assert await cli("reparse", "committees", "--db", str(db), *args) == 0
        out = capsys.readouterr()
        said = out.out + out.err
        assert "unexpected HTTP answer" not in said
        assert "GET " not in said
        assert "breaker" not in said
        if args == ("--json",):
            (report,) = json.loads(out.out)["reparse"]
            assert report["not_archived"] >= 6
            assert report["failed"] == 0
            assert report["finish"] == "completed"
        else:
            assert "not in the archive" in said


@pytest.mark.parametrize("damage", ["truncated", "not-sqlite"])
async def test_a_damaged_archive_is_named_the_database_said_intact_and_status_still_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """Issue 31, item 10."""
    dataset = make_dataset(seed=73, trades=30)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=73) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("update", *site) == 0
        archive = archive_path(db)
        kept = archive.read_bytes()
        archive.write_bytes(kept[:5000] if damage == "truncated" else b"not a database\n" * 9)
        before = dump(db)
        capsys.readouterr()
        assert await cli("status", "--db", str(db)) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "trades: 30 in all, 30 enriched" in out  # the database is reported
        assert f"the page archive {archive} cannot be used" in out
        assert "The database beside it is intact" in out
        with pytest.raises(DatabaseError) as refused:
            await cli("update", *site)
        said = str(refused.value)
        assert str(archive) in said
        assert "database beside it is intact" in said
        assert "--no-archive" in said
        assert "move the archive aside" in said
        assert dump(db) == before  # nothing written
        assert await cli("update", *site, "--no-archive") == 0  # what the message offers
