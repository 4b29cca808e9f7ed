"""The adaptive law and fixed pacing's watch, rule by rule at the edges of each rule.

Each test puts the law (sans-io: times are passed in) exactly on a threshold the docstring of
`_pacing` names — a second of start, `PROOF` seconds, `PROBE_EVERY`, `SETTLE`, a window of
`LATENCY_SAMPLES` answers — and checks the side it must fall on. Written against the
mutants of `nox -s mutation` that the behavioural tests in test_pacing.py let live: a rule
moved by one step (`>=` for `>`, a window of 16 for 15) changed no end-to-end figure there.
Times start at 10.0, not 0.0, so that a time added where it should be subtracted shows.
"""

from __future__ import annotations

import pytest

from trio_enrich.core.pacing import COLD_START_RATE, AdaptiveRate, PauseWatch, Phase, Signal

T0 = 10.0
OK, LIMITED, OVERLOADED = Signal.OK, Signal.LIMITED, Signal.OVERLOADED


def law_at(rate: float, **settings: object) -> AdaptiveRate:
    law = AdaptiveRate(start=rate, **settings)  # type: ignore[arg-type]
    law.begin(T0)
    return law


def send(law: AdaptiveRate, *times: float) -> None:
    """Requests leave at these times (the law counts them; the times are for the reader)."""
    for _ in times:
        law.sent()


# --- the start phase ---------------------------------------------------------------------------


def test_the_start_phase_doubles_after_a_quarter_second_and_two_requests_not_before() -> None:
    law = law_at(8.0)
    send(law, T0)
    law.answered(T0 + 0.25, T0, 8.0, OK, 0.02)  # one request is no measure of a rate
    assert law.history == [(T0, 8.0)]
    send(law, T0 + 0.1)
    law.answered(T0 + 0.249, T0 + 0.1, 8.0, OK, 0.02)  # not yet a round
    assert law.history == [(T0, 8.0)]
    law.answered(T0 + 0.25, T0 + 0.1, 8.0, OK, 0.02)  # exactly a round, two sent: 8/s
    assert law.history == [(T0, 8.0), (T0 + 0.25, 16.0)]
    assert law.phase is Phase.START
    assert law.achieved == 8.0  # measured over the round: two in a quarter second


def test_the_start_phase_doubles_the_rate_sent_at_seven_tenths_of_it_and_not_below() -> None:
    law = law_at(8.0)
    send(law, *[T0 + k * 0.1 for k in range(7)])
    law.answered(T0 + 1.25, T0, 8.0, OK, 0.02)  # 7 in 1.25 s = 5.6/s = 0.7 x 8: doubles 8
    assert law.rate == pytest.approx(8.0 * AdaptiveRate.GROWTH)
    held_back = law_at(8.0)
    send(held_back, *[T0 + k * 0.1 for k in range(7)])
    held_back.answered(T0 + 1.4, T0, 8.0, OK, 0.02)  # 5/s: the workers cannot send more
    assert held_back.rate == pytest.approx(5.0 * AdaptiveRate.GROWTH)  # doubles what was sent


def test_a_growth_step_is_not_a_cut_a_refusal_sent_before_it_still_counts() -> None:
    law = law_at(2.0)
    send(law, T0, T0 + 0.5)
    law.answered(T0 + 1.0, T0 + 0.5, 2.0, OK, 0.02)  # grows to 4/s
    law.answered(T0 + 1.1, T0 + 0.9, 2.0, LIMITED, 0.2)  # sent before the step, at 2/s
    assert law.signals == 1
    assert law.high == 2.0
    # Held at the rate before the refused one (there was none: the floor), just under.
    assert (law.phase, law.rate) == (Phase.HOLD, pytest.approx(1.0 * 0.995))


def test_what_was_achieved_is_measured_over_an_eighth_of_a_second_or_more_of_two() -> None:
    law = law_at(4.0)
    send(law, T0, T0 + 0.05)
    law.answered(T0 + 0.124, T0 + 0.05, 4.0, LIMITED, 0.1)  # the cut comes too soon
    assert law.achieved is None  # too short to tell
    law = law_at(4.0)
    send(law, T0, T0 + 0.05)
    law.answered(T0 + 0.125, T0 + 0.05, 4.0, LIMITED, 0.1)  # exactly an eighth of a second
    assert law.achieved == 4.0
    assert law.peak_achieved == 4.0
    law = law_at(4.0)
    send(law, T0)
    law.answered(T0 + 0.5, T0, 4.0, LIMITED, 0.1)  # one request: no rate
    assert law.achieved is None


# --- signals and cuts --------------------------------------------------------------------------


def test_every_signal_is_counted_once_under_its_reason_and_the_limit_is_the_least_refused() -> None:
    law = law_at(2.0)
    send(law, T0, T0 + 0.5)
    law.answered(T0 + 1.0, T0 + 0.5, 2.0, OK, 0.02)  # grows to 4/s
    law.answered(T0 + 1.5, T0 + 0.9, 2.0, LIMITED, 0.1)  # 2/s refused: held at 1/s, less 0.5%
    assert (law.phase, law.rate, law.high) == (Phase.HOLD, pytest.approx(0.995), 2.0)
    # Sent the instant of the cut, but before it (at 4/s): after it, so acted on.
    law.answered(T0 + 1.7, T0 + 1.5, 4.0, LIMITED, 0.1)
    assert law.signals == 2
    assert law.reasons == {"rate limited": 2}
    assert law.high == 2.0  # the least rate refused, not the latest
    assert (law.phase, law.rate) == (Phase.HOLD, pytest.approx(0.995))


@pytest.mark.parametrize("branch", ["hold", "nothing proven", "between"])
def test_each_kind_of_cut_makes_earlier_answers_old_news(branch: str) -> None:
    if branch == "hold":  # a remembered rate refused: just under it, held
        law = law_at(10.0, remembered=True)
        law.answered(T0 + 1.0, T0 + 0.9, 10.0, LIMITED, 0.1)
        assert (law.phase, law.rate) == (Phase.HOLD, pytest.approx(9.7))
    elif branch == "nothing proven":
        law = law_at(6.0)
        law.phase, law.high = Phase.SEARCH, 6.0
        law.answered(T0 + 1.0, T0 + 0.9, 6.0, LIMITED, 0.1)
        assert law.rate == pytest.approx(6.0 / AdaptiveRate.GROWTH)
    else:  # between the proven rate and the refused one
        law = law_at(8.0)
        law.phase, law.low, law.high = Phase.SEARCH, 4.0, 10.0
        law.answered(T0 + 1.0, T0 + 0.9, 8.0, LIMITED, 0.1)
        assert law.rate == 6.0
    rate, signals = law.rate, law.signals
    law.answered(T0 + 1.2, T0 + 0.95, 8.0, LIMITED, 0.1)  # sent before the cut
    law.answered(T0 + 1.3, T0 + 0.99, 8.0, OVERLOADED, 5.0)
    law.answered(T0 + 1.4, T0 + 0.99, 8.0, OVERLOADED, 5.0)  # a burst, but old news too
    assert (law.rate, law.signals) == (rate, signals)
    assert law.last_cut == T0 + 1.0


def test_two_server_errors_two_seconds_apart_are_still_a_burst() -> None:
    law = law_at(5.0)
    law.answered(T0 + 1.0, T0 + 0.9, 5.0, OVERLOADED, 0.1)
    law.answered(T0 + 3.0, T0 + 2.9, 5.0, OVERLOADED, 0.1)  # exactly BURST_WINDOW later
    assert law.reasons == {"server errors": 1}
    apart = law_at(5.0)
    apart.answered(T0 + 1.0, T0 + 0.9, 5.0, OVERLOADED, 0.1)
    apart.answered(T0 + 3.01, T0 + 2.9, 5.0, OVERLOADED, 0.1)
    assert apart.signals == 0


def test_a_refusal_soon_after_the_last_means_the_limit_fell_far() -> None:
    for gap, halved in ((AdaptiveRate.PROOF - 0.01, True), (AdaptiveRate.PROOF, False)):
        law = law_at(10.0, remembered=True)
        law.answered(T0 + 1.0, T0 + 0.9, 10.0, LIMITED, 0.1)  # refused: just under, 9.7
        assert law.low == pytest.approx(9.7)
        law.answered(T0 + 1.0 + gap, T0 + 1.0, law.rate, LIMITED, 0.1)  # 9.7 refused too
        if halved:
            assert law.low == pytest.approx(9.7 * 0.5)
            assert law.phase is Phase.SEARCH
        else:
            assert law.low == pytest.approx(9.7 * 0.97)
            assert law.phase is Phase.HOLD


# --- proofs, holding and probing -----------------------------------------------------------------


def test_a_held_rate_is_probed_after_exactly_a_minute_and_proven_after_eight_seconds() -> None:
    law = law_at(10.0, remembered=True)  # held at 10, refused above 10.5
    law.answered(T0 + 59.99, T0 + 59.9, 10.0, OK, 0.02)
    assert law.phase is Phase.HOLD
    law.answered(T0 + 60.0, T0 + 59.9, 10.0, OK, 0.02)
    assert (law.phase, law.rate) == (Phase.PROBE, 10.3)
    probe = T0 + 60.0
    law.answered(probe + 7.99, probe + 7.9, 10.3, OK, 0.02)
    assert law.low == 10.0  # not proven yet
    law.answered(probe + 8.0, probe + 7.9, 10.3, OK, 0.02)
    assert (law.phase, law.rate, law.low, law.high) == (Phase.HOLD, 10.3, 10.3, 10.5)
    assert law.settled == 10.3
    # The next probe, 10.609, passes the old limit: the limit moved up; the law climbs on.
    law.answered(probe + 68.0, probe + 67.9, 10.3, OK, 0.02)
    assert law.rate == pytest.approx(10.609)
    law.answered(probe + 76.0, probe + 75.9, law.rate, OK, 0.02)
    assert law.high is None
    assert (law.phase, law.rate) == (Phase.PROBE, pytest.approx(10.609 * 1.03))


def test_refused_even_at_the_floor_the_law_climbs_again_once_a_probe_is_proven() -> None:
    law = law_at(0.2)
    law.answered(T0 + 0.1, T0, 0.2, LIMITED, 0.1)
    assert (law.phase, law.rate, law.high) == (Phase.HOLD, 0.2, 0.2)
    law.answered(T0 + 60.2, T0 + 60.0, 0.2, OK, 0.1)  # held a minute: a probe
    assert (law.phase, law.rate) == (Phase.PROBE, pytest.approx(0.206))
    law.answered(T0 + 68.3, T0 + 68.0, 0.206, OK, 0.1)  # proven: the limit is not below it
    assert law.high is None
    assert (law.phase, law.rate) == (Phase.PROBE, pytest.approx(0.206 * 1.03))


def test_the_search_settles_when_low_and_high_are_within_six_percent_of_high() -> None:
    for proven, settles in ((94.0, True), (93.9, False)):
        law = law_at(proven)
        law.phase, law.high = Phase.SEARCH, 100.0
        law.answered(T0 + 8.0, T0 + 7.9, proven, OK, 0.02)
        assert law.low == proven
        if settles:
            assert (law.phase, law.rate) == (Phase.HOLD, proven)
        else:
            assert (law.phase, law.rate) == (Phase.SEARCH, (proven + 100.0) / 2)


def test_without_a_limit_found_what_is_remembered_is_no_more_than_was_achieved() -> None:
    law = law_at(10.0)
    send(law, T0, T0 + 0.5)
    law.answered(T0 + 1.0, T0 + 0.9, 10.0, LIMITED, 0.1)  # only 2/s were ever sent
    assert law.low == pytest.approx(5.0 * 0.995)  # the round before, never sent in full
    assert law.learned() == (2.0, True)


# --- latency -----------------------------------------------------------------------------------


def first_signal(law: AdaptiveRate, latencies: list[float], sent_at: float = T0) -> int | None:
    """Feed OK answers with these latencies (all sent at `sent_at`, after any cut): the
    1-based number of the answer the law first slowed down at, or None."""
    for number, latency in enumerate(latencies, start=1):
        law.answered(sent_at + 0.001 * number, sent_at, law.rate, OK, latency)
        if law.signals:
            return number
    return None


def test_a_rise_shows_in_the_second_window_of_fifteen_after_thirty_answers_of_baseline() -> None:
    law = law_at(5.0, ceiling=5.0)
    assert first_signal(law, [0.1] * 30 + [0.5] * 40) == 60  # 30 + 15 + 15
    assert law.reasons == {"latency": 1}


def test_the_latency_signal_counts_answers_sent_half_a_second_after_a_cut_not_before() -> None:
    for delay, counted in ((AdaptiveRate.LATENCY_GRACE, True), (0.49, False)):
        law = law_at(5.0, ceiling=5.0)
        assert first_signal(law, [0.1] * 30) is None
        law.answered(T0 + 1.0, T0 + 0.9, 5.0, LIMITED, 0.1)
        law.signals = 0
        first = first_signal(law, [0.5] * 30, sent_at=law.last_cut + delay)
        assert first == (30 if counted else None)


@pytest.mark.parametrize(
    ("baseline", "then", "signals"),
    [
        (0.25, 0.45, False),  # exactly 1.8 x the baseline: not over it
        (0.25, 0.4501, True),
        (0.25, 0.31, False),  # above baseline + 0.05 but under 1.8 x
        (0.05, 0.1, False),  # exactly baseline + 0.05 (above 1.8 x): not over it
        (0.05, 0.1001, True),
    ],
)
def test_a_rise_must_pass_both_thresholds_strictly(
    baseline: float, then: float, signals: bool
) -> None:
    law = law_at(5.0, ceiling=5.0)
    found = first_signal(law, [baseline] * 30 + [then] * 45)
    assert (found is not None) is signals


@pytest.mark.parametrize(
    ("faster", "rise", "signals"),
    [
        (0.4, 0.6, True),  # 0.4 is not faster: the baseline stays 0.3, and 0.6 is a rise
        (0.15, 0.3, True),  # 0.15 is clearly faster: the baseline moves to it
        (0.3 / 1.5, 0.4, False),  # exactly a third faster is not clearly faster
    ],
)
def test_the_baseline_moves_down_only_when_the_site_became_clearly_faster(
    faster: float, rise: float, signals: bool
) -> None:
    law = law_at(5.0, ceiling=5.0)
    found = first_signal(law, [0.3] * 30 + [faster] * 30 + [rise] * 30)
    assert (found is not None) is signals
    if signals:
        assert found == 90  # the two windows of the rise, right after: no new baseline first


# --- fixed pacing's watch ------------------------------------------------------------------------


def uncured_pauses(watch: PauseWatch, at: float, accepted: int = 0) -> AdaptiveRate | None:
    """Two pauses at `at` and `at + 3`, each followed by 5 requests of which 2 are refused
    (exactly enough, 2 of 5 > 20%): the law the watch hands over to, or None."""
    law = None
    for start in (at, at + 3.0):
        watch.paused(start, start + 1.0)
        for k in range(5):
            watch.sent(start + 1.0 + 0.125 * k)
        watch.refused(start + 1.5, start + 1.0, None)
        law = watch.refused(start + 1.625, start + 1.125, None)  # (times exact in binary)
    return law


def test_a_request_a_whole_second_after_the_pause_is_not_one_of_its_tests() -> None:
    watch = PauseWatch()
    watch.paused(T0, T0 + 1.0)
    watch.sent(T0 + 1.0)
    watch.sent(T0 + 1.999)
    watch.sent(T0 + 2.0)  # exactly AFTER_PAUSE after its end
    latest = watch.latest_pause
    assert latest is not None
    assert latest.sent == 2


def test_the_watch_hands_over_again_the_moment_its_quiet_time_ends() -> None:
    watch = PauseWatch()
    watch.gave_back(T0)
    assert watch.quiet_until == T0 + PauseWatch.QUIET
    law = uncured_pauses(watch, T0 + PauseWatch.QUIET - 4.625)  # its verdict at quiet_until
    assert law is not None


def test_with_no_answer_yet_the_law_taken_starts_at_the_cold_start_rate() -> None:
    law = uncured_pauses(PauseWatch(), T0)
    assert law is not None
    assert law.rate == COLD_START_RATE


def test_answers_over_less_than_a_second_count_as_a_second() -> None:
    watch = PauseWatch()
    now = T0 + 4.625  # when uncured_pauses gives its verdict
    for k in range(12):
        watch.accepted(now - 0.5 + k * 0.04)  # 12 answers in the last half second
    law = uncured_pauses(watch, T0)
    assert law is not None
    assert law.rate == 12.0  # 12 per second, not 24 (over 0.5 s) nor 6 (over 2 s)


@pytest.mark.parametrize(("answers", "keeps"), [(40, True), (39, False)])
def test_the_trial_ends_after_exactly_ten_seconds_at_four_tenths_of_the_rate_before(
    answers: int, keeps: bool
) -> None:
    watch = PauseWatch()
    now = T0 + 4.625
    watch.accepted(now - 20.0)  # the log covers more than the last 10 s
    for k in range(100):
        watch.accepted(now - 9.95 + k * 0.0995)  # 100 answers in the last 10 s: 10/s
    law = uncured_pauses(watch, T0)
    assert law is not None
    assert law.rate == 10.0
    for k in range(answers - 1):
        assert watch.keeps(now + 0.1 + k * 0.2, OK)
    assert watch.keeps(now + 9.99, LIMITED)  # a refusal is no answer, and still on trial
    assert watch.keeps(now + 10.0, OK) is keeps  # the last answer: 40 in 10 s is 4/s
