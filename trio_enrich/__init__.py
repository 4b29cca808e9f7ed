"""trio-enrich: concurrent, polite, resumable enrichment of a Capitol Trades SQLite database.

The names below are imported when first used, not with the package: the command line must be
able to answer a signal that arrives while it starts (see ``_entry``), and a command that does
not need a library (the progress bar, the simulator) should not pay for importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._committees import CommitteesResult, read_committees
    from ._enrich import (
        DEFAULT_BASE_URL,
        EnrichOptions,
    )
    from ._errors import (
        DatabaseError,
        FetchError,
        TrioEnrichError,
        UsageError,
    )
    from ._model import (
        FailureKind,
        Issuer,
        IssuerDetail,
        IssuerPerformance,
        IssuerStats,
        ItemFailure,
        ListingPage,
        ListingPolitician,
        ListingTrade,
        PageFailure,
        PoliticianCard,
        PoliticianPage,
        TradeDetail,
    )
    from ._parse import (
        parse_issuer_detail,
        parse_politicians_page,
        parse_trade_detail,
        parse_trades_page,
    )
    from ._pipeline import (
        FinishReason,
        RetryPolicy,
        RunStats,
    )
    from ._polite import enrich
    from ._roster import COMMITTEES
    from ._store import (
        SCHEMA_VERSION,
        Store,
    )
    from ._sync import (
        SyncOptions,
        SyncResult,
        sync_listing,
    )

__version__ = "0.1.0.dev0"

# public name -> the module that defines it
_LAZY = {
    "COMMITTEES": "._roster",
    "CommitteesResult": "._committees",
    "DEFAULT_BASE_URL": "._enrich",
    "DatabaseError": "._errors",
    "EnrichOptions": "._enrich",
    "FailureKind": "._model",
    "FetchError": "._errors",
    "FinishReason": "._pipeline",
    "IssuerDetail": "._model",
    "IssuerPerformance": "._model",
    "IssuerStats": "._model",
    "ItemFailure": "._model",
    "Issuer": "._model",
    "ListingPage": "._model",
    "ListingPolitician": "._model",
    "ListingTrade": "._model",
    "PageFailure": "._model",
    "PoliticianCard": "._model",
    "PoliticianPage": "._model",
    "RetryPolicy": "._pipeline",
    "RunStats": "._pipeline",
    "SCHEMA_VERSION": "._store",
    "Store": "._store",
    "SyncOptions": "._sync",
    "SyncResult": "._sync",
    "TradeDetail": "._model",
    "TrioEnrichError": "._errors",
    "UsageError": "._errors",
    "enrich": "._polite",
    "parse_issuer_detail": "._parse",
    "parse_politicians_page": "._parse",
    "parse_trade_detail": "._parse",
    "parse_trades_page": "._parse",
    "read_committees": "._committees",
    "sync_listing": "._sync",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trio_enrich' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "COMMITTEES",
    "DEFAULT_BASE_URL",
    "SCHEMA_VERSION",
    "CommitteesResult",
    "DatabaseError",
    "EnrichOptions",
    "FailureKind",
    "FetchError",
    "FinishReason",
    "Issuer",
    "IssuerDetail",
    "IssuerPerformance",
    "IssuerStats",
    "ItemFailure",
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
    "parse_issuer_detail",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "read_committees",
    "sync_listing",
]
