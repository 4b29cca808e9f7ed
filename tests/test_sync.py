"""What each walk of the listing reports (its `SyncResult`, field by field) and what it shows
while it goes (its progress displays), run in process through the library's `sync`."""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import trio_enrich
from trio_enrich import (
    EnrichOptions,
    ListingPage,
    ListingTrade,
    PageFailure,
    PageRef,
    ProgressSink,
    RunStats,
    Store,
    SyncOptions,
    SyncResult,
)
from trio_enrich.core.policy import PipelineConfig
from trio_enrich.runs.options import pipeline_config
from trio_enrich.runs.sync import sync_listing
from trio_enrich.sim import Faults, Simulator, make_dataset, open_simulator

R = TypeVar("R")
T = TypeVar("T")


class _Bar:
    """One progress display: the total it was opened with, and every count it showed."""

    def __init__(self, total: int | None) -> None:
        self.total, self.shown = total, [0]
        self.warned: list[str] = []

    def update(self, stats: RunStats) -> None:
        self.shown.append(stats.handled)

    def tick(self, stats: RunStats) -> None:
        self.shown.append(stats.handled)

    def warn(self, message: str) -> None:
        self.warned.append(message)


class Displays:
    """A progress factory that keeps every display it opened."""

    def __init__(self) -> None:
        self.bars: list[_Bar] = []

    def __call__(self, total: int | None) -> AbstractContextManager[ProgressSink]:
        return self._open(total)

    @contextmanager
    def _open(self, total: int | None) -> Iterator[ProgressSink]:
        bar = _Bar(total)
        self.bars.append(bar)
        yield bar

    def seen(self) -> list[tuple[int | None, int]]:
        """(total, the last count shown) of each display."""
        return [(bar.total, bar.shown[-1]) for bar in self.bars]


async def _sync(sim: Simulator, db: Path, walk: SyncOptions) -> tuple[SyncResult, Displays]:
    displays = Displays()
    options = EnrichOptions(base_url=sim.base_url, delay=0, concurrency=3)
    return await trio_enrich.sync(db, options, walk, progress=displays), displays


def _walk_report(**fields: object) -> dict[str, object]:
    report: dict[str, object] = {
        "mode": "full", "pages": 0, "trades": 0, "new_trades": 0, "total_pages": None,
        "cutoff": None, "complete": True, "resumed": False, "unread_trades": None,
        "stopped_at_page_limit": False, "end_of_listing": False,
    }  # fmt: skip
    report.update(fields)
    return report


async def test_a_first_sync_walks_every_page_then_an_incremental_one_reads_what_is_new(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=95, trades=30)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=95) as sim:
        first, displays = await _sync(sim, db, SyncOptions())
        assert first.as_dict() == _walk_report(
            pages=3, trades=30, new_trades=30, total_pages=3, unread_trades=0
        )
        # Page 1 alone, with no display (a bar of 1 of 1 would stay above the real one);
        # then the rest, in a display that counts page 1 too.
        assert displays.seen() == [(3, 3)]
        assert displays.bars[0].shown[1] == 2  # carried: page 1 was counted before it
        assert (first.stats.selected, first.stats.done, first.stats.requests) == (3, 3, 3)
        newest = dataset.trades[0].listing.pub_date
        dataset.publish(5)
        second, displays = await _sync(sim, db, SyncOptions())
        assert second.as_dict() == _walk_report(
            mode="incremental", pages=1, trades=12, new_trades=5, total_pages=3, cutoff=newest
        )
        assert displays.seen() == [(None, 1)]  # one page at a time, its count not known
        assert (second.stats.selected, second.stats.done) == (1, 1)


async def test_a_full_walk_cut_by_its_page_limit_is_finished_by_the_next_sync(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=96, trades=60)  # 5 pages
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=96) as sim:
        cut, displays = await _sync(sim, db, SyncOptions(full=True, max_pages=2))
        assert cut.as_dict() == _walk_report(
            pages=2, trades=24, new_trades=24, total_pages=5, complete=False, unread_trades=36,
            stopped_at_page_limit=True,
        )  # fmt: skip
        assert displays.seen() == [(2, 2)]
        assert len(sim.log) == 2
        rest, displays = await _sync(sim, db, SyncOptions())
        assert rest.as_dict() == _walk_report(
            pages=3, trades=36, new_trades=36, total_pages=5, resumed=True, unread_trades=0
        )
        assert displays.seen() == [(3, 3)]
        assert len(sim.log) == 5  # the three pages not read, and none again


async def test_a_walk_since_a_date_and_one_that_reaches_the_listing_s_end(tmp_path: Path) -> None:
    dataset = make_dataset(seed=97, trades=36)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=97) as sim:
        await _sync(sim, db, SyncOptions())
        newest_first = [trade.listing.pub_date for trade in dataset.trades]
        since = newest_first[6][:10]  # a day that only the newest few trades are on or after
        cutoff = f"{since}T00:00:00Z"
        # the walk reads until a page's last trade is older than the cutoff
        reach = next(page for page in (1, 2, 3) if newest_first[page * 12 - 1] < cutoff)
        recent, _ = await _sync(sim, db, SyncOptions(since=since))
        assert recent.mode == "since"
        assert recent.cutoff == cutoff
        assert (recent.complete, recent.end_of_listing, recent.pages) == (True, False, reach)
        everything, displays = await _sync(sim, db, SyncOptions(since="1990-01-01"))
        assert everything.as_dict() == _walk_report(
            mode="since", pages=3, trades=36, new_trades=0, total_pages=3,
            cutoff="1990-01-01T00:00:00Z", end_of_listing=True,
        )  # fmt: skip
        assert displays.seen() == [(None, 3)]


def _meta(db: Path, table: str, key: str) -> str | None:
    connection = sqlite3.connect(db)
    try:
        row = connection.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])
    finally:
        connection.close()


async def test_what_a_sync_says_on_its_way_and_when_a_walk_moves_the_cutoff(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=98, trades=60)  # 5 pages
    db = tmp_path / "ct.db"
    said: list[str] = []
    async with open_simulator(dataset, Faults(latency_ms=1), seed=98) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        await trio_enrich.sync(db, options, SyncOptions(full=True, max_pages=2))
        started = json.loads(str(_meta(db, "trio_enrich_meta", "sync_walk")))["started_at"]
        # A walk since a date while a full walk is unfinished: said, and the cutoff stays.
        since = await trio_enrich.sync(db, options, SyncOptions(since="1990-01-01"),
                                       notify=said.append)  # fmt: skip
        assert said == ["an earlier full walk is unfinished; run `trio-enrich sync` to finish it"]
        assert since.complete
        assert _meta(db, "ingest_meta", "last_trade_pub_date") is None
        said.clear()
        await trio_enrich.sync(db, options, notify=said.append)
        assert said == [f"resuming the full walk started {started}: 24 of 60 trades read, 36 to go"]
        newest = dataset.trades[0].listing.pub_date
        assert _meta(db, "ingest_meta", "last_trade_pub_date") == newest
        # A walk since a day before the cutoff proves everything newer is stored: it moves.
        dataset.publish(3)
        day_before = (dt.date.fromisoformat(newest[:10]) - dt.timedelta(days=1)).isoformat()
        await trio_enrich.sync(db, options, SyncOptions(since=day_before))
        assert _meta(db, "ingest_meta", "last_trade_pub_date") == dataset.trades[0].listing.pub_date
        # One since a day after it proves nothing older: the cutoff stays where it is.
        dataset.publish(3)
        moved = _meta(db, "ingest_meta", "last_trade_pub_date")
        after = dataset.trades[0].listing.pub_date[:10]
        await trio_enrich.sync(db, options, SyncOptions(since=after))
        assert _meta(db, "ingest_meta", "last_trade_pub_date") == moved


class _Listing:
    """The trades listing in memory (a `PageReader`, as a run session is one): `trades`
    newest first, 12 a page; pages in `no_count` carry no totalCount."""

    def __init__(self, store: Store, trades: list[ListingTrade], no_count: frozenset[int]) -> None:
        self.store, self.trades, self.no_count = store, trades, no_count
        self.asked: list[int] = []

    def pipeline(self) -> PipelineConfig:
        return pipeline_config(EnrichOptions(concurrency=3, delay=0.0, max_failures=50))

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]:
        number = int(parse_qs(urlsplit(path).query)["page"][0])
        self.asked.append(number)
        rows = tuple(self.trades[(number - 1) * 12 : number * 12])
        count = None if number in self.no_count else len(self.trades)
        pages = math.ceil(len(self.trades) / 12) if self.trades else 1
        return cast(R, ListingPage(rows, count, pages)), None

    async def commit(self, write: Callable[[], T]) -> T:
        return await self.store.run(write)


async def test_a_full_walk_refuses_a_page_without_a_total_and_an_incremental_one_does_not(
    tmp_path: Path,
) -> None:
    """A full walk places each page by its count: without it, rows could be skipped unseen.
    An incremental walk only needs the rows."""
    trades = [trade.listing for trade in make_dataset(seed=99, trades=36).trades]
    with Store.open(tmp_path / "ct.db", create=True) as store:
        listing = _Listing(store, trades, no_count=frozenset({2}))
        full = await sync_listing(listing, SyncOptions(full=True))
        assert (full.complete, full.stats.failed) == (False, {"layout_changed": 1})
        assert full.stats.last_failure == "GET /trades?page=2: no totalCount on the page"
        store.finish_sync(trades[5].pub_date, advance_cutoff=True)  # as a complete walk would
        listing = _Listing(store, trades, no_count=frozenset({1, 2, 3}))
        incremental = await sync_listing(listing, SyncOptions())
        assert (incremental.complete, incremental.stats.failed, incremental.pages) == (True, {}, 1)


async def test_an_empty_listing_is_a_complete_walk_of_one_page(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ct.db", create=True) as store:
        walked = await sync_listing(_Listing(store, [], no_count=frozenset()), SyncOptions())
    assert (walked.complete, walked.pages, walked.trades_seen, walked.mode) == (True, 1, 0, "full")


async def test_an_incremental_walk_stops_at_its_page_limit_exactly(tmp_path: Path) -> None:
    trades = [trade.listing for trade in make_dataset(seed=100, trades=60).trades]
    with Store.open(tmp_path / "ct.db", create=True) as store:
        store.finish_sync(trades[-1].pub_date, advance_cutoff=True)  # the cutoff: the oldest
        listing = _Listing(store, trades, no_count=frozenset())
        walked = await sync_listing(listing, SyncOptions(max_pages=2))
    assert listing.asked == [1, 2]
    assert (walked.pages, walked.page_limit, walked.complete) == (2, True, False)
    assert walked.stats.selected == 2
