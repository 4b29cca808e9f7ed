"""A run session: everything one run holds, opened in order and closed in reverse.

:func:`open_session` takes the database (made only once robots.txt allows a first run's
pages), the page archive beside it, the run lock (one writer per database: wait for another
run, or stop), robots.txt (read once: a page the run needs that it disallows stops the run
before any is fetched; its Crawl-delay or Request-rate caps the pacing), the pacing (with
`auto`, from the rate an earlier run learned for the host) and the page client. Stages run
inside it and ask it for pages (:meth:`RunSession.read`) and for the one commit that writes
a batch's pages before the rows read from them (:meth:`RunSession.commit`). When the run is
over, the pages a stop left unwritten are flushed once, the rate `auto` learned is remembered,
and the lock released. The command line and the library's calls both run in a session, so a
program is as polite as the tool.
"""

from __future__ import annotations

import contextlib
import datetime
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import trio

from .._defaults import local_time
from .._errors import DatabaseError, RunStopped, TrioEnrichError, UsageError
from .._help import shown_arguments
from .._model import PageFailure, PageRef, RunHolder
from ..clients.answers import PageSource
from ..clients.robots import PRODUCT_TOKEN, Robots, read_robots
from ..core.pacing import COLD_START_RATE, AdaptiveRate
from ..core.policy import PipelineConfig
from ..storage.archive import PageArchive, archive_path
from ..storage.lock import RunLock
from ..storage.schema import check_path
from ..storage.store import Store
from .jobs import open_page_client, read_kept_page
from .options import EnrichOptions, pipeline_config

__all__ = [
    "Database", "Needs", "RunOutcome", "RunSession", "disallowed", "locked_run", "open_session",
    "paced", "refusal", "require_database", "run_stopped", "say_nothing",
]  # fmt: skip

R = TypeVar("R")
T = TypeVar("T")

#: What a session runs on: a store a program opened, or the path of the database.
Database = Store | Path | str
#: The pages a session is about to read, from the store (as the session paces the run).
Needs = Callable[[Store, EnrichOptions], list[str]]
#: A remembered rate older than this is not trusted.
REMEMBER_DAYS = 30


def say_nothing(message: str) -> None:
    """A `say` for a program that reads results, not lines."""


@dataclass(slots=True)
class RunOutcome:
    """How a run ended, for its row in the runs' ledger: the command line sets what it knows
    before the run lets go of the lock (the library has no exit codes: they stay NULL)."""

    exit_code: int | None = None
    counts: object = None  # JSON-able: the stages' reports


class RunSession:
    """A run's resources while it runs (made by :func:`open_session` only)."""

    def __init__(
        self,
        store: Store,
        options: EnrichOptions,
        robots: Robots,
        client: PageSource,
        *,
        adaptive: AdaptiveRate | None,
        archive: PageArchive | None,
        ignore_robots_disallow: bool,
        say: Callable[[str], None],
        outcome: RunOutcome | None = None,
    ) -> None:
        self.outcome = outcome or RunOutcome()  # how it ended, as its ledger row will say
        self.store = store
        self.options = options  # as paced: robots.txt's rate caps max_rps
        self.robots = robots
        self.client = client
        self.adaptive = adaptive  # the rate law of `auto`, shared by the session's stages
        self.archive = archive
        self.ignore_robots_disallow = ignore_robots_disallow
        self.say = say

    def pipeline(self) -> PipelineConfig:
        """The core's settings for a stage of this session."""
        return pipeline_config(self.options, self.client.stated, self.adaptive)

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]:
        """Ask for `path` and read it: what it gives, and where the archive keeps it (the
        answer is kept, a failure's too); a page without data is a FetchError of its kind."""
        return await read_kept_page(self.client, path, read, self.archive)

    async def commit(self, write: Callable[[], T]) -> T:
        """The run's one way to write: the pages received since the last commit go to the
        archive first, then `write` (in the store's thread): no row without its page."""
        archive = self.archive
        pages = archive.take() if archive is not None else []

        def pages_then_rows() -> T:
            if archive is not None and pages:
                archive.write(pages)
            return write()

        return await self.store.run(pages_then_rows)

    def disallowed(self, paths: Sequence[str]) -> str | None:
        """Which rule of robots.txt disallows one of `paths`, in words (see `disallowed`)."""
        return disallowed(self.robots, paths, ignore=self.ignore_robots_disallow, say=self.say)

    def check(self, paths: Sequence[str]) -> None:
        """Stop before the first page request when robots.txt disallows a page of `paths`."""
        rule = self.disallowed(paths)
        if rule is not None:
            raise refusal(rule)


def disallowed(
    robots: Robots, paths: Sequence[str], *, ignore: bool, say: Callable[[str], None]
) -> str | None:
    """Which rule of robots.txt disallows one of `paths`, in words (None: all allowed, or
    `ignore`: the user passed --ignore-robots-disallow, which is said)."""
    blocked = robots.blocked(paths)
    if blocked is None:
        return None
    path, rule = blocked
    if ignore:
        say(f"trio-enrich: warning: robots.txt ({rule}) disallows {path}; going on as "
            "--ignore-robots-disallow asks")  # fmt: skip
        return None
    return f"robots.txt disallows {path} for {PRODUCT_TOKEN} ({rule})"


def require_database(path: Path) -> None:
    """A missing database is the user's first step not taken yet: say which step."""
    if not path.exists():
        raise UsageError(
            f"database {path} does not exist; make it with `trio-enrich sync --db {path}` "
            "(or name an existing one with --db)"
        )


def refusal(rule: str) -> UsageError:
    """The error that stops a run robots.txt refuses, before its first page request."""
    return UsageError(
        f"{rule}; nothing was fetched. Pass --ignore-robots-disallow only if you have "
        "decided to fetch it anyway"
    )


@contextlib.asynccontextmanager
async def open_session(
    database: Database,
    options: EnrichOptions,
    *,
    needs: Needs | None = None,
    create: bool = False,
    first: Sequence[str] = (),
    wait: bool = False,
    ignore_robots_disallow: bool = False,
    command: str = "",
    say: Callable[[str], None] = say_nothing,
) -> AsyncIterator[RunSession]:
    """A run session on `database` (see the module).

    `needs` gives the pages the run is about to read: robots.txt must allow them. With
    `create`, a database that does not exist is made, but only once robots.txt was read and
    allows `first` (the pages a first run reads): a refused first run, or one that cannot
    reach the site, leaves no file behind. `command` is recorded as the lock's holder; `say`
    gets the lines a person should read (robots.txt's rules, a wait; by default none).
    """
    robots: Robots | None = None
    async with contextlib.AsyncExitStack() as stack:
        if isinstance(database, Store):
            store = database
        else:
            path = Path(database)
            # Every local check before the first request: a database that cannot be made or
            # used is refused without asking the site for anything.
            check_path(path, must_exist=not create, writable=True)
            if create and not await trio.Path(path).exists():
                robots = await _read_robots(options)
                rule = disallowed(robots, first, ignore=ignore_robots_disallow, say=say_nothing)
                if rule is not None:
                    raise refusal(rule)
            store = await trio.to_thread.run_sync(lambda: Store.open(path, create=create))
            stack.callback(store.close)
        archive = await _open_archive(store, options)
        if archive is not None:
            stack.callback(archive.close)
        outcome = await stack.enter_async_context(
            locked_run(store, wait=wait, command=command, say=say)
        )
        if robots is None:
            robots = await _read_robots(options, archive)
        elif archive is not None and robots.status is not None:
            # (read before the database, and its archive, could be made)
            archive.keep("/robots.txt", robots.status, robots.body)
        if robots.text:
            say(robots.describe())
        paced_options, adaptive = await store.run(paced, store, options, robots)
        client = await stack.enter_async_context(
            open_page_client(
                options.base_url, options.concurrency, options.deadline, options.client
            )
        )
        session = RunSession(
            store, paced_options, robots, client, adaptive=adaptive, archive=archive,
            ignore_robots_disallow=ignore_robots_disallow, say=say, outcome=outcome,
        )  # fmt: skip
        try:
            if needs is not None:
                session.check(await store.run(needs, store, paced_options))
            yield session
        finally:
            if archive is not None:
                await _flush(archive)
        if adaptive is not None:
            await store.run(_remember_rate, store, options.base_url, adaptive)


async def _flush(archive: PageArchive) -> None:
    """The pages of outcomes a stop left unwritten; a write that fails now (a full disk)
    stops the run as a failed write during it does."""
    try:
        await archive.flush()
    except DatabaseError as error:
        raise run_stopped(error) from error


def run_stopped(error: BaseException) -> RunStopped:
    """A write that failed once a run was under way (a full disk, a file made read-only
    meanwhile): the run stops as a run stops, not as a usage error; whatever it committed
    before is kept, and running it again goes on from there."""
    return RunStopped(
        f"{error}; the run stopped there. What it committed before is kept: mend this "
        "(free some space, say) and run it again to go on"
    )


async def _read_robots(options: EnrichOptions, archive: PageArchive | None = None) -> Robots:
    keep = archive.keep if archive is not None else None
    return await read_robots(
        options.base_url, deadline=options.deadline, client=options.client, keep=keep
    )


async def _open_archive(store: Store, options: EnrichOptions) -> PageArchive | None:
    """The page archive beside the database (none in memory, or when the options say not)."""
    if not options.archive or store.path == ":memory:":
        return None
    return await trio.to_thread.run_sync(PageArchive.open, archive_path(store.path))


@contextlib.asynccontextmanager
async def locked_run(
    store: Store, *, wait: bool = False, command: str = "", say: Callable[[str], None] = say_nothing
) -> AsyncIterator[RunOutcome]:
    """Inside the run lock of `store` (one writer per database), its holder recorded and its
    row in the runs' ledger open until it ends (with what the caller set in the `RunOutcome`
    it is given, or the error that ended it): what every run that writes does, a session and
    `reparse` alike."""
    lock = RunLock(store.path) if store.path != ":memory:" else None
    outcome = RunOutcome()
    error: str | None = None
    try:
        # The lock before the pending list: a run that waited reads what the other left.
        if lock is not None:
            await _take_run_lock(lock, store, wait, say)
        await store.run(store.record_run, command or _this_command())
        yield outcome
    except BaseException as stopped:
        error = " ".join(str(stopped).split()) or type(stopped).__name__
        raise
    finally:
        if lock is None or lock.held:
            with contextlib.suppress(TrioEnrichError):
                store.end_run(exit_code=outcome.exit_code, error=error, counts=outcome.counts)
                store.clear_run()
        if lock is not None:
            lock.release()


def _this_command() -> str:
    return " ".join(["trio-enrich", *shown_arguments(sys.argv[1:])])[:200]


async def _take_run_lock(
    lock: RunLock, store: Store, wait: bool, say: Callable[[str], None]
) -> None:
    """One writer per database: another run's lock stops this one (exit 2), or with `wait`
    this one waits for it (Ctrl-C still stops the wait)."""
    said = False
    while not lock.try_acquire():
        holder = await store.run(store.current_run)
        if not wait:
            raise UsageError(
                f"database {store.path} is in use by another trio-enrich run "
                f"({_describe(holder)}); let it finish, or pass --wait to run after it"
            )
        if not said:
            # Once, so that a terminal does not look hung and a cron log says who it waited for.
            say(f"{local_time()} trio-enrich: waiting for the run using {store.path} "
                f"({_describe(holder)}) to finish")  # fmt: skip
            said = True
        await trio.sleep(0.2)
    if said:
        say(f"{local_time()} trio-enrich: {store.path} is free; starting")


def _describe(holder: RunHolder | None) -> str:
    return "no details recorded" if holder is None else str(holder)


def paced(
    store: Store, options: EnrichOptions, robots: Robots
) -> tuple[EnrichOptions, AdaptiveRate | None]:
    """The options with their pacing, and the rate law of `auto`: robots.txt's rate caps every
    mode; auto starts from the rate an earlier run learned for this host (with a margin), or
    from the polite rate."""
    cap = robots.rate_cap
    if not options.auto:
        if cap is None:
            return options, None
        return replace(options, max_rps=min(options.max_rps or cap, cap)), None
    # The adaptive gate spaces requests exactly: keep robots.txt's cap with a margin.
    ceilings = [c for c in (options.max_rps, None if cap is None else cap / 1.03) if c]
    ceiling = min(ceilings) if ceilings else None
    learned = store.learned_rate(urlsplit(options.base_url).netloc)
    adaptive = AdaptiveRate(start=COLD_START_RATE, ceiling=ceiling)
    if learned is not None and _fresh(learned.learned_at):
        if learned.limited:
            adaptive = AdaptiveRate(start=0.95 * learned.rate, ceiling=ceiling, remembered=True)
        else:
            start = max(COLD_START_RATE, 0.9 * learned.rate)
            adaptive = AdaptiveRate(start=start, ceiling=ceiling)
    return options, adaptive


def _fresh(stamp: str) -> bool:
    try:
        moment = datetime.datetime.fromisoformat(stamp)  # (with its Z, from Python 3.11 on)
    except ValueError:
        return False
    age = datetime.datetime.now(datetime.UTC) - moment
    return age < datetime.timedelta(days=REMEMBER_DAYS)


def _remember_rate(store: Store, base_url: str, adaptive: AdaptiveRate) -> None:
    learned = adaptive.learned()
    if learned is not None:
        rate, limited = learned
        store.remember_rate(urlsplit(base_url).netloc, rate, limited=limited)
