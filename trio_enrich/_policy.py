"""What the core does with failures: the job's failure rules, the retry policy, the breaker.

Sans-io: nothing here waits or fetches; the pipeline asks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from . import _defaults as defaults
from ._model import FailureKind
from ._pacing import Signal

__all__ = ["Breaker", "FailureRules", "RetryPolicy"]


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
