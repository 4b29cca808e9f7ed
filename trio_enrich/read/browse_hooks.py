"""Datasette's plugin hooks for `serve` (imported only where Datasette is installed): a
trade's archived page shown as text, never run, and the link to it from the trade's row."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from datasette import hookimpl

from ..storage.archive import PageArchive, archive_path

__all__ = ["ARCHIVED", "register_routes", "render_cell"]

F = TypeVar("F", bound=Callable[..., Any])


def _hook(function: F) -> F:
    """Datasette's `hookimpl` marker, typed (Datasette ships no type information)."""
    return cast(F, hookimpl(function))


#: Where a trade's archived page is shown, by its tx_id.
ARCHIVED = "/-/archived/trades/"


def _page_html(tx_id: int, db: Path) -> tuple[int, str]:
    """The status and HTML of the page that shows trade `tx_id`'s archived page as text."""
    path = archive_path(db)
    page = None
    if path.exists():
        with PageArchive.open(path, read_only=True) as archive:
            page = archive.newest(f"/trades/{tx_id}")
    if page is None:
        words = (f"No archived page of trade {tx_id}: the runs that read it kept no pages "
                 "(--no-archive), or it was not read yet.")  # fmt: skip
        return 404, f"<!DOCTYPE html><title>Not archived</title><p>{html.escape(words)}</p>"
    text = page.body.decode("utf-8", errors="replace")
    return 200, (
        f"<!DOCTYPE html><title>Trade {tx_id}: the page as archived</title>"
        f"<h1>Trade {tx_id}: the page as archived</h1>"
        f"<p>{html.escape(page.url)}, HTTP {page.status}, fetched {html.escape(page.fetched_at)}"
        f", last seen {html.escape(page.seen_at)}; shown as text (nothing of it runs here).</p>"
        f'<p><a href="https://www.capitoltrades.com/trades/{tx_id}">the page on the site</a>'
        f'</p><pre style="white-space: pre-wrap">{html.escape(text)}</pre>'
    )


async def _archived_trade(datasette: Any, request: Any) -> Any:
    from datasette.utils.asgi import Response

    files = [Path(d.path) for d in datasette.databases.values() if getattr(d, "path", None)]
    status, body = await asyncio.to_thread(_page_html, int(request.url_vars["tx_id"]), files[0])
    # The archived page's own scripts must never run in the reader's browser.
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    return Response.html(body, status=status, headers={"Content-Security-Policy": policy})


@_hook
def register_routes() -> list[tuple[str, Any]]:
    return [(rf"^{ARCHIVED}(?P<tx_id>\d+)$", _archived_trade)]


@_hook
def render_cell(value: Any, column: str, table: str | None) -> Any:
    """A trade's id links to its archived page."""
    if table in ("trio_enrich_trades", "trades") and column == "tx_id" and value:
        from markupsafe import Markup

        number = int(value)
        return Markup(f'<a href="{ARCHIVED}{number}" title="the page as archived">'
                      f"{number}</a>")  # fmt: skip
    return None
