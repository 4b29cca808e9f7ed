"""Small rules pinned one by one, where mutation testing (`nox -s mutation`) found a change
that no other test noticed: the walk's bookkeeping, the committee reads, the failure policy
and the gate's counters."""

from __future__ import annotations

import itertools
import json

import pytest
import trio
import trio.lowlevel
import trio.testing

from trio_enrich import FailureKind, FetchError
from trio_enrich._model import PoliticianPage
from trio_enrich.core.gate import Gate
from trio_enrich.core.pacing import AdaptiveRate, Signal
from trio_enrich.core.pipeline import Outcome, PipelineConfig, run_pipeline
from trio_enrich.core.policy import FailureRules, RetryPolicy
from trio_enrich.core.stats import RunStats, Tally
from trio_enrich.site.roster import CommitteeRead, committees_path
from trio_enrich.site.rules import SITE_RULES
from trio_enrich.site.walk import Walk

# --- the walk ------------------------------------------------------------------------------


def test_every_page_read_is_counted_and_an_empty_or_outside_page_covers_nothing() -> None:
    walk = Walk(started_at="2026-12-01T00:00:00Z")
    walk.add_page(1, 12, 30, 12)
    walk.add_page(2, 12, 30, 0)  # a page with no rows covers nothing
    walk.add_page(9, 12, 30, 12)  # a page past the end (its rows cannot be placed)
    assert walk.pages_read == 3
    assert walk.covered == [(19, 30)]
    assert walk.gaps() == [(1, 18)]


def test_a_stored_walk_round_trips_compact_and_with_nothing_seen() -> None:
    walk = Walk(started_at="2026-12-01T00:00:00Z")
    text = walk.to_json()
    assert " " not in text  # compact: it is kept in a meta row
    again = Walk.from_json(text)
    assert again.total is None
    assert again.newest is None
    assert again == walk
    walk.add_page(1, 12, 30, 12, newest="2026-11-30T10:00:00Z")
    assert Walk.from_json(walk.to_json()) == walk


@pytest.mark.parametrize(("covered", "valid"), [
    ([[3, 3]], True), ([[1, 2]], True), ([[0, 2]], False), ([[5, 4]], False),
])  # fmt: skip
def test_a_stored_interval_must_be_positions(covered: list[list[int]], valid: bool) -> None:
    text = json.dumps({"started_at": "x", "covered": covered, "total": 10, "newest": None,
                       "pages_read": 1})  # fmt: skip
    if valid:
        assert Walk.from_json(text).covered == [tuple(covered[0])]
    else:
        with pytest.raises(ValueError, match="interval"):
            Walk.from_json(text)


def test_gaps_stop_at_the_total_and_still_end_with_the_last_one() -> None:
    text = json.dumps({"started_at": "x", "covered": [[1, 5], [20, 25]], "total": 10,
                       "newest": None, "pages_read": 2})  # fmt: skip
    assert Walk.from_json(text).gaps() == [(6, 10)]


# --- committees ----------------------------------------------------------------------------


def test_a_committee_page_path_names_its_page_from_page_2_only() -> None:
    assert committees_path("HSAG", 1) == "/politicians?committee=HSAG"
    assert committees_path("HSAG", 2) == "/politicians?committee=HSAG&page=2"


def test_a_page_read_again_without_a_count_drops_its_old_count() -> None:
    read = CommitteeRead("HSAG")
    read.add(1, PoliticianPage(politicians=(), total_count=30))
    read.add(2, PoliticianPage(politicians=(), total_count=31))
    read.add(2, PoliticianPage(politicians=(), total_count=None))
    assert read.counts == {1: 30}
    assert read.total == 30


def test_why_a_committee_is_not_complete_in_words() -> None:
    read = CommitteeRead("HSAG")
    assert read.problem() == "page 1 not read"
    read.add(1, PoliticianPage(politicians=(), total_count=None))
    assert read.problem() == "no member count on its pages"


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
    assert law._sent == 5  # the law was told of each, at its time
    # spaced by the rate (the first one's slot may sit a quarter interval back)
    assert [b - a for a, b in itertools.pairwise(times[1:])] == pytest.approx([0.1] * 3)


async def test_a_law_taken_and_given_back_shows_and_spaces_as_it_should(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tally = Tally()
    gate = Gate(None, tally)
    now = trio.current_time()
    gate._hand_over(now, AdaptiveRate(start=20.0))
    assert tally.snapshot().rate == 20.0  # shown like auto's
    assert tally.snapshot().settled_rate is None
    first = await gate.admit()
    second = await gate.admit()
    assert second.sent_at - first.sent_at == pytest.approx(0.05)  # one by one, at 20/s
    gate._give_back()
    assert tally.snapshot().rate is None
    assert gate.adaptive is None
    third = await gate.admit()
    fourth = await gate.admit()
    assert fourth.sent_at == third.sent_at  # fixed pacing without a cap: at once


def test_a_committee_whose_only_page_has_no_count_is_read_again() -> None:
    from trio_enrich.site.roster import Roll

    roll = Roll()
    code = next(iter(roll.reads))
    roll.add(code, 1, PoliticianPage(politicians=(), total_count=None))
    assert code in roll.start_over_inconsistent()  # all its pages read, yet not complete
    assert roll.reads[code].pages == {}


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
    gate._hand_over(trio.current_time(), AdaptiveRate(start=5.0))
    await gate.admit()
    await trio.sleep(5.0)
    gate._give_back()
    with trio.fail_after(0.2):  # the grid starts again from now, not from a slot of the law
        ticket = await gate.admit()
    assert ticket.rate is None


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


def test_settings_that_cannot_run_are_refused_by_name() -> None:
    from trio_enrich.core.pipeline import _Run
    from trio_enrich.core.policy import Breaker

    with pytest.raises(ValueError, match=r"^concurrency must be at least 1$"):
        _Run([], Script().fetch, None, PipelineConfig(concurrency=0), None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^max_failures must be at least 1$"):
        Breaker(0)
    breaker = Breaker(2)
    assert not breaker.record(FailureKind.NOT_FOUND)
    assert breaker.record(FailureKind.TIMEOUT)  # by default every kind counts


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
    accepted = len(fixed._accepted)
    while gate.adaptive is law:  # every answer of the trial is a refusal
        ticket = await gate.admit()
        await trio.sleep(0.1)
        gate.answered(ticket, Signal.LIMITED)
    assert gate.adaptive is None  # given back at the trial's end
    assert fixed._trial_answers == 0  # a refusal is not an answer
    assert fixed.quiet_until > trio.current_time()
    assert tally.snapshot().rate is None
    gate.answered(ticket, Signal.OK)  # an answer to the law's request: not fixed pacing's news
    assert len(fixed._accepted) == accepted


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
