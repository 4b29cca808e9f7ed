"""The progress bar as a person sees it: a real pseudo-terminal of 80 columns, rendered by a
terminal emulator (pyte), while the CLI runs against the simulator (issue 11, defect 3)."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest
import trio
import trio.testing

from trio_enrich import FailureKind, FetchError
from trio_enrich.cli import main
from trio_enrich.commands.progress import BarProgress
from trio_enrich.core.pipeline import run_pipeline
from trio_enrich.core.policy import PipelineConfig, RetryPolicy
from trio_enrich.core.stats import RunStats
from trio_enrich.site.rules import SITE_RULES

from .helpers import sim_process

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="pty and TIOCSWINSZ")

COLUMNS = 80


class Terminal:
    """A child process on a pty of 80 x 24, its output rendered as a screen."""

    def __init__(self, argv: list[str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
        self.screen = pyte.Screen(COLUMNS, 24)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        env = {**os.environ, "TERM": "xterm", "COLUMNS": str(COLUMNS)}
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # the child closed its end
                return
            if not data:
                return
            with self._lock:
                self._stream.feed(data)

    def lines(self) -> list[str]:
        with self._lock:
            return [line.rstrip() for line in self.screen.display]

    def wait_for(self, seen: Callable[[list[str]], bool], timeout: float = 20.0) -> list[str]:
        """The screen, once `seen` holds for it (polled: a readiness check, not a sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if seen(lines):
                return lines
            assert time.monotonic() < deadline, "\n".join(lines)
            time.sleep(0.05)

    def close(self) -> int:
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=5)
        os.close(self._master)
        return code


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "trio_enrich", *args]


def test_the_trades_bar_at_80_columns_shows_counts_and_a_pause(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    with sim_process("--trades", "600", "--latency-ms", "20", "--retry-after", "4") as url:
        site = ["--db", str(db), "--base-url", url]
        assert main(["sync", "--full", *site, "--progress", "none"]) == 0
        terminal = Terminal(cli("trades", *site, "--concurrency", "2",
                                "--details-delay-ms", "100", "--batch-size", "200"))  # fmt: skip
        try:
            terminal.wait_for(lambda lines: any("enriched " in line for line in lines))
            with urllib.request.urlopen(f"{url}/_sim/inject?fault=429&count=1", timeout=5):
                pass
            screen = terminal.wait_for(lambda lines: any("left: HTTP" in line for line in lines))
        finally:
            terminal.process.send_signal(signal.SIGINT)
            code = terminal.close()
    bar = next(line for line in screen if line.startswith("trades |"))
    text = next(line for line in screen if "left: HTTP" in line)
    assert "/200 [" in bar  # position and total
    assert "ETA" in bar
    # The counts and the pause share the line under the bar, whole, within 80 columns.
    assert text.startswith("enriched ")
    assert "failed 0" in text
    assert "retries 1" in text
    assert "pause " in text
    assert "s left: HTTP" in text  # how long the pause under way still lasts, and why
    assert len(text) <= 80
    assert not text.rstrip(".").endswith(" Re")  # cut at a word, never mid-word
    assert code == 130


def test_the_sync_bar_counts_pages_with_a_total_and_ends_at_the_summary_count(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ct.db"
    with sim_process("--trades", "600", "--latency-ms", "20") as url:
        terminal = Terminal(cli("sync", "--full", "--db", str(db), "--base-url", url,
                                "--concurrency", "2", "--details-delay-ms", "150"))  # fmt: skip
        during = terminal.wait_for(
            lambda lines: (
                any(line.startswith("pages ") for line in lines)
                and any("/50 [" in line for line in lines)
            )
        )
        code = terminal.close()
    end = terminal.lines()
    assert code == 0
    assert not any("enriched" in line for line in during + end)
    bar = next(line for line in during if "/50 [" in line)
    assert bar.startswith("sync |")
    assert "ETA" in bar
    # Page 1 alone (it tells the count) shows no bar of its own, which would stay above the
    # real one (issue 20, item 16); then one bar of all 50 ends at the summary's count.
    assert not any("1/1 [" in line for line in during + end)
    assert any("50/50 [100%]" in line for line in end)
    assert any("selected 50: fetched 50" in line for line in end)
    assert all(len(line) <= COLUMNS for line in end)


# --- what the line under the bar says while nothing finishes (virtual clock) -------------------


class FakeBar:
    def __init__(self) -> None:
        self.count = 0
        self.text = ""

    def __call__(self, advance: int) -> None:
        self.count += advance


async def test_the_bar_says_retrying_when_nothing_finishes_for_a_few_seconds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bar = FakeBar()
    progress = BarProgress(bar)
    texts: list[tuple[float, str]] = []

    class Watch:
        def update(self, stats: RunStats) -> None:
            progress.update(stats)
            texts.append((trio.current_time(), bar.text))

        def tick(self, stats: RunStats) -> None:
            self.update(stats)

        def warn(self, message: str) -> None:
            pass

    async def fetch(item: int) -> str:
        await trio.sleep(0.1)
        if item == 0 or trio.current_time() > 30:
            return "page"
        raise FetchError(FailureKind.SERVER_ERROR, "HTTP 503", path=f"/trades/{item}")

    config = PipelineConfig(
        concurrency=1, delay=0, retry=RetryPolicy(max_retries=100, base=2, cap=2), rules=SITE_RULES
    )

    async def commit(outcomes: object) -> None:
        pass

    stats = await run_pipeline(range(2), fetch, commit, config, progress=Watch())
    assert stats.done == 2
    quiet = [text for moment, text in texts if 5 < moment < 29]
    assert quiet
    assert all(text.startswith("enriched 1, failed 0, retries ") for text in quiet)
    assert all(text.endswith("| retrying: HTTP 503") for text in quiet)
    early = [text for moment, text in texts if moment < 1.5]
    assert not any("retrying" in text for text in early)  # retries are normal at first
    assert "retrying" not in texts[-1][1]  # once items finish again, it goes away
