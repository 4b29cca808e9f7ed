"""A deterministic Capitol Trades dataset, made from a seed.

The ground truth that tests compare a database against: every trade's listing row and detail,
every issuer's detail, as the same value types the parser returns, and as JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
import uuid
from dataclasses import dataclass, field

from .._model import (
    PERFORMANCE_FIELDS,
    Issuer,
    IssuerDetail,
    IssuerPerformance,
    IssuerStats,
    ListingPolitician,
    ListingTrade,
    TradeDetail,
)
from ..site.roster import COMMITTEES, chamber_of

__all__ = ["PRICE_WINDOW", "STATE_NAMES", "Dataset", "SimIssuer", "SimTrade", "make_dataset"]

#: End-of-day prices an issuer page shows: the last 20 trading days, as on the real site.
PRICE_WINDOW = 20

# The disclosed dollar brackets and the midpoint the listing shows as `value`.
_BRACKETS: tuple[tuple[int, int, int], ...] = (
    (1_001, 15_000, 8_000),
    (15_001, 50_000, 32_500),
    (50_001, 100_000, 75_000),
    (100_001, 250_000, 175_000),
    (250_001, 500_000, 375_000),
    (500_001, 1_000_000, 750_000),
    (1_000_001, 5_000_000, 3_000_000),
)
_BRACKET_WEIGHTS = (60, 20, 8, 6, 3, 2, 1)

# Label shown on the live page, and its weight.
_ASSET_TYPES: tuple[tuple[str, int], ...] = (
    ("Stock", 70),
    ("Stock Option", 5),
    ("ETF", 8),
    ("Mutual Fund", 4),
    ("Corporate Bond", 5),
    ("Municipal Security", 3),
    ("Crypto", 1),
    ("Other Securities", 4),
)
_OWNERS = ("self", "spouse", "joint", "child", "not-disclosed")
OWNER_LABELS = {
    "self": "Self",
    "spouse": "Spouse",
    "joint": "Joint",
    "child": "Child",
    "not-disclosed": "Undisclosed",
}
_TX_TYPES = ("buy", "sell", "sell", "exchange", "receive")
_SECTORS = (
    "information-technology",
    "financials",
    "health-care",
    "energy",
    "utilities",
    "industrials",
    "consumer-staples",
    "consumer-discretionary",
    "communication-services",
    "materials",
    "real-estate",
)
_STATES = ("ca", "ny", "tx", "fl", "il", "pa", "oh", "ga", "nc", "mi", "va", "wa", "az", "de")
STATE_NAMES = {
    "ca": "California", "ny": "New York", "tx": "Texas", "fl": "Florida", "il": "Illinois",
    "pa": "Pennsylvania", "oh": "Ohio", "ga": "Georgia", "nc": "North Carolina",
    "mi": "Michigan", "va": "Virginia", "wa": "Washington", "az": "Arizona", "de": "Delaware",
}  # fmt: skip
_FIRST = ("Ann", "Bob", "Carla", "Dan", "Eve", "Frank", "Gina", "Hal", "Ida", "Jon", "Kim", "Lou")
_LAST = ("Adams", "Baker", "Clark", "Diaz", "Evans", "Ford", "Gray", "Hill", "Irwin", "Jones")
_WORDS = ("Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris")
_SUFFIX = ("Inc", "Corp", "PLC", "Holdings Inc", "Group", "Co", "Ltd", "Trust")
_COMMITTEES = ("Finance", "Banking", "Armed Services", "Energy", "Judiciary", "Agriculture")
_LABELS = ("faang", "crypto", "esg", "defense", "options")


@dataclass(slots=True)
class SimTrade:
    listing: ListingTrade
    asset_label: str  # as the live page shows it ("Stock Option")
    instrument: str | None
    asset_ticker: str | None
    filing_url: str
    filing_id: int | None  # the House PDF number; None for Senate filings
    size: int | None
    size_range_low: int | None
    size_range_high: int | None
    has_capital_gains: bool
    committees: tuple[str, ...]
    labels: tuple[str, ...]
    filing_key: str  # trades of one filing share it (the live page lists siblings)

    def detail(self, shape: str = "live") -> TradeDetail:
        """What the parser must extract from this trade's page in the given shape."""
        listing = self.listing
        asset_type = self.asset_label.lower().replace(" ", "-")
        if shape == "live":
            return TradeDetail(
                tx_id=listing.tx_id,
                asset_type=asset_type,
                filing_url=self.filing_url,
                filing_id=self.filing_id,
                price=listing.price,
                price_decimals=None if listing.price is None else 2,  # shown as "$1,234.56"
                size_range_low=self.size_range_low,
                size_range_high=self.size_range_high,
                reporting_gap=listing.reporting_gap,
            )
        return TradeDetail(
            tx_id=listing.tx_id,
            asset_type=asset_type,
            asset_ticker=self.asset_ticker,
            instrument=self.instrument,
            filing_url=self.filing_url,
            filing_id=self.filing_id,
            price=listing.price,
            size=self.size,
            size_range_low=self.size_range_low,
            size_range_high=self.size_range_high,
            has_capital_gains=self.has_capital_gains,
            committees=self.committees,
            labels=self.labels,
            reporting_gap=listing.reporting_gap,
        )


@dataclass(slots=True)
class SimIssuer:
    listing: Issuer
    # The issuer's whole price history (newest first); its page shows the last PRICE_WINDOW.
    # Figures of None are not shown (an issuer listed less than a year ago has no trailing365).
    performance: IssuerPerformance | None
    stats: IssuerStats | None = None  # filled from the trades

    def shown_performance(self) -> IssuerPerformance | None:
        """The performance as the page shows it: the last PRICE_WINDOW end-of-day prices."""
        if self.performance is None:
            return None
        return dataclasses.replace(
            self.performance, eod_prices=self.performance.eod_prices[:PRICE_WINDOW]
        )

    def detail(self) -> IssuerDetail:
        """What the parser must extract from this issuer's page now."""
        return IssuerDetail(
            issuer=self.listing,
            stats=self.stats,
            performance=self.shown_performance(),
        )


@dataclass(slots=True)
class Dataset:
    """Trades newest first, with their issuers and politicians; grows with :meth:`publish`."""

    seed: int
    trades: list[SimTrade] = field(default_factory=list)  # newest publication first
    issuers: dict[int, SimIssuer] = field(default_factory=dict)
    politicians: dict[str, ListingPolitician] = field(default_factory=dict)
    trade_index: dict[int, SimTrade] = field(default_factory=dict)
    filings: dict[str, list[SimTrade]] = field(default_factory=dict)
    _issuer_ids: list[int] = field(default_factory=list)
    _politician_ids: list[str] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)
    _clock: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    _oldest: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    _next_house: int = 20_003_700_000
    _next_senate: int = 10_000_060_000
    _next_issuer: int = 429_000
    _roster_cache: tuple[int, dict[str, list[ListingPolitician]]] | None = None
    _roster_only: list[ListingPolitician] = field(default_factory=list)

    # --- queries ------------------------------------------------------------------------------

    def trade(self, tx_id: int) -> SimTrade | None:
        return self.trade_index.get(tx_id)

    def issuer(self, issuer_id: int) -> SimIssuer | None:
        return self.issuers.get(issuer_id)

    def siblings(self, trade: SimTrade) -> list[SimTrade]:
        """Up to 15 trades of the same filing, this one included, as the live page lists them."""
        others = [t for t in self.filings.get(trade.filing_key, ()) if t is not trade]
        return sorted([trade, *others[:14]], key=lambda t: t.listing.tx_id)

    def rosters(self) -> dict[str, list[ListingPolitician]]:
        """Committee code -> its members, in listing order (some committees have none).

        Members are the politicians who trade and a few who never do (they appear on committee
        listings only). Drawn from their own random streams, so the trades stay as they were.
        """
        key = len(self.politicians)
        if self._roster_cache is not None and self._roster_cache[0] == key:
            return self._roster_cache[1]
        if not self._roster_only:
            self._roster_only = _roster_only_politicians(self.seed)
        rosters: dict[str, list[ListingPolitician]] = {code: [] for code in COMMITTEES}
        for politician in [*self.politicians.values(), *self._roster_only]:
            rng = random.Random(f"{self.seed}:committees:{politician.politician_id}")
            chamber = politician.chamber or "house"
            choices = [
                code
                for code in COMMITTEES
                if chamber_of(code) == chamber and code not in _DEFUNCT_COMMITTEES
            ]
            for code in rng.sample(choices, rng.choice((0, 1, 2, 2, 3))):
                rosters[code].append(politician)
        for members in rosters.values():
            members.sort(key=lambda p: (p.last_name or "", p.first_name or "", p.politician_id))
        self._roster_cache = (key, rosters)
        return rosters

    def rosters_only(self) -> list[ListingPolitician]:
        """The politicians who appear on committee listings only."""
        self.rosters()
        return list(self._roster_only)

    def politician_stats(self) -> dict[str, tuple[int, int, int, str]]:
        """Politician id -> (trades, issuers, volume, last traded), as the cards show them."""
        trades: dict[str, list[ListingTrade]] = {}
        for trade in self.trades:
            trades.setdefault(trade.listing.politician.politician_id, []).append(trade.listing)
        return {
            pid: (
                len(rows),
                len({t.issuer.issuer_id for t in rows}),
                sum(t.value for t in rows),
                max(t.tx_date for t in rows),
            )
            for pid, rows in trades.items()
        }

    def to_json(self) -> str:
        """The ground truth as JSON: listing rows, trade details (both shapes), issuers, and
        committee rosters with the politicians that appear on rosters only."""
        rosters = self.rosters()
        return json.dumps(
            {
                "committees": {
                    code: [p.politician_id for p in members] for code, members in rosters.items()
                },
                "roster_only_politicians": [dataclasses.asdict(p) for p in self._roster_only],
                "seed": self.seed,
                "trades": [
                    {
                        "listing": dataclasses.asdict(t.listing),
                        "detail_live": dataclasses.asdict(t.detail("live")),
                        "detail_object": dataclasses.asdict(t.detail("object")),
                    }
                    for t in self.trades
                ],
                "issuers": [dataclasses.asdict(i.detail()) for i in self.issuers.values()],
            },
            sort_keys=True,
        )

    # --- growth -------------------------------------------------------------------------------

    def reprice(self) -> int:
        """A new trading day: every issuer with performance gets new figures and a price for
        the next day at the top of its history, so the window its page shows moves by one day
        (figures not shown stay so). Returns how many changed."""
        changed = 0
        for issuer in self.issuers.values():
            old = issuer.performance
            if old is None:
                continue
            numbers = tuple(None if n is None else round(n * 1.01 + 0.5, 4) for n in old.numbers)
            prices = old.eod_prices
            if prices:
                newest = dt.date.fromisoformat(prices[0][0]) + dt.timedelta(days=1)
                prices = ((newest.isoformat(), round(prices[0][1] * 1.02, 4)), *prices)
            issuer.performance = IssuerPerformance(
                mcap=None if old.mcap is None else old.mcap + 1_000,
                numbers=numbers,
                eod_prices=prices,
            )
            changed += 1
        return changed

    def partial_issuers(self) -> list[SimIssuer]:
        """Issuers whose page shows only part of their performance (listed less than a year)."""
        return [
            issuer
            for issuer in self.issuers.values()
            if issuer.performance is not None and not issuer.performance.complete
        ]

    def publish(self, count: int) -> list[SimTrade]:
        """Add `count` new trades, published after every existing one (newest first)."""
        rng = self._rng
        new: list[SimTrade] = []
        for _ in range(count):
            self._clock += dt.timedelta(minutes=rng.randint(5, 600))
            new.append(self._make_trade(self._clock))
        new.reverse()
        self.trades[:0] = new
        self._index(new)
        return new

    def _grow_back(self, count: int) -> None:
        """Make the initial history: `count` trades going back in time from the start date."""
        rng = self._rng
        moment = self._oldest
        made: list[SimTrade] = []
        for _ in range(count):
            moment -= dt.timedelta(minutes=rng.randint(5, 120))
            made.append(self._make_trade(moment))
        self.trades.extend(made)  # already newest first
        self._index(made)

    def _index(self, trades: list[SimTrade]) -> None:
        for trade in trades:
            self.trade_index[trade.listing.tx_id] = trade
            self.filings.setdefault(trade.filing_key, []).append(trade)
        self._refresh_stats()

    def _refresh_stats(self) -> None:
        per_issuer: dict[int, list[ListingTrade]] = {}
        for trade in self.trades:
            per_issuer.setdefault(trade.listing.issuer.issuer_id, []).append(trade.listing)
        for issuer_id, trades in per_issuer.items():
            self.issuers[issuer_id].stats = IssuerStats(
                count_trades=len(trades),
                count_politicians=len({t.politician.politician_id for t in trades}),
                volume=sum(t.value for t in trades),
                date_last_traded=max(t.tx_date for t in trades),
            )

    # --- makers -------------------------------------------------------------------------------

    # One function on purpose (~70 lines): every field of a trade drawn in one fixed order,
    # so a seed gives the same dataset; split, the order would be easy to break.
    def _make_trade(self, published: dt.datetime) -> SimTrade:
        # Long: the simulated trade's fields, drawn in a fixed order (the seed's datasets depend on
        # it): declared data.
        rng = self._rng
        politician = self._pick_politician()
        chamber = politician.chamber or "house"
        if chamber == "senate":
            tx_id = self._next_senate
            self._next_senate += rng.randint(1, 3)
        else:
            tx_id = self._next_house
            self._next_house += rng.randint(1, 3)
        issuer = self._pick_issuer()
        low, high, value = rng.choices(_BRACKETS, weights=_BRACKET_WEIGHTS)[0]
        price: float | None = None
        if rng.random() > 0.12:
            price = round(math.exp(rng.uniform(math.log(0.05), math.log(900))), 2) or 0.01
        gap = rng.randint(1, 60) if rng.random() > 0.05 else rng.randint(61, 400)
        gap = _odd_gap(tx_id, gap)
        traded = published - dt.timedelta(days=gap)
        asset_label = rng.choices(
            [a for a, _ in _ASSET_TYPES], weights=[w for _, w in _ASSET_TYPES]
        )[0]
        if chamber == "senate":
            filing_key = f"s-{politician.politician_id}-{published:%Y%m%d}"
            filing_url = f"https://efdsearch.senate.gov/view/ptr/{self._uuid(filing_key)}/"
            filing_id: int | None = None
        else:
            filing_key = f"h-{politician.politician_id}-{published:%Y%m%d}"
            filing_id = 20_000_000 + int(self._uuid(filing_key).hex[:6], 16) % 9_000_000
            filing_url = (
                "https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/"
                f"{published.year}/{filing_id}.pdf"
            )
        shares: tuple[int, int] | None = None
        size: int | None = None
        if price is not None and price > 0:
            shares = (max(1, int(low / price)), max(1, int(high / price)))
            size = max(1, int(value / price))
        comment = rng.choice((None, None, None, "LPL19", "SUBHOLDING OF: Brokerage - DC1"))
        extended = None if rng.random() > 0.03 else {"kind": "partial", "note": "$odd"}
        listing = ListingTrade(
            tx_id=tx_id,
            chamber=chamber,
            comment=comment,
            owner=rng.choice(_OWNERS),
            price=price,
            pub_date=published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            reporting_gap=gap,
            tx_date=traded.strftime("%Y-%m-%d"),
            tx_type=rng.choice(_TX_TYPES),
            tx_type_extended=None if extended is None else json.dumps(extended, sort_keys=True),
            value=value,
            issuer=issuer.listing,
            politician=politician,
        )
        return SimTrade(
            listing=listing,
            asset_label=asset_label,
            instrument=rng.choice((None, "Common Stock", "Call Option", "Class A")),
            asset_ticker=issuer.listing.issuer_ticker,
            filing_url=filing_url,
            filing_id=filing_id,
            size=size,
            size_range_low=shares[0] if shares else None,
            size_range_high=shares[1] if shares else None,
            has_capital_gains=rng.random() < 0.2,
            committees=tuple(rng.sample(_COMMITTEES, rng.choice((0, 0, 1, 2)))),
            labels=tuple(rng.sample(_LABELS, rng.choice((0, 0, 0, 1)))),
            filing_key=filing_key,
        )

    def _uuid(self, key: str) -> uuid.UUID:
        return uuid.UUID(int=random.Random(f"{self.seed}:{key}").getrandbits(128), version=4)

    def _pick_politician(self) -> ListingPolitician:
        rng = self._rng
        if self.politicians and (len(self.politicians) >= 200 or rng.random() < 0.9):
            return self.politicians[rng.choice(self._politician_ids)]
        chamber = "senate" if rng.random() < 0.15 else "house"
        while True:
            politician_id = f"{rng.choice('ABCDEFGHJKLMNPRSTW')}{rng.randint(0, 1299):06d}"
            if politician_id not in self.politicians:
                break
        first = rng.choice(_FIRST)
        politician = ListingPolitician(
            politician_id=politician_id,
            state_id=rng.choice(_STATES),
            chamber=chamber,
            dob=f"{rng.randint(1940, 1990)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            first_name=first,
            last_name=rng.choice(_LAST),
            nickname=first[:2] + "y" if rng.random() < 0.1 else None,
            gender=rng.choice(("male", "female")),
            party=rng.choice(("democrat", "republican", "republican", "democrat", "other")),
        )
        self.politicians[politician_id] = politician
        self._politician_ids.append(politician_id)
        return politician

    def _pick_issuer(self) -> SimIssuer:
        rng = self._rng
        if self.issuers and rng.random() < 0.92:
            return self.issuers[rng.choice(self._issuer_ids)]
        issuer_id = self._next_issuer
        self._next_issuer += rng.randint(1, 40)
        name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_SUFFIX)}"
        letters = "".join(
            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(2, 4))
        )
        roll = rng.random()
        if roll < 0.12:
            ticker: str | None = None
        elif roll < 0.15:
            ticker = f"${letters}"  # a $ ticker: escaped as $$ in the page
        elif roll < 0.18:
            ticker = f"{letters}/B:US"
        else:
            ticker = f"{letters}:US"
        listing = Issuer(
            issuer_id=issuer_id,
            state_id=rng.choice((*_STATES, None)),
            c2iq=None if rng.random() < 0.2 else f"{letters}VU1C{rng.randint(0, 9)}",
            country=rng.choice(("us", "us", "us", "gb", None)),
            issuer_name=name,
            issuer_ticker=ticker,
            sector=rng.choice((*_SECTORS, None)),
        )
        performance = None if ticker is None or rng.random() < 0.15 else self._performance()
        if performance is not None:
            listing, performance = self._maybe_new_listing(listing, performance)
        issuer = SimIssuer(listing=listing, performance=performance)
        self.issuers[issuer_id] = issuer
        self._issuer_ids.append(issuer_id)
        return issuer

    def _maybe_new_listing(
        self, listing: Issuer, performance: IssuerPerformance
    ) -> tuple[Issuer, IssuerPerformance]:
        """One issuer in six is a new listing, as the real site shows one: no trailing365
        figures (null), a short price history, and often no ticker yet. Drawn from the issuer's
        own stream, so the rest of the dataset stays as the seed made it."""
        rng = random.Random(f"{self.seed}:new-listing:{listing.issuer_id}")
        if rng.random() >= 1 / 6:
            return listing, performance
        if rng.random() < 0.5:
            listing = dataclasses.replace(listing, issuer_ticker=None)
        numbers = tuple(
            None if name.startswith("trailing365") else number
            for name, number in zip(PERFORMANCE_FIELDS, performance.numbers, strict=True)
        )
        days = rng.choice((3, 12, 60, 200))
        return listing, dataclasses.replace(
            performance, numbers=numbers, eod_prices=performance.eod_prices[:days]
        )

    def _performance(self) -> IssuerPerformance:
        rng = self._rng
        price = round(rng.uniform(2, 800), 2)
        days = rng.choice((0, 30, 90, 250, 365))
        prices: list[tuple[str, float]] = []
        day = dt.date(2026, 10, 31)
        level = price
        for _ in range(days):  # newest first, as the site lists them
            prices.append((day.isoformat(), round(level, 4)))
            level = max(0.01, level * (1 + rng.gauss(0, 0.02)))
            day -= dt.timedelta(days=1)
        numbers: list[float] = []
        for name in PERFORMANCE_FIELDS:
            if name.endswith("Change"):
                numbers.append(round(rng.uniform(-0.3, 0.4), 6))
            else:
                numbers.append(round(price * rng.uniform(0.7, 1.3), 4))
        return IssuerPerformance(
            mcap=rng.randint(10**7, 3 * 10**12),
            numbers=tuple(numbers),
            eod_prices=tuple(prices),
        )


#: Committees that no longer sit: their listings are legitimately empty.
_DEFUNCT_COMMITTEES = frozenset({"hscn", "hsvc", "hsmh", "hsig"})


def _roster_only_politicians(seed: int, count: int = 12) -> list[ListingPolitician]:
    """Politicians who sit on committees but never traded (ids start with V: the trading
    politicians' ids never do)."""
    rng = random.Random(f"{seed}:roster-only")
    made = []
    for number in range(count):
        first = rng.choice(_FIRST)
        made.append(
            ListingPolitician(
                politician_id=f"V{number + 1:06d}",
                state_id=rng.choice(_STATES),
                chamber="senate" if rng.random() < 0.3 else "house",
                dob=None,
                first_name=first,
                last_name=rng.choice(_LAST),
                nickname=None,
                gender=None,
                party=rng.choice(("democrat", "republican", "other")),
            )
        )
    return made


def make_dataset(seed: int = 1, trades: int = 5_000) -> Dataset:
    """A dataset of `trades` trades with their issuers and politicians, the same for a seed."""
    dataset = Dataset(seed=seed)
    dataset._rng = random.Random(seed)
    dataset._grow_back(trades)
    return dataset


def _odd_gap(tx_id: int, gap: int) -> int:
    """Real gaps run from 0 to hundreds of days, and a filing's data-entry error can make one
    negative (traded after published) or thousands of days long: the site shows them as given.
    About one trade in 11 gets such a gap, chosen by its id so the random draws stay as they
    were (seeded datasets keep their trades)."""
    odd = tx_id % 43
    if odd == 0:
        return 0
    if odd in (1, 2):
        return -odd - 1  # -2 or -3 days
    if odd == 3:
        return gap + 1000  # "1,0xx days"
    return gap
