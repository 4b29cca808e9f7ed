"""`--max-rps auto`: find the rate a site allows from what it answers, and stay just under it.

The control law is a *probe-and-hold search* on the request rate, helped by a reading of the
site's answers as a token bucket (`BucketFit`), and capped by any limit the site states:

* **start**: from a conservative rate (the polite defaults' ~5/s, or a remembered rate),
  double after every healthy round (`EPOCH`, a quarter second and two requests), until the
  site first says "slow down";
* **first crossing** (a refusal): held at the rate of the round before the refused one, less
  `MARGIN` (the likeliest good rate: that round passed whole), without the old search's
  8-second proofs. A refusal to come is read with this one by the fit; a held rate far under
  the refused one is climbed from (`CLIMB_STEP` per `PROOF`) after `PROBE_FIRST` seconds;
* **search**: every "slow down" at rate `x` proves the limit is below `x` (`high`); every
  `PROOF` seconds at a rate without one proves it is about there or above (`low`). The rate
  goes to the middle of the two until they are within `SETTLE` of each other;
* **hold**: at `low`. Every `PROBE_EVERY` seconds it tries `PROBE_STEP` more, in case the limit
  rose; a "slow down" there sends it back to `low`.

"Slow down" is a 429 (or 403, or a 5xx that says when to come back), a burst of 5xx or
timeouts (one alone is noise), or answers whose latency rose well above the site's own
unloaded latency: a site that slows under load says so before it errors. One signal is acted
on once: answers to requests sent before the last cut are the same news (and latency of
requests sent within `LATENCY_GRACE` after it still waits behind the old rate's queue). A
signal at a rate already proven healthy means the limit fell: `low` steps just under it, and
halves if that is refused again within `PROOF`.

**The fit** (``_site_limit.BucketFit``): every answer since the limit last changed, read as a
token bucket would have given it. Every refusal narrows `low` and `high` to the rates that fit,
and is held at the least of them when the band is narrow; when no bucket fits any more, the
limit changed, and the answers from then on are read alone.

**A stated limit** (``_site_limit.StatedLimit``): taken at its word at the first answer that
says it: `state()` holds just under it (`STATED_MARGIN`) and follows it as it moves (up only
while nothing was refused). The gate applies it in every mode.

Why these choices (model: benchmarks/model_rate.py, real runs: BENCHMARKS.md, scenario R): each
refusal costs a pause of every worker for its Retry-After, so the number of crossings is what
costs throughput, not how far; a burst hides a rate above the limit for burst/excess seconds,
so a short round cannot prove a rate, and a single crossing cannot tell the limit from the
burst. The old law (grow 1.5x a second, search in 8 s proofs) paid ~5 s of every cold start:
1.18 of the ideal wall for 600 pages at a hidden 20/s (the model; now 1.04, and 1.054 in the
real run). Doubling per quarter second costs ~0.3 s of ramp from 5/s; holding the round before
the crossing costs nothing more when the limit lies on the ramp's rates (5, 10, 20, 40: 20/s,
the figure the issue names) and up to half the limit when it does not (27/s: 1.19 for 600 pages
in the model, against 1.27 of the old law), which the climb after `PROBE_FIRST` and the fit
recover. `PROBE_FIRST` is 30 s: a climb costs one crossing (~0.8 s at 20/s), too much for a
30-second run that already sits at its limit. A margin of 0.5% is enough under a fitted or
passed rate: the gate keeps its grid, and the site's burst absorbs the jitter of sending.

Sans-io: times are passed in; the pipeline's gate asks :attr:`AdaptiveRate.rate` for the
spacing of its slots and reports every answer.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .site_limit import BucketFit

__all__ = ["COLD_START_RATE", "AdaptiveRate", "AfterPause", "PauseWatch", "Phase", "Signal"]

#: Where the law starts without a remembered rate: about the rate of the polite defaults
#: (3 workers, each pausing 500 ms before a request of ~100 ms).
COLD_START_RATE = 5.0


def _median(values: Iterable[float]) -> float:
    """The median (the statistics module would import decimal and fractions at start-up)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class Signal(enum.Enum):
    OK = "ok"
    LIMITED = "limited"  # 429 / 403: the site's rate limit
    OVERLOADED = "overloaded"  # 5xx, timeout: one is noise, a burst is load
    OTHER = "other"  # an answer that says nothing about load (not found, a bad page)


class Phase(enum.StrEnum):
    START = "start"
    SEARCH = "search"
    HOLD = "hold"
    PROBE = "probe"


@dataclass(slots=True)
class AdaptiveRate:
    """The rate (requests per second) the gate spaces its slots by, adapted from answers."""

    start: float
    ceiling: float | None = None  # never above: `auto:30`, or robots.txt's rate
    floor: float = 0.2
    # The start rate was learned by an earlier run (and already has a margin): hold it and
    # probe from there instead of searching from scratch.
    remembered: bool = False

    GROWTH = 2.0  # start phase: after each healthy round
    EPOCH = 0.25  # seconds of the start phase's rounds
    MARGIN = 0.005  # a rate found is held this much under
    PROOF = 8.0  # seconds at a rate with no signal before it counts as allowed
    SETTLE = 0.06  # hold once low and high are this close (a share of high)
    PROBE_FIRST = 30.0  # seconds held before climbing, when only the first crossing is known
    PROBE_EVERY = 60.0  # seconds held before trying a little more
    PROBE_STEP = 1.03
    CLIMB_STEP = 1.1  # a probe's step while the limit is known only within the first crossing
    STATED_MARGIN = 1.03  # a stated rate is kept this far under (as robots.txt's is)
    BURST_WINDOW = 2.0  # seconds in which 5xx answers count as a burst
    BURST_COUNT = 2  # ... this many of them
    LATENCY_FACTOR = 1.8  # a recent median latency this much over the baseline is load
    LATENCY_SLACK = 0.05  # ... and at least this many seconds over it (a busy client's noise)
    LATENCY_SAMPLES = 15  # answers in a window; two windows in a row must show the rise
    BASELINE_SAMPLES = 30  # the first answers, at the gentle start rate: the unloaded latency
    LATENCY_GRACE = 0.5  # seconds after a cut whose requests' latency is not read
    LOAD_STEP = 1.25  # a step down on load with nothing proven

    rate: float = 0.0
    phase: Phase = Phase.START
    low: float = 0.0  # the highest rate proven allowed
    high: float | None = None  # the lowest rate the site said "slow down" at
    since: float = 0.0  # when the rate was last set
    last_cut: float = -1e18  # when the rate was last cut (answers to earlier sends are old news)
    signals: int = 0  # "slow down" signals acted on
    reasons: dict[str, int] = field(default_factory=dict)  # signals acted on, by reason
    history: list[tuple[float, float]] = field(default_factory=list)  # (time, rate) changes
    stated: float | None = None  # the rate the site states, once it has (a ceiling)
    fit: BucketFit = field(default_factory=BucketFit)
    _sent: int = 0  # requests sent at the current rate
    _overloads: deque[float] = field(default_factory=deque)
    _recent: deque[float] = field(default_factory=deque)  # latencies since the last cut
    _first: list[float] = field(default_factory=list)  # the first latencies, for the baseline
    _baseline: float | None = None  # the site's unloaded latency (a median)
    _slow_windows: int = 0  # windows in a row whose median latency was over the threshold

    _contradicted_at: float = -1e18  # when a proven rate was last refuted
    # The rate requests really left at over the last stretch at one rate (None until one has
    # lasted long enough to tell), and the most of it seen: the law's rate is a ceiling the
    # workers may not reach (held back by their number or their pauses), and a rate that was
    # never sent is neither shown nor remembered.
    achieved: float | None = None
    peak_achieved: float = 0.0
    _first_sent: float | None = None  # when the first request at the current rate left

    def __post_init__(self) -> None:
        self.rate = self._bounded(self.start)
        self.low = self.floor
        if self.remembered:
            self.phase = Phase.HOLD
            self.low = self.rate
            self.high = self.rate * 1.05

    @property
    def sent_at_rate(self) -> int:
        """Requests sent at the current rate (the law is told of each as it leaves)."""
        return self._sent

    def begin(self, now: float) -> None:
        self.since = now
        self.history.append((now, self.rate))

    @property
    def settled(self) -> float | None:
        """The rate found to be allowed, once a limit was found and the search has closed."""
        return self.low if self.phase in (Phase.HOLD, Phase.PROBE) else None

    @property
    def sending(self) -> float:
        """The rate to show: the law's rate, or what was achieved when that is less."""
        return self.rate if self.achieved is None else min(self.rate, self.achieved)

    def learned(self) -> tuple[float, bool] | None:
        """What to remember for the next run: (rate, whether a limit was found), or None
        when nothing was learned (the rate never moved). Never more than was achieved."""
        peak = self.peak_achieved or self.rate
        if self.high is not None:
            if self.low > self.floor:
                return min(self.low, peak), True
            return min(self.rate, self.high * 0.8, peak), True
        if len(self.history) > 1:
            return min(self.rate, peak), False
        return None

    def sent(self, now: float | None = None) -> float:
        """A request leaves (at `now`): the rate it left at (pass it back with its answer)."""
        if now is not None:
            self.fit.sent(now)
            if not self._sent:
                self._first_sent = now
        self._sent += 1
        return self.rate

    def state(self, now: float, rate: float) -> None:
        """The site states its limit, `rate` requests per second: the law keeps to it (just
        under) from now on, and follows it as it changes, up only while the site has refused
        nothing (a refusal says more than a statement)."""
        self.stated = rate
        capped = self._bounded(rate / self.STATED_MARGIN)
        lower = capped < self.rate / 1.01
        if lower or (not self.signals and capped > self.rate * 1.01):
            self.phase = Phase.HOLD
            self.low, self.high = capped, rate
            self._set(now, capped, cut=lower)

    def answered(
        self, now: float, sent_at: float, sent_rate: float, signal: Signal, latency: float
    ) -> None:
        """An answer to a request sent at `sent_at` at `sent_rate`, after `latency` seconds."""
        if signal is not Signal.OVERLOADED:
            self.fit.add(sent_at, signal is not Signal.LIMITED)
        if signal is Signal.LIMITED:
            self._slow_down(now, sent_at, sent_rate, "rate limited")
            return
        if signal is Signal.OVERLOADED:
            overloads = self._overloads
            overloads.append(now)
            while overloads and now - overloads[0] > self.BURST_WINDOW:
                overloads.popleft()
            if len(overloads) >= self.BURST_COUNT:
                self._slow_down(now, sent_at, sent_rate, "server errors")
            return
        # Requests sent just after a cut still queue behind those sent before it: their
        # latency is the old rate's, so it is not read.
        fresh = sent_at >= self.last_cut + self.LATENCY_GRACE
        if signal is Signal.OK and fresh and self._latency_rose(latency):
            self._slow_down(now, sent_at, sent_rate, "latency")
            return
        self._advance(now)

    # --- the law --------------------------------------------------------------------------------

    def _latency_rose(self, latency: float) -> bool:
        """Whether the median of the recent latencies rose well above the baseline.

        The baseline is the median of the run's first answers, sent at the gentle start rate.
        (A running minimum of recent medians would not do: the least of many noisy medians
        sits well under the true one, and ordinary noise then looks like load.) It moves down
        only when the site became clearly faster."""
        if self._baseline is None:
            self._first.append(latency)
            if len(self._first) >= self.BASELINE_SAMPLES:
                self._baseline = _median(self._first)
            return False
        recent = self._recent
        recent.append(latency)
        if len(recent) < self.LATENCY_SAMPLES:
            return False
        median = _median(recent)
        recent.clear()  # windows do not overlap: two in a row are two separate looks
        baseline = self._baseline
        if median < baseline / 1.5:
            self._baseline = median
        slow = median > baseline * self.LATENCY_FACTOR and median > baseline + self.LATENCY_SLACK
        # A client on a busy machine sees a window of late answers now and then; a site
        # slowing under load stays slow.
        self._slow_windows = self._slow_windows + 1 if slow else 0
        return self._slow_windows >= 2

    def _slow_down(self, now: float, sent_at: float, sent_rate: float, reason: str) -> None:
        if sent_at < self.last_cut:
            return  # sent before the last cut: already acted on
        self.signals += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.high = sent_rate if self.high is None else min(self.high, sent_rate)
        limited = reason == "rate limited"
        if self.phase is Phase.START:
            # The round before the refused one passed whole: the likeliest good rate, though
            # a round does not prove it (a limiter's burst can hide an excess that long).
            start_over = max(self.low, sent_rate / self.GROWTH)
            if limited:
                # Held there: a refusal to come is read with this one by the fit, and a
                # rate under the limit is climbed from after PROBE_FIRST.
                self.phase = Phase.HOLD
                self.low = start_over * (1 - self.MARGIN)
                self._set(now, self.low, cut=True)
            else:
                self.phase = Phase.SEARCH
                self._set(now, start_over, cut=True)
            return
        if self.low >= self.high:
            # A rate proven allowed is refused now: its proof was a limiter's burst (the
            # limit is just under it), or the limit fell. Step just under it; halve if that
            # is refused again soon after (the limit fell far).
            again = now - self._contradicted_at < self.PROOF
            self._contradicted_at = now
            self.low = max(self.floor, self.high * (0.5 if again else 0.97))
            if again:
                self.phase = Phase.SEARCH  # search again between half and the refused rate
        band = self._refine(now, sent_at, sent_rate) if limited else None
        if band is not None:
            # The rates a bucket could have, answering as the site did: held just under the
            # least when they are few (the limit is found), searched between otherwise.
            # After a change of the limit, the safe rate is held first: refusals stop, and
            # a held rate is climbed from later.
            least, greatest = band
            found = greatest <= least * (1 + self.SETTLE) or self.fit.since > -math.inf
            self.phase = Phase.HOLD if found else Phase.SEARCH
        if (
            self.phase in (Phase.HOLD, Phase.PROBE)
            or self.high - self.low <= self.SETTLE * self.high
        ):
            self.phase = Phase.HOLD
            self._set(now, self.low, cut=True)
            return
        if self.low <= self.floor:
            # Nothing proven yet: step down as the start phase stepped up (a refusal), or by
            # less (load: its signal comes late, from a queue the start phase built up).
            self._set(now, self.high / (self.GROWTH if limited else self.LOAD_STEP), cut=True)
            return
        self._set(now, (self.low + self.high) / 2, cut=True)

    def _refine(self, now: float, sent_at: float, sent_rate: float) -> tuple[float, float] | None:
        """Narrow the search by the fit: the least rate of a bucket that answers as the site
        did is safe (`low`), the greatest bounds the limit (`high`). The band of rates, when
        the fit knows both ends."""
        fit = self.fit
        top = sent_rate * 1.02  # a bucket this fast would not have refused it
        found = fit.rates(top)
        if found is None:
            # No bucket answers as the site did, this refusal included: the limit changed.
            # The answers from now on are read alone, with the burst found before.
            fit.changed(sent_at, now, top)
            return None
        least, greatest = found
        assert self.high is not None
        self.high = min(self.high, greatest)
        if least is None:
            return None
        safe = min(least, sent_rate) * (1 - self.MARGIN)
        # The fit's least rate is safe; a guess of the search above the fit's greatest is not.
        self.low = safe if self.low >= self.high else max(self.low, safe)
        return least, greatest

    def _advance(self, now: float) -> None:
        """After a healthy stretch at the current rate: the next step of the phase."""
        held = now - self.since
        if self.phase is Phase.START:
            if held >= self.EPOCH and self._sent >= 2:
                # Counted from the round's first request: the run's first round also holds
                # its connections' setting up, which says nothing of what workers can send.
                began = (
                    self.since if self._first_sent is None else max(self.since, self._first_sent)
                )
                achieved = self._sent / max(now - began, 1e-9)
                if achieved >= 0.7 * self.rate:  # not held back by the concurrency
                    self._set(now, self.rate * self.GROWTH)
                else:
                    # From what was sent, not from the ceiling: growth stays within a step
                    # of a rate the site has seen.
                    self._set(now, achieved * self.GROWTH)
            return
        wide = self.high is not None and self.high > 1.2 * self.low
        if self.phase is Phase.HOLD:
            if held >= (self.PROBE_FIRST if wide else self.PROBE_EVERY):
                self.phase = Phase.PROBE
                self._set(now, self.rate * (self.CLIMB_STEP if wide else self.PROBE_STEP))
            return
        if held < self.PROOF:
            return
        self.low = max(self.low, self.rate)
        if self.high is not None and self.high <= self.low:
            self.high = None  # the limit moved up
        if self.phase is Phase.PROBE:
            if self.high is None:
                # Above every rate the site refused: the limit rose. Keep climbing, gently.
                self._set(now, self.rate * self.PROBE_STEP)
            elif self.high > 1.2 * self.low:
                self._set(now, self.rate * self.CLIMB_STEP)  # still far under the refused rate
            else:
                self.phase = Phase.HOLD
                self._set(now, self.low)
            return
        high = self.high
        if high is None:
            self.phase = Phase.START
            self._set(now, self.rate * self.GROWTH)
        elif high - self.low <= self.SETTLE * high:
            self.phase = Phase.HOLD
            self._set(now, self.low)
        else:
            self._set(now, (self.low + high) / 2)

    def _set(self, now: float, rate: float, *, cut: bool = False) -> None:
        held = now - self.since
        if held >= self.EPOCH / 2 and self._sent >= 2:
            self.achieved = min(self._sent / held, self.rate)
            self.peak_achieved = max(self.peak_achieved, self.achieved)
        self.rate = self._bounded(rate)
        self.since = now
        self._sent = 0
        self._first_sent = None
        if cut:
            self.last_cut = now
            self._recent.clear()
            self._overloads.clear()
            self._slow_windows = 0
        self.history.append((now, self.rate))

    def _bounded(self, rate: float) -> float:
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        if self.stated is not None:
            rate = min(rate, self.stated / self.STATED_MARGIN)
        return max(self.floor, rate)


@dataclass(slots=True)
class PauseWatch:
    """Fixed pacing's watch on its `Retry-After` pauses: whether they cure the site's refusals.

    Fixed pacing lets every worker leave the moment a pause ends. Against a hard limit they
    spend its burst together and are refused again at once: ten workers without a pause
    against a hidden 20/s took 207 s for 1,000 pages (~50 s is the limit), 782 answers 429,
    13 items failed. So when UNCURED pauses in a row did not cure (REFUSED_SHARE or more of
    what left in the AFTER_PAUSE seconds after each is refused again, at least two) the gate
    hands over to the adaptive law of `--max-rps auto`, which lets requests out one by one at
    the rate the site accepts (58 s, 1.9% answered 429, none failed). The law starts from the
    answers per second the site gave over the last WINDOW seconds, pauses included: a token
    bucket passes no more than its rate and its burst, so that is about the limit or below,
    not the rate that overran it.

    A site that refuses now and then at any rate (a lockout after a random 429 refuses all in
    flight, and its end can race the client's) shows one such pause now and then, two in a row
    hardly ever. Were the law taken there, it would read each later refusal as "too fast" and
    slow to a crawl (minutes instead of a minute, measured). So the law is on trial for
    TRIAL_SECONDS: against a limit it gets more answers per second than the pace it replaced,
    which lost its time in pauses; against refusals at any rate, far fewer. Below GIVE_BACK
    times the answers per second before it, the law goes and fixed pacing comes back; the
    watch then waits QUIET seconds (twice as long each time) before it hands over again.

    Sans-io: times are passed in.
    """

    AFTER_PAUSE = 1.0  # seconds after a pause whose requests tell whether the pause cured it
    REFUSED_SHARE = 0.2  # ... refused this much of them (at least 2): a limit, not noise
    UNCURED = 2  # pauses in a row that did not cure
    WINDOW = 10.0  # seconds of answers before a hand-over: the rate the site accepted
    TRIAL_SECONDS = 10.0
    GIVE_BACK = 0.4
    QUIET = 60.0

    quiet_until: float = -1e18
    quiet: float = QUIET
    # The latest pauses: UNCURED of them and the next, which may begin before the answers
    # to the requests after the last one come in.
    _after_pauses: deque[AfterPause] = field(
        default_factory=lambda: deque(maxlen=PauseWatch.UNCURED + 1)
    )
    # When fixed pacing's latest answers came (a full log covers less than WINDOW: the rate
    # is then taken over the time it covers).
    _accepted: deque[float] = field(default_factory=lambda: deque(maxlen=1024))
    # The law taken, on trial: when it was taken, the rate of answers before it, its answers.
    _trial: tuple[float, float] | None = None
    _trial_answers: int = 0

    @property
    def answers_kept(self) -> int:
        """Fixed pacing's answers kept for the rate a law taken starts from."""
        return len(self._accepted)

    @property
    def trial_answers(self) -> int:
        """The answers the law on trial has had (refusals are not answers)."""
        return self._trial_answers

    @property
    def latest_pause(self) -> AfterPause | None:
        """What the watch knows of the latest pause (a copy), None before any."""
        return replace(self._after_pauses[-1]) if self._after_pauses else None

    def paused(self, now: float, until: float) -> None:
        """Every worker is held until `until` (a new pause, or a longer one)."""
        windows = self._after_pauses
        if windows and now < windows[-1].ends:
            windows[-1].ends = until  # a longer pause: it ends later
        else:
            windows.append(AfterPause(until))

    def sent(self, now: float) -> None:
        """A request leaves by fixed pacing."""
        latest = self._after_pauses[-1] if self._after_pauses else None
        if latest is not None and 0.0 <= now - latest.ends < self.AFTER_PAUSE:
            latest.sent += 1

    def accepted(self, now: float) -> None:
        """A request fixed pacing sent was answered, not refused."""
        self._accepted.append(now)

    def refused(self, now: float, sent_at: float, ceiling: float | None) -> AdaptiveRate | None:
        """A request fixed pacing sent at `sent_at` was refused: the law to hand over to
        (never above `ceiling`) when this refusal shows that a pause did not cure, else None."""
        windows = list(self._after_pauses)
        after = [k for k, w in enumerate(windows) if 0.0 <= sent_at - w.ends < self.AFTER_PAUSE]
        if not after:
            return None
        window = windows[after[0]]
        window.refused += 1
        if window.refused >= 2 and window.refused >= self.REFUSED_SHARE * window.sent:
            window.uncured = True
        # This pause and the ones before it (the next may have begun already).
        in_a_row = windows[: after[0] + 1][-self.UNCURED :]
        if len(in_a_row) < self.UNCURED or not all(w.uncured for w in in_a_row):
            return None
        if now < self.quiet_until:
            return None
        accepted = self._accepted
        seen = min(self.WINDOW, now - accepted[0]) if accepted else self.WINDOW
        before = sum(1 for moment in accepted if now - moment <= seen) / max(seen, 1.0)
        law = AdaptiveRate(start=max(COLD_START_RATE, before), ceiling=ceiling)
        law.begin(now)
        self._trial = (now, before)
        self._trial_answers = 0
        return law

    def keeps(self, now: float, signal: Signal) -> bool:
        """Whether the law taken stays (call with each answer it was told): False when its
        trial ends with fewer answers per second than GIVE_BACK times those before it."""
        if self._trial is None:
            return True  # its trial is over: it stays
        if signal is not Signal.LIMITED:
            self._trial_answers += 1
        taken_at, before = self._trial
        if now - taken_at < self.TRIAL_SECONDS:
            return True
        self._trial = None
        return self._trial_answers / (now - taken_at) >= self.GIVE_BACK * before

    def gave_back(self, now: float) -> None:
        """The law was given back: fixed pacing again, and no new law for a while."""
        self.quiet_until = now + self.quiet
        self.quiet *= 2
        self._after_pauses.clear()


@dataclass(slots=True)
class AfterPause:
    """One pause, and what became of the requests that left in the second after it."""

    ends: float
    sent: int = 0
    refused: int = 0
    uncured: bool = False  # enough of them were refused: the pause did not cure
