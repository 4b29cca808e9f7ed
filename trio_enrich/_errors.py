"""The one error tree of trio-enrich.

::

    TrioEnrichError            base of every error we raise on purpose
    ├── UsageError             a bad option value or argument (exit 2)
    ├── DatabaseError          the database cannot be opened or used as asked (exit 2)
    ├── SiteUnavailable        the site cannot be used now: robots.txt unreachable (exit 3)
    └── FetchError             a request failed; carries a FailureKind (kept inside the pipeline)

Foreign exceptions (httpx, sqlite3) are translated into these at the adapter that meets them,
so the core and the CLI never see another library's errors.
"""

from __future__ import annotations

from ._model import FailureKind

__all__ = [
    "EXIT_BREAKER",
    "EXIT_INTERRUPTED",
    "EXIT_ITEM_FAILURES",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "ArchiveError",
    "DatabaseError",
    "FetchError",
    "RunStopped",
    "SiteUnavailable",
    "TrioEnrichError",
    "UsageError",
    "leaves",
]

# The command line's exit codes (documented in the README and `trio-enrich --help`).
EXIT_OK = 0
EXIT_ITEM_FAILURES = 1  # finished, with items that failed (or a walk that did not reach its end)
EXIT_USAGE = 2  # a usage or input error; nothing was changed
EXIT_BREAKER = 3  # stopped by the breaker or the not-found guard, or the site cannot be used
EXIT_INTERRUPTED = 130  # SIGINT
EXIT_PIPE_CLOSED = 141  # the reader of the output went away (`| head`): as SIGPIPE would end us
EXIT_TERMINATED = 143  # SIGTERM


class TrioEnrichError(Exception):
    """Base of every error trio-enrich raises on purpose; its message is one line for users."""


class UsageError(TrioEnrichError):
    """A bad option value or argument."""


class DatabaseError(TrioEnrichError):
    """The database cannot be opened, is not ours to change, or a write failed."""


class ArchiveError(DatabaseError):
    """The page archive beside a database cannot be read (damaged, not SQLite): the database
    itself is not concerned, and the message says so and what to do."""


class RunStopped(TrioEnrichError):
    """A run stopped part way by a failure of its own machine (a write refused: a full disk):
    what it committed before stays, and the next run goes on from there once it is mended.
    Not a usage error: the exit code is that of a run that stopped (3)."""


class SiteUnavailable(TrioEnrichError):
    """The site cannot be used now (a run must not start); try again later."""


class FetchError(TrioEnrichError):
    """A request gave no page: `kind` says why in a word, `reason` in a few (`HTTP 429`, `no
    complete answer in 30 s`), `path` which page (None: not one page), `retry_after` is the
    server's wish in seconds, `status` the HTTP status of an answer other than 200, `body`
    the page that came with it (of an answer other than 200, its first bytes; of a page
    without data, all of it: the page archive keeps it). Its message, built here only, is
    `GET {path}: {reason}`."""

    def __init__(
        self,
        kind: FailureKind,
        reason: str,
        *,
        path: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        body: bytes | None = None,
    ) -> None:
        self.kind = kind
        self.reason = reason
        self.path = path
        self.retry_after = retry_after
        self.status = status
        self.body = body
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return self.reason if self.path is None else f"GET {self.path}: {self.reason}"


def leaves(error: BaseException) -> list[BaseException]:
    """The errors an exception group holds, however deep (an error alone: itself)."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]
