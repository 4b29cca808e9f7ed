"""The stages of a run, as values: the pages each needs, its dry-run plan, its run.

`trades`, `issuers`, `sync` and `committees` each run one stage; `update` runs the tuple
:data:`UPDATE` in order (:func:`run_stages`). A dry run asks each stage for its plan and
robots.txt about each stage's pages: the dry run and the real run ask about the same pages.
The command line and the library's calls run the same stages in the same session; what a
stage did comes back as a :class:`StageResult`, which the command line puts into words.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import trio

from .._defaults import PAGE_SIZE
from ..core.stats import FinishReason, NoProgress, ProgressSink, RunStats
from ..site.roster import COMMITTEES, committees_path
from ..storage.store import Store
from .committees import CommitteesResult, read_committees
from .enrich import fetch_and_store
from .jobs import ISSUERS, PAGES, TRADES, Job, Words
from .options import EnrichOptions, pending_ids
from .session import Needs, RunSession, say_nothing
from .sync import SyncOptions, SyncResult, listing_path, sync_listing

__all__ = [
    "COMMITTEES_STAGE", "ISSUERS_STAGE", "SYNC", "TRADES_STAGE", "UPDATE", "Plan", "Planned",
    "ShowProgress", "Stage", "StageInput", "StageResult", "run_stages",
]  # fmt: skip

#: Opens a progress display: (label, total or None, the noun of its items).
ShowProgress = Callable[[str, int | None, str], AbstractContextManager[ProgressSink]]


def no_progress(label: str, total: int | None, noun: str) -> AbstractContextManager[ProgressSink]:
    return nullcontext(NoProgress())


@dataclass(frozen=True, slots=True)
class StageInput:
    """What the stages of a run share besides the session."""

    stop: trio.Event = field(default_factory=trio.Event)  # set: commit what came, then stop
    progress: ShowProgress = no_progress
    walk: SyncOptions = field(default_factory=SyncOptions)  # how `sync` walks the listing
    notify: Callable[[str], None] = say_nothing  # sync's notes (a resumed walk, ...)


@dataclass(slots=True)
class StageResult:
    """What one stage did: its statistics, and a walk's or the committees' details."""

    name: str
    words: Words
    stats: RunStats
    sync: SyncResult | None = None
    committees: CommitteesResult | None = None

    @property
    def finish(self) -> FinishReason:
        return self.stats.finish_reason

    @property
    def stops_the_rest(self) -> bool:
        """The site is unusable (breaker, not-found guard, unreachable) or the run was stopped:
        later stages must not start."""
        return self.finish is not FinishReason.COMPLETED


@dataclass(frozen=True, slots=True)
class Plan:
    """What a dry run knows about the database, for a stage's plan."""

    store: Store
    options: EnrichOptions
    full: bool  # sync would walk every page
    after_sync: bool  # the stage runs after a sync (which may add rows)
    paths: list[str]  # the pages the stage is about to read (its `paths`)
    start_rate: float | None = None  # requests/s the run would start at (None: no cap)


@dataclass(frozen=True, slots=True)
class Planned:
    """A stage's dry-run plan: its entries of the JSON plan, its line of text, and (a job
    run alone) the figures its JSON gives at the top."""

    entries: dict[str, object]
    line: str
    top: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage: its name, the pages it is about to read, its plan, its run."""

    name: str
    # The pages it is about to read, for robots.txt (from the store, as paced).
    paths: Callable[[Store, EnrichOptions], list[str]]
    plan: Callable[[Plan], Planned]
    run: Callable[[RunSession, StageInput], Awaitable[StageResult]]


# --- trades and issuers ------------------------------------------------------------------------


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def job_stage(job: Job[Any, Any]) -> Stage:
    """The stage that enriches `job`'s pending items."""

    def paths(store: Store, options: EnrichOptions) -> list[str]:
        return [job.path(item) for item in pending_ids(store, job, options)]

    def plan(facts: Plan) -> Planned:
        pending, options = len(facts.paths), facts.options
        estimate = pending * (options.pause + 0.15) / options.concurrency  # + a page's time
        if facts.start_rate:
            estimate = max(estimate, pending / facts.start_rate)
        pace = f"concurrency {options.concurrency}"
        if options.auto and facts.start_rate:
            pace += f", auto from {facts.start_rate:.1f} requests/s (faster if the site allows)"
        more = " now (more after sync adds rows)" if facts.after_sync else ""
        line = (f"{job.name}: {pending} pending{more}; would send at least {pending} requests "
                f"(about {_minutes(estimate)} at {pace})")  # fmt: skip
        top: dict[str, object] = {"selected": pending, "estimated_seconds": round(estimate, 1)}
        return Planned({job.name: pending}, line, top)

    async def run(session: RunSession, given: StageInput) -> StageResult:
        store = session.store
        selected = await store.run(pending_ids, store, job, session.options)
        with given.progress(job.name, len(selected), job.words.done) as progress:
            stats = await fetch_and_store(
                session, job, ids=selected, progress=progress, stop=given.stop
            )
        return StageResult(job.name, job.words, stats)

    return Stage(job.name, paths, plan, run)


TRADES_STAGE = job_stage(TRADES)
ISSUERS_STAGE = job_stage(ISSUERS)


# --- sync --------------------------------------------------------------------------------------


def _sync_paths(store: Store, options: EnrichOptions) -> list[str]:
    return [listing_path(1, PAGE_SIZE)]


def _sync_plan(facts: Plan) -> Planned:
    # Listing pages: every page for a full walk (as many as the trades stored fill, at
    # least), or from page 1 back to the last synced trade (at least one).
    trades = facts.store.count("trades")
    if facts.full:
        pages = max(1, math.ceil(trades / PAGE_SIZE))
        line = f"sync: every listing page, a full walk (at least {pages})"
        return Planned({"sync": pages, "sync_mode": "full"}, line)
    line = "sync: listing pages from page 1 back to the last synced trade (at least 1)"
    return Planned({"sync": 1, "sync_mode": "incremental"}, line)


async def _sync_run(session: RunSession, given: StageInput) -> StageResult:
    def progress(total: int | None) -> AbstractContextManager[ProgressSink]:
        return given.progress("sync", total, PAGES.noun)

    result = await sync_listing(
        session, given.walk, progress=progress, stop=given.stop, notify=given.notify
    )
    return StageResult("sync", PAGES, result.stats, sync=result)


SYNC = Stage("sync", _sync_paths, _sync_plan, _sync_run)


# --- committees --------------------------------------------------------------------------------


def _committees_paths(store: Store, options: EnrichOptions) -> list[str]:
    return [committees_path(code, 1) for code in COMMITTEES]


def _committees_plan(facts: Plan) -> Planned:
    line = (f"committees: page 1 of each of the {len(COMMITTEES)} committees, then the "
            "further pages of the large ones")  # fmt: skip
    return Planned({"committees": len(COMMITTEES)}, line)


async def _committees_run(session: RunSession, given: StageInput) -> StageResult:
    def progress(total: int | None) -> AbstractContextManager[ProgressSink]:
        return given.progress("committees", total, PAGES.noun)

    result = await read_committees(session, progress=progress, stop=given.stop)
    return StageResult("committees", PAGES, result.stats, committees=result)


COMMITTEES_STAGE = Stage("committees", _committees_paths, _committees_plan, _committees_run)

#: `update`'s stages, in order.
UPDATE = (SYNC, TRADES_STAGE, ISSUERS_STAGE, COMMITTEES_STAGE)


# --- running stages ----------------------------------------------------------------------------


def needs_of(stages: Sequence[Stage], *, each_stage: bool) -> Needs:
    """The pages robots.txt must allow before a run of `stages` starts: every stage's, or
    (`each_stage`, `update`: each stage is asked as it is about to start) none, unless the
    database holds no trades: then later stages have nothing to do without the listing."""

    def needs(store: Store, options: EnrichOptions) -> list[str]:
        if not each_stage:
            return [path for stage in stages for path in stage.paths(store, options)]
        if store.count("trades") == 0:
            return SYNC.paths(store, options)
        return []

    return needs


@dataclass(slots=True)
class StagesRun:
    """What a run of stages did: each stage that ran, and those robots.txt kept from it."""

    done: list[StageResult] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # stage -> the rule that refused it


async def run_stages(
    session: RunSession,
    stages: Sequence[Stage],
    given: StageInput,
    *,
    each_stage: bool = False,
    starting: Callable[[Stage, int], None] | None = None,
    finished: Callable[[StageResult], None] | None = None,
) -> StagesRun:
    """Run `stages` in order in `session` until one stops the rest or `given.stop` is set.

    With `each_stage` (`update`), robots.txt is asked about a stage's pages as it is about
    to start, and a stage it refuses is named (to `session.say`) and skipped. `starting`
    (the stage and its number from 1) and `finished` hear of each stage that runs.
    """
    run = StagesRun()
    for number, stage in enumerate(stages, start=1):
        if given.stop.is_set():
            break
        if each_stage:
            paths = await session.store.run(stage.paths, session.store, session.options)
            rule = session.disallowed(paths)
            if rule is not None:
                run.refused[stage.name] = rule
                session.say(f"trio-enrich: {stage.name} not run: {rule}")
                continue
        if starting is not None:
            starting(stage, number)
        result = await stage.run(session, given)
        run.done.append(result)
        if finished is not None:
            finished(result)
        if result.stops_the_rest:
            break
    return run
