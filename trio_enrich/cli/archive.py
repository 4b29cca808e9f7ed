"""The page archive's commands: reparse, page, archive prune."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from .._help import FLAG_HELP as _HELP
from .._model import ProgressMode
from ..commands.console import log_begins as _log_begins
from .flags import MANY, whole

__all__ = ["ARCHIVE_HELP", "page", "prune", "reparse"]

ARCHIVE_HELP = "Look after the page archive, the file beside the database where runs keep pages."

ReparseKind = Literal["trades", "issuers", "committees", "listing"]


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
    from ..commands import archive as _archive_commands

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
    from ..commands import archive as _archive_commands

    kind: Literal["trade", "issuer"] = "issuer" if issuer else "trade"
    return await _archive_commands.run_page(
        db, what, kind=kind, version=version, rows=rows, json=json
    )


async def prune(
    *,
    keep: Annotated[int, whole(1, MANY), Parameter(help=_HELP["prune_keep"])],
    db: Annotated[Path, Parameter(help=_HELP["archive_db"])] = Path("capitoltraders.db"),
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False,
    wait: Annotated[bool, Parameter(help=_HELP["wait"])] = False,
) -> int:
    """Keep the newest N versions of each archived page (and every page a stored value came
    from); remove the rest and compact the file."""
    from ..commands import archive as _archive_commands

    return await _archive_commands.run_prune(db, keep, json=json, wait=wait)
