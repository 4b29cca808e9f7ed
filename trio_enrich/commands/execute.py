"""What the commands do: their stages run in a run session; summaries and exit codes.

``cli`` declares the commands and their options and imports this module only when a command
runs, so `trio-enrich --help` (and a command's start) does not pay for trio, httpx, SQLite and
the rest before it needs them. The commands take :class:`~.settings.RunSettings`, plain
values the CLI builds from its flags, and run the same sessions and stages as the library's
calls (``runs.calls``): this module adds the signals, the progress display and the words.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import trio

from .._defaults import PAGE_SIZE
from .._errors import (
    EXIT_BREAKER,
    EXIT_INTERRUPTED,
    EXIT_ITEM_FAILURES,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ArchiveError,
    DatabaseError,
    SiteUnavailable,
    UsageError,
    leaves,
)
from .._model import StatusReport
from ..clients.robots import Robots, read_robots
from ..core.stats import FinishReason, ProgressSink
from ..runs.jobs import ISSUERS, TRADES
from ..runs.options import EnrichOptions
from ..runs.session import (
    disallowed,
    open_session,
    paced,
    require_database,
    run_stopped,
    say_nothing,
)
from ..runs.stages import (
    COMMITTEES_STAGE,
    ISSUERS_STAGE,
    SYNC,
    TRADES_STAGE,
    UPDATE,
    Plan,
    Stage,
    StageInput,
    StageResult,
    needs_of,
    run_stages,
)
from ..runs.sync import listing_path
from ..storage.archive import PageArchive, archive_path
from ..storage.store import Store, Table
from .progress import open_progress
from .report import status_lines, update_lines, wrap, wrap_each
from .settings import RunSettings
from .summaries import StageDone, stage_done

if TYPE_CHECKING:
    from ..alerts.deliver import Alerts, AlertsReport

__all__ = [
    "require_database", "run_check", "run_committees", "run_issuers", "run_status", "run_sync",
    "run_trades", "run_update", "signal_exit", "stopped_by_writes", "with_signals",
]  # fmt: skip

T = TypeVar("T")


async def run_trades(settings: RunSettings) -> int:
    return await _run_job(TRADES_STAGE, TRADES.table, settings)


async def run_issuers(settings: RunSettings) -> int:
    return await _run_job(ISSUERS_STAGE, ISSUERS.table, settings)


async def _run_job(stage: Stage, table: Table, settings: RunSettings) -> int:
    require_database(settings.db)
    if settings.dry_run:
        return await _dry_run(settings, (stage,))

    def count() -> int:
        with Store.open(settings.db, read_only=True) as store:
            return store.count(table)

    if await trio.to_thread.run_sync(count) == 0:
        raise UsageError(
            f"no {stage.name} in the database {settings.db}: run "
            f"`trio-enrich sync --db {settings.db}` first"
        )
    return await _run_stages(stage.name, settings, (stage,), create=False)


async def run_sync(settings: RunSettings) -> int:
    first = [listing_path(1, settings.walk.page_size)]
    return await _run_stages("sync", settings, (SYNC,), create=True, first=first)


async def run_committees(settings: RunSettings) -> int:
    require_database(settings.db)
    if settings.dry_run:
        return await _dry_run(settings, (COMMITTEES_STAGE,))
    return await _run_stages("committees", settings, (COMMITTEES_STAGE,), create=False)


async def run_update(settings: RunSettings) -> int:
    """sync, trades, issuers and committees in one command."""
    if settings.dry_run:
        require_database(settings.db)
        return await _dry_run(settings, UPDATE)
    db = settings.db
    if not db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {db}: folder {db.parent} does not exist")
    first = [listing_path(1, PAGE_SIZE)]
    alerts = None
    if settings.alerts:
        from ..alerts.deliver import Alerts

        alerts = Alerts(settings.alerts)
    return await _run_stages("update", settings, UPDATE, create=True, first=first, alerts=alerts)


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
    from ..runs.check import OK
    from ..runs.check import run_check as check_pages

    report = await check_pages(options, db)
    if json:
        print(_json.dumps(report.as_dict()), flush=True)
    else:
        print("\n".join(report.lines()), flush=True)
    return EXIT_OK if report.verdict == OK else EXIT_BREAKER


_json = json  # `run_status(json=...)` shadows the module name


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- a run of stages ---------------------------------------------------------------------------


async def _run_stages(
    command: str,
    settings: RunSettings,
    stages: Sequence[Stage],
    *,
    create: bool,
    first: Sequence[str] = (),
    alerts: Alerts | None = None,
) -> int:
    """Run `stages` in a session on the database (under the signal handling), print their
    summaries and return the exit code. `update` (more than one stage) asks robots.txt about
    each stage as it is about to start, names a refused one and goes on without it; with
    `alerts`, once the stages' data is committed, it writes the feed and sends the news."""
    each_stage = len(stages) > 1
    options = settings.options
    said: list[StageDone] = []

    def starting(stage: Stage, number: int) -> None:
        if each_stage and not settings.json:
            print(f"\nupdate: {stage.name} ({number} of {len(stages)})", flush=True)

    def finished(result: StageResult) -> None:
        done = stage_done(result, settings, command)
        said.append(done)
        if each_stage and not settings.json:
            print("\n".join(done.lines), flush=True)

    def progress(label: str, total: int | None, noun: str) -> AbstractContextManager[ProgressSink]:
        return open_progress(settings.progress, label, total, noun=noun)

    def notify(message: str) -> None:
        print(f"sync: {message}", file=sys.stderr, flush=True)

    async with open_session(
        settings.db, options, needs=needs_of(stages, each_stage=each_stage), create=create,
        first=first, wait=settings.wait, ignore_robots_disallow=settings.ignore_robots_disallow,
        say=_to_stderr,
    ) as session:  # fmt: skip
        alerted: list[AlertsReport] = []
        if alerts is not None:
            await alerts.join(session.store)

        async def work(stop: trio.Event) -> dict[str, str]:
            given = StageInput(stop, progress, settings.walk, notify)
            run = await run_stages(
                session, stages, given, each_stage=each_stage, starting=starting,
                finished=finished,
            )  # fmt: skip
            if alerts is not None and not stop.is_set():
                alerted.append(await alerts.finish(session.store, stop))
            return run.refused

        refused, received = await stopped_by_writes(with_signals(command, work))
        # (said before the run lets go of the lock: its row in the runs' ledger keeps it)
        code = _report(settings, stages, said, refused, received, each_stage=each_stage,
                       alerted=alerted[0] if alerted else None)  # fmt: skip
        session.outcome.exit_code = code
        session.outcome.counts = [done.report for done in said]
    return code


def _report(
    settings: RunSettings,
    stages: Sequence[Stage],
    said: list[StageDone],
    refused: dict[str, str] | None,
    received: list[int],
    *,
    each_stage: bool,
    alerted: AlertsReport | None = None,
) -> int:
    """Print the stages' summaries (and what the alerts did); the exit code of the run: a
    delivery that failed makes it 1 at least (the data itself is complete)."""
    if refused is None:
        return signal_exit(received)
    for done in said:
        if received and done.finish is FinishReason.INTERRUPTED:
            done.code = signal_exit(received)  # the code the process returns
        if done.code and not settings.json and not each_stage:
            done.lines[0] += f" (exit {done.code})"
    if each_stage:
        code = _update_report(settings, stages, said, refused, alerted)
    else:
        for done in said:
            print(json.dumps(done.report) if settings.json else "\n".join(done.lines),
                  flush=True)  # fmt: skip
        code = _most_severe([done.code for done in said])
    return signal_exit(received) if received else code


def _update_report(
    settings: RunSettings,
    stages: Sequence[Stage],
    done: list[StageDone],
    refused: dict[str, str],
    alerted: AlertsReport | None = None,
) -> int:
    """`update`'s last line (or JSON object); the code: the most severe of its stages, and a
    stage robots.txt kept from running leaves the copy incomplete (exit 1 at least), as does
    a failed delivery or feed."""
    ran = {result.name for result in done}
    not_run = [stage.name for stage in stages if stage.name not in ran]
    failed = bool(refused) or bool(alerted and alerted.failed)
    code = _most_severe([result.code for result in done] + [EXIT_ITEM_FAILURES] * failed)
    if not done:
        code = EXIT_USAGE  # every stage refused: nothing was fetched or changed
    if settings.json:
        report: dict[str, object] = {"job": "update", "exit_code": code, "not_run": not_run,
                                     "refused_by_robots": refused,
                                     "stages": [result.report for result in done]}  # fmt: skip
        if settings.alerts:
            report["alerts"] = alerted.as_dict() if alerted else None
        print(json.dumps(report), flush=True)
        return code
    finished = [(result.name, result.code, result.finish.value) for result in done]
    lines = update_lines(finished, not_run, refused)
    if alerted is not None:
        lines = [*wrap_each(alerted.lines()), *lines]
    print("\n" + "\n".join(lines), flush=True)
    return code


#: Exit codes from the least to the most severe.
_SEVERITY = (EXIT_OK, EXIT_ITEM_FAILURES, EXIT_USAGE, EXIT_BREAKER, EXIT_INTERRUPTED,
             EXIT_TERMINATED)  # fmt: skip


def _most_severe(codes: Sequence[int]) -> int:
    return max(codes, key=_SEVERITY.index, default=EXIT_OK)


async def stopped_by_writes(running: Awaitable[T]) -> T:
    """A run's result; a write that fails once the run is under way stops it as a run stops
    (``run_stopped``), not as a usage error."""
    try:
        return await running
    except* DatabaseError as group:
        error = leaves(group)[0]
        raise run_stopped(error) from error


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


async def _dry_run(settings: RunSettings, stages: Sequence[Stage]) -> int:
    """What each stage would fetch from the database as it is now, and whether robots.txt
    allows it (--ignore-robots-disallow honoured); only robots.txt is asked for."""
    options = settings.options
    robots = await _read_robots_once(settings)
    known = robots if isinstance(robots, Robots) else Robots(options.base_url, None)

    def plan() -> list[tuple[Stage, list[str], dict[str, object], str, dict[str, object]]]:
        with Store.open(settings.db, read_only=True) as store:
            full = settings.full or store.get_meta("last_trade_pub_date") is None
            full = full or bool(store.full_walk())
            paced_options, adaptive = paced(store, options, known)
            # The pacing the run would start with (auto: its start rate, remembered or not).
            rate = adaptive.rate if adaptive is not None else paced_options.max_rps
            plans = []
            for stage in stages:
                paths = stage.paths(store, options)
                facts = Plan(store, options, full=full, after_sync=SYNC in stages,
                             paths=paths, start_rate=rate)  # fmt: skip
                planned = stage.plan(facts)
                plans.append((stage, paths, planned.entries, planned.line, planned.top))
            return plans

    plans = await trio.to_thread.run_sync(plan)
    refused: dict[str, str] = {}
    said = robots if isinstance(robots, str) else robots.describe()
    if isinstance(robots, Robots):
        for stage, paths, *_ in plans:
            rule = disallowed(robots, paths, ignore=settings.ignore_robots_disallow,
                              say=say_nothing)  # fmt: skip
            if rule is not None:
                refused[stage.name] = rule
        if not refused:
            said += "; the pages needed are allowed"
    alone = len(stages) == 1
    entries: dict[str, object] = {}
    lines: list[str] = []
    for stage, _, entry, line, _ in plans:
        entries.update(entry)
        if stage.name in refused:
            line += (f"; a run would stop (exit 2): {refused[stage.name]}" if alone
                     else f"; not run: {refused[stage.name]}")  # fmt: skip
        lines.append(line)
    if settings.json:
        job = "update" if not alone else stages[0].name  # as the real run's JSON names it
        top = plans[0][4] if alone else {}
        print(json.dumps({"job": job, "dry_run": True, **top, "plan": entries,
                          "refused_by_robots": refused, "robots": said}))  # fmt: skip
    else:
        print("\n".join(wrap(["dry run: only robots.txt was read", *lines, said])), flush=True)
    return EXIT_OK


async def _read_robots_once(settings: RunSettings) -> Robots | str:
    """robots.txt for a dry run (one request, no retries), or why it cannot be read."""
    options = settings.options
    try:
        return await read_robots(
            options.base_url, deadline=min(options.deadline, 10), tries=1, client=options.client
        )
    except SiteUnavailable as error:
        return f"{error} (a run would stop, exit 3)"
