"""Enrichment jobs: the generic pipeline wired to the HTTP client, the parser and the store.

This is the library entry point the CLI and the examples use::

    with Store.open("capitoltraders.db") as store:
        stats = await enrich(store, "trades", EnrichOptions(concurrency=5))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import trio

from ._errors import FetchError
from ._http import PageClient
from ._model import IssuerDetail, PageFailure, TradeDetail
from ._parse import parse_issuer_detail, parse_trade_detail
from ._pipeline import Outcome, PipelineConfig, ProgressSink, RetryPolicy, RunStats, run_pipeline
from ._site import SITE_RULES
from ._store import ItemFailure, Store

__all__ = ["DEFAULT_BASE_URL", "EnrichOptions", "JobName", "enrich", "pending_ids"]

DEFAULT_BASE_URL = "https://www.capitoltrades.com"

JobName = Literal["trades", "issuers"]


@dataclass(frozen=True, slots=True)
class EnrichOptions:
    """How to run an enrichment; the defaults are the polite ones the site has tolerated."""

    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 3
    max_failures: int = 5
    not_found_guard: int = 25
    delay: float = 0.5  # seconds each worker pauses before each request
    max_rps: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: float = 30.0  # seconds for a whole request, body included
    limit: int | None = None  # the most items this run
    retry_failed: bool = False  # include items recorded as not found

    def pipeline(self) -> PipelineConfig:
        return PipelineConfig(
            concurrency=self.concurrency,
            max_failures=self.max_failures,
            not_found_guard=self.not_found_guard,
            delay=self.delay,
            max_rps=self.max_rps,
            retry=self.retry,
            rules=SITE_RULES,
        )


def pending_ids(store: Store, job: JobName, options: EnrichOptions) -> list[int]:
    """The ids a run would fetch, in order (trades or issuers not yet enriched)."""
    pending = store.pending_trade_ids if job == "trades" else store.pending_issuer_ids
    return pending(limit=options.limit, include_not_found=options.retry_failed)


async def enrich(
    store: Store,
    job: JobName,
    options: EnrichOptions,
    *,
    ids: Sequence[int] | None = None,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
) -> RunStats:
    """Fetch, parse and store the detail page of every pending trade or issuer (or of `ids`)."""
    # One connection, one thread at a time: sqlite3 objects must not be used concurrently.
    limiter = trio.CapacityLimiter(1)
    if ids is None:
        ids = await trio.to_thread.run_sync(pending_ids, store, job, options, limiter=limiter)
    client = PageClient(
        options.base_url, concurrency=options.concurrency, deadline=options.deadline
    )
    async with client:
        return await run_pipeline(
            ids,
            _fetcher(client, job),
            _committer(store, job, limiter),
            options.pipeline(),
            progress=progress,
            stop=stop,
        )


Detail = TradeDetail | IssuerDetail


def _fetcher(client: PageClient, job: JobName) -> Callable[[int], Awaitable[Detail]]:
    async def fetch(item_id: int) -> Detail:
        path = f"/{job}/{item_id}"
        body = await client.get(path)
        result: Detail | PageFailure = (
            parse_trade_detail(body, item_id)
            if job == "trades"
            else parse_issuer_detail(body, item_id)
        )
        if isinstance(result, PageFailure):
            raise FetchError(result.kind, f"GET {path}: {result.reason}")
        return result

    return fetch


def _committer(
    store: Store, job: JobName, limiter: trio.CapacityLimiter
) -> Callable[[list[Outcome[int, Detail]]], Awaitable[None]]:
    def write(outcomes: list[Outcome[int, Detail]]) -> None:
        # An unreachable site says nothing about the item: it stays pending, unblamed.
        failures = [
            ItemFailure(o.item_id, o.failure, o.message, o.attempts)
            for o in outcomes
            if o.failure is not None and not SITE_RULES.unreachable(o.failure)
        ]
        results = [o.result for o in outcomes]
        if job == "trades":
            store.write_trade_batch([r for r in results if isinstance(r, TradeDetail)], failures)
        else:
            store.write_issuer_batch([r for r in results if isinstance(r, IssuerDetail)], failures)

    async def commit(outcomes: list[Outcome[int, Detail]]) -> None:
        await trio.to_thread.run_sync(write, outcomes, limiter=limiter)

    return commit
