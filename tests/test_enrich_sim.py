"""The trades and issuers commands against the simulated site (real sockets, real clock)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import trio

from trio_enrich.sim import Faults, Simulator, make_dataset, open_simulator

from .helpers import (
    FAST,
    assert_enriched_rows_carry_their_data,
    assert_issuers_match_truth,
    assert_trades_match_truth,
    cli,
    database_with_listing,
    start_sim,
    trade_rows,
    wait_for_requests,
)


def job_args(job: str, db: Path, sim: Simulator, *extra: str) -> list[str]:
    return [job, "--db", str(db), "--base-url", sim.base_url, "--progress", "none", *extra]


async def test_clean_site_enriches_everything_to_the_ground_truth(tmp_path: Path) -> None:
    dataset = make_dataset(seed=11, trades=2000)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(latency_ms=10)
    async with open_simulator(dataset, faults, seed=11) as sim:
        assert await cli(*job_args("trades", db, sim, "--concurrency", "10", *FAST)) == 0
        assert len(sim.log) == 2000
        assert sim.log.max_in_flight <= 10
        assert await cli(*job_args("issuers", db, sim, "--concurrency", "10", *FAST)) == 0
        assert len(sim.log) == 2000 + len(dataset.issuers)
        # A second run finds nothing pending and sends nothing.
        assert await cli(*job_args("trades", db, sim, *FAST)) == 0
        assert len(sim.log) == 2000 + len(dataset.issuers)
    assert_trades_match_truth(db, dataset)
    assert_issuers_match_truth(db, dataset)


async def test_object_shaped_pages_fill_committees_labels_and_sizes(tmp_path: Path) -> None:
    dataset = make_dataset(seed=12, trades=300)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(detail_shape="object"), seed=12) as sim:
        assert await cli(*job_args("trades", db, sim, "--concurrency", "5", *FAST)) == 0
    assert_trades_match_truth(db, dataset, shape="object")


async def test_one_worker_fetches_in_queue_order(tmp_path: Path) -> None:
    dataset = make_dataset(seed=13, trades=60)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=13) as sim:
        assert await cli(*job_args("trades", db, sim, "--concurrency", "1", *FAST)) == 0
    assert sim.log.paths() == [f"/trades/{i}" for i in sorted(dataset.trade_index)]
    assert sim.log.max_in_flight == 1


async def test_in_flight_requests_never_exceed_the_concurrency(tmp_path: Path) -> None:
    dataset = make_dataset(seed=14, trades=300)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(latency_ms=20), seed=14) as sim:
        assert await cli(*job_args("trades", db, sim, "--concurrency", "4", *FAST)) == 0
    assert sim.log.max_in_flight == 4


@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
async def test_retry_after_pauses_every_worker(tmp_path: Path, as_date: bool) -> None:
    dataset = make_dataset(seed=15, trades=200)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(latency_ms=10, retry_after=2, retry_after_as_date=as_date)
    async with open_simulator(dataset, faults, seed=15) as sim:

        async def limit_soon() -> None:
            await trio.sleep(0.3)
            sim.inject("429-date" if as_date else "429")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(limit_soon)
            assert await cli(*job_args("trades", db, sim, "--concurrency", "5", *FAST)) == 0
    [limited] = [r for r in sim.log.records if r.status == 429]
    # The pause below comes from this header: seconds, or a date (rounded up to a second).
    assert limited.fault == ("429-date" if as_date else "429")
    # Requests that had already left may land just after the 429 was sent; after that, none.
    grace = 0.05
    during = sim.log.started_between(limited.end + grace, limited.end + 2.0 - grace)
    assert during == []
    assert len(sim.log.started_between(limited.end + 2.0, limited.end + 60)) > 0
    assert len(trade_rows(db)) == 200
    assert all(row[-1] for row in trade_rows(db).values())


async def test_max_rps_holds_in_every_window(tmp_path: Path) -> None:
    """--max-rps from the command line to the site, on the real clock (the gate's grid is
    checked exactly on the virtual clock in test_pipeline)."""
    dataset = make_dataset(seed=16, trades=120)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=16) as sim:
        code = await cli(*job_args("trades", db, sim, "--concurrency", "10", "--max-rps", "40",
                                   *FAST))  # fmt: skip
    assert code == 0
    # Never more than 40 in any 1 s. The site sees the requests after a transit that varies: a
    # batch commit holding the GIL delays one by tens of ms, so its windows allow 50 ms.
    assert sim.log.max_in_window(0.95) <= 40
    # And not far under it: the rate at which the site saw them, from the first to the last
    # (a run's start-up, slow on a loaded machine, is no part of the pace).
    starts = sorted(sim.log.starts())
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert len(starts) == 120
    assert rate >= 36.0, f"{rate:.2f} req/s"


async def test_outage_trips_the_breaker_and_a_rerun_finishes(tmp_path: Path) -> None:
    dataset = make_dataset(seed=17, trades=400)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(latency_ms=5), seed=17) as sim:

        async def outage_soon() -> None:
            await trio.sleep(0.5)
            sim.outage(30)

        args = job_args("trades", db, sim, "--concurrency", "4", "--max-failures", "5",
                        "--retry-max", "1", *FAST)  # fmt: skip
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outage_soon)
            assert await cli(*args) == 3
            nursery.cancel_scope.cancel()
        failures = (
            sqlite3.connect(db)
            .execute("SELECT COUNT(*) FROM trio_enrich_failures WHERE entity = 'trade'")
            .fetchone()[0]
        )
        assert failures == 5  # exactly --max-failures final failures were recorded
        trip = max(r.end for r in sim.log.records if r.status == 503)
        sent_after = [r for r in sim.log.records if r.start > trip + 0.05]
        assert sent_after == []  # nothing left after the trip
        enriched_before = {k for k, v in trade_rows(db).items() if v[-1]}
        assert 0 < len(enriched_before) < 400
        first_run = len(sim.log)
        sim._outages.clear()  # the site is back
        assert await cli(*args) == 0
        refetched = [p for p in sim.log.paths()[first_run:]
                     if int(p.rsplit("/", 1)[1]) in enriched_before]  # fmt: skip
        assert refetched == []  # nothing committed was fetched again
    assert_trades_match_truth(db, dataset)


async def test_not_found_items_are_recorded_and_skipped_next_time(tmp_path: Path) -> None:
    dataset = make_dataset(seed=18, trades=100)
    gone = {t.listing.tx_id for t in dataset.trades[::10]}
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(not_found_ids=frozenset(gone))
    async with open_simulator(dataset, faults, seed=18) as sim:
        assert await cli(*job_args("trades", db, sim, "--concurrency", "3", *FAST)) == 0
        first = len(sim.log)
        assert await cli(*job_args("trades", db, sim, *FAST)) == 0
        assert len(sim.log) == first  # not retried on a later run...
        assert await cli(*job_args("trades", db, sim, "--retry-failed", *FAST)) == 0
        assert len(sim.log) == first + len(gone)  # ...unless asked
    recorded = (
        sqlite3.connect(db)
        .execute("SELECT item_id FROM trio_enrich_failures WHERE kind = 'not_found'")
        .fetchall()
    )
    assert {row[0] for row in recorded} == gone


async def test_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = make_dataset(seed=19, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=19) as sim:
        assert await cli(*job_args("trades", db, sim, "--json", *FAST)) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["selected"] == 30
    assert summary["enriched"] == 30
    assert summary["finish_reason"] == "completed"
    assert summary["breaker"] == "closed"
    assert {"not_found", "failed_by_kind", "retries", "rate_limit_pauses", "seconds_paused",
            "elapsed_seconds", "items_per_second"} <= set(summary)  # fmt: skip


async def test_item_failures_exit_1(tmp_path: Path) -> None:
    dataset = make_dataset(seed=20, trades=30)
    broken = {dataset.trades[3].listing.tx_id}
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(error_digest_ids=frozenset(broken)), seed=20) as sim:
        assert await cli(*job_args("trades", db, sim, *FAST)) == 1


async def test_dry_run_sends_nothing_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=21, trades=40)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    before = db.read_bytes()
    async with open_simulator(dataset, seed=21) as sim:
        assert await cli(*job_args("trades", db, sim, "--dry-run", "--json")) == 0
        assert len(sim.log) == 0
    assert json.loads(capsys.readouterr().out)["selected"] == 40
    assert db.read_bytes() == before


def _trades_command(db: Path, url: str, concurrency: int) -> list[str]:
    """The CLI enriching trades with no pause and no progress display."""
    return [sys.executable, "-m", "trio_enrich", "trades", "--db", str(db), "--base-url", url,
            "--concurrency", str(concurrency), "--details-delay-ms", "0",
            "--progress", "none"]  # fmt: skip


def test_sigint_mid_run_exits_130_quickly_and_a_rerun_completes(tmp_path: Path) -> None:
    dataset = make_dataset(seed=22, trades=600)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    server, url = start_sim("--seed", "22", "--trades", "600", "--latency-ms", "20")
    command = _trades_command(db, url, concurrency=2)
    try:
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_requests(url, 60)
        run.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        out, err = run.communicate(timeout=10)
        assert run.returncode == 130, err
        assert time.monotonic() - signalled < 2.0
        assert out.startswith("trades: interrupted in ")
        done = {k for k, v in trade_rows(db).items() if v[-1]}
        assert 0 < len(done) < 600
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 0, rerun.stderr
        assert f"selected {600 - len(done)}:" in rerun.stdout
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert_trades_match_truth(db, dataset)


def test_a_second_sigint_stops_at_once_and_keeps_what_was_committed(tmp_path: Path) -> None:
    """The first Ctrl-C gives the requests in flight 1.5 s to bring their answers in (the site
    here never answers them); a second one stops at once, without waiting for them."""
    dataset = make_dataset(seed=26, trades=600)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    server, url = start_sim("--seed", "26", "--trades", "600", "--latency-ms", "20")
    try:
        run = subprocess.Popen(
            _trades_command(db, url, concurrency=2),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_requests(url, 60)
        urllib.request.urlopen(f"{url}/_sim/inject?fault=hang&count=4", timeout=5).close()
        time.sleep(0.3)  # both workers now wait on a hanging answer
        run.send_signal(signal.SIGINT)
        time.sleep(0.1)  # the second signal while the first stop waits for them
        second = time.monotonic()
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=10)
        stopped_after = time.monotonic() - second
        assert run.returncode == 130, err
        assert "Traceback" not in err
        assert stopped_after < 0.9, f"{stopped_after:.2f} s after the second signal"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert_enriched_rows_carry_their_data(db)
    assert 0 < len({k for k, v in trade_rows(db).items() if v[-1]}) < 600


def test_sigterm_exits_143(tmp_path: Path) -> None:
    dataset = make_dataset(seed=23, trades=300)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    server, url = start_sim("--seed", "23", "--trades", "300", "--latency-ms", "20")
    try:
        run = subprocess.Popen(
            _trades_command(db, url, concurrency=1),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_requests(url, 20)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=10)
        assert run.returncode == 143, err
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_program_starts_exits_with_its_code(
    tmp_path: Path, signum: int, code: int
) -> None:
    """Imports take about 0.3 s: a signal then must still give 130/143, not a traceback. The
    signal is sent the moment the program catches SIGTERM (its first act, after SIGINT and
    before the imports), read from /proc, not after a guessed delay: earlier, the interpreter
    itself would still be starting (it catches SIGINT itself from the first instant), and no
    code of ours could answer."""
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=27, trades=20))
    for _ in range(3):
        run = subprocess.Popen(
            _trades_command(db, "http://127.0.0.1:9", concurrency=1),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        _wait_until_it_catches(run.pid, signal.SIGTERM)
        run.send_signal(signum)
        _, err = run.communicate(timeout=10)
        assert run.returncode == code, err
        assert "Traceback" not in err
        assert "trades:" not in err  # it did not get as far as the run


def _wait_until_it_catches(pid: int, signum: int) -> None:
    """Until process `pid` has a handler for `signum` (Linux: the SigCgt mask in /proc)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
        if int(caught.split()[1], 16) >> (signum - 1) & 1:
            return
        time.sleep(0.001)
    raise AssertionError(f"process {pid} never caught signal {signum}")


@pytest.mark.slow
def test_log_progress_prints_a_line_at_least_every_ten_seconds(tmp_path: Path) -> None:
    """A run of over 20 s (220 pages at 10/s): a line at 10 s, one at 20 s, one at the end."""
    dataset = make_dataset(seed=24, trades=220)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    server, url = start_sim("--seed", "24", "--trades", "220")
    try:
        run = subprocess.Popen(
            [sys.executable, "-u", "-m", "trio_enrich", "trades", "--db", str(db),
             "--base-url", url, "--max-rps", "10", "--details-delay-ms", "0",
             "--progress", "log"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert run.stderr is not None
        started = time.monotonic()
        stamps = []
        for line in run.stderr:
            # Each log line starts with the local time (issue 20, item 16), then its title.
            if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d trades: ", line):
                stamps.append(time.monotonic() - started)
        run.wait(timeout=60)
        total = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert run.returncode == 0
    assert total >= 21
    gaps = [b - a for a, b in zip([0.0, *stamps], [*stamps, total], strict=True)]
    # The first gap also holds the interpreter's start and the imports (over a second on a
    # loaded machine: measured 11.2 s with two busy loops beside the slow suite).
    assert gaps[0] <= 13.0, gaps
    assert max(gaps[1:]) <= 11.0, gaps
    assert len(stamps) >= 2


def test_on_a_terminal_the_bar_shows_position_total_and_eta(tmp_path: Path) -> None:
    import fcntl
    import pty
    import select
    import struct
    import termios

    dataset = make_dataset(seed=25, trades=150)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    server, url = start_sim("--seed", "25", "--trades", "150")
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "trio_enrich", "trades", "--db", str(db), "--base-url", url,
             "--max-rps", "60", "--details-delay-ms", "0"],  # --progress auto: a terminal
            stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True,
        )  # fmt: skip
        os.close(terminal)
        screen = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                screen += data
            elif run.poll() is not None:
                break
        assert run.wait(timeout=10) == 0
    finally:
        os.close(master)
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    text = screen.decode(errors="replace")
    frames = [frame for frame in text.split("\r") if "/150 [" in frame]
    assert len(frames) > 5, text[-500:]
    assert any("ETA" in frame and "/s" in frame for frame in frames)
    assert "150/150 [100%]" in text
