"""The stages a command runs, as values: the pages each needs, its dry-run plan, its run.

`trades`, `issuers`, `sync` and `committees` each run one stage; `update` runs the tuple
:data:`UPDATE` in order. A dry run asks each stage for its plan, robots.txt each stage for the
pages it needs: the dry run and the real run ask about the same pages.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

import trio

from ._committees import read_committees
from ._defaults import PAGE_SIZE
from ._enrich import EnrichOptions, fetch_and_store, pending_ids
from ._errors import EXIT_BREAKER, EXIT_ITEM_FAILURES, EXIT_OK
from ._jobs import ISSUERS, PAGES, TRADES, Job, Words
from ._pipeline import FinishReason, ProgressSink, RunStats
from ._progress import open_progress
from ._report import committee_lines, summary_lines, walk_lines, wrap
from ._roster import COMMITTEES, committees_path
from ._settings import RunSettings
from ._store import Store
from ._sync import SyncOptions, listing_path, sync_listing

__all__ = ["COMMITTEES_STAGE", "ISSUERS_STAGE", "SYNC", "TRADES_STAGE", "UPDATE", "Stage",
           "StageDone", "StageRun"]  # fmt: skip


@dataclass(slots=True)
class StageDone:
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


@dataclass(frozen=True, slots=True)
class StageRun:
    """What a stage runs with: the store, the options as paced, the command's settings, the
    stop event, and the command that was run (its advice names it)."""

    store: Store
    options: EnrichOptions
    settings: RunSettings
    stop: trio.Event
    command: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What a dry run knows about the database, for a stage's plan."""

    store: Store
    options: EnrichOptions
    full: bool  # sync would walk every page
    after_sync: bool  # the stage runs after a sync (which may add rows)
    paths: list[str]  # the pages the stage is about to read (its `paths`)


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage of a command: its name, the pages it is about to read, its plan, its run."""

    name: str
    # The pages it is about to read, for robots.txt (from the store, as paced).
    paths: Callable[[Store, EnrichOptions], list[str]]
    # A dry run's entries for the JSON plan, and its line of text.
    plan: Callable[[Plan], tuple[dict[str, object], str]]
    run: Callable[[StageRun], Awaitable[StageDone]]


def stats_code(stats: RunStats) -> int:
    """The exit code a run's statistics call for (signals aside)."""
    if stats.finish_reason in (
        FinishReason.BREAKER,
        FinishReason.NOT_FOUND_GUARD,
        FinishReason.UNREACHABLE,
        FinishReason.REFUSED,
    ):
        return EXIT_BREAKER
    return EXIT_ITEM_FAILURES if stats.failed_total else EXIT_OK


def _summary(
    name: str, stats: RunStats, words: Words, run: StageRun, *, again: str = ""
) -> list[str]:
    """A stage's summary; its advice names the command that was run."""
    options = run.settings.options
    return summary_lines(
        name, stats, words, max_failures=options.max_failures, base_url=options.base_url,
        resume=f"trio-enrich {run.command}", starts_over=again, client=options.client,
    )  # fmt: skip


def _progress_for(
    run: StageRun, label: str
) -> Callable[[int | None], AbstractContextManager[ProgressSink]]:
    """Opens a stage's progress display for a round of `total` pages."""

    def progress_for(total: int | None) -> AbstractContextManager[ProgressSink]:
        return open_progress(run.settings.progress, label, total, noun=PAGES.noun)

    return progress_for


# --- trades and issuers ------------------------------------------------------------------------


def _job_stage(job: Job[Any, Any]) -> Stage:
    def paths(store: Store, options: EnrichOptions) -> list[str]:
        return [job.path(item) for item in pending_ids(store, job, options)]

    def plan(facts: Plan) -> tuple[dict[str, object], str]:
        pending = len(facts.paths)
        more = " now (more after sync adds rows)" if facts.after_sync else ""
        return {job.name: pending}, f"{job.name}: {pending} pending{more}"

    async def run(run: StageRun) -> StageDone:
        selected = await run.store.run(pending_ids, run.store, job, run.options)
        with open_progress(run.settings.progress, job.name, len(selected)) as progress:
            stats = await fetch_and_store(
                run.store, job, run.options, ids=selected, progress=progress, stop=run.stop
            )
        return StageDone(
            name=job.name,
            code=stats_code(stats),
            report={"job": job.name, **job.words.counters(stats)},
            lines=_summary(job.name, stats, job.words, run),
            finish=stats.finish_reason,
        )

    return Stage(job.name, paths, plan, run)


TRADES_STAGE = _job_stage(TRADES)
ISSUERS_STAGE = _job_stage(ISSUERS)


# --- sync --------------------------------------------------------------------------------------


def _sync_paths(store: Store, options: EnrichOptions) -> list[str]:
    return [listing_path(1, PAGE_SIZE)]


def _sync_plan(facts: Plan) -> tuple[dict[str, object], str]:
    # Listing pages: every page for a full walk (as many as the trades stored fill, at
    # least), or from page 1 back to the last synced trade (at least one).
    trades = facts.store.count("trades")
    if facts.full:
        pages = max(1, math.ceil(trades / PAGE_SIZE))
        line = f"sync: every listing page, a full walk (at least {pages})"
        return {"sync": pages, "sync_mode": "full"}, line
    line = "sync: listing pages from page 1 back to the last synced trade (at least 1)"
    return {"sync": 1, "sync_mode": "incremental"}, line


async def _sync_run(run: StageRun) -> StageDone:
    settings = run.settings
    walk = replace(settings.sync or SyncOptions(full=settings.full), enrich=run.options)

    def notify(message: str) -> None:
        print(f"sync: {message}", file=sys.stderr, flush=True)

    result = await sync_listing(
        run.store, walk, progress=_progress_for(run, "sync"), stop=run.stop, notify=notify
    )
    stats = result.stats
    lines = _summary("sync", stats, PAGES, run)
    if result.page_limit and stats.finish_reason is FinishReason.COMPLETED:
        # The pipeline read every page it was given; the walk did not reach its end.
        lines[0] = lines[0].replace("sync: completed", f"sync: stopped at --pages {result.pages}")
    walked = wrap(["", *walk_lines(result, f"trio-enrich {run.command}")])[1:]
    code = stats_code(stats)
    if code == EXIT_OK and not result.complete and walk.max_pages is None:
        code = EXIT_ITEM_FAILURES  # the walk did not reach its end: not everything is stored
    return StageDone(
        name="sync",
        code=code,
        report={"job": "sync", **result.as_dict(), **PAGES.counters(stats)},
        lines=[lines[0], *walked, *lines[1:]],
        finish=stats.finish_reason,
    )


SYNC = Stage("sync", _sync_paths, _sync_plan, _sync_run)


# --- committees --------------------------------------------------------------------------------


def _committees_paths(store: Store, options: EnrichOptions) -> list[str]:
    return [committees_path(code, 1) for code in COMMITTEES]


def _committees_plan(facts: Plan) -> tuple[dict[str, object], str]:
    line = (f"committees: page 1 of each of the {len(COMMITTEES)} committees, then the "
            "further pages of the large ones")  # fmt: skip
    return {"committees": len(COMMITTEES)}, line


async def _committees_run(run: StageRun) -> StageDone:
    result = await read_committees(
        run.store, run.options, progress=_progress_for(run, "committees"), stop=run.stop
    )
    stats = result.stats
    lines = _summary("committees", stats, PAGES, run, again=f"all {len(COMMITTEES)} committees")
    code = stats_code(stats)
    if code == EXIT_OK and not result.complete:
        code = EXIT_ITEM_FAILURES
    return StageDone(
        name="committees",
        code=code,
        report={"job": "committees", **result.as_dict(), **PAGES.counters(stats)},
        lines=[
            lines[0],
            *wrap(["", *committee_lines(result, f"trio-enrich {run.command}")])[1:],
            *lines[1:],
        ],
        finish=stats.finish_reason,
    )


COMMITTEES_STAGE = Stage("committees", _committees_paths, _committees_plan, _committees_run)

#: `update`'s stages, in order.
UPDATE = (SYNC, TRADES_STAGE, ISSUERS_STAGE, COMMITTEES_STAGE)
