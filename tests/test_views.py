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
