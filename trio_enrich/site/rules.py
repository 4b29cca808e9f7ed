"""What capitoltrades.com's failures mean to a run: the rules the generic core is given, and
what its HTTP statuses mean.

The core (``_pipeline``) knows no failure kind; it asks these predicates. Kept apart, as a table
of data, so a new job reuses them or states its own.
"""

from __future__ import annotations

from .._model import FailureKind
from ..clients.answers import Header, no_header
from ..core.policy import FailureRules
from .page import refusal_marker

__all__ = ["CHALLENGE_ADVICE", "SITE_RULES", "is_challenge", "names_a_challenge", "status_kind"]

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


def status_kind(status: int, body: bytes = b"", header: Header = no_header) -> FailureKind:
    """What an answer other than 200 means on capitoltrades.com: a hosting's challenge (Vercel
    marks it ``x-vercel-mitigated: challenge``, with HTTP 429 or 403) and a 403 or 429 with a
    CDN's or a bot check's page are a refusal of this client (blocked: a JavaScript challenge
    is no limit that waiting out a Retry-After would lift); any other 429 or 403 is "slow
    down" (the site throttles with both); 408 and 5xx the site struggling; 404 and 410 a
    page gone."""
    if is_challenge(header):
        return FailureKind.BLOCKED
    if status in (403, 429) and refusal_marker(body.decode("utf-8", "replace")) is not None:
        return FailureKind.BLOCKED
    if status in (429, 403):
        return FailureKind.RATE_LIMITED
    if status == 408 or status >= 500:
        return FailureKind.SERVER_ERROR
    if status in (404, 410):
        return FailureKind.NOT_FOUND
    return FailureKind.HTTP_ERROR


def is_challenge(header: Header) -> bool:
    """The answer is a hosting firewall's challenge (``x-vercel-mitigated: challenge``; the
    header also says ``deny`` for a firewall's plain refusal, a block as well)."""
    mitigated = header("x-vercel-mitigated")
    return bool(mitigated and mitigated.strip().lower() in ("challenge", "deny"))


#: What a challenge's failure says of it (its header, or its page's title and words).
_CHALLENGE_WORDS = ("x-vercel-mitigated", "Vercel Security Checkpoint", "verifying your browser")

#: What to try when the site's hosting challenges the client: no client of ours passes it.
CHALLENGE_ADVICE = (
    "It is a JavaScript challenge (Vercel's Security Checkpoint), not a rate limit: no HTTP "
    "client passes it, the browser client and headless browsers neither. Wait for it to lift "
    "and run again later, run slower (`--max-rps 1`) or at another hour, or from another "
    "network."
)


def names_a_challenge(reason: str) -> bool:
    """A failure's reason says a hosting's challenge answered (see status_kind)."""
    return any(words in reason for words in _CHALLENGE_WORDS)


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
