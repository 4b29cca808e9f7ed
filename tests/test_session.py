"""The run session: what it opens and closes, and its one commit (pages before rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

import trio_enrich
from trio_enrich import (
    TRADES,
    DatabaseError,
    EnrichOptions,
    FinishReason,
    Store,
    SyncOptions,
    TrioEnrichError,
    UsageError,
)
from trio_enrich.clients.robots import Robots
from trio_enrich.core.pacing import COLD_START_RATE
from trio_enrich.core.policy import RetryPolicy
from trio_enrich.core.stats import NoProgress, RunStats
from trio_enrich.runs.session import disallowed, open_session, paced, require_database
from trio_enrich.runs.stages import SYNC, StageInput
from trio_enrich.sim import Faults, make_dataset, open_simulator
from trio_enrich.storage.archive import PageArchive, archive_path
from trio_enrich.storage.lock import RunLock

from .helpers import query, recorded_failures


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


async def test_a_session_that_waits_says_so_once_and_when_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `wait`, a held database is waited for, said once (a cron log says who it waited
    for), and the start is said; the run then records itself as the command it is."""
    dataset = make_dataset(seed=93, trades=12)
    db = tmp_path / "ct.db"
    said: list[str] = []
    long = "x" * 300  # (a command is kept to its first 200 characters)
    monkeypatch.setattr("sys.argv", ["trio-enrich", "trades", "--db", str(db), long])
    async with open_simulator(dataset, Faults(latency_ms=1), seed=93) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        async with open_session(db, options, create=True):
            pass  # the database, made
        with RunLock(db) as held:
            assert held.try_acquire()
            with Store.open(db) as store:
                store.record_run("the other run")  # as the run holding the lock does

            async def run_after() -> None:
                async with open_session(db, options, wait=True, say=said.append):
                    with Store.open(db, read_only=True) as store:
                        holder = store.current_run()
                    assert holder is not None
                    assert holder.command == f"trio-enrich trades --db {db} {long}"[:200]

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_after)
                await trio.sleep(0.9)  # several turns of the wait
                assert len(said) == 1
                assert f"trio-enrich: waiting for the run using {db} (" in said[0]
                assert "the other run" in said[0]
                held.release()
    assert len(said) == 2
    assert said[1].endswith(f"trio-enrich: {db} is free; starting")


def test_auto_starts_from_a_learned_rate_only_while_it_is_fresh(tmp_path: Path) -> None:
    robots = Robots("http://127.0.0.1:9", status=404)
    options = EnrichOptions(base_url="http://127.0.0.1:9", auto=True)
    with Store.open(tmp_path / "ct.db", create=True) as store:
        _, cold = paced(store, options, robots)
        assert cold is not None
        assert cold.start == COLD_START_RATE
        store.remember_rate("127.0.0.1:9", 40.0, limited=True)
        _, warm = paced(store, options, robots)
        assert warm is not None
        assert warm.start == pytest.approx(0.95 * 40.0)
        for stamp in ("not a time", "2020-01-01T00:00:00+00:00"):  # unreadable; too old
            learned = json.dumps({"127.0.0.1:9": {"rate": 40.0, "limited": True,
                                                   "learned_at": stamp}})  # fmt: skip
            with store.transaction() as connection:
                connection.execute(
                    "UPDATE trio_enrich_meta SET value = ? WHERE key = 'learned_rate'", (learned,)
                )
            _, stale = paced(store, options, robots)
            assert stale is not None
            assert stale.start == COLD_START_RATE, stamp


async def test_an_auto_run_remembers_the_rate_it_learned(tmp_path: Path) -> None:
    dataset = make_dataset(seed=94, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=94) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, auto=True)
        await trio_enrich.sync(db, options)
        with Store.open(db, read_only=True) as store:
            learned = store.learned_rate(urlsplit(sim.base_url).netloc)
    assert learned is not None
    assert learned.rate > 0


async def test_a_run_without_an_archive_keeps_no_page_and_stores_every_row(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=95, trades=30)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=95) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, archive=False)
        walked = await trio_enrich.sync(db, options)
        stats = await trio_enrich.enrich(db, TRADES, options)
    assert (walked.complete, stats.done) == (True, 30)
    assert not archive_path(db).exists()


def test_what_a_run_says_of_a_missing_database_and_an_ignored_robots_rule(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    with pytest.raises(UsageError) as missing:
        require_database(db)
    assert str(missing.value) == (
        f"database {db} does not exist; make it with `trio-enrich sync --db {db}` "
        "(or name an existing one with --db)"
    )
    said: list[str] = []
    robots = Robots("http://x", status=200, text="User-agent: *\nDisallow: /trades/\n")
    assert disallowed(robots, ["/trades/7"], ignore=True, say=said.append) is None
    assert said == [
        "trio-enrich: warning: robots.txt (line 2: Disallow: /trades/) disallows /trades/7; going "
        "on as --ignore-robots-disallow asks"
    ]


async def test_a_stop_event_ends_an_enrich_run_between_items(tmp_path: Path) -> None:
    dataset = make_dataset(seed=96, trades=60)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=5), seed=96) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, concurrency=2)
        await trio_enrich.sync(db, options)
        stop = trio.Event()

        class _StopAt(NoProgress):
            def update(self, stats: RunStats) -> None:
                if stats.done >= 10:
                    stop.set()

        stats = await trio_enrich.enrich(db, TRADES, options, progress=_StopAt(), stop=stop)
    assert stats.finish_reason is FinishReason.INTERRUPTED
    assert 10 <= stats.done < 60


_SLOW = "User-agent: *\nCrawl-delay: 0.5\n"  # 2 requests a second


@pytest.mark.parametrize(
    ("auto", "max_rps", "rules", "learned", "expected"),
    [
        # fixed pacing: robots.txt's rate caps --max-rps, or becomes it
        (False, None, "", None, (None, None)),
        (False, 10.0, "", None, (10.0, None)),
        (False, None, _SLOW, None, (2.0, None)),
        (False, 10.0, _SLOW, None, (2.0, None)),
        (False, 1.0, _SLOW, None, (1.0, None)),
        # auto: from the cold start, under robots.txt's rate (with a margin) and auto:N
        (True, None, "", None, (None, (COLD_START_RATE, None, False))),
        (True, 30.0, "", None, (30.0, (COLD_START_RATE, 30.0, False))),
        (True, None, _SLOW, None, (None, (COLD_START_RATE, 2.0 / 1.03, False))),
        (True, 1.5, _SLOW, None, (1.5, (COLD_START_RATE, 1.5, False))),
        # a limit learned before: held just under it; a rate merely reached: 90% of it
        (True, None, _SLOW, (40.0, True), (None, (38.0, 2.0 / 1.03, True))),
        (True, None, "", (40.0, False), (None, (36.0, None, False))),
        (True, None, "", (3.0, False), (None, (COLD_START_RATE, None, False))),
        (True, None, _SLOW, (40.0, False), (None, (36.0, 2.0 / 1.03, False))),
    ],
)
def test_how_a_session_paces_by_its_options_robots_txt_and_what_it_learned(
    tmp_path: Path,
    auto: bool,
    max_rps: float | None,
    rules: str,
    learned: tuple[float, bool] | None,
    expected: tuple[float | None, tuple[float, float | None, bool] | None],
) -> None:
    base = "http://127.0.0.1:9"
    robots = Robots(base, status=200 if rules else 404, text=rules)
    options = EnrichOptions(base_url=base, auto=auto, max_rps=max_rps)
    with Store.open(tmp_path / "ct.db", create=True) as store:
        if learned is not None:
            store.remember_rate("127.0.0.1:9", learned[0], limited=learned[1])
        paced_options, adaptive = paced(store, options, robots)
    law = None if adaptive is None else (adaptive.start, adaptive.ceiling, adaptive.remembered)
    assert paced_options.max_rps == expected[0]
    if law is None or expected[1] is None:
        assert law == expected[1]
    else:
        assert law[0] == pytest.approx(expected[1][0])
        assert law[1] == pytest.approx(expected[1][1])
        assert law[2] == expected[1][2]


async def test_an_item_that_fails_is_recorded_with_its_words_and_attempts(tmp_path: Path) -> None:
    dataset = make_dataset(seed=97, trades=24)
    broken = dataset.trades[3].listing.tx_id
    db = tmp_path / "ct.db"
    faults = Faults(latency_ms=1, error_digest_ids=frozenset({broken}))
    async with open_simulator(dataset, faults, seed=97) as sim:
        retry = RetryPolicy(max_retries=2, base=0.01, cap=0.02)
        options = EnrichOptions(base_url=sim.base_url, delay=0, retry=retry)
        await trio_enrich.sync(db, options)
        stats = await trio_enrich.enrich(db, TRADES, options)
    assert stats.done == 23
    with Store.open(db, read_only=True) as store:
        failures = recorded_failures(store, "trade")
    assert list(failures) == [broken]
    kind, message, attempts = failures[broken]
    assert kind == "error_digest"
    assert message.startswith(f"GET /trades/{broken}: ")
    assert attempts >= 1


async def test_a_failure_retried_to_the_end_is_recorded_with_every_attempt(tmp_path: Path) -> None:
    dataset = make_dataset(seed=98, trades=12)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=98) as sim:
        await trio_enrich.sync(db, EnrichOptions(base_url=sim.base_url, delay=0))
    retry = RetryPolicy(max_retries=2, base=0.01, cap=0.02)
    async with open_simulator(dataset, Faults(latency_ms=1, rate_truncate=1.0), seed=98) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, retry=retry, archive=False)
        stats = await trio_enrich.enrich(db, TRADES, options)
    assert stats.done == 0
    with Store.open(db, read_only=True) as store:
        failures = recorded_failures(store, "trade")
    assert failures
    assert {attempts for _, _, attempts in failures.values()} == {3}  # the first and 2 retries


async def test_a_session_asks_robots_txt_with_its_client_and_deadline_and_hears_stated_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trio_enrich.clients.robots import read_robots as real

    asked: list[dict[str, object]] = []

    async def read_robots(base_url: str, **kwargs: Any) -> Robots:
        asked.append(kwargs)
        return await real(base_url, **kwargs)

    monkeypatch.setattr("trio_enrich.runs.session.read_robots", read_robots)
    dataset = make_dataset(seed=99, trades=12)
    async with open_simulator(dataset, Faults(latency_ms=1), seed=99) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0, deadline=7.5)
        async with open_session(tmp_path / "ct.db", options, create=True) as session:
            assert session.pipeline().stated is session.client.stated
    assert [(a["deadline"], a["client"]) for a in asked] == [(7.5, "httpx")]


async def test_a_flush_that_fails_at_the_end_stops_the_run_saying_why(tmp_path: Path) -> None:
    dataset = make_dataset(seed=100, trades=12)
    async with open_simulator(dataset, Faults(latency_ms=1), seed=100) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        with pytest.raises((TrioEnrichError, ExceptionGroup)) as stopped:  # noqa: PT012
            async with open_session(tmp_path / "ct.db", options, create=True) as session:
                assert session.archive is not None

                async def full() -> None:
                    raise DatabaseError("database ct.pages.db: database or disk is full")

                session.archive.flush = full  # type: ignore[method-assign]
    error = stopped.value
    while isinstance(error, ExceptionGroup):
        error = error.exceptions[0]
    assert str(error).startswith(
        "database ct.pages.db: database or disk is full; the run stopped there. What it "
        "committed before is kept"
    )
