"""`export`: the copy as files people and tools read, with a manifest that vouches for them.

Each table of data and each view people read is written as CSV and as JSON Lines (and as
Parquet where the `parquet` extra is installed), from one
read transaction (a consistent snapshot, even beside a running `update`); `manifest.json`
names the tool and schema versions, the last complete sync, and for every file its rows,
size and sha256, and describes every column (from the data dictionary). The files are
written in a folder beside the target and moved into place at the end: an export cut short
leaves no half-written folder where the target is.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .._defaults import VERSION
from .._errors import UsageError
from . import parquet
from .dictionary import TABLES
from .formats import Row, rows_of
from .queries import Connection, meta_value, open_copy, snapshot, table_rows, tables_of

__all__ = ["EXPORTED", "export_copy"]

#: What is exported: the data tables (the earlier tool's and ours) and the views people read.
#: The runs' own bookkeeping (meta, failures, sources, the ledger) is not data.
EXPORTED = (
    "trades", "assets", "issuers", "politicians", "trade_committees", "trade_labels",
    "politician_committees", "politician_stats", "issuer_stats", "issuer_performance",
    "issuer_eod_prices", "trio_enrich_partial_performance", "trio_enrich_capital_gains_shown",
    "trio_enrich_first_seen", "trio_enrich_memberships", "trio_enrich_trades",
    "trio_enrich_politicians", "trio_enrich_issuers", "trio_enrich_committees",
)  # fmt: skip

_VIEWS = frozenset(
    {"trio_enrich_trades", "trio_enrich_politicians", "trio_enrich_issuers",
     "trio_enrich_committees"}
)  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return "" if value is None else value


def _write_table(
    db: Connection, name: str, tables: set[str], folder: Path
) -> tuple[list[str], int]:
    """`name` as name.csv and name.jsonl in `folder`; its columns and rows."""
    columns, batches = table_rows(db, name, tables)
    rows = 0
    kept: list[list[Row]] | None = [] if parquet.available() else None
    with (
        (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as csv_file,
        (folder / f"{name}.jsonl").open("w", encoding="utf-8") as jsonl_file,
    ):
        writer = csv.writer(csv_file, lineterminator="\n")
        writer.writerow(columns)
        for batch in batches:
            typed = rows_of(columns, batch)
            writer.writerows([_cell(row[column]) for column in columns] for row in typed)
            jsonl_file.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in typed)
            rows += len(batch)
            if kept is not None:
                kept.append(typed)
    if kept is not None:
        parquet.write_parquet(folder / f"{name}.parquet", columns, kept)
    return columns, rows


def export_copy(db_path: Path, target: Path, *, force: bool = False) -> dict[str, object]:
    """Export the copy at `db_path` into the folder `target`; the manifest written."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file, not a folder to export into")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(
            f"{target} is not empty; pass --force to replace what is in it, or name a new folder"
        )
    parent = target.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"cannot export into {target}: folder {parent} does not exist")
    db = open_copy(db_path)
    try:
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    except OSError as error:
        db.close()
        raise UsageError(f"cannot write in {parent}: {error.strerror}") from error
    try:
        manifest = _write_all(db, aside)
        _move_into_place(aside, target)
    except OSError as error:  # a full disk, say
        raise UsageError(
            f"cannot write the export beside {target}: {error.strerror or error}; "
            f"{target} is as it was"
        ) from error
    finally:
        db.close()
        shutil.rmtree(aside, ignore_errors=True)
    return manifest


def _write_all(db: Connection, folder: Path) -> dict[str, object]:
    tables = tables_of(db)
    described = {table.name: table for table in TABLES}
    files: list[dict[str, object]] = []
    descriptions: dict[str, object] = {}
    with snapshot(db):  # every file from the same copy
        last_sync = meta_value(db, "ingest_meta", "last_sync_at")
        schema = meta_value(db, "trio_enrich_meta", "schema_version")
        for name in EXPORTED:
            if name not in tables and name not in _VIEWS:
                continue  # (a copy no trio-enrich has written lacks our tables)
            columns, rows = _write_table(db, name, tables, folder)
            for suffix in ("csv", "jsonl", "parquet"):
                if not (folder / f"{name}.{suffix}").exists():
                    continue  # (Parquet: only with the extra installed)
                path = folder / f"{name}.{suffix}"
                files.append({"file": path.name, "table": name, "format": suffix,
                              "rows": rows, "bytes": path.stat().st_size,
                              "sha256": _sha256(path)})  # fmt: skip
            table = described.get(name)
            by_name = {column.name: column for column in table.columns} if table else {}
            descriptions[name] = {
                "meaning": table.meaning if table else "",
                "columns": {
                    column: {
                        "meaning": by_name[column].meaning if column in by_name else "",
                        "unit": by_name[column].unit if column in by_name else "",
                        "source": by_name[column].source if column in by_name else "",
                        "not_shown": by_name[column].absent if column in by_name else "",
                    }
                    for column in columns
                },
            }
    manifest: dict[str, object] = {
        "tool": "trio-enrich",
        "version": VERSION,
        "schema_version": None if schema is None else int(schema),
        "source": "https://www.capitoltrades.com",
        "last_complete_sync": last_sync,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": files,
        "tables": descriptions,
        "notes": (
            "value is the midpoint of the disclosed dollar range; lists (labels, committees) "
            "are arrays in JSON Lines and joined by ';' in CSV; an empty CSV cell is a value "
            "the copy does not have. Every column: docs/DATA.md of trio-enrich."
        ),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def _move_into_place(aside: Path, target: Path) -> None:
    """`aside` becomes `target`: renamed (on the same file system: no half-written target);
    a target that exists is moved away first and removed once the new one is in place."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    try:
        aside.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)  # put it back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
