"""The run session: what it opens and closes, and its one commit (pages before rows)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from trio_enrich import (
    DatabaseError,
    EnrichOptions,
    Store,
    SyncOptions,
    TrioEnrichError,
    UsageError,
)
from trio_enrich.runs.session import open_session
from trio_enrich.runs.stages import SYNC, StageInput
from trio_enrich.sim import Faults, make_dataset, open_simulator
from trio_enrich.storage.archive import PageArchive, archive_path
from trio_enrich.storage.lock import RunLock

from .helpers import query


def _raise_full(answers: object) -> None:
    raise DatabaseError("database ct.pages.db: database or disk is full")


async def test_a_page_that_cannot_be_archived_keeps_its_rows_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive's one promise: the pages of a batch are written before the rows read
    from them, so a page that cannot be kept (a full disk) leaves no row without it."""
    dataset = make_dataset(seed=91, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=91) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        with pytest.raises((TrioEnrichError, ExceptionGroup)):  # noqa: PT012
            async with open_session(db, options, create=True) as session:
                assert session.archive is not None
                monkeypatch.setattr(session.archive, "write", _raise_full)
                await SYNC.run(session, StageInput(trio.Event(), walk=SyncOptions()))
        assert len(sim.log) >= 1  # a listing page was read
    with Store.open(db, read_only=True) as store:
        assert query(store, "SELECT COUNT(*) FROM trades") == [(0,)]
    with RunLock(db) as after:  # and the session let go of the lock
        assert after.try_acquire()


async def test_a_session_keeps_robots_txt_and_every_page_and_flushes_once_at_its_end(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=92, trades=24)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=92) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        async with open_session(db, options, create=True) as session:
            with RunLock(db) as probe:
                assert not probe.try_acquire()  # the lock is the session's
            result = await SYNC.run(session, StageInput(trio.Event(), walk=SyncOptions()))
            assert result.sync is not None
            assert result.sync.complete
            # A page read but not committed (a stop before its batch): kept at the end.
            page, _ = await session.read("/trades/" + str(dataset.trades[0].listing.tx_id),
                                         lambda body: body)  # fmt: skip
            assert page
    with PageArchive.open(archive_path(db), read_only=True) as archive:
        assert archive.newest("/robots.txt") is not None
        assert archive.newest("/trades?page=1") is not None
        assert archive.newest(f"/trades/{dataset.trades[0].listing.tx_id}") is not None


async def test_a_program_s_store_stays_open_and_in_memory_has_no_archive() -> None:
    dataset = make_dataset(seed=93, trades=12)
    async with open_simulator(dataset, Faults(latency_ms=1), seed=93) as sim:
        with Store.open(":memory:", create=True) as store:
            options = EnrichOptions(base_url=sim.base_url, delay=0)
            async with open_session(store, options) as session:
                assert session.archive is None
                await SYNC.run(session, StageInput(trio.Event(), walk=SyncOptions()))
            assert store.count("trades") == 12  # still open: the program's to close


async def test_what_a_refused_session_says(tmp_path: Path) -> None:
    """Word for word: another run's lock (with its holder, or with none recorded), and a
    page robots.txt disallows."""
    dataset = make_dataset(seed=94, trades=12)
    db = tmp_path / "ct.db"
    faults = Faults(latency_ms=1, robots_txt="User-agent: *\nDisallow: /politicians\n")
    async with open_simulator(dataset, faults, seed=94) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        async with open_session(db, options, create=True):
            pass
        with RunLock(db) as other:
            assert other.try_acquire()
            with pytest.raises(UsageError) as refused:
                async with open_session(db, options):
                    pass
            assert str(refused.value) == (
                f"database {db} is in use by another trio-enrich run (no details recorded); "
                "let it finish, or pass --wait to run after it"
            )
            with Store.open(db) as store:
                store.record_run("trio-enrich update --db ct.db")
                holder = store.current_run()
            with pytest.raises(UsageError) as refused:
                async with open_session(db, options):
                    pass
            assert f"run ({holder}); let it finish" in str(refused.value)
        with pytest.raises(UsageError) as disallowed:
            async with open_session(db, options, needs=lambda store, paced: ["/politicians"]):
                pass
        assert str(disallowed.value) == (
            "robots.txt disallows /politicians for trio-enrich (line 2: Disallow: /politicians);"
            " nothing was fetched. Pass --ignore-robots-disallow only if you have decided to "
            "fetch it anyway"
        )
