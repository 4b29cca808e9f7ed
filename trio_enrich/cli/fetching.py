"""The commands that fetch from the site (sync, trades, issuers, committees, update, check)
and status: each parses its flags and hands plain settings to ``commands.execute``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from .. import _defaults as defaults
from .._help import FLAG_HELP as _HELP
from .._model import DEFAULT_BASE_URL
from ..clients.answers import ClientName
from ..commands.console import log_begins as _log_begins
from .flags import (
    CommitteeFlags,
    EnrichFlags,
    IssuerFlags,
    SiteFlags,
    SyncFlags,
    UpdateFlags,
    number,
)  # fmt: skip

__all__ = ["check", "committees", "issuers", "status", "sync", "trades", "update"]


# --- trades / issuers ---------------------------------------------------------------------------


async def trades(flags: EnrichFlags | None = None) -> int:
    """Fetch the detail page of every trade not yet enriched and store what it adds.

    Adds asset type, filing URL and id, share counts, price, capital gains, committees and
    labels. Safe to stop and re-run: committed trades are never fetched again.
    """
    from ..commands import execute as _commands

    settings = (flags or EnrichFlags()).settings()
    _log_begins()
    return await _commands.run_trades(settings)


async def issuers(flags: IssuerFlags | None = None) -> int:
    """Fetch the detail page of every issuer not yet enriched and store what it adds.

    Adds stats, market performance and end-of-day price history. Safe to stop and re-run.
    Performance and prices change every trading day: --refresh-older-than 1d fetches again
    the issuers enriched more than a day ago (a page without performance keeps the stored one;
    prices are kept by date, so the history grows past the 20 days a page shows).
    """
    from ..commands import execute as _commands

    settings = (flags or IssuerFlags()).settings()
    _log_begins()
    return await _commands.run_issuers(settings)


# --- sync -----------------------------------------------------------------------------------------


async def sync(flags: SyncFlags | None = None) -> int:
    """Fetch trades listing pages into the database (trades, issuers, politicians, assets).

    Incremental by default: reads the newest pages until one reaches back past the newest
    trade of the last complete walk (or --since). --full, and the first sync of a database,
    walk every page concurrently; a walk cut short is recorded, and the next sync (or sync
    --full) reads only the pages it had not read. The cutoff moves only when a walk completes.
    Re-syncing never erases enriched values. Politician and issuer stats are recomputed.
    """
    from ..commands import execute as _commands

    settings = (flags or SyncFlags()).settings()
    _log_begins()
    return await _commands.run_sync(settings)


# --- committees -----------------------------------------------------------------------------


async def committees(flags: CommitteeFlags | None = None) -> int:
    """Read the members of every committee (48) and store them in politician_committees.

    The site's only source of memberships is the politicians listing filtered by committee:
    each committee's pages are read until its member count is reached. The memberships are
    replaced only when every committee was read completely, in one transaction; a run cut
    short changes nothing (exit 1 or 3). Members not yet in the database are added from
    their cards (name, party, state).
    """
    from ..commands import execute as _commands

    settings = (flags or CommitteeFlags()).settings()
    _log_begins()
    return await _commands.run_committees(settings)


# --- update -----------------------------------------------------------------------------------


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
    from ..commands import execute as _commands

    settings = (flags or UpdateFlags()).settings()
    _log_begins()
    return await _commands.run_update(settings)


# --- status ---------------------------------------------------------------------------------------


async def status(
    *,
    db: Annotated[Path, Parameter(help=_HELP["status_db"])] = Path("capitoltraders.db"),
    json: Annotated[bool, Parameter(help="Print one JSON object on stdout.")] = False,
) -> int:
    """Show where the database stands: per entity, total, enriched, pending, not found, failed.

    Reads only; changes nothing.
    """
    from ..commands import execute as _commands

    return await _commands.run_status(db=db, json=json)


# --- check ----------------------------------------------------------------------------------------


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
        float, number(0, 3600, above=True), Parameter(name="--timeout", help=_HELP["timeout"])
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
    from ..commands import execute as _commands

    flags = SiteFlags(db=db, base_url=base_url, client=client, timeout=deadline, json=json)
    return await _commands.run_check(flags.options(), db=db, json=json)
