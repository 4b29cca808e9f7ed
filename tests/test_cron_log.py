"""A cron log a person can read by night (issue 31, item 9): with log progress every line a
run writes, to either stream, starts with the local date and time, and its first line names
the version, the command, the pid, the database and the start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from trio_enrich import __version__

from .helpers import sim_process

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ")


def _cron(log: Path, *args: str) -> int:
    """The command as cron runs it: no terminal, both streams appended to one file."""
    with log.open("a") as out:
        return subprocess.run(
            [sys.executable, "-m", "trio_enrich", *args], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=120, check=False,
        ).returncode  # fmt: skip


def test_every_line_of_a_nightly_run_starts_with_the_local_time(tmp_path: Path) -> None:
    robots = tmp_path / "robots.txt"
    robots.write_text("User-agent: *\nDisallow: /politicians\n")
    db, log = tmp_path / "ct.db", tmp_path / "cron.log"
    with sim_process("--trades", "60", "--seed", "8", "--latency-ms", "0",
                     "--robots-txt", str(robots)) as url:  # fmt: skip
        site = ["--db", str(db), "--base-url", url, "--details-delay-ms", "0"]
        assert _cron(log, "update", *site, "--progress", "log") == 1  # a stage not run
        assert _cron(log, "update", *site) == 1  # auto, off a terminal: the same
        assert _cron(log, "trades", "--db", str(tmp_path / "no" / "x.db"), "--base-url", url) == 2
    lines = [line for line in log.read_text().splitlines() if line]
    unstamped = [line for line in lines if not STAMP.match(line)]
    assert unstamped == []
    firsts = [line for line in lines if f"trio-enrich {__version__}: trio-enrich " in line]
    assert len(firsts) == 2  # (the run refused at its local checks says its error alone)
    first = firsts[0]
    assert "trio-enrich update --db" in first
    assert re.search(r"\(pid \d+\)", first)
    assert f"database {db}" in first
    assert re.search(r"started \d{4}-\d\d-\d\dT", first)
    said = "\n".join(lines)
    assert "update: sync (1 of 4)" in said  # a stage header
    assert "committees not run: robots.txt disallows" in said  # a warning, on stderr
    assert "update: finished with problems" in said  # the summary's last lines
    assert "trio-enrich: error: database " in lines[-1]  # an error, the run's last line


def test_a_json_summary_stays_one_object_while_the_log_is_stamped(tmp_path: Path) -> None:
    import json

    db = tmp_path / "ct.db"
    with sim_process("--trades", "30", "--seed", "9", "--latency-ms", "0") as url:
        done = subprocess.run(
            [sys.executable, "-m", "trio_enrich", "sync", "--db", str(db), "--base-url", url,
             "--progress", "log", "--json"],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "COLUMNS": "80"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["job"] == "sync"
    assert all(STAMP.match(line) for line in done.stderr.splitlines() if line)
