"""What the commands do: runs inside a locked database, their stages, summaries and exit codes.

``cli`` declares the commands and their options and imports this module only when a command
runs, so `trio-enrich --help` (and a command's start) does not pay for trio, httpx, SQLite and
the rest before it needs them.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import trio

from ._committees import COMMITTEE_WORDS, read_committees
from ._enrich import EnrichOptions, enrich, pending_ids
from ._errors import (
    EXIT_BREAKER,
    EXIT_INTERRUPTED,
    EXIT_ITEM_FAILURES,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    SiteUnavailable,
    TrioEnrichError,
    UsageError,
)
from ._jobs import ISSUERS, JOBS, LISTING, TRADES, Job, Words
from ._lock import RunLock
from ._pacing import COLD_START_RATE, AdaptiveRate
from ._pipeline import FinishReason, ProgressSink, RunStats
from ._progress import local_time, open_progress
from ._report import committee_lines, status_lines, summary_lines, update_lines, walk_lines, wrap
from ._robots import PRODUCT_TOKEN, Robots, read_robots
from ._roster import COMMITTEES, committees_path
from ._store import Store
from ._sync import SyncOptions, listing_path, sync_listing

if TYPE_CHECKING:
    from .cli import CommitteeFlags, EnrichFlags, SiteFlags, SyncFlags, UpdateFlags

__all__ = [
    "run_committees",
    "run_demo",
    "run_job",
    "run_status",
    "run_sync",
    "run_update",
]

_json = json  # `status --json` shadows the module name inside run_status
T = TypeVar("T")

UPDATE_STAGES = ("sync", "trades", "issuers", "committees")


async def run_job(name: str, flags: EnrichFlags) -> int:
    """`trades` or `issuers`."""
    return await _run_job(JOBS[name], flags)


async def _run_job(job: Job[Any, Any], flags: EnrichFlags) -> int:
    options = flags.options()  # validates the base URL before anything is opened
    if flags.dry_run:
        return await _dry_run(job, flags, options)
    _require_database(flags.db)

    def require_items(store: Store) -> None:
        rows = store.query(f"SELECT COUNT(*) FROM {job.table}")
        if rows[0][0] == 0:
            raise UsageError(
                f"no {job.words.noun} in the database {flags.db}: run "
                f"`trio-enrich sync --db {flags.db}` first"
            )

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        return [job.path(item) for item in pending_ids(store, job, paced)]

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions, _: Robots) -> list[Stage]:
        return [await _job_stage(store, job, paced, flags, stop)]

    return await _run_locked(
        job.name, flags, options, work, needs, create=False, check=require_items
    )


async def _dry_run(job: Job[Any, Any], flags: EnrichFlags, options: EnrichOptions) -> int:
    _require_database(flags.db)

    def pending() -> tuple[list[str], EnrichOptions]:
        with Store.open(flags.db, read_only=True) as store:
            # The pacing the run would start with (auto: its start rate, remembered or not).
            paced = _paced(store, flags, options, Robots(options.base_url, None))
            return [job.path(item) for item in pending_ids(store, job, options)], paced

    paths, paced = await trio.to_thread.run_sync(pending)
    selected = len(paths)
    robots = await _robots_for_dry_run(options, paths)
    per_item = options.delay + 0.15  # the pause plus a typical page time
    estimate = selected * per_item / options.concurrency
    rate = paced.adaptive.rate if paced.adaptive is not None else paced.max_rps
    if rate:
        estimate = max(estimate, selected / rate)
    pace = f"concurrency {options.concurrency}"
    if paced.adaptive is not None:
        pace += f", auto from {rate:.1f} requests/s (faster if the site allows)"
    if flags.json:
        print(json.dumps({"job": job.name, "dry_run": True, "selected": selected,
                          "estimated_seconds": round(estimate, 1), "robots": robots}))  # fmt: skip
    else:
        print("\n".join(wrap([f"{job.name}: {selected} pending; would send at least {selected} "
              f"requests (about {_minutes(estimate)} at {pace}); nothing else was sent",
              robots])), flush=True)  # fmt: skip
    return EXIT_OK


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


async def _robots_for_dry_run(options: EnrichOptions, paths: Sequence[str]) -> str:
    """What robots.txt says, for a dry run (its one request; no retries)."""
    robots = await _read_robots_once(options)
    if isinstance(robots, str):
        return robots
    blocked = robots.blocked(paths)
    if blocked is not None:
        path, rule = blocked
        return (f"{robots.describe()}; it disallows {path} ({rule}): a run would stop "
                "(exit 2) unless --ignore-robots-disallow")  # fmt: skip
    return robots.describe() + "; the pages needed are allowed"


async def _read_robots_once(options: EnrichOptions) -> Robots | str:
    """robots.txt for a dry run (one request, no retries), or why it cannot be read."""
    try:
        return await read_robots(options.base_url, deadline=min(options.deadline, 10), tries=1)
    except SiteUnavailable as error:
        return f"{error} (a run would stop, exit 3)"


@dataclass(slots=True)
class Stage:
    """What one stage of a command did: its exit code, its JSON summary, its text summary."""

    name: str
    code: int
    report: dict[str, object]
    lines: list[str]
    finish: FinishReason

    @property
    def stops_the_rest(self) -> bool:
        """The site is unusable (breaker, not-found guard, unreachable) or the run was stopped:
        later stages must not start."""
        return self.finish is not FinishReason.COMPLETED


async def _job_stage(
    store: Store,
    job: Job[Any, Any],
    options: EnrichOptions,
    flags: SiteFlags,
    stop: trio.Event,
    command: str | None = None,
) -> Stage:
    selected = await trio.to_thread.run_sync(pending_ids, store, job, options)
    with open_progress(flags.progress, job.name, len(selected)) as progress:
        stats = await enrich(store, job, options, ids=selected, progress=progress, stop=stop)
    return Stage(
        name=job.name,
        code=_stats_code(stats),
        report={"job": job.name, **job.words.counters(stats)},
        lines=_summary(job.name, stats, flags, job.words, command or job.name),
        finish=stats.finish_reason,
    )


async def _sync_stage(
    store: Store, options: SyncOptions, flags: SiteFlags, stop: trio.Event, command: str = "sync"
) -> Stage:
    progress_for = _progress_factory(flags, "sync", LISTING)

    def notify(message: str) -> None:
        print(f"sync: {message}", file=sys.stderr, flush=True)

    result = await sync_listing(store, options, progress=progress_for, stop=stop, notify=notify)
    stats = result.stats
    lines = _summary("sync", stats, flags, LISTING, command)
    if result.page_limit and stats.finish_reason is FinishReason.COMPLETED:
        # The pipeline read every page it was given; the walk did not reach its end.
        lines[0] = lines[0].replace("sync: completed", f"sync: stopped at --pages {result.pages}")
    walk = wrap(["", *walk_lines(result, f"trio-enrich {command}")])[1:]
    code = _stats_code(stats)
    if code == EXIT_OK and not result.complete and options.max_pages is None:
        code = EXIT_ITEM_FAILURES  # the walk did not reach its end: not everything is stored
    return Stage(
        name="sync",
        code=code,
        report={"job": "sync", **result.as_dict(), **LISTING.counters(stats)},
        lines=[lines[0], *walk, *lines[1:]],
        finish=stats.finish_reason,
    )


async def _committees_stage(
    store: Store,
    options: EnrichOptions,
    flags: SiteFlags,
    stop: trio.Event,
    command: str = "committees",
) -> Stage:
    progress_for = _progress_factory(flags, "committees", COMMITTEE_WORDS)

    result = await read_committees(store, options, progress=progress_for, stop=stop)
    stats = result.stats
    again = f"all {len(COMMITTEES)} committees"
    lines = _summary("committees", stats, flags, COMMITTEE_WORDS, command, starts_over=again)
    code = _stats_code(stats)
    if code == EXIT_OK and not result.complete:
        code = EXIT_ITEM_FAILURES
    return Stage(
        name="committees",
        code=code,
        report={"job": "committees", **result.as_dict(), **COMMITTEE_WORDS.counters(stats)},
        lines=[
            lines[0],
            *wrap(["", *committee_lines(result, f"trio-enrich {command}")])[1:],
            *lines[1:],
        ],
        finish=stats.finish_reason,
    )


def _progress_factory(
    flags: SiteFlags, label: str, words: Words
) -> Callable[[int | None], AbstractContextManager[ProgressSink]]:
    """Opens a stage's progress display for a round of `total` pages."""

    def progress_for(total: int | None) -> AbstractContextManager[ProgressSink]:
        return open_progress(flags.progress, label, total, noun=words.noun)

    return progress_for


async def _run_locked(
    label: str,
    flags: SiteFlags,
    options: EnrichOptions,
    work: Callable[[Store, trio.Event, EnrichOptions, Robots], Awaitable[list[Stage]]],
    needs: Callable[[Store, EnrichOptions], list[str]],
    *,
    create: bool,
    first: Sequence[str] = (),
    check: Callable[[Store], None] | None = None,
    report: Callable[[list[Stage]], int] | None = None,
) -> int:
    """Open the database, take the run lock, read robots.txt (the pages `needs` must be
    allowed; its rate caps the pacing), run `work` under the signal handling, print the
    stages' summaries (or `report` them) and return the exit code.

    A new database is made only once robots.txt was read and allows `first`, the pages a run
    on a new database reads first: a first run that is refused (exit 2) or cannot reach the
    site (exit 3) leaves no file behind. (Removing a file made too soon would not do: another
    run may have opened it meanwhile.)
    """
    robots: Robots | None = None
    if create and not flags.db.exists():
        robots = await read_robots(options.base_url, deadline=options.deadline)
        _check_robots(robots, first, flags)
    stages: list[Stage] | None = None
    store = await trio.to_thread.run_sync(lambda: Store.open(flags.db, create=create))
    lock = RunLock(flags.db)
    try:
        if check is not None:
            await trio.to_thread.run_sync(check, store)
        # The lock before the pending list: a run that waited reads what the other left.
        await _take_run_lock(lock, store, flags)
        if robots is None:
            robots = await read_robots(options.base_url, deadline=options.deadline)
        if robots.text:
            print(robots.describe(), file=sys.stderr, flush=True)
        paced = await trio.to_thread.run_sync(_paced, store, flags, options, robots)
        paths = await trio.to_thread.run_sync(needs, store, paced)
        _check_robots(robots, paths, flags)

        async def guarded(stop: trio.Event) -> list[Stage]:
            assert robots is not None
            return await work(store, stop, paced, robots)

        stages, received = await _with_signals(label, guarded)
        if paced.adaptive is not None:
            await trio.to_thread.run_sync(_remember_rate, store, paced)
    finally:
        _release_run_lock(lock, store)
        store.close()
    if stages is None:
        return _signal_exit(received)
    for stage in stages:
        if received and stage.finish is FinishReason.INTERRUPTED:
            stage.code = _signal_exit(received)  # the code the process returns
        if stage.code and not flags.json and report is None:
            stage.lines[0] += f" (exit {stage.code})"
    if report is not None:
        code = report(stages)  # the report decides the code (update: stages refused too)
    else:
        for stage in stages:
            _print_stage(stage, flags)
        code = _most_severe([stage.code for stage in stages])
    if received:
        return _signal_exit(received)
    return code


#: A remembered rate older than this is not trusted.
REMEMBER_DAYS = 30


def _paced(store: Store, flags: SiteFlags, options: EnrichOptions, robots: Robots) -> EnrichOptions:
    """The options with their pacing: robots.txt's rate caps every mode; auto starts from the
    rate an earlier run learned for this host (with a margin), or from the polite rate."""
    rate = flags.rate()
    cap = robots.rate_cap
    if not rate.auto:
        if cap is None:
            return options
        return replace(options, max_rps=min(options.max_rps or cap, cap))
    # The adaptive gate spaces requests exactly: keep robots.txt's cap with a margin.
    ceilings = [c for c in (rate.value, None if cap is None else cap / 1.03) if c is not None]
    ceiling = min(ceilings) if ceilings else None
    learned = store.learned_rate(urlsplit(options.base_url).netloc)
    adaptive = AdaptiveRate(start=COLD_START_RATE, ceiling=ceiling)
    if learned is not None and _fresh(str(learned.get("learned_at", ""))):
        value = float(str(learned.get("rate", COLD_START_RATE)))
        if learned.get("limited"):
            adaptive = AdaptiveRate(start=0.95 * value, ceiling=ceiling, remembered=True)
        else:
            adaptive = AdaptiveRate(start=max(COLD_START_RATE, 0.9 * value), ceiling=ceiling)
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


def _check_robots(robots: Robots, paths: Sequence[str], flags: SiteFlags) -> None:
    """Stop before the first page request when robots.txt disallows a page the run needs."""
    rule = _disallowed(robots, paths, flags)
    if rule is not None:
        raise UsageError(
            f"{rule}; nothing was fetched. Pass --ignore-robots-disallow only if you have "
            "decided to fetch it anyway"
        )


def _disallowed(robots: Robots, paths: Sequence[str], flags: SiteFlags) -> str | None:
    """Which rule of robots.txt disallows one of `paths`, in words (None: all allowed, or the
    user passed --ignore-robots-disallow, which is warned about)."""
    blocked = robots.blocked(paths)
    if blocked is None:
        return None
    path, rule = blocked
    if flags.ignore_robots_disallow:
        print(f"trio-enrich: warning: robots.txt ({rule}) disallows {path}; going on as "
              "--ignore-robots-disallow asks", file=sys.stderr, flush=True)  # fmt: skip
        return None
    return f"robots.txt disallows {path} for {PRODUCT_TOKEN} ({rule})"


def _stage_paths(store: Store, name: str, options: EnrichOptions) -> list[str]:
    """The pages a stage of `update` is about to read, for robots.txt: the listing's first
    page, the detail pages pending now, or each committee's first page. The dry run and the
    real run ask robots.txt about the same pages."""
    if name == "sync":
        return [listing_path(1, 12)]
    if name == "committees":
        return [committees_path(code, 1) for code in COMMITTEES]
    job = TRADES if name == "trades" else ISSUERS
    return [job.path(item) for item in pending_ids(store, job, options)]


def _print_stage(stage: Stage, flags: SiteFlags) -> None:
    if flags.json:
        print(json.dumps(stage.report), flush=True)
    else:
        print("\n".join(stage.lines), flush=True)


#: Exit codes from the least to the most severe.
_SEVERITY = (EXIT_OK, EXIT_ITEM_FAILURES, EXIT_USAGE, EXIT_BREAKER, EXIT_INTERRUPTED,
             EXIT_TERMINATED)  # fmt: skip


def _most_severe(codes: Sequence[int]) -> int:
    return max(codes, key=_SEVERITY.index, default=EXIT_OK)


async def _take_run_lock(lock: RunLock, store: Store, flags: SiteFlags) -> None:
    """One writer per database: another run's lock stops this one (exit 2), or with --wait
    this one waits for it (Ctrl-C still stops the wait)."""
    said = False
    while not lock.try_acquire():
        if not flags.wait:
            holder = await trio.to_thread.run_sync(store.current_run)
            raise UsageError(
                f"database {flags.db} is in use by another trio-enrich run "
                f"({_describe_run(holder)}); let it finish, or pass --wait to run after it"
            )
        if not said:
            # Once, so that a terminal does not look hung and a cron log says who it waited for.
            holder = await trio.to_thread.run_sync(store.current_run)
            print(f"{local_time()} trio-enrich: waiting for the run using {flags.db} "
                  f"({_describe_run(holder)}) to finish", file=sys.stderr, flush=True)  # fmt: skip
            said = True
        await trio.sleep(0.2)
    if said:
        print(f"{local_time()} trio-enrich: {flags.db} is free; starting", file=sys.stderr,
              flush=True)  # fmt: skip
    command = " ".join(["trio-enrich", *sys.argv[1:]])[:200]
    await trio.to_thread.run_sync(store.record_run, command)


def _release_run_lock(lock: RunLock, store: Store) -> None:
    if lock.held:
        with contextlib.suppress(TrioEnrichError):
            store.clear_run()
    lock.release()


def _describe_run(holder: dict[str, object] | None) -> str:
    if holder is None:
        return "no details recorded"
    return f"pid {holder.get('pid')}, `{holder.get('command')}`, since {holder.get('since')}"


def _require_database(path: Path) -> None:
    """A missing database is the user's first step not taken yet: say which step."""
    if not path.exists():
        raise UsageError(
            f"database {path} does not exist; make it with `trio-enrich sync --db {path}` "
            "(or name an existing one with --db)"
        )


async def _with_signals(
    label: str, work: Callable[[trio.Event], Awaitable[T]]
) -> tuple[T | None, list[int]]:
    """Run `work(stop)`; the first SIGINT/SIGTERM sets `stop`, a second one cancels at once."""
    received: list[int] = []
    result: T | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            stop = trio.Event()

            async def watch() -> None:
                async for signum in signals:
                    received.append(signum)
                    if len(received) == 1:
                        print(f"\n{label}: stopping: committing what was received "
                              "(signal again to stop at once)", file=sys.stderr)  # fmt: skip
                        stop.set()
                    else:
                        nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            result = await work(stop)
            nursery.cancel_scope.cancel()
    if result is None:
        print(f"{label}: stopped at once; committed items are kept", file=sys.stderr)
    return result, received


def _signal_exit(received: list[int]) -> int:
    return EXIT_TERMINATED if received and received[0] == signal.SIGTERM else EXIT_INTERRUPTED


def _stats_code(stats: RunStats) -> int:
    """The exit code a run's statistics call for (signals aside)."""
    if stats.finish_reason in (
        FinishReason.BREAKER,
        FinishReason.NOT_FOUND_GUARD,
        FinishReason.UNREACHABLE,
    ):
        return EXIT_BREAKER
    return EXIT_ITEM_FAILURES if stats.failed_total else EXIT_OK


def _summary(
    label: str,
    stats: RunStats,
    flags: SiteFlags,
    words: Words,
    command: str,
    *,
    starts_over: str = "",
) -> list[str]:
    """A stage's summary; its advice names `command`, the command that was run."""
    return summary_lines(
        label, stats, words, max_failures=flags.max_failures, base_url=flags.base_url,
        resume=f"trio-enrich {command}", starts_over=starts_over,
    )  # fmt: skip


async def _update_dry_run(
    flags: SiteFlags, options: EnrichOptions, stages: Sequence[str], *, full: bool = False
) -> int:
    """What each stage would fetch from the database as it is now; nothing is sent."""

    def count() -> tuple[dict[str, list[str]], int, bool]:
        with Store.open(flags.db, read_only=True) as store:
            trades = int(str(store.query("SELECT COUNT(*) FROM trades")[0][0]))
            walk_first = store.get_meta("last_trade_pub_date") is None or bool(store.full_walk())
            paths = {name: _stage_paths(store, name, options) for name in UPDATE_STAGES}
            return paths, trades, walk_first

    found, stored_trades, walk_first = await trio.to_thread.run_sync(count)
    full = full or walk_first
    pending = {name: len(found[name]) for name in ("trades", "issuers")}
    robots = await _read_robots_once(options)
    refused: dict[str, str] = {}
    if isinstance(robots, str):
        said = robots
    else:
        said = robots.describe()
        for name in stages:
            rule = robots.blocked(found[name])
            if rule is not None and not flags.ignore_robots_disallow:
                refused[name] = f"robots.txt disallows {rule[0]} for {PRODUCT_TOKEN} ({rule[1]})"
        if not refused:
            said += "; the pages needed are allowed"
    plan: dict[str, object] = {}
    lines: list[str] = []
    for name in stages:
        if name == "sync":
            # Listing pages: every page for a full walk (as many as the trades stored fill,
            # at least), or from page 1 back to the last synced trade (at least one).
            plan["sync"] = max(1, math.ceil(stored_trades / 12)) if full else 1
            plan["sync_mode"] = "full" if full else "incremental"
            lines.append(f"sync: every listing page, a full walk (at least {plan['sync']})"
                         if full else "sync: listing pages from page 1 back to the last "
                         "synced trade (at least 1)")  # fmt: skip
        elif name == "committees":
            plan["committees"] = len(COMMITTEES)
            lines.append(f"committees: page 1 of each of the {len(COMMITTEES)} committees, then "
                         "the further pages of the large ones")  # fmt: skip
        else:
            plan[name] = pending[name]
            lines.append(f"{name}: {pending[name]} pending now (more after sync adds rows)"
                         if "sync" in stages else f"{name}: {pending[name]} pending")  # fmt: skip
        if name in refused:
            lines[-1] += f"; not run: {refused[name]}"
    if flags.json:
        job = "update" if len(stages) > 1 else stages[0]  # as the real run's JSON names it
        print(json.dumps({"job": job, "dry_run": True, "plan": plan,
                          "refused_by_robots": refused, "robots": said}))  # fmt: skip
    else:
        print("\n".join(wrap(["dry run: only robots.txt was read", *lines, said])), flush=True)
    return EXIT_OK


async def run_sync(flags: SyncFlags) -> int:
    options = flags.sync_options()  # validates before anything is opened

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        return [listing_path(1, options.page_size)]

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions, _: Robots) -> list[Stage]:
        return [await _sync_stage(store, replace(options, enrich=paced), flags, stop)]

    return await _run_locked(
        "sync", flags, options.enrich, work, needs, create=True,
        first=[listing_path(1, options.page_size)],
    )  # fmt: skip


async def run_committees(flags: CommitteeFlags) -> int:
    options = flags.options()
    _require_database(flags.db)
    if flags.dry_run:
        return await _update_dry_run(flags, options, stages=("committees",))

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        return [committees_path(code, 1) for code in COMMITTEES]

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions, _: Robots) -> list[Stage]:
        return [await _committees_stage(store, paced, flags, stop)]

    return await _run_locked("committees", flags, options, work, needs, create=False)


async def run_update(flags: UpdateFlags) -> int:
    options = flags.options()  # validates before anything is opened
    if flags.dry_run:
        _require_database(flags.db)
        return await _update_dry_run(flags, options, stages=UPDATE_STAGES, full=flags.full)
    if not flags.db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {flags.db}: folder {flags.db.parent} does not exist")

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        # robots.txt is asked stage by stage, each about the pages it is about to read; but a
        # database without trades gives the later stages nothing to do without the listing.
        if store.query("SELECT COUNT(*) FROM trades")[0][0] == 0:
            return _stage_paths(store, "sync", paced)
        return []

    refused: dict[str, str] = {}  # stage -> the robots.txt rule that keeps it from running

    async def work(
        store: Store, stop: trio.Event, paced: EnrichOptions, robots: Robots
    ) -> list[Stage]:
        options = paced
        sync_options = SyncOptions(enrich=paced, full=flags.full)
        stages: list[Stage] = []
        for number, name in enumerate(UPDATE_STAGES, start=1):
            if stop.is_set():
                break
            paths = await trio.to_thread.run_sync(_stage_paths, store, name, paced)
            rule = _disallowed(robots, paths, flags)
            if rule is not None:
                refused[name] = rule
                print(f"trio-enrich: {name} not run: {rule}", file=sys.stderr, flush=True)
                continue
            if not flags.json:
                print(f"\nupdate: {name} ({number} of {len(UPDATE_STAGES)})", flush=True)
            if name == "sync":
                stage = await _sync_stage(store, sync_options, flags, stop, "update")
            elif name == "committees":
                stage = await _committees_stage(store, options, flags, stop, "update")
            else:
                job = TRADES if name == "trades" else ISSUERS
                stage = await _job_stage(store, job, options, flags, stop, "update")
            stages.append(stage)
            if not flags.json:
                print("\n".join(stage.lines), flush=True)
            if stage.stops_the_rest:
                break
        return stages

    def report(stages: list[Stage]) -> int:
        ran = {stage.name for stage in stages}
        not_run = [name for name in UPDATE_STAGES if name not in ran]
        # A stage robots.txt keeps from running leaves the copy incomplete: exit 1 at least.
        code = _most_severe([stage.code for stage in stages] + [EXIT_ITEM_FAILURES] * bool(refused))
        if not stages:
            code = EXIT_USAGE  # every stage refused: nothing was fetched or changed
        if flags.json:
            print(json.dumps({"job": "update", "exit_code": code, "not_run": not_run,
                              "refused_by_robots": refused,
                              "stages": [stage.report for stage in stages]}),
                  flush=True)  # fmt: skip
            return code
        print("\n" + "\n".join(update_lines(
            [(stage.name, stage.code, stage.finish.value) for stage in stages], not_run,
            refused,
        )), flush=True)  # fmt: skip
        return code

    return await _run_locked(
        "update", flags, options, work, needs, create=True, first=[listing_path(1, 12)],
        report=report,
    )  # fmt: skip


async def run_status(db: Path, json: bool) -> int:

    _require_database(db)

    def read() -> dict[str, object]:
        with Store.open(db, read_only=True) as store:
            return store.status()

    report = await trio.to_thread.run_sync(read)
    if json:
        print(_json.dumps(report), flush=True)
        return EXIT_OK
    print("\n".join(status_lines(report, db)), flush=True)
    return EXIT_OK


def _demo_path(db: Path | None) -> Path:
    """The demo's new database file (checked before the simulator starts)."""
    if db is not None and db.exists():
        # The demo writes simulated trades: never into a database that holds real ones.
        raise UsageError(f"--db {db} already exists; the demo needs a new file for its fake data")
    if db is not None and not db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {db}: folder {db.parent} does not exist")
    return db or Path(tempfile.mkdtemp(prefix="trio-enrich-demo-")) / "capitoltraders.db"


async def run_demo(db: Path | None, trades: int, seed: int, progress: str) -> int:
    path = _demo_path(db)
    try:
        return await _demo(path, trades, seed, progress, kept=db is not None)
    finally:
        if db is None:  # a temporary folder of our own: nothing of it is left behind
            shutil.rmtree(path.parent, ignore_errors=True)


async def _demo(path: Path, trades: int, seed: int, progress: str, *, kept: bool) -> int:
    from .cli import app
    from .sim import make_dataset, open_simulator
    from .sim import profile as fault_profile

    # The realistic profile's faults, at a latency and Retry-After that fit in a minute.
    faults = fault_profile("realistic").with_(
        latency_median_ms=20, latency_p99_ms=120, retry_after=1
    )
    dataset = make_dataset(seed, trades)
    async with open_simulator(dataset, faults, seed=seed) as site:
        print(f"demo: a simulated site at {site.base_url} with {trades} trades\n"
              f"demo: database {path}", flush=True)  # fmt: skip
        common = ["--db", str(path), "--base-url", site.base_url, "--concurrency", "8",
                  "--details-delay-ms", "0", "--retry-base-ms", "200", "--retry-max-ms", "2000",
                  "--progress", progress]  # fmt: skip
        # The flags as run: faster than the defaults, which are for the real site.
        print(f"\n$ trio-enrich update {' '.join(common)}", flush=True)
        code = await app.run_async(
            ["update", *common], result_action="return_value", exit_on_error=False,
            print_error=False,
        )  # fmt: skip
        if code not in (EXIT_OK, EXIT_ITEM_FAILURES):
            print(f"demo: update stopped with exit code {code}", file=sys.stderr)
            return int(code)
        print()
        await app.run_async(["status", "--db", str(path)], result_action="return_value")
    if kept:
        print(f"\ndemo: done. Look inside with sqlite3, for example:\n  sqlite3 {path} \\\n"
              "    'SELECT committee, COUNT(*) FROM politician_committees GROUP BY 1'")  # fmt: skip
    else:
        print("\ndemo: done; its temporary database is removed (pass --db FILE to keep it)")
    return EXIT_OK
