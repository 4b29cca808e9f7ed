"""`enrich()` from Python is as polite as the command line (issue 21): it takes the run lock,
honours robots.txt and starts `auto` from the rate an earlier run learned."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio

from trio_enrich import TRADES, EnrichOptions, Store, UsageError, enrich
from trio_enrich.core.stats import NoProgress, RunStats
from trio_enrich.sim import Faults, make_dataset, open_simulator
from trio_enrich.storage.lock import RunLock

from .helpers import assert_enriched_rows_carry_their_data, database_with_listing, query


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
