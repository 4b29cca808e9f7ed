"""The views of the copy: made by a writer only when they are not this version's, and never
needed by a reader (`list` brings its own)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from trio_enrich import Store
from trio_enrich.cli.reading import run_light
from trio_enrich.storage.views import VIEWS, VIEWS_SIGNATURE

from .helpers import database_with_listing


def _schema_version(db: Path) -> int:
    connection = sqlite3.connect(db)
    try:
        return int(connection.execute("PRAGMA schema_version").fetchone()[0])
    finally:
        connection.close()


def _views(db: Path) -> list[str]:
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'view'")
        return sorted(str(row[0]) for row in rows)
    finally:
        connection.close()


def test_a_writer_makes_the_views_once_and_again_only_when_they_change(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    Store.open(db, create=True).close()
    assert _views(db) == sorted(view.name for view in VIEWS)
    before = _schema_version(db)
    Store.open(db).close()
    assert _schema_version(db) == before  # nothing written again (a full disk stays calm)
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("UPDATE trio_enrich_meta SET value = 'older' WHERE key = 'views'")
        connection.execute("DROP VIEW trio_enrich_trades")
    connection.close()
    Store.open(db).close()
    assert _views(db) == sorted(view.name for view in VIEWS)
    connection = sqlite3.connect(db)
    signature = connection.execute(
        "SELECT value FROM trio_enrich_meta WHERE key = 'views'"
    ).fetchone()
    connection.close()
    assert signature == (VIEWS_SIGNATURE,)


def test_list_reads_a_copy_no_trio_enrich_has_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A capitoltraders.db as the earlier tool leaves it: none of our tables, no views."""
    from trio_enrich.sim import make_dataset

    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=35, trades=30))
    connection = sqlite3.connect(db)
    with connection:
        for view in reversed(VIEWS):
            connection.execute(f"DROP VIEW {view.name}")
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'trio_enrich_%'"
        ).fetchall()
        for (table,) in tables:
            connection.execute(f"DROP TABLE IF EXISTS {table}")  # (FTS5 drops its own)
    connection.close()
    assert run_light(["list", "trades", "--db", str(db), "--output", "json", "--limit", "0"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 30
    assert run_light(["list", "issuers", "--db", str(db), "--market-cap", "mega"]) == 0
    assert _views(db) == []  # and it wrote nothing


def test_a_trades_bracket_is_the_range_its_value_falls_in_at_every_edge(tmp_path: Path) -> None:
    """The trades view works a trade's bracket out by expression (not a join, for speed): at
    each range's ends, just past them and beyond every range, it must name the range the
    brackets' view pairs with the value, and its ends."""
    from trio_enrich.sim import make_dataset
    from trio_enrich.storage.views import BRACKETS

    edges = sorted({v for b in BRACKETS for v in (b.low, b.low - 1, b.low + 1, b.high or 0)}
                   | {-5, 10**12})  # fmt: skip
    dataset = make_dataset(seed=36, trades=len(edges))
    db = database_with_listing(tmp_path / "ct.db", dataset)
    connection = sqlite3.connect(db)
    with connection:
        for trade, value in zip(dataset.trades, edges, strict=True):
            connection.execute(
                "UPDATE trades SET value = ? WHERE tx_id = ?", (value, trade.listing.tx_id)
            )
    shown = connection.execute(
        "SELECT value, bracket, bracket_low, bracket_high FROM trio_enrich_trades ORDER BY value"
    ).fetchall()
    paired = connection.execute(
        "SELECT t.value, b.bracket, b.low, b.high FROM trades t LEFT JOIN trio_enrich_brackets b"
        " ON t.value >= b.low AND (b.high IS NULL OR t.value <= b.high) ORDER BY t.value"
    ).fetchall()
    connection.close()
    assert shown == paired
    assert (10**12, "over-50m", 50_000_001, None) in shown  # no upper end
    assert (-5, None, None, None) in shown  # below every range
    assert {row[1] for row in shown} >= {b.name for b in BRACKETS}
