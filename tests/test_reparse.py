"""`reparse` as its report says it: each kind's figures in JSON and in words, stored answers
other than 200 read as their fetch read them, listing pages of any size (in process: the
library's `reparse`, and the run layer's own summary)."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest
import trio

import trio_enrich
from trio_enrich import (
    TRADES,
    EnrichOptions,
    FailureKind,
    PageFailure,
    ProgressSink,
    ReparseResult,
    RetryPolicy,
    RunStats,
    Store,
    SyncOptions,
    TradeDetail,
    UsageError,
)
from trio_enrich.commands.report import wrap
from trio_enrich.core.stats import NoProgress
from trio_enrich.runs.reparse import reparse_kind, reparse_lines
from trio_enrich.sim import Dataset, Faults, make_dataset, open_simulator
from trio_enrich.site.roster import COMMITTEES
from trio_enrich.storage.archive import PageArchive, archive_path

from .helpers import read_as, reader

PAGE_SIZE = 12


async def _copy(db: Path, dataset: Dataset, *, page_size: int = PAGE_SIZE) -> None:
    """A complete copy of `dataset` in `db`, every page kept in its archive."""
    async with open_simulator(dataset, Faults(latency_ms=1), seed=81) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        await trio_enrich.sync(db, options, SyncOptions(page_size=page_size))
        result = await trio_enrich.update(db, options)
        assert [stage.stats.failed_total for stage in result.stages] == [0, 0, 0, 0]


def _one(db: Path, sql: str, parameters: tuple[object, ...] = ()) -> object:
    """The first value of a query on the file `db` (None: no row)."""
    connection = sqlite3.connect(db)
    try:
        row = connection.execute(sql, parameters).fetchone()
        return None if row is None else row[0]
    finally:
        connection.close()


def _write(db: Path, *statements: tuple[str, tuple[object, ...]]) -> list[int]:
    """`statements` run on the file `db` in one transaction (a test's own edit); their rows."""
    connection = sqlite3.connect(db)
    try:
        with connection:
            return [connection.execute(sql, parameters).rowcount for sql, parameters in statements]
    finally:
        connection.close()


def _memberships(db: Path) -> int:
    return int(str(_one(db, "SELECT COUNT(*) FROM politician_committees")))


def _committee_pages(dataset: Dataset) -> int:
    return sum(max(1, math.ceil(len(dataset.rosters().get(code, ())) / 12)) for code in COMMITTEES)


async def test_each_kind_s_report_says_what_a_dry_reparse_read_and_would_write(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=81, trades=36)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    listing, trades, issuers, committees = await trio_enrich.reparse(db, dry_run=True)
    issuer_count, members = len(dataset.issuers), _memberships(db)
    common = {"dry_run": True, "not_archived": 0, "failed": 0, "failures": {},
              "finish": "completed"}  # fmt: skip
    assert listing.as_dict() == {
        "kind": "listing", **common, "pages": 3, "rows": 36, "new_trades": 0,
    }  # fmt: skip
    assert trades.as_dict() == {
        "kind": "trades", **common, "pages": 36, "newly_enriched": 0, "changed": 0,
        "unchanged": 36, "missing_rows": 0, "examples": [],
    }  # fmt: skip
    assert issuers.as_dict() == {
        "kind": "issuers", **common, "pages": issuer_count, "newly_enriched": 0, "changed": 0,
        "unchanged": issuer_count, "missing_rows": 0, "examples": [],
    }  # fmt: skip
    assert committees.as_dict() == {
        "kind": "committees", **common, "pages": _committee_pages(dataset), "complete": True,
        "memberships": members, "memberships_added": 0, "memberships_removed": 0,
    }  # fmt: skip
    dry = "no request sent (dry run: nothing written)"
    assert [reparse_lines(result) for result in (listing, trades, issuers, committees)] == [
        [f"reparse listing: 3 stored pages read, {dry}", "  rows 36, of which new trades 0"],
        [f"reparse trades: 36 stored pages read, {dry}",
         "  newly enriched 0, changed 0, unchanged 36"],
        [f"reparse issuers: {issuer_count} stored pages read, {dry}",
         f"  newly enriched 0, changed 0, unchanged {issuer_count}"],
        [f"reparse committees: {_committee_pages(dataset)} stored pages read, {dry}",
         f"  memberships {members} (0 added, 0 removed)"],
    ]  # fmt: skip


def _keep(db: Path, answers: list[tuple[str, int, bytes]]) -> None:
    """Newer versions of pages in the archive of `db`: what a later fetch received."""
    with PageArchive.open(archive_path(db)) as archive:
        for url, status, body in answers:
            archive.keep(url, status, body)
        archive.write(archive.take())


CDN_403 = b"<html><head><title>ERROR: The request could not be satisfied</title></head>" + (
    b"<body>Request blocked. Generated by cloudfront (CloudFront)</body></html>"
)


async def test_stored_answers_other_than_200_read_as_their_fetch_read_them(
    tmp_path: Path,
) -> None:
    """Read again, a stored refusal is the failure the fetch saw (counted, never recorded,
    tripping nothing), and the run goes on to the end."""
    dataset = make_dataset(seed=82, trades=36)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    ids = sorted(dataset.trade_index)
    _keep(db, [
        (f"/trades/{ids[0]}", 503, b"Service Unavailable"),
        (f"/trades/{ids[1]}", 500, b"oops"),
        (f"/trades/{ids[2]}", 429, b"slow down"),
        (f"/trades/{ids[3]}", 403, CDN_403),
        (f"/trades/{ids[4]}", 418, b"teapot"),
        ("/trades?page=2", 503, b"Service Unavailable"),
    ])  # fmt: skip
    listing, trades = await trio_enrich.reparse(db, ["listing", "trades"])
    assert trades.failures == {
        "server_error": 2, "rate_limited": 1, "blocked": 1, "http_error": 1,
    }  # fmt: skip
    assert (trades.stats.finish_reason.value, trades.pages, trades.unchanged) == (
        "completed", 36, 31,
    )  # fmt: skip
    assert reparse_lines(trades)[-1] == (
        "  still not read: 5 (blocked 1, unexpected HTTP answer 1, rate limited 1, "
        "server error 2); nothing recorded"
    )
    # The listing: its second page is the newest failure, yet every version is read (the
    # older 200 of page 2 too), oldest first.
    assert listing.failures == {"server_error": 1}
    assert (listing.pages, listing.listing_rows, listing.new_rows) == (4, 36, 0)
    assert reparse_lines(listing)[-1] == "  still not read: 1 (server error 1); nothing recorded"
    assert _failures_recorded(db) == 0


def _failures_recorded(db: Path) -> int:
    return int(str(_one(db, "SELECT COUNT(*) FROM trio_enrich_failures")))


async def test_listing_pages_of_another_size_are_read_as_they_were_asked_for(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=83, trades=45)
    db = tmp_path / "ct.db"
    # /trades?page=N&pageSize=10 (5 pages), then update's incremental sync: page 1 of 12
    await _copy(db, dataset, page_size=10)
    _write(db, ("DELETE FROM trades", ()))  # lost: the pages alone bring them back
    (listing,) = await trio_enrich.reparse(db, ["listing"])
    assert listing.failures == {}
    assert (listing.pages, listing.listing_rows, listing.new_rows) == (5 + 1, 45 + 12, 45)
    assert _one(db, "SELECT COUNT(*) FROM trades") == 45


def test_a_summary_wraps_to_eighty_columns() -> None:
    result = ReparseResult("trades", dry_run=False)
    assert all(len(line) <= 80 for line in wrap(reparse_lines(result)))


async def test_a_summary_shows_what_changed_what_is_missing_and_what_still_does_not_read(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=84, trades=36)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    ids = sorted(dataset.trade_index)
    one, many, unread, gone = ids[0], ids[1], ids[2], ids[3]
    _write(db, ("DELETE FROM trades WHERE tx_id = ?", (gone,)))
    before = _one(
        db, "SELECT a.asset_ticker FROM trades t JOIN assets a USING (asset_id) WHERE t.tx_id = ?",
        (one,),
    )  # fmt: skip
    original = TRADES.read

    def today(body: bytes, tx_id: int) -> object:
        """A reader that reads one ticker otherwise, five fields of another, one not at all."""
        detail = read_as(TradeDetail, original(body, tx_id))
        if tx_id == one:
            return dataclasses.replace(detail, asset_ticker="WRONG")
        if tx_id == many:
            return dataclasses.replace(
                detail, asset_ticker="MANY", filing_id=7, filing_url="https://example.org/f",
                price=1.5, size=3,
            )  # fmt: skip
        if tx_id == unread:
            return PageFailure(FailureKind.LAYOUT_CHANGED, "no 'asset' where expected")
        return detail

    with reader(TRADES, today):
        (trades,) = await trio_enrich.reparse(db, ["trades"])
    report = trades.as_dict()
    assert (report["newly_enriched"], report["changed"], report["unchanged"]) == (0, 2, 32)
    assert (report["missing_rows"], report["failed"], report["failures"]) == (
        1, 1, {"layout_changed": 1},
    )  # fmt: skip
    examples = {change.item_id: change.fields for change in trades.examples}
    assert examples[one] == (("assets.asset_ticker", before, "WRONG"),)
    assert report["examples"] == [
        {"item": change.item_id, "fields": [list(field) for field in change.fields]}
        for change in trades.examples
    ]
    assert len(examples[many]) == 5
    lines = reparse_lines(trades)
    assert lines[0] == "reparse trades: 36 stored pages read, no request sent (written)"
    assert lines[1] == "  newly enriched 0, changed 2, unchanged 32, not in the database 1"
    shown = {line.split(":")[0].strip(): line for line in lines[2:4]}
    assert shown[f"trade {one}"] == f"    trade {one}: assets.asset_ticker {before!r} -> 'WRONG'"
    assert shown[f"trade {many}"].endswith(" (and 2 more)")
    assert shown[f"trade {many}"].count(" -> ") == 3
    assert lines[4:] == ["  still not read: 1 (layout changed 1); nothing recorded"]


async def test_a_reparse_stopped_before_it_began_says_so_and_writes_nothing(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=85, trades=24)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    stop = trio.Event()
    stop.set()
    assert await trio_enrich.reparse(db, stop=stop) == []
    with PageArchive.open(archive_path(db), read_only=True) as archive, Store.open(db) as store:
        result = await reparse_kind(store, archive, "trades", stop=stop)
    assert result.stats.finish_reason.value == "interrupted"
    assert reparse_lines(result)[-1] == "  stopped: interrupted"


async def test_listing_pages_that_missed_rows_stay_failures_and_a_reparse_notes_no_read(
    tmp_path: Path,
) -> None:
    """Read again with the page number and size they were asked for: a page of 12 rows where
    20 were asked for is still missing rows (not a success); and a reparse is not a sync (it
    leaves `listing_read_at` alone) nor, dry, a write (the stats are not recomputed)."""
    dataset = make_dataset(seed=86, trades=60)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    async with open_simulator(dataset, Faults(listing_page_size=12), seed=86) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, retry=RetryPolicy(max_retries=0))
        cut = await trio_enrich.sync(db, options, SyncOptions(full=True, page_size=20))
        assert not cut.complete
    kept = _one(archive_path(db), "SELECT COUNT(*) FROM pages WHERE url LIKE '%pageSize=20%'")
    assert isinstance(kept, int)
    assert kept >= 1
    read_at = _one(db, "SELECT value FROM trio_enrich_meta WHERE key = 'listing_read_at'")
    stats_before = _one(db, "SELECT COUNT(*) FROM politician_stats")
    _write(db, ("DELETE FROM politician_stats", ()))
    (dry,) = await trio_enrich.reparse(db, ["listing"], dry_run=True)
    assert dry.failures == {"layout_changed": kept}  # each page the refused walk kept
    assert _one(db, "SELECT COUNT(*) FROM politician_stats") == 0  # a dry run recomputes nothing
    (written,) = await trio_enrich.reparse(db, ["listing"])
    assert written.failures == dry.failures
    assert written.stats.done == written.pages - kept
    assert _one(db, "SELECT COUNT(*) FROM politician_stats") == stats_before
    assert _one(db, "SELECT value FROM trio_enrich_meta WHERE key = 'listing_read_at'") == read_at


async def test_changes_are_counted_across_batches_and_five_are_shown(tmp_path: Path) -> None:
    dataset = make_dataset(seed=87, trades=130)  # three batches of the core's writes
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    ids = sorted(dataset.trade_index)
    # six in the first batch of writes (five shown already), one in each later batch
    changed = {*ids[4:10], ids[60], ids[121]}
    assert _write(db, ("DELETE FROM trades WHERE tx_id IN (?, ?)", (ids[2], ids[128]))) == [2]
    original = TRADES.read

    def today(body: bytes, tx_id: int) -> object:
        detail = read_as(TradeDetail, original(body, tx_id))
        return dataclasses.replace(detail, filing_id=999) if tx_id in changed else detail

    with reader(TRADES, today):
        (trades,) = await trio_enrich.reparse(db, ["trades"], dry_run=True)
    assert (trades.changed, trades.missing_rows, trades.unchanged) == (8, 2, 120)
    assert len(trades.examples) == 5
    assert {change.item_id for change in trades.examples} <= changed


async def test_committee_pages_not_in_the_archive_are_counted_apart_from_those_read(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=88, trades=36)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    code = sorted(COMMITTEES)[0]
    _write(archive_path(db), ("DELETE FROM pages WHERE url LIKE ?", (f"%committee={code}%",)))
    (committees,) = await trio_enrich.reparse(db, ["committees"])
    report = committees.as_dict()
    assert (report["not_archived"], report["pages"]) == (1, _committee_pages(dataset) - 1)
    assert (report["complete"], report["memberships"]) == (False, None)
    assert reparse_lines(committees) == [
        f"reparse committees: {_committee_pages(dataset) - 1} stored pages read, no request "
        "sent (written); 1 not in the archive",
        "  not every committee was read completely from the archive: memberships left as they are",
    ]
    assert _memberships(db) > 0  # left as they were


async def test_without_an_archive_reparse_says_how_one_is_made(tmp_path: Path) -> None:
    dataset = make_dataset(seed=89, trades=12)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=89) as sim:
        await trio_enrich.sync(db, EnrichOptions(base_url=sim.base_url, delay=0, archive=False))
    with pytest.raises(UsageError) as missing:
        await trio_enrich.reparse(db)
    assert str(missing.value) == (
        f"no page archive at {archive_path(db)}: runs keep the pages they receive there "
        "(unless --no-archive); run one first"
    )


class _Bars:
    """Progress displays opened by a reparse: their totals, and the last count each showed."""

    def __init__(self) -> None:
        self.seen: list[list[int | None]] = []

    def __call__(self, total: int | None) -> AbstractContextManager[ProgressSink]:
        shown: list[int | None] = [total]
        self.seen.append(shown)

        class Sink(NoProgress):
            def update(self, stats: RunStats) -> None:
                shown.append(stats.handled)

        return nullcontext(Sink())


async def test_a_reparse_shows_its_progress_writes_by_default_and_leaves_the_read_time(
    tmp_path: Path,
) -> None:
    """The run layer's own call: each kind's display (its total, its count); written unless
    dry; committees read again from the archive keep the time of the read that stored them."""
    dataset = make_dataset(seed=90, trades=36)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    members = _memberships(db)
    read_at = "2026-01-01T00:00:00Z"  # (a time no run of this test could write)
    _write(
        db,
        ("UPDATE trio_enrich_meta SET value = ? WHERE key = 'committees_read_at'", (read_at,)),
        ("UPDATE trades SET filing_id = 0", ()),
    )
    with PageArchive.open(archive_path(db), read_only=True) as archive, Store.open(db) as store:
        same = await reparse_kind(store, archive, "committees")  # the same rosters again
    assert (same.complete, _memberships(db)) == (True, members)
    assert _one(db, "SELECT value FROM trio_enrich_meta WHERE key = 'committees_read_at'") == (
        read_at
    )
    _write(db, ("DELETE FROM politician_committees", ()))
    pages = _committee_pages(dataset)
    with PageArchive.open(archive_path(db), read_only=True) as archive, Store.open(db) as store:
        bars = _Bars()
        dry = await reparse_kind(store, archive, "committees", dry_run=True, progress=bars)
        assert (dry.complete, _memberships(db)) == (True, 0)  # measured, not written
        assert bars.seen[0][0] == 48
        assert bars.seen[-1][-1] == pages
        bars = _Bars()
        trades = await reparse_kind(store, archive, "trades", progress=bars)
        assert bars.seen == [[36, *bars.seen[0][1:]]]
        assert bars.seen[0][-1] == 36
        filed = sum(bool(t.detail("live").filing_id) for t in dataset.trade_index.values())
        assert trades.changed == filed  # written: every filing the pages show, back
        committees = await reparse_kind(store, archive, "committees")
        assert (committees.complete, _memberships(db)) == (True, members)
    assert _one(db, "SELECT COUNT(*) FROM trades WHERE filing_id = 0") == 36 - filed


async def test_a_committees_reparse_stopped_before_it_began_reads_nothing(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=91, trades=24)
    db = tmp_path / "ct.db"
    await _copy(db, dataset)
    stop = trio.Event()
    stop.set()
    with PageArchive.open(archive_path(db), read_only=True) as archive, Store.open(db) as store:
        result = await reparse_kind(store, archive, "committees", stop=stop)
    assert (result.pages, result.complete) == (0, False)
    assert result.stats.finish_reason.value == "interrupted"
