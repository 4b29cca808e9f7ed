"""`serve`: the copy in a web browser through Datasette, the one module that knows it (the
optional `browse` extra, Datasette's stable 0.65 line).

Datasette runs every query on a read-only connection and shows what a running `update`
commits (WAL). What this module adds is the description: the metadata (every table, view and
column, from the data dictionary), facets and sort orders, and the canned questions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .dictionary import TABLES

__all__ = ["QUERIES", "available", "make_datasette", "metadata", "serve"]

# Facets per table or view: the columns people narrow by first.
_FACETS: dict[str, list[str]] = {
    "trio_enrich_trades": ["party", "chamber", "tx_type", "owner", "sector", "late"],
    "trades": ["chamber", "tx_type", "owner"],
    "trio_enrich_politicians": ["party", "chamber", "state"],
    "politicians": ["party", "chamber", "state_id"],
    "trio_enrich_issuers": ["sector", "country"],
    "issuers": ["sector", "country", "state_id"],
}
_NEWEST_FIRST = {"trio_enrich_trades": "pub_date", "trades": "pub_date"}
# Tables and views searched through the full-text index (its rowid is the trade's tx_id).
_SEARCHED = ("trio_enrich_trades", "trades")
# How a row of a table is named where another table points at it.
_LABELS = {"politicians": "last_name", "issuers": "issuer_name"}

_TRADE = (
    "SELECT tx_id, pub_date, tx_date, politician, party, chamber, tx_type, issuer, ticker, "
    "bracket, reporting_gap, late, url FROM trio_enrich_trades"
)

#: The canned questions: name -> (title, description, SQL; :name is a parameter).
QUERIES: dict[str, tuple[str, str, str]] = {
    "latest_trades": (
        "Latest trades", "The 100 trades published last.",
        f"{_TRADE} ORDER BY pub_date DESC, tx_id DESC LIMIT 100",
    ),
    "late_filings": (
        "Late filings", "Trades published over 45 days after they were made, latest first.",
        f"{_TRADE} WHERE late ORDER BY pub_date DESC, tx_id DESC LIMIT 500",
    ),
    "member_trades": (
        "One member's trades", "By id (P000197) or part of the name.",
        f"{_TRADE} WHERE politician_id = :member OR politician LIKE '%' || :member || '%' "
        "ORDER BY pub_date DESC LIMIT 1000",
    ),
    "committee_trades": (
        "Trades by members of a committee (current roster)",
        "Members per the roster last read (`trio-enrich committees`); codes: "
        "trio_enrich_committees.",
        f"{_TRADE} WHERE politician_id IN (SELECT politician_id FROM politician_committees "
        "WHERE committee = :committee) ORDER BY pub_date DESC LIMIT 1000",
    ),
    "committee_trades_at_the_time": (
        "Trades by members of a committee, while the rosters showed them on it",
        "Only as far back as trio-enrich has read rosters (trio_enrich_memberships).",
        f"{_TRADE} t WHERE EXISTS (SELECT 1 FROM trio_enrich_memberships m WHERE "
        "m.politician_id = t.politician_id AND m.committee = :committee AND "
        "substr(t.pub_date, 1, 10) BETWEEN substr(m.first_seen_at, 1, 10) AND "
        "substr(m.last_seen_at, 1, 10)) ORDER BY pub_date DESC LIMIT 1000",
    ),
    "overlap_trades": (
        "Trades in sectors a member's committees oversee",
        "Per trio_enrich_committee_sectors (each pair with its reason).",
        f"{_TRADE} WHERE overlap AND (politician_id = :member OR politician LIKE '%' || "
        ":member || '%') ORDER BY pub_date DESC LIMIT 1000",
    ),
    "ticker_trades": (
        "A ticker's trades and its stored prices",
        "NVDA finds NVDA:US. The close is the last stored on or before the trade's day.",
        "SELECT t.tx_id, t.tx_date, t.politician, t.tx_type, t.bracket, t.price AS trade_price,"
        " (SELECT price FROM issuer_eod_prices e WHERE e.issuer_id = t.issuer_id AND "
        "e.price_date <= t.tx_date ORDER BY price_date DESC LIMIT 1) AS close_before, "
        "r.close AS latest_close, r.close_date FROM trio_enrich_trades t JOIN "
        "trio_enrich_trade_returns r USING (tx_id) WHERE upper(t.ticker) = upper(:ticker) OR "
        "upper(t.ticker) LIKE upper(:ticker) || ':%' ORDER BY t.tx_date DESC LIMIT 1000",
    ),
    "largest_trades": (
        "The largest trades", "By disclosed range, then newest first.",
        f"{_TRADE} ORDER BY value DESC, pub_date DESC LIMIT 100",
    ),
    "new_since_last_run": (
        "New since the last run that found some",
        "Trades the latest run with new trades stored first (trio_enrich_runs).",
        f"{_TRADE} WHERE first_seen_run = (SELECT MAX(run_id) FROM trio_enrich_runs WHERE "
        "new_trades > 0) ORDER BY pub_date DESC LIMIT 1000",
    ),
    "health": (
        "The copy's health", "Pending and failed items, and the last runs.",
        "SELECT 'trades pending' AS what, COUNT(*) AS count FROM trades WHERE enriched_at IS "
        "NULL UNION ALL SELECT 'issuers pending', COUNT(*) FROM issuers WHERE enriched_at IS "
        "NULL UNION ALL SELECT entity || 's failed: ' || kind, COUNT(*) FROM "
        "trio_enrich_failures GROUP BY entity, kind UNION ALL SELECT 'run ' || run_id || ': ' "
        "|| command || ' (exit ' || COALESCE(exit_code, '-') || ')', new_trades FROM "
        "(SELECT * FROM trio_enrich_runs ORDER BY run_id DESC LIMIT 10)",
    ),
}  # fmt: skip


def available() -> bool:
    """Whether Datasette is installed (the `browse` extra)."""
    try:
        import datasette  # noqa: F401
    except ImportError:
        return False
    return True


def metadata(last_sync: str | None) -> dict[str, Any]:
    """Datasette's metadata: every table, view and column described, facets, canned queries
    (for the database named `name` in the site: its file's stem)."""
    tables: dict[str, Any] = {}
    for table in TABLES:
        entry: dict[str, Any] = {
            "description": table.meaning[0].upper() + table.meaning[1:] + ".",
            "columns": {c.name: _column_words(c.meaning, c.unit, c.absent) for c in table.columns},
        }
        if table.name in _FACETS:
            entry["facets"] = _FACETS[table.name]
        if table.name in _NEWEST_FIRST:
            entry["sort_desc"] = _NEWEST_FIRST[table.name]
        if table.name in _LABELS:
            entry["label_column"] = _LABELS[table.name]
        if table.name in _SEARCHED:
            entry["fts_table"], entry["fts_pk"] = "trio_enrich_search", "tx_id"
        tables[table.name] = entry
    synced = f" Last complete sync: {last_sync}." if last_sync else ""
    return {
        "title": "Capitol Trades, a local copy",
        "description": (
            "US congressional stock trades as capitoltrades.com publishes them, kept complete "
            "by trio-enrich. A trade's value is the midpoint of the range its member disclosed,"
            " not an amount; 'late' means published over 45 days after the trade. Not advice,"
            f" not an official record: each trade links to its filing.{synced}"
        ),
        "source": "capitoltrades.com",
        "source_url": "https://www.capitoltrades.com",
        "tables": tables,
        "queries": {
            name: {"title": title, "description": words, "sql": sql}
            for name, (title, words, sql) in QUERIES.items()
        },
    }


def _column_words(meaning: str, unit: str, absent: str) -> str:
    unit_words = f" ({unit})" if unit else ""
    absent_words = f"; not shown: {absent}" if absent else ""
    return f"{meaning}{unit_words}{absent_words}"


def make_datasette(db: Path, last_sync: str | None) -> Any:
    """A Datasette of the copy at `db` (read-only queries; its metadata per database)."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from . import browse_hooks

    if not pm.is_registered(browse_hooks):
        pm.register(browse_hooks, name="trio-enrich")
    from datasette import handle_exception as datasette_errors

    if pm.is_registered(datasette_errors):  # (browse_hooks.handle_exception answers instead)
        pm.unregister(datasette_errors)

    described = metadata(last_sync)
    site = {key: value for key, value in described.items() if key not in ("tables", "queries")}
    site["databases"] = {db.stem: {"tables": described["tables"], "queries": described["queries"]}}
    return Datasette(
        [str(db)],
        metadata=site,
        template_dir=str(Path(__file__).with_name("templates")),
        # (Suggesting facets asks every column of a 37,000-row view: 3.3 s a page, not 0.75.)
        settings={"sql_time_limit_ms": 5000, "default_page_size": 50, "suggest_facets": False},
    )


def serve(db: Path, host: str, port: int, last_sync: str | None) -> None:
    """Serve the copy until interrupted."""
    import uvicorn

    uvicorn.run(make_datasette(db, last_sync).app(), host=host, port=port, log_level="warning")
