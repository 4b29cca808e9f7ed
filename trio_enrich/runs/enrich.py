"""Enrichment: a job's pending ids through the generic pipeline, inside a run session.

:func:`fetch_and_store` is one job's run inside a :class:`~.session.RunSession`, which owns
the client, the pacing, the archive and the store. Programs call
:func:`trio_enrich.enrich` (``calls``), which opens the session as the command line does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import trio

from .._model import ItemFailure, PageRef
from ..core.pipeline import Outcome, run_pipeline
from ..core.stats import ProgressSink, RunStats
from ..site.rules import SITE_RULES
from .jobs import Job
from .options import pending_ids
from .session import RunSession

__all__ = ["fetch_and_store"]


async def fetch_and_store(
    session: RunSession,
    job: Job[Any, Any],
    *,
    ids: Sequence[Any] | None = None,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
) -> RunStats:
    """Fetch, read and store the detail page of every pending item of `job` (or of `ids`),
    with the client, pacing and archive of `session`."""
    store = session.store
    if ids is None:
        ids = await store.run(pending_ids, store, job, session.options)

    async def fetch(item_id: Any) -> tuple[Any, PageRef | None]:
        return await session.read(job.path(item_id), lambda body: job.read(body, item_id))

    def write(outcomes: list[Outcome[Any, tuple[Any, PageRef | None]]]) -> None:
        # An unreachable site says nothing about the item: it stays pending, unblamed.
        failures = [
            ItemFailure(o.item_id, o.failure, o.message, o.attempts)
            for o in outcomes
            if o.failure is not None and not SITE_RULES.unreachable(o.failure)
        ]
        kept = [o.result for o in outcomes if o.result is not None]
        job.write(store, [result for result, _ in kept], failures, [page for _, page in kept])

    async def commit(outcomes: list[Outcome[Any, tuple[Any, PageRef | None]]]) -> None:
        await session.commit(lambda: write(outcomes))

    return await run_pipeline(ids, fetch, commit, session.pipeline(), progress=progress, stop=stop)
