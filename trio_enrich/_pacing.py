"""`--max-rps auto`: find the rate a site allows from what it answers, and stay just under it.

The control law is a *probe-and-hold search* on the request rate, in three phases:

* **start**: from a conservative rate (the polite defaults' ~5/s, or a remembered rate), grow
  1.5x after every healthy second, until the site first says "slow down";
* **search**: every "slow down" at rate `x` proves the limit is below `x` (`high`); every
  `PROOF` seconds at a rate without one proves it is about there or above (`low`). The rate
  goes to the middle of the two until they are within `SETTLE` of each other;
* **hold**: at `low`. Every `PROBE_EVERY` seconds it tries `PROBE_STEP` more, in case the limit
  rose; a "slow down" there sends it back to `low`.

"Slow down" is a 429 (or 403), a burst of 5xx or timeouts (one alone is noise), or answers
whose latency rose well above the site's own unloaded latency: a site that slows under load
says so before it errors. One signal is acted on once: answers to requests sent before the
last cut are the same news. A signal at a rate already proven healthy means the limit fell:
`low` is halved (a sharp, AIMD-like cut) and the search starts again from there.

Why not AIMD, or a latency-only law: each 429 costs a pause of every worker for its
Retry-After (a second or more), so the number of times the limit is crossed is what costs
throughput, not how far. AIMD crosses it on every cycle and averages ~75% of it; a search
crosses it a few times, then holds within a few percent (see BENCHMARKS.md for the figures).
A token-bucket limiter lets a rate above its own pass for a while (its burst), which is why
a rate counts as proven only after `PROOF` seconds.

Sans-io: times are passed in; the pipeline's gate asks :attr:`AdaptiveRate.rate` for the
spacing of its slots and reports every answer.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["COLD_START_RATE", "AdaptiveRate", "Phase", "Signal"]

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

    GROWTH = 1.5  # start phase: after each healthy epoch
    EPOCH = 1.0  # seconds of the start phase's steps
    PROOF = 8.0  # seconds at a rate with no signal before it counts as allowed
    SETTLE = 0.06  # hold once low and high are this close (a share of high)
    PROBE_EVERY = 60.0  # seconds held before trying a little more
    PROBE_STEP = 1.03
    BURST_WINDOW = 2.0  # seconds in which 5xx answers count as a burst
    BURST_COUNT = 2  # ... this many of them
    LATENCY_FACTOR = 1.8  # a recent median latency this much over the baseline is load
    LATENCY_SLACK = 0.05  # ... and at least this many seconds over it (a busy client's noise)
    LATENCY_SAMPLES = 15  # answers in a window; two windows in a row must show the rise
    BASELINE_SAMPLES = 30  # the first answers, at the gentle start rate: the unloaded latency

    rate: float = 0.0
    phase: Phase = Phase.START
    low: float = 0.0  # the highest rate proven allowed
    high: float | None = None  # the lowest rate the site said "slow down" at
    since: float = 0.0  # when the rate was last set
    last_cut: float = -1e18  # when the rate was last cut (answers to earlier sends are old news)
    signals: int = 0  # "slow down" signals acted on
    reasons: dict[str, int] = field(default_factory=dict)  # signals acted on, by reason
    history: list[tuple[float, float]] = field(default_factory=list)  # (time, rate) changes
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

    def __post_init__(self) -> None:
        self.rate = self._bounded(self.start)
        self.low = self.floor
        if self.remembered:
            self.phase = Phase.HOLD
            self.low = self.rate
            self.high = self.rate * 1.05

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

    def sent(self, now: float) -> float:
        """A request leaves now: the rate it left at (pass it back with its answer)."""
        self._sent += 1
        return self.rate

    def answered(
        self, now: float, sent_at: float, sent_rate: float, signal: Signal, latency: float
    ) -> None:
        """An answer to a request sent at `sent_at` at `sent_rate`, after `latency` seconds."""
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
        if signal is Signal.OK and sent_at >= self.last_cut and self._latency_rose(latency):
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
        if self.phase is Phase.START:
            # The last step's rate passed a healthy second: the likeliest good rate, though a
            # second does not prove it (a limiter's burst can hide an excess that long).
            self.phase = Phase.SEARCH
            self._set(now, max(self.low, sent_rate / self.GROWTH), cut=True)
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
        if self.phase in (Phase.HOLD, Phase.PROBE):
            self.phase = Phase.HOLD
            self._set(now, self.low, cut=True)
            return
        if self.low <= self.floor:
            # Nothing proven yet: step down as the start phase stepped up.
            self._set(now, self.high / self.GROWTH, cut=True)
            return
        self._set(now, (self.low + self.high) / 2, cut=True)

    def _advance(self, now: float) -> None:
        """After a healthy stretch at the current rate: the next step of the phase."""
        held = now - self.since
        if self.phase is Phase.START:
            if held >= self.EPOCH and self._sent >= 2:
                achieved = self._sent / held
                if achieved >= 0.7 * self.rate:  # not held back by the concurrency
                    # From what was sent, not from the ceiling: growth stays within a step of
                    # a rate the site has seen.
                    self._set(now, min(self.rate, achieved) * self.GROWTH)
                else:
                    self._set(now, self.rate)
            return
        if self.phase is Phase.HOLD:
            if held >= self.PROBE_EVERY:
                self.phase = Phase.PROBE
                self._set(now, self.rate * self.PROBE_STEP)
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
        if cut:
            self.last_cut = now
            self._recent.clear()
            self._overloads.clear()
            self._slow_windows = 0
        self.history.append((now, self.rate))

    def _bounded(self, rate: float) -> float:
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        return max(self.floor, rate)
