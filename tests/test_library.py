"""The library is the command line: `enrich`, `sync`, `committees`, `update`, `check` and
`reparse` from Python take the run lock, honour robots.txt, keep their pages in the archive
and pace as the commands do (`auto` from the rate an earlier run learned)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio

import trio_enrich
from trio_enrich import TRADES, EnrichOptions, FinishReason, Store, UsageError, enrich
from trio_enrich.core.stats import NoProgress, RunStats
from trio_enrich.sim import Faults, Simulator, make_dataset, open_simulator, profile
from trio_enrich.storage.archive import PageArchive, archive_path
from trio_enrich.storage.lock import RunLock

from .helpers import assert_enriched_rows_carry_their_data, cli, database_with_listing, query

UPDATE_STAGES = ["sync", "trades", "issuers", "committees"]


async def test_enrich_refuses_a_database_another_run_holds(tmp_path: Path) -> None:
    dataset = make_dataset(seed=61, trades=20)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(latency_ms=1), seed=61) as sim:
        with RunLock(db) as other:
            assert other.try_acquire()
            with Store.open(db) as store, pytest.raises(UsageError, match="in use by another"):
                await enrich(store, TRADES, EnrichOptions(base_url=sim.base_url, delay=0))
        assert len(sim.log) == 0  # no page: the lock comes first
        with Store.open(db) as store:  # free again: it runs, and leaves the lock free
            stats = await enrich(store, TRADES, EnrichOptions(base_url=sim.base_url, delay=0))
        assert stats.done == 20
        with RunLock(db) as after:
            assert after.try_acquire()


async def test_enrich_stops_before_a_page_robots_txt_disallows(tmp_path: Path) -> None:
    dataset = make_dataset(seed=62, trades=20)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(latency_ms=1, robots_txt="User-agent: *\nDisallow: /trades/\n")
    async with open_simulator(dataset, faults, seed=62) as sim:
        with Store.open(db) as store, pytest.raises(UsageError, match=r"robots\.txt disallows"):
            await enrich(store, TRADES, EnrichOptions(base_url=sim.base_url, delay=0))
        assert not [path for path in sim.log.paths() if path.startswith("/trades/")]
        with Store.open(db) as store:  # unless told to go on
            options = EnrichOptions(base_url=sim.base_url, delay=0)
            await enrich(store, TRADES, options, ignore_robots_disallow=True)
    with Store.open(db, read_only=True) as store:
        assert query(store, "SELECT COUNT(enriched_at) FROM trades")[0][0] == 20


async def test_enrich_caps_its_rate_by_robots_txt(tmp_path: Path) -> None:
    dataset = make_dataset(seed=63, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(latency_ms=1, robots_txt="User-agent: *\nCrawl-delay: 0.1\n")
    async with open_simulator(dataset, faults, seed=63) as sim:
        with Store.open(db) as store:
            await enrich(store, TRADES, EnrichOptions(base_url=sim.base_url, delay=0,
                                                        concurrency=5))  # fmt: skip
        starts = sorted(r.start for r in sim.log.records if r.path.startswith("/trades/"))
    assert len(starts) == 30
    assert starts[-1] - starts[0] >= 29 * 0.1 * 0.95  # 10/s at most, not five at once


async def test_enrich_auto_starts_from_the_rate_an_earlier_run_learned(tmp_path: Path) -> None:
    dataset = make_dataset(seed=64, trades=60)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(latency_ms=1), seed=64) as sim:
        with Store.open(db) as store:
            store.remember_rate(urlsplit(sim.base_url).netloc, 40.0, limited=True)
            options = EnrichOptions(base_url=sim.base_url, delay=0, concurrency=5, auto=True)
            stats = await enrich(store, TRADES, options)
            learned = store.learned_rate(urlsplit(sim.base_url).netloc)
    assert stats.done == 60
    # held at the remembered limit (less a margin), not the cold start's 5/s and its ramp
    assert stats.rate is not None
    assert 35 <= stats.rate <= 40
    assert learned is not None
    assert learned.limited


class _CancelAt(NoProgress):
    """A progress sink that cancels `scope` once `done` items were counted."""

    def __init__(self, done: int, scope: trio.CancelScope) -> None:
        super().__init__()
        self.done, self.scope = done, scope

    def update(self, stats: RunStats) -> None:
        if stats.done >= self.done:
            self.scope.cancel()


async def test_enrich_cut_short_leaves_the_lock_free_and_nothing_half_written(
    tmp_path: Path,
) -> None:
    """Cancelled in the middle (a program's timeout, say), then run again: the lock is free,
    every enriched row carries its data, and the second call finishes the rest."""
    dataset = make_dataset(seed=65, trades=200)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(latency_ms=20), seed=65) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, concurrency=2)
        with Store.open(db) as store:
            # Cut short in the middle however slow the machine (a fixed timer may fire before
            # the first commit on a loaded one): once 60 outcomes were counted, the first batch
            # of 50 has been committed (the collector commits before it takes the next).
            with trio.CancelScope() as cancelled:
                await enrich(store, TRADES, options, progress=_CancelAt(60, cancelled))
            assert cancelled.cancelled_caught
            done = int(str(query(store, "SELECT COUNT(enriched_at) FROM trades")[0][0]))
            assert 0 < done < 200
            with RunLock(db) as after:  # released, and no holder left recorded
                assert after.try_acquire()
            assert store.current_run() is None
            stats = await enrich(store, TRADES, options)
    assert stats.done == 200 - done
    assert_enriched_rows_carry_their_data(db)


def _pace(sim: Simulator, prefix: str = "/trades/") -> float:
    """Requests a second the site saw for pages under `prefix`, first to last."""
    starts = sorted(r.start for r in sim.log.records if r.path.startswith(prefix))
    return (len(starts) - 1) / (starts[-1] - starts[0])


class _LockWatch(NoProgress):
    """A progress sink that asks, at every update, whether the run lock is free."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db, self.free = db, 0

    def update(self, stats: RunStats) -> None:
        with RunLock(self.db) as probe:
            self.free += probe.try_acquire()


async def test_enrich_auto_paces_as_the_command_line_keeps_every_page_and_holds_the_lock(
    tmp_path: Path,
) -> None:
    """`EnrichOptions(auto=True)` is `--max-rps auto`: on a site with a hidden limit both find
    the same pace (the library once paused 0.5 s per worker: 5.5 requests/s against 37.7)."""
    dataset = make_dataset(seed=66, trades=100)
    paces: dict[str, float] = {}
    for way in ("command line", "library"):
        db = database_with_listing(tmp_path / f"{way.replace(' ', '_')}.db", dataset)
        async with open_simulator(dataset, profile("limited"), seed=66) as sim:
            if way == "command line":
                flags = ["--db", str(db), "--base-url", sim.base_url, "--max-rps", "auto"]
                assert await cli("trades", *flags, "--progress", "none") == 0
            else:
                watch = _LockWatch(db)
                options = EnrichOptions(base_url=sim.base_url, auto=True)
                stats = await enrich(db, TRADES, options, progress=watch)
                assert stats.done == 100
                assert watch.free == 0  # held the whole run
            paces[way] = _pace(sim)
        with PageArchive.open(archive_path(db), read_only=True) as archive:
            kept = [archive.newest(TRADES.path(t.listing.tx_id)) for t in dataset.trades]
            assert all(page is not None and page.status == 200 for page in kept)
            assert archive.newest("/robots.txt") is not None
    assert 0.9 <= paces["library"] / paces["command line"] <= 1.1, paces
    # near the hidden 20/s (from the cold start's 5/s), not a worker's 0.5 s pause (~5.6/s)
    assert paces["library"] >= 12, paces


async def test_sync_and_committees_from_python_take_the_lock_and_honour_robots_txt(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=67, trades=30)
    db = tmp_path / "ct.db"
    faults = Faults(latency_ms=1, robots_txt="User-agent: *\nDisallow: /politicians\n")
    async with open_simulator(dataset, faults, seed=67) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        walked = await trio_enrich.sync(db, options)  # a first sync makes the database
        assert (walked.complete, walked.mode, walked.trades_seen) == (True, "full", 30)
        with pytest.raises(UsageError, match=r"robots\.txt disallows /politicians"):
            await trio_enrich.committees(db, options)
        assert not [path for path in sim.log.paths() if path.startswith("/politicians")]
        with RunLock(db) as other:
            assert other.try_acquire()
            asked = len(sim.log)
            with pytest.raises(UsageError, match="in use by another"):
                await trio_enrich.sync(db, options)
            with pytest.raises(UsageError, match="in use by another"):
                await trio_enrich.committees(db, options, ignore_robots_disallow=True)
            assert len(sim.log) == asked  # the lock comes before any page
        read = await trio_enrich.committees(db, options, ignore_robots_disallow=True)
        assert read.complete
    refusing = Faults(latency_ms=1, robots_txt="User-agent: *\nDisallow: /trades\n")
    async with open_simulator(dataset, refusing, seed=67) as sim:
        new = tmp_path / "new.db"
        with pytest.raises(UsageError, match=r"robots\.txt disallows /trades"):
            await trio_enrich.sync(new, EnrichOptions(base_url=sim.base_url, delay=0))
        assert len(sim.log) == 0
    assert not new.exists()  # a refused first run leaves no file


async def test_update_check_and_reparse_are_library_calls(tmp_path: Path) -> None:
    dataset = make_dataset(seed=68, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=68) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        result = await trio_enrich.update(db, options)
        assert [stage.name for stage in result.stages] == UPDATE_STAGES
        assert {stage.finish for stage in result.stages} == {FinishReason.COMPLETED}
        assert (result.refused, result.not_run) == ({}, [])
        assert result.stages[1].stats.done == 40
        read = result.stages[3].committees
        assert read is not None
        assert read.complete
        report = await trio_enrich.check(options, db)
        assert report.verdict == "ok"
        asked = len(sim.log)
        reread = await trio_enrich.reparse(db, dry_run=True)
        assert len(sim.log) == asked  # nothing sent
    assert [r.kind for r in reread] == ["listing", "trades", "issuers", "committees"]
    assert [r.failures for r in reread] == [{}, {}, {}, {}]
    assert (reread[1].pages, reread[1].unchanged) == (40, 40)


async def test_a_stop_event_given_to_a_call_stops_it(tmp_path: Path) -> None:
    dataset = make_dataset(seed=69, trades=24)
    db = tmp_path / "ct.db"
    stop = trio.Event()
    stop.set()
    async with open_simulator(dataset, Faults(latency_ms=1), seed=69) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        assert (await trio_enrich.update(db, options, stop=stop)).stages == []
        walked = await trio_enrich.sync(db, options, stop=stop)
        assert walked.stats.finish_reason is FinishReason.INTERRUPTED
        read = await trio_enrich.committees(db, options, stop=stop)
        assert (read.complete, read.stats.finish_reason) == (False, FinishReason.INTERRUPTED)
        assert not [path for path in sim.log.paths() if path != "/robots.txt"]
