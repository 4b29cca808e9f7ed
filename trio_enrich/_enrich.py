"""Enrichment jobs: the generic pipeline wired to the HTTP client, the parser and the store.

:func:`fetch_and_store` is one job's run on a store the caller has made polite already;
programs call :func:`~trio_enrich.enrich` (``_polite``), which runs it inside the run lock
with robots.txt read and the pacing set::

    with Store.open("capitoltraders.db") as store:
        stats = await enrich(store, "trades", EnrichOptions(concurrency=5))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import trio

from . import _defaults as defaults
from ._answers import ClientName
from ._archive import PageArchive
from ._jobs import JOBS, Job, open_page_client, read_kept_page
from ._model import DEFAULT_BASE_URL, ItemFailure, PageRef
from ._pacing import COLD_START_RATE, AdaptiveRate
from ._pipeline import Outcome, PipelineConfig, ProgressSink, RetryPolicy, RunStats, run_pipeline
from ._site import SITE_RULES
from ._site_limit import StatedLimits
from ._store import Store

__all__ = [
    "DEFAULT_BASE_URL",
    "EnrichOptions",
    "JobName",
    "fetch_and_store",
    "job_value",
    "pending_ids",
]


JobName = Literal["trades", "issuers"]


@dataclass(frozen=True, slots=True)
class EnrichOptions:
    """How to run an enrichment; the defaults are the polite ones the site has tolerated."""

    base_url: str = DEFAULT_BASE_URL
    concurrency: int = defaults.CONCURRENCY
    max_failures: int = defaults.MAX_FAILURES
    not_found_guard: int = defaults.NOT_FOUND_GUARD
    delay: float = defaults.DELAY  # seconds each worker pauses before each request
    # The most requests in any second; with `auto`, the ceiling of the rate found.
    max_rps: float | None = None
    auto: bool = False  # `--max-rps auto`: find the rate the site allows from its answers
    # The rate law of `auto`, shared by every run made with these options (`polite_run` sets
    # it, from the rate an earlier run learned).
    adaptive: AdaptiveRate | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: float = defaults.DEADLINE  # seconds for a whole request, body included
    client: ClientName = "httpx"  # httpx, or `browser`: curl_cffi as Chrome (an extra)
    limit: int | None = None  # the most items this run
    retry_failed: bool = False  # include items recorded as not found
    refresh_older_than: float | None = None  # seconds: refetch items enriched longer ago
    # Where every answer is kept (the CLI opens one beside the database unless --no-archive);
    # a page is written there before the data read from it is committed.
    archive: PageArchive | None = None

    def pipeline(self, stated: StatedLimits | None = None) -> PipelineConfig:
        """The core's settings for a run with these options; `stated`: what the run's client
        hears of the site's own rate limit (it caps the pacing)."""
        return PipelineConfig(
            concurrency=self.concurrency,
            max_failures=self.max_failures,
            not_found_guard=self.not_found_guard,
            delay=self.delay,
            max_rps=None if self.auto else self.max_rps,
            adaptive=self.adaptive if self.auto else None,
            retry=self.retry,
            rules=SITE_RULES,
            stated=stated,
        )


def job_value(job: JobName | Job[Any, Any]) -> Job[Any, Any]:
    """The job named `job`, or `job` itself."""
    return JOBS[job] if isinstance(job, str) else job


#: A refresh is due once an item's data is older than `refresh_older_than` less this share of
#: it. A nightly run starts a little earlier on some nights than on others, and the previous
#: night's run took time: with the exact 24 h of ``1d``, an issuer fetched at 03:20 is 23 h 57
#: min old at tonight's 03:17 and would wait two nights. 1d is 20 h this way.
REFRESH_SLACK = 1 / 6


def pending_ids(store: Store, job: JobName | Job[Any, Any], options: EnrichOptions) -> list[Any]:
    """The ids a run would fetch, in order (items not yet enriched, and those due a refresh)."""
    refresh_before = None
    if options.refresh_older_than is not None:
        due_after = options.refresh_older_than * (1 - REFRESH_SLACK)
        moment = datetime.now(UTC) - timedelta(seconds=due_after)
        refresh_before = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    return job_value(job).pending(store, options.limit, options.retry_failed, refresh_before)


async def fetch_and_store(
    store: Store,
    job: JobName | Job[Any, Any],
    options: EnrichOptions,
    *,
    ids: Sequence[Any] | None = None,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
) -> RunStats:
    """Fetch, parse and store the detail page of every pending item of `job` (or of `ids`),
    paced as `options` say (inside a `polite_run`, which sets the pacing).

    `job` is a job value (``_jobs.TRADES``, ``_jobs.ISSUERS``, ...) or its name.
    """
    spec = job_value(job)
    if options.auto and options.adaptive is None:
        options = replace(options, adaptive=AdaptiveRate(COLD_START_RATE, options.max_rps))
    if ids is None:
        ids = await store.run(pending_ids, store, spec, options)
    client = open_page_client(
        options.base_url, options.concurrency, options.deadline, options.client
    )

    archive = options.archive

    async def fetch(item_id: Any) -> tuple[Any, PageRef | None]:
        path = spec.path(item_id)
        return await read_kept_page(client, path, lambda body: spec.read(body, item_id), archive)

    def write(outcomes: list[Outcome[Any, tuple[Any, PageRef | None]]]) -> None:
        # An unreachable site says nothing about the item: it stays pending, unblamed.
        failures = [
            ItemFailure(o.item_id, o.failure, o.message, o.attempts)
            for o in outcomes
            if o.failure is not None and not SITE_RULES.unreachable(o.failure)
        ]
        kept = [o.result for o in outcomes if o.result is not None]
        spec.write(store, [result for result, _ in kept], failures, [page for _, page in kept])

    def pages_then_rows(
        pages: list[Any], outcomes: list[Outcome[Any, tuple[Any, PageRef | None]]]
    ) -> None:
        if archive is not None and pages:
            archive.write(pages)  # the pages first: no enriched row without its page
        write(outcomes)

    async def commit(outcomes: list[Outcome[Any, tuple[Any, PageRef | None]]]) -> None:
        pages = archive.take() if archive is not None else []
        await store.run(pages_then_rows, pages, outcomes)

    async with client:
        try:
            return await run_pipeline(
                ids, fetch, commit, options.pipeline(client.stated), progress=progress, stop=stop
            )
        finally:
            if archive is not None:
                await archive.flush()  # the pages of outcomes a stop left unwritten
