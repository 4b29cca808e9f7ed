"""How the core runs: its settings, the job's failure rules, the retry policy, the breaker.

Sans-io: nothing here waits or fetches; the pipeline asks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import _defaults as defaults
from .._defaults import UNREACHABLE_GRACE, real_wait
from .._model import FailureKind
from .pacing import AdaptiveRate, Signal
from .site_limit import StatedLimits

__all__ = ["Breaker", "FailureRules", "PipelineConfig", "RetryPolicy"]


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
    # The run refused, not the item: while no item of the run has given its data, answers of
    # such a kind (a block, a layout the readers do not know) are held back; `start_guard` of
    # them in a row stop the run, none recorded. Once an item succeeded they are failures.
    refuses_run: Callable[[FailureKind], bool] = _never
    # For an adaptive rate: the site's "slow down" (its rate limit), and answers that mean
    # load when they come in a burst (server errors, timeouts).
    rate_limited: Callable[[FailureKind], bool] = _never
    overloaded: Callable[[FailureKind], bool] = _never

    def signal(self, kind: FailureKind, *, says_when: bool = False) -> Signal:
        """What a failure of `kind` tells an adaptive rate. An overload that says when to come
        back (a 503 with Retry-After) is the site's "slow down" as much as a 429 is."""
        if self.rate_limited(kind):
            return Signal.LIMITED
        if self.overloaded(kind):
            return Signal.LIMITED if says_when else Signal.OVERLOADED
        return Signal.OTHER


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


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    concurrency: int = defaults.CONCURRENCY
    max_failures: int = defaults.MAX_FAILURES  # consecutive final failures: the breaker trips
    not_found_guard: int = defaults.NOT_FOUND_GUARD  # not-found answers in a row: it stops
    start_guard: int = defaults.START_GUARD  # refusals of the run before any data: it stops
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
    # What the run's client hears of the limit the site states in its headers (None: the
    # client is not listened to): it caps the pacing, fixed or adaptive.
    stated: StatedLimits | None = None
    # How long a run that has never reached the site keeps trying before it stops: a wrong
    # address should fail in seconds, not after every item's retries and a breaker trip.
    unreachable_grace: float = field(default_factory=lambda: real_wait(UNREACHABLE_GRACE))
