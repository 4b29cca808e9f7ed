"""Parquet files through pyarrow, the one module that knows it: an optional extra
(``pip install 'trio-enrich[parquet]'``); `export` writes Parquet only where it is installed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .formats import Row

__all__ = ["available", "write_parquet"]


def available() -> bool:
    """Whether pyarrow is installed (the `parquet` extra)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_parquet(path: Path, columns: Sequence[str], batches: Iterable[list[Row]]) -> None:
    """`batches` of rows (typed: lists as lists) as one Parquet file of `columns`, each
    column's type inferred from its values (zstd-compressed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [row for batch in batches for row in batch]
    arrays = {}
    for column in columns:
        values = [row[column] for row in rows]
        try:
            arrays[column] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # SQLite lets a column hold text beside numbers (a user's database may): such a
            # column is written as text, each value as it reads.
            arrays[column] = pa.array([None if v is None else str(v) for v in values])
    pq.write_table(pa.table(arrays), path, compression="zstd")
