"""The generic trio core: run ids through N workers to one collector.

::

    ids ─► id channel (bounded) ─► N workers ─► outcome channel (unbuffered) ─► collector
                                   pace, fetch,                                 commit batches,
                                   retry/backoff                                progress, stats,
                                                                                breaker ─► cancel

One nursery holds a producer, N workers and a collector; the number of tasks is O(N) whatever the
number of ids. Workers own clones of the channels, so closing them is how a normal run ends. The
collector is the only writer of the store, the progress display and the breaker. On a trip (or a
requested stop) it cancels the workers' scope, commits what it has received, and returns.

Nothing here knows about HTTP, pages or SQLite: a run is given an async `fetch(id)` that returns a
result or raises :class:`FetchError`, and an async `commit(outcomes)`. Time comes only from
``trio.current_time()``, so every timing rule can be tested on trio's virtual clock.
"""

from __future__ import annotations

import enum
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sized
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar, Generic, Protocol, TypeVar

import trio

from . import _defaults as defaults
from ._errors import FetchError
from ._model import FailureKind
from ._pacing import AdaptiveRate, PauseWatch, Signal

__all__ = [
    "Breaker",
    "FailureRules",
    "FinishReason",
    "Gate",
    "NoProgress",
    "Outcome",
    "PipelineConfig",
    "ProgressSink",
    "RetryPolicy",
    "RunStats",
    "Ticket",
    "run_pipeline",
]

K = TypeVar("K")
R = TypeVar("R")
T = TypeVar("T")


def _never(kind: FailureKind) -> bool:
    return False


def _always(kind: FailureKind) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class FailureRules:
    """What the core does with a failure kind. The job states them; the core only applies them
    (``_site.SITE_RULES`` for capitoltrades.com). The defaults retry nothing and let every
    failure count toward the breaker."""

    retryable: Callable[[FailureKind], bool] = _never  # worth another try in this run
    trips_breaker: Callable[[FailureKind], bool] = _always  # counts toward the breaker
    # Answers held back while they come in a row; a streak of `not_found_guard` stops the run
    # and none of it is recorded (a whole site answering "not found" moved, items did not).
    streak: Callable[[FailureKind], bool] = _never
    streak_name: str = "not found"
    # Nothing answered: while no request of the run ever got an answer, the run retries for
    # `unreachable_grace` seconds and then stops, with no outcome for the item.
    unreachable: Callable[[FailureKind], bool] = _never
    # For an adaptive rate: the site's "slow down" (its rate limit), and answers that mean
    # load when they come in a burst (server errors, timeouts).
    rate_limited: Callable[[FailureKind], bool] = _never
    overloaded: Callable[[FailureKind], bool] = _never

    def signal(self, kind: FailureKind) -> Signal:
        """What a failure of `kind` tells an adaptive rate."""
        if self.rate_limited(kind):
            return Signal.LIMITED
        if self.overloaded(kind):
            return Signal.OVERLOADED
        return Signal.OTHER


class FinishReason(enum.StrEnum):
    COMPLETED = "completed"
    BREAKER = "breaker"
    NOT_FOUND_GUARD = "not_found_guard"
    INTERRUPTED = "interrupted"
    UNREACHABLE = "unreachable"  # no request of the run ever reached the site


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter; Retry-After waits are capped at `max_retry_after`."""

    max_retries: int = defaults.RETRIES
    base: float = defaults.RETRY_BASE  # seconds
    cap: float = defaults.RETRY_CAP  # seconds
    max_retry_after: float = 120.0  # seconds

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Wait before retry `retry` (1, 2, ...): uniform in [0, min(cap, base * 2^(retry-1))]."""
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    concurrency: int = defaults.CONCURRENCY
    max_failures: int = defaults.MAX_FAILURES  # consecutive final failures: the breaker trips
    not_found_guard: int = defaults.NOT_FOUND_GUARD  # not-found answers in a row: it stops
    delay: float = defaults.DELAY  # each worker's pause before each request, seconds
    max_rps: float | None = None  # the most requests in any 1 s window
    # `--max-rps auto`: the rate adapts to the site's answers (shared by the runs of one
    # command, so a later stage starts where the earlier one left off)
    adaptive: AdaptiveRate | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 50  # the most outcomes in one commit
    batch_seconds: float = 1.0  # the longest an outcome waits for its commit
    tick_seconds: float = 1.0  # how often progress is told the time without an outcome
    rules: FailureRules = field(default_factory=FailureRules)
    # How long a run that has never reached the site keeps trying before it stops: a wrong
    # address should fail in seconds, not after every item's retries and a breaker trip.
    unreachable_grace: float = 2.0


@dataclass(frozen=True, slots=True)
class Outcome(Generic[K, R]):
    """What became of one item: a result, or a final failure (after retries)."""

    item_id: K
    result: R | None
    failure: FailureKind | None = None
    message: str = ""
    attempts: int = 1


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
    """A progress sink that shows nothing (a library run, or a step with no display)."""

    def update(self, stats: RunStats) -> None:
        pass

    def tick(self, stats: RunStats) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


class Breaker:
    """Trips after `max_failures` consecutive final failures whose kind `trips` says count."""

    def __init__(self, max_failures: int, trips: Callable[[FailureKind], bool] = _always) -> None:
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self.max_failures = max_failures
        self.trips = trips
        self.consecutive = 0
        self.open = False

    def record(self, failure: FailureKind | None) -> bool:
        """Count an outcome (None for a success); True when this one trips the breaker."""
        if failure is None:
            self.consecutive = 0
        elif self.trips(failure):
            self.consecutive += 1
            if self.consecutive >= self.max_failures and not self.open:
                self.open = True
                return True
        return False


class Gate:
    """Admits requests: a pause for every worker (Retry-After) and a global rate cap.

    Both rules hold for every worker at once: while a pause lasts no request leaves, and with
    `max_rps` requests leave on an even grid of slots, and never more than `max_rps` in any 1 s.

    The grid is the point: each waiter reserves the slot one interval after the previous
    *slot*, not after the moment the previous waiter happened to wake. Timers wake late on a
    busy machine; a pacer that spaces from wake-up times lets that lateness add up, and the
    rate falls below the cap (17.9 instead of 20 per second was measured under load). A small
    log of send times keeps the cap strict when late wake-ups bunch requests together.

    Fixed pacing hands over to the adaptive law when a `Retry-After` pause did not cure the
    site's refusals, and takes its pace back when the law does no better (see `PauseWatch`).
    """

    # Spacing requests 3% wider than 1/max_rps keeps the server's view of the rate (after
    # network and scheduling jitter) under the cap too; evenly spaced requests are also
    # gentler on the site than bursts.
    MARGIN = 1.03
    WINDOW = 1.0 + 0.02  # the cap's window, with room for the network's jitter

    def __init__(
        self,
        max_rps: float | None,
        stats: RunStats,
        *,
        adaptive: AdaptiveRate | None = None,
        sleep_until: Callable[[float], Awaitable[None]] = trio.sleep_until,
    ) -> None:
        if max_rps is not None and max_rps <= 0:
            raise ValueError("max_rps must be positive")
        self.max_rps = max_rps
        # With an adaptive rate, the slots are spaced by its current rate (the fixed cap's
        # margin and send log do not apply: the rate is the law's to choose).
        self.adaptive = adaptive
        if adaptive is not None:
            if not adaptive.history:
                adaptive.begin(trio.current_time())
            stats.rate = adaptive.sending
            stats.settled_rate = adaptive.settled
        self.paused_until = -math.inf
        self._stats = stats
        self._interval = self.MARGIN / max_rps if max_rps else 0.0
        self._next_slot = -math.inf
        self._turn = trio.Lock()
        self._sent: deque[float] = deque(maxlen=max(1, math.floor(max_rps or 1)))
        # Fixed pacing's watch on its pauses (None with `--max-rps auto` from the start).
        self.watch = PauseWatch() if adaptive is None else None
        # Tests pass a sleep that wakes late, as a loaded machine does.
        self._sleep_until = sleep_until

    def pause(self, seconds: float, reason: str = "") -> None:
        """Hold every worker for `seconds` from now (extending, never shortening, a pause)."""
        now = trio.current_time()
        until = now + seconds
        if until > self.paused_until:
            stats = self._stats
            if now >= stats.paused_until:  # a new pause, not a longer one
                stats.rate_limit_pauses += 1
                stats.end_pause(now)
            self.paused_until = until
            stats.paused_until = until
            stats.pause_reason = reason
            if self.watch is not None:
                self.watch.paused(now, until)

    async def admit(self) -> Ticket:
        """Wait until a request may leave, then count it as sent."""
        while True:
            now = trio.current_time()
            if now < self.paused_until:
                await self._sleep_until(self.paused_until)
                continue
            if self.adaptive is not None:
                return await self._admit_adaptive()
            if self._interval:
                slot = max(now, self._next_slot)
                self._next_slot = slot + self._interval  # this slot is ours
                if slot > now:
                    await self._sleep_until(slot)
                    now = trio.current_time()
                    if now < self.paused_until:
                        continue  # a pause began while we waited
                sent = self._sent
                if len(sent) == sent.maxlen and now - sent[0] < self.WINDOW:
                    # Late wake-ups bunched requests: this one would break the cap.
                    await self._sleep_until(sent[0] + self.WINDOW)
                    continue
                sent.append(now)
            self._stats.requests += 1
            if self.watch is not None:
                self.watch.sent(now)
            return Ticket(now, None)

    async def _admit_adaptive(self) -> Ticket:
        """One waiter at a time (trio's locks are fair) takes the next slot, spaced by the
        rate as it is when the slot comes: a cut applies to the very next request, not after
        the slots every worker had reserved at the old rate."""
        adaptive = self.adaptive
        assert adaptive is not None
        async with self._turn:
            while True:
                if self.adaptive is not adaptive:
                    return await self.admit()  # the law was given back meanwhile
                now = trio.current_time()
                if now < self.paused_until:
                    await self._sleep_until(self.paused_until)
                    continue
                slot = self._next_slot + 1.0 / adaptive.rate
                if slot > now:
                    await self._sleep_until(slot)
                    continue  # the rate or a pause may have changed meanwhile
                break
            # On the grid, so late wake-ups on a busy machine do not add up and slow the rate;
            # but never more than a quarter interval behind, so no two leave bunched.
            self._next_slot = max(slot, now - 0.25 / adaptive.rate)
        self._stats.requests += 1
        return Ticket(now, adaptive.sent(now))

    def answered(self, ticket: Ticket, signal: Signal) -> None:
        """Tell the adaptive rate (if any) how the request of `ticket` was answered; with
        fixed pacing, tell its watch."""
        adaptive = self.adaptive
        watch = self.watch
        now = trio.current_time()
        if adaptive is None:
            if watch is None or ticket.rate is not None:
                return
            if signal is Signal.LIMITED:
                ceiling = self.max_rps / self.MARGIN if self.max_rps else None
                self._take(now, watch.refused(now, ticket.sent_at, ceiling))
            else:
                watch.accepted(now)
            return
        if ticket.rate is None:
            return  # sent by fixed pacing, before the law was taken: old news to it
        adaptive.answered(now, ticket.sent_at, ticket.rate, signal, now - ticket.sent_at)
        if watch is not None and not watch.keeps(now, signal):
            watch.gave_back(now)
            self._take(now, None)
            return
        self._stats.rate = adaptive.sending
        self._stats.settled_rate = adaptive.settled

    def _take(self, now: float, law: AdaptiveRate | None) -> None:
        """Fixed pacing's watch hands over to `law`, or (None) takes its pace back."""
        if law is None and self.adaptive is None:
            return
        self.adaptive = law
        self._next_slot = now if law is not None else -math.inf
        self._stats.rate = law.sending if law is not None else None
        self._stats.settled_rate = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """A request let through the gate: when, and at what rate (None: by fixed pacing)."""

    sent_at: float
    rate: float | None


def _short(error: FetchError) -> str:
    """The error without its "GET /path: " prefix, for a line of progress."""
    text = str(error)
    head, _, rest = text.partition(": ")
    return (rest if head.startswith("GET ") and rest else text)[:60]


async def run_pipeline(
    ids: Iterable[K],
    fetch: Callable[[K], Awaitable[R]],
    commit: Callable[[list[Outcome[K, R]]], Awaitable[None]],
    config: PipelineConfig,
    *,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
    enough: trio.Event | None = None,
    rng: random.Random | None = None,
) -> RunStats:
    """Fetch every id with `config.concurrency` workers and commit the outcomes in batches.

    Returns the run's statistics; `stats.finish_reason` says why it ended. Setting `stop` ends the
    run gracefully: no new request leaves, the requests in flight get `_Run.DRAIN_GRACE` seconds
    to bring their answers in, and what was received is committed. Setting `enough`
    (say, from `fetch` when it sees the data it needed) starts no new item but lets the ones under
    way finish: the run then counts as completed.
    """
    run = _Run(ids, fetch, commit, config, progress or NoProgress(), rng or random.Random())
    if enough is not None:
        run.enough = enough
    return await run.run(stop)


class _Run(Generic[K, R]):
    #: Seconds the requests in flight at a first Ctrl-C have to bring their answers in (a
    #: second Ctrl-C stops at once; a stop must come within 2 s even with requests hanging).
    DRAIN_GRACE: ClassVar[float] = 1.5

    def __init__(
        self,
        ids: Iterable[K],
        fetch: Callable[[K], Awaitable[R]],
        commit: Callable[[list[Outcome[K, R]]], Awaitable[None]],
        config: PipelineConfig,
        progress: ProgressSink,
        rng: random.Random,
    ) -> None:
        if config.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.ids = ids
        self.fetch = fetch
        self.commit = commit
        self.config = config
        self.progress = progress
        self.rng = rng
        self.stats = RunStats(selected=len(ids) if isinstance(ids, Sized) else 0)
        self.gate = Gate(config.max_rps, self.stats, adaptive=config.adaptive)
        self.breaker = Breaker(config.max_failures, config.rules.trips_breaker)
        self.work_scope = trio.CancelScope()
        self.enough = trio.Event()
        # Stopping (a first Ctrl-C): the workers' waits (pauses, backoff, the gate) are given
        # up at once; requests already sent get DRAIN_GRACE seconds to bring their answers in,
        # so that what the site already answered is committed, not fetched again next run.
        self.draining = False
        self._waits: set[trio.CancelScope] = set()
        self.reached = False  # some request of this run got an answer from the site
        self.unreachable_since: float | None = None

    async def run(self, stop: trio.Event | None) -> RunStats:
        stats = self.stats
        stats.started = trio.current_time()
        # Unbuffered outcomes: a worker's outcome is "received" only when the collector has it,
        # so after a trip no further outcome slips in behind the breaker.
        outcome_send, outcome_receive = trio.open_memory_channel[Outcome[K, R]](0)
        id_send, id_receive = trio.open_memory_channel[K](self.config.concurrency)
        collected = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._collect, outcome_receive, collected)
            nursery.start_soon(self._tick)
            if stop is not None:
                nursery.start_soon(self._watch_stop, stop)
            with self.work_scope:
                async with trio.open_nursery() as work, id_receive, outcome_send:
                    work.start_soon(self._produce, id_send)
                    for _ in range(self.config.concurrency):
                        work.start_soon(self._work, id_receive.clone(), outcome_send.clone())
            await collected.wait()
            nursery.cancel_scope.cancel()  # the ticker and the stop watcher
        stats.finished = trio.current_time()
        stats.end_pause(stats.finished)
        return stats

    def stop_work(self, reason: FinishReason) -> None:
        if self.stats.finish_reason is FinishReason.COMPLETED:
            self.stats.finish_reason = reason
        self.work_scope.cancel()

    async def _watch_stop(self, stop: trio.Event) -> None:
        await stop.wait()
        if self.stats.finish_reason is FinishReason.COMPLETED:
            self.stats.finish_reason = FinishReason.INTERRUPTED
        self.draining = True  # (not `enough`: that is the caller's, and says "done")
        for wait in list(self._waits):
            wait.cancel()
        self.work_scope.deadline = min(
            self.work_scope.deadline, trio.current_time() + self.DRAIN_GRACE
        )

    async def _wait(self, wait: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        """Run `wait` (a pause, a backoff, the gate) unless the run is stopping: (True, its
        result), or (False, None) when it was given up for that."""
        if self.draining:
            return False, None
        result: T | None = None
        with trio.CancelScope() as scope:
            self._waits.add(scope)
            try:
                result = await wait()
            finally:
                self._waits.discard(scope)
        return not scope.cancelled_caught, result

    async def _tick(self) -> None:
        while True:
            await trio.sleep(self.config.tick_seconds)
            self.progress.tick(self.stats)

    async def _produce(self, send: trio.MemorySendChannel[K]) -> None:
        async with send:
            for item_id in self.ids:
                if self.enough.is_set() or self.draining:
                    break
                try:
                    await send.send(item_id)
                except trio.BrokenResourceError:
                    break  # every worker has left

    async def _work(
        self, ids: trio.MemoryReceiveChannel[K], outcomes: trio.MemorySendChannel[Outcome[K, R]]
    ) -> None:
        # Between a response and the next request a worker takes an id and hands over an
        # outcome. Both usually succeed at once; done without a checkpoint, they do not send
        # the worker to the back of trio's run queue (measured: 1.3% faster at N=10, 20 ms).
        # The loop still yields whenever the id buffer is empty or the collector is busy, and
        # stops at once when cancelled, even with a fetch that never checkpoints.
        async with ids, outcomes:
            while True:
                await trio.lowlevel.checkpoint_if_cancelled()
                try:
                    item_id = ids.receive_nowait()
                except trio.WouldBlock:
                    try:
                        item_id = await ids.receive()
                    except trio.EndOfChannel:
                        break
                except trio.EndOfChannel:
                    break
                if self.enough.is_set() or self.draining:
                    break
                outcome = await self._fetch_with_retries(item_id)
                if outcome is None:
                    continue  # the run is stopping: the site was never reached
                # A fetch can end in a shielded close after a trip cancelled the workers (and
                # the collector closed its end): give the outcome up as `send` would.
                await trio.lowlevel.checkpoint_if_cancelled()
                try:
                    # Succeeds only when the collector is waiting: the channel is unbuffered.
                    outcomes.send_nowait(outcome)
                except trio.WouldBlock:
                    await outcomes.send(outcome)

    async def _fetch_with_retries(self, item_id: K) -> Outcome[K, R] | None:
        """The item's outcome after its retries; None when the run stops for an unreachable
        site (the item did nothing wrong, so no outcome is recorded against it)."""
        config = self.config
        policy = config.retry
        attempt = 0
        while True:
            attempt += 1
            if config.delay > 0 and not (await self._wait(partial(trio.sleep, config.delay)))[0]:
                return None  # stopping: the item was not asked for, it stays pending
            admitted, ticket = await self._wait(self.gate.admit)
            if not admitted or ticket is None:
                return None
            try:
                result = await self.fetch(item_id)
            except FetchError as error:
                signal = config.rules.signal(error.kind)
                if signal is Signal.LIMITED:
                    self.stats.rate_limited += 1
                self.gate.answered(ticket, signal)
                if not self.reached and config.rules.unreachable(error.kind):
                    if self._never_reachable(error):
                        return None
                    self._note_retry(error)
                    await trio.sleep(min(0.5, config.unreachable_grace / 4))
                    continue
                self.reached = True
                if error.retry_after is not None:
                    wait = min(error.retry_after, policy.max_retry_after)
                    self.gate.pause(wait, f"{_short(error)} Retry-After")
                if attempt <= policy.max_retries and config.rules.retryable(error.kind):
                    if self.draining:
                        return None  # no retry while stopping: the item stays pending
                    self._note_retry(error)
                    backoff = partial(trio.sleep, policy.backoff(attempt, self.rng))
                    if not (await self._wait(backoff))[0]:
                        return None
                    continue
                return Outcome(item_id, None, error.kind, str(error), attempt)
            self.reached = True
            self.gate.answered(ticket, Signal.OK)
            return Outcome(item_id, result, None, "", attempt)

    def _note_retry(self, error: FetchError) -> None:
        self.stats.retries += 1
        self.stats.last_retry = _short(error)

    def _never_reachable(self, error: FetchError) -> bool:
        """True (and the run stopping) once the site has refused every request for the grace
        period: a wrong address or a site that is down, not a fault of any item."""
        now = trio.current_time()
        if self.unreachable_since is None:
            self.unreachable_since = now
        if now - self.unreachable_since < self.config.unreachable_grace:
            return False
        if self.stats.finish_reason is FinishReason.COMPLETED:
            self.stats.last_failure = str(error)
        self.stop_work(FinishReason.UNREACHABLE)
        return True

    async def _collect(
        self, outcomes: trio.MemoryReceiveChannel[Outcome[K, R]], collected: trio.Event
    ) -> None:
        config = self.config
        stats = self.stats
        streak = config.rules.streak
        batch: list[Outcome[K, R]] = []
        held_not_found: list[Outcome[K, R]] = []  # a streak, kept back until it ends
        flush_at = math.inf
        try:
            async with outcomes:
                while True:
                    with trio.move_on_at(flush_at):
                        try:
                            outcome = await outcomes.receive()
                        except trio.EndOfChannel:
                            break
                        stats.last_done_at = trio.current_time()
                        stats.last_retry = ""
                        if outcome.failure is not None and streak(outcome.failure):
                            stats.skipped += 1
                            held_not_found.append(outcome)
                            if len(held_not_found) >= config.not_found_guard:
                                # A whole site answering "not found" means its URLs changed,
                                # not that the items vanished: record none of this streak.
                                stats.skipped -= len(held_not_found)
                                held_not_found.clear()
                                self.progress.warn(
                                    f"{config.not_found_guard} '{config.rules.streak_name}' "
                                    "answers in a row: have the site's URLs changed? Stopping."
                                )
                                self.stop_work(FinishReason.NOT_FOUND_GUARD)
                                break
                        else:
                            if held_not_found:
                                batch.extend(held_not_found)
                                held_not_found.clear()
                            batch.append(outcome)
                            self._count(outcome)
                        self.progress.update(stats)
                        if self.stats.breaker_open:
                            self.stop_work(FinishReason.BREAKER)
                            break
                        if len(batch) >= config.batch_size:
                            await self._commit(batch)
                            flush_at = math.inf
                        elif batch and flush_at == math.inf:
                            flush_at = trio.current_time() + config.batch_seconds
                        continue
                    await self._commit(batch)  # the batch waited long enough
                    flush_at = math.inf
            if stats.finish_reason is not FinishReason.NOT_FOUND_GUARD:
                batch.extend(held_not_found)
            await self._commit(batch)
        finally:
            collected.set()

    def _count(self, outcome: Outcome[K, R]) -> None:
        stats = self.stats
        if outcome.failure is None:
            stats.done += 1
        else:
            kind = outcome.failure.value
            stats.failed[kind] = stats.failed.get(kind, 0) + 1
            stats.last_failure = outcome.message
        if self.breaker.record(outcome.failure):
            stats.breaker_open = True
            self.progress.warn(
                f"circuit breaker tripped after {self.breaker.consecutive} consecutive "
                f"failures; last: {outcome.message}"
            )
        stats.consecutive_failures = self.breaker.consecutive

    async def _commit(self, batch: list[Outcome[K, R]]) -> None:
        if not batch:
            return
        pending = list(batch)
        batch.clear()
        with trio.CancelScope(shield=True):  # a received outcome is never dropped
            await self.commit(pending)
