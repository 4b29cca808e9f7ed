"""The generic core on in-memory fakes and trio's virtual clock: exact times, exact counts."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest
import trio
import trio.lowlevel
import trio.testing

from trio_enrich import FailureKind, FetchError
from trio_enrich.core.gate import Gate
from trio_enrich.core.pacing import AdaptiveRate
from trio_enrich.core.pipeline import DRAIN_GRACE, Outcome, run_pipeline
from trio_enrich.core.policy import Breaker, FailureRules, PipelineConfig, RetryPolicy
from trio_enrich.core.stats import FinishReason, RunStats, Tally
from trio_enrich.site.rules import SITE_RULES


class FakeSite:
    """An in-memory fetch: records call times, answers from a per-id script."""

    def __init__(
        self,
        latency: float = 0.01,
        answer: Callable[[int, int], FetchError | None] | None = None,
    ) -> None:
        self.latency = latency
        self.answer = answer or (lambda item, attempt: None)
        self.calls: list[tuple[float, int]] = []
        self.attempts: dict[int, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    async def fetch(self, item: int) -> str:
        self.calls.append((trio.current_time(), item))
        attempt = self.attempts[item] = self.attempts.get(item, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await trio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        error = self.answer(item, attempt)
        if error is not None:
            raise error
        return f"result {item}"


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[float, list[Outcome[int, str]]]] = []

    async def commit(self, outcomes: list[Outcome[int, str]]) -> None:
        self.batches.append((trio.current_time(), list(outcomes)))
        await trio.lowlevel.checkpoint()

    @property
    def outcomes(self) -> list[Outcome[int, str]]:
        return [o for _, batch in self.batches for o in batch]


def config(**changes: object) -> PipelineConfig:
    base: dict[str, object] = {
        "concurrency": 3, "delay": 0.0, "retry": RetryPolicy(base=1.0), "rules": SITE_RULES,
    }  # fmt: skip
    base.update(changes)
    return PipelineConfig(**base)  # type: ignore[arg-type]


async def run(ids: list[int], site: FakeSite, recorder: Recorder, **changes: object) -> RunStats:
    return await run_pipeline(
        ids, site.fetch, recorder.commit, config(**changes), rng=random.Random(5)
    )


async def test_every_item_is_fetched_once_and_committed_in_batches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site, recorder = FakeSite(), Recorder()
    stats = await run(list(range(500)), site, recorder, concurrency=7)
    assert sorted(item for _, item in site.calls) == list(range(500))
    assert sorted(o.item_id for o in recorder.outcomes) == list(range(500))
    assert all(len(batch) <= 50 for _, batch in recorder.batches)
    assert stats.done == 500
    assert stats.finish_reason is FinishReason.COMPLETED
    assert site.max_in_flight == 7


async def test_a_slow_trickle_is_committed_within_a_second(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site, recorder = FakeSite(latency=0.3), Recorder()
    await run(list(range(12)), site, recorder, concurrency=1)
    arrivals = {o.item_id: 0.3 * (o.item_id + 1) for o in recorder.outcomes}
    for committed_at, batch in recorder.batches:
        for outcome in batch:
            assert committed_at - arrivals[outcome.item_id] <= 1.0 + 1e-9
    assert len(recorder.batches) > 1


async def test_task_count_does_not_depend_on_the_number_of_items(
    autojump_clock: trio.testing.MockClock,
) -> None:
    counts: list[int] = []

    def count_tasks() -> int:
        total = 0
        root = trio.lowlevel.current_root_task()
        assert root is not None
        stack = [root]
        while stack:
            task = stack.pop()
            total += 1
            for nursery in task.child_nurseries:
                stack.extend(nursery.child_tasks)
        return total

    class CountingSite(FakeSite):
        async def fetch(self, item: int) -> str:
            counts.append(count_tasks())
            return await super().fetch(item)

    for size in (10, 5_000):
        counts.clear()
        await run(list(range(size)), CountingSite(latency=0.001), Recorder(), concurrency=4)
        assert max(counts) <= 4 + 10  # workers + producer, collector, ticker, test tasks
    assert max(counts) < 20


async def test_retries_back_off_with_full_jitter(autojump_clock: trio.testing.MockClock) -> None:
    def flaky(item: int, attempt: int) -> FetchError | None:
        return FetchError(FailureKind.SERVER_ERROR, "HTTP 503") if attempt <= 3 else None

    site, recorder = FakeSite(latency=0.0, answer=flaky), Recorder()
    stats = await run([1], site, recorder, retry=RetryPolicy(max_retries=3, base=2.0, cap=3.0))
    times = [t for t, _ in site.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4
    assert 0 <= gaps[0] <= 2.0  # [0, base]
    assert 0 <= gaps[1] <= 3.0  # [0, min(cap, 2 * base)]
    assert 0 <= gaps[2] <= 3.0  # capped
    assert stats.retries == 3
    assert recorder.outcomes[0].result == "result 1"
    assert recorder.outcomes[0].attempts == 4


async def test_the_backoff_schedule_is_exactly_the_policys(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Each retry waits the policy's backoff for its number, drawn from the run's random
    generator: the times are pinned on the virtual clock (no backoff, or a wrong one, shows)."""

    def flaky(item: int, attempt: int) -> FetchError | None:
        return FetchError(FailureKind.SERVER_ERROR, "HTTP 503") if attempt <= 3 else None

    policy = RetryPolicy(max_retries=3, base=2.0, cap=3.0)
    site, recorder = FakeSite(latency=0.25, answer=flaky), Recorder()
    await run([1], site, recorder, retry=policy)
    draws = random.Random(5)  # the generator `run` gives the pipeline
    expected = [policy.backoff(retry, draws) for retry in (1, 2, 3)]
    times = [t for t, _ in site.calls]
    gaps = [b - a - 0.25 for a, b in itertools.pairwise(times)]  # less each answer's latency
    assert gaps == pytest.approx(expected, abs=1e-9)
    assert all(gap > 0.1 for gap in gaps)


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base=2.0, cap=30.0)
    rng = random.Random(1)
    for retry, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (9, 30.0)):
        samples = [policy.backoff(retry, rng) for _ in range(2000)]
        assert max(samples) <= ceiling
        assert max(samples) > ceiling * 0.95  # full jitter reaches the ceiling...
        assert min(samples) < ceiling * 0.05  # ...and goes down to zero


async def test_retries_give_up_with_a_final_failure(autojump_clock: trio.testing.MockClock) -> None:
    site = FakeSite(answer=lambda item, attempt: FetchError(FailureKind.TIMEOUT, "slow"))
    recorder = Recorder()
    stats = await run([1], site, recorder, retry=RetryPolicy(max_retries=2, base=0.1))
    assert len(site.calls) == 3
    assert recorder.outcomes[0].failure is FailureKind.TIMEOUT
    assert recorder.outcomes[0].attempts == 3
    assert stats.failed == {"timeout": 1}


@pytest.mark.parametrize(
    "kind",
    [FailureKind.NOT_FOUND, FailureKind.BLOCKED, FailureKind.LAYOUT_CHANGED,
     FailureKind.ERROR_DIGEST],
)  # fmt: skip
async def test_permanent_failures_are_not_retried(
    autojump_clock: trio.testing.MockClock, kind: FailureKind
) -> None:
    # (item 0 gives data first: blocked and changed pages before any would stop the run)
    site = FakeSite(answer=lambda item, attempt: FetchError(kind, "no") if item else None)
    recorder = Recorder()
    await run([0, 1, 2], site, recorder, concurrency=1)
    assert len(site.calls) == 3
    assert {o.failure for o in recorder.outcomes if o.item_id} == {kind}


async def test_retry_after_pauses_every_worker(autojump_clock: trio.testing.MockClock) -> None:
    limited_at: list[float] = []

    def answer(item: int, attempt: int) -> FetchError | None:
        if item == 20 and attempt == 1:
            limited_at.append(trio.current_time())
            return FetchError(FailureKind.RATE_LIMITED, "HTTP 429", retry_after=5.0)
        return None

    site, recorder = FakeSite(latency=0.1, answer=answer), Recorder()
    stats = await run(list(range(100)), site, recorder, concurrency=5)
    [moment] = limited_at
    during = [t for t, _ in site.calls if moment < t < moment + 5.0]
    assert during == []  # no worker sent anything during the pause
    assert stats.rate_limit_pauses == 1
    assert stats.seconds_paused == pytest.approx(5.0)
    assert stats.done == 100


async def test_a_longer_retry_after_extends_the_pause_a_shorter_one_does_not_cut_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def answer(item: int, attempt: int) -> FetchError | None:
        if attempt == 1 and item in (0, 1):
            return FetchError(FailureKind.RATE_LIMITED, "429", retry_after=4.0 - 3 * item)
        return None

    site, recorder = FakeSite(latency=0.1, answer=answer), Recorder()
    await run(list(range(10)), site, recorder, concurrency=2)
    first_at = 0.1
    assert [t for t, _ in site.calls if first_at < t < first_at + 4.0] == []


async def test_max_rps_is_never_exceeded_in_any_window(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site, recorder = FakeSite(latency=0.0), Recorder()
    started = trio.current_time()
    await run(list(range(400)), site, recorder, concurrency=10, max_rps=20)
    elapsed = trio.current_time() - started
    times = sorted(t for t, _ in site.calls)
    first = 0
    worst = 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        worst = max(worst, last - first + 1)
    assert worst <= 20
    assert 400 / elapsed >= 19.0


async def test_late_wake_ups_do_not_add_up_and_never_break_the_cap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Timers on a loaded machine wake late: here every wake-up is 5 ms late. Slots on a grid
    keep the rate at the cap (spacing from wake-ups gave 1 / (51.5 ms + 5 ms) = 17.7/s)."""

    async def late(deadline: float) -> None:
        await trio.sleep_until(deadline + 0.005)

    tally = Tally(selected=400)
    gate = Gate(20, tally, sleep_until=late)
    sent: list[float] = []

    async def worker() -> None:
        while len(sent) < 400:
            await gate.admit()
            sent.append(trio.current_time())

    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(worker)
    elapsed = sent[399] - started
    assert 400 / elapsed >= 19.0, f"{400 / elapsed:.2f}/s"
    first = worst = 0
    for last, moment in enumerate(sent):
        while moment - sent[first] >= 1.0:
            first += 1
        worst = max(worst, last - first + 1)
    assert worst <= 20
    assert tally.snapshot().requests == len(sent)


async def test_each_worker_pauses_before_each_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site, recorder = FakeSite(latency=0.0), Recorder()
    await run([1, 2, 3, 4], site, recorder, concurrency=1, delay=0.5)
    assert [round(t, 6) for t, _ in site.calls] == [0.5, 1.0, 1.5, 2.0]
    assert [item for _, item in site.calls] == [1, 2, 3, 4]  # queue order with one worker


async def test_breaker_trips_after_exactly_max_failures(
    autojump_clock: trio.testing.MockClock,
) -> None:
    down = FakeSite(answer=lambda item, attempt: FetchError(FailureKind.TRANSPORT, "refused"))
    recorder = Recorder()
    stats = await run(list(range(100)), down, recorder, concurrency=4, max_failures=5,
                      retry=RetryPolicy(max_retries=0))  # fmt: skip
    assert stats.finish_reason is FinishReason.BREAKER
    assert stats.breaker_open
    assert len(recorder.outcomes) == 5  # received outcomes are committed, no more
    assert stats.failed_total == 5
    # Requests already in flight at the trip were cancelled; nothing new was sent after it.
    assert len(down.calls) <= 5 + 4


async def test_a_fetch_that_outlives_the_trip_in_a_shielded_close_is_dropped_quietly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Item 0 ends in a shielded section (as httpcore closes a response) that is still running
    # when item 1's failure trips the breaker and the collector closes its end: its outcome is
    # given up (it came after the trip) and the run ends cleanly, not on the closed channel.
    # (Item 2 gives data first: until a page does, requests go one at a time.)
    async def fetch(item: int) -> str:
        if item == 1:
            await trio.sleep(0.1)
            raise FetchError(FailureKind.TRANSPORT, "refused")
        if item == 0:
            with trio.CancelScope(shield=True):
                await trio.sleep(1)
        return f"result {item}"

    recorder = Recorder()
    stats = await run_pipeline([2, 0, 1], fetch, recorder.commit, config(
        concurrency=2, max_failures=1, retry=RetryPolicy(max_retries=0)))  # fmt: skip
    assert stats.finish_reason is FinishReason.BREAKER
    assert [o.item_id for o in recorder.outcomes] == [2, 1]


async def test_a_success_resets_the_breaker(autojump_clock: trio.testing.MockClock) -> None:
    def answer(item: int, attempt: int) -> FetchError | None:
        return None if item % 4 == 3 else FetchError(FailureKind.SERVER_ERROR, "500")

    site, recorder = FakeSite(answer=answer), Recorder()
    stats = await run(list(range(40)), site, recorder, concurrency=1, max_failures=4,
                      retry=RetryPolicy(max_retries=0))  # fmt: skip
    assert stats.finish_reason is FinishReason.COMPLETED
    assert stats.done == 10
    assert stats.failed_total == 30


def test_breaker_counts_only_site_failures() -> None:
    breaker = Breaker(2, SITE_RULES.trips_breaker)
    assert not breaker.record(FailureKind.NOT_FOUND)
    assert not breaker.record(FailureKind.ERROR_DIGEST)
    assert not breaker.record(FailureKind.BLOCKED)
    assert breaker.record(FailureKind.RATE_LIMITED)
    assert breaker.open


async def test_not_found_guard_stops_and_records_none_of_the_streak(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site = FakeSite(answer=lambda item, attempt: FetchError(FailureKind.NOT_FOUND, "gone"))
    recorder = Recorder()
    stats = await run(list(range(100)), site, recorder, concurrency=1, not_found_guard=25)
    assert stats.finish_reason is FinishReason.NOT_FOUND_GUARD
    assert recorder.outcomes == []
    assert stats.skipped == 0
    assert 25 <= len(site.calls) <= 25 + 1  # the streak, plus at most one already in flight


async def test_a_short_not_found_streak_is_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def answer(item: int, attempt: int) -> FetchError | None:
        return FetchError(FailureKind.NOT_FOUND, "gone") if item < 24 else None

    site, recorder = FakeSite(answer=answer), Recorder()
    stats = await run(list(range(30)), site, recorder, concurrency=1, not_found_guard=25)
    assert stats.finish_reason is FinishReason.COMPLETED
    assert stats.skipped == 24
    assert sum(o.failure is FailureKind.NOT_FOUND for o in recorder.outcomes) == 24


async def test_stop_commits_what_was_received_and_sends_nothing_more(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site, recorder = FakeSite(latency=0.1), Recorder()
    stop = trio.Event()

    async def stop_soon() -> None:
        await trio.sleep(1.05)
        stop.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stop_soon)
        stats = await run_pipeline(list(range(1000)), site.fetch, recorder.commit,
                                   config(concurrency=2), stop=stop)  # fmt: skip
    assert stats.finish_reason is FinishReason.INTERRUPTED
    assert 15 <= len(recorder.outcomes) <= 22
    assert all(t <= 1.05 for t, _ in site.calls)
    assert stats.done == len(recorder.outcomes)


async def test_a_commit_error_stops_the_run(autojump_clock: trio.testing.MockClock) -> None:
    async def failing_commit(outcomes: list[Outcome[int, str]]) -> None:
        raise RuntimeError("disk full")

    with pytest.RaisesGroup(
        pytest.RaisesExc(RuntimeError, match="disk full"), flatten_subgroups=True
    ):
        await run_pipeline(list(range(100)), FakeSite().fetch, failing_commit, config())


async def test_the_core_applies_the_rules_it_is_given(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """No site knowledge in the core: with rules that retry nothing and never trip the
    breaker, a rate limit is a plain final failure; with the site's rules it is retried."""

    def limited_once(item: int, attempt: int) -> FetchError | None:
        return FetchError(FailureKind.RATE_LIMITED, "429") if attempt == 1 else None

    never_trips = FailureRules(trips_breaker=lambda kind: False)
    plain = await run(list(range(5)), FakeSite(answer=limited_once), Recorder(),
                      rules=never_trips, max_failures=2)  # fmt: skip
    assert plain.failed == {"rate_limited": 5}
    assert plain.retries == 0
    assert plain.finish_reason is FinishReason.COMPLETED
    site = await run(list(range(5)), FakeSite(answer=limited_once), Recorder(),
                     rules=SITE_RULES, max_failures=2)  # fmt: skip
    assert site.done == 5
    assert site.retries == 5


async def test_the_time_paused_is_what_passed_not_what_was_asked(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 20, item 12: a run stopped 10 s into a 120 s Retry-After was paused 10 s."""

    def answer(item: int, attempt: int) -> FetchError | None:
        if item == 3 and attempt == 1:
            return FetchError(FailureKind.RATE_LIMITED, "HTTP 429", retry_after=120.0)
        return None

    site, recorder = FakeSite(latency=0.1, answer=answer), Recorder()
    stop = trio.Event()
    stats_box: list[RunStats] = []

    async def stopper() -> None:
        await trio.sleep(10.0)
        assert stats_box[0].seconds_paused == pytest.approx(10.0 - paused_at[0], abs=0.2)
        stop.set()

    paused_at: list[float] = []
    real_answer = site.answer

    def noting(item: int, attempt: int) -> FetchError | None:
        error = real_answer(item, attempt)
        if error is not None:
            paused_at.append(trio.current_time() + site.latency)
        return error

    site.answer = noting

    async def main() -> RunStats:
        progress = _Capture(stats_box)
        return await run_pipeline(
            list(range(20)), site.fetch, recorder.commit, config(concurrency=2),
            progress=progress, stop=stop, rng=random.Random(5),
        )  # fmt: skip

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stopper)
        stats = await main()
    assert stats.rate_limit_pauses == 1
    assert stats.seconds_paused == pytest.approx(10.0 - paused_at[0], abs=0.2)
    assert stats.seconds_paused < 11  # not the 120 s asked for


class _Capture:
    """A progress sink that keeps the latest snapshot of the statistics."""

    def __init__(self, box: list[RunStats]) -> None:
        self.box = box

    def update(self, stats: RunStats) -> None:
        self.box[:] = [stats]

    def tick(self, stats: RunStats) -> None:
        self.update(stats)

    def warn(self, message: str) -> None:
        pass


def test_a_long_progress_line_is_cut_at_a_word() -> None:
    from trio_enrich.commands.progress import fit

    text = (
        "enriched 5, failed 0, retries 1, rate 5.0/s, 429 1 | pause 4s left: HTTP 429 Retry-After"
    )
    cut = fit(text, 79)
    assert len(cut) <= 79
    assert cut.endswith("...")
    assert text.startswith(cut[:-3])
    assert text[len(cut) - 3] == " "  # the cut falls between words
    assert fit("short", 79) == "short"


async def test_a_stop_commits_the_answers_of_requests_already_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 20, item 17: at a first Ctrl-C the requests in flight bring their answers in and
    are committed; none is asked for again by the next run, no new one leaves."""
    site, recorder = FakeSite(latency=0.4), Recorder()
    stop = trio.Event()

    async def stopper() -> None:
        await trio.sleep(2.05)  # mid-flight for every worker
        stop.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stopper)
        stats = await run_pipeline(
            list(range(100)), site.fetch, recorder.commit, config(concurrency=4, delay=0.0),
            stop=stop, rng=random.Random(5),
        )  # fmt: skip
    asked = sorted(item for _, item in site.calls)
    committed = sorted(o.item_id for o in recorder.outcomes)
    assert stats.finish_reason is FinishReason.INTERRUPTED
    assert asked == committed  # every request sent was answered and committed
    assert max(t for t, _ in site.calls) < 2.05  # nothing left after the stop
    assert stats.finished - stats.started < 2.05 + 0.4 + 0.1


async def test_a_stop_with_a_hanging_request_ends_within_the_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Hanging(FakeSite):
        async def fetch(self, item: int) -> str:
            if item == 2:
                await trio.sleep_forever()
            return await super().fetch(item)

    site, recorder = Hanging(latency=0.1), Recorder()
    stop = trio.Event()

    async def stopper() -> None:
        await trio.sleep(1.0)
        stop.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stopper)
        stats = await run_pipeline(
            list(range(50)), site.fetch, recorder.commit, config(concurrency=3, delay=0.0),
            stop=stop, rng=random.Random(5),
        )  # fmt: skip
    assert stats.finished - 1.0 <= DRAIN_GRACE + 0.05
    assert 2 not in {o.item_id for o in recorder.outcomes}  # never answered: stays pending


# --- the core: an unreachable site, stops, batches, counters --------------------------------------


class Script:
    """An in-memory site answering each call from a list of errors (None: a good answer)."""

    def __init__(self, *answers: FetchError | None, then: FetchError | None = None) -> None:
        self.answers = list(answers)
        self.then = then
        self.calls: list[float] = []

    async def fetch(self, item: int) -> int:
        self.calls.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        error = self.answers.pop(0) if self.answers else self.then
        if error is not None:
            raise error
        return item


class Sink:
    def __init__(self) -> None:
        self.snapshots: list[RunStats] = []
        self.warnings: list[str] = []

    def update(self, stats: RunStats) -> None:
        self.snapshots.append(stats)

    def tick(self, stats: RunStats) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)


REFUSED = FetchError(FailureKind.UNREACHABLE, "connection refused", path="/trades/1")


async def run_script(
    site: Script, ids: object = (1,), sink: Sink | None = None, **changes: object
) -> tuple[RunStats, list[Outcome[int, int]]]:
    committed: list[Outcome[int, int]] = []

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        committed.extend(outcomes)

    retry = RetryPolicy(base=0.5, cap=0.5, max_retries=3)
    settings: dict[str, object] = {"concurrency": 1, "delay": 0.0, "rules": SITE_RULES,
                                   "retry": retry}  # fmt: skip
    settings.update(changes)
    config = PipelineConfig(**settings)  # type: ignore[arg-type]
    stats = await run_pipeline(ids, site.fetch, commit, config, progress=sink)  # type: ignore[arg-type]
    return stats, committed


@pytest.mark.parametrize(("grace", "times"), [
    (1.0, [0.0, 0.25, 0.5, 0.75, 1.0]),  # a try every quarter of the grace ...
    (4.0, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]),  # ... but at least every 0.5 s
])  # fmt: skip
async def test_a_site_never_reached_is_tried_for_the_grace_period_then_the_run_stops(
    autojump_clock: trio.testing.MockClock, grace: float, times: list[float]
) -> None:
    await trio.sleep(10.0)  # (a clock that is not at zero: differences must be differences)
    site = Script(then=REFUSED)
    started = trio.current_time()
    stats, committed = await run_script(site, [1, 2], unreachable_grace=grace)
    assert [round(t - started, 6) for t in site.calls] == times
    assert stats.finish_reason.value == "unreachable"
    assert stats.last_failure == "GET /trades/1: connection refused"
    assert stats.retries == len(times) - 1
    assert committed == []  # no item did anything wrong: none is recorded
    assert stats.elapsed == pytest.approx(grace)


@pytest.mark.parametrize("first", [None, FetchError(FailureKind.SERVER_ERROR, "HTTP 500")])
async def test_a_site_that_answered_once_keeps_the_usual_rules_when_it_goes_away(
    autojump_clock: trio.testing.MockClock, first: FetchError | None
) -> None:
    """An answer, even an error page, proves the address: later refusals are failures."""
    site = Script(first, then=REFUSED)
    stats, committed = await run_script(site, [1, 2], unreachable_grace=0.2)
    assert stats.finish_reason.value == "completed"
    failed = [o for o in committed if o.failure is not None]
    assert [o.failure for o in failed][-1] is FailureKind.UNREACHABLE
    assert failed[-1].attempts == 4  # the first try and three retries


async def test_a_retry_after_pause_shows_the_reason_cut_to_sixty_characters(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site = Script(FetchError(FailureKind.RATE_LIMITED, "y" * 100, path="/x", retry_after=5.0))
    sink = Sink()
    await run_script(site, [1], sink)
    assert {s.pause_reason for s in sink.snapshots} == {"y" * 60 + " Retry-After"}


async def test_the_counters_of_a_run_one_by_one(autojump_clock: trio.testing.MockClock) -> None:
    limited = FetchError(FailureKind.RATE_LIMITED, "HTTP 429")
    broken = FetchError(FailureKind.SERVER_ERROR, "HTTP 500")
    site = Script(limited, None, broken, broken, broken, broken, None)
    sink = Sink()
    started = trio.current_time()
    stats, committed = await run_script(site, [1, 2, 3], sink)
    assert stats.selected == 3
    assert stats.rate_limited == 1  # the 429 only, not the 500s
    assert [o.message for o in committed if o.failure is None] == ["", ""]  # a success says none
    assert [o.attempts for o in committed] == [2, 4, 1]
    assert [s.consecutive_failures for s in sink.snapshots] == [0, 1, 0]
    assert [round(s.last_done_at - started, 6) for s in sink.snapshots] == [
        round(t - started, 6) for t in (site.calls[1], site.calls[5], site.calls[6])
    ]
    lazy, _ = await run_script(Script(), iter([1, 2]))
    assert lazy.selected == 0  # ids of unknown number
    assert lazy.done == 2


async def test_the_breaker_and_the_not_found_guard_say_why_they_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = Sink()
    broken = FetchError(FailureKind.BLOCKED, "no data", path="/trades/2")
    stats, _ = await run_script(Script(None, then=broken), range(1, 9), sink, max_failures=2)
    assert stats.finish_reason.value == "breaker"
    assert sink.warnings == [
        "circuit breaker tripped after 2 consecutive failures; last: GET /trades/2: no data"
    ]
    sink = Sink()
    gone = FetchError(FailureKind.NOT_FOUND, "Page Not Found")
    stats, committed = await run_script(
        Script(None, None, then=gone), range(1, 20), sink, not_found_guard=3, batch_size=50
    )
    assert sink.warnings == [
        "3 'not found' answers in a row: have the site's URLs changed? Stopping."
    ]
    assert [o.item_id for o in committed] == [1, 2]  # what came before is written, not the streak


async def test_outcomes_wait_for_their_batch_no_longer_and_no_shorter_than_its_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    batches: list[list[int]] = []

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        batches.append([o.item_id for o in outcomes])

    async def fetch(item: int) -> int:
        await trio.sleep(0.15)
        return item

    config = PipelineConfig(concurrency=1, delay=0.0, batch_size=50, batch_seconds=1.0)
    await run_pipeline(range(14), fetch, commit, config)
    assert [len(batch) for batch in batches] == [7, 7]  # 0.15 ... 1.05, then 1.2 ... 2.1


async def test_a_commit_under_way_finishes_even_when_the_caller_cancels_the_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    begun: list[int] = []
    finished: list[int] = []

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        begun.extend(o.item_id for o in outcomes)
        await trio.sleep(0.5)  # a slow disk
        finished.extend(o.item_id for o in outcomes)

    async def fetch(item: int) -> int:
        await trio.sleep(0.1)
        return item

    config = PipelineConfig(concurrency=1, delay=0.0, batch_size=2)
    with trio.move_on_after(0.7):
        await run_pipeline(range(20), fetch, commit, config)
    assert begun
    assert finished == begun  # every batch begun was written to its end


async def test_a_run_with_enough_starts_no_item_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    enough = trio.Event()
    fetched: list[int] = []

    async def fetch(item: int) -> int:
        fetched.append(item)
        await trio.sleep(0.1)
        if item == 3:
            enough.set()
        return item

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        pass

    config = PipelineConfig(concurrency=1, delay=0.0)
    stats = await run_pipeline(range(1, 10), fetch, commit, config, enough=enough)
    assert fetched == [1, 2, 3]
    assert stats.finish_reason.value == "completed"


async def test_the_adaptive_law_hears_of_each_answers_latency_through_the_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    async def fetch(item: int) -> int:
        nonlocal calls
        calls += 1
        await trio.sleep(0.05 if calls <= 40 else 0.5)  # the site slows under load
        return item

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        pass

    law = AdaptiveRate(start=5.0, ceiling=5.0)
    config = PipelineConfig(concurrency=4, delay=0.0, adaptive=law)
    await run_pipeline(range(120), fetch, commit, config)
    assert law.reasons.get("latency", 0) >= 1


async def test_settings_that_cannot_run_are_refused_by_name() -> None:
    from trio_enrich.core.policy import Breaker

    async def commit(outcomes: list[Outcome[int, object]]) -> None:
        pass

    with pytest.raises(ValueError, match=r"^concurrency must be at least 1$"):
        await run_pipeline([], Script().fetch, commit, PipelineConfig(concurrency=0))
    with pytest.raises(ValueError, match=r"^max_failures must be at least 1$"):
        Breaker(0)
    breaker = Breaker(2)
    assert not breaker.record(FailureKind.NOT_FOUND)
    assert breaker.record(FailureKind.TIMEOUT)  # by default every kind counts


# --- a run refused from the start -------------------------------------------------------------

BLOCKED_PAGE = FetchError(FailureKind.BLOCKED, "HTTP 403 ('ERROR: The request could not be "
                          "satisfied')", path="/trades/1")  # fmt: skip
CHANGED = FetchError(FailureKind.LAYOUT_CHANGED, "no data in a known shape", path="/trades/1")


@pytest.mark.parametrize("refusal", [BLOCKED_PAGE, CHANGED])
async def test_refusals_before_any_data_stop_the_run_after_three_and_record_none(
    autojump_clock: trio.testing.MockClock, refusal: FetchError
) -> None:
    site = Script(then=refusal)
    stats, committed = await run_script(site, range(1, 50), concurrency=3)
    assert stats.finish_reason.value == "refused"
    assert stats.stopped_by == refusal.kind.value
    assert stats.last_failure == str(refusal)
    assert committed == []  # the items did nothing wrong
    assert stats.failed_total == 0
    assert len(site.calls) <= 5


async def test_refusals_after_data_are_failures_and_those_before_it_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    site = Script(BLOCKED_PAGE, BLOCKED_PAGE, None, BLOCKED_PAGE, None)
    stats, committed = await run_script(site, range(1, 6))
    assert stats.finish_reason.value == "completed"
    assert [(o.item_id, o.failure) for o in committed] == [
        (1, FailureKind.BLOCKED), (2, FailureKind.BLOCKED), (3, None),
        (4, FailureKind.BLOCKED), (5, None),
    ]  # fmt: skip
    assert stats.failed == {"blocked": 3}


async def test_a_short_run_refused_throughout_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stats, committed = await run_script(Script(then=CHANGED), [1, 2])
    assert (stats.finish_reason.value, stats.stopped_by, committed) == (
        "refused",
        "layout_changed",
        [],
    )


async def test_the_third_refusal_stops_the_run_and_what_came_before_is_written(
    autojump_clock: trio.testing.MockClock,
) -> None:
    digest = FetchError(FailureKind.ERROR_DIGEST, "digest 7", path="/trades/2")
    site = Script(BLOCKED_PAGE, digest, BLOCKED_PAGE, BLOCKED_PAGE, then=None)
    stats, committed = await run_script(site, range(1, 20))
    # One at a time: the third refusal is the fourth answer; the worker may have handed it
    # over and begun the fifth request, which the stop cancels (it would have been data).
    assert len(site.calls) in (4, 5)
    assert stats.finish_reason.value == "refused"  # an error page is not data: still refused
    assert [(o.item_id, o.failure) for o in committed] == [(2, FailureKind.ERROR_DIGEST)]


async def test_no_request_leaves_while_an_outcome_waits_for_the_collector(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The outcome channel is unbuffered: a worker hands its outcome over, then fetches."""
    calls: list[tuple[float, int]] = []
    started = trio.current_time()

    async def fetch(item: int) -> int:
        calls.append((trio.current_time() - started, item))
        await trio.sleep(0.1)
        if item == 2:
            raise FetchError(FailureKind.SERVER_ERROR, "HTTP 500", path="/trades/2")
        return item

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        await trio.sleep(1.0)  # a slow disk: the collector is busy when item 2's failure comes

    config = PipelineConfig(concurrency=1, delay=0.0, batch_size=1, max_failures=1,
                            rules=SITE_RULES, retry=RetryPolicy(max_retries=0))  # fmt: skip
    stats = await run_pipeline(range(1, 10), fetch, commit, config)
    assert stats.finish_reason.value == "breaker"
    # Item 2 failed at 0.1 s, the collector took its outcome at 1.0 s (after the commit): no
    # request left in between (one may leave at 1.0 s, in the same instant the breaker trips).
    assert [item for moment, item in calls if moment < 1.0] == [1, 2]
    assert stats.last_failure == "GET /trades/2: HTTP 500"  # the breaker's stop keeps it
    assert stats.stopped_by == ""  # (a failure kind that stopped the run: refusals only)


async def test_a_run_stopped_before_it_began_asks_for_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    asked: list[int] = []

    async def fetch(item: int) -> int:
        asked.append(item)
        return item

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        pass

    stop = trio.Event()
    stop.set()
    for _ in range(30):  # (whichever task trio happens to schedule first)
        config = PipelineConfig(concurrency=4, delay=0.0)
        stats = await run_pipeline(range(50), fetch, commit, config, stop=stop)
        assert (asked, stats.finish_reason, stats.handled) == ([], FinishReason.INTERRUPTED, 0)
