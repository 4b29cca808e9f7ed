"""Small rules pinned one by one, where mutation testing (`nox -s mutation`) found a change
that no other test noticed: the walk's bookkeeping, the committee reads, the failure policy
and the gate's counters."""

from __future__ import annotations

import itertools
import json

import pytest
import trio
import trio.testing

from trio_enrich import FailureKind, FetchError
from trio_enrich._gate import Gate
from trio_enrich._model import PoliticianPage
from trio_enrich._pacing import AdaptiveRate, Signal
from trio_enrich._pipeline import Outcome, PipelineConfig, run_pipeline
from trio_enrich._policy import FailureRules, RetryPolicy
from trio_enrich._roster import CommitteeRead, committees_path
from trio_enrich._site import SITE_RULES
from trio_enrich._stats import RunStats, Tally
from trio_enrich._walk import Walk

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
    gate._take(now, AdaptiveRate(start=20.0))
    assert tally.snapshot().rate == 20.0  # shown like auto's
    assert tally.snapshot().settled_rate is None
    first = await gate.admit()
    second = await gate.admit()
    assert second.sent_at - first.sent_at == pytest.approx(0.05)  # one by one, at 20/s
    gate._take(trio.current_time(), None)
    assert tally.snapshot().rate is None
    assert gate.adaptive is None
    third = await gate.admit()
    fourth = await gate.admit()
    assert fourth.sent_at == third.sent_at  # fixed pacing without a cap: at once


def test_a_committee_whose_only_page_has_no_count_is_read_again() -> None:
    from trio_enrich._roster import Roll

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
    gate._take(trio.current_time(), AdaptiveRate(start=5.0))
    await gate.admit()
    await trio.sleep(5.0)
    gate._take(trio.current_time(), None)
    with trio.fail_after(0.2):  # the grid starts again from now, not from a slot of the law
        ticket = await gate.admit()
    assert ticket.rate is None
