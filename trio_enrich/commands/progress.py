"""The only module that imports alive_progress: a bar on a terminal, log lines elsewhere.

alive-progress replaces stdout and stderr while a bar is open, so warnings printed then appear
above the bar; when output is not a terminal it would print only a final receipt, so there we
print a plain progress line instead, at least every `interval` seconds.

The bar has two lines, so that it fits 80 columns without cutting what matters: the bar with
position, percentage, time, rate and ETA; under it the counts (done, not found, failed,
retries) and, while it lasts, why nothing moves (a pause for a Retry-After, or retries).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from .._defaults import local_time
from .._model import ProgressMode
from ..core.stats import NoProgress, RunStats

__all__ = [
    "BarProgress",
    "LogProgress",
    "ProgressMode",
    "StampedLines",
    "counts",
    "describe",
    "open_progress",
]


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def counts(stats: RunStats, noun: str = "enriched") -> str:
    """The outcome counts, compact: `enriched 640, not found 3, failed 5, retries 12`.

    Done and failed always show; not found and retries only once there are some.
    """
    text = f"{noun} {stats.done}"
    if stats.skipped:
        text += f", not found {stats.skipped}"
    text += f", failed {stats.failed_total}"
    if stats.retries:
        text += f", retries {stats.retries}"
    if stats.rate is not None:  # --max-rps auto: the rate it has found so far
        text += f", rate {stats.rate:.1f}/s"
    if stats.rate_limited:
        text += f", 429 {stats.rate_limited}"
    return text


def describe(stats: RunStats, noun: str = "enriched") -> str:
    """One line: position, rate, ETA, the outcome counts and what the run waits for."""
    done = stats.handled
    total = stats.selected
    elapsed = stats.elapsed
    rate = done / elapsed if elapsed > 0 else 0.0
    if total >= done and total > 0:
        percent = 100.0 * done / total
        eta = _duration((total - done) / rate) if rate > 0 else "?"
        position = f"{done}/{total} ({percent:.1f}%) {rate:.1f}/s ETA {eta}"
    else:  # an open-ended walk (an incremental sync): no total, no ETA
        position = f"{done} done, {rate:.1f}/s"
    line = f"{position}; {counts(stats, noun)}"
    if stats.rate_limit_pauses:
        line += f", waited {stats.seconds_paused:.0f}s"  # in all; the pause under way below
    activity = stats.activity()
    return f"{line}; {activity}" if activity else line


class StampedLines:
    """A text stream that starts every line with the local time (a cron log read by night):
    what a run prints goes through it, stage headers, summaries and warnings alike. Empty
    lines stay empty."""

    stamps_lines = True

    def __init__(self, stream: TextIO, before_first: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self._at_line_start = True
        self.before_first = before_first  # called once, before the first text is written

    def write(self, text: str) -> int:
        if self.before_first is not None and text:
            before, self.before_first = self.before_first, None
            before()
        out: list[str] = []
        for line in text.splitlines(keepends=True):
            if self._at_line_start and line not in ("\n", "\r\n"):
                out.append(local_time() + " ")
            out.append(line)
            self._at_line_start = line.endswith("\n")
        self._stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)  # encoding, errors, buffer, ...


class LogProgress:
    """A plain line every `interval` seconds (and at the end), for logs and pipes."""

    def __init__(
        self,
        title: str,
        *,
        interval: float = 10.0,
        stream: TextIO | None = None,
        noun: str = "enriched",
    ) -> None:
        self.title = title
        self.noun = noun
        self.interval = interval
        self._stream = stream
        self._last = time.monotonic()

    def _print(self, text: str) -> None:
        # With the local time: nights in one cron log can be told apart (a stream that
        # stamps every line does it already).
        stream = self._stream or sys.stderr
        stamp = "" if getattr(stream, "stamps_lines", False) else f"{local_time()} "
        print(f"{stamp}{text}", file=stream, flush=True)

    def update(self, stats: RunStats) -> None:
        self.tick(stats)

    def tick(self, stats: RunStats) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print(f"{self.title}: {describe(stats, self.noun)}")

    def warn(self, message: str) -> None:
        self._print(f"{self.title}: warning: {message}")


def fit(text: str, width: int) -> str:
    """`text` in `width` columns, cut at a word with "..." rather than mid-word."""
    if len(text) <= width:
        return text
    cut = text[: width - 3]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,:;|") + "..."


class BarProgress:
    """An alive-progress bar; the counts and the run's activity on the line below it."""

    WIDTH = 80  # the second line never needs more than this

    def __init__(self, bar: Any, noun: str = "enriched") -> None:
        self._bar = bar
        self._shown = 0
        self._noun = noun

    def update(self, stats: RunStats) -> None:
        done = stats.handled
        if done > self._shown:
            self._bar(done - self._shown)
            self._shown = done
        text = counts(stats, self._noun)
        activity = stats.activity()
        if activity:
            # The counts first; what the run waits for gets the rest of the line, cut from
            # its end (its first words, "pause 4s left" or "retrying", say the most).
            text = f"{text} | {activity}"
        self._bar.text = fit(text, self.WIDTH - 1)

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
    noun: str = "enriched",
) -> Iterator[NoProgress | LogProgress | BarProgress]:
    """A progress display for `total` items (None: unknown); `auto` picks a bar on a terminal.

    `noun` names what is counted as done: "enriched" items, or "pages" for a sync.
    """
    out = stream or sys.stderr
    if mode == "auto":
        mode = "bar" if out.isatty() else "log"
    if mode == "none":
        yield NoProgress(out or sys.stderr)
    elif mode == "log":
        yield LogProgress(title, stream=out, noun=noun)
    else:
        # Imported here: a run without a bar (a log, cron) does not pay for alive-progress.
        from alive_progress import alive_bar

        # ctrl_c stays True (its default): False would swallow Ctrl-C. No spinner, a short
        # bar and a compact monitor keep the first line within 80 columns; the text (counts,
        # pauses) gets a line of its own.
        with alive_bar(
            total,
            title=title,
            file=out,
            length=20,
            spinner=None,
            dual_line=True,
            monitor="{count}/{total} [{percent:.0%}]" if total is not None else "{count}",
            elapsed="{elapsed}",
            stats="({rate}, ETA {eta})" if total is not None else "({rate})",
            stats_end="({rate})",
            enrich_print=False,
            force_tty=True,
        ) as bar:
            yield BarProgress(bar, noun)
