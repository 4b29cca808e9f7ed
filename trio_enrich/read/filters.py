"""What `list` and `news` are asked for: the filters of trades, politicians and issuers, as
values (``read.queries`` turns them into SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .watch import WatchRule

__all__ = ["IssuerFilters", "PoliticianFilters", "TradeFilters"]


@dataclass(frozen=True, slots=True)
class TradeFilters:
    politician: str | None = None  # an id, or part of a name
    party: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    chamber: str | None = None
    gender: str | None = None
    committee: tuple[str, ...] = ()  # members per the stored rosters
    issuer: str | None = None  # an id, or part of a name
    ticker: tuple[str, ...] = ()
    sector: tuple[str, ...] = ()
    market_cap: tuple[str, ...] = ()
    issuer_state: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    tx_type: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    asset_type: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    trade_size: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    since: str | None = None  # published on or after (YYYY-MM-DD)
    until: str | None = None  # published on or before
    tx_since: str | None = None  # traded on or after
    tx_until: str | None = None
    days: int | None = None  # published in the last N days
    min_gap: int | None = None
    max_gap: int | None = None
    late: bool = False
    overlap: bool = False  # the issuer's sector is one a committee of the member oversees
    committee_sectors: Path | None = None  # a user's own mapping, for `overlap`
    sort_by: str = "published"
    ascending: bool = False
    limit: int | None = 100  # None: every row
    # `news`: which trades are new (per the runs' ledger), and which of them are wanted.
    seen_from_run: int | None = None  # first stored by this run or a later one
    seen_to_run: int | None = None  # ... or an earlier one
    seen_since: str | None = None  # first stored on or after this day (YYYY-MM-DD)
    watch: tuple[WatchRule, ...] = ()


@dataclass(frozen=True, slots=True)
class PoliticianFilters:
    name: str | None = None
    party: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    chamber: str | None = None
    committee: tuple[str, ...] = ()
    issuer: str | None = None  # traded it: an id, or part of a name
    sort_by: str = "volume"
    ascending: bool = False
    limit: int | None = 100


@dataclass(frozen=True, slots=True)
class IssuerFilters:
    search: str | None = None  # part of the name or the ticker
    sector: tuple[str, ...] = ()
    market_cap: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    politician: str | None = None  # traded by: an id, or part of a name
    sort_by: str = "volume"
    ascending: bool = False
    limit: int | None = 100
