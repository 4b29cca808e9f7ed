"""One writer per database (issue 14, the run lock): a second run stops at once naming the
first, or waits with --wait; a killed run leaves no stale lock; readers are never blocked."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from trio_enrich.sim import make_dataset

from .helpers import database_with_listing, sim_process, wait_for_requests

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock")

TRADES = 200  # a first run of about 3 s: long enough for a second one to meet its lock


@pytest.fixture
def site() -> Iterator[str]:
    with sim_process("--seed", "71", "--trades", str(TRADES), "--latency-ms", "30") as url:
        yield url


def _trades(db: Path, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "trio_enrich", "trades", "--db", str(db), "--base-url", url,
            "--concurrency", "2", "--details-delay-ms", "0", "--progress", "none",
            *extra]  # fmt: skip


def _detail_requests(url: str) -> Counter[str]:
    with urllib.request.urlopen(f"{url}/_sim/log", timeout=5) as answer:
        paths = [json.loads(line)["path"] for line in answer.read().decode().splitlines()]
    return Counter(path for path in paths if path.startswith("/trades/"))


def test_a_second_run_stops_at_once_and_names_the_first(tmp_path: Path, site: str) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=71, trades=TRADES))
    first = subprocess.Popen(_trades(db, site), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        wait_for_requests(site, 10)  # the first run is under way
        started = time.monotonic()
        second = subprocess.run(_trades(db, site), capture_output=True, text=True, timeout=30)
        assert time.monotonic() - started < 5
        assert second.returncode == 2
        err = second.stderr.strip().splitlines()
        assert len(err) == 1
        assert "in use by another trio-enrich run" in err[0]
        assert f"pid {first.pid}" in err[0]
        assert "trio-enrich trades" in err[0]
        # Readers are not blocked.
        status = subprocess.run([sys.executable, "-m", "trio_enrich", "status", "--db", str(db)],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        assert status.returncode == 0, status.stderr
        dry = subprocess.run(_trades(db, site, "--dry-run"), capture_output=True, text=True,
                             timeout=30)  # fmt: skip
        assert dry.returncode == 0, dry.stderr
    finally:
        _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    requests = _detail_requests(site)
    assert len(requests) == TRADES
    assert max(requests.values()) == 1  # no page requested twice


def test_with_wait_the_second_run_runs_after_and_fetches_nothing(tmp_path: Path, site: str) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=71, trades=TRADES))
    first = subprocess.Popen(_trades(db, site), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    wait_for_requests(site, 10)
    second = subprocess.run(_trades(db, site, "--wait", "--json"), capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["selected"] == 0  # it read the pending list after the first run's end
    assert max(_detail_requests(site).values()) == 1
    # It said once, when it began to wait, for whom; and when it could start (issue 20, 13).
    said = [line for line in second.stderr.splitlines() if "waiting for the run" in line]
    assert len(said) == 1, second.stderr
    assert f"pid {first.pid}" in said[0]
    assert "trio-enrich trades" in said[0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", said[0])  # when
    assert any("is free; starting" in line for line in second.stderr.splitlines())


def test_after_sigkill_the_next_run_starts_at_once(tmp_path: Path, site: str) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=71, trades=TRADES))
    killed = subprocess.Popen(_trades(db, site), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for_requests(site, 10)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    started = time.monotonic()
    rerun = subprocess.run(_trades(db, site), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "in use" not in rerun.stderr
    assert time.monotonic() - started < 60
