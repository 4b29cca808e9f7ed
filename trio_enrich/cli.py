"""The ``trio-enrich`` command line: thin commands over the library, mapped to exit codes.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker, the not-found guard or an unreachable site; 130 interrupted (SIGINT); 143
terminated (SIGTERM).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TextIO

import cyclopts
from cyclopts import Parameter, Token

from . import __version__
from . import _defaults as defaults
from ._answers import ClientName
from ._errors import (
    EXIT_BREAKER,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_USAGE,
    RunStopped,
    SiteUnavailable,
    TrioEnrichError,
    leaves,
)
from ._help import FLAG_HELP as _HELP
from ._help import unused_tokens_message
from ._model import DEFAULT_BASE_URL, ProgressMode
from ._settings import RateSpec, RunSettings, parse_max_rps, parse_refresh, parse_since

if TYPE_CHECKING:
    from rich.console import Console

    from ._enrich import EnrichOptions
    from ._progress import StampedLines

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "app", "main", "parse_max_rps"]

app = cyclopts.App(
    name="trio-enrich",
    help=(
        "Keep a local SQLite copy of Capitol Trades (capitoltrades.com) complete: fetch the "
        "detail page of every trade and issuer, politely and concurrently, and write what it "
        "adds into a capitoltraders.db.\n\n"
        "Exit codes: 0 done; 1 finished with item failures (or a sync that did not reach its "
        "end); 2 usage or input error, nothing changed; 3 stopped, run it again: by the "
        "circuit breaker, the not-found guard, a site that refuses the run (blocked, or a "
        "layout this version does not read), a site that cannot be reached, a robots.txt that "
        "cannot be read, or a write that failed (a full disk); 130 interrupted; 141 the "
        "output's reader went away; 143 terminated."
    ),
    version=__version__,
    backend="trio",
    default_parameter=Parameter(negative=()),
)


def _error(message: str) -> None:
    if _run_log is not None:
        _run_log.error()
    print(f"trio-enrich: error: {' '.join(message.split())}", file=sys.stderr)


_WHOLE = re.compile(r"[+-]?\d+")
# A decimal number as people write it: no nan, inf, hex or underscores.
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _whole(low: int, high: int) -> Parameter:
    """A flag's whole number from `low` to `high`: `2.5` is refused, not cut to 2 (cyclopts'
    int would), and so is a number out of range, with the range named."""

    def convert(type_: object, tokens: Sequence[Token]) -> int:
        text = tokens[0].value.strip()
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"{text!r} is not a whole number (give one from {low} to {high})")
        number = int(text)
        if not low <= number <= high:
            raise ValueError(f"{text} is out of range: give a whole number from {low} to {high}")
        return number

    return Parameter(converter=convert)


def _number(low: float, high: float, *, above: bool = False) -> Parameter:
    """A flag's decimal number from `low` (or above it) to `high`; not-a-number, infinities
    and numbers out of range are refused with the range named."""
    shown = f"{'above' if above else 'from'} {low:g} to {high:g}"

    def convert(type_: object, tokens: Sequence[Token]) -> float:
        text = tokens[0].value.strip()
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{text!r} is not a number (give one {shown})")
        number = float(text)
        if number < low or (above and number == low) or number > high:
            raise ValueError(f"{text} is out of range: give a number {shown}")
        return number

    return Parameter(converter=convert)


#: Upper bounds of flags that have no natural one: beyond them a value is a typing error.
_MANY = 1_000_000_000
_LONGEST_MS = 86_400_000  # a day


@Parameter(name="*")
@dataclass(kw_only=True)
class SiteFlags:
    """Options of every command that talks to the site."""

    db: Annotated[Path, Parameter(help=_HELP["db"])] = Path("capitoltraders.db")
    base_url: Annotated[
        str,
        Parameter(env_var="CAPITOLTRADES_BASE_URL", help=_HELP["base_url"], metavar="URL"),
    ] = DEFAULT_BASE_URL
    client: Annotated[ClientName, Parameter(env_var="TRIO_ENRICH_CLIENT", help=_HELP["client"])] = (
        "httpx"
    )
    concurrency: Annotated[int, _whole(1, 10), Parameter(help=_HELP["concurrency"])] = (
        defaults.CONCURRENCY
    )
    max_failures: Annotated[int, _whole(1, _MANY), Parameter(help=_HELP["max_failures"])] = (
        defaults.MAX_FAILURES
    )
    details_delay_ms: Annotated[
        int | None, _whole(0, _LONGEST_MS), Parameter(help=_HELP["delay"], show_default=False)
    ] = None
    max_rps: Annotated[str | None, Parameter(help=_HELP["max_rps"], metavar="R|auto|auto:R")] = None
    retry_max: Annotated[
        int,
        _whole(0, 100),
        Parameter(env_var="CAPITOLTRADES_RETRY_MAX", help=_HELP["retry_max"]),
    ] = defaults.RETRIES
    retry_base_ms: Annotated[
        int,
        _whole(0, _LONGEST_MS),
        Parameter(env_var="CAPITOLTRADES_RETRY_BASE_MS", help=_HELP["base"]),
    ] = round(defaults.RETRY_BASE * 1000)
    retry_max_ms: Annotated[
        int,
        _whole(0, _LONGEST_MS),
        Parameter(env_var="CAPITOLTRADES_RETRY_MAX_MS", help=_HELP["cap"]),
    ] = round(defaults.RETRY_CAP * 1000)
    timeout: Annotated[float, _number(0, 3600, above=True), Parameter(help=_HELP["timeout"])] = (
        defaults.DEADLINE
    )
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto"
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False
    wait: Annotated[bool, Parameter(help=_HELP["wait"])] = False
    ignore_robots_disallow: Annotated[bool, Parameter(help=_HELP["ignore_robots"])] = False
    no_archive: Annotated[bool, Parameter(help=_HELP["no_archive"])] = False

    def rate(self) -> RateSpec:
        return parse_max_rps(self.max_rps)

    def settings(self) -> RunSettings:
        """What the command is asked to do (validated before anything is opened)."""
        return RunSettings(
            db=self.db, options=self.options(), progress=self.progress, json=self.json,
            wait=self.wait, ignore_robots_disallow=self.ignore_robots_disallow,
            archive=not self.no_archive,
        )  # fmt: skip

    def options(self) -> EnrichOptions:
        from ._enrich import EnrichOptions
        from ._http import check_base_url
        from ._pipeline import RetryPolicy

        rate = self.rate()
        if self.client == "browser":
            from ._browser import require_browser

            require_browser()  # before anything is opened: a one-line error without the extra
        delay_ms = self.details_delay_ms
        if delay_ms is None:
            delay_ms = 0 if rate.auto else round(defaults.DELAY * 1000)
        return EnrichOptions(
            base_url=check_base_url(self.base_url),
            concurrency=self.concurrency,
            max_failures=self.max_failures,
            delay=delay_ms / 1000,
            max_rps=rate.value,
            auto=rate.auto,
            retry=RetryPolicy(
                max_retries=self.retry_max,
                base=self.retry_base_ms / 1000,
                cap=self.retry_max_ms / 1000,
            ),
            deadline=self.timeout,
            client=self.client,
        )


@Parameter(name="*")
@dataclass(kw_only=True)
class EnrichFlags(SiteFlags):
    """Options of `trades` and `issuers`."""

    batch_size: Annotated[int | None, _whole(1, _MANY), Parameter(help=_HELP["batch_size"])] = None
    not_found_guard: Annotated[int, _whole(1, _MANY), Parameter(help=_HELP["guard"])] = (
        defaults.NOT_FOUND_GUARD
    )
    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False
    retry_failed: Annotated[bool, Parameter(help=_HELP["retry_failed"])] = False

    def options(self) -> EnrichOptions:
        return replace(
            super().options(),
            not_found_guard=self.not_found_guard,
            limit=self.batch_size,
            retry_failed=self.retry_failed,
        )

    def settings(self) -> RunSettings:
        return replace(super().settings(), dry_run=self.dry_run)


@Parameter(name="*")
@dataclass(kw_only=True)
class IssuerFlags(EnrichFlags):
    """Options of `issuers`."""

    refresh_older_than: Annotated[
        str | None,
        Parameter(help=_HELP["refresh"], metavar="DURATION", allow_leading_hyphen=True),
    ] = None

    def options(self) -> EnrichOptions:
        refresh = None
        if self.refresh_older_than is not None:
            refresh = parse_refresh(self.refresh_older_than)
        return replace(super().options(), refresh_older_than=refresh)


@Parameter(name="*")
@dataclass(kw_only=True)
class SyncFlags(SiteFlags):
    """Options of `sync`."""

    db: Annotated[Path, Parameter(help=_HELP["sync_db"])] = Path("capitoltraders.db")
    full: Annotated[bool, Parameter(help=_HELP["full"])] = False
    since: Annotated[str | None, Parameter(help=_HELP["since"], metavar="YYYY-MM-DD")] = None
    pages: Annotated[int | None, _whole(1, _MANY), Parameter(help=_HELP["pages"])] = None
    page_size: Annotated[int, _whole(1, 100), Parameter(help=_HELP["page_size"])] = (
        defaults.PAGE_SIZE
    )

    def settings(self) -> RunSettings:
        from ._sync import SyncOptions

        since = parse_since(self.since, full=self.full)
        settings = super().settings()
        walk = SyncOptions(enrich=settings.options, full=self.full, since=since,
                           max_pages=self.pages, page_size=self.page_size)  # fmt: skip
        return replace(settings, sync=walk)


# --- trades / issuers ---------------------------------------------------------------------------


@app.command
async def trades(flags: EnrichFlags | None = None) -> int:
    """Fetch the detail page of every trade not yet enriched and store what it adds.

    Adds asset type, filing URL and id, share counts, price, capital gains, committees and
    labels. Safe to stop and re-run: committed trades are never fetched again.
    """
    from . import _commands

    settings = (flags or EnrichFlags()).settings()
    _log_begins()
    return await _commands.run_job("trades", settings)


@app.command
async def issuers(flags: IssuerFlags | None = None) -> int:
    """Fetch the detail page of every issuer not yet enriched and store what it adds.

    Adds stats, market performance and end-of-day price history. Safe to stop and re-run.
    Performance and prices change every trading day: --refresh-older-than 1d fetches again
    the issuers enriched more than a day ago (a page without performance keeps the stored one;
    prices are kept by date, so the history grows past the 20 days a page shows).
    """
    from . import _commands

    settings = (flags or IssuerFlags()).settings()
    _log_begins()
    return await _commands.run_job("issuers", settings)


# --- sync -----------------------------------------------------------------------------------------


@app.command
async def sync(flags: SyncFlags | None = None) -> int:
    """Fetch trades listing pages into the database (trades, issuers, politicians, assets).

    Incremental by default: reads the newest pages until one reaches back past the newest
    trade of the last complete walk (or --since). --full, and the first sync of a database,
    walk every page concurrently; a walk cut short is recorded, and the next sync (or sync
    --full) reads only the pages it had not read. The cutoff moves only when a walk completes.
    Re-syncing never erases enriched values. Politician and issuer stats are recomputed.
    """
    from . import _commands

    settings = (flags or SyncFlags()).settings()
    _log_begins()
    return await _commands.run_sync(settings)


# --- committees -----------------------------------------------------------------------------


@Parameter(name="*")
@dataclass(kw_only=True)
class CommitteeFlags(SiteFlags):
    """Options of `committees`."""

    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False

    def settings(self) -> RunSettings:
        return replace(super().settings(), dry_run=self.dry_run)


@app.command
async def committees(flags: CommitteeFlags | None = None) -> int:
    """Read the members of every committee (48) and store them in politician_committees.

    The site's only source of memberships is the politicians listing filtered by committee:
    each committee's pages are read until its member count is reached. The memberships are
    replaced only when every committee was read completely, in one transaction; a run cut
    short changes nothing (exit 1 or 3). Members not yet in the database are added from
    their cards (name, party, state).
    """
    from . import _commands

    settings = (flags or CommitteeFlags()).settings()
    _log_begins()
    return await _commands.run_committees(settings)


# --- update -----------------------------------------------------------------------------------


@Parameter(name="*")
@dataclass(kw_only=True)
class UpdateFlags(SiteFlags):
    """Options of `update`."""

    db: Annotated[Path, Parameter(help=_HELP["sync_db"])] = Path("capitoltraders.db")
    full: Annotated[bool, Parameter(help=_HELP["full"])] = False
    refresh_older_than: Annotated[
        str,
        Parameter(help=_HELP["update_refresh"], metavar="DURATION", allow_leading_hyphen=True),
    ] = defaults.REFRESH
    not_found_guard: Annotated[int, _whole(1, _MANY), Parameter(help=_HELP["guard"])] = (
        defaults.NOT_FOUND_GUARD
    )
    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False

    def options(self) -> EnrichOptions:
        return replace(super().options(), not_found_guard=self.not_found_guard,
                       refresh_older_than=parse_refresh(self.refresh_older_than))  # fmt: skip

    def settings(self) -> RunSettings:
        return replace(super().settings(), dry_run=self.dry_run, full=self.full)


@app.command
async def update(flags: UpdateFlags | None = None) -> int:
    """Bring the whole copy up to date in one command (made for cron): sync, then trades,
    issuers and committees.

    sync is incremental (or --full; the first update of a new database walks every page);
    trades and issuers fetch what is pending, and issuers enriched longer ago than
    --refresh-older-than (default 1d) are fetched again; committees reads every committee's
    members. One progress display per stage, one summary per stage and a last line (or one
    JSON object with --json). Exit code: the most severe of the stages; a stage stopped by the
    circuit breaker, the not-found guard or an unreachable site stops the stages after it.
    """
    from . import _commands

    settings = (flags or UpdateFlags()).settings()
    _log_begins()
    return await _commands.run_update(settings)


# --- status ---------------------------------------------------------------------------------------


@app.command
async def status(
    *,
    db: Annotated[Path, Parameter(help=_HELP["status_db"])] = Path("capitoltraders.db"),
    json: Annotated[bool, Parameter(help="Print one JSON object on stdout.")] = False,
) -> int:
    """Show where the database stands: per entity, total, enriched, pending, not found, failed.

    Reads only; changes nothing.
    """
    from . import _commands

    return await _commands.run_status(db=db, json=json)


# --- check ----------------------------------------------------------------------------------------


@app.command
async def check(
    *,
    db: Annotated[Path, Parameter(help=_HELP["check_db"])] = Path("capitoltraders.db"),
    base_url: Annotated[
        str,
        Parameter(env_var="CAPITOLTRADES_BASE_URL", help=_HELP["base_url"], metavar="URL"),
    ] = DEFAULT_BASE_URL,
    client: Annotated[
        ClientName, Parameter(env_var="TRIO_ENRICH_CLIENT", help=_HELP["client"])
    ] = "httpx",
    deadline: Annotated[
        float, _number(0, 3600, above=True), Parameter(name="--timeout", help=_HELP["timeout"])
    ] = defaults.DEADLINE,
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False,
) -> int:
    """Before a big run, learn in a few requests whether the site gives this client its data.

    Reads robots.txt, listing page 1, one trade's page, one issuer's page and one committee's
    listing (the ids from --db when it exists, else from page 1): at most 6 requests, paced
    as a run is. For each page: its status, time, size and what its reader found. Then a
    verdict: ok (exit 0; a page robots.txt disallows is skipped and named, as a run skips
    its stage), or blocked, layout changed, unreachable, disallowed by robots.txt (every
    page) (exit 3), with what to try. Changes nothing.
    """
    from . import _commands

    flags = SiteFlags(db=db, base_url=base_url, client=client, timeout=deadline, json=json)
    return await _commands.run_check(flags.options(), db=db, json=json)


# --- the page archive -----------------------------------------------------------------------------

ReparseKind = Literal["trades", "issuers", "committees", "listing"]


@app.command
async def reparse(
    *kinds: ReparseKind,
    db: Annotated[Path, Parameter(help=_HELP["archive_db"])] = Path("capitoltraders.db"),
    dry_run: Annotated[bool, Parameter(help=_HELP["reparse_dry_run"])] = False,
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto",
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False,
    wait: Annotated[bool, Parameter(help=_HELP["wait"])] = False,
) -> int:
    """Read the pages kept in the archive again with this version's readers and write what
    they give, sending no request (all four kinds unless some are named).

    For after an upgrade that mends a reader: pages that failed (unreadable, blocked-shaped,
    layout changed) and now read are enriched; values that differ from the stored ones are
    counted and a few shown, and written under the same rules as a fetch (a missing value
    never erases one). Exit 1 when pages of a layout the readers do not know remain.
    """
    from . import _archive_commands

    chosen: list[ReparseKind] = list(dict.fromkeys(kinds)) or [
        "listing",
        "trades",
        "issuers",
        "committees",
    ]
    _log_begins()
    return await _archive_commands.run_reparse(
        db, chosen, dry_run=dry_run, json=json, progress=progress, wait=wait
    )


@app.command
async def page(
    what: str,
    /,
    *,
    db: Annotated[Path, Parameter(help=_HELP["archive_db"])] = Path("capitoltraders.db"),
    issuer: Annotated[bool, Parameter(help="An id names an issuer, not a trade.")] = False,
    version: Annotated[str | None, Parameter(help=_HELP["page_version"], metavar="HASH")] = None,
    rows: Annotated[bool, Parameter(help=_HELP["page_rows"])] = False,
    json: Annotated[bool, Parameter(help="One JSON object: the page and its record.")] = False,
) -> int:
    """Print a page kept in the archive, as the site sent it: WHAT is a URL, a path
    (/trades/7, /issuers/5, /trades?page=2) or the id of a trade (of an issuer with the
    issuer flag).

    For checking a stored value against its page, or attaching the page to a bug report.
    """
    from . import _archive_commands

    kind: Literal["trade", "issuer"] = "issuer" if issuer else "trade"
    return await _archive_commands.run_page(
        db, what, kind=kind, version=version, rows=rows, json=json
    )


archive_app = cyclopts.App(
    name="archive",
    help="Look after the page archive, the file beside the database where runs keep pages.",
)
app.command(archive_app)


@archive_app.command
async def prune(
    *,
    keep: Annotated[int, _whole(1, _MANY), Parameter(help=_HELP["prune_keep"])],
    db: Annotated[Path, Parameter(help=_HELP["archive_db"])] = Path("capitoltraders.db"),
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False,
    wait: Annotated[bool, Parameter(help=_HELP["wait"])] = False,
) -> int:
    """Keep the newest N versions of each archived page (and every page a stored value came
    from); remove the rest and compact the file."""
    from . import _archive_commands

    return await _archive_commands.run_prune(db, keep, json=json, wait=wait)


# --- demo -----------------------------------------------------------------------------------------


@app.command
async def demo(
    *,
    db: Annotated[Path | None, Parameter(help=_HELP["demo_db"])] = None,
    trades: Annotated[int, _whole(12, 50_000), Parameter(help=_HELP["demo_trades"])] = 1500,
    seed: Annotated[
        int, _whole(0, 2**32 - 1), Parameter(help="Seed of the simulated site's data.")
    ] = 1,
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto",
) -> int:
    """Try the whole tool offline: `update` (sync, trades, issuers, committees) against a
    simulated site.

    Starts a simulated capitoltrades.com on a free loopback port (the realistic profile: ~20 ms
    latency, occasional 5xx and 429 with Retry-After), runs `update` into a fresh database
    with a progress bar per stage, then prints the status and the database's path.
    """
    from ._demo import run_demo

    _log_begins()
    return await run_demo(db=db, trades=trades, seed=seed, progress=progress)


@app.command
async def sim(
    *,
    port: Annotated[int, _whole(0, 65535)] = 8765,
    seed: Annotated[int, _whole(0, 2**32 - 1)] = 1,
    profile: Literal["clean", "realistic", "hostile", "limited", "lockout", "loaded"] = "clean",
    trades: Annotated[int, _whole(1, 1_000_000)] = 5_000,
    latency_ms: Annotated[float | None, _number(0, 60_000)] = None,
    shape: Literal["live", "object"] = "live",
    retry_after: Annotated[float | None, _number(0, 86_400)] = None,
    log: Path | None = None,
    rate_limit: Annotated[float | None, _number(0, 1_000_000, above=True)] = None,
    burst: Annotated[float | None, _number(1, 1_000_000)] = None,
    lockout_seconds: Annotated[float | None, _number(0, 86_400, above=True)] = None,
    rate_window: Annotated[float | None, _number(0, 3600, above=True)] = None,
    rate_headers: Literal["ratelimit", "ratelimit-legacy", "x-ratelimit"] | None = None,
    limit_status: Literal[429, 503] | None = None,
    capacity: Annotated[int | None, _whole(1, 100_000)] = None,
    robots_txt: Path | None = None,
    robots_status: Annotated[int | None, _whole(100, 599)] = None,
    site: Literal["normal", "cdn", "vercel", "shell", "changed"] = "normal",
) -> int:
    """Serve a simulated capitoltrades.com on 127.0.0.1, for trying trio-enrich offline.

    Pages are in the real site's format, made from a deterministic dataset; the profile adds
    faults (latency, 429 with Retry-After, 5xx bursts, resets, hangs, truncated and oversized
    bodies, not-found and error pages). Point trio-enrich at it with --base-url. Ctrl-C stops it.

    It serves the committee listings too (/politicians?committee=CODE&page=N, 12 cards a
    page). Control endpoints (no faults, no latency, not logged): GET /_sim/truth (the dataset
    as JSON, committee rosters included: the ground truth to compare a database with),
    /_sim/stats (requests served, most in flight, server CPU), /_sim/log (every request as
    JSON lines) and /_sim/publish?count=N (publish N new trades at the top of the listing;
    answers their ids) and /_sim/inject?fault=NAME&count=N (give the next N requests a
    fault: 429, 503, reset, ...) and /_sim/reprice (a new trading day: every issuer's
    performance and prices change).

    Parameters
    ----------
    port
        TCP port on 127.0.0.1; 0 picks a free one (the address is printed).
    seed
        Seed of the dataset and of the faults: the same seed gives the same site.
    profile
        Faults: clean (none), realistic (about 150 ms latency, 1% 5xx, 0.5% 429), hostile
        (every fault at once), limited (a hidden limit of 20 requests/s, burst 5), lockout
        (the same, refusing everything for 5 s after a violation) or loaded (4 requests
        served at once, ~50 ms each: latency grows with load, 503 beyond a queue of 12).
    trades
        Number of trades in the dataset (issuers and politicians follow from them).
    latency_ms
        Fixed latency for every request, in milliseconds, instead of the profile's.
    shape
        Trade detail page shape: live (value/label spans, as the site is reported to serve
        now) or object (a full trade object).
    retry_after
        Seconds that a 429 answer asks the client to wait (Retry-After), instead of the
        profile's.
    log
        Write the request log (JSON lines) to this file when stopping.
    rate_limit
        A hidden rate limit: a token bucket of this many requests a second (429 with
        Retry-After when it is empty). Profiles limited and lockout have 20.
    burst
        The rate limit's bucket size (default 5).
    lockout_seconds
        After a request over the rate limit, refuse every request for this long.
    rate_window
        Make the rate limit fixed windows of this many seconds, each allowing rate-limit
        times this many requests, instead of a bucket.
    rate_headers
        State the rate limit in every answer's headers: ratelimit (the IETF draft's
        RateLimit-Policy and RateLimit), ratelimit-legacy (RateLimit-Limit, -Remaining,
        -Reset and RateLimit-Policy) or x-ratelimit (X-RateLimit-Limit, -Remaining, -Reset
        as a Unix time).
    limit_status
        The status of the rate limit's refusals: 429 (default) or 503 (with Retry-After).
    capacity
        Requests served at once; more wait (latency grows with load), and beyond a queue
        of 20 (12 in profile loaded) the site answers 503. Profile loaded has 4.
    robots_txt
        Serve this file as /robots.txt (default: 404, no rules).
    robots_status
        Answer /robots.txt with this status instead (a 503 makes robots.txt unreachable).
    site
        The site as a refused client meets it: cdn (CloudFront's 403 page to any client
        without a browser's headers; --client browser gets through), vercel (Vercel's
        Security Checkpoint to every client: HTTP 429, x-vercel-mitigated: challenge),
        shell (every page its layout without data) or changed (the data under keys the
        readers do not know).
    """
    import trio

    from .sim._command import read_robots_file, serve_until_signal

    robots = await trio.to_thread.run_sync(read_robots_file, robots_txt) if robots_txt else None
    return await serve_until_signal(
        port=port, seed=seed, profile=profile, trades=trades, latency_ms=latency_ms,
        shape=shape, retry_after=retry_after, log=log,
        overrides={"rate_limit": rate_limit, "rate_limit_burst": burst,
                   "lockout_seconds": lockout_seconds, "rate_window": rate_window,
                   "rate_headers": rate_headers, "limit_status": limit_status,
                   "capacity": capacity,
                   "robots_txt": robots, "robots_status": robots_status, "site_mode": site},
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    global _run_log
    _run_log = _RunLog(args) if _logs_by_line(args) else None
    try:
        return _main(args)
    finally:
        if _run_log is not None:
            _run_log.end()
            _run_log = None


class _RunLog:
    """A run's log read by night: once its flags are taken (`begin`, from the command), every
    line written, to either stream, starts with the local time, up to the last (an error
    that stops the run included), and the first the run writes is preceded by a line naming
    the version, command, pid, database and start. Standard output that carries one JSON
    object is left as it is. Bad input is one line, as ever: a usage error is said before
    the log begins, and an error before the run wrote anything comes alone (`error`)."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self._saved: tuple[TextIO, TextIO] | None = None
        self._streams: list[StampedLines] = []

    def begin(self) -> None:
        from ._progress import StampedLines, local_time

        if self._saved is not None:
            return
        args = self.args
        db = _flag_value(args, "--db")
        where = "a new one in a temporary folder" if db is None and args[0] == "demo" else None
        first = (
            f"trio-enrich {__version__}: {' '.join(['trio-enrich', *args])} (pid {os.getpid()});"
            f" database {where or Path(db or 'capitoltraders.db').absolute()};"
            f" started {local_time()}\n"
        )
        self._saved = sys.stdout, sys.stderr
        self._streams = [StampedLines(sys.stderr)]
        if "--json" not in args:
            self._streams.append(StampedLines(sys.stdout))
        sys.stderr = self._streams[0]
        if len(self._streams) > 1:
            sys.stdout = self._streams[1]

        def header() -> None:
            self.error()  # (once: whichever stream is written first)
            self._streams[0].write(first)

        for stream in self._streams:
            stream.before_first = header

    def error(self) -> None:
        """An error ends the run: it is said alone when the run wrote nothing before it."""
        for stream in self._streams:
            stream.before_first = None

    def end(self) -> None:
        if self._saved is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = self._saved
            self._saved = None


_run_log: _RunLog | None = None


def _log_begins() -> None:
    """Called by a run command once its flags are taken (see _RunLog)."""
    if _run_log is not None:
        _run_log.begin()


#: The commands that run with progress: in log mode every line they write is timestamped.
_RUN_COMMANDS = frozenset({"sync", "trades", "issuers", "committees", "update", "reparse", "demo"})


def _flag_value(args: Sequence[str], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg.partition("=")[2]
    return None


def _logs_by_line(args: Sequence[str]) -> bool:
    """A run whose progress is log lines (`--progress log`, or `auto` off a terminal: cron):
    then every line it writes, to either stream, starts with the local time."""
    if not args or args[0] not in _RUN_COMMANDS or {"-h", "--help"} & set(args):
        return False
    mode = _flag_value(args, "--progress") or "auto"
    return mode == "log" or (mode == "auto" and not sys.stderr.isatty())


def _main(args: list[str]) -> int:
    try:
        return _invoke(args)
    except cyclopts.UnusedCliTokensError as error:
        _error(unused_tokens_message(list(error.unused_tokens or []), str(error)))
        return EXIT_USAGE
    except cyclopts.CycloptsError as error:
        _error(str(error))
        return EXIT_USAGE
    except (SiteUnavailable, RunStopped) as error:
        return _failed(args, str(error), EXIT_BREAKER)
    except TrioEnrichError as error:
        return _failed(args, str(error), EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)


def _failed(args: list[str], message: str, code: int) -> int:
    """A command that stopped with an error once its flags were taken: the one-line error,
    and with --json its object all the same (a script reading stdout gets one every time)."""
    _error(message)
    if "--json" in args:
        import json

        words = [arg for arg in args if not arg.startswith("-")][:2]
        job = " ".join(words[:2] if words[:1] == ["archive"] else words[:1])
        print(json.dumps({"job": job, "exit_code": code, "error": " ".join(message.split())}),
              flush=True)  # fmt: skip
    return code


def run_and_exit_code() -> int:
    """`main`, and the exit code to leave with (see ``_entry.entry``, the console script).

    Once the run is over, a late second Ctrl-C (or SIGTERM) must not kill the process on its
    way out, which would replace our exit code with the signal's.
    """
    try:
        code = main()
        sys.stdout.flush()  # here, where a closed pipe can still be told (not at exit)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = _reader_gone()
    return code


def _console_for_pipes() -> Console:
    """rich's console, but a closed pipe is told to us (rich would exit 1 by itself)."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole()


def _reader_gone() -> int:
    """The output's reader closed it (`trio-enrich status | head -1`): no traceback, and the
    status a shell gives a program that a closed pipe stopped. What was written to the
    database stays written: every command prints after its commits. Python would try to
    flush the dead pipe again at exit, so standard output now goes nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE_CLOSED


def _invoke(args: list[str]) -> int:
    if any(arg in ("-h", "--help", "--version") for arg in args):
        app.console = _console_for_pipes()  # (rich is imported for help anyway)
    # Errors raised inside a nursery arrive grouped; unwrap ours so they print as one line,
    # every one of them (two tasks can fail at once: say both).
    try:
        result = app(args, result_action="return_value", exit_on_error=False, print_error=False)
    except* TrioEnrichError as group:
        errors = leaves(group)
        if len(errors) == 1:
            raise errors[0] from None
        joined = "; ".join(dict.fromkeys(str(error) for error in errors))
        raise TrioEnrichError(joined) from group
    except* KeyboardInterrupt:
        raise KeyboardInterrupt from None
    except* BrokenPipeError as group:
        raise leaves(group)[0] from None
    return result if isinstance(result, int) else EXIT_OK
