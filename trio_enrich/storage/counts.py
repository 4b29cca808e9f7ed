"""The reads behind `Store.status`: what a database holds, counted (SQL, sqlite3).

Plain functions of a connection; the store says which of our tables the file has (a database
an earlier trio-enrich made, opened read-only, may lack some).
"""

from __future__ import annotations

import sqlite3

from .._model import CommitteesStatus, EntityStatus, FailureKind

__all__ = ["committees_counts", "entity_counts", "not_shown", "partial_performance"]

# Enriched trades whose stored value only stands for "not shown on the page" (see not_shown).
_NOT_SHOWN_SQL = """
    SELECT COALESCE(SUM(a.asset_type = 'unknown'), 0), COALESCE(SUM(t.filing_id = 0), 0),
           COALESCE(SUM(t.filing_url = ''), 0),
           COALESCE(SUM(t.has_capital_gains = 0 AND t.tx_id NOT IN (
               SELECT tx_id FROM trio_enrich_capital_gains_shown)), 0)
    FROM trades t JOIN assets a USING (asset_id) WHERE t.enriched_at IS NOT NULL"""
_NOT_SHOWN_SQL_V1 = _NOT_SHOWN_SQL.replace(
    """t.tx_id NOT IN (
               SELECT tx_id FROM trio_enrich_capital_gains_shown)""",
    "1",
)


def entity_counts(
    db: sqlite3.Connection, entity: str, table: str, key: str, *, parked_sql: str | None
) -> EntityStatus:
    """Totals of `table` (trades or issuers): enriched, pending, not found, parked, failed by
    kind. `parked_sql` is the condition on a failure row that keeps its item out of runs
    (None: the database has no failure table)."""
    total, enriched, last = db.execute(
        f"SELECT COUNT(*), COUNT(enriched_at), MAX(enriched_at) FROM {table}"
    ).fetchone()
    by_kind: dict[str, int] = {}
    parked = 0
    if parked_sql is not None:
        for kind, count, kept in db.execute(
            f"SELECT f.kind, COUNT(*), {parked_sql} AND f.kind <> 'not_found'"
            f" FROM trio_enrich_failures f JOIN {table} t"
            f" ON t.{key} = f.item_id WHERE f.entity = ? AND t.enriched_at IS NULL"
            " GROUP BY f.kind, 3 ORDER BY f.kind",
            (entity,),
        ):
            if kept:
                parked += int(count)
            else:
                by_kind[str(kind)] = by_kind.get(str(kind), 0) + int(count)
    not_found = by_kind.pop(FailureKind.NOT_FOUND.value, 0)
    oldest = db.execute(f"SELECT MIN(enriched_at) FROM {table}").fetchone()[0]
    return {
        "total": total,
        "enriched": enriched,
        "pending": total - enriched - not_found - parked,
        "not_found": not_found,
        "parked": parked,
        "failed": sum(by_kind.values()),
        "failed_by_kind": by_kind,
        "last_enriched_at": last,
        "oldest_enriched_at": oldest,
    }


def partial_performance(db: sqlite3.Connection) -> int:
    """Enriched issuers whose page showed only part of their performance (their figures are
    in trio_enrich_partial_performance, with NULL for what was not shown)."""
    row = db.execute(
        "SELECT COUNT(*) FROM trio_enrich_partial_performance p JOIN issuers i"
        " USING (issuer_id) WHERE i.enriched_at IS NOT NULL"
    ).fetchone()
    return int(row[0])


def committees_counts(db: sqlite3.Connection, read_at: str | None) -> CommitteesStatus:
    memberships, committees, politicians = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT committee), COUNT(DISTINCT politician_id)"
        " FROM politician_committees"
    ).fetchone()
    return {
        "memberships": memberships,
        "committees": committees,
        "politicians": politicians,
        "read_at": read_at,
    }


def not_shown(db: sqlite3.Connection, *, gains_table: bool) -> dict[str, int]:
    """Enriched trades whose stored value only stands for "the site did not show it".

    The inherited schema has NOT NULL columns where the site may say nothing, so these values
    double as "unknown": asset_type 'unknown', filing_id 0, filing_url '', and a
    has_capital_gains of 0 for a trade not in trio_enrich_capital_gains_shown (a database our
    version 1 made lacks that table: nothing was shown there). A 1 is always a stored "yes":
    the earlier tool wrote it from a page that said so, and our table never lists its trades.
    """
    row = db.execute(_NOT_SHOWN_SQL if gains_table else _NOT_SHOWN_SQL_V1).fetchone()
    keys = ("asset_type", "filing_id", "filing_url", "has_capital_gains")
    return dict(zip(keys, (int(value) for value in row), strict=True))
