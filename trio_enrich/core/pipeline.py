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

import math
import random
from collections.abc import Awaitable, Callable, Iterable, Sized
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Generic, TypeVar

import trio

from .._errors import FetchError
from .._model import FailureKind
from .gate import Gate
from .pacing import Signal
from .policy import Breaker, PipelineConfig
from .stats import FinishReason, NoProgress, ProgressSink, RunStats, Tally

# (The core's vocabulary lives in modules of its own: the gate in ``gate``, the run statistics
# and the progress protocol in ``stats``, the run's settings, failure rules, retry policy and
# breaker in ``policy``: import them from there.)
__all__ = ["DRAIN_GRACE", "Outcome", "run_pipeline"]

K = TypeVar("K")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[K, R]):
    """What became of one item: a result, or a final failure (after retries)."""

    item_id: K
    result: R | None
    failure: FailureKind | None = None
    message: str = ""
    attempts: int = 1


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


#: Seconds the requests in flight get to bring their answers in once a run is stopped.
DRAIN_GRACE = 1.5


class _Run(Generic[K, R]):
    #: Seconds the requests in flight at a first Ctrl-C have to bring their answers in (a
    #: second Ctrl-C stops at once; a stop must come within 2 s even with requests hanging).
    DRAIN_GRACE: ClassVar[float] = DRAIN_GRACE

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
        self.tally = Tally(selected=len(ids) if isinstance(ids, Sized) else 0)
        self.gate = Gate(config.max_rps, self.tally, adaptive=config.adaptive, stated=config.stated)
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
        # Until a page gives data, one request at a time: a site that refuses this client
        # answers the first requests alike, and a run learns it from 3, not from 3 * N.
        self.gave_data = False
        self.probe = trio.Lock()

    async def run(self, stop: trio.Event | None) -> RunStats:
        self.tally.begin(trio.current_time())
        if stop is not None and stop.is_set():
            # Stopped before it began: not one request (the watcher below may run after the
            # first worker has taken an id).
            self.tally.finish_as(FinishReason.INTERRUPTED)
            self.draining = True
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
        self.tally.end(trio.current_time())
        return self.tally.snapshot()

    def stop_work(self, reason: FinishReason, last_failure: str = "", by: str = "") -> None:
        self.tally.finish_as(reason, last_failure, by)
        self.work_scope.cancel()

    async def _watch_stop(self, stop: trio.Event) -> None:
        await stop.wait()
        self.tally.finish_as(FinishReason.INTERRUPTED)
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
            self.progress.tick(self.tally.snapshot())

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
        # Taking an id and handing over an outcome usually succeed at once: done without a
        # checkpoint, they keep the worker's place in trio's run queue (1.3% faster at N=10,
        # 20 ms). It still yields when the buffer is empty or the collector busy, and stops
        # at once when cancelled, even with a fetch that never checkpoints.
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
                if self.gave_data:
                    outcome = await self._fetch_with_retries(item_id)
                else:
                    async with self.probe:
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
            ticket = (await self._wait(self.gate.admit))[1]
            if ticket is None:  # (the gate always gives one unless the wait was given up)
                return None
            try:
                result = await self.fetch(item_id)
            except FetchError as error:
                signal = config.rules.signal(error.kind, says_when=error.retry_after is not None)
                if signal is Signal.LIMITED:
                    self.tally.limited()
                self.gate.answered(ticket, signal)
                if not self.reached and config.rules.unreachable(error.kind):
                    if self._never_reachable(error):
                        return None
                    self.tally.retrying(error.reason)
                    await trio.sleep(min(0.5, config.unreachable_grace / 4))
                    continue
                self.reached = True
                if error.retry_after is not None:
                    wait = min(error.retry_after, policy.max_retry_after)
                    self.gate.pause(wait, f"{error.reason[:60]} Retry-After")
                if attempt <= policy.max_retries and config.rules.retryable(error.kind):
                    if self.draining:
                        return None  # no retry while stopping: the item stays pending
                    self.tally.retrying(error.reason)
                    backoff = partial(trio.sleep, policy.backoff(attempt, self.rng))
                    if not (await self._wait(backoff))[0]:
                        return None
                    continue
                return Outcome(item_id, None, error.kind, str(error), attempt)
            self.reached = self.gave_data = True
            self.gate.answered(ticket, Signal.OK)
            return Outcome(item_id, result, None, "", attempt)

    def _never_reachable(self, error: FetchError) -> bool:
        """True (and the run stopping) once the site has refused every request for the grace
        period: a wrong address or a site that is down, not a fault of any item."""
        now = trio.current_time()
        if self.unreachable_since is None:
            self.unreachable_since = now
        if now - self.unreachable_since < self.config.unreachable_grace:
            return False
        self.stop_work(FinishReason.UNREACHABLE, str(error))
        return True

    async def _collect(
        self, outcomes: trio.MemoryReceiveChannel[Outcome[K, R]], collected: trio.Event
    ) -> None:
        # Long: the collector's loop is one state machine (batching, the breaker, the guard, stop
        # and drain); split, its order of events would be spread over functions that share it.
        config = self.config
        tally = self.tally
        streak = config.rules.streak
        batch: list[Outcome[K, R]] = []
        held_not_found: list[Outcome[K, R]] = []  # a streak, kept back until it ends
        # Refusals of the run before any item gave its data, kept back until one does.
        held_refusals: list[Outcome[K, R]] = []
        refuses_run = config.rules.refuses_run
        succeeded = False
        flush_at = math.inf
        try:
            async with outcomes:
                while True:
                    with trio.move_on_at(flush_at):
                        try:
                            outcome = await outcomes.receive()
                        except trio.EndOfChannel:
                            break
                        tally.received(trio.current_time())
                        if (
                            not succeeded
                            and outcome.failure is not None
                            and refuses_run(outcome.failure)
                        ):
                            held_refusals.append(outcome)
                            if len(held_refusals) >= config.start_guard:
                                # (the client is refused, or the readers old: no item's fault)
                                held_refusals.clear()
                                self.stop_work(
                                    FinishReason.REFUSED, outcome.message, outcome.failure.value
                                )
                                break
                        elif outcome.failure is not None and streak(outcome.failure):
                            tally.skipped()
                            held_not_found.append(outcome)
                            if len(held_not_found) >= config.not_found_guard:
                                # A whole site answering "not found" means its URLs changed,
                                # not that the items vanished: record none of this streak.
                                tally.skipped(-len(held_not_found))
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
                            if outcome.failure is None and not succeeded:
                                succeeded = True  # the site gives data: refusals are failures
                                for refusal in held_refusals:
                                    batch.append(refusal)
                                    self._count(refusal)
                                held_refusals.clear()
                            batch.append(outcome)
                            self._count(outcome)
                        self.progress.update(tally.snapshot())
                        if tally.breaker_open:
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
            if held_refusals and tally.finish_reason is FinishReason.COMPLETED:
                # Every item of a short run was refused: the run was, as after start_guard.
                last = held_refusals[-1]
                tally.finish_as(FinishReason.REFUSED, last.message, str(last.failure))
            if tally.finish_reason is not FinishReason.NOT_FOUND_GUARD:
                batch.extend(held_not_found)
            await self._commit(batch)
        finally:
            collected.set()

    def _count(self, outcome: Outcome[K, R]) -> None:
        if outcome.failure is None:
            self.tally.succeeded()
        else:
            self.tally.failed(outcome.failure.value, outcome.message)
        tripped = self.breaker.record(outcome.failure)
        self.tally.breaker(self.breaker.consecutive, tripped)
        if tripped:
            self.progress.warn(
                f"circuit breaker tripped after {self.breaker.consecutive} consecutive "
                f"failures; last: {outcome.message}"
            )

    async def _commit(self, batch: list[Outcome[K, R]]) -> None:
        if not batch:
            return
        pending = list(batch)
        batch.clear()
        with trio.CancelScope(shield=True):  # a received outcome is never dropped
            await self.commit(pending)
