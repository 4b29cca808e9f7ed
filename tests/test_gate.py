"""The gate: the failure policy's kinds, the counters of pauses and requests, the adaptive
law taken and given back, and fixed pacing's hand-over to it."""

from __future__ import annotations

import itertools

import pytest
import trio
import trio.lowlevel
import trio.testing

from trio_enrich import FailureKind, FetchError
from trio_enrich.core.gate import Gate
from trio_enrich.core.pacing import AdaptiveRate, Signal
from trio_enrich.core.pipeline import Outcome, run_pipeline
from trio_enrich.core.policy import FailureRules, PipelineConfig, RetryPolicy
from trio_enrich.core.stats import RunStats, Tally
from trio_enrich.site.rules import SITE_RULES

# --- the failure policy --------------------------------------------------------------------


def test_overload_is_asked_about_the_kind_itself() -> None:
    rules = FailureRules(overloaded=lambda kind: kind is FailureKind.SERVER_ERROR)
    assert rules.signal(FailureKind.SERVER_ERROR) is Signal.OVERLOADED
    assert rules.signal(FailureKind.TIMEOUT) is Signal.OTHER


# --- the gate ------------------------------------------------------------------------------


async def test_a_pause_is_counted_once_however_often_it_is_extended(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tally = Tally()
    gate = Gate(None, tally)
    gate.pause(1.0, "HTTP 429 Retry-After")
    gate.pause(1.0, "HTTP 403 Retry-After")  # the same end: no new pause, and its reason kept
    assert tally.snapshot().pause_reason == "HTTP 429 Retry-After"
    gate.pause(2.0, "HTTP 503 Retry-After")  # longer: the same pause, later end
    assert tally.snapshot().rate_limit_pauses == 1
    assert tally.snapshot().pause_reason == "HTTP 503 Retry-After"
    await trio.sleep(2.0)  # it ends; one asked for at its very end is a new one
    gate.pause(1.0, "HTTP 429 Retry-After")
    assert tally.snapshot().rate_limit_pauses == 2


async def test_the_adaptive_gate_counts_each_request_and_tells_the_law_when(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tally = Tally()
    law = AdaptiveRate(start=10.0)
    gate = Gate(None, tally, adaptive=law)
    times = []
    for _ in range(5):
        ticket = await gate.admit()
        times.append(ticket.sent_at)
        assert ticket.rate == 10.0
    assert tally.snapshot().requests == 5
    assert law.sent_at_rate == 5  # the law was told of each, at its time
    # spaced by the rate (the first one's slot may sit a quarter interval back)
    assert [b - a for a, b in itertools.pairwise(times[1:])] == pytest.approx([0.1] * 3)


async def test_a_law_taken_and_given_back_shows_and_spaces_as_it_should(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tally = Tally()
    gate = Gate(None, tally)
    now = trio.current_time()
    gate.hand_over(now, AdaptiveRate(start=20.0))
    assert tally.snapshot().rate == 20.0  # shown like auto's
    assert tally.snapshot().settled_rate is None
    first = await gate.admit()
    second = await gate.admit()
    assert second.sent_at - first.sent_at == pytest.approx(0.05)  # one by one, at 20/s
    gate.give_back()
    assert tally.snapshot().rate is None
    assert gate.adaptive is None
    third = await gate.admit()
    fourth = await gate.admit()
    assert fourth.sent_at == third.sent_at  # fixed pacing without a cap: at once


async def test_a_retry_is_shown_by_its_reason_cut_to_sixty_characters(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[str] = []

    class Watch:
        def update(self, stats: RunStats) -> None:
            seen.append(stats.last_retry)

        def tick(self, stats: RunStats) -> None:
            seen.append(stats.last_retry)

        def warn(self, message: str) -> None:
            pass

    attempts: list[int] = []

    async def fetch(item: int) -> int:
        attempts.append(item)
        if len(attempts) == 1:
            raise FetchError(FailureKind.SERVER_ERROR, "x" * 100, path="/trades/1")
        await trio.sleep(3.0)  # long enough for the ticks to show the retry
        return item

    async def commit(outcomes: list[Outcome[int, int]]) -> None:
        pass

    config = PipelineConfig(concurrency=1, delay=0.0, rules=SITE_RULES,
                            retry=RetryPolicy(base=0.01, cap=0.01))  # fmt: skip
    await run_pipeline([1], fetch, commit, config, progress=Watch())
    assert "x" * 60 in seen  # the reason (no page), cut for a line of progress
    assert max(len(shown) for shown in seen) == 60


async def test_a_capped_gate_that_gave_a_law_back_admits_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = Gate(10.0, Tally())
    await gate.admit()
    gate.hand_over(trio.current_time(), AdaptiveRate(start=5.0))
    await gate.admit()
    await trio.sleep(5.0)
    gate.give_back()
    with trio.fail_after(0.2):  # the grid starts again from now, not from a slot of the law
        ticket = await gate.admit()
    assert ticket.rate is None


# --- the gate: fixed pacing's hand-over ------------------------------------------------------


async def hand_over(gate: Gate) -> None:
    """Two pauses, each followed by refusals of what left after it: the watch hands over."""
    for _ in range(2):
        gate.pause(1.0, "HTTP 429 Retry-After")
        tickets = [await gate.admit() for _ in range(5)]
        for ticket in tickets[:2]:
            gate.answered(ticket, Signal.LIMITED)
        if gate.adaptive is None:
            for ticket in tickets[2:]:
                gate.answered(ticket, Signal.OK)


async def test_the_law_taken_keeps_under_max_rps_and_the_trial_counts_only_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tally = Tally()
    gate = Gate(20.0, tally)
    await hand_over(gate)
    law = gate.adaptive
    assert law is not None
    assert law.ceiling == pytest.approx(20.0 / Gate.MARGIN)
    assert tally.snapshot().rate == law.sending
    fixed = gate.watch
    assert fixed is not None
    accepted = fixed.answers_kept
    while gate.adaptive is law:  # every answer of the trial is a refusal
        ticket = await gate.admit()
        await trio.sleep(0.1)
        gate.answered(ticket, Signal.LIMITED)
    assert gate.adaptive is None  # given back at the trial's end
    assert fixed.trial_answers == 0  # a refusal is not an answer
    assert fixed.quiet_until > trio.current_time()
    assert tally.snapshot().rate is None
    gate.answered(ticket, Signal.OK)  # an answer to the law's request: not fixed pacing's news
    assert fixed.answers_kept == accepted


async def test_a_settled_law_is_shown_as_settled_after_each_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tally = Tally()
    gate = Gate(None, tally, adaptive=AdaptiveRate(start=10.0, remembered=True))
    ticket = await gate.admit()
    gate.answered(ticket, Signal.OK)
    assert tally.snapshot().settled_rate == 10.0


async def test_a_gate_starts_a_fresh_law_now_and_a_used_one_where_it_was(
    autojump_clock: trio.testing.MockClock,
) -> None:
    await trio.sleep(3.0)
    fresh = AdaptiveRate(start=8.0)
    tally = Tally()
    gate = Gate(None, tally, adaptive=fresh)
    assert fresh.history == [(trio.current_time(), 8.0)]
    assert (tally.snapshot().rate, tally.snapshot().settled_rate) == (8.0, None)
    assert gate.watch is None  # `--max-rps auto` from the start: no watch on fixed pacing
    used = AdaptiveRate(start=6.0, remembered=True)
    used.begin(1.0)  # an earlier stage of the same command
    shown = Tally()
    Gate(None, shown, adaptive=used)
    assert used.history == [(1.0, 6.0)]
    assert (shown.snapshot().rate, shown.snapshot().settled_rate) == (6.0, 6.0)


def test_a_rate_cap_must_be_positive_and_may_be_below_one() -> None:
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"^max_rps must be positive$"):
            Gate(bad, Tally())
    assert Gate(0.5, Tally()).max_rps == 0.5


@pytest.mark.parametrize(("cap", "late", "count", "span"), [
    (1.0, 0.4, 12, 11.73), (1.5, 0.4, 12, 13.62), (2.0, 0.4, 12, 6.065), (3.5, 0.4, 12, 5.6171),
    (3.5, 0.05, 30, 11.2329),
])  # fmt: skip
async def test_late_wake_ups_never_let_more_than_the_cap_through_in_a_second(
    autojump_clock: trio.testing.MockClock, cap: float, late: float, count: int, span: float
) -> None:
    """Wake-ups late by `late` bunch the slots; the log of send times holds the line."""

    async def very_late(deadline: float) -> None:
        await trio.sleep_until(deadline + late)

    gate = Gate(cap, Tally(), sleep_until=very_late)
    sent = [(await gate.admit()).sent_at for _ in range(count)]
    allowed = int(cap)  # whole requests in any window of Gate.WINDOW seconds
    for first, moment in enumerate(sent):
        inside = [t for t in sent[first:] if t - moment < Gate.WINDOW]
        assert len(inside) <= max(1, allowed), (cap, sent)
    # and no slower than the grid and the log make it (one admitter, on the virtual clock:
    # 1/s is 11 slots of 1.03 s after the first late one; 3.5/s is held by the log; at 1.5/s
    # the log holds one: a second request in a window waits for the first to leave it)
    assert sent[-1] - sent[0] == pytest.approx(span, abs=1e-3)
