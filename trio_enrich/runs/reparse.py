"""`reparse`: read the archived pages again with today's readers and write what they give,
sending no request.

After an upgrade that mends a reader, the pages a run kept (``_archive``) are read again:
items whose pages failed as unreadable, blocked-shaped or of an unknown layout and now read
are enriched; values that differ from what is stored are counted and a few shown; every write
follows the rules of a fetch's (a null never erases) and is stamped with the page's fetch
time, not the reparse's, so a refresh is due when the page is old, not when it was re-read.

The trade and issuer pages go through the same core as a fetch (progress, stop, summary),
with a `fetch` that reads the archive and rules of their own: nothing is retried (a stored
page reads the same every time), no breaker, no refusal guard (a run of stored refusals is
history, not this run's client), and failures are counted, never recorded (a re-read is not
another visit to the site). Committee pages go through `read_committees` with the archive as
the page source; listing pages are re-read version by version, oldest first, so the newest
values win. A dry run writes in a transaction it rolls back: its counts are exactly what the
write would have done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

import trio

from .._defaults import PAGE_SIZE
from .._errors import FetchError, UsageError
from .._model import FailureKind, ListingTrade, PageFailure, PageRef
from ..clients.answers import no_header, status_error
from ..core.pipeline import Outcome, run_pipeline
from ..core.policy import FailureRules, PipelineConfig, RetryPolicy
from ..core.site_limit import StatedLimits
from ..core.stats import RunStats
from ..site.parse import parse_trades_page
from ..site.rules import status_kind
from ..storage.archive import PageArchive, StoredPage, archive_path
from ..storage.store import Change, Entity, ReparseWrite, Store
from ..storage.writes import MembershipWrite
from .committees import read_committees
from .jobs import ISSUERS, TRADES, Job
from .options import EnrichOptions, pipeline_config
from .session import require_database
from .sync import ProgressFactory, no_progress

__all__ = [
    "KINDS", "ArchiveReader", "ReparseKind", "ReparseResult", "open_archive", "reparse_kind",
    "reparse_lines",
]  # fmt: skip

R = TypeVar("R")
T = TypeVar("T")

ReparseKind = Literal["trades", "issuers", "committees", "listing"]
#: Every kind, in the order a reparse reads them (the listing first: it adds rows).
KINDS: tuple[ReparseKind, ...] = ("listing", "trades", "issuers", "committees")

#: Stored pages are read by a few workers: reading one waits for the archive's thread.
CONCURRENCY = 4
#: How many changed values a summary shows.
EXAMPLES = 5

_RULES = FailureRules(trips_breaker=lambda kind: False)


@dataclass(slots=True)
class ReparseResult:
    """What a reparse of one kind of page did (or, dry, would do)."""

    kind: ReparseKind
    dry_run: bool
    stats: RunStats = field(default_factory=lambda: RunStats(selected=0))
    pages: int = 0  # stored pages read
    newly_enriched: int = 0  # items not enriched before (their pages had failed)
    changed: int = 0  # enriched items whose stored values moved
    unchanged: int = 0
    missing_rows: int = 0  # pages of items the database does not hold
    examples: list[Change] = field(default_factory=list)
    listing_rows: int = 0  # listing: rows read; committees: memberships written
    new_rows: int = 0  # listing: trades not in the database before
    memberships: MembershipWrite | None = None
    complete: bool = True  # committees: every committee read completely from the archive

    def add(self, write: ReparseWrite) -> None:
        self.newly_enriched += write.newly_enriched
        self.changed += len(write.changed)
        self.unchanged += write.unchanged
        self.missing_rows += write.missing_rows
        self.examples.extend(write.changed[: max(0, EXAMPLES - len(self.examples))])

    @property
    def not_archived(self) -> int:
        """Pages asked for that the archive does not hold (no request was sent for them)."""
        return self.stats.failed.get(FailureKind.NOT_ARCHIVED.value, 0)

    @property
    def failures(self) -> dict[str, int]:
        """Stored pages that did not read, by kind (the pages not in the archive apart)."""
        return {k: n for k, n in self.stats.failed.items() if k != FailureKind.NOT_ARCHIVED}

    def as_dict(self) -> dict[str, object]:
        failures = self.failures
        report: dict[str, object] = {
            "kind": self.kind, "dry_run": self.dry_run,
            "pages": self.pages - self.not_archived, "not_archived": self.not_archived,
            "failed": sum(failures.values()), "failures": failures,
            "finish": self.stats.finish_reason.value,
        }  # fmt: skip
        if self.kind in ("trades", "issuers"):
            report.update(
                newly_enriched=self.newly_enriched, changed=self.changed,
                unchanged=self.unchanged, missing_rows=self.missing_rows,
                examples=[{"item": c.item_id, "fields": [list(f) for f in c.fields]}
                          for c in self.examples],
            )  # fmt: skip
        elif self.kind == "listing":
            report.update(rows=self.listing_rows, new_trades=self.new_rows)
        else:
            written = self.memberships
            report.update(
                complete=self.complete,
                memberships=written.memberships if written else None,
                memberships_added=written.added if written else None,
                memberships_removed=written.removed if written else None,
            )  # fmt: skip
        return report


def read_stored(page: StoredPage, read: Callable[[bytes], R | PageFailure]) -> R:
    """What a fetch of `page` would have given: its data, or the FetchError of its kind."""
    if page.status != 200:
        raise status_error(
            page.url, page.status, body=page.body, location=None, retry_after=None,
            kind=status_kind(page.status, page.body, no_header),
        )  # fmt: skip
    result = read(page.body)
    if isinstance(result, PageFailure):
        raise FetchError(result.kind, result.reason, path=page.url, body=page.body)
    return result


def _not_archived(path: str) -> FetchError:
    """No stored page for `path`: said as such, with no path to print as a GET (none was
    sent), and of a kind no rule retries or counts toward a breaker."""
    return FetchError(FailureKind.NOT_ARCHIVED, f"the archive has no page {path}")


class ArchiveReader:
    """Committee pages from the archive's newest version of each path: the site, as it last
    answered, for the code that reads the site (a :class:`~.committees.PageReader`). Sends
    nothing; read as a fetch would be (no retries: a stored page reads the same every time)."""

    def __init__(self, store: Store, archive: PageArchive) -> None:
        self.store = store
        self.archive = archive

    def pipeline(self) -> PipelineConfig:
        options = EnrichOptions(
            concurrency=CONCURRENCY, delay=0.0, retry=RetryPolicy(max_retries=0)
        )
        return pipeline_config(options, StatedLimits())  # kept pages state no limit to keep to

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]:
        page = await self.archive.run(self.archive.newest, path)
        if page is None:
            raise _not_archived(path)
        return read_stored(page, read), page.ref

    async def commit(self, write: Callable[[], T]) -> T:
        return await self.store.run(write)


def _config() -> PipelineConfig:
    return PipelineConfig(
        concurrency=CONCURRENCY, max_failures=1, delay=0.0,
        retry=RetryPolicy(max_retries=0), rules=_RULES,
    )  # fmt: skip


def open_archive(db: Path, *, read_only: bool) -> PageArchive:
    """The page archive beside `db`; a UsageError saying how one is made if there is none."""
    require_database(db)
    where = archive_path(db)
    if not where.exists():
        raise UsageError(
            f"no page archive at {where}: runs keep the pages they receive there (unless "
            "--no-archive); run one first"
        )
    return PageArchive.open(where, read_only=read_only)


async def reparse_kind(
    store: Store,
    archive: PageArchive,
    kind: ReparseKind,
    *,
    dry_run: bool = False,
    progress: ProgressFactory | None = None,
    stop: trio.Event | None = None,
) -> ReparseResult:
    """Read the archived pages of `kind` again and write what they give (see the module)."""
    result = ReparseResult(kind, dry_run)
    open_progress = progress or no_progress
    if kind == "listing":
        await _listing(store, archive, result)
    elif kind == "committees":
        done = await read_committees(
            ArchiveReader(store, archive), progress=open_progress, stop=stop,
            keep=not dry_run, reread=True,
        )  # fmt: skip
        result.stats, result.pages = done.stats, done.stats.handled
        result.complete, result.memberships = done.complete, done.written
    else:
        job: Job[Any, Any] = TRADES if kind == "trades" else ISSUERS
        await _items(store, archive, job, result, open_progress, stop)
    return result


async def _items(
    store: Store,
    archive: PageArchive,
    job: Job[Any, Any],
    result: ReparseResult,
    open_progress: ProgressFactory,
    stop: trio.Event | None,
) -> None:
    entity: Entity = "trade" if job is TRADES else "issuer"
    urls = await archive.run(archive.newest_urls, entity)
    ids = [int(url.rsplit("/", 1)[1]) for url in urls]

    async def fetch(item_id: int) -> tuple[Any, PageRef]:
        page = await archive.run(archive.newest, job.path(item_id))
        if page is None:  # (pruned meanwhile)
            raise _not_archived(job.path(item_id))
        return read_stored(page, lambda body: job.read(body, item_id)), page.ref

    async def commit(outcomes: list[Outcome[int, tuple[Any, PageRef]]]) -> None:
        read = [o.result for o in outcomes if o.result is not None]
        details = [detail for detail, _ in read]
        pages = [page for _, page in read]
        written = await store.run(
            lambda: store.reparse_batch(entity, details, pages, keep=not result.dry_run)
        )
        result.add(written)

    with open_progress(len(ids)) as sink:
        result.stats = await run_pipeline(ids, fetch, commit, _config(), progress=sink, stop=stop)
    result.pages = result.stats.handled


def _listing_page(url: str) -> tuple[int, int]:
    query = parse_qs(urlsplit(url).query)
    number = int(query.get("page", ["1"])[0])
    return number, int(query.get("pageSize", [str(PAGE_SIZE)])[0])


async def _listing(store: Store, archive: PageArchive, result: ReparseResult) -> None:
    """Every stored listing page, oldest first, into the listing rows (then the stats)."""

    def run() -> None:
        rows: list[ListingTrade] = []
        failures: dict[str, int] = {}
        for page in archive.all_versions("listing"):
            result.pages += 1
            number, size = _listing_page(page.url)
            read = partial(parse_trades_page, page_number=number, page_size=size)
            try:
                listing = read_stored(page, read)
            except FetchError as error:
                failures[error.kind.value] = failures.get(error.kind.value, 0) + 1
                continue
            rows.extend(listing.trades)
        written = store.upsert_listing(rows, keep=not result.dry_run, note_read=False)
        if not result.dry_run and rows:
            store.recompute_stats()
        result.listing_rows, result.new_rows = written.written, written.new
        result.stats = RunStats(
            selected=result.pages, done=result.pages - sum(failures.values()), failed=failures
        )

    await trio.to_thread.run_sync(run)


def example_lines(changes: Sequence[Change], noun: str) -> list[str]:
    """A few changed values in words: `trade 7: trades.size 100 -> 200`."""
    lines = []
    for change in changes:
        shown = "; ".join(f"{name} {old!r} -> {new!r}" for name, old, new in change.fields[:3])
        more = f" (and {len(change.fields) - 3} more)" if len(change.fields) > 3 else ""
        lines.append(f"    {noun} {change.item_id}: {shown}{more}")
    return lines


def reparse_lines(result: ReparseResult) -> list[str]:
    """A reparse's summary, for people."""
    stats = result.stats
    done = "dry run: nothing written" if result.dry_run else "written"
    failed, absent = result.failures, result.not_archived
    lines = [
        f"reparse {result.kind}: {result.pages - absent} stored pages read, no request sent "
        f"({done})" + (f"; {absent} not in the archive" if absent else "")
    ]
    if result.kind in ("trades", "issuers"):
        lines.append(
            f"  newly enriched {result.newly_enriched}, changed {result.changed}, unchanged "
            f"{result.unchanged}" + (f", not in the database {result.missing_rows}"
                                     if result.missing_rows else "")
        )  # fmt: skip
        lines.extend(example_lines(result.examples, result.kind[:-1]))
    elif result.kind == "listing":
        lines.append(f"  rows {result.listing_rows}, of which new trades {result.new_rows}")
    else:
        written = result.memberships
        lines.append(
            f"  memberships {written.memberships} ({written.added} added, {written.removed} "
            "removed)" if written else "  not every committee was read completely from the "
            "archive: memberships left as they are"
        )  # fmt: skip
    if failed:
        kinds = ", ".join(f"{FailureKind(k).words} {n}" for k, n in sorted(failed.items()))
        lines.append(f"  still not read: {sum(failed.values())} ({kinds}); nothing recorded")
    if stats.finish_reason.value != "completed":
        lines.append(f"  stopped: {stats.finish_reason.value}")
    return lines
