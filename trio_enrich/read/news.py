"""`news`: the trades first stored in a window of runs, per the runs' ledger and the first
sightings: by default those of the last run that stored new trades; since run N; or since a
day. The run that filled an empty copy is history, not news (as the alerts have it), unless
it is asked for by number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

from ..storage.deliveries import FILLED_AN_EMPTY_COPY
from ..storage.views import VIEWS
from .formats import render, rows_of
from .queries import TradeFilters, open_copy, run, tables_of, trades_query

__all__ = ["news_rows", "window"]


def window(
    db: sqlite3.Connection, filters: TradeFilters, since_run: int | None
) -> tuple[TradeFilters | None, str]:
    """The filters of the news asked for (None: there are none to list), and a sentence
    saying which trades they are."""
    if filters.seen_since is not None:
        return filters, f"trades first stored on or after {filters.seen_since}"
    tables = tables_of(db)
    if "trio_enrich_runs" not in tables:
        return None, ("this copy has no runs' ledger yet: the next run of this trio-enrich "
                      "starts it, and its new trades are the first news")  # fmt: skip
    if since_run is not None:
        return (dataclasses.replace(filters, seen_from_run=since_run),
                f"trades first stored by run {since_run} or a later one")  # fmt: skip
    last = db.execute(
        "SELECT run_id, command, started_at FROM trio_enrich_runs WHERE new_trades > 0 "
        "ORDER BY run_id DESC LIMIT 1"
    ).fetchone()
    if last is None:
        return None, "no run has stored a new trade yet"
    run_id, command, started = int(last[0]), str(last[1]), str(last[2])
    if db.execute(f"SELECT {FILLED_AN_EMPTY_COPY}", {"run": run_id}).fetchone()[0]:
        return None, (f"the last run that stored new trades, run {run_id}, filled an empty "
                      f"copy: its trades are history, not news (--since-run {run_id} lists "
                      "them)")  # fmt: skip
    chosen = dataclasses.replace(filters, seen_from_run=run_id, seen_to_run=run_id)
    words = command.split()
    name = words[1] if len(words) > 1 else command
    return chosen, f"trades first stored by run {run_id} ({name}, started {started})"


def news_rows(
    path: Path,
    filters: TradeFilters,
    output: str,
    *,
    since_run: int | None = None,
    width: int = 80,
    show_sql: bool = False,
) -> tuple[str, int, str]:
    """The text of `output` for the news, how many trades there are in all (more than it
    holds when the limit cut them), and which trades they are."""
    db = open_copy(path)
    try:
        chosen, words = window(db, filters, since_run)
        if chosen is None:
            view = next(view for view in VIEWS if view.name == "trio_enrich_trades")
            return render([], view.columns, output, kind="trade", width=width), 0, words
        today = dt.datetime.now(dt.UTC).date()
        query = trades_query(chosen, tables_of(db), today)
        if show_sql:
            return query.shown(), 0, words
        columns, raw = run(db, query)
        total = len(raw)
        if chosen.limit is not None and total == chosen.limit:  # (how many there are in all)
            every = trades_query(dataclasses.replace(chosen, limit=None), tables_of(db), today)
            total = int(db.execute(f"SELECT COUNT(*) FROM ({every.sql})",
                                   every.parameters).fetchone()[0])  # fmt: skip
    finally:
        db.close()
    rows = rows_of(columns, raw)
    return render(rows, columns, output, kind="trade", width=width), total, words
