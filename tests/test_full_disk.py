"""A run that a full disk stops after it began writing is not "usage error, nothing changed":
it exits 3 like a run that stopped and can be run again, says so, and keeps only whole rows
(issue 31, item 11). The disk is a small tmpfs in a mount namespace of the test's own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trio_enrich.sim import make_dataset

from .helpers import (
    assert_enriched_rows_carry_their_data,
    database_with_listing,
    require_mount_namespaces,
    sim_process,
)

SEED, TRADES = 44, 400


@pytest.mark.parametrize("archive", [False, True], ids=["no-archive", "archive"])
def test_a_full_disk_mid_run_exits_3_says_run_again_and_keeps_whole_rows(
    tmp_path: Path, archive: bool
) -> None:
    require_mount_namespaces()
    db = database_with_listing(tmp_path / "ct.db", make_dataset(SEED, TRADES))
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    # Room for the database and a little more: the run's first batches fit, later ones not
    # (with the archive, room for its new file too, and for the run's row in the ledger).
    size_kb = db.stat().st_size // 1024 + (128 if archive else 96)
    script = (
        'mount -t tmpfs -o size="$1"k tmpfs "$2" && cp "$3" "$2/" && shift 3 && '
        '"$@"; code=$?; cp "$DISK"/ct.db* "$OUT"/ 2>/dev/null; exit $code'
    )
    with sim_process("--trades", str(TRADES), "--seed", str(SEED), "--latency-ms", "0") as url:
        run = [sys.executable, "-m", "trio_enrich", "trades", "--db", str(disk / "ct.db"),
               "--base-url", url, "--progress", "none", "--details-delay-ms", "0",
               "--batch-size", str(TRADES), *([] if archive else ["--no-archive"])]  # fmt: skip
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script, "sh", str(size_kb), str(disk), str(db), *run],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "DISK": str(disk), "OUT": str(out)},
        )  # fmt: skip
    said = " ".join(done.stderr.split())
    assert done.returncode == 3, done.stdout + done.stderr
    assert "full" in said
    assert "the run stopped there" in said
    assert "run it again" in said
    assert "Traceback" not in said
    kept = out / "ct.db"
    assert kept.exists()
    assert_enriched_rows_carry_their_data(kept)
    with sqlite3.connect(kept) as connection:
        enriched = connection.execute("SELECT COUNT(enriched_at) FROM trades").fetchone()[0]
    connection.close()
    if not archive:  # (the archive, written first, fills the disk before any row)
        assert 0 < enriched < TRADES  # it had committed rows when the disk filled
