"""What each walk of the listing reports (its `SyncResult`, field by field) and what it shows
while it goes (its progress displays), run in process through the library's `sync`."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from itertools import pairwise
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import trio

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
    Walk,
)
from trio_enrich.core.policy import PipelineConfig
from trio_enrich.core.stats import FinishReason
from trio_enrich.runs.options import pipeline_config
from trio_enrich.runs.sync import MAX_ROUNDS, CarriedProgress, sync_listing
from trio_enrich.sim import Dataset, Faults, Simulator, make_dataset, open_simulator

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
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", started)  # when it began
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
    newest first, 12 a page; pages in `no_count` carry no totalCount, and none states the
    page count unless `stated_pages`. `after_read(page)` runs once each page is answered (to
    publish trades, or stop the run, while it walks)."""

    def __init__(
        self,
        store: Store,
        trades: list[ListingTrade],
        no_count: frozenset[int] = frozenset(),
        *,
        concurrency: int = 3,
        stated_pages: bool = True,
        after_read: Callable[[int], None] | None = None,
    ) -> None:
        self.store, self.trades, self.no_count = store, trades, no_count
        self.concurrency, self.stated_pages, self.after_read = concurrency, stated_pages, after_read
        self.asked: list[int] = []

    def pipeline(self) -> PipelineConfig:
        return pipeline_config(
            EnrichOptions(concurrency=self.concurrency, delay=0.0, max_failures=50)
        )

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]:
        number = int(parse_qs(urlsplit(path).query)["page"][0])
        self.asked.append(number)
        rows = tuple(self.trades[(number - 1) * 12 : number * 12])
        count = None if number in self.no_count else len(self.trades)
        pages = math.ceil(len(self.trades) / 12) if self.trades else 1
        answer = ListingPage(rows, count, pages if self.stated_pages else None)
        if self.after_read is not None:
            self.after_read(number)
        return cast(R, answer), None

    async def commit(self, write: Callable[[], T]) -> T:
        return await self.store.run(write)


async def test_a_full_walk_refuses_a_page_without_a_total_and_an_incremental_one_does_not(
    tmp_path: Path,
) -> None:
    """A full walk places each page by its count: without it, rows could be skipped unseen.
    An incremental walk only needs the rows."""
    trades = [trade.listing for trade in make_dataset(seed=99, trades=36).trades]
    with Store.open(tmp_path / "ct.db", create=True) as store:
        # (one page at a time: page 3 comes after the failed page 2 in the same batch)
        listing = _Listing(store, trades, no_count=frozenset({2}), concurrency=1)
        full = await sync_listing(listing, SyncOptions(full=True))
        assert (full.complete, full.stats.failed) == (False, {"layout_changed": 1})
        assert full.stats.last_failure == "GET /trades?page=2: no totalCount on the page"
        # A round with a failure ends the walk: the failed page is not asked again in this run,
        # what it holds is left unread, and the page after it is stored all the same.
        assert listing.asked == [1, 2, 3]
        assert (full.pages, full.trades_seen, full.unread_trades) == (2, 24, 12)
        assert (full.page_limit, full.total_pages) == (False, 3)
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


def _trades(seed: int, count: int) -> list[ListingTrade]:
    return [trade.listing for trade in make_dataset(seed=seed, trades=count).trades]


async def test_a_walk_whose_first_page_fails_knows_no_count_and_reads_nothing_more(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "ct.db", create=True) as store:
        listing = _Listing(store, _trades(101, 36), no_count=frozenset({1}))
        walked = await sync_listing(listing, SyncOptions(full=True))
    assert listing.asked == [1]
    assert (walked.complete, walked.pages, walked.unread_trades, walked.total_pages) == (
        False, 0, None, None,
    )  # fmt: skip


async def test_a_stored_walk_that_placed_no_page_is_resumed_from_its_start(
    tmp_path: Path,
) -> None:
    """A walk stored before any page was placed (no count known yet), as a file may hold."""
    trades = _trades(110, 36)
    said: list[str] = []
    with Store.open(tmp_path / "ct.db", create=True) as store:
        store.upsert_listing([], walk=Walk(started_at="2026-12-01T00:00:00Z"))
        walked = await sync_listing(_Listing(store, trades), SyncOptions(), notify=said.append)
    assert said == ["resuming the full walk started 2026-12-01T00:00:00Z: no page of it read yet"]
    assert (walked.resumed, walked.complete, walked.trades_seen) == (True, True, 36)


async def test_a_full_walk_allowed_no_pages_asks_for_none(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ct.db", create=True) as store:
        listing = _Listing(store, _trades(102, 36))
        walked = await sync_listing(listing, SyncOptions(full=True, max_pages=0))
    assert listing.asked == []
    assert (walked.pages, walked.complete, walked.page_limit) == (0, False, True)
    assert (walked.stats.selected, walked.stats.handled, walked.stats.requests) == (0, 0, 0)


async def test_an_empty_listing_moves_no_cutoff_and_counts_its_one_page(tmp_path: Path) -> None:
    """Pages that state no page count: the walk counts them from the trades' count."""
    with Store.open(tmp_path / "ct.db", create=True) as store:
        empty = await sync_listing(_Listing(store, [], stated_pages=False), SyncOptions())
        assert (empty.complete, empty.total_pages) == (True, 1)
        # Nothing read proves nothing: the next sync walks every page again.
        assert store.get_meta("last_trade_pub_date") is None
        trades = _trades(103, 30)
        walked = await sync_listing(_Listing(store, trades, stated_pages=False), SyncOptions())
        assert (walked.mode, walked.complete, walked.total_pages) == ("full", True, 3)
        assert store.get_meta("last_trade_pub_date") == trades[0].pub_date


async def test_a_full_walk_reads_round_after_round_while_the_site_publishes_but_not_for_ever(
    tmp_path: Path,
) -> None:
    """Three trades published after every page read: each round closes most of what the last
    left open, but never all. Page 1 alone, then MAX_ROUNDS rounds, each in its display."""
    dataset = make_dataset(seed=104, trades=120)
    with Store.open(tmp_path / "ct.db", create=True) as store:

        def publish(_: int) -> None:
            listing.trades[:0] = [trade.listing for trade in dataset.publish(3)]

        listing = _Listing(store, _trades_of(dataset), concurrency=1, after_read=publish)
        displays = Displays()
        walked = await sync_listing(listing, SyncOptions(full=True), progress=displays)
    assert len(displays.bars) == MAX_ROUNDS
    assert listing.asked[:10] == list(range(1, 11))  # page 1, then every other page
    assert (walked.complete, walked.page_limit, walked.pages) == (False, False, len(listing.asked))
    assert walked.unread_trades is not None
    assert 0 < walked.unread_trades < 12
    # Each display counts every page of the run so far, as one display would.
    totals = [bar.total or 0 for bar in displays.bars]
    assert all(earlier < later for earlier, later in pairwise(totals))
    assert displays.seen()[-1] == (walked.pages, walked.pages)


async def test_a_round_that_leaves_as_much_unread_as_before_ends_the_walk(tmp_path: Path) -> None:
    """The site published as many trades as a round read: reading on would never end."""
    dataset = make_dataset(seed=105, trades=60)
    with Store.open(tmp_path / "ct.db", create=True) as store:

        def publish_before_the_last_page(page: int) -> None:
            # Page 1 leaves positions 1-48 unread; pages 2-4 read 13-48; 36 trades published
            # now make page 5 the old page 2 again: 1-12 and 61-96 are left, 48 as before.
            if len(listing.asked) == 4:
                listing.trades[:0] = [trade.listing for trade in dataset.publish(36)]

        listing = _Listing(
            store, _trades_of(dataset), concurrency=1, after_read=publish_before_the_last_page
        )
        walked = await sync_listing(listing, SyncOptions(full=True))
    assert listing.asked == [1, 2, 3, 4, 5]
    assert (walked.complete, walked.unread_trades, walked.new_trades) == (False, 48, 48)


def _trades_of(dataset: Dataset) -> list[ListingTrade]:
    return [trade.listing for trade in dataset.trades]


async def test_a_stop_ends_either_walk_after_the_page_in_flight(tmp_path: Path) -> None:
    trades = _trades(106, 60)
    stop = trio.Event()

    def stop_at_page_2(page: int) -> None:
        if page == 2:
            stop.set()

    with Store.open(tmp_path / "ct.db", create=True) as store:
        # (the next page may have left before the run heard of the stop, none after it)
        listing = _Listing(store, trades, concurrency=1, after_read=stop_at_page_2)
        full = await sync_listing(listing, SyncOptions(full=True), stop=stop)
        assert listing.asked in ([1, 2], [1, 2, 3])
        assert (full.complete, full.pages) == (False, len(listing.asked))
        assert full.unread_trades == 60 - 12 * full.pages
        assert full.stats.finish_reason is FinishReason.INTERRUPTED
        store.finish_sync(trades[-1].pub_date, advance_cutoff=True)  # the cutoff: the oldest
        stop = trio.Event()
        listing = _Listing(store, trades, concurrency=1, after_read=stop_at_page_2)
        incremental = await sync_listing(listing, SyncOptions(), stop=stop)
        assert listing.asked in ([1, 2], [1, 2, 3])
        assert (incremental.complete, incremental.page_limit) == (False, False)
        assert incremental.stats.finish_reason is FinishReason.INTERRUPTED


async def test_an_incremental_walk_reads_on_past_a_page_that_ends_at_the_cutoff(
    tmp_path: Path,
) -> None:
    """A page whose oldest trade is the cutoff's own may be followed by more of that moment."""
    trades = _trades(107, 60)
    with Store.open(tmp_path / "ct.db", create=True) as store:
        store.finish_sync(trades[11].pub_date, advance_cutoff=True)  # page 1's last trade
        listing = _Listing(store, trades)
        walked = await sync_listing(listing, SyncOptions())
    assert listing.asked == [1, 2]
    assert walked.complete


async def test_an_incremental_walk_that_reaches_its_cutoff_on_its_last_allowed_page_is_complete(
    tmp_path: Path,
) -> None:
    trades = _trades(108, 60)
    with Store.open(tmp_path / "ct.db", create=True) as store:
        store.finish_sync(trades[13].pub_date, advance_cutoff=True)  # on page 2
        listing = _Listing(store, trades)
        walked = await sync_listing(listing, SyncOptions(max_pages=2))
    assert listing.asked == [1, 2]
    assert (walked.complete, walked.page_limit) == (True, False)
    assert walked.stats.selected == 2


async def test_a_walk_since_the_day_the_cutoff_begins_moves_it_unless_a_full_walk_is_unfinished(
    tmp_path: Path,
) -> None:
    """Since the very moment a complete walk proved: everything newer is now proved too. Not
    while a full walk is unfinished: its unread pages may hold older trades not yet stored."""
    dataset = make_dataset(seed=109, trades=60)
    trades = _trades_of(dataset)
    day = trades[20].pub_date[:10]
    with Store.open(tmp_path / "ct.db", create=True) as store:
        store.finish_sync(f"{day}T00:00:00Z", advance_cutoff=True)
        walked = await sync_listing(_Listing(store, trades), SyncOptions(since=day))
        assert walked.complete
        assert store.get_meta("last_trade_pub_date") == trades[0].pub_date
        cut = await sync_listing(_Listing(store, trades), SyncOptions(full=True, max_pages=1))
        assert cut.page_limit
        dataset.publish(3)
        again = await sync_listing(_Listing(store, _trades_of(dataset)), SyncOptions(since=day))
        assert again.complete
        assert store.get_meta("last_trade_pub_date") == trades[0].pub_date


def test_a_carried_display_adds_the_earlier_rounds_to_each_count_and_passes_warnings_on() -> None:
    bar = _Bar(None)
    earlier = RunStats(selected=3, done=3)
    carried = CarriedProgress(bar, earlier)
    carried.tick(RunStats(selected=2, done=1))
    carried.update(RunStats(selected=2, done=2))
    carried.warn("the site is slow")
    assert (bar.shown, bar.warned) == ([0, 4, 5], ["the site is slow"])
