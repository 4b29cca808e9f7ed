"""A run's statistics, and where the collector reports them (the progress protocol).

The collector keeps the counters (the gate its pauses); the progress adapter, the summaries
and the JSON read them. Time comes only from ``trio.current_time()``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Protocol, TextIO

import trio

__all__ = ["FinishReason", "NoProgress", "ProgressSink", "RunStats"]


class FinishReason(enum.StrEnum):
    COMPLETED = "completed"
    BREAKER = "breaker"
    NOT_FOUND_GUARD = "not_found_guard"
    INTERRUPTED = "interrupted"
    UNREACHABLE = "unreachable"  # no request of the run ever reached the site


@dataclass(slots=True)
class RunStats:
    """Counters of one run, kept by the collector (and the gate for pauses).

    The counters are neutral: `done` items gave their data, `skipped` ones were answered with
    the rules' streak kind and recorded as such (for capitoltrades.com: "not found"), `failed`
    ones count by kind. A job gives them its own words (``_jobs.Words``).
    """

    selected: int
    done: int = 0
    skipped: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    requests: int = 0
    rate_limit_pauses: int = 0
    paused_before: float = 0.0  # seconds of the pauses that ended (see seconds_paused)
    rate_limited: int = 0  # answers that said "slow down" (429, 403), retried ones included
    rate: float | None = None  # the adaptive rate now (requests per second)
    settled_rate: float | None = None  # the rate the adaptive law settled at, once it has
    consecutive_failures: int = 0
    breaker_open: bool = False
    finish_reason: FinishReason = FinishReason.COMPLETED
    last_failure: str = ""
    started: float = 0.0
    finished: float = 0.0
    paused_until: float = 0.0  # every worker waits until then (a Retry-After)
    paused_from: float = 0.0  # when the latest pause began
    pause_reason: str = ""
    last_retry: str = ""  # why the latest retry since the last finished item was needed
    last_done_at: float = 0.0  # when the collector last received an outcome

    #: Fields that say where a run stands rather than what it counted: when two runs are
    #: combined the later run's stand. Every other field is a counter, and counters add up.
    STATE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"rate", "settled_rate", "consecutive_failures", "breaker_open", "finish_reason",
         "last_failure", "started", "finished", "paused_until", "paused_from", "pause_reason",
         "last_retry", "last_done_at"}
    )  # fmt: skip

    def activity(self, quiet_after: float = 3.0) -> str:
        """What the run is waiting for, in a few words, or "" while items keep finishing.

        A pause shows while it lasts; retries show once nothing has finished for
        `quiet_after` seconds (before that they are the normal background of a run).
        """
        if self.finished:
            return ""
        now = trio.current_time()
        if now < self.paused_until:
            return f"pause {math.ceil(self.paused_until - now)}s left: {self.pause_reason}"
        if self.last_retry and now - max(self.last_done_at, self.started) >= quiet_after:
            return f"retrying: {self.last_retry}"
        return ""

    @property
    def seconds_paused(self) -> float:
        """Seconds every worker has spent paused so far: what passed of each pause, not what
        was asked for (a run that ends during a 120 s pause was not paused 120 s)."""
        end = min(self.paused_until, self.finished or trio.current_time())
        return self.paused_before + max(0.0, end - self.paused_from)

    def end_pause(self, now: float) -> None:
        """Count what passed of the latest pause as over (a new one begins, or the run ends)."""
        self.paused_before += max(0.0, min(self.paused_until, now) - self.paused_from)
        self.paused_from = self.paused_until = now

    @property
    def handled(self) -> int:
        """Items with an outcome: done, skipped or failed."""
        return self.done + self.skipped + self.failed_total

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def elapsed(self) -> float:
        end = self.finished or trio.current_time()
        return max(0.0, end - self.started)

    def followed_by(self, rest: RunStats, *, copy: bool = False) -> RunStats:
        """The statistics of this run and `rest` one after the other (`rest` changed in place
        unless `copy`).

        Every counter adds up (every field not in `STATE_FIELDS`, so a counter added later is
        not forgotten here); the state (breaker, finish reason, last failure) is the later
        run's, or the earlier one's where the later run has none; the time spans both.
        """
        if self.started == 0.0 and not self.handled and not self.requests:
            return replace(rest) if copy else rest  # nothing ran before
        out = replace(rest, failed=dict(rest.failed)) if copy else rest
        for counter in fields(RunStats):
            if counter.name == "failed":
                for kind, count in self.failed.items():
                    out.failed[kind] = out.failed.get(kind, 0) + count
            elif counter.name not in RunStats.STATE_FIELDS:
                setattr(out, counter.name, getattr(out, counter.name) + getattr(self, counter.name))
        out.breaker_open = out.breaker_open or self.breaker_open
        out.last_failure = out.last_failure or self.last_failure
        if out.finish_reason is FinishReason.COMPLETED:
            out.finish_reason = self.finish_reason
        out.started = self.started
        return out

    def as_dict(self, done: str = "done", skipped: str = "skipped") -> dict[str, object]:
        """The counters for JSON; `done` and `skipped` name those two keys in a job's words."""
        elapsed = self.elapsed
        return {
            "selected": self.selected,
            done: self.done,
            skipped: self.skipped,
            "failed": self.failed_total,
            "failed_by_kind": dict(sorted(self.failed.items())),
            "retries": self.retries,
            "requests": self.requests,
            "rate_limit_pauses": self.rate_limit_pauses,
            "rate_limited_answers": self.rate_limited,
            "rate_per_second": None if self.rate is None else round(self.rate, 3),
            "settled_rate": None if self.settled_rate is None else round(self.settled_rate, 3),
            "seconds_paused": round(self.seconds_paused, 3),
            "breaker": "open" if self.breaker_open else "closed",
            "finish_reason": self.finish_reason.value,
            "last_failure": self.last_failure or None,
            "elapsed_seconds": round(elapsed, 3),
            "items_per_second": round(self.handled / elapsed, 3) if elapsed > 0 else 0.0,
        }


class ProgressSink(Protocol):
    """Where the collector reports; implementations live in the progress adapter."""

    def update(self, stats: RunStats) -> None: ...

    def tick(self, stats: RunStats) -> None: ...

    def warn(self, message: str) -> None: ...


class NoProgress:
    """A progress sink that shows nothing (a library run, tests, `--progress none`);
    warnings go to `warnings` when one is given (the command line: stderr)."""

    def __init__(self, warnings: TextIO | None = None) -> None:
        self._warnings = warnings

    def update(self, stats: RunStats) -> None:
        pass

    def tick(self, stats: RunStats) -> None:
        pass

    def warn(self, message: str) -> None:
        if self._warnings is not None:
            print(f"warning: {message}", file=self._warnings, flush=True)
