"""`export`: every file the manifest names verifies and reads back as its table; a folder with
something in it is refused without --force; an export cut short leaves nothing behind."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from trio_enrich import UsageError
from trio_enrich.cli.reading import run_light
from trio_enrich.read import export as export_module
from trio_enrich.read import parquet
from trio_enrich.storage.schema import SCHEMA_VERSION

from .helpers import copy_made_by_update


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_made_by_update(tmp_path_factory.mktemp("export") / "ct.db", 38, 150)


def _table(db: Path, name: str) -> tuple[list[str], list[tuple[object, ...]]]:
    connection = sqlite3.connect(db)
    try:
        cursor = connection.execute(f"SELECT * FROM {name}")
        return [c[0] for c in cursor.description], cursor.fetchall()
    finally:
        connection.close()


def _text(value: object) -> str:
    return "" if value is None else str(value)


def test_every_file_verifies_and_reads_back_as_its_table(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"
    assert run_light(["export", str(target), "--db", str(copy), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest == json.loads((target / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["last_complete_sync"]
    names = {entry["file"] for entry in manifest["files"]}
    assert names | {"manifest.json"} == {path.name for path in target.iterdir()}
    for entry in manifest["files"]:
        data = (target / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert len(data) == entry["bytes"]
        columns, rows = _table(copy, entry["table"])
        assert entry["rows"] == len(rows), entry["file"]
        described = manifest["tables"][entry["table"]]["columns"]
        assert list(described) == columns
        assert all(column["meaning"] for column in described.values()), entry["table"]
    # a table read back: CSV as text, JSON Lines as values
    for name in ("trades", "issuer_performance", "trio_enrich_first_seen"):
        columns, rows = _table(copy, name)
        with (target / f"{name}.csv").open(newline="") as handle:
            read = list(csv.reader(handle))
        assert read[0] == columns
        assert sorted(read[1:]) == sorted([_text(v) for v in row] for row in rows)
        lines = (target / f"{name}.jsonl").read_text().splitlines()
        assert sorted(json.dumps(json.loads(line)) for line in lines) == sorted(
            json.dumps(dict(zip(columns, row, strict=True))) for row in rows
        )
    # the flat trade view, its lists as arrays
    trades = [json.loads(line) for line in (target / "trio_enrich_trades.jsonl").open()]
    assert len(trades) == 150
    assert any(trade["labels"] for trade in trades)
    assert all(isinstance(trade["labels"], list) for trade in trades)


def test_a_folder_with_something_in_it_is_replaced_only_with_force(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert run_light(["export", str(target), "--db", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err == (f"trio-enrich: error: {target} is not empty; pass --force to replace what "
                   "is in it, or name a new folder\n")  # fmt: skip
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert run_light(["export", str(target), "--db", str(copy), "--force"]) == 0
    assert "trades.csv" in {p.name for p in target.iterdir()}
    assert not (target / "notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left aside
    (tmp_path / "file").write_text("x")
    assert run_light(["export", str(tmp_path / "file"), "--db", str(copy)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_an_export_cut_short_leaves_nothing_behind(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real = export_module._write_table

    def fail_on_the_third(*args: object, **kwargs: object) -> tuple[list[str], int]:
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        written.append("x")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(export_module, "_write_table", fail_on_the_third)
    with pytest.raises(UsageError) as said:
        export_module.export_copy(copy, tmp_path / "out")
    assert str(said.value) == (
        f"cannot write the export beside {tmp_path / 'out'}: No space left on device; "
        f"{tmp_path / 'out'} is as it was"
    )
    assert list(tmp_path.iterdir()) == []


def test_parquet_files_hold_the_rows_of_json_lines_where_the_extra_is_installed(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    manifest = export_module.export_copy(copy, tmp_path / "out")
    files = manifest["files"]
    assert isinstance(files, list)
    parquet_files = [f for f in files if f["format"] == "parquet"]
    assert {f["table"] for f in parquet_files} == {f["table"] for f in files}
    for entry in parquet_files:
        path = tmp_path / "out" / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        table = pq.read_table(path)
        jsonl = tmp_path / "out" / f"{entry['table']}.jsonl"
        expected = [json.loads(line) for line in jsonl.read_text().splitlines()]
        assert table.num_rows == entry["rows"] == len(expected)
        assert table.column_names == list(manifest["tables"][entry["table"]]["columns"])  # type: ignore[index]
        assert table.to_pylist() == expected, entry["table"]
    # without the extra: CSV and JSON Lines only
    monkeypatch.setattr(parquet, "available", lambda: False)
    without = export_module.export_copy(copy, tmp_path / "plain")
    assert isinstance(without["files"], list)
    assert {f["format"] for f in without["files"]} == {"csv", "jsonl"}


def test_a_column_of_text_beside_numbers_is_written_to_parquet_as_text(
    copy: Path, tmp_path: Path
) -> None:
    """SQLite keeps text it cannot read as a number in a numeric column (a user's database
    may: a price written "N/A")."""
    import pyarrow.parquet as pq

    db = tmp_path / "mixed.db"
    shutil.copy(copy, db)
    connection = sqlite3.connect(db)
    with connection:
        (first,) = connection.execute("SELECT MIN(tx_id) FROM trades WHERE price > 0").fetchone()
        connection.execute("UPDATE trades SET price = 'N/A' WHERE tx_id = ?", (first,))
        price = connection.execute(
            "SELECT price FROM trades WHERE price > 0 AND tx_id != ? LIMIT 1", (first,)
        ).fetchone()[0]
    connection.close()
    export_module.export_copy(db, tmp_path / "out")
    prices = pq.read_table(tmp_path / "out" / "trades.parquet").column("price").to_pylist()
    assert {"N/A", str(price)} <= set(prices)
