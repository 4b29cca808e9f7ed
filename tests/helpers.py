"""Helpers shared by the integration tests: a database with listing rows, ground-truth checks."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import trio

from trio_enrich import FailureKind, FetchError, Job, Store
from trio_enrich.sim import Dataset

#: The flags of a test run against the simulator: no pause per worker, and retries that wait
#: milliseconds, not the real site's seconds.
FAST = ("--details-delay-ms", "0", "--retry-base-ms", "20", "--retry-max-ms", "100")


T = TypeVar("T")


async def cli(*args: str) -> int:
    """A command run in this trio run (its exit code; errors raised, not printed)."""
    from trio_enrich.cli import app

    result = await app.run_async(
        list(args), result_action="return_value", exit_on_error=False, print_error=False
    )
    assert isinstance(result, int)
    return result


def database_with_listing(path: Path, dataset: Dataset) -> Path:
    """A database holding the dataset's listing rows, as `sync` would leave it."""
    with Store.open(path) as store:
        store.upsert_listing([t.listing for t in reversed(dataset.trades)])
        store.finish_sync(dataset.trades[0].listing.pub_date, advance_cutoff=True)
    return path


def sql_rows(path: Path, query: str, *parameters: object) -> list[tuple[Any, ...]]:
    """The rows of `query` on the database at `path`."""
    db = sqlite3.connect(path)
    try:
        return db.execute(query, parameters).fetchall()
    finally:
        db.close()


def rows_by_key(path: Path, query: str) -> dict[int, tuple[object, ...]]:
    """The rows of `query`, keyed by their first column."""
    db = sqlite3.connect(path)
    try:
        return {row[0]: row[1:] for row in db.execute(query).fetchall()}
    finally:
        db.close()


def trade_rows(path: Path) -> dict[int, tuple[object, ...]]:
    return rows_by_key(
        path,
        "SELECT t.tx_id, a.asset_type, a.asset_ticker, a.instrument, t.filing_url, t.filing_id,"
        " t.price, t.size, t.size_range_low, t.size_range_high, t.has_capital_gains,"
        " t.reporting_gap, t.value, t.pub_date, t.tx_date, t.issuer_id, t.politician_id,"
        " t.enriched_at IS NOT NULL"
        " FROM trades t JOIN assets a USING (asset_id)",
    )


def expected_trade_row(dataset: Dataset, tx_id: int, shape: str = "live") -> tuple[object, ...]:
    trade = dataset.trade_index[tx_id]
    detail = trade.detail(shape)
    listing = trade.listing
    return (
        detail.asset_type,
        detail.asset_ticker,
        detail.instrument,
        detail.filing_url or "",
        detail.filing_id or 0,
        detail.price,
        detail.size,
        detail.size_range_low,
        detail.size_range_high,
        int(bool(detail.has_capital_gains)),
        listing.reporting_gap,
        listing.value,
        listing.pub_date,
        listing.tx_date,
        listing.issuer.issuer_id,
        listing.politician.politician_id,
        1,
    )


def assert_trades_match_truth(path: Path, dataset: Dataset, shape: str = "live") -> None:
    rows = trade_rows(path)
    assert set(rows) == set(dataset.trade_index)
    mismatched = [
        (tx_id, rows[tx_id], expected_trade_row(dataset, tx_id, shape))
        for tx_id in rows
        if rows[tx_id] != expected_trade_row(dataset, tx_id, shape)
    ]
    assert mismatched == [], mismatched[:3]
    if shape == "object":
        db = sqlite3.connect(path)
        committees = set(db.execute("SELECT tx_id, committee FROM trade_committees"))
        labels = set(db.execute("SELECT tx_id, label FROM trade_labels"))
        db.close()
        assert committees == {(t.listing.tx_id, c) for t in dataset.trades for c in t.committees}
        assert labels == {(t.listing.tx_id, c) for t in dataset.trades for c in t.labels}


def assert_issuers_match_truth(path: Path, dataset: Dataset, windows: int = 1) -> None:
    """Every issuer as its page shows it now, with the prices of the `windows` last windows its
    page showed (each trading day moves the window by one day, and the history is kept)."""
    db = sqlite3.connect(path)
    issuers = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT issuer_id, state_id, c2iq, country, issuer_name, issuer_ticker, sector,"
            " enriched_at IS NOT NULL FROM issuers"
        )
    }
    stats = {row[0]: row[1:] for row in db.execute("SELECT * FROM issuer_stats")}
    performance = {row[0]: row[1:] for row in db.execute("SELECT * FROM issuer_performance")}
    partial = {
        row[0]: row[1:] for row in db.execute("SELECT * FROM trio_enrich_partial_performance")
    }
    prices: dict[int, list[tuple[str, float]]] = {}
    for issuer_id, day, price in db.execute(
        "SELECT issuer_id, price_date, price FROM issuer_eod_prices ORDER BY price_date DESC"
    ):
        prices.setdefault(issuer_id, []).append((day, price))
    db.close()
    assert set(issuers) == set(dataset.issuers)
    for issuer_id, issuer in dataset.issuers.items():
        truth = issuer.detail()
        who = truth.issuer
        assert issuers[issuer_id] == (
            who.state_id, who.c2iq, who.country, who.issuer_name, who.issuer_ticker, who.sector, 1,
        )  # fmt: skip
        assert truth.stats is not None
        assert stats[issuer_id] == (
            truth.stats.count_trades, truth.stats.count_politicians, truth.stats.volume,
            truth.stats.date_last_traded,
        )  # fmt: skip
        if truth.performance is None:
            assert issuer_id not in performance
            assert issuer_id not in partial
            assert issuer_id not in prices
        else:
            # Every figure the page shows, in one of the two tables; NULL for what it did not.
            complete, other = (performance, partial)[:: 1 if truth.performance.complete else -1]
            assert complete[issuer_id] == (truth.performance.mcap, *truth.performance.numbers)
            assert issuer_id not in other
            history = issuer.performance
            assert history is not None
            kept = len(truth.performance.eod_prices) + windows - 1
            assert prices.get(issuer_id, []) == list(history.eod_prices[:kept])


def assert_enriched_rows_carry_their_data(db: Path) -> None:
    """A row marked enriched always has the data its page gave (live pages: type and filing)."""
    connection = sqlite3.connect(db)
    hollow = connection.execute(
        "SELECT COUNT(*) FROM trades t JOIN assets a USING (asset_id)"
        " WHERE t.enriched_at IS NOT NULL AND (a.asset_type = 'unknown' OR t.filing_url = '')"
    ).fetchone()[0]
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    assert hollow == 0


def wait_for_requests(url: str, count: int, timeout: float = 30.0) -> None:
    """Readiness, not a fixed sleep: return once the simulator at `url` has served `count`
    requests (its control endpoints are not counted)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{url}/_sim/stats", timeout=5) as answer:
            if json.loads(answer.read())["requests"] >= count:
                return
        assert time.monotonic() < deadline, f"fewer than {count} requests in {timeout} s"
        time.sleep(0.02)


def start_sim(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """`trio-enrich sim` in a process of its own, on a free port: (the process, its URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trio_enrich", "sim", "--port", "0", *extra],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()  # readiness: it prints its address once it listens
    assert line.startswith("serving "), line
    return process, line.split()[1]


@contextmanager
def sim_process(*extra: str) -> Iterator[str]:
    """The URL of a simulator process that is stopped (Ctrl-C) on leaving."""
    process, url = start_sim(*extra)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def require_mount_namespaces() -> None:
    """Skip a test that needs a mount namespace of its own (`unshare -rm`: a read-only bind
    mount, a small tmpfs) where the machine has none; CI must have them."""
    import shutil

    import pytest

    if shutil.which("unshare") is not None:
        probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs none /mnt"],
                               capture_output=True, check=False)  # fmt: skip
        if probe.returncode == 0:
            return
    if os.environ.get("CI"):
        pytest.fail("CI must be able to make a mount namespace (unshare -rm) for this test")
    pytest.skip("no user and mount namespaces here (unshare -rm)")


def query(store: Store, sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
    """Rows of a read-only query on the database of `store` (a connection of the test's own:
    the store keeps its SQL to itself)."""
    connection = sqlite3.connect(store.path)
    try:
        return [tuple(row) for row in connection.execute(sql, parameters)]
    finally:
        connection.close()


def recorded_failures(store: Store, entity: str) -> dict[int, tuple[str, str, int]]:
    """item id -> (kind, message, attempts) of every recorded failure of `entity`."""
    rows = query(
        store, "SELECT item_id, kind, message, attempts FROM trio_enrich_failures WHERE entity = ?",
        (entity,),
    )  # fmt: skip
    return {int(str(r[0])): (str(r[1]), str(r[2]), int(str(r[3]))) for r in rows}


class LimitedSite:
    """An in-memory site behind a token bucket of `rate` per second holding `burst`; a request
    that finds it empty is refused (429, Retry-After 1 s)."""

    def __init__(self, rate: float, burst: float, latency: float = 0.02) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = 0.0
        self.latency = latency
        self.sends: list[float] = []
        self.refused = 0

    async def fetch(self, item: int) -> int:
        now = trio.current_time()
        self.sends.append(now)
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        await trio.sleep(self.latency)
        if self.tokens < 1:
            self.refused += 1
            raise FetchError(FailureKind.RATE_LIMITED, "HTTP 429", retry_after=1.0)
        self.tokens -= 1
        return item


@contextmanager
def reader(job: Job[Any, Any], read: Callable[[bytes, int], Any]) -> Iterator[None]:
    """`job` reads its pages with `read` inside the block (a reader defect, injected); its
    own reader is back after it, as after an upgrade."""
    original = job.read
    object.__setattr__(job, "read", read)
    try:
        yield
    finally:
        object.__setattr__(job, "read", original)


def read_as(kind: type[T], result: object) -> T:
    """What a reader gave, known to be of `kind` (a page of the simulator reads)."""
    assert isinstance(result, kind), result
    return result


def copy_made_by_update(db: Path, seed: int, trades: int) -> Path:
    """A copy made by `update` at `db` against the simulator (outside any trio run: for a
    module's fixture), its trade pages in the object shape, which carry labels and
    committees."""
    import trio

    import trio_enrich
    from trio_enrich import EnrichOptions
    from trio_enrich.sim import Faults, make_dataset, open_simulator

    async def build() -> None:
        dataset = make_dataset(seed=seed, trades=trades)
        async with open_simulator(dataset, Faults(detail_shape="object"), seed=seed) as sim:
            options = EnrichOptions(base_url=sim.base_url, delay=0, concurrency=8)
            result = await trio_enrich.update(db, options)
            assert not result.refused

    trio.run(build)
    return db
