"""The one description of the copy: every table, view and column, with its meaning, unit,
the page it comes from and how "the page did not say" is stored.

``docs/DATA.md`` is made from it (`markdown`; a test keeps the two the same), and a test fails
when a column of a database made by ``update`` has no entry here. Later descriptions (the
web page's metadata, an export's manifest) are made from the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TABLES", "Column", "Table", "markdown"]

# Where a value comes from.
LISTING = "listing (`/trades?page=N`)"
TRADE_PAGE = "trade page (`/trades/ID`)"
ISSUER_PAGE = "issuer page (`/issuers/ID`)"
ROSTERS = "committee pages (`/politicians?committee=CODE`)"
TOOL = "trio-enrich"
DERIVED = "worked out from the columns named"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    meaning: str
    unit: str = ""
    source: str = ""
    absent: str = ""  # how a value the page did not show is stored


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    kind: str  # "table (capitoltraders)", "table (trio-enrich)" or "view (trio-enrich)"
    meaning: str
    columns: tuple[Column, ...]


_C = Column
_NULL = "NULL"
_PERIODS = (
    ("trailing1", "1 trading day"),
    ("trailing7", "7 days"),
    ("trailing30", "30 days"),
    ("trailing90", "90 days"),
    ("trailing365", "365 days"),
    ("wtd", "week to date"),
    ("mtd", "month to date"),
    ("qtd", "quarter to date"),
    ("ytd", "year to date"),
)


def _performance(absent: str) -> tuple[Column, ...]:
    columns = [
        _C("issuer_id", "the issuer (`issuers.issuer_id`)"),
        _C("mcap", "market capitalisation", "USD", ISSUER_PAGE, absent),
    ]
    for name, period in _PERIODS:
        columns.append(
            _C(
                name,
                f"the share price {period} ago, as the page gives it",
                "USD",
                ISSUER_PAGE,
                absent,
            )
        )
        columns.append(
            _C(
                f"{name}_change",
                f"the price's change over {period}, as a fraction (0.05 = 5%); read from the "
                "page as given (ASSUMED from models: no real issuer page has been captured)",
                "fraction",
                ISSUER_PAGE,
                absent,
            )
        )
    return tuple(columns)


TABLES: tuple[Table, ...] = (
    Table(
        "trades",
        "table (capitoltraders)",
        "one row per disclosed trade",
        (
            _C(
                "tx_id",
                "the trade's id on the site (11 digits: Senate 1000006xxxx, House "
                "2000xxxxxxx); its page is https://www.capitoltrades.com/trades/ID",
                "",
                LISTING,
            ),
            _C(
                "politician_id", "who traded (`politicians`): the Congress bioguide id", "", LISTING
            ),
            _C("asset_id", "the asset (`assets`); equals tx_id", "", LISTING),
            _C("issuer_id", "the issuer (`issuers`)", "", LISTING),
            _C("pub_date", "when the site published the trade", "ISO-8601 UTC time", LISTING),
            _C("filing_date", "the day of the filing", "YYYY-MM-DD", LISTING),
            _C("tx_date", "the day the trade was made", "YYYY-MM-DD", LISTING),
            _C("tx_type", "buy, sell, exchange or receive", "", LISTING),
            _C(
                "tx_type_extended",
                "the site's extra detail of the type, as JSON text",
                "",
                LISTING,
                _NULL,
            ),
            _C(
                "has_capital_gains",
                "1 when the filing says the trade had capital gains over "
                "$200; 0 is also stored when the page did not say (see "
                "`trio_enrich_capital_gains_shown`)",
                "0/1",
                TRADE_PAGE,
                "0",
            ),
            _C("owner", "whose account: self, spouse, joint, child or not-disclosed", "", LISTING),
            _C("chamber", "house or senate", "", LISTING),
            _C("price", "the share price of the trade", "USD", LISTING, _NULL),
            _C(
                "size",
                "the number of shares, where the filing gives one",
                "shares",
                TRADE_PAGE,
                _NULL,
            ),
            _C(
                "size_range_high",
                "the most shares the disclosed range allows (its high end over the price)",
                "shares",
                TRADE_PAGE,
                _NULL,
            ),
            _C(
                "size_range_low",
                "the fewest shares the disclosed range allows",
                "shares",
                TRADE_PAGE,
                _NULL,
            ),
            _C(
                "value",
                "the midpoint of the disclosed dollar range (8000 for $1,001-15,000): "
                "members disclose a range, not an amount",
                "USD",
                LISTING,
            ),
            _C(
                "filing_id",
                "the filing's number (House: the document id of its PDF)",
                "",
                TRADE_PAGE,
                "0 (Senate filings have none)",
            ),
            _C(
                "filing_url",
                "the filing on the House's or the Senate's site",
                "URL",
                TRADE_PAGE,
                "'' (empty text)",
            ),
            _C(
                "reporting_gap",
                "days from the trade to its publication (published minus traded); over 45 is late",
                "days",
                LISTING,
            ),
            _C("comment", "the filer's comment", "", LISTING, _NULL),
            _C(
                "enriched_at",
                "when trio-enrich stored the trade's page",
                "ISO-8601 UTC time",
                TOOL,
                "NULL: not enriched yet",
            ),
        ),
    ),
    Table(
        "assets",
        "table (capitoltraders)",
        "what was traded, one row per trade",
        (
            _C("asset_id", "equals the trade's tx_id"),
            _C(
                "asset_type",
                "stock, stock-option, etf, mutual-fund, corporate-bond, "
                "municipal-security, crypto, other-securities, ...",
                "",
                TRADE_PAGE,
                "'unknown' until the trade is enriched",
            ),
            _C("asset_ticker", "the asset's own ticker (an option's, say)", "", TRADE_PAGE, _NULL),
            _C("instrument", "the instrument's description", "", TRADE_PAGE, _NULL),
        ),
    ),
    Table(
        "issuers",
        "table (capitoltraders)",
        "the companies and funds traded",
        (
            _C(
                "issuer_id",
                "the issuer's id on the site; its page is https://www.capitoltrades.com/issuers/ID",
                "",
                LISTING,
            ),
            _C("state_id", "the issuer's state (two letters, lower case)", "", LISTING, _NULL),
            _C("c2iq", "the site's own code of the issuer", "", LISTING, _NULL),
            _C("country", "the issuer's country (two letters, lower case)", "", LISTING, _NULL),
            _C("issuer_name", "the name", "", LISTING),
            _C(
                "issuer_ticker",
                "the ticker with its market (NVDA:US)",
                "",
                LISTING,
                "NULL, or '' where the site gives an empty ticker",
            ),
            _C(
                "sector",
                "the sector, as the site writes it (information-technology)",
                "",
                LISTING,
                _NULL,
            ),
            _C(
                "enriched_at",
                "when trio-enrich stored the issuer's page",
                "ISO-8601 UTC time",
                TOOL,
                "NULL: not enriched yet",
            ),
        ),
    ),
    Table(
        "politicians",
        "table (capitoltraders)",
        "members of Congress who traded",
        (
            _C("politician_id", "the Congress bioguide id (P000197)", "", LISTING),
            _C("state_id", "the state (two letters, lower case)", "", LISTING),
            _C("party", "democrat, republican or other", "", LISTING),
            _C("party_other", "the party's name when other", "", LISTING, _NULL),
            _C("district", "the House district", "", LISTING, _NULL),
            _C("first_name", "the first name", "", LISTING),
            _C("last_name", "the last name", "", LISTING),
            _C("nickname", "the name the member goes by", "", LISTING, _NULL),
            _C("middle_name", "the middle name", "", LISTING, _NULL),
            _C(
                "full_name",
                "the full name (filled by the earlier tool's politician pages only; "
                "`trio_enrich_politicians.name` is filled for every member)",
                "",
                LISTING,
                _NULL,
            ),
            _C("dob", "the date of birth", "YYYY-MM-DD", LISTING, "''"),
            _C("gender", "female or male", "", LISTING, "''"),
            _C("social_facebook", "Facebook page", "URL", LISTING, _NULL),
            _C("social_twitter", "X/Twitter account", "URL", LISTING, _NULL),
            _C("social_youtube", "YouTube channel", "URL", LISTING, _NULL),
            _C("website", "official website", "URL", LISTING, _NULL),
            _C("chamber", "house or senate", "", LISTING),
            _C(
                "enriched_at",
                "when a politician page was stored (trio-enrich reads none)",
                "ISO-8601 UTC time",
                "",
                _NULL,
            ),
        ),
    ),
    Table(
        "trade_committees",
        "table (capitoltraders)",
        "the committees a trade's page names (the object-shaped page only)",
        (
            _C("tx_id", "the trade"),
            _C("committee", "the committee's name as the page gives it", "", TRADE_PAGE),
        ),
    ),
    Table(
        "trade_labels",
        "table (capitoltraders)",
        "labels the site gives a trade",
        (
            _C("tx_id", "the trade"),
            _C("label", "the label (faang, crypto, ...)", "", TRADE_PAGE),
        ),
    ),
    Table(
        "politician_committees",
        "table (capitoltraders)",
        "the current members of each committee, as its roster last read says",
        (
            _C("politician_id", "the member"),
            _C("committee", "the committee's code (`trio_enrich_committees.code`)", "", ROSTERS),
        ),
    ),
    Table(
        "politician_stats",
        "table (capitoltraders)",
        "each member's trading, recomputed from `trades` when a sync completes",
        (
            _C("politician_id", "the member"),
            _C(
                "date_last_traded",
                "the day of the member's latest trade",
                "YYYY-MM-DD",
                DERIVED,
                _NULL,
            ),
            _C("count_trades", "trades in the copy", "trades", DERIVED),
            _C("count_issuers", "distinct issuers traded", "issuers", DERIVED),
            _C("volume", "the sum of the trades' values", "USD", DERIVED),
        ),
    ),
    Table(
        "issuer_stats",
        "table (capitoltraders)",
        "each issuer's trading, recomputed from `trades` when a sync completes",
        (
            _C("issuer_id", "the issuer"),
            _C("count_trades", "trades in the copy", "trades", DERIVED),
            _C("count_politicians", "distinct members who traded it", "members", DERIVED),
            _C("volume", "the sum of the trades' values", "USD", DERIVED),
            _C("date_last_traded", "the day of the latest trade", "YYYY-MM-DD", DERIVED),
        ),
    ),
    Table(
        "issuer_performance",
        "table (capitoltraders)",
        "an issuer's price performance, when its page shows every figure",
        _performance("no row (see `trio_enrich_partial_performance`)"),
    ),
    Table(
        "issuer_eod_prices",
        "table (capitoltraders)",
        "an issuer's closing prices, as its page lists them (the last 20 trading days)",
        (
            _C("issuer_id", "the issuer"),
            _C("price_date", "the trading day", "YYYY-MM-DD", ISSUER_PAGE),
            _C("price", "the closing price", "USD", ISSUER_PAGE),
        ),
    ),
    Table(
        "ingest_meta",
        "table (capitoltraders)",
        "the sync's own notes",
        (
            _C(
                "key",
                "last_trade_pub_date (the newest publication time a complete walk proved "
                "stored: the next sync's cutoff) or last_sync_at (when a sync last completed)",
            ),
            _C("value", "the note", "ISO-8601 UTC time"),
        ),
    ),
    Table(
        "trio_enrich_meta",
        "table (trio-enrich)",
        "trio-enrich's own notes",
        (
            _C(
                "key",
                "schema_version, committees_read_at, the run lock's holder, an unfinished "
                "full walk, the rate `--max-rps auto` learned per host, ...",
            ),
            _C("value", "the note (text or JSON)"),
        ),
    ),
    Table(
        "trio_enrich_failures",
        "table (trio-enrich)",
        "items whose page could not be read, until a later run reads it",
        (
            _C("entity", "trade or issuer"),
            _C("item_id", "its id"),
            _C("kind", "the kind of failure (not_found, server_error, layout_changed, ...)"),
            _C("message", "what happened, in words"),
            _C("attempts", "requests made for it in the last run", "requests"),
            _C("last_at", "when it last failed", "ISO-8601 UTC time"),
            _C("runs", "runs in a row that failed it the same way (parked after several)", "runs"),
            _C("first_at", "when that streak began", "ISO-8601 UTC time"),
        ),
    ),
    Table(
        "trio_enrich_capital_gains_shown",
        "table (trio-enrich)",
        "trades whose page said whether there were capital gains (0 in "
        "`trades.has_capital_gains` then means no, not unknown)",
        (_C("tx_id", "the trade"),),
    ),
    Table(
        "trio_enrich_partial_performance",
        "table (trio-enrich)",
        "an issuer whose page shows only part of its performance (no trailing365 for a "
        "young listing, say); its issuer_performance row is then absent",
        _performance(_NULL),
    ),
    Table(
        "trio_enrich_sources",
        "table (trio-enrich)",
        "where an enriched trade's or issuer's values were read: the page kept in the "
        "archive beside the database (x.pages.db)",
        (
            _C("entity", "trade or issuer"),
            _C("item_id", "its id"),
            _C("url", "the page's path on the site"),
            _C("hash", "the sha256 of the page as kept"),
            _C("fetched_at", "when it was fetched", "ISO-8601 UTC time"),
        ),
    ),
    Table(
        "trio_enrich_runs",
        "table (trio-enrich)",
        "every run that held the run lock (a command, or a library call), from its start",
        (
            _C("run_id", "the run's number, in the order runs started"),
            _C("command", "the command line (or the library call) that ran"),
            _C("pid", "its process id"),
            _C("started_at", "when it took the lock", "ISO-8601 UTC time"),
            _C(
                "ended_at",
                "when it let go",
                "ISO-8601 UTC time",
                "",
                "NULL: still running, or killed",
            ),
            _C(
                "exit_code",
                "the command's exit code (0 done, 1 failures, 3 stopped, ...)",
                "",
                "",
                "NULL: a library call, or killed",
            ),
            _C("error", "the error that ended it", "", "", "NULL: none"),
            _C(
                "new_trades",
                "trades it stored first (`trio_enrich_first_seen`)",
                "trades",
                "",
                "NULL: still running, or killed",
            ),
            _C(
                "counts",
                "its stages' summaries, as `--json` gives them (JSON)",
                "",
                "",
                "NULL: a library call, or killed",
            ),
        ),
    ),
    Table(
        "trio_enrich_first_seen",
        "table (trio-enrich)",
        "when each trade was first stored, and by which run (none for trades stored before "
        "trio-enrich kept this)",
        (
            _C("tx_id", "the trade"),
            _C(
                "first_seen_at",
                "when a sync (or reparse) first stored it",
                "ISO-8601 UTC time",
                TOOL,
            ),
            _C("run_id", "the run (`trio_enrich_runs`)", "", TOOL, _NULL),
        ),
    ),
    Table(
        "trio_enrich_memberships",
        "table (trio-enrich)",
        "each committee membership ever read, with when it was first and last seen on a "
        "roster (`politician_committees` holds the current rosters only)",
        (
            _C("politician_id", "the member"),
            _C("committee", "the committee's code"),
            _C(
                "first_seen_at",
                "the first roster read that listed it",
                "ISO-8601 UTC time",
                ROSTERS,
            ),
            _C("last_seen_at", "the last roster read that listed it", "ISO-8601 UTC time", ROSTERS),
        ),
    ),
    Table(
        "trio_enrich_search",
        "table (trio-enrich)",
        "full-text search (SQLite FTS5) over each trade's member, issuer and ticker, "
        "without regard to case or accents; its rowid is the trade's tx_id; made again by "
        "every sync that completes. SQLite keeps it in tables of its own beside it "
        "(trio_enrich_search_data, _idx, _docsize, _config)",
        (
            _C("politician", "the member's name as the site shows it", "", DERIVED),
            _C("issuer", "the issuer's name", "", LISTING),
            _C("ticker", "the issuer's ticker", "", LISTING, "NULL"),
        ),
    ),
    Table(
        "trio_enrich_destinations",
        "table (trio-enrich)",
        "where `update --notify` sends its digests of new trades: each destination known by "
        "the sha256 of its URL and shown with its secrets hidden (the URL itself is never "
        "stored)",
        (
            _C("destination_id", "the destination"),
            _C("fingerprint", "the sha256 of its URL (hex): the same URL, the same row", "", TOOL),
            _C("label", "its URL with the tokens and passwords hidden", "", TOOL),
            _C("first_used_at", "the first run that named it", "ISO-8601 UTC time", TOOL),
            _C("last_attempt_at", "its last digest tried", "ISO-8601 UTC time", TOOL, "NULL: none"),
            _C(
                "last_sent_at", "its last digest delivered", "ISO-8601 UTC time", TOOL, "NULL: none"
            ),
            _C("last_error", "why its last digest failed", "", TOOL, "NULL: it did not"),
        ),
    ),
    Table(
        "trio_enrich_destination_runs",
        "table (trio-enrich)",
        "the runs each destination took part in: the trades a run first stored are news for "
        "the destinations it names, queued for each once (a run killed before it queued them "
        "leaves them to the next)",
        (
            _C("destination_id", "the destination (`trio_enrich_destinations`)"),
            _C("run_id", "the run (`trio_enrich_runs`)"),
            _C("queued", "1 once the run's new trades are queued for it", "0/1", TOOL),
        ),
    ),
    Table(
        "trio_enrich_deliveries",
        "table (trio-enrich)",
        "each new trade's delivery to each destination: delivered once; a failed one is "
        "retried by the next run",
        (
            _C("destination_id", "the destination (`trio_enrich_destinations`)"),
            _C("tx_id", "the trade"),
            _C("run_id", "the run that first stored it", "", TOOL, _NULL),
            _C(
                "state",
                "pending, sending (in flight: a run killed then sends it again) or sent",
                "",
                TOOL,
            ),
            _C("attempts", "digests it was in, delivered or not", "", TOOL),
            _C("queued_at", "when it was queued", "ISO-8601 UTC time", TOOL),
            _C("sent_at", "when it was delivered", "ISO-8601 UTC time", TOOL, "NULL: not yet"),
            _C("last_error", "why its last digest failed", "", TOOL, "NULL: it did not"),
        ),
    ),
    Table(
        "trio_enrich_trades",
        "view (trio-enrich)",
        "a trade with what people look up beside it: who, what, how much, how late",
        (
            _C("tx_id", "the trade"),
            _C("pub_date", "when published", "ISO-8601 UTC time", LISTING),
            _C("tx_date", "when traded", "YYYY-MM-DD", LISTING),
            _C("filing_date", "the day of the filing", "YYYY-MM-DD", LISTING),
            _C("reporting_gap", "days from trade to publication", "days", LISTING),
            _C(
                "late",
                "published over 45 days after the trade (the STOCK Act's limit)",
                "true/false",
                DERIVED,
            ),
            _C("politician_id", "the member"),
            _C(
                "politician",
                "the member's name as the site shows it (the nickname for the "
                "first name where there is one)",
                "",
                DERIVED,
            ),
            _C("party", "democrat, republican or other"),
            _C("chamber", "house or senate"),
            _C("state", "the member's state"),
            _C("gender", "female or male", "", LISTING, _NULL),
            _C("issuer_id", "the issuer"),
            _C("issuer", "the issuer's name"),
            _C("ticker", "the issuer's ticker (NVDA:US)", "", LISTING, _NULL),
            _C("sector", "the issuer's sector", "", LISTING, _NULL),
            _C("issuer_state", "the issuer's state", "", LISTING, _NULL),
            _C("country", "the issuer's country", "", LISTING, _NULL),
            _C("asset_type", "what was traded", "", TRADE_PAGE, "'unknown' until enriched"),
            _C("tx_type", "buy, sell, exchange or receive"),
            _C("owner", "self, spouse, joint, child or not-disclosed"),
            _C("value", "the disclosed range's midpoint", "USD"),
            _C("bracket", "the disclosed range's name (15k-50k), as `--trade-size` takes it"),
            _C("bracket_low", "the range's low end", "USD"),
            _C("bracket_high", "the range's high end", "USD", "", "NULL for over-50m"),
            _C("price", "the share price", "USD", LISTING, _NULL),
            _C("shares", "the number of shares", "shares", TRADE_PAGE, _NULL),
            _C("shares_low", "the fewest shares the range allows", "shares", TRADE_PAGE, _NULL),
            _C("shares_high", "the most shares the range allows", "shares", TRADE_PAGE, _NULL),
            _C(
                "labels",
                "the trade's labels (a list; `;` between them in flat files)",
                "",
                TRADE_PAGE,
                "an empty list",
            ),
            _C(
                "committees",
                "the committees the trade's page names (a list)",
                "",
                TRADE_PAGE,
                "an empty list",
            ),
            _C("filing_url", "the filing", "URL", TRADE_PAGE, _NULL),
            _C("url", "the trade's page on the site", "URL", DERIVED),
            _C(
                "enriched_at",
                "when its page was stored",
                "ISO-8601 UTC time",
                TOOL,
                "NULL: not enriched yet",
            ),
            _C(
                "first_seen_at",
                "when a sync first stored the trade",
                "ISO-8601 UTC time",
                TOOL,
                "NULL: stored before trio-enrich kept this (history, not news)",
            ),
            _C(
                "first_seen_run",
                "the run that first stored it (`trio_enrich_runs`)",
                "",
                TOOL,
                _NULL,
            ),
            _C(
                "overlap",
                "one of the member's committees (current rosters) oversees the issuer's "
                "sector, per `trio_enrich_committee_sectors`",
                "true/false",
                DERIVED,
            ),
            _C(
                "overlap_committees",
                "those committees (codes, a list)",
                "",
                DERIVED,
                "an empty list",
            ),
        ),
    ),
    Table(
        "trio_enrich_politicians",
        "view (trio-enrich)",
        "every member with a name and their trading",
        (
            _C("politician_id", "the bioguide id"),
            _C("name", "the name as the site shows it", "", DERIVED),
            _C("party", "democrat, republican or other"),
            _C("state", "the state"),
            _C("chamber", "house or senate"),
            _C("gender", "female or male", "", LISTING, _NULL),
            _C("district", "the House district", "", LISTING, _NULL),
            _C("dob", "the date of birth", "YYYY-MM-DD", LISTING, _NULL),
            _C("trades", "trades in the copy", "trades", DERIVED),
            _C("issuers", "distinct issuers traded", "issuers", DERIVED),
            _C("volume", "the sum of the trades' values", "USD", DERIVED),
            _C("last_traded", "the day of the latest trade", "YYYY-MM-DD", DERIVED, _NULL),
            _C(
                "committees",
                "the committees whose current roster lists the member (codes, a list)",
                "",
                ROSTERS,
                "an empty list",
            ),
            _C("url", "the member's page on the site", "URL", DERIVED),
        ),
    ),
    Table(
        "trio_enrich_issuers",
        "view (trio-enrich)",
        "every issuer with its trading",
        (
            _C("issuer_id", "the issuer"),
            _C("name", "the name"),
            _C("ticker", "the ticker", "", LISTING, _NULL),
            _C("sector", "the sector", "", LISTING, _NULL),
            _C("state", "the issuer's state", "", LISTING, _NULL),
            _C("country", "the issuer's country", "", LISTING, _NULL),
            _C(
                "market_cap",
                "market capitalisation (full or partial performance)",
                "USD",
                ISSUER_PAGE,
                _NULL,
            ),
            _C("trades", "trades in the copy", "trades", DERIVED),
            _C("politicians", "distinct members who traded it", "members", DERIVED),
            _C("volume", "the sum of the trades' values", "USD", DERIVED),
            _C("last_traded", "the day of the latest trade", "YYYY-MM-DD", DERIVED, _NULL),
            _C("url", "the issuer's page on the site", "URL", DERIVED),
        ),
    ),
    Table(
        "trio_enrich_committees",
        "view (trio-enrich)",
        "the committee codes, as the site's committee filter lists them",
        (
            _C("code", "the code (ssbk)"),
            _C("name", "the name the site gives it (Senate - Banking, Housing & Urban Affairs)"),
            _C("chamber", "house or senate (by its name: the code's letters mislead for hlig)"),
        ),
    ),
    Table(
        "trio_enrich_committee_sectors",
        "view (trio-enrich)",
        "the sectors each committee oversees, with why: trio-enrich's own reading of the "
        "committees' jurisdictions (trio_enrich/storage/committee_sectors.csv; `list trades "
        "--committee-sectors FILE` reads yours instead). A committee that oversees no sector "
        "in particular (Appropriations, Budget, Rules, Ethics) has no row",
        (
            _C("committee", "the committee's code"),
            _C("sector", "a sector it oversees, as the site writes sectors"),
            _C("reason", "why, in a few words"),
        ),
    ),
    Table(
        "trio_enrich_brackets",
        "view (trio-enrich)",
        "the dollar ranges members disclose (the site's trade-size filter)",
        (
            _C("bracket", "the range's name, as `--trade-size` takes it"),
            _C("low", "its low end", "USD"),
            _C("high", "its high end", "USD", "", "NULL for over-50m"),
        ),
    ),
    Table(
        "trio_enrich_trade_returns",
        "view (trio-enrich)",
        "the price change since a trade, where the stored prices allow it: an ESTIMATE "
        "(the trade's price is the filing's, the close the latest the copy holds)",
        (
            _C("tx_id", "the trade"),
            _C("issuer_id", "its issuer"),
            _C("price", "the trade's share price", "USD", LISTING, _NULL),
            _C("close", "the issuer's latest stored closing price", "USD", ISSUER_PAGE, _NULL),
            _C("close_date", "the day of that close", "YYYY-MM-DD", ISSUER_PAGE, _NULL),
            _C(
                "change",
                "close over price, less 1",
                "fraction (0.05 = 5%)",
                DERIVED,
                "NULL when either price is unknown",
            ),
        ),
    ),
)


def markdown() -> str:
    """``docs/DATA.md``: every table, view and column."""
    lines = [
        "# The copy's data dictionary",
        "",
        "Every table, view and column of a trio-enrich copy (a capitoltraders.db). Made from",
        "`trio_enrich/read/dictionary.py`; do not edit by hand (`python -m trio_enrich.read."
        "dictionary > docs/DATA.md` writes it again).",
        "",
        "Sources: the listing is `/trades?page=N`, a trade page `/trades/ID`, an issuer page",
        "`/issuers/ID`, the rosters `/politicians?committee=CODE` (all on capitoltrades.com).",
        "'Not shown' is what the copy holds when the page did not say.",
    ]
    for table in TABLES:
        lines += [
            "",
            f"## `{table.name}` — {table.kind}",
            "",
            table.meaning[0].upper() + table.meaning[1:] + ".",
            "",
            "| column | meaning | unit | source | not shown |",
            "|---|---|---|---|---|",
        ]
        for column in table.columns:
            cells = (f"`{column.name}`", column.meaning, column.unit, column.source, column.absent)
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
