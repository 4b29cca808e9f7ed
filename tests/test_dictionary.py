"""The data dictionary: every column of the copy described, and docs/DATA.md made from it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio_enrich
from trio_enrich import EnrichOptions
from trio_enrich.read.dictionary import TABLES, markdown
from trio_enrich.sim import Faults, make_dataset, open_simulator

DATA_MD = Path(__file__).parent.parent / "docs" / "DATA.md"


def _columns(db: Path) -> dict[str, list[str]]:
    """Every table's and view's columns, SQLite's own tables aside."""
    connection = sqlite3.connect(db)
    try:
        names = [
            str(row[0])
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'trio_enrich_search_%' ORDER BY name"
            )
        ]
        return {
            name: [str(row[1]) for row in connection.execute(f"PRAGMA table_info({name})")]
            for name in names
        }
    finally:
        connection.close()


async def test_every_column_of_a_copy_made_by_update_is_described(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    async with open_simulator(
        make_dataset(seed=34, trades=24), Faults(latency_ms=1), seed=34
    ) as sim:
        await trio_enrich.update(db, EnrichOptions(base_url=sim.base_url, delay=0))
    described = {table.name: [column.name for column in table.columns] for table in TABLES}
    assert _columns(db) == described  # the same tables and views, columns in their order
    for table in TABLES:
        assert table.meaning
        for column in table.columns:
            assert column.meaning, f"{table.name}.{column.name}"


def test_docs_data_md_is_made_from_the_dictionary() -> None:
    assert DATA_MD.read_text() == markdown(), (
        "docs/DATA.md is stale: python -m trio_enrich.read.dictionary > docs/DATA.md"
    )
    for table in TABLES:
        assert f"## `{table.name}`" in DATA_MD.read_text()
