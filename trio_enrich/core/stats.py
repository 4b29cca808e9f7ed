"""A run's statistics, and where the collector reports them (the progress protocol).

The collector keeps the counters in a `Tally` (the gate its requests, pauses and rate); the
progress adapter, the summaries and the JSON read frozen `RunStats` snapshots of it. Time
comes only from ``trio.current_time()``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Protocol, TextIO

import trio

__all__ = ["FinishReason", "NoProgress", "ProgressSink", "RunStats", "Tally"]


class FinishReason(enum.StrEnum):
    COMPLETED = "completed"
    BREAKER = "breaker"
    NOT_FOUND_GUARD = "not_found_guard"
    INTERRUPTED = "interrupted"
    UNREACHABLE = "unreachable"  # no request of the run ever reached the site
    REFUSED = "refused"  # the first answers refused the run (`stopped_by` says how)


@dataclass(frozen=True, slots=True)
class RunStats:
    """The statistics of one run at one moment: a snapshot (`Tally.snapshot`), never changed.

    The counters are neutral: `done` items gave their data, `skipped` ones were answered with
    the rules' streak kind and recorded as such (for capitoltrades.com: "not found"), `failed`
    ones count by kind. A job gives them its own words (``_jobs.Words``).
    """

    selected: int
    done: int = 0
    skipped: int = 0
    failed: Mapping[str, int] = field(default_factory=dict)
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
    stopped_by: str = ""  # the failure kind of the answers that refused the run (REFUSED)

    #: Fields that say where a run stands rather than what it counted: when two runs are
    #: combined the later run's stand. Every other field is a counter, and counters add up.
    STATE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"rate", "settled_rate", "consecutive_failures", "breaker_open", "finish_reason",
         "last_failure", "started", "finished", "paused_until", "paused_from", "pause_reason",
         "last_retry", "last_done_at", "stopped_by"}
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

    def followed_by(self, rest: RunStats) -> RunStats:
        """The statistics of this run and `rest` one after the other.

        Every counter adds up (every field not in `STATE_FIELDS`, so a counter added later is
        not forgotten here); the state (breaker, finish reason, last failure) is the later
        run's, or the earlier one's where the later run has none; the time spans both.
        """
        if self.started == 0.0 and not self.handled and not self.requests:
            return rest  # nothing ran before
        failed = dict(rest.failed)
        for kind, count in self.failed.items():
            failed[kind] = failed.get(kind, 0) + count
        changes: dict[str, object] = {
            counter.name: getattr(rest, counter.name) + getattr(self, counter.name)
            for counter in fields(RunStats)
            if counter.name not in RunStats.STATE_FIELDS and counter.name != "failed"
        }
        return replace(
            rest,
            failed=failed,
            breaker_open=rest.breaker_open or self.breaker_open,
            last_failure=rest.last_failure or self.last_failure,
            stopped_by=rest.stopped_by or self.stopped_by,
            finish_reason=(
                self.finish_reason
                if rest.finish_reason is FinishReason.COMPLETED
                else rest.finish_reason
            ),
            started=self.started,
            **changes,  # type: ignore[arg-type]
        )

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
            "stopped_by": self.stopped_by or None,
            "last_failure": self.last_failure or None,
            "elapsed_seconds": round(elapsed, 3),
            "items_per_second": round(self.handled / elapsed, 3) if elapsed > 0 else 0.0,
        }


class Tally:
    """The counters of a run while it runs, kept by the collector (and the gate: requests,
    pauses, the rate). Each change is an event of the run, named as such; everyone else reads
    a `snapshot()`, so no reader can change a count and no count changes under a reader."""

    __slots__ = (
        "_breaker_open", "_consecutive_failures", "_done", "_failed", "_finish_reason",
        "_finished", "_last_done_at", "_last_failure", "_last_retry", "_pause_reason",
        "_paused_before", "_paused_from", "_paused_until", "_rate", "_rate_limit_pauses",
        "_rate_limited", "_requests", "_retries", "_selected", "_settled_rate", "_skipped",
        "_started", "_stopped_by",
    )  # fmt: skip

    def __init__(self, selected: int = 0) -> None:
        self._selected = selected
        self._done = self._skipped = self._retries = self._requests = 0
        self._rate_limit_pauses = self._rate_limited = self._consecutive_failures = 0
        self._failed: dict[str, int] = {}
        self._paused_before = self._started = self._finished = 0.0
        self._paused_until = self._paused_from = self._last_done_at = 0.0
        self._rate: float | None = None
        self._settled_rate: float | None = None
        self._breaker_open = False
        self._finish_reason = FinishReason.COMPLETED
        self._last_failure = self._pause_reason = self._last_retry = self._stopped_by = ""

    @property
    def finish_reason(self) -> FinishReason:
        return self._finish_reason

    @property
    def breaker_open(self) -> bool:
        return self._breaker_open

    def begin(self, now: float) -> None:
        self._started = now

    def end(self, now: float) -> None:
        self._finished = now
        self._end_pause(now)

    def finish_as(self, reason: FinishReason, last_failure: str = "", by: str = "") -> None:
        """The run ends for `reason`, unless an earlier reason was given (the first one
        says why); `last_failure` and the failure kind `by` go with it."""
        if self._finish_reason is FinishReason.COMPLETED:
            self._finish_reason = reason
            self._last_failure = last_failure or self._last_failure
            self._stopped_by = by

    def sent(self) -> None:
        self._requests += 1

    def limited(self) -> None:
        """An answer said "slow down" (counted whether its request is retried or not)."""
        self._rate_limited += 1

    def retrying(self, reason: str) -> None:
        self._retries += 1
        self._last_retry = reason[:60]  # a line of progress: without the page

    def received(self, now: float) -> None:
        """The collector received an outcome: the run moves, so no retry is news any more."""
        self._last_done_at = now
        self._last_retry = ""

    def succeeded(self) -> None:
        self._done += 1

    def skipped(self, count: int = 1) -> None:
        """`count` items answered with the streak kind (a negative count takes back a
        streak that will not be recorded)."""
        self._skipped += count

    def failed(self, kind: str, message: str) -> None:
        self._failed[kind] = self._failed.get(kind, 0) + 1
        self._last_failure = message

    def breaker(self, consecutive: int, tripped: bool) -> None:
        self._consecutive_failures = consecutive
        self._breaker_open = self._breaker_open or tripped

    def paused(self, now: float, until: float, reason: str) -> None:
        """Every worker waits until `until`: a new pause, or (during one) a longer one."""
        if now >= self._paused_until:
            self._rate_limit_pauses += 1
            self._end_pause(now)
        self._paused_until = until
        self._pause_reason = reason

    def rate(self, sending: float | None, settled: float | None) -> None:
        self._rate = sending
        self._settled_rate = settled

    def _end_pause(self, now: float) -> None:
        """Count what passed of the latest pause as over (a new one begins, or the run ends)."""
        self._paused_before += max(0.0, min(self._paused_until, now) - self._paused_from)
        self._paused_from = self._paused_until = now

    def snapshot(self) -> RunStats:
        return RunStats(
            selected=self._selected, done=self._done, skipped=self._skipped,
            failed=dict(self._failed), retries=self._retries, requests=self._requests,
            rate_limit_pauses=self._rate_limit_pauses, paused_before=self._paused_before,
            rate_limited=self._rate_limited, rate=self._rate, settled_rate=self._settled_rate,
            consecutive_failures=self._consecutive_failures, breaker_open=self._breaker_open,
            finish_reason=self._finish_reason, last_failure=self._last_failure,
            started=self._started, finished=self._finished, paused_until=self._paused_until,
            paused_from=self._paused_from, pause_reason=self._pause_reason,
            last_retry=self._last_retry, last_done_at=self._last_done_at,
            stopped_by=self._stopped_by,
        )  # fmt: skip


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
