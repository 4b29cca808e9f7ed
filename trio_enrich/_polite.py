"""A polite, locked run on one database: what every run does before and after its pages.

:func:`polite_run` takes the run lock (one writer per database; wait for another run, or
stop), reads robots.txt (a page the run needs that it disallows stops the run before any is
fetched; its Crawl-delay or Request-rate caps the pacing), paces the run (with `auto`, from
the rate an earlier run learned for the host), and when the run is over remembers what `auto`
learned and releases the lock. The command line and :func:`~trio_enrich.enrich` both run
inside it, so a program is as polite as the tool.
"""

from __future__ import annotations

import contextlib
import datetime
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import trio

from ._enrich import EnrichOptions, JobName, fetch_and_store, job_value, pending_ids
from ._errors import TrioEnrichError, UsageError
from ._jobs import Job
from ._lock import RunLock
from ._model import RunHolder
from ._pacing import COLD_START_RATE, AdaptiveRate
from ._pipeline import ProgressSink, RunStats
from ._progress import local_time
from ._robots import PRODUCT_TOKEN, Robots, read_robots
from ._store import Store

__all__ = [
    "PoliteRun", "check_robots", "disallowed", "enrich", "locked_run", "paced_options",
    "polite_run",
]  # fmt: skip

#: A remembered rate older than this is not trusted.
REMEMBER_DAYS = 30


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class PoliteRun:
    """A run holding the lock of `store`: its options as paced, and what robots.txt says."""

    store: Store
    options: EnrichOptions
    robots: Robots
    ignore_robots_disallow: bool = False
    say: Callable[[str], None] = _to_stderr

    def disallowed(self, paths: Sequence[str]) -> str | None:
        """Which rule of robots.txt disallows one of `paths`, in words (see `disallowed`)."""
        return disallowed(self.robots, paths, ignore=self.ignore_robots_disallow, say=self.say)

    def check(self, paths: Sequence[str]) -> None:
        """Stop before the first page request when robots.txt disallows a page of `paths`."""
        check_robots(self.robots, paths, ignore=self.ignore_robots_disallow, say=self.say)


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


def check_robots(
    robots: Robots, paths: Sequence[str], *, ignore: bool, say: Callable[[str], None]
) -> None:
    """Stop before the first page request when robots.txt disallows a page of `paths`."""
    rule = disallowed(robots, paths, ignore=ignore, say=say)
    if rule is not None:
        raise UsageError(
            f"{rule}; nothing was fetched. Pass --ignore-robots-disallow only if you have "
            "decided to fetch it anyway"
        )


def _say_nothing(line: str) -> None:
    pass


@contextlib.asynccontextmanager
async def polite_run(
    store: Store,
    options: EnrichOptions,
    *,
    needs: Callable[[Store, EnrichOptions], Sequence[str]] | None = None,
    wait: bool = False,
    ignore_robots_disallow: bool = False,
    robots: Robots | None = None,
    command: str = "",
    say: Callable[[str], None] = _to_stderr,
) -> AsyncIterator[PoliteRun]:
    """Run inside the lock of `store`, with robots.txt read and the pacing set.

    `needs` gives the pages the run is about to read (from the store, as paced): robots.txt
    must allow them. `robots` is robots.txt when the caller read it already (a first run reads
    it before it makes the database). `command` is recorded as the lock's holder; `say` gets
    the lines a user should read (robots.txt's rules, a wait).
    """
    async with locked_run(store, wait=wait, command=command, say=say):
        if robots is None:
            robots = await read_robots(
                options.base_url, deadline=options.deadline, client=options.client,
                archive=options.archive,
            )  # fmt: skip
        if robots.text:
            say(robots.describe())
        paced = await store.run(paced_options, store, options, robots)
        run = PoliteRun(store, paced, robots, ignore_robots_disallow, say)
        if needs is not None:
            run.check(await store.run(needs, store, paced))
        yield run
        if paced.adaptive is not None:
            await store.run(_remember_rate, store, paced)


@contextlib.asynccontextmanager
async def locked_run(
    store: Store, *, wait: bool = False, command: str = "", say: Callable[[str], None] = _to_stderr
) -> AsyncIterator[None]:
    """Inside the run lock of `store` (one writer per database), its holder recorded: what
    every command that writes does, `polite_run` and `reparse` alike."""
    lock = RunLock(store.path) if store.path != ":memory:" else None
    try:
        # The lock before the pending list: a run that waited reads what the other left.
        if lock is not None:
            await _take_run_lock(lock, store, wait, say)
        await store.run(store.record_run, command or _this_command())
        yield
    finally:
        if lock is None or lock.held:
            with contextlib.suppress(TrioEnrichError):
                store.clear_run()
        if lock is not None:
            lock.release()


def _this_command() -> str:
    return " ".join(["trio-enrich", *sys.argv[1:]])[:200]


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


def paced_options(store: Store, options: EnrichOptions, robots: Robots) -> EnrichOptions:
    """The options with their pacing: robots.txt's rate caps every mode; auto starts from the
    rate an earlier run learned for this host (with a margin), or from the polite rate."""
    cap = robots.rate_cap
    if not options.auto:
        if cap is None:
            return options
        return replace(options, max_rps=min(options.max_rps or cap, cap))
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
    return replace(options, adaptive=adaptive)


def _fresh(stamp: str) -> bool:
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    age = datetime.datetime.now(datetime.UTC) - moment
    return age < datetime.timedelta(days=REMEMBER_DAYS)


def _remember_rate(store: Store, options: EnrichOptions) -> None:
    adaptive = options.adaptive
    learned = adaptive.learned() if adaptive is not None else None
    if learned is not None:
        rate, limited = learned
        store.remember_rate(urlsplit(options.base_url).netloc, rate, limited=limited)


async def enrich(
    store: Store,
    job: JobName | Job[Any, Any],
    options: EnrichOptions,
    *,
    ids: Sequence[Any] | None = None,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
    wait: bool = False,
    ignore_robots_disallow: bool = False,
) -> RunStats:
    """Fetch, parse and store the detail page of every pending item of `job` (or of `ids`),
    politely: inside the database's run lock (another run's lock raises a UsageError, or is
    waited for with `wait`), with robots.txt read (a page it disallows stops the run before
    any request; its rate caps the pacing) and, with ``EnrichOptions(auto=True)``, from the
    rate an earlier run learned.

    `job` is ``"trades"``, ``"issuers"`` or a job value (``_jobs.TRADES``, ...).
    """
    spec = job_value(job)

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        chosen = ids if ids is not None else pending_ids(store, spec, paced)
        return [spec.path(item) for item in chosen]

    async with polite_run(
        store, options, needs=needs, wait=wait, ignore_robots_disallow=ignore_robots_disallow,
        command="trio_enrich.enrich()", say=_say_nothing,
    ) as run:  # fmt: skip
        return await fetch_and_store(
            store, spec, run.options, ids=ids, progress=progress, stop=stop
        )
