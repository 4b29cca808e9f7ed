"""The commands that only read work on read-only media and are never blocked by a run
(issue 31, items 5 and 6): the database and its archive on a read-only bind mount (in a mount
namespace of the test's own), and a `reparse --dry-run` while another process holds the run
lock and a write transaction."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trio_enrich.storage.lock import RunLock

from .helpers import require_mount_namespaces, sim_process

SEED, TRADES = 41, 60


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trio_enrich", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site() -> object:
    with sim_process("--trades", str(TRADES), "--seed", str(SEED), "--latency-ms", "0") as url:
        yield url


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory, site: str) -> Path:
    """A complete copy and its page archive, closed cleanly (no -wal or -shm beside them)."""
    db = tmp_path_factory.mktemp("copy") / "ct.db"
    done = _run("update", "--db", str(db), "--base-url", site, "--progress", "none",
                "--details-delay-ms", "0")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in db.parent.iterdir()) == ["ct.db", "ct.pages.db"]
    return db


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _on_read_only_mount(source: Path, mount: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command with `source` mounted read-only at `mount`, in a user and mount namespace
    of its own (nothing outside it sees the mount; root there may write nothing below it)."""
    script = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(source), str(mount),
         sys.executable, "-m", "trio_enrich", *args],
        capture_output=True, text=True, timeout=90, check=False, cwd=mount.parent,
    )  # fmt: skip


READ_ONLY_COMMANDS = [
    ("status",),
    ("status", "--json"),
    ("page", "{trade}"),
    ("page", "{trade}", "--rows"),
    ("reparse", "--dry-run"),
    ("reparse", "trades", "--dry-run", "--json"),
    ("trades", "--dry-run", "--base-url", "{site}"),
    ("issuers", "--dry-run", "--base-url", "{site}"),
    ("committees", "--dry-run", "--base-url", "{site}"),
    ("update", "--dry-run", "--base-url", "{site}"),
    ("check", "--base-url", "{site}"),
    ("list", "trades", "--output", "json"),
    ("list", "politicians", "--committee", "ssfi"),
    ("list", "issuers", "--output", "csv"),
    ("export", "exported"),  # (into a folder beside the mount, which may be written)
]


@pytest.mark.parametrize("args", READ_ONLY_COMMANDS, ids=" ".join)
def test_a_read_only_command_works_on_a_read_only_mount(
    copy: Path, site: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    require_mount_namespaces()
    mount = tmp_path / "ro"
    mount.mkdir()
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as connection:
        (trade,) = connection.execute("SELECT MIN(tx_id) FROM trades").fetchone()
    connection.close()
    before = _digests(copy.parent)
    filled = [arg.format(trade=trade, site=site) for arg in args]
    done = _on_read_only_mount(copy.parent, mount, *filled, "--db", str(mount / "ct.db"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "read-only" not in done.stderr
    assert "unable to open" not in done.stdout + done.stderr
    assert _digests(copy.parent) == before


def test_the_probe_of_a_read_only_mount_refuses_writes(copy: Path, tmp_path: Path) -> None:
    """The mount the test above uses refuses writes indeed (else it would prove nothing)."""
    require_mount_namespaces()
    mount = tmp_path / "ro"
    mount.mkdir()
    script = ('mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && '
              'touch "$2/new" && exit 0 || exit 9')  # fmt: skip
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(copy.parent),
                           str(mount)], capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 9, done.stderr
    assert "Read-only file system" in done.stderr


def test_reparse_dry_run_is_not_blocked_by_a_running_update(copy: Path, tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    shutil.copy(copy, db)
    shutil.copy(copy.with_name("ct.pages.db"), tmp_path / "ct.pages.db")
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    with RunLock(db) as lock:  # what a running update holds, and a write under way
        assert lock.try_acquire()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE trades SET comment = 'being written' WHERE tx_id > 0")
        done = _run("reparse", "--dry-run", "--db", str(db), "--json", timeout=30)
        writer.execute("ROLLBACK")
    writer.close()
    assert done.returncode == 0, done.stderr
    assert '"dry_run": true' in done.stdout
    assert "another run" not in done.stderr
    blocked = _run("reparse", "--db", str(db), timeout=30)  # (the lock is free again)
    assert blocked.returncode == 0, blocked.stderr
