"""What each walk of the listing reports (its `SyncResult`, field by field) and what it shows
while it goes (its progress displays), run in process through the library's `sync`."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import trio_enrich
from trio_enrich import EnrichOptions, ProgressSink, RunStats, SyncOptions, SyncResult
from trio_enrich.sim import Faults, Simulator, make_dataset, open_simulator


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
