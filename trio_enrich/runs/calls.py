"""The library's calls: each command that fetches, as a function a program awaits.

Each call opens a :class:`~.session.RunSession` as the command does (the run lock, robots.txt,
the pacing, `auto` included, the page archive beside the database) and runs the command's
stages in it; it returns what they did instead of printing it::

    stats = await trio_enrich.enrich("capitoltraders.db", trio_enrich.TRADES)

`database` is a path, or a :class:`~trio_enrich.Store` a program opened (it stays open).
A page robots.txt disallows stops a call with a UsageError before any request, as it stops
the command (`ignore_robots_disallow` is the command's --ignore-robots-disallow); another
run's lock raises a UsageError too, or is waited for with `wait`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import trio

from .._defaults import PAGE_SIZE
from ..core.stats import ProgressSink, RunStats
from ..storage.archive import PageArchive
from ..storage.store import Store
from .check import CheckReport, run_check
from .committees import CommitteesResult
from .enrich import fetch_and_store
from .jobs import Job
from .options import EnrichOptions, pending_ids
from .reparse import KINDS, ReparseKind, ReparseResult, open_archive, reparse_kind
from .session import Database, locked_run, open_session, say_nothing
from .stages import (
    COMMITTEES_STAGE,
    SYNC,
    UPDATE,
    ShowProgress,
    StageInput,
    StageResult,
    needs_of,
    no_progress,
    run_stages,
)
from .sync import ProgressFactory, SyncOptions, SyncResult, listing_path

__all__ = [
    "UpdateResult", "check", "committees", "enrich", "reparse", "sync", "update",
]  # fmt: skip


async def enrich(
    database: Database,
    job: Job[Any, Any],
    options: EnrichOptions | None = None,
    *,
    ids: Sequence[Any] | None = None,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
    wait: bool = False,
    ignore_robots_disallow: bool = False,
) -> RunStats:
    """`trio-enrich trades` / `issuers`: fetch, read and store the detail page of every
    pending item of `job` (:data:`~trio_enrich.TRADES`, :data:`~trio_enrich.ISSUERS`), or
    of `ids`."""
    options = options or EnrichOptions()

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        chosen = ids if ids is not None else pending_ids(store, job, paced)
        return [job.path(item) for item in chosen]

    async with open_session(
        database, options, needs=needs, wait=wait, ignore_robots_disallow=ignore_robots_disallow,
        command="trio_enrich.enrich()", say=say_nothing,
    ) as session:  # fmt: skip
        return await fetch_and_store(session, job, ids=ids, progress=progress, stop=stop)


def _one_stage_progress(progress: ProgressFactory | None) -> ShowProgress:
    if progress is None:
        return no_progress

    def show(label: str, total: int | None, noun: str) -> AbstractContextManager[ProgressSink]:
        return progress(total)

    return show


async def sync(
    database: Database,
    options: EnrichOptions | None = None,
    walk: SyncOptions | None = None,
    *,
    progress: ProgressFactory | None = None,
    stop: trio.Event | None = None,
    wait: bool = False,
    ignore_robots_disallow: bool = False,
    notify: Callable[[str], None] = say_nothing,
) -> SyncResult:
    """`trio-enrich sync`: read listing pages into the database (made if it does not exist,
    once robots.txt allows the listing); `walk` says how (incremental, full, since);
    `notify` hears what the command says on its way (a full walk resumed, say)."""
    walk = walk or SyncOptions()
    stop = stop if stop is not None else trio.Event()
    given = StageInput(stop, _one_stage_progress(progress), walk, notify)
    async with open_session(
        database, options or EnrichOptions(), needs=needs_of((SYNC,), each_stage=False),
        create=True, first=[listing_path(1, walk.page_size)], wait=wait,
        ignore_robots_disallow=ignore_robots_disallow, command="trio_enrich.sync()",
        say=say_nothing,
    ) as session:  # fmt: skip
        result = await SYNC.run(session, given)
    assert result.sync is not None  # (the sync stage's result carries its walk)
    return result.sync


async def committees(
    database: Database,
    options: EnrichOptions | None = None,
    *,
    progress: ProgressFactory | None = None,
    stop: trio.Event | None = None,
    wait: bool = False,
    ignore_robots_disallow: bool = False,
) -> CommitteesResult:
    """`trio-enrich committees`: read every committee's members; the memberships are
    replaced only when all were read completely."""
    given = StageInput(stop if stop is not None else trio.Event(), _one_stage_progress(progress))
    async with open_session(
        database, options or EnrichOptions(), needs=needs_of((COMMITTEES_STAGE,), each_stage=False),
        wait=wait, ignore_robots_disallow=ignore_robots_disallow,
        command="trio_enrich.committees()", say=say_nothing,
    ) as session:  # fmt: skip
        result = await COMMITTEES_STAGE.run(session, given)
    assert result.committees is not None  # (the committees stage's result carries them)
    return result.committees


@dataclass(slots=True)
class UpdateResult:
    """What `update` did: each stage that ran, in order, and those robots.txt refused; what
    its `alerts` did (an `AlertsReport`), when it was given some."""

    stages: list[StageResult] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # stage -> the rule that refused it
    alerts: object = None

    @property
    def not_run(self) -> list[str]:
        ran = {stage.name for stage in self.stages}
        return [stage.name for stage in UPDATE if stage.name not in ran]


async def update(
    database: Database,
    options: EnrichOptions | None = None,
    *,
    full: bool = False,
    progress: ShowProgress | None = None,
    stop: trio.Event | None = None,
    wait: bool = False,
    ignore_robots_disallow: bool = False,
    notify: Callable[[str], None] = say_nothing,
    alerts: AfterStages | None = None,
) -> UpdateResult:
    """`trio-enrich update`: sync, trades, issuers and committees in one session; a stage
    robots.txt refuses is skipped (and named in the result), a stage that finds the site
    unusable stops the rest. `alerts` (`trio_enrich.Alerts`, what `--feed` and `--notify`
    make) writes the feed and sends the news once the data is committed."""
    stop = stop if stop is not None else trio.Event()
    given = StageInput(stop, progress or no_progress, SyncOptions(full=full), notify)
    async with open_session(
        database, options or EnrichOptions(), needs=needs_of(UPDATE, each_stage=True),
        create=True, first=[listing_path(1, PAGE_SIZE)], wait=wait,
        ignore_robots_disallow=ignore_robots_disallow, command="trio_enrich.update()",
        say=say_nothing,
    ) as session:  # fmt: skip
        if alerts is not None:
            await alerts.join(session.store)
        run = await run_stages(session, UPDATE, given, each_stage=True)
        told = None
        if alerts is not None and not stop.is_set():
            told = await alerts.finish(session.store, stop)
    return UpdateResult(run.done, run.refused, told)


class AfterStages(Protocol):
    """What `update` runs around its stages (`trio_enrich.Alerts`): `join` once the run is
    open, `finish` once the stages' data is committed."""

    async def join(self, store: Store) -> None: ...

    async def finish(self, store: Store, stop: trio.Event) -> object: ...


async def check(options: EnrichOptions | None = None, database: Path | None = None) -> CheckReport:
    """`trio-enrich check`: a handful of paced requests, and whether the site gives its data
    (`verdict` "ok") or why not; ids from `database` when given. Writes nothing."""
    return await run_check(options or EnrichOptions(), database)


@contextlib.asynccontextmanager
async def reparse_session(
    db: Path,
    *,
    dry_run: bool,
    wait: bool = False,
    command: str = "",
    say: Callable[[str], None] = say_nothing,
) -> AsyncIterator[tuple[Store, PageArchive]]:
    """The store and archive a reparse reads: inside the run lock; or, `dry_run`, a snapshot
    of the database (a copy in memory, where writes are measured and rolled back) and the
    archive read-only, with no lock (a running `update` never blocks it; read-only media
    work)."""
    archive = await trio.to_thread.run_sync(lambda: open_archive(db, read_only=dry_run))
    with archive:
        if dry_run:
            archive.hold_snapshot()
        open_store = Store.snapshot if dry_run else partial(Store.open, create=False)
        store = await trio.to_thread.run_sync(open_store, db)
        with store:
            locked = locked_run(store, wait=wait, command=command, say=say)
            async with contextlib.nullcontext() if dry_run else locked:
                yield store, archive


async def reparse(
    database: Path | str,
    kinds: Sequence[ReparseKind] = KINDS,
    *,
    dry_run: bool = False,
    wait: bool = False,
    stop: trio.Event | None = None,
) -> list[ReparseResult]:
    """`trio-enrich reparse`: the archived pages of `kinds` read again with today's readers
    and written (`dry_run`: measured, nothing written); no request is sent."""
    stop = stop if stop is not None else trio.Event()
    results = []
    async with reparse_session(
        Path(database), dry_run=dry_run, wait=wait, command="trio_enrich.reparse()"
    ) as (store, archive):
        for kind in kinds:
            if stop.is_set():
                break
            results.append(await reparse_kind(store, archive, kind, dry_run=dry_run, stop=stop))
    return results
