"""The SQL that writes listing rows, enrichment results and failures, one statement group per
item. Called by :class:`~trio_enrich.storage.store.Store` inside its transactions; never commits.

The write rules (shared with the earlier Rust tool, so both can keep using one file): a new
non-null value wins and a null never erases; ``asset_type`` is only upgraded from
``'unknown'``; ``filing_id`` is only written when > 0, ``filing_url`` only when non-empty;
committees and labels are replaced only by a non-empty list; ``enriched_at`` is set in the same
transaction as the item's data. An issuer's performance is the latest page's, whole: in
``issuer_performance`` when every figure was shown, else in ``trio_enrich_partial_performance``
(the other table's row removed, as the Rust tool removes an incomplete one). End-of-day prices
are kept by date: a page shows the last 20 trading days, and the days it no longer shows stay.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._model import (
    PERFORMANCE_FIELDS,
    Issuer,
    IssuerDetail,
    ItemFailure,
    ListingTrade,
    PageRef,
    PoliticianCard,
    TradeDetail,
)

__all__ = [
    "Change",
    "MembershipWrite",
    "ReparseWrite",
    "recompute_stats",
    "record_failures",
    "record_source",
    "replace_memberships",
    "rewrite_detail",
    "set_meta",
    "set_our_meta",
    "snapshot",
    "upsert_listing_trade",
    "write_issuer_detail",
    "write_trade_detail",
]

Entity = Literal["trade", "issuer"]


@dataclass(frozen=True, slots=True)
class Change:
    """What a `reparse` write changed of one item: (field, before, after) for each field."""

    item_id: int
    fields: tuple[tuple[str, object, object], ...]


@dataclass(slots=True)
class ReparseWrite:
    """What writing a batch read again from the archive did (or, in a dry run, would do)."""

    newly_enriched: int = 0  # items not enriched before
    changed: list[Change] = field(default_factory=list)  # enriched items whose values moved
    unchanged: int = 0
    missing_rows: int = 0  # pages of items not in the database


def recompute_stats(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM politician_stats")
    db.execute(
        """INSERT INTO politician_stats (politician_id, date_last_traded, count_trades,
               count_issuers, volume)
           SELECT politician_id, MAX(tx_date), COUNT(*), COUNT(DISTINCT issuer_id),
                  SUM(value)
           FROM trades GROUP BY politician_id"""
    )
    db.execute("DELETE FROM issuer_stats")
    db.execute(
        """INSERT INTO issuer_stats (issuer_id, count_trades, count_politicians, volume,
               date_last_traded)
           SELECT issuer_id, COUNT(*), COUNT(DISTINCT politician_id), SUM(value),
                  MAX(tx_date)
           FROM trades GROUP BY issuer_id"""
    )


def set_our_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO trio_enrich_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO ingest_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def upsert_listing_trade(db: sqlite3.Connection, trade: ListingTrade) -> None:
    """A listing row: its politician, issuer and asset, then the trade (enriched values kept)."""
    _upsert_politician(db, trade)
    _upsert_issuer(db, trade.issuer, None)
    # As capitoltraders does: one asset per trade, asset_id = tx_id, type unknown until enriched.
    db.execute(
        "INSERT INTO assets (asset_id, asset_type) VALUES (?, 'unknown') "
        "ON CONFLICT(asset_id) DO NOTHING",
        (trade.tx_id,),
    )
    _upsert_trade_row(db, trade)


def _upsert_politician(db: sqlite3.Connection, trade: ListingTrade) -> None:
    politician = trade.politician
    db.execute(
        """INSERT INTO politicians (politician_id, state_id, party, first_name, last_name,
               nickname, dob, gender, chamber)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(politician_id) DO UPDATE SET
               state_id = CASE WHEN excluded.state_id <> ''
                               THEN excluded.state_id ELSE state_id END,
               party = CASE WHEN excluded.party <> '' THEN excluded.party ELSE party END,
               first_name = CASE WHEN excluded.first_name <> ''
                                 THEN excluded.first_name ELSE first_name END,
               last_name = CASE WHEN excluded.last_name <> ''
                                THEN excluded.last_name ELSE last_name END,
               nickname = COALESCE(excluded.nickname, nickname),
               dob = CASE WHEN excluded.dob <> '' THEN excluded.dob ELSE dob END,
               gender = CASE WHEN excluded.gender <> '' THEN excluded.gender ELSE gender END,
               chamber = CASE WHEN excluded.chamber <> '' THEN excluded.chamber ELSE chamber END""",
        (
            politician.politician_id,
            politician.state_id or "",
            politician.party or "",
            politician.first_name or "",
            politician.last_name or "",
            politician.nickname,
            politician.dob or "",
            politician.gender or "",
            politician.chamber or trade.chamber,
        ),
    )


def _upsert_trade_row(db: sqlite3.Connection, trade: ListingTrade) -> None:
    issuer = trade.issuer
    db.execute(
        """INSERT INTO trades (tx_id, politician_id, asset_id, issuer_id, pub_date, filing_date,
               tx_date, tx_type, tx_type_extended, has_capital_gains, owner, chamber, price,
               value, filing_id, filing_url, reporting_gap, comment)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 0, '', ?, ?)
           ON CONFLICT(tx_id) DO UPDATE SET
               politician_id = excluded.politician_id,
               issuer_id = excluded.issuer_id,
               pub_date = excluded.pub_date,
               tx_date = excluded.tx_date,
               tx_type = excluded.tx_type,
               tx_type_extended = COALESCE(excluded.tx_type_extended, tx_type_extended),
               owner = excluded.owner,
               chamber = excluded.chamber,
               price = CASE WHEN enriched_at IS NULL THEN COALESCE(excluded.price, price)
                            ELSE COALESCE(price, excluded.price) END,
               value = excluded.value,
               reporting_gap = excluded.reporting_gap,
               comment = COALESCE(excluded.comment, comment)""",
        (
            trade.tx_id,
            trade.politician.politician_id,
            trade.tx_id,
            issuer.issuer_id,
            trade.pub_date,
            trade.pub_date[:10],
            trade.tx_date,
            trade.tx_type,
            trade.tx_type_extended,
            trade.owner or "",
            trade.chamber,
            trade.price,
            trade.value,
            trade.reporting_gap if trade.reporting_gap is not None else 0,
            trade.comment,
        ),
    )


# Two statements (the trade, its asset) and the lists, each with its never-erase rule: one
# function so that a detail is written whole or not at all, in the caller's transaction.
def write_trade_detail(db: sqlite3.Connection, detail: TradeDetail, stamp: str) -> bool:
    # Long: one UPDATE statement, column by column with the write rules of each.
    cursor = db.execute(
        """UPDATE trades SET
               price = CASE
                   WHEN :price IS NULL THEN price
                   -- A rounded price that agrees with the stored one keeps its precision.
                   WHEN price IS NOT NULL AND :tolerance IS NOT NULL
                        AND abs(price - :price) <= :tolerance THEN price
                   ELSE :price END,
               size = COALESCE(:size, size),
               size_range_low = COALESCE(:size_range_low, size_range_low),
               size_range_high = COALESCE(:size_range_high, size_range_high),
               filing_id = CASE WHEN :filing_id > 0 THEN :filing_id ELSE filing_id END,
               filing_url = CASE WHEN :filing_url <> '' THEN :filing_url ELSE filing_url END,
               has_capital_gains = COALESCE(:has_capital_gains, has_capital_gains),
               reporting_gap = COALESCE(:reporting_gap, reporting_gap),
               enriched_at = :stamp
           WHERE tx_id = :tx_id""",
        {
            "tx_id": detail.tx_id,
            "price": detail.price,
            "tolerance": (
                None if detail.price_decimals is None else 0.5 * 10.0**-detail.price_decimals + 1e-9
            ),
            "size": detail.size,
            "size_range_low": detail.size_range_low,
            "size_range_high": detail.size_range_high,
            "filing_id": detail.filing_id,
            "filing_url": detail.filing_url,
            "has_capital_gains": (
                None if detail.has_capital_gains is None else int(detail.has_capital_gains)
            ),
            "reporting_gap": detail.reporting_gap,
            "stamp": stamp,
        },
    )
    if cursor.rowcount == 0:
        return False
    db.execute(
        """UPDATE assets SET
               asset_type = CASE WHEN asset_type = 'unknown' AND :asset_type IS NOT NULL
                                 THEN :asset_type ELSE asset_type END,
               asset_ticker = COALESCE(:asset_ticker, asset_ticker),
               instrument = COALESCE(:instrument, instrument)
           WHERE asset_id = (SELECT asset_id FROM trades WHERE tx_id = :tx_id)""",
        {
            "tx_id": detail.tx_id,
            "asset_type": detail.asset_type,
            "asset_ticker": detail.asset_ticker,
            "instrument": detail.instrument,
        },
    )
    replace_list(db, "trade_committees", "committee", detail.tx_id, detail.committees)
    replace_list(db, "trade_labels", "label", detail.tx_id, detail.labels)
    if detail.has_capital_gains is not None:
        db.execute(
            "INSERT OR IGNORE INTO trio_enrich_capital_gains_shown (tx_id) VALUES (?)",
            (detail.tx_id,),
        )
    db.execute(
        "DELETE FROM trio_enrich_failures WHERE entity = 'trade' AND item_id = ?",
        (detail.tx_id,),
    )
    return True


def replace_list(
    db: sqlite3.Connection, table: str, column: str, tx_id: int, values: tuple[str, ...]
) -> None:
    if not values:
        return  # an empty list never erases what an earlier run stored
    db.execute(f"DELETE FROM {table} WHERE tx_id = ?", (tx_id,))
    db.executemany(
        f"INSERT OR IGNORE INTO {table} (tx_id, {column}) VALUES (?, ?)",
        [(tx_id, value) for value in values],
    )


def _upsert_issuer(db: sqlite3.Connection, issuer: Issuer, enriched_at: str | None) -> None:
    """The issuer row from a listing (no `enriched_at`: an enriched one stays so) or from its
    detail page (with the time it was enriched)."""
    db.execute(
        """INSERT INTO issuers (issuer_id, state_id, c2iq, country, issuer_name, issuer_ticker,
               sector, enriched_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(issuer_id) DO UPDATE SET
               state_id = COALESCE(excluded.state_id, state_id),
               c2iq = COALESCE(excluded.c2iq, c2iq),
               country = COALESCE(excluded.country, country),
               issuer_name = excluded.issuer_name,
               issuer_ticker = COALESCE(excluded.issuer_ticker, issuer_ticker),
               sector = COALESCE(excluded.sector, sector),
               enriched_at = COALESCE(excluded.enriched_at, enriched_at)""",
        (
            issuer.issuer_id,
            issuer.state_id,
            issuer.c2iq,
            issuer.country,
            issuer.issuer_name,
            issuer.issuer_ticker,
            issuer.sector,
            enriched_at,
        ),
    )


_PERFORMANCE_COLUMNS = tuple(name.replace("Change", "_change") for name in PERFORMANCE_FIELDS)
# complete -> (where the figures go, how the issuer's row leaves the other table)
_PERFORMANCE_TABLES = {
    True: (
        "issuer_performance",
        "DELETE FROM trio_enrich_partial_performance WHERE issuer_id = ?",
    ),
    False: (
        "trio_enrich_partial_performance",
        "DELETE FROM issuer_performance WHERE issuer_id = ?",
    ),
}


def write_issuer_detail(db: sqlite3.Connection, detail: IssuerDetail, stamp: str) -> None:
    _upsert_issuer(db, detail.issuer, stamp)
    stats = detail.stats
    if stats is not None and stats.date_last_traded:
        db.execute(
            """INSERT INTO issuer_stats (issuer_id, count_trades, count_politicians, volume,
                   date_last_traded) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(issuer_id) DO UPDATE SET
                   count_trades = excluded.count_trades,
                   count_politicians = excluded.count_politicians,
                   volume = excluded.volume,
                   date_last_traded = excluded.date_last_traded""",
            (
                detail.issuer_id,
                stats.count_trades,
                stats.count_politicians,
                stats.volume,
                stats.date_last_traded,
            ),
        )
    performance = detail.performance
    if performance is not None:  # a page without performance never erases stored performance
        # The figures go whole into one table, and the issuer's row leaves the other.
        table, leave_other = _PERFORMANCE_TABLES[performance.complete]
        columns = ", ".join(("issuer_id", "mcap", *_PERFORMANCE_COLUMNS))
        marks = ", ".join("?" * (2 + len(_PERFORMANCE_COLUMNS)))
        updates = ", ".join(f"{c} = excluded.{c}" for c in ("mcap", *_PERFORMANCE_COLUMNS))
        db.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT(issuer_id) DO UPDATE SET {updates}",
            (detail.issuer_id, performance.mcap, *performance.numbers),
        )
        db.execute(leave_other, (detail.issuer_id,))
        # History is kept: a date the page no longer shows stays as it was stored.
        db.executemany(
            "INSERT OR REPLACE INTO issuer_eod_prices (issuer_id, price_date, price) "
            "VALUES (?, ?, ?)",
            [(detail.issuer_id, day, price) for day, price in performance.eod_prices],
        )
    db.execute(
        "DELETE FROM trio_enrich_failures WHERE entity = 'issuer' AND item_id = ?",
        (detail.issuer_id,),
    )


def record_failures(
    db: sqlite3.Connection, entity: Entity, failures: Sequence[ItemFailure], stamp: str
) -> None:
    db.executemany(
        # Every expression of the update reads the row as it was: `runs` counts the runs in a
        # row that recorded this kind, `first_at` when the first of them did.
        """INSERT INTO trio_enrich_failures (entity, item_id, kind, message, attempts, last_at,
               runs, first_at)
           VALUES (?, ?, ?, ?, ?, ?, 1, ?)
           ON CONFLICT(entity, item_id) DO UPDATE SET
               kind = excluded.kind,
               message = excluded.message,
               attempts = attempts + excluded.attempts,
               last_at = excluded.last_at,
               runs = CASE WHEN kind = excluded.kind THEN runs + 1 ELSE 1 END,
               first_at = CASE WHEN kind = excluded.kind THEN COALESCE(first_at, excluded.first_at)
                               ELSE excluded.first_at END""",
        [
            (
                entity,
                failure.item_id,
                failure.kind.value,
                failure.message,
                failure.attempts,
                stamp,
                stamp,
            )
            for failure in failures
        ],
    )


@dataclass(frozen=True, slots=True)
class MembershipWrite:
    """What replacing the committee memberships changed."""

    memberships: int  # rows now in politician_committees
    committees: int  # committees with at least one member (status counts the same)
    added: int  # memberships that were not there before
    removed: int  # memberships that are gone
    politicians_added: int  # politicians stored from their cards (they had no trades)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.politicians_added)


def replace_memberships(
    db: sqlite3.Connection,
    rosters: Mapping[str, Sequence[PoliticianCard]],
    chambers: Mapping[str, str],
) -> MembershipWrite:
    """Make politician_committees exactly `rosters` (code -> member cards); a member absent
    from politicians is added from the card, so no membership is lost to the foreign key."""
    before = set(db.execute("SELECT politician_id, committee FROM politician_committees"))
    added_politicians = 0
    for code, cards in rosters.items():
        for card in cards:
            first, _, last = card.name.partition(" ")
            cursor = db.execute(
                """INSERT INTO politicians (politician_id, state_id, party, first_name,
                       last_name, full_name, dob, gender, chamber)
                   VALUES (?, ?, ?, ?, ?, ?, '', '', ?)
                   ON CONFLICT(politician_id) DO NOTHING""",
                (
                    card.politician_id,
                    card.state_id or "",
                    card.party_id or (card.party or "").lower(),
                    first,
                    last,
                    card.name,
                    chambers[code],
                ),
            )
            added_politicians += cursor.rowcount
    after = {(card.politician_id, code) for code, cards in rosters.items() for card in cards}
    db.execute("DELETE FROM politician_committees")
    db.executemany(
        "INSERT INTO politician_committees (politician_id, committee) VALUES (?, ?)",
        sorted(after),
    )
    return MembershipWrite(
        memberships=len(after),
        committees=len({code for _, code in after}),
        added=len(after - before),
        removed=len(before - after),
        politicians_added=added_politicians,
    )


def record_source(
    db: sqlite3.Connection, entity: Entity, item_id: int, page: PageRef | None
) -> None:
    """Where an item's values were just read from; None (a page not kept) forgets an older
    source, which no longer says where the stored values came from."""
    if page is None:
        db.execute(
            "DELETE FROM trio_enrich_sources WHERE entity = ? AND item_id = ?", (entity, item_id)
        )
        return
    db.execute(
        "INSERT OR REPLACE INTO trio_enrich_sources (entity, item_id, url, hash, fetched_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (entity, item_id, page.url, page.hash, page.fetched_at),
    )


# What an item's detail write can change, table by table: (name, query, one row or a list).
_SNAPSHOT_QUERIES: dict[Entity, tuple[tuple[str, str, bool], ...]] = {
    "trade": (
        ("trades", "SELECT * FROM trades WHERE tx_id = ?", True),
        ("assets", "SELECT * FROM assets WHERE asset_id = "
                   "(SELECT asset_id FROM trades WHERE tx_id = ?)", True),
        ("committees", "SELECT committee FROM trade_committees WHERE tx_id = ? "
                       "ORDER BY committee", False),
        ("labels", "SELECT label FROM trade_labels WHERE tx_id = ? ORDER BY label", False),
        ("capital_gains_shown", "SELECT tx_id FROM trio_enrich_capital_gains_shown "
                                "WHERE tx_id = ?", False),
    ),
    "issuer": (
        ("issuers", "SELECT * FROM issuers WHERE issuer_id = ?", True),
        ("issuer_stats", "SELECT * FROM issuer_stats WHERE issuer_id = ?", True),
        ("issuer_performance", "SELECT * FROM issuer_performance WHERE issuer_id = ?", True),
        ("partial_performance", "SELECT * FROM trio_enrich_partial_performance "
                                "WHERE issuer_id = ?", True),
        ("eod_prices", "SELECT price_date, price FROM issuer_eod_prices WHERE issuer_id = ? "
                       "ORDER BY price_date", False),
    ),
}  # fmt: skip


def snapshot(db: sqlite3.Connection, entity: Entity, item_id: int) -> dict[str, object]:
    """The values an item's detail write can change, by `table.column` (a list: by table),
    `enriched_at` left out: what `reparse` compares before and after it writes."""
    values: dict[str, object] = {}
    for name, query, one_row in _SNAPSHOT_QUERIES[entity]:
        cursor = db.execute(query, (item_id,))
        rows = cursor.fetchall()
        if one_row:
            columns = [column[0] for column in cursor.description]
            row = rows[0] if rows else (None,) * len(columns)
            for column, value in zip(columns, row, strict=True):
                values[f"{name}.{column}"] = value
        else:
            values[name] = tuple(row if len(row) > 1 else row[0] for row in rows)
    values.pop("trades.enriched_at", None)
    values.pop("issuers.enriched_at", None)
    return values


def rewrite_detail(
    db: sqlite3.Connection, entity: Entity, detail: TradeDetail | IssuerDetail, page: PageRef
) -> tuple[str, tuple[tuple[str, object, object], ...]]:
    """Write a detail read again from an archived page (`reparse`), stamped with the page's
    fetch time: "missing" when its trade has no row, "new" when the item was not enriched,
    else "known"; with the (field, before, after) that moved. An item that
    nothing moves is left exactly as it was (its savepoint rolled back): its enrichment time
    and source stay those of the fetch that stored it."""
    if isinstance(detail, TradeDetail):
        item_id, query = detail.tx_id, "SELECT enriched_at FROM trades WHERE tx_id = ?"
    else:
        item_id, query = detail.issuer_id, "SELECT enriched_at FROM issuers WHERE issuer_id = ?"
    row = db.execute(query, (item_id,)).fetchone()
    if row is None and entity == "trade":
        return "missing", ()
    before = snapshot(db, entity, item_id)
    db.execute("SAVEPOINT rewrite")
    if isinstance(detail, TradeDetail):
        write_trade_detail(db, detail, page.fetched_at)
    else:
        write_issuer_detail(db, detail, page.fetched_at)
    record_source(db, entity, item_id, page)
    after = snapshot(db, entity, item_id)
    moved = tuple((name, before.get(name), value) for name, value in after.items()
                  if before.get(name) != value)  # fmt: skip
    fresh = row is None or row[0] is None
    if not moved and not fresh:
        db.execute("ROLLBACK TO rewrite")
    db.execute("RELEASE rewrite")
    return ("new" if fresh else "known"), moved
