"""The polite defaults, in one place: the library's options and the CLI's flags take them.

They are the settings the site has tolerated from earlier tools. Nothing of the package is
imported here, so the command line can read them without paying for the rest of it.
"""

from __future__ import annotations

import datetime

__all__ = [
    "BUSY_TIMEOUT",
    "CONCURRENCY",
    "DEADLINE",
    "DELAY",
    "MAX_FAILURES",
    "NOT_FOUND_GUARD",
    "PAGE_SIZE",
    "REFRESH",
    "RETRIES",
    "RETRY_BASE",
    "RETRY_CAP",
    "ROBOTS_RETRY_WAIT",
    "START_GUARD",
    "UNREACHABLE_GRACE",
    "VERSION",
    "local_time",
    "real_wait",
    "set_testing",
]

CONCURRENCY = 3  # requests in flight at once
MAX_FAILURES = 5  # consecutive failures that mean the site is unusable: the breaker trips
NOT_FOUND_GUARD = 25  # "not found" answers in a row: the site's addresses changed
# Answers that refuse the run (blocked, a layout the readers do not know) before any page
# gave data: this many in a row stop the run, none recorded. Small: each is a request the
# site refused, and with 3 workers the first 3 answers already tell.
START_GUARD = 3
DELAY = 0.5  # seconds each worker pauses before each request (0 with `--max-rps auto`)
DEADLINE = 30.0  # seconds for a whole request, body included
RETRIES = 3  # retries of a retryable failure
RETRY_BASE = 2.0  # seconds: the first backoff ceiling, doubling each retry
RETRY_CAP = 30.0  # seconds: the largest backoff ceiling
PAGE_SIZE = 12  # trades (or cards) per listing page: the site's own
REFRESH = "1d"  # `update`: issuer data older than this (less a sixth) is fetched again

# Waits on the real clock that no request answer cuts short. Their seconds pass through
# `real_wait`, so that tests can shorten them all at once (`set_testing`, as stamina does for
# its retries) instead of waiting them out.
UNREACHABLE_GRACE = 2.0  # seconds a site that answers nothing is retried before a run stops
ROBOTS_RETRY_WAIT = 2.0  # seconds before robots.txt is asked again after a 5xx (doubling)
BUSY_TIMEOUT = 5.0  # seconds a write waits for another program's lock on the database

_scale = 1.0


def set_testing(testing: bool = True, *, scale: float = 0.05) -> None:
    """Shorten (or, with False, restore) the real-clock waits above: for tests only."""
    global _scale
    _scale = scale if testing else 1.0


def real_wait(seconds: float) -> float:
    """`seconds` of a real-clock wait, as long as the test mode makes it."""
    return seconds * _scale


#: The package's version (``trio_enrich.__version__``; pyproject.toml says the same).
VERSION = "0.1.0.dev0"


def local_time() -> str:
    """The local time as log lines start with it (ISO-8601, seconds, with its offset)."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")
