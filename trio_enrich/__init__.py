"""trio-enrich: concurrent, polite, resumable enrichment of a Capitol Trades SQLite database.

The names below are imported when first used, not with the package: the command line must be
able to answer a signal that arrives while it starts (see ``_entry``), and a command that does
not need a library (the progress bar, the simulator) should not pay for importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import (
        DatabaseError,
        FetchError,
        TrioEnrichError,
        UsageError,
    )
    from ._model import (
        DEFAULT_BASE_URL,
        FailureKind,
        Issuer,
        IssuerDetail,
        IssuerPerformance,
        IssuerStats,
        ItemFailure,
        LearnedRate,
        ListingPage,
        ListingPolitician,
        ListingTrade,
        PageFailure,
        PageRef,
        PoliticianCard,
        PoliticianPage,
        RunHolder,
        StatusReport,
        TradeDetail,
    )
    from .alerts.apprise_sender import Destination
    from .alerts.deliver import Alerts, AlertSettings, AlertsReport, DeliveryReport, FeedReport
    from .commands.alerting import alert_settings
    from .core.policy import RetryPolicy
    from .core.stats import FinishReason, ProgressSink, RunStats
    from .read.watch import WatchRule
    from .runs.calls import (
        AfterStages,
        UpdateResult,
        check,
        committees,
        enrich,
        reparse,
        sync,
        update,
    )
    from .runs.check import (
        CheckReport,
        PageCheck,
    )
    from .runs.committees import (
        CommitteesResult,
    )
    from .runs.jobs import (
        ISSUERS,
        TRADES,
        Job,
        Words,
    )
    from .runs.options import (
        EnrichOptions,
    )
    from .runs.reparse import (
        ReparseResult,
    )
    from .runs.stages import (
        StageResult,
    )
    from .runs.sync import (
        SyncOptions,
        SyncResult,
    )
    from .site.parse import (
        parse_issuer_detail,
        parse_politicians_page,
        parse_trade_detail,
        parse_trades_page,
    )
    from .site.roster import (
        COMMITTEES,
    )
    from .site.walk import (
        Walk,
    )
    from .storage.store import (
        SCHEMA_VERSION,
        BatchResult,
        ListingWrite,
        Store,
    )
    from .storage.writes import (
        Change,
        MembershipWrite,
        ReparseWrite,
    )

from ._defaults import VERSION as __version__

# public name -> the module that defines it
_LAZY = {
    "AlertSettings": ".alerts.deliver",
    "Alerts": ".alerts.deliver",
    "AlertsReport": ".alerts.deliver",
    "AfterStages": ".runs.calls",
    "DeliveryReport": ".alerts.deliver",
    "FeedReport": ".alerts.deliver",
    "WatchRule": ".read.watch",
    "Destination": ".alerts.apprise_sender",
    "alert_settings": ".commands.alerting",
    "BatchResult": ".storage.store",
    "COMMITTEES": ".site.roster",
    "Change": ".storage.writes",
    "CheckReport": ".runs.check",
    "CommitteesResult": ".runs.committees",
    "DEFAULT_BASE_URL": "._model",
    "DatabaseError": "._errors",
    "EnrichOptions": ".runs.options",
    "FailureKind": "._model",
    "FetchError": "._errors",
    "FinishReason": ".core.stats",
    "ISSUERS": ".runs.jobs",
    "Issuer": "._model",
    "IssuerDetail": "._model",
    "IssuerPerformance": "._model",
    "IssuerStats": "._model",
    "ItemFailure": "._model",
    "Job": ".runs.jobs",
    "LearnedRate": "._model",
    "ListingPage": "._model",
    "ListingPolitician": "._model",
    "ListingTrade": "._model",
    "ListingWrite": ".storage.store",
    "MembershipWrite": ".storage.writes",
    "PageCheck": ".runs.check",
    "PageFailure": "._model",
    "PageRef": "._model",
    "PoliticianCard": "._model",
    "PoliticianPage": "._model",
    "ProgressSink": ".core.stats",
    "ReparseResult": ".runs.reparse",
    "ReparseWrite": ".storage.writes",
    "RetryPolicy": ".core.policy",
    "RunHolder": "._model",
    "RunStats": ".core.stats",
    "SCHEMA_VERSION": ".storage.store",
    "StageResult": ".runs.stages",
    "StatusReport": "._model",
    "Store": ".storage.store",
    "SyncOptions": ".runs.sync",
    "SyncResult": ".runs.sync",
    "TRADES": ".runs.jobs",
    "TradeDetail": "._model",
    "TrioEnrichError": "._errors",
    "UpdateResult": ".runs.calls",
    "UsageError": "._errors",
    "Walk": ".site.walk",
    "Words": ".runs.jobs",
    "check": ".runs.calls",
    "committees": ".runs.calls",
    "enrich": ".runs.calls",
    "parse_issuer_detail": ".site.parse",
    "parse_politicians_page": ".site.parse",
    "parse_trade_detail": ".site.parse",
    "parse_trades_page": ".site.parse",
    "reparse": ".runs.calls",
    "sync": ".runs.calls",
    "update": ".runs.calls",
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
    "ISSUERS",
    "SCHEMA_VERSION",
    "TRADES",
    "AfterStages",
    "AlertSettings",
    "Alerts",
    "AlertsReport",
    "BatchResult",
    "Change",
    "CheckReport",
    "CommitteesResult",
    "DatabaseError",
    "DeliveryReport",
    "Destination",
    "EnrichOptions",
    "FailureKind",
    "FeedReport",
    "FetchError",
    "FinishReason",
    "Issuer",
    "IssuerDetail",
    "IssuerPerformance",
    "IssuerStats",
    "ItemFailure",
    "Job",
    "LearnedRate",
    "ListingPage",
    "ListingPolitician",
    "ListingTrade",
    "ListingWrite",
    "MembershipWrite",
    "PageCheck",
    "PageFailure",
    "PageRef",
    "PoliticianCard",
    "PoliticianPage",
    "ProgressSink",
    "ReparseResult",
    "ReparseWrite",
    "RetryPolicy",
    "RunHolder",
    "RunStats",
    "StageResult",
    "StatusReport",
    "Store",
    "SyncOptions",
    "SyncResult",
    "TradeDetail",
    "TrioEnrichError",
    "UpdateResult",
    "UsageError",
    "Walk",
    "WatchRule",
    "Words",
    "__version__",
    "alert_settings",
    "check",
    "committees",
    "enrich",
    "parse_issuer_detail",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "reparse",
    "sync",
    "update",
]
