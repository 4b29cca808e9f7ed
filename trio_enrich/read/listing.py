"""`list`: the rows a set of filters chooses, from the copy opened read-only, in a format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..storage.views import VIEWS
from .formats import render, rows_of
from .queries import (
    IssuerFilters,
    PoliticianFilters,
    Query,
    TradeFilters,
    issuers_query,
    open_copy,
    politicians_query,
    run,
    tables_of,
    trades_query,
)

__all__ = ["Filters", "list_rows"]

Filters = TradeFilters | PoliticianFilters | IssuerFilters


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def list_rows(
    db: Path,
    filters: Filters,
    output: str,
    *,
    width: int = 80,
    today: dt.date | None = None,
    show_sql: bool = False,
) -> tuple[str, int]:
    """The text of `output` for the rows `filters` choose, and how many rows it holds (with
    `show_sql`, the SQL statement instead, and 0)."""
    connection = open_copy(db)
    try:
        tables = tables_of(connection)
        query: Query
        if isinstance(filters, TradeFilters):
            kind = "trade"
            query = trades_query(filters, tables, today or _today())
        elif isinstance(filters, PoliticianFilters):
            kind, query = "politician", politicians_query(filters, tables)
        else:
            kind, query = "issuer", issuers_query(filters, tables)
        if show_sql:
            return query.shown(), 0
        columns, raw = run(connection, query)
    finally:
        connection.close()
    rows = rows_of(columns, raw)
    return render(rows, columns, output, kind=kind, width=width), len(rows)


def committee_rows(output: str, *, width: int = 80) -> str:
    """The committee codes `--committee` takes, with their names and chambers (no database)."""
    from ..site.roster import COMMITTEES, chamber_of

    view = next(v for v in VIEWS if v.name == "trio_enrich_committees")
    rows = rows_of(
        view.columns, [(code, name, chamber_of(code)) for code, name in sorted(COMMITTEES.items())]
    )
    return render(rows, view.columns, output, kind="committee", width=width)
