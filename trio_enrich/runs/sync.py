"""Listing sync: fetch `/trades?page=N` pages into the store through the same pipeline.

Two walks of the listing (newest first):

* **incremental** (the default once a walk has completed): pages one at a time from page 1 until
  a page reaches back past the cutoff, the newest publication date of the last complete walk
  (or `since`). Cut short, it is simply walked again next time: the cutoff has not moved.
* **full** (`full`, or the first sync of a database): page 1 for the count, then every page
  still unread, concurrently. What it has read is saved with every batch of rows (in
  positions that do not shift when the site publishes, see :mod:`._walk`), so an interrupted
  full walk is finished by the next `sync`, which reads only the pages it had not read.

The cutoff (``ingest_meta.last_trade_pub_date``) moves only when a walk completes and proves
that every trade up to its newest one is stored; politician and issuer stats are recomputed then.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace

import trio

from .._defaults import PAGE_SIZE
from .._errors import FetchError
from .._model import FailureKind, ListingPage, ListingTrade
from ..core.pipeline import Outcome, run_pipeline
from ..core.stats import FinishReason, NoProgress, ProgressSink, RunStats
from ..site.parse import parse_trades_page
from ..site.walk import Walk
from ..storage.store import ListingWrite, utc_now
from .jobs import PageReader

__all__ = [
    "CarriedProgress",
    "ProgressFactory",
    "SyncOptions",
    "SyncResult",
    "listing_path",
    "no_progress",
    "sync_listing",
]

#: Opens the progress display of a run of `total` pages (None: not known in advance).
ProgressFactory = Callable[[int | None], AbstractContextManager[ProgressSink]]

#: Rounds of a full walk in one run: the first reads what was unread; a later one reads what
#: trades published meanwhile pushed out of reach. More than a few means the site is churning.
MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """How to walk the listing (how to pace and ask is the run's `EnrichOptions`)."""

    full: bool = False  # walk every page instead of stopping at the last synced date
    since: str | None = None  # YYYY-MM-DD: stop at pages older than this instead
    max_pages: int | None = None  # the most pages to fetch
    page_size: int = PAGE_SIZE


@dataclass(slots=True)
class SyncResult:
    stats: RunStats
    mode: str = "incremental"  # "incremental", "since" or "full"
    pages: int = 0
    trades_seen: int = 0
    new_trades: int = 0
    total_pages: int | None = None
    cutoff: str | None = None
    complete: bool = False  # the walk reached its end (the cutoff, or every page)
    resumed: bool = False  # a full walk left unfinished by an earlier run was continued
    unread_trades: int | None = None  # full walk: listing positions still unread
    page_limit: bool = False  # stopped by `max_pages` (--pages) before the walk's end
    end_of_listing: bool = False  # incremental: the last page came before the cutoff did

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "pages": self.pages,
            "trades": self.trades_seen,
            "new_trades": self.new_trades,
            "total_pages": self.total_pages,
            "cutoff": self.cutoff,
            "complete": self.complete,
            "resumed": self.resumed,
            "unread_trades": self.unread_trades,
            "stopped_at_page_limit": self.page_limit,
            "end_of_listing": self.end_of_listing,
        }


def listing_path(page: int, size: int) -> str:
    """The path of listing page `page` at `size` trades a page."""
    return f"/trades?page={page}" if size == PAGE_SIZE else f"/trades?page={page}&pageSize={size}"


def no_progress(total: int | None) -> AbstractContextManager[ProgressSink]:
    return nullcontext(NoProgress())


def _say_nothing(message: str) -> None:
    """The default `notify`: a library caller that passes none hears nothing."""


async def sync_listing(
    session: PageReader,
    options: SyncOptions,
    *,
    progress: ProgressFactory | None = None,
    stop: trio.Event | None = None,
    notify: Callable[[str], None] | None = None,
) -> SyncResult:
    """Fetch listing pages into the session's store; see the module's docstring for the two
    walks."""
    run = _SyncRun(session, options, progress or no_progress, stop, notify or _say_nothing)
    await run.run()
    return run.result


class _SyncRun:
    def __init__(
        self,
        session: PageReader,
        options: SyncOptions,
        progress: ProgressFactory,
        stop: trio.Event | None,
        notify: Callable[[str], None],
    ) -> None:
        self.session = session
        self.store = session.store
        self.options = options
        self.progress = progress
        self.stop = stop
        self.notify = notify
        self.result = SyncResult(stats=RunStats(selected=0))
        self.walk: Walk | None = None  # the full walk being read, saved with every batch
        self.newest: str | None = None  # the newest pubDate this run read
        self.reached = trio.Event()  # the incremental walk reached its cutoff or the end

    async def run(self) -> None:
        options, result = self.options, self.result
        stored_cutoff = await self.store.run(self.store.get_meta, "last_trade_pub_date")
        unfinished = await self.store.run(self.store.full_walk)
        if options.since is not None:
            result.mode = "since"
            result.cutoff = f"{options.since}T00:00:00Z"
            await self._incremental()
            # Reading back to `since` proves nothing older is missing only when `since` is no
            # later than a cutoff a complete walk already proved (and no full walk is unfinished).
            advance = (
                unfinished is None and stored_cutoff is not None and result.cutoff <= stored_cutoff
            )
            if unfinished is not None:
                self.notify(
                    "an earlier full walk is unfinished; run `trio-enrich sync` to finish it"
                )
            if result.complete:
                # (an unfinished full walk stays recorded: the advice above is to finish it)
                await self._finish(self.newest, advance=advance, keep_walk=unfinished is not None)
        elif options.full or stored_cutoff is None or unfinished is not None:
            result.mode = "full"
            if unfinished is not None:
                result.resumed = True
                self.walk = unfinished
                self.notify(_resuming(unfinished))
            else:
                self.walk = Walk(started_at=utc_now())
            await self._full(self.walk)
        else:
            result.cutoff = stored_cutoff
            await self._incremental()
            if result.complete:
                await self._finish(self.newest, advance=True)

    async def _finish(self, newest: str | None, *, advance: bool, keep_walk: bool = False) -> None:
        store = self.store
        await store.run(
            lambda: store.finish_sync(newest, advance_cutoff=advance, keep_walk=keep_walk)
        )

    # --- fetching and committing pages ---------------------------------------------------------

    async def _fetch(self, page: int) -> ListingPage:
        size = self.options.page_size
        path = listing_path(page, size)
        # The reader checks the page against its own totalCount: no silent hole.
        parsed, _ = await self.session.read(
            path, lambda body: parse_trades_page(body, page_number=page, page_size=size)
        )
        if parsed.total_count is None and self.walk is not None:
            raise FetchError(FailureKind.LAYOUT_CHANGED, "no totalCount on the page", path=path)
        if parsed.total_pages is not None:
            self.result.total_pages = parsed.total_pages
        if self.result.cutoff is not None:
            if parsed.trades and parsed.trades[-1].pub_date < self.result.cutoff:
                self.reached.set()  # this page reaches back past what we already have
            elif not parsed.trades or (parsed.total_pages and page >= parsed.total_pages):
                # The listing's last page (or past it): nothing older exists to read.
                self.result.end_of_listing = True
                self.reached.set()
        return parsed

    async def _commit(self, outcomes: list[Outcome[int, ListingPage]]) -> None:
        walk = self.walk
        rows: list[ListingTrade] = []
        for outcome in outcomes:
            page = outcome.result
            if page is None:
                continue
            rows.extend(page.trades)
            newest = max((t.pub_date for t in page.trades), default=None)
            if newest is not None and (self.newest is None or newest > self.newest):
                self.newest = newest
            if walk is not None and page.total_count is not None:
                walk.add_page(
                    outcome.item_id, self.options.page_size, page.total_count,
                    len(page.trades), newest,
                )  # fmt: skip
        write: ListingWrite = await self.session.commit(
            lambda: self.store.upsert_listing(rows, walk=walk)
        )
        self.result.pages += sum(o.result is not None for o in outcomes)
        self.result.trades_seen += write.written
        self.result.new_trades += write.new

    # --- the two walks ---------------------------------------------------------------------------

    async def _incremental(self) -> None:
        """Pages one at a time from page 1 until one reaches back past `result.cutoff`."""
        options = self.options
        config = self.session.pipeline()
        limit = options.max_pages if options.max_pages is not None else math.inf
        with self.progress(None) as sink:
            # One page at a time, so the walk stops right after the page that reaches back.
            stats = await run_pipeline(
                _count_up(limit), self._fetch, self._commit, replace(config, concurrency=1),
                progress=sink, stop=self.stop, enough=self.reached,
            )  # fmt: skip
        stats = replace(stats, selected=stats.handled)
        self.result.stats = stats
        self.result.complete = (
            stats.finish_reason is FinishReason.COMPLETED
            and self.reached.is_set()
            and not stats.failed_total
        )
        self.result.page_limit = (
            stats.finish_reason is FinishReason.COMPLETED
            and not self.reached.is_set()
            and stats.handled >= limit
        )

    async def _full(self, walk: Walk) -> None:
        options, result = self.options, self.result
        config = self.session.pipeline()
        budget = options.max_pages if options.max_pages is not None else math.inf
        for _ in range(MAX_ROUNDS + (walk.total is None)):
            pages = walk.pages_to_read(options.page_size)
            pages = pages[: int(min(len(pages), budget - result.pages))]
            if not pages:
                break
            unread = walk.unread_count() if walk.total is not None else math.inf
            if walk.total is None:
                # Page 1 alone tells how many pages there are; the rest can then go
                # concurrently. No display of its own: a bar of "1/1" would stay above the
                # real one.
                stats = await run_pipeline(pages, self._fetch, self._commit, config, stop=self.stop)
            else:
                earlier = result.stats
                with self.progress(result.pages + len(pages)) as sink:
                    stats = await run_pipeline(
                        pages, self._fetch, self._commit, config,
                        progress=CarriedProgress(sink, earlier), stop=self.stop,
                    )  # fmt: skip
            result.stats = result.stats.followed_by(stats)
            if stats.finish_reason is not FinishReason.COMPLETED or stats.failed_total:
                break
            if walk.complete or walk.unread_count() >= unread:
                break  # done, or a round that closed nothing (the site is churning)
        result.complete = walk.complete
        result.page_limit = not walk.complete and result.pages >= budget
        result.unread_trades = walk.unread_count() if walk.total is not None else None
        if walk.total is not None and not result.total_pages:
            # Pages that state no page count: the trades' count tells it (page 1 even empty).
            result.total_pages = max(1, math.ceil(walk.total / options.page_size))
        # An unfinished walk is already saved: each batch of rows was written with it.
        if walk.complete and result.stats.finish_reason is FinishReason.COMPLETED:
            await self._finish(walk.newest, advance=True)


def _resuming(walk: Walk) -> str:
    """What a sync says as it goes on with an unfinished full walk."""
    if walk.total is None:  # (its first page failed: nothing was placed)
        return f"resuming the full walk started {walk.started_at}: no page of it read yet"
    read = walk.total - walk.unread_count()
    return (
        f"resuming the full walk started {walk.started_at}: {read} of {walk.total} trades "
        f"read, {walk.unread_count()} to go"
    )


class CarriedProgress:
    """A progress sink that shows a round's statistics added to the rounds before it."""

    def __init__(self, sink: ProgressSink, earlier: RunStats) -> None:
        self._sink = sink
        self._earlier = earlier

    def update(self, stats: RunStats) -> None:
        self._sink.update(self._earlier.followed_by(stats))

    def tick(self, stats: RunStats) -> None:
        self._sink.tick(self._earlier.followed_by(stats))

    def warn(self, message: str) -> None:
        self._sink.warn(message)


def _count_up(limit: float) -> Iterator[int]:
    """Page numbers 1, 2, ... up to `limit`, which may be infinite."""
    page = 1
    while page <= limit:
        yield page
        page += 1
