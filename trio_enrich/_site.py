"""What capitoltrades.com's failures mean to a run: the rules the generic core is given, and
what its HTTP statuses mean.

The core (``_pipeline``) knows no failure kind; it asks these predicates. Kept apart, as a table
of data, so a new job reuses them or states its own.
"""

from __future__ import annotations

from ._model import FailureKind
from ._page import refusal_marker
from ._pipeline import FailureRules

__all__ = ["SITE_RULES", "status_kind"]

#: Failures worth another try in the same run.
_RETRYABLE = frozenset(
    {
        FailureKind.RATE_LIMITED,
        FailureKind.SERVER_ERROR,
        FailureKind.TIMEOUT,
        FailureKind.TRANSPORT,
        FailureKind.TRUNCATED,
        FailureKind.UNREACHABLE,
    }
)

#: Final failures that mean the site is unusable: they count toward the breaker. Per-item
#: answers (not found, an error digest for one page) do not.
_TRIPS_BREAKER = _RETRYABLE | {
    FailureKind.BLOCKED,
    FailureKind.LAYOUT_CHANGED,
    FailureKind.HTTP_ERROR,
    FailureKind.TOO_LARGE,
    FailureKind.BAD_CONTENT,
}


def status_kind(status: int, body: bytes = b"") -> FailureKind:
    """What an answer other than 200 means on capitoltrades.com: a 403 with a CDN's or a bot
    check's page is a refusal of this client (blocked); 429 and any other 403 are "slow down"
    (the site throttles with both); 408 and 5xx the site struggling; 404 and 410 a page gone."""
    if status == 403 and refusal_marker(body.decode("utf-8", "replace")) is not None:
        return FailureKind.BLOCKED
    if status in (429, 403):
        return FailureKind.RATE_LIMITED
    if status == 408 or status >= 500:
        return FailureKind.SERVER_ERROR
    if status in (404, 410):
        return FailureKind.NOT_FOUND
    return FailureKind.HTTP_ERROR


SITE_RULES = FailureRules(
    retryable=_RETRYABLE.__contains__,
    trips_breaker=_TRIPS_BREAKER.__contains__,
    # "Page Not Found" is permanent for an item, but a long streak of it means the site's
    # addresses changed: the core holds such answers back and drops the streak.
    streak=lambda kind: kind is FailureKind.NOT_FOUND,
    streak_name="not found",
    # Nothing answered at all: says nothing about the item.
    unreachable=lambda kind: kind is FailureKind.UNREACHABLE,
    # From the first pages: this client is refused, or the readers are out of date. Either
    # says nothing about the items, and fetching 40,000 pages to learn it is what not to do.
    refuses_run=lambda kind: kind in (FailureKind.BLOCKED, FailureKind.LAYOUT_CHANGED),
    # For `--max-rps auto`: 429 and 403 are the site's "slow down"; 5xx and timeouts in a
    # burst mean it is struggling.
    rate_limited=lambda kind: kind is FailureKind.RATE_LIMITED,
    overloaded=lambda kind: kind in (FailureKind.SERVER_ERROR, FailureKind.TIMEOUT),
)
