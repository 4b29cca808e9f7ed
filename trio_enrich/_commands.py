"""What the commands do: their stages run inside a polite, locked run; summaries, exit codes.

``cli`` declares the commands and their options and imports this module only when a command
runs, so `trio-enrich --help` (and a command's start) does not pay for trio, httpx, SQLite and
the rest before it needs them. The commands take :class:`~._settings.RunSettings`, plain
values the CLI builds from its flags.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import trio

from ._archive import PageArchive, archive_path
from ._defaults import PAGE_SIZE
from ._enrich import EnrichOptions, pending_ids
from ._errors import (
    EXIT_BREAKER,
    EXIT_INTERRUPTED,
    EXIT_ITEM_FAILURES,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ArchiveError,
    DatabaseError,
    RunStopped,
    SiteUnavailable,
    UsageError,
    leaves,
)
from ._jobs import JOBS
from ._model import StatusReport
from ._pipeline import FinishReason
from ._polite import check_robots, disallowed, paced_options, polite_run
from ._report import status_lines, update_lines, wrap
from ._robots import Robots, read_robots
from ._schema import check_path
from ._settings import RunSettings
from ._stages import (
    COMMITTEES_STAGE,
    ISSUERS_STAGE,
    SYNC,
    TRADES_STAGE,
    UPDATE,
    Plan,
    Stage,
    StageDone,
    StageRun,
)
from ._store import Store
from ._sync import listing_path

__all__ = [
    "require_database", "run_committees", "run_job", "run_status", "run_sync", "run_update",
    "signal_exit", "with_signals",
]  # fmt: skip

T = TypeVar("T")

_JOB_STAGES = {"trades": TRADES_STAGE, "issuers": ISSUERS_STAGE}


async def run_job(name: str, settings: RunSettings) -> int:
    """`trades` or `issuers`."""
    stage = _JOB_STAGES[name]
    if settings.dry_run:
        return await _job_dry_run(name, settings)
    require_database(settings.db)
    table = JOBS[name].table

    def require_items(store: Store) -> None:
        if store.count(table) == 0:
            raise UsageError(
                f"no {JOBS[name].words.noun} in the database {settings.db}: run "
                f"`trio-enrich sync --db {settings.db}` first"
            )

    return await _run_locked(name, settings, (stage,), create=False, check=require_items)


async def run_sync(settings: RunSettings) -> int:
    first = [listing_path(1, settings.sync.page_size if settings.sync else PAGE_SIZE)]
    return await _run_locked("sync", settings, (SYNC,), create=True, first=first)


async def run_committees(settings: RunSettings) -> int:
    require_database(settings.db)
    if settings.dry_run:
        return await _dry_run(settings, (COMMITTEES_STAGE,))
    return await _run_locked("committees", settings, (COMMITTEES_STAGE,), create=False)


async def run_update(settings: RunSettings) -> int:
    """sync, trades, issuers and committees in one command."""
    if settings.dry_run:
        require_database(settings.db)
        return await _dry_run(settings, UPDATE)
    db = settings.db
    if not db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {db}: folder {db.parent} does not exist")
    first = [listing_path(1, PAGE_SIZE)]
    return await _run_locked("update", settings, UPDATE, create=True, first=first, each_stage=True)


async def run_status(db: Path, json: bool) -> int:
    require_database(db)

    def read() -> StatusReport:
        with Store.open(db, read_only=True) as store:
            report = store.status()
        where = archive_path(db)
        report["archive"] = None
        if where.exists():
            try:
                with PageArchive.open(where, read_only=True) as archive:
                    report["archive"] = archive.summary().as_dict()
            except ArchiveError as error:  # the database is reported all the same
                report["archive_error"] = str(error)
        return report

    report = await trio.to_thread.run_sync(read)
    if json:
        print(_json.dumps(report), flush=True)
        return EXIT_OK
    print("\n".join(status_lines(report, db)), flush=True)
    return EXIT_OK


async def run_check(options: EnrichOptions, db: Path, json: bool) -> int:
    """`check`: the canary pages, the verdict; exit 0 when the site gives its data."""
    from ._check import OK
    from ._check import run_check as check_pages

    report = await check_pages(options, db)
    if json:
        print(_json.dumps(report.as_dict()), flush=True)
    else:
        print("\n".join(report.lines()), flush=True)
    return EXIT_OK if report.verdict == OK else EXIT_BREAKER


_json = json  # `run_status(json=...)` shadows the module name


def _say_nothing(line: str) -> None:
    pass


# --- the locked run ----------------------------------------------------------------------------


async def _run_locked(
    label: str,
    settings: RunSettings,
    stages: Sequence[Stage],
    *,
    create: bool,
    first: Sequence[str] = (),
    check: Callable[[Store], None] | None = None,
    each_stage: bool = False,
) -> int:
    """Open the database, run `stages` in a polite run (one after the other, under the signal
    handling), print their summaries and return the exit code.

    robots.txt must allow the pages each stage needs: before any is run, or (`each_stage`,
    `update`) as each is about to start, a refused one being named and skipped.

    A new database is made only once robots.txt was read and allows `first`, the pages a run
    on a new database reads first: a first run that is refused (exit 2) or cannot reach the
    site (exit 3) leaves no file behind. (Removing a file made too soon would not do: another
    run may have opened it meanwhile.)
    """
    options = settings.options
    robots: Robots | None = None
    # Every local check before the first request: a database that cannot be made or used is
    # refused without asking the site for anything.
    check_path(settings.db, must_exist=not create, writable=True)
    if create and not settings.db.exists():
        robots = await read_robots(
            options.base_url, deadline=options.deadline, client=options.client
        )
        # (Ignoring a disallow is said once, by the polite run, when the database is open.)
        check_robots(robots, first, ignore=settings.ignore_robots_disallow, say=_say_nothing)
    store = await trio.to_thread.run_sync(lambda: Store.open(settings.db, create=create))
    refused: dict[str, str] = {}  # stage -> the robots.txt rule that keeps it from running
    done: list[StageDone] | None = None
    archive: PageArchive | None = None
    try:
        if settings.archive:
            archive = await trio.to_thread.run_sync(PageArchive.open, archive_path(settings.db))
            options = replace(options, archive=archive)
            if robots is not None and robots.status is not None:
                # (read before the database, and its archive, could be made)
                archive.keep("/robots.txt", robots.status, robots.body)
        if check is not None:
            await store.run(check, store)

        def needs(store: Store, paced: EnrichOptions) -> list[str]:
            if not each_stage:
                return [path for stage in stages for path in stage.paths(store, paced)]
            # Asked stage by stage; but a database without trades gives the later stages
            # nothing to do without the listing.
            if store.count("trades") == 0:
                return SYNC.paths(store, paced)
            return []

        async with polite_run(
            store, options, needs=needs, wait=settings.wait, robots=robots,
            ignore_robots_disallow=settings.ignore_robots_disallow,
        ) as polite:  # fmt: skip

            async def work(stop: trio.Event) -> list[StageDone]:
                results: list[StageDone] = []
                for number, stage in enumerate(stages, start=1):
                    if stop.is_set():
                        break
                    if each_stage:
                        paths = await store.run(stage.paths, store, polite.options)
                        rule = polite.disallowed(paths)
                        if rule is not None:
                            refused[stage.name] = rule
                            print(f"trio-enrich: {stage.name} not run: {rule}", file=sys.stderr,
                                  flush=True)  # fmt: skip
                            continue
                        if not settings.json:
                            print(f"\nupdate: {stage.name} ({number} of {len(stages)})", flush=True)
                    run = StageRun(store, polite.options, settings, stop, label)
                    result = await stage.run(run)
                    results.append(result)
                    if each_stage and not settings.json:
                        print("\n".join(result.lines), flush=True)
                    if result.stops_the_rest:
                        break
                return results

            done, received = await stopped_by_writes(with_signals(label, work))
    finally:
        if archive is not None:
            archive.close()
        store.close()
    if done is None:
        return signal_exit(received)
    for result in done:
        if received and result.finish is FinishReason.INTERRUPTED:
            result.code = signal_exit(received)  # the code the process returns
        if result.code and not settings.json and not each_stage:
            result.lines[0] += f" (exit {result.code})"
    if each_stage:
        code = _update_report(settings, stages, done, refused)
    else:
        for result in done:
            print(json.dumps(result.report) if settings.json else "\n".join(result.lines),
                  flush=True)  # fmt: skip
        code = _most_severe([result.code for result in done])
    return signal_exit(received) if received else code


def _update_report(
    settings: RunSettings, stages: Sequence[Stage], done: list[StageDone], refused: dict[str, str]
) -> int:
    """`update`'s last line (or JSON object); the code: the most severe of its stages, and a
    stage robots.txt kept from running leaves the copy incomplete (exit 1 at least)."""
    ran = {result.name for result in done}
    not_run = [stage.name for stage in stages if stage.name not in ran]
    code = _most_severe([result.code for result in done] + [EXIT_ITEM_FAILURES] * bool(refused))
    if not done:
        code = EXIT_USAGE  # every stage refused: nothing was fetched or changed
    if settings.json:
        print(json.dumps({"job": "update", "exit_code": code, "not_run": not_run,
                          "refused_by_robots": refused,
                          "stages": [result.report for result in done]}), flush=True)  # fmt: skip
        return code
    finished = [(result.name, result.code, result.finish.value) for result in done]
    print("\n" + "\n".join(update_lines(finished, not_run, refused)), flush=True)
    return code


#: Exit codes from the least to the most severe.
_SEVERITY = (EXIT_OK, EXIT_ITEM_FAILURES, EXIT_USAGE, EXIT_BREAKER, EXIT_INTERRUPTED,
             EXIT_TERMINATED)  # fmt: skip


def _most_severe(codes: Sequence[int]) -> int:
    return max(codes, key=_SEVERITY.index, default=EXIT_OK)


async def stopped_by_writes(running: Awaitable[T]) -> T:
    """A run's result; a write that fails once the run is under way (a full disk, a file made
    read-only meanwhile) stops it as a run stops, not as a usage error: whatever it committed
    before is kept, and running it again goes on from there."""
    try:
        return await running
    except* DatabaseError as group:
        error = leaves(group)[0]
        raise RunStopped(
            f"{error}; the run stopped there. What it committed before is kept: mend this "
            "(free some space, say) and run it again to go on"
        ) from error


def require_database(path: Path) -> None:
    """A missing database is the user's first step not taken yet: say which step."""
    if not path.exists():
        raise UsageError(
            f"database {path} does not exist; make it with `trio-enrich sync --db {path}` "
            "(or name an existing one with --db)"
        )


async def with_signals(
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


def signal_exit(received: list[int]) -> int:
    return EXIT_TERMINATED if received and received[0] == signal.SIGTERM else EXIT_INTERRUPTED


# --- dry runs ----------------------------------------------------------------------------------


async def _job_dry_run(name: str, settings: RunSettings) -> int:
    require_database(settings.db)
    options = settings.options
    job = JOBS[name]

    def pending() -> tuple[list[str], float | None]:
        with Store.open(settings.db, read_only=True) as store:
            # The pacing the run would start with (auto: its start rate, remembered or not).
            paced = paced_options(store, options, Robots(options.base_url, None))
            rate = paced.adaptive.rate if paced.adaptive is not None else paced.max_rps
            return [job.path(item) for item in pending_ids(store, job, options)], rate

    paths, rate = await trio.to_thread.run_sync(pending)
    selected = len(paths)
    robots = await _robots_for_dry_run(settings, paths)
    per_item = options.delay + 0.15  # the pause plus a typical page time
    estimate = selected * per_item / options.concurrency
    if rate:
        estimate = max(estimate, selected / rate)
    pace = f"concurrency {options.concurrency}"
    if options.auto:
        pace += f", auto from {rate:.1f} requests/s (faster if the site allows)"
    if settings.json:
        print(json.dumps({"job": name, "dry_run": True, "selected": selected,
                          "estimated_seconds": round(estimate, 1), "robots": robots}))  # fmt: skip
    else:
        print("\n".join(wrap([f"{name}: {selected} pending; would send at least {selected} "
              f"requests (about {_minutes(estimate)} at {pace}); nothing else was sent",
              robots])), flush=True)  # fmt: skip
    return EXIT_OK


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


async def _robots_for_dry_run(settings: RunSettings, paths: Sequence[str]) -> str:
    """What robots.txt says, for a dry run (its one request; no retries)."""
    robots = await _read_robots_once(settings)
    if isinstance(robots, str):
        return robots
    blocked = robots.blocked(paths)
    if blocked is not None:
        path, rule = blocked
        return (f"{robots.describe()}; it disallows {path} ({rule}): a run would stop "
                "(exit 2) unless --ignore-robots-disallow")  # fmt: skip
    return robots.describe() + "; the pages needed are allowed"


async def _read_robots_once(settings: RunSettings) -> Robots | str:
    """robots.txt for a dry run (one request, no retries), or why it cannot be read."""
    options = settings.options
    try:
        return await read_robots(
            options.base_url, deadline=min(options.deadline, 10), tries=1, client=options.client
        )
    except SiteUnavailable as error:
        return f"{error} (a run would stop, exit 3)"


async def _dry_run(settings: RunSettings, stages: Sequence[Stage]) -> int:
    """What each stage would fetch from the database as it is now; nothing is sent."""
    options = settings.options
    names = [stage.name for stage in stages]

    def plan() -> tuple[list[tuple[dict[str, object], str]], dict[str, list[str]]]:
        with Store.open(settings.db, read_only=True) as store:
            full = settings.full or store.get_meta("last_trade_pub_date") is None
            full = full or bool(store.full_walk())
            paths = {stage.name: stage.paths(store, options) for stage in stages}
            plans = [stage.plan(Plan(store, options, full=full, after_sync=SYNC in stages,
                                     paths=paths[stage.name])) for stage in stages]  # fmt: skip
            return plans, paths

    plans, paths = await trio.to_thread.run_sync(plan)
    robots = await _read_robots_once(settings)
    refused: dict[str, str] = {}
    if isinstance(robots, str):
        said = robots
    else:
        said = robots.describe()
        for name in names:
            rule = disallowed(robots, paths[name], ignore=settings.ignore_robots_disallow,
                              say=_say_nothing)  # fmt: skip
            if rule is not None:
                refused[name] = rule
        if not refused:
            said += "; the pages needed are allowed"
    entries: dict[str, object] = {}
    lines: list[str] = []
    for name, (entry, line) in zip(names, plans, strict=True):
        entries.update(entry)
        lines.append(line + (f"; not run: {refused[name]}" if name in refused else ""))
    if settings.json:
        job = "update" if len(stages) > 1 else names[0]  # as the real run's JSON names it
        print(json.dumps({"job": job, "dry_run": True, "plan": entries,
                          "refused_by_robots": refused, "robots": said}))  # fmt: skip
    else:
        print("\n".join(wrap(["dry run: only robots.txt was read", *lines, said])), flush=True)
    return EXIT_OK
