"""A reader that closes the output (`trio-enrich status | head -1`): no traceback, the status
a shell gives a program stopped by a closed pipe (141), the database untouched (issue 31,
item 3)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from trio_enrich.sim import make_dataset

from .helpers import assert_enriched_rows_carry_their_data, database_with_listing, sim_process

EXIT_PIPE_CLOSED = 141


def run_with_stdout_closed(*args: str) -> tuple[int, str]:
    """Run the command with a pipe for its output whose reading end is already closed (what
    `| head -c 10` leaves once head has its bytes): its exit status and standard error."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trio_enrich", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    error = process.stderr.read()
    return process.wait(timeout=60), error


def digest(path: Path) -> str:
    """What the database holds (a checkpoint of its write-ahead log may move bytes between
    its files without changing a row)."""
    import sqlite3

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def enriched_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("pipes") / "ct.db"
    done = subprocess.run(
        [sys.executable, "-m", "trio_enrich", "demo", "--db", str(db), "--trades", "120",
         "--progress", "none"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return db


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("trades", "--help"),
        ("--version",),
        ("status", "--db", "{db}"),
        ("status", "--db", "{db}", "--json"),
        ("page", "{trade}", "--db", "{db}", "--rows"),
        ("page", "{trade}", "--db", "{db}", "--json"),
        ("reparse", "trades", "--db", "{db}", "--dry-run", "--json"),
        ("update", "--db", "{db}", "--dry-run", "--json"),
    ],
)
def test_a_closed_pipe_ends_a_command_quietly_with_141_and_touches_nothing(
    enriched_copy: Path, args: tuple[str, ...]
) -> None:
    import sqlite3

    with sqlite3.connect(enriched_copy) as connection:
        (trade,) = connection.execute("SELECT MIN(tx_id) FROM trades").fetchone()
    before = digest(enriched_copy)
    filled = [arg.format(db=enriched_copy, trade=trade) for arg in args]
    code, error = run_with_stdout_closed(*filled)
    assert "Traceback" not in error
    assert "BrokenPipe" not in error
    assert code == EXIT_PIPE_CLOSED, error
    assert digest(enriched_copy) == before


def test_a_run_whose_reader_goes_away_stops_quietly_and_keeps_only_whole_rows(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=77, trades=80)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    with sim_process("--trades", "80", "--seed", "77", "--latency-ms", "0") as url:
        site = ["--db", str(db), "--base-url", url, "--details-delay-ms", "0"]
        code, error = run_with_stdout_closed("trades", *site, "--progress", "log")
        assert "Traceback" not in error
        assert code == EXIT_PIPE_CLOSED, error
        assert_enriched_rows_carry_their_data(db)
        again = subprocess.run(
            [sys.executable, "-m", "trio_enrich", "trades", *site, "--progress", "none"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr  # the lock was let go; the rest is done
