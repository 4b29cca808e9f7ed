"""The only module that imports alive_progress: a bar on a terminal, log lines elsewhere.

alive-progress replaces stdout and stderr while a bar is open, so warnings printed then appear
above the bar; when output is not a terminal it would print only a final receipt, so there we
print a plain progress line instead, at least every `interval` seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, TextIO

from alive_progress import alive_bar

from ._pipeline import RunStats

__all__ = ["BarProgress", "LogProgress", "NullProgress", "ProgressMode", "open_progress"]

ProgressMode = Literal["auto", "bar", "log", "none"]


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def describe(stats: RunStats, done_word: str = "enriched") -> str:
    """One line: position, rate, ETA and the outcome counts."""
    done = stats.done
    total = stats.selected
    elapsed = stats.elapsed
    rate = done / elapsed if elapsed > 0 else 0.0
    if total >= done and total > 0:
        percent = 100.0 * done / total
        eta = _duration((total - done) / rate) if rate > 0 else "?"
        position = f"{done}/{total} ({percent:.1f}%) {rate:.1f}/s ETA {eta}"
    else:  # an open-ended walk (an incremental sync): no total, no ETA
        position = f"{done} done, {rate:.1f}/s"
    line = (
        f"{position}; {done_word} {stats.enriched}, not found {stats.not_found}, "
        f"failed {stats.failed_total}"
    )
    if stats.retries:
        line += f", retries {stats.retries}"
    if stats.rate_limit_pauses:
        line += f", paused {stats.seconds_paused:.0f}s"
    return line


class NullProgress:
    """Shows nothing (tests, --progress none); warnings still reach stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def update(self, stats: RunStats) -> None:
        pass

    def tick(self, stats: RunStats) -> None:
        pass

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self._stream or sys.stderr, flush=True)


class LogProgress:
    """A plain line every `interval` seconds (and at the end), for logs and pipes."""

    def __init__(
        self,
        title: str,
        *,
        interval: float = 10.0,
        stream: TextIO | None = None,
        done_word: str = "enriched",
    ) -> None:
        self.title = title
        self.done_word = done_word
        self.interval = interval
        self._stream = stream
        self._last = time.monotonic()

    def _print(self, text: str) -> None:
        print(text, file=self._stream or sys.stderr, flush=True)

    def update(self, stats: RunStats) -> None:
        self.tick(stats)

    def tick(self, stats: RunStats) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print(f"{self.title}: {describe(stats, self.done_word)}")

    def warn(self, message: str) -> None:
        self._print(f"{self.title}: warning: {message}")


class BarProgress:
    """An alive-progress bar with position/total, rate, ETA and the outcome counts."""

    def __init__(self, bar: Any, done_word: str = "enriched") -> None:
        self._bar = bar
        self._shown = 0
        self._done_word = done_word

    def update(self, stats: RunStats) -> None:
        done = stats.done
        if done > self._shown:
            self._bar(done - self._shown)
            self._shown = done
        self._bar.text = (
            f"enriched {stats.enriched}, not found {stats.not_found}, failed {stats.failed_total}"
        )

    def tick(self, stats: RunStats) -> None:
        self.update(stats)

    def warn(self, message: str) -> None:
        print(f"warning: {message}")  # alive-progress prints it above the bar


@contextmanager
def open_progress(
    mode: ProgressMode,
    title: str,
    total: int | None,
    *,
    stream: TextIO | None = None,
    done_word: str = "enriched",
) -> Iterator[NullProgress | LogProgress | BarProgress]:
    """A progress display for `total` items (None: unknown); `auto` picks a bar on a terminal."""
    out = stream or sys.stderr
    if mode == "auto":
        mode = "bar" if out.isatty() else "log"
    if mode == "none":
        yield NullProgress(out)
    elif mode == "log":
        yield LogProgress(title, stream=out, done_word=done_word)
    else:
        # ctrl_c stays True (its default): False would swallow Ctrl-C.
        with alive_bar(
            total,
            title=title,
            file=out,
            length=24,
            stats="(ETA {eta}, {rate})",
            enrich_print=False,
            force_tty=True,
        ) as bar:
            yield BarProgress(bar, done_word)
