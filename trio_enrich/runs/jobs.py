"""A job is a value: what one kind of fetch needs to know, in one description.

The generic core (``_pipeline``) runs ids through workers; a :class:`Job` says which ids are
pending, where an id's page is, how to read it and how to store what it gave, and the words a
person reads about it. Adding a job (committee memberships, say) is a new value here, a reader
and a writer: no dispatch on names anywhere else.

This module also holds the two steps every job shares: building the page client from the
options, and turning a page that yields no data into the :class:`FetchError` the core retries
or counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from .._errors import FetchError
from .._model import IssuerDetail, ItemFailure, PageFailure, PageRef, TradeDetail
from ..clients.answers import ClientName, PageSource
from ..clients.factory import open_client
from ..core.policy import PipelineConfig
from ..core.stats import RunStats
from ..site.parse import parse_issuer_detail, parse_trade_detail
from ..site.rules import status_kind
from ..storage.archive import PageArchive
from ..storage.store import Store, Table

__all__ = [
    "ISSUERS", "PAGES", "TRADES", "Job", "PageReader", "Words", "open_page_client",
    "read_kept_page", "read_page",
]  # fmt: skip

K = TypeVar("K")  # an item's id: a trade's or issuer's number, a committee's code
R = TypeVar("R")  # what a page gives
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Words:
    """How a person is told about a job's items."""

    noun: str  # what the items are, plural: "trades", "pages"
    done: str  # what happened to one that succeeded: "enriched", "fetched"
    rate: str  # the unit of the rate in summaries: "items", "pages"
    skipped: str = "not found"  # what a skipped one was (the site's rules' streak kind)

    def counters(self, stats: RunStats) -> dict[str, object]:
        """The run's counters for JSON, keyed in these words ("enriched", "not_found")."""
        return stats.as_dict(done=self.done, skipped=self.skipped.replace(" ", "_"))


@dataclass(frozen=True, slots=True)
class Job(Generic[K, R]):
    """One kind of item to fetch: its pending ids, its page, its reader and its writer."""

    name: str
    table: Table  # the table of its items
    words: Words
    path: Callable[[K], str]
    read: Callable[[bytes, K], R | PageFailure]
    # (store, limit, include_not_found, refresh_before) -> the pending ids, in order; items
    # enriched before `refresh_before` (an enriched_at time) are pending again where it applies
    pending: Callable[[Store, int | None, bool, str | None], list[K]]
    # (store, results, failures, pages): one transaction; pages[i] is where results[i] was
    # read (None: a page the archive did not keep)
    write: Callable[[Store, Sequence[R], Sequence[ItemFailure], Sequence[PageRef | None]], Any]


TRADES: Job[int, TradeDetail] = Job(
    name="trades",
    table="trades",
    words=Words(noun="trades", done="enriched", rate="items"),
    path=lambda tx_id: f"/trades/{tx_id}",
    read=parse_trade_detail,
    pending=lambda store, limit, retry, refresh_before: store.pending_trade_ids(
        limit=limit, include_not_found=retry
    ),
    write=lambda store, results, failures, pages: store.write_trade_batch(
        results, failures, pages=pages
    ),
)

ISSUERS: Job[int, IssuerDetail] = Job(
    name="issuers",
    table="issuers",
    words=Words(noun="issuers", done="enriched", rate="items"),
    path=lambda issuer_id: f"/issuers/{issuer_id}",
    read=parse_issuer_detail,
    pending=lambda store, limit, retry, refresh_before: store.pending_issuer_ids(
        limit=limit, include_not_found=retry, refresh_before=refresh_before
    ),
    write=lambda store, results, failures, pages: store.write_issuer_batch(
        results, failures, pages=pages
    ),
)

#: The words of the stages that read listing pages (sync, committees).
PAGES = Words(noun="pages", done="fetched", rate="pages")


def open_page_client(
    base_url: str, concurrency: int, deadline: float, client: ClientName = "httpx"
) -> PageSource:
    """The one place a page client is built for a run: the site's statuses read its way."""
    return open_client(
        client, base_url, concurrency=concurrency, deadline=deadline, status_kind=status_kind
    )


async def read_page(
    client: PageSource,
    path: str,
    read: Callable[[bytes], R | PageFailure],
    archive: PageArchive | None = None,
) -> R:
    """Fetch `path` and read it; a page that yields no data is a FetchError of its kind.
    With an `archive`, the answer is kept there (see `read_kept_page`)."""
    return (await read_kept_page(client, path, read, archive))[0]


async def read_kept_page(
    client: PageSource,
    path: str,
    read: Callable[[bytes], R | PageFailure],
    archive: PageArchive | None,
) -> tuple[R, PageRef | None]:
    """What `read_page` gives, and where the archive keeps its page (None: no archive).

    Every answer the site gave is kept, the failures too: a page without data, and an
    answer other than 200 (its first bytes), so that `reparse` can read them again.
    """
    try:
        body = await client.get(path)
    except FetchError as error:
        if archive is not None and error.status is not None:
            archive.keep(path, error.status, error.body or b"")
        raise
    ref = archive.keep(path, 200, body) if archive is not None else None
    result = read(body)
    if isinstance(result, PageFailure):
        raise FetchError(result.kind, result.reason, path=path, body=body)
    return result, ref


class PageReader(Protocol):
    """Where a stage's pages come from and how its rows are written: a run session (the
    site, pages kept before rows), or `reparse`'s reader of the page archive."""

    @property
    def store(self) -> Store: ...

    def pipeline(self) -> PipelineConfig: ...

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]: ...

    async def commit(self, write: Callable[[], T]) -> T: ...
