"""trio-enrich: concurrent, polite, resumable enrichment of a Capitol Trades SQLite database."""

from __future__ import annotations

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
from ._store import SCHEMA_VERSION, ItemFailure, Store

__version__ = "0.1.0.dev0"

__all__ = [
    "SCHEMA_VERSION",
    "DatabaseError",
    "FailureKind",
    "FetchError",
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
    "Store",
    "TradeDetail",
    "TrioEnrichError",
    "UsageError",
    "__version__",
    "flight_text",
    "parse_issuer_detail",
    "parse_issuers_page",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "trade_detail_from_object",
]
