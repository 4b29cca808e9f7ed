"""Listing sync: fetch `/trades?page=N` pages into the store through the same pipeline.

Incremental by default: pages are read newest first, one at a time, until a page reaches back
past the last synced publication date (or `since`). A full sync reads page 1 for the page count,
then every other page concurrently, with the same retries, breaker and progress as enrichment.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import trio

from ._enrich import EnrichOptions
from ._errors import FetchError
from ._http import PageClient
from ._model import ListingPage, PageFailure
from ._parse import parse_trades_page
from ._pipeline import FinishReason, Outcome, ProgressSink, RunStats, run_pipeline
from ._store import Store, utc_now

__all__ = ["SyncOptions", "SyncResult", "sync_listing"]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    enrich: EnrichOptions = field(default_factory=EnrichOptions)
    full: bool = False  # walk every page instead of stopping at the last synced date
    since: str | None = None  # YYYY-MM-DD: stop at pages older than this instead
    max_pages: int | None = None  # the most pages to fetch
    page_size: int = 12


@dataclass(slots=True)
class SyncResult:
    stats: RunStats
    pages: int = 0
    trades_seen: int = 0
    new_trades: int = 0
    total_pages: int | None = None
    cutoff: str | None = None


def _page_path(page: int, size: int) -> str:
    return f"/trades?page={page}" if size == 12 else f"/trades?page={page}&pageSize={size}"


async def sync_listing(
    store: Store,
    options: SyncOptions,
    *,
    progress: ProgressSink | None = None,
    stop: trio.Event | None = None,
) -> SyncResult:
    """Fetch listing pages into `store`; recompute the stats tables at the end."""
    limiter = trio.CapacityLimiter(1)
    cutoff = None
    if options.since:
        cutoff = f"{options.since}T00:00:00Z"
    elif not options.full:
        cutoff = await trio.to_thread.run_sync(
            store.get_meta, "last_trade_pub_date", limiter=limiter
        )
    client = PageClient(
        options.enrich.base_url,
        concurrency=options.enrich.concurrency,
        deadline=options.enrich.deadline,
    )
    result = SyncResult(stats=RunStats(selected=0), cutoff=cutoff)
    enough = trio.Event()

    async def fetch(page: int) -> ListingPage:
        path = _page_path(page, options.page_size)
        parsed = parse_trades_page(await client.get(path))
        if isinstance(parsed, PageFailure):
            raise FetchError(parsed.kind, f"GET {path}: {parsed.reason}")
        if result.total_pages is None and parsed.total_pages is not None:
            result.total_pages = parsed.total_pages
        if not parsed.trades:
            enough.set()  # past the last page
        elif cutoff is not None and parsed.trades[-1].pub_date < cutoff:
            enough.set()  # this page reaches back past what we already have
        return parsed

    async def commit(outcomes: list[Outcome[int, ListingPage]]) -> None:
        rows = [trade for o in outcomes if o.result is not None for trade in o.result.trades]
        write = await trio.to_thread.run_sync(store.upsert_listing, rows, limiter=limiter)
        result.pages += sum(o.result is not None for o in outcomes)
        result.trades_seen += write.written
        result.new_trades += write.new

    async with client:
        config = options.enrich.pipeline()
        if options.full:
            # Page 1 tells how many pages there are; the rest can then go concurrently.
            first = await run_pipeline(
                [1], fetch, commit, replace(config, concurrency=1), stop=stop
            )
            result.stats = first
            if first.finish_reason is FinishReason.COMPLETED and first.enriched:
                last = result.total_pages or 1
                if options.max_pages is not None:
                    last = min(last, options.max_pages)
                pages = list(range(2, last + 1))
                rest = await run_pipeline(
                    pages, fetch, commit, config, progress=progress, stop=stop
                )
                result.stats = _combine(first, rest)
        else:
            limit = options.max_pages if options.max_pages is not None else math.inf
            walk = _count_up(limit)
            # One page at a time, so the walk stops right after the page that reaches back.
            result.stats = await run_pipeline(
                walk, fetch, commit, replace(config, concurrency=1), progress=progress,
                stop=stop, enough=enough,
            )  # fmt: skip
            result.stats.selected = result.stats.done
        if result.stats.finish_reason is FinishReason.COMPLETED:
            await trio.to_thread.run_sync(_finish, store, limiter=limiter)
    return result


def _finish(store: Store) -> None:
    store.recompute_stats()
    store.set_meta("last_sync_at", utc_now())


def _count_up(limit: float) -> Iterator[int]:
    """Page numbers 1, 2, ... up to `limit`, which may be infinite."""
    page = 1
    while page <= limit:
        yield page
        page += 1


def _combine(first: RunStats, rest: RunStats) -> RunStats:
    rest.selected += first.selected
    rest.enriched += first.enriched
    rest.not_found += first.not_found
    for kind, count in first.failed.items():
        rest.failed[kind] = rest.failed.get(kind, 0) + count
    rest.retries += first.retries
    rest.requests += first.requests
    rest.rate_limit_pauses += first.rate_limit_pauses
    rest.seconds_paused += first.seconds_paused
    rest.started = first.started
    return rest
