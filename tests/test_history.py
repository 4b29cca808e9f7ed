"""What the copy remembers over time: each run in the runs' ledger, when each trade was first
stored and by which run, and each committee membership's first and last sighting."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import trio_enrich
from trio_enrich import EnrichOptions, PoliticianCard, Store, TrioEnrichError
from trio_enrich.sim import Faults, make_dataset, open_simulator

from .helpers import FAST, cli


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


async def test_each_command_s_run_is_in_the_ledger_with_the_trades_it_stored_first(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=36, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=36) as sim:
        flags = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("update", *flags) == 0
        new = dataset.publish(5)
        assert await cli("sync", *flags) == 0
    runs = _rows(db, "SELECT run_id, exit_code, error, new_trades, counts, ended_at >= started_at "
                     "FROM trio_enrich_runs ORDER BY run_id")  # fmt: skip
    assert [(run[0], run[1], run[2], run[3], run[5]) for run in runs] == [
        (1, 0, None, 40, 1),
        (2, 0, None, 5, 1),
    ]
    stages = [report["job"] for report in json.loads(str(runs[0][4]))]
    assert stages == ["sync", "trades", "issuers", "committees"]
    first = {
        row[0]: row[1] for row in _rows(db, "SELECT tx_id, run_id FROM trio_enrich_first_seen")
    }
    assert len(first) == 45
    assert {tx_id for tx_id, run in first.items() if run == 2} == {t.listing.tx_id for t in new}
    # the flat view carries it
    assert _rows(db, "SELECT COUNT(*) FROM trio_enrich_trades WHERE first_seen_run = 2") == [(5,)]


async def test_a_library_run_and_a_run_an_error_ends_are_in_the_ledger(tmp_path: Path) -> None:
    dataset = make_dataset(seed=37, trades=24)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=37) as sim:
        await trio_enrich.sync(db, EnrichOptions(base_url=sim.base_url, delay=0))
    # the site gone: robots.txt cannot be read, and the run stops
    with pytest.raises((TrioEnrichError, ExceptionGroup)):
        await trio_enrich.sync(db, EnrichOptions(base_url=sim.base_url, delay=0))
    runs = _rows(db, "SELECT exit_code, error IS NULL, new_trades, ended_at IS NOT NULL "
                     "FROM trio_enrich_runs ORDER BY run_id")  # fmt: skip
    assert runs[0] == (None, 1, 24, 1)  # the library has no exit codes
    assert runs[1][0] is None
    assert runs[1][1] == 0  # the error that ended it is kept
    assert runs[1][2:] == (0, 1)


def test_a_membership_keeps_its_first_and_last_sighting(tmp_path: Path) -> None:
    def card(pid: str) -> PoliticianCard:
        return PoliticianCard(pid, f"First {pid}", "Democrat", "Ohio", 1, 1, "1K", "2026-01-01")

    with Store.open(tmp_path / "ct.db", create=True) as store:
        chambers = {"ssfi": "senate", "ssbk": "senate"}
        store.replace_memberships({"ssfi": [card("A1"), card("B2")], "ssbk": []}, chambers,
                                  now="2026-01-01T00:00:00Z")  # fmt: skip
        store.replace_memberships({"ssfi": [card("A1")], "ssbk": [card("B2")]}, chambers,
                                  now="2026-02-01T00:00:00Z")  # fmt: skip
        # an older roster read again from the archive moves neither end inward
        store.replace_memberships({"ssfi": [card("A1")], "ssbk": []}, chambers,
                                  now="2025-12-01T00:00:00Z", reread=True)  # fmt: skip
        path = Path(store.path)
    history = _rows(path, "SELECT politician_id, committee, first_seen_at, last_seen_at "
                          "FROM trio_enrich_memberships ORDER BY 1, 2")  # fmt: skip
    assert history == [
        ("A1", "ssfi", "2025-12-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ("B2", "ssbk", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ("B2", "ssfi", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),  # left the roster
    ]
    # the current roster is the last read's
    assert _rows(path, "SELECT politician_id, committee FROM politician_committees") == [
        ("A1", "ssfi")
    ]
