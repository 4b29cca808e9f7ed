"""A full walk of the listing is recorded, resumed and finished; nothing is skipped when pages
shift; the incremental cutoff moves only when a walk completes (issue 11, defect 1)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_enrich import Store
from trio_enrich.sim import Faults, make_dataset, open_simulator
from trio_enrich.site.walk import Walk

from .helpers import FAST, cli, start_sim, wait_for_requests


def stored_ids(db: Path) -> set[int]:
    connection = sqlite3.connect(db)
    try:
        return {row[0] for row in connection.execute("SELECT tx_id FROM trades")}
    finally:
        connection.close()


def meta(db: Path, table: str, key: str) -> str | None:
    connection = sqlite3.connect(db)
    try:
        row = connection.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
    finally:
        connection.close()
    return None if row is None else str(row[0])


def page_numbers(paths: list[str]) -> list[int]:
    return [int(p.split("page=")[1].split("&")[0]) for p in paths if p.startswith("/trades?")]


# --- the record itself ------------------------------------------------------------------------


def test_a_walk_places_pages_by_their_own_total() -> None:
    walk = Walk(started_at="t")
    assert walk.pages_to_read(12) == [1]  # nothing known yet
    walk.add_page(1, 12, total=30, rows=12)
    assert walk.covered == [(19, 30)]
    assert walk.pages_to_read(12) == [2, 3]
    # Five trades are published; page 3 now holds the eleven oldest.
    walk.add_page(3, 12, total=35, rows=11)
    assert walk.covered == [(1, 11), (19, 30)]
    assert walk.gaps() == [(12, 18), (31, 35)]
    # positions 31..35 are the top five rows (page 1); 12..18 sit on rows 18..24 (page 2).
    assert walk.pages_to_read(12) == [1, 2]
    walk.add_page(2, 12, total=35, rows=12)
    walk.add_page(1, 12, total=35, rows=12)
    assert walk.complete
    assert walk.covered == [(1, 35)]


def test_a_page_answered_before_a_publication_does_not_hide_the_new_top() -> None:
    walk = Walk(started_at="t")
    walk.add_page(3, 10, total=25, rows=5)  # asked after 5 trades were published
    walk.add_page(1, 10, total=20, rows=10)  # answered before the publication, received later
    walk.add_page(2, 10, total=20, rows=10)
    # Positions 1..20 are read, but the five published at the top (21..25) are not: taking
    # the last count seen (20) would call this walk complete and lose them.
    assert walk.total == 25
    assert not walk.complete
    assert walk.gaps() == [(21, 25)]
    assert walk.pages_to_read(10) == [1]


def test_touching_and_overlapping_pages_are_kept_as_one_stretch() -> None:
    walk = Walk(started_at="t")
    walk.add_page(2, 5, 10, 5)  # positions 1..5
    walk.add_page(1, 5, 10, 5)  # 6..10: touches 1..5
    assert walk.covered == [(1, 10)]
    walk = Walk(started_at="t")
    walk.add_page(1, 5, 10, 5)
    walk.add_page(2, 5, 10, 5)  # the same two, the other way round
    assert walk.covered == [(1, 10)]
    walk = Walk(started_at="t")
    walk.add_page(1, 5, 10, 5)  # 6..10
    walk.add_page(2, 5, 11, 5)  # a trade published since: page 2 now holds 2..6
    assert walk.covered == [(2, 10)]  # one stretch: position 6 is not counted twice
    assert walk.unread_count() == 2  # positions 1 and 11
    walk.add_page(3, 5, 11, 0)  # an empty page covers nothing
    assert walk.covered == [(2, 10)]


def test_a_walk_survives_its_json_and_refuses_garbage() -> None:
    walk = Walk(started_at="2026-11-28T00:00:00Z")
    walk.add_page(2, 10, total=95, rows=10, newest="2026-01-02T00:00:00Z")
    again = Walk.from_json(walk.to_json())
    assert again == walk
    for bad in ("", "{}", '{"covered": [[5, 1]], "total": 1, "newest": null, "started_at": "x",'
                ' "pages_read": 1}', "[1, 2]"):  # fmt: skip
        with pytest.raises(ValueError, match="not a stored walk"):
            Walk.from_json(bad)


@settings(max_examples=300, deadline=None)
@given(
    initial=st.integers(0, 120),
    size=st.integers(1, 15),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=30),
)
def test_reading_what_the_walk_asks_for_reads_every_trade_whatever_is_published(
    initial: int, size: int, steps: list[tuple[bool, int]]
) -> None:
    """A model of the site (newest first) that publishes between any two page reads."""
    site = list(range(initial, 0, -1))  # ids; a higher id is newer
    newest = initial
    walk = Walk(started_at="t")
    seen: set[int] = set()
    site_when_last_read: list[int] = []

    def read(page: int) -> None:
        rows = site[(page - 1) * size : page * size]
        seen.update(rows)
        walk.add_page(page, size, total=len(site), rows=len(rows))
        site_when_last_read[:] = site

    for publish, number in steps:  # interleave publications and arbitrary page reads
        if publish:
            site[:0] = range(newest + number, newest, -1)
            newest += number
        else:
            read(number % (len(site) // size + 2) + 1)
    for _ in range(10):  # the walk's own rounds, with one publication between the first two
        for page in walk.pages_to_read(size):
            read(page)
        if walk.complete:
            break
    assert walk.complete
    # Complete means: every trade the site had when the walk last looked at it. (Trades
    # published after that are the next incremental sync's.)
    assert seen >= set(site_when_last_read)


# --- against the simulator ----------------------------------------------------------------------


async def test_a_cut_short_full_walk_is_finished_by_plain_sync_reading_only_unread_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=51, trades=600)  # 50 pages
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=51) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--full", "--pages", "12", "--concurrency", "4") == 0
        first = page_numbers(sim.log.paths())
        assert len(first) == 12
        assert meta(db, "ingest_meta", "last_trade_pub_date") is None  # the walk is unfinished
        assert meta(db, "trio_enrich_meta", "sync_walk") is not None
        out = capsys.readouterr().out
        assert "full walk unfinished: 456 trades still unread;" in out
        assert await cli("status", "--db", str(db)) == 0
        assert "unfinished full walk" in capsys.readouterr().out
        # The README's "later" command finishes the walk: the 38 pages not read, nothing again.
        assert await cli(*args) == 0
        second = page_numbers(sim.log.paths())[len(first) :]
        assert sorted(second) == sorted(set(range(1, 51)) - set(first))
        said = capsys.readouterr()
        assert "resuming the full walk" in said.err
        assert "full walk (resumed) complete" in said.out
    assert stored_ids(db) == set(dataset.trade_index)
    assert meta(db, "ingest_meta", "last_trade_pub_date") == dataset.trades[0].listing.pub_date
    assert meta(db, "trio_enrich_meta", "sync_walk") is None


async def test_trades_published_between_runs_are_not_skipped(tmp_path: Path) -> None:
    dataset = make_dataset(seed=52, trades=600)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=52) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--full", "--pages", "20") == 0
        dataset.publish(31)  # every unread page shifts by 2 pages and 7 rows
        assert await cli(*args, "--full") == 0
    assert stored_ids(db) == set(dataset.trade_index)
    assert meta(db, "ingest_meta", "last_trade_pub_date") == dataset.trades[0].listing.pub_date


async def test_trades_published_during_a_walk_are_not_skipped(tmp_path: Path) -> None:
    dataset = make_dataset(seed=53, trades=900)  # 75 pages
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=15), seed=53) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]

        async def publish_while_it_runs() -> None:
            for after, count in ((10, 17), (30, 40), (55, 5)):
                while len(sim.log) < after:  # noqa: ASYNC110 - polling a counter, no event
                    await trio.sleep(0.005)
                dataset.publish(count)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish_while_it_runs)
            assert await cli(*args, "--full", "--concurrency", "3") == 0
    assert len(dataset.trade_index) == 962
    assert stored_ids(db) == set(dataset.trade_index)
    assert meta(db, "ingest_meta", "last_trade_pub_date") == dataset.trades[0].listing.pub_date


async def test_an_incremental_sync_cut_short_leaves_the_cutoff(tmp_path: Path) -> None:
    dataset = make_dataset(seed=54, trades=240)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=54) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--full") == 0
        cutoff = meta(db, "ingest_meta", "last_trade_pub_date")
        dataset.publish(60)  # five pages of new trades
        assert await cli(*args, "--pages", "2") == 0  # asked for two pages: not the end
        assert meta(db, "ingest_meta", "last_trade_pub_date") == cutoff
        assert await cli(*args) == 0  # reads back to the same cutoff: all of the new ones
    assert stored_ids(db) == set(dataset.trade_index)
    assert meta(db, "ingest_meta", "last_trade_pub_date") == dataset.trades[0].listing.pub_date


async def test_a_since_walk_later_than_the_cutoff_does_not_move_it(tmp_path: Path) -> None:
    dataset = make_dataset(seed=55, trades=240)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=55) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli(*args, "--full") == 0
        cutoff = meta(db, "ingest_meta", "last_trade_pub_date")
        assert cutoff is not None
        old = dataset.publish(100)
        recent = dataset.publish(10)
        # Reading back only to the latest few days proves nothing about the 100 before them.
        assert await cli(*args, "--since", recent[-1].listing.pub_date[:10]) == 0
        assert meta(db, "ingest_meta", "last_trade_pub_date") == cutoff
        assert await cli(*args) == 0
    assert {t.listing.tx_id for t in old} <= stored_ids(db)


async def test_a_listing_page_with_missing_rows_is_a_failure_not_a_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=56, trades=120)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=56) as sim:
        args = ["sync", "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        # The site ignores pageSize (serves 12 rows where 20 were asked for): rows would be
        # skipped silently if the walk trusted its own page size.
        sim.set_faults(Faults(listing_page_size=12))
        code = await cli(*args, "--full", "--page-size", "20", "--retry-max", "0")
    assert code != 0
    assert meta(db, "ingest_meta", "last_trade_pub_date") is None
    assert "rows where totalCount" in capsys.readouterr().out


def test_full_and_since_together_are_refused(tmp_path: Path) -> None:
    from trio_enrich.cli import main

    db = tmp_path / "ct.db"
    assert main(["sync", "--db", str(db), "--full", "--since", "2025-01-01"]) == 2
    assert not db.exists()


# --- the whole story in processes, with real signals ---------------------------------------


def _sim_log(url: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/_sim/log", timeout=5) as answer:
        return [json.loads(line)["path"] for line in answer.read().decode().splitlines()]


def _stored_pages(db: Path, size: int) -> set[int]:
    """The pages whose every row the stored walk holds (the site did not change)."""
    with Store.open(db, read_only=True) as store:
        walk = store.full_walk()
    assert walk is not None
    assert walk.total is not None
    total = walk.total
    pages = set()
    for page in range(1, -(-total // size) + 1):
        high = total - (page - 1) * size
        low = max(1, high - size + 1)
        if any(a <= low and high <= b for a, b in walk.covered):
            pages.add(page)
    return pages


def test_sigint_full_sync_then_sync_then_full_sync_stores_every_trade(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    server, url = start_sim("--seed", "57", "--trades", "1200", "--latency-ms", "40")
    sync = [sys.executable, "-m", "trio_enrich", "sync", "--db", str(db), "--base-url", url,
            "--concurrency", "2", "--progress", "none", *FAST]  # fmt: skip
    reads: list[list[int]] = []
    stored: list[set[int]] = []  # the pages the unfinished walk holds after each cut
    try:
        for command, stop_after in ((["--full"], 15), ([], 15), (["--full"], None)):
            before = len(_sim_log(url))
            run = subprocess.Popen(
                [*sync, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            if stop_after is not None:
                wait_for_requests(url, before + stop_after)
                run.send_signal(signal.SIGINT)
            out, err = run.communicate(timeout=120)
            assert run.returncode == (130 if stop_after else 0), (out, err)
            reads.append(page_numbers(_sim_log(url)[before:]))
            if stop_after is not None:
                stored.append(_stored_pages(db, 12))
        truth = json.loads(urllib.request.urlopen(f"{url}/_sim/truth", timeout=10).read())
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    first, second, last = reads
    stored_first, stored_second = stored
    assert 0 < len(stored_first) < len(stored_second) < 100
    # A page whose answer was still on its way at the signal was never stored: only those
    # (at most one per worker) are read again; a stored page never is.
    assert not set(second) & stored_first  # plain sync resumed the walk
    assert len(set(second) & set(first)) <= 2
    assert not set(last) & stored_second  # the last run read only pages not read before
    assert stored_second | set(last) == set(range(1, 101))
    assert stored_ids(db) == {trade["listing"]["tx_id"] for trade in truth["trades"]}
    with Store.open(db, read_only=True) as store:
        assert store.full_walk() is None
        assert store.get_meta("last_trade_pub_date") is not None


async def test_sync_reports_in_its_own_words_and_keeps_the_breaker_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=58, trades=600)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=5), seed=58) as sim:

        async def outage_after_page_one() -> None:
            while len(sim.log) < 1:  # noqa: ASYNC110 - polling a counter, no event
                await trio.sleep(0.002)
            sim.inject("503", 200)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(outage_after_page_one)
            code = await cli("sync", "--full", "--db", str(db), "--base-url", sim.base_url,
                             "--progress", "none", "--json", "--max-failures", "2",
                             "--retry-max", "0", "--concurrency", "1", *FAST)  # fmt: skip
    assert code == 3
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["fetched"] == 1  # page 1, before the outage
    assert "enriched" not in summary
    assert summary["breaker"] == "open"  # the state of the round that tripped
    assert summary["finish_reason"] == "breaker"
    assert "HTTP 503" in summary["last_failure"]
    assert summary["complete"] is False
