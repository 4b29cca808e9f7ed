"""`list`: the copy answered offline, with the earlier tool's filter names where it has them.

Light on purpose: the console script sends `list` here without importing the fetching side
(trio, httpx), so an answer takes milliseconds (``_entry``). Each command parses its flags
into a filters value and prints what ``read.listing`` renders.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Literal

import cyclopts
from cyclopts import Parameter

from .._defaults import VERSION
from .._errors import EXIT_OK, EXIT_USAGE, TrioEnrichError, UsageError
from .._help import unused_tokens_message
from ..commands import console
from ..read.listing import committee_rows, list_rows
from ..read.queries import IssuerFilters, PoliticianFilters, TradeFilters
from .flags import whole

__all__ = ["export", "list_app", "news", "run_light", "serve"]

Output = Literal["table", "json", "ndjson", "csv", "md", "xml"]
TradeSort = Literal["published", "traded", "reporting-gap", "value"]
PoliticianSort = Literal["volume", "name", "issuers", "trades", "last-traded"]
IssuerSort = Literal["volume", "politicians", "trades", "last-traded", "market-cap"]

_DB = "The copy to read (opened read-only: never waits for or blocks a run)."
_OUTPUT = (
    "table (fits the terminal; the key columns), json (one array), ndjson (one object a line), "
    "csv, md (a Markdown table) or xml: every format holds the same rows and keys (docs/DATA.md)."
)
_LIMIT = "The most rows to print; 0: every row."
_SQL = (
    "Print the SQL statement instead of its rows: it reads the views every writer creates "
    "(docs/DATA.md), for the sqlite3 shell or any SQL tool."
)
_ASC = "Oldest, smallest or first in the alphabet first."
_REPEAT = " Repeat it for any of several."
_ONE_VALUE = "; a filter takes one value: repeat the flag for several (--party a --party b)"
_MOST_ROWS = 1_000_000_000
_MOST_USD = 10**12
_MOST_DAYS = 36_500  # a century (a negative gap, a filing's data-entry error, is shown, not chosen)

list_app = cyclopts.App(
    name="list",
    help=(
        "Answer questions from the copy offline: trades, politicians or issuers chosen by "
        "filters, in a table or a file format. Reads only; works beside a running update and "
        "on read-only media."
    ),
    default_parameter=Parameter(negative=()),
)


def _many(words: str) -> Parameter:
    """A filter that may be repeated (no default shown: nothing chosen means no filter)."""
    return Parameter(show_default=False, help=words)


def _limit(limit: int) -> int | None:
    return None if limit == 0 else limit


def _print(text: str) -> int:
    sys.stdout.write(text)
    return EXIT_OK


def _width() -> int:
    return shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80


@Parameter(name="*")
@dataclass(kw_only=True)
class TradeChoice:
    """The filters of `list trades` that `news` takes too (each narrows; a repeated one
    means any of its values)."""

    politician: Annotated[
        str | None,
        Parameter(
            help=(
                "A politician's id (P000197) or part of a name, without regard to case or accents."
            )
        ),
    ] = None
    party: Annotated[
        tuple[str, ...],
        _many("democrat, republican or other." + _REPEAT),
    ] = ()
    state: Annotated[
        tuple[str, ...],
        _many("The politician's state (ca, ny)." + _REPEAT),
    ] = ()
    chamber: Annotated[str | None, Parameter(help="house or senate.")] = None
    gender: Annotated[str | None, Parameter(help="female or male.")] = None
    committee: Annotated[
        tuple[str, ...],
        _many(
            (
                "Trades of the members of a committee, by its code (ssbk), per the stored rosters "
                "(`trio-enrich committees` reads them; `list committees` names the codes)."
                + _REPEAT
            ),
        ),
    ] = ()
    issuer: Annotated[str | None, Parameter(help="An issuer's id or part of its name.")] = None
    ticker: Annotated[tuple[str, ...], _many("NVDA (or NVDA:US)." + _REPEAT)] = ()
    sector: Annotated[
        tuple[str, ...],
        _many(
            ("The issuer's sector as the site writes it (information-technology)." + _REPEAT),
        ),
    ] = ()
    market_cap: Annotated[
        tuple[str, ...],
        _many(
            ("mega, large, mid, small, micro or nano (the site's classes)." + _REPEAT),
        ),
    ] = ()
    issuer_state: Annotated[tuple[str, ...], _many("The issuer's state." + _REPEAT)] = ()
    country: Annotated[tuple[str, ...], _many("The issuer's country (us)." + _REPEAT)] = ()
    tx_type: Annotated[
        tuple[str, ...],
        _many("buy, sell, exchange or receive." + _REPEAT),
    ] = ()
    owner: Annotated[
        tuple[str, ...],
        _many("self, spouse, joint, child or not-disclosed." + _REPEAT),
    ] = ()
    asset_type: Annotated[
        tuple[str, ...],
        _many(
            (
                "stock, stock-option, etf, mutual-fund, corporate-bond, ... (unknown: not yet "
                "enriched)." + _REPEAT
            ),
        ),
    ] = ()
    label: Annotated[
        tuple[str, ...],
        _many("A label the site gives trades." + _REPEAT),
    ] = ()
    trade_size: Annotated[
        tuple[str, ...],
        _many(
            (
                "A disclosed range: under-1k, 1k-15k, 15k-50k, 50k-100k, 100k-250k, 250k-500k, "
                "500k-1m, 1m-5m, 5m-25m, 25m-50m, over-50m." + _REPEAT
            ),
        ),
    ] = ()
    min_value: Annotated[
        int | None,
        whole(0, _MOST_USD),
        Parameter(help=("The least value in USD (a trade's value is its range's midpoint).")),
    ] = None
    max_value: Annotated[
        int | None, whole(0, _MOST_USD), Parameter(help="The most value in USD.")
    ] = None
    tx_since: Annotated[str | None, Parameter(help="Traded on or after YYYY-MM-DD.")] = None
    tx_until: Annotated[str | None, Parameter(help="Traded on or before YYYY-MM-DD.")] = None
    min_gap: Annotated[
        int | None,
        whole(0, _MOST_DAYS),
        Parameter(help=("The least reporting gap: days from the trade to its publication.")),
    ] = None
    max_gap: Annotated[
        int | None,
        whole(0, _MOST_DAYS),
        Parameter(help="The most reporting gap, in days."),
    ] = None
    late: Annotated[
        bool, Parameter(help="Only trades published over 45 days after they were made.")
    ] = False
    overlap: Annotated[
        bool,
        Parameter(
            help=(
                "Only trades in a sector that one of the member's committees (current rosters) "
                "oversees, per the committee-sectors mapping."
            )
        ),
    ] = False
    committee_sectors: Annotated[
        Path | None,
        Parameter(
            help=(
                "Your own committee-sectors mapping (CSV: committee,sectors,reason; sectors "
                "joined by ';') instead of the one trio-enrich ships (see docs/DATA.md)."
            )
        ),
    ] = None

    def filters(self, **more: object) -> TradeFilters:
        """These filters, with `more` (the window, the order, the limit)."""
        chosen = {f.name: getattr(self, f.name) for f in fields(self)}
        return TradeFilters(**chosen, **more)  # type: ignore[arg-type]


@Parameter(name="*")
@dataclass(kw_only=True)
class TradesShown:
    """How `list trades` and `news` show their trades: in which order, how many, as what."""

    sort_by: Annotated[TradeSort, Parameter(help="What to order by (newest first).")] = "published"
    asc: Annotated[bool, Parameter(help=_ASC)] = False
    limit: Annotated[int, whole(0, _MOST_ROWS), Parameter(help=_LIMIT)] = 100
    output: Annotated[Output, Parameter(help=_OUTPUT)] = "table"
    sql: Annotated[bool, Parameter(help=_SQL)] = False

    def order(self) -> dict[str, object]:
        """The filters' order and limit."""
        return {"sort_by": self.sort_by, "ascending": self.asc, "limit": _limit(self.limit)}


@list_app.command
def trades(
    *,
    db: Annotated[Path, Parameter(help=_DB)] = Path("capitoltraders.db"),
    choice: TradeChoice | None = None,
    since: Annotated[str | None, Parameter(help="Published on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, Parameter(help="Published on or before YYYY-MM-DD.")] = None,
    days: Annotated[
        int | None, whole(1, _MOST_DAYS), Parameter(help="Published in the last N days (UTC).")
    ] = None,
    shown: TradesShown | None = None,
) -> int:
    """Trades chosen by filters (each narrows; a repeated one means any of its values),
    newest published first."""
    shown = shown or TradesShown()
    filters = (choice or TradeChoice()).filters(since=since, until=until, days=days,
                                                **shown.order())  # fmt: skip
    text, _ = list_rows(db, filters, shown.output, width=_width(), show_sql=shown.sql)
    return _print(text)


@list_app.command
def politicians(
    *,
    db: Annotated[Path, Parameter(help=_DB)] = Path("capitoltraders.db"),
    name: Annotated[
        str | None, Parameter(help="An id or part of a name (any case, accents).")
    ] = None,
    party: Annotated[
        tuple[str, ...],
        _many("democrat, republican or other." + _REPEAT),
    ] = (),
    state: Annotated[tuple[str, ...], _many("A state (ca, ny)." + _REPEAT)] = (),
    chamber: Annotated[str | None, Parameter(help="house or senate.")] = None,
    committee: Annotated[
        tuple[str, ...],
        _many(
            ("Members of a committee, by its code, per the stored rosters." + _REPEAT),
        ),
    ] = (),
    issuer: Annotated[
        str | None, Parameter(help=("Those who traded an issuer: its id or part of its name."))
    ] = None,
    sort_by: Annotated[
        PoliticianSort, Parameter(help="What to order by (largest first).")
    ] = "volume",
    asc: Annotated[bool, Parameter(help=_ASC)] = False,
    limit: Annotated[int, whole(0, _MOST_ROWS), Parameter(help=_LIMIT)] = 100,
    output: Annotated[Output, Parameter(help=_OUTPUT)] = "table",
    sql: Annotated[bool, Parameter(help=_SQL)] = False,
) -> int:
    """Politicians chosen by filters, with their trades' count, issuers, volume and the day
    they last traded (as of the last complete sync)."""
    filters = PoliticianFilters(
        name=name, party=party, state=state, chamber=chamber, committee=committee,
        issuer=issuer, sort_by=sort_by, ascending=asc, limit=_limit(limit),
    )  # fmt: skip
    text, _ = list_rows(db, filters, output, width=_width(), show_sql=sql)
    return _print(text)


@list_app.command
def issuers(
    *,
    db: Annotated[Path, Parameter(help=_DB)] = Path("capitoltraders.db"),
    search: Annotated[str | None, Parameter(help="Part of a name, or a ticker.")] = None,
    sector: Annotated[tuple[str, ...], _many("A sector (energy)." + _REPEAT)] = (),
    market_cap: Annotated[
        tuple[str, ...],
        _many("mega, large, mid, small, micro or nano." + _REPEAT),
    ] = (),
    state: Annotated[tuple[str, ...], _many("The issuer's state." + _REPEAT)] = (),
    country: Annotated[tuple[str, ...], _many("The issuer's country." + _REPEAT)] = (),
    politician: Annotated[
        str | None, Parameter(help=("Those a politician traded: an id or part of a name."))
    ] = None,
    sort_by: Annotated[IssuerSort, Parameter(help="What to order by (largest first).")] = "volume",
    asc: Annotated[bool, Parameter(help=_ASC)] = False,
    limit: Annotated[int, whole(0, _MOST_ROWS), Parameter(help=_LIMIT)] = 100,
    output: Annotated[Output, Parameter(help=_OUTPUT)] = "table",
    sql: Annotated[bool, Parameter(help=_SQL)] = False,
) -> int:
    """Issuers chosen by filters, with their trades' count, politicians and volume."""
    filters = IssuerFilters(
        search=search, sector=sector, market_cap=market_cap, state=state, country=country,
        politician=politician, sort_by=sort_by, ascending=asc, limit=_limit(limit),
    )  # fmt: skip
    text, _ = list_rows(db, filters, output, width=_width(), show_sql=sql)
    return _print(text)


@list_app.command
def committees(*, output: Annotated[Output, Parameter(help=_OUTPUT)] = "table") -> int:
    """The committee codes `--committee` takes, with each committee's name and chamber."""
    return _print(committee_rows(output, width=_width()))


def news(
    *,
    db: Annotated[Path, Parameter(help=_DB)] = Path("capitoltraders.db"),
    since_run: Annotated[
        int | None,
        whole(1, _MOST_ROWS),
        Parameter(help="The trades first stored by run N (`trio_enrich_runs`) or a later one."),
    ] = None,
    since: Annotated[
        str | None, Parameter(help="The trades first stored on or after YYYY-MM-DD (UTC).")
    ] = None,
    watch: Annotated[
        tuple[str, ...],
        _many(
            "Only what these watch rules want, as `update --notify` sends it (see `update "
            "--help`: politician:ID, ticker:NVDA, party:democrat,min-value:250000, ...)." + _REPEAT
        ),
    ] = (),
    choice: TradeChoice | None = None,
    shown: TradesShown | None = None,
) -> int:
    """What is new: the trades the last run that found new trades stored first (or those
    since run N, or since a day), with the filters of `list trades`. The run that filled an
    empty copy is history, not news: --since-run lists it. Says on stderr which trades these
    are. Reads only."""
    from ..read.news import news_rows
    from ..read.watch import parse_rules

    if since is not None and since_run is not None:
        raise UsageError("--since and --since-run choose the same thing: give one")
    shown = shown or TradesShown()
    filters = (choice or TradeChoice()).filters(seen_since=since, watch=parse_rules(watch),
                                                **shown.order())  # fmt: skip
    text, count, words = news_rows(db, filters, shown.output, since_run=since_run,
                                   width=_width(), show_sql=shown.sql)  # fmt: skip
    limit = _limit(shown.limit)
    more = f" ({limit} shown: --limit 0 shows all)" if limit is not None and count > limit else ""
    print(f"news: {words}: {count:,}{more}", file=sys.stderr)
    return _print(text)


def export(
    folder: Annotated[Path, Parameter(help="The folder to write (made; must be empty).")],
    /,
    *,
    db: Annotated[Path, Parameter(help=_DB)] = Path("capitoltraders.db"),
    force: Annotated[bool, Parameter(help="Replace what the folder holds.")] = False,
    json: Annotated[bool, Parameter(help="Print the manifest on stdout.")] = False,
) -> int:
    """Write the copy as files: CSV and JSON Lines (and Parquet, with the parquet extra) for
    each table of data and for the views people read (a flat trade, politicians, issuers,
    committees), and manifest.json (the tool
    and schema versions, the last complete sync, each file's rows and sha256, and what every
    column means). From one snapshot of the copy, read-only; the folder is written aside and
    moved into place when complete.
    """
    from ..read.export import export_copy

    manifest = export_copy(db, folder, force=force)
    if json:
        import json as json_module

        print(json_module.dumps(manifest, ensure_ascii=False))
    else:
        files = manifest["files"]
        assert isinstance(files, list)
        rows = {str(f["table"]): int(f["rows"]) for f in files}
        print(f"export: {len(files)} files of {len(rows)} tables and views in {folder} "
              f"({rows.get('trades', 0)} trades); manifest.json lists each with its "
              "sha256")  # fmt: skip
    return EXIT_OK


def serve(
    *,
    db: Annotated[Path, Parameter(help=_DB)] = Path("capitoltraders.db"),
    host: Annotated[
        str,
        Parameter(
            help=(
                "The address to serve on: 127.0.0.1 (the default) only this machine reaches; "
                "another makes the copy readable to everyone who reaches that address."
            )
        ),
    ] = "127.0.0.1",
    port: Annotated[int, whole(1, 65_535), Parameter(help="The TCP port.")] = 8001,
) -> int:
    """Browse the copy in a web browser (Datasette): every table and view with its columns
    described, facets, canned questions, read-only. Needs the browse extra: pip install
    'trio-enrich[browse]'. A running update's new rows show at the next page load."""
    from ..read import browse
    from ..read.queries import meta_value, open_copy
    from ..storage.views import VIEWS_SIGNATURE

    if not browse.available():
        raise UsageError(
            "serve needs Datasette: pip install 'trio-enrich[browse]' (in the environment "
            "trio-enrich runs in)"
        )
    connection = open_copy(db)  # a capitoltraders database, or a one-line error
    try:
        last_sync = meta_value(connection, "ingest_meta", "last_sync_at")
        views = meta_value(connection, "trio_enrich_meta", "views")
    finally:
        connection.close()
    if views != VIEWS_SIGNATURE:
        print("serve: warning: this copy's views are not this trio-enrich's (a copy another "
              "version wrote last): the views and canned questions need them; any run that "
              "writes (sync, update) makes them", file=sys.stderr)  # fmt: skip
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"serve: on {host}: everyone who can reach this address can read the copy "
              "(read-only)", file=sys.stderr)  # fmt: skip
    print(f"serve: http://{host}:{port}/ (Ctrl-C stops it)", file=sys.stderr, flush=True)
    browse.serve(db, host, port, last_sync)
    return EXIT_OK


#: The read commands' own app, for the console script's light path (``_entry``).
_light = cyclopts.App(name="trio-enrich", version=VERSION, default_parameter=Parameter(negative=()))
_light.command(list_app)
_light.command(news)
_light.command(export)
_light.command(serve)


def run_light(argv: list[str]) -> int:
    """Run a read command without the fetching side; the exit code to leave with."""
    try:
        result = _light(argv, result_action="return_value", exit_on_error=False, print_error=False)
        sys.stdout.flush()  # here, where a closed pipe can still be told (not at exit)
    except cyclopts.UnusedCliTokensError as error:
        tokens = list(error.unused_tokens or [])
        console.error(unused_tokens_message(tokens, str(error)) + _ONE_VALUE)
        return EXIT_USAGE
    except (cyclopts.CycloptsError, TrioEnrichError) as error:
        console.error(str(error))
        return EXIT_USAGE
    except BrokenPipeError:
        return console.reader_gone()
    return result if isinstance(result, int) else EXIT_OK
