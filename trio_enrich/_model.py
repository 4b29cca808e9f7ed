"""Value types that cross module boundaries.

They are frozen, slotted dataclasses with no behaviour beyond construction, so the parser, the
store and the pipeline can exchange them without knowing about each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

__all__ = [
    "DEFAULT_BASE_URL",
    "PERFORMANCE_FIELDS",
    "CommitteesStatus",
    "EntityStatus",
    "FailureKind",
    "Issuer",
    "IssuerDetail",
    "IssuerPerformance",
    "IssuerStats",
    "ItemFailure",
    "LearnedRate",
    "ListingPage",
    "ListingPolitician",
    "ListingTrade",
    "PageFailure",
    "PageRef",
    "PoliticianCard",
    "PoliticianPage",
    "ProgressMode",
    "RunHolder",
    "StatusReport",
    "TradeDetail",
    "WalkStatus",
]


#: Where the site is (every command's --base-url default).
DEFAULT_BASE_URL = "https://www.capitoltrades.com"

#: How a run shows its progress: a bar on a terminal and log lines elsewhere, or as chosen.
ProgressMode = Literal["auto", "bar", "log", "none"]


class FailureKind(enum.StrEnum):
    """Why a page (or a request for it) gave no data.

    The first five come from the page itself (the readers decide them; BLOCKED also from a
    CDN's refusal); the others come from the transport (the HTTP adapter decides them).
    """

    NOT_FOUND = "not_found"  # the site's HTTP-200 "Page Not Found" template: permanent
    ERROR_DIGEST = "error_digest"  # a Next.js error row instead of data: retry on a later run
    # The site refuses this client: a CDN's 403 page, a challenge page, or a page with no data
    # at all (no data scripts, or only the layout's: a "data-less shell").
    BLOCKED = "blocked"
    # Data is there but not in a shape the readers know (a field missing or of another form).
    LAYOUT_CHANGED = "layout_changed"
    TRUNCATED = "truncated"  # the streamed page was cut off: retryable
    RATE_LIMITED = "rate_limited"  # 429, or 403 which the site also uses for throttling
    SERVER_ERROR = "server_error"  # 5xx or 408
    HTTP_ERROR = "http_error"  # any other unexpected status
    TIMEOUT = "timeout"  # the whole request took longer than its deadline
    TRANSPORT = "transport"  # connection refused, reset, protocol error
    TOO_LARGE = "too_large"  # the body exceeded the size cap
    BAD_CONTENT = "bad_content"  # not HTML (an image, say), or undecodable
    UNREACHABLE = "unreachable"  # connection refused, or the host name does not resolve
    # `reparse` only: the page archive holds no page for it (no request was sent).
    NOT_ARCHIVED = "not_archived"

    @property
    def words(self) -> str:
        """The kind in words for people (the value stays the name in JSON and the database)."""
        return _FAILURE_WORDS[self]


_FAILURE_WORDS = {
    FailureKind.NOT_FOUND: "not found",
    FailureKind.ERROR_DIGEST: "server error page",
    FailureKind.BLOCKED: "blocked",
    FailureKind.LAYOUT_CHANGED: "layout changed",
    FailureKind.TRUNCATED: "cut-off page",
    FailureKind.RATE_LIMITED: "rate limited",
    FailureKind.SERVER_ERROR: "server error",
    FailureKind.HTTP_ERROR: "unexpected HTTP answer",
    FailureKind.TIMEOUT: "timeout",
    FailureKind.TRANSPORT: "connection error",
    FailureKind.TOO_LARGE: "page too large",
    FailureKind.BAD_CONTENT: "not a page",
    FailureKind.UNREACHABLE: "site unreachable",
    FailureKind.NOT_ARCHIVED: "not in the archive",
}


@dataclass(frozen=True, slots=True)
class PageRef:
    """Where a page is in the page archive: its URL, the sha256 of its content, and when it
    was received (the provenance of the values read from it)."""

    url: str
    hash: str
    fetched_at: str


@dataclass(frozen=True, slots=True)
class PageFailure:
    """A page that yielded no data, with the reason in one line."""

    kind: FailureKind
    reason: str


# --- trades listing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """A final failure of one item, for the failure table."""

    item_id: int
    kind: FailureKind
    message: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class LearnedRate:
    """The request rate an earlier `--max-rps auto` run learned for a host."""

    rate: float  # requests per second
    limited: bool  # a limit was found, not just a rate reached
    learned_at: str  # ISO-8601 UTC


@dataclass(frozen=True, slots=True)
class RunHolder:
    """Who holds (or last held) a database's run lock."""

    pid: int
    command: str
    since: str  # ISO-8601 UTC

    def __str__(self) -> str:
        return f"pid {self.pid}, `{self.command}`, since {self.since}"


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who an issuer is, as a trade's listing row and the issuer's own page both show it."""

    issuer_id: int
    state_id: str | None
    c2iq: str | None
    country: str | None
    issuer_name: str
    issuer_ticker: str | None
    sector: str | None


@dataclass(frozen=True, slots=True)
class ListingPolitician:
    politician_id: str
    state_id: str | None
    chamber: str | None
    dob: str | None
    first_name: str | None
    last_name: str | None
    nickname: str | None
    gender: str | None
    party: str | None


@dataclass(frozen=True, slots=True)
class ListingTrade:
    """One row of the trades listing (what `/trades?page=N` shows)."""

    tx_id: int
    chamber: str
    comment: str | None
    owner: str | None
    price: float | None
    pub_date: str
    reporting_gap: int | None
    tx_date: str
    tx_type: str
    tx_type_extended: str | None  # any JSON value, kept as its JSON text
    value: int
    issuer: Issuer
    politician: ListingPolitician


@dataclass(frozen=True, slots=True)
class ListingPage:
    trades: tuple[ListingTrade, ...]
    total_count: int | None
    total_pages: int | None


# --- trade detail ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradeDetail:
    """What a trade's detail page adds to its listing row. None means "the page did not say"."""

    tx_id: int
    asset_type: str | None = None  # kebab-case: stock, stock-option, etf, other-securities, ...
    asset_ticker: str | None = None
    instrument: str | None = None
    filing_url: str | None = None
    filing_id: int | None = None
    price: float | None = None
    # Decimals of the price as the page showed it (live pages round: "$2.49"); None: exact.
    price_decimals: int | None = None
    size: int | None = None  # share count
    size_range_low: int | None = None  # share count
    size_range_high: int | None = None  # share count
    has_capital_gains: bool | None = None
    committees: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    reporting_gap: int | None = None

    def has_enrichment(self) -> bool:
        """True when the page yielded at least one field the listing does not have."""
        return any(
            value is not None
            for value in (
                self.asset_type,
                self.filing_url,
                self.filing_id,
                self.size,
                self.size_range_low,
                self.size_range_high,
                self.has_capital_gains,
            )
        ) or bool(self.committees or self.labels)


# --- issuer detail --------------------------------------------------------------------------

#: The 18 trailing and period numbers of an issuer's performance, in the site's key order.
PERFORMANCE_FIELDS: tuple[str, ...] = (
    "trailing1",
    "trailing1Change",
    "trailing7",
    "trailing7Change",
    "trailing30",
    "trailing30Change",
    "trailing90",
    "trailing90Change",
    "trailing365",
    "trailing365Change",
    "wtd",
    "wtdChange",
    "mtd",
    "mtdChange",
    "qtd",
    "qtdChange",
    "ytd",
    "ytdChange",
)


@dataclass(frozen=True, slots=True)
class IssuerStats:
    count_trades: int
    count_politicians: int
    volume: int
    date_last_traded: str | None


@dataclass(frozen=True, slots=True)
class IssuerPerformance:
    """Market data as the page shows it. None means "not shown": an issuer listed less than
    a year ago has no ``trailing365`` (the real site sends null), which is a normal page."""

    mcap: int | None
    numbers: tuple[float | None, ...]  # in PERFORMANCE_FIELDS order
    eod_prices: tuple[tuple[str, float], ...]  # (YYYY-MM-DD, price), as the page lists them

    def as_dict(self) -> dict[str, float | None]:
        return dict(zip(PERFORMANCE_FIELDS, self.numbers, strict=True))

    @property
    def complete(self) -> bool:
        """Every figure is shown (the inherited ``issuer_performance`` table holds only these)."""
        return self.mcap is not None and all(number is not None for number in self.numbers)


@dataclass(frozen=True, slots=True)
class IssuerDetail:
    """What an issuer's page shows: who it is, its trading statistics, its market data."""

    issuer: Issuer
    stats: IssuerStats | None
    performance: IssuerPerformance | None

    @property
    def issuer_id(self) -> int:
        return self.issuer.issuer_id


@dataclass(frozen=True, slots=True)
class PoliticianCard:
    """One card of `/politicians?...`: rendered text only, the page carries no JSON object."""

    politician_id: str
    name: str
    party: str | None  # as shown: "Democrat"
    state: str | None  # as shown: "Rhode Island"
    count_trades: int | None
    count_issuers: int | None
    volume: str | None  # as shown, e.g. "1.23M"
    date_last_traded: str | None
    party_id: str | None = None  # from the card's class: "democrat"
    state_id: str | None = None  # from the card's class: "ri"


@dataclass(frozen=True, slots=True)
class PoliticianPage:
    politicians: tuple[PoliticianCard, ...]
    total_count: int | None


class EntityStatus(TypedDict):
    """`status` of the trades or the issuers (JSON as it is)."""

    total: int
    enriched: int
    pending: int
    not_found: int
    parked: int
    failed: int
    failed_by_kind: dict[str, int]
    last_enriched_at: str | None
    oldest_enriched_at: str | None
    performance_partly_not_shown: NotRequired[int]  # issuers only


class CommitteesStatus(TypedDict):
    memberships: int
    committees: int
    politicians: int
    read_at: str | None


class WalkStatus(TypedDict):
    started_at: str
    total: int | None
    unread_trades: int


class StatusReport(TypedDict):
    """What `status` reports (and prints with --json)."""

    trades: EntityStatus
    issuers: EntityStatus
    committees: CommitteesStatus
    not_shown: dict[str, int]  # enriched trades whose value stands for "not shown", by field
    last_sync_at: str | None
    listing_read_at: str | None  # a later sync read pages without reaching its end
    unfinished_full_walk: WalkStatus | None
    last_trade_pub_date: str | None
    user_version: int
    schema_version: int | None
    # The page archive beside the database (`status` adds it): pages, versions, bytes.
    archive: NotRequired[dict[str, object] | None]
    archive_error: NotRequired[str]  # the archive is there but cannot be read: why, what to do
    # Where `update --notify` sends (labels, never URLs): pending, sent, the last delivery.
    destinations: NotRequired[list[dict[str, object]]]
