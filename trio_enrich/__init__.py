"""trio-enrich: concurrent, polite, resumable enrichment of a Capitol Trades SQLite database."""

from __future__ import annotations

from ._enrich import DEFAULT_BASE_URL, EnrichOptions, enrich
from ._errors import DatabaseError, FetchError, TrioEnrichError, UsageError
from ._model import (
    FailureKind,
    IssuerDetail,
    IssuerPage,
    IssuerPerformance,
    IssuerStats,
    IssuerSummary,
    ListingIssuer,
    ListingPage,
    ListingPolitician,
    ListingTrade,
    PageFailure,
    PoliticianCard,
    PoliticianPage,
    TradeDetail,
)
from ._parse import (
    flight_text,
    parse_issuer_detail,
    parse_issuers_page,
    parse_politicians_page,
    parse_trade_detail,
    parse_trades_page,
    trade_detail_from_object,
)
from ._pipeline import FinishReason, RetryPolicy, RunStats
from ._store import SCHEMA_VERSION, ItemFailure, Store
from ._sync import SyncOptions, SyncResult, sync_listing

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_BASE_URL",
    "SCHEMA_VERSION",
    "DatabaseError",
    "EnrichOptions",
    "FailureKind",
    "FetchError",
    "FinishReason",
    "IssuerDetail",
    "IssuerPage",
    "IssuerPerformance",
    "IssuerStats",
    "IssuerSummary",
    "ItemFailure",
    "ListingIssuer",
    "ListingPage",
    "ListingPolitician",
    "ListingTrade",
    "PageFailure",
    "PoliticianCard",
    "PoliticianPage",
    "RetryPolicy",
    "RunStats",
    "Store",
    "SyncOptions",
    "SyncResult",
    "TradeDetail",
    "TrioEnrichError",
    "UsageError",
    "__version__",
    "enrich",
    "flight_text",
    "parse_issuer_detail",
    "parse_issuers_page",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "sync_listing",
    "trade_detail_from_object",
]
