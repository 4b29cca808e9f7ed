"""Datasette's plugin hooks for `serve` (imported only where Datasette is installed): a
trade's archived page shown as text, never run, and the link to it from the trade's row; the
charts' pages (drawn by `read.charts`), and the menu's link to them."""

from __future__ import annotations

import asyncio
import html
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from datasette import hookimpl

from ..storage.archive import PageArchive, archive_path
from . import charts

__all__ = [
    "ARCHIVED",
    "CHARTS",
    "extra_body_script",
    "handle_exception",
    "menu_links",
    "register_routes",
    "render_cell",
]

F = TypeVar("F", bound=Callable[..., Any])


def _hook(function: F) -> F:
    """Datasette's `hookimpl` marker, typed (Datasette ships no type information)."""
    return cast(F, hookimpl(function))


#: Where a trade's archived page is shown, by its tx_id.
ARCHIVED = "/-/archived/trades/"
#: Where the charts are.
CHARTS = "/-/charts"


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


_CHART_PAGES = (
    (CHARTS, "Trades per month by party"),
    (f"{CHARTS}/member", "A member's trades"),
    (f"{CHARTS}/ticker", "A ticker's closes and trades"),
)


async def _rows(datasette: Any, sql: str, parameters: dict[str, object]) -> list[tuple[Any, ...]]:
    results = await datasette.get_database().execute(sql, parameters)
    return [tuple(row) for row in results.rows]


async def _chart_page(datasette: Any, request: Any, here: str, **context: Any) -> Any:
    from datasette.utils.asgi import Response

    title = dict(_CHART_PAGES)[here]
    page = {"title": title, "pages": _CHART_PAGES, "here": here, "field": None, "chart": None,
            "message": None, "choices": None, "rows_href": None, **context}  # fmt: skip
    body = await datasette.render_template("trio_enrich_charts.html", page, request=request)
    return Response.html(body)


async def _party_chart(datasette: Any, request: Any) -> Any:
    rows = await _rows(datasette, charts.MONTHLY_SQL, {})
    chart = charts.monthly_bars(rows, charts.PARTY_COLOURS, "Trades per month by party")
    table = datasette.urls.table(datasette.get_database().name, "trio_enrich_trades")
    return await _chart_page(datasette, request, CHARTS, chart=chart, rows_href=table)


async def _member_chart(datasette: Any, request: Any) -> Any:
    asked = request.args.get("member", "").strip()
    field = {"name": "member", "label": "Member (id or part of the name):", "value": asked,
             "example": "P000197 or Pelosi"}  # fmt: skip
    here = f"{CHARTS}/member"
    if not asked:
        return await _chart_page(datasette, request, here, field=field)
    found = await _rows(datasette, charts.MEMBERS_SQL, {"member": asked})
    exact = [row for row in found if row[0] == asked]
    if not found:
        message = f"No member's id or name matches {asked!r}."
        return await _chart_page(datasette, request, here, field=field, message=message)
    if len(found) > 1 and not exact:
        choices = [(f"{here}?{urlencode({'member': member})}", f"{name} ({member}, {count:,} "
                    "trades)") for member, name, count in found]  # fmt: skip
        message = f"{len(found)} members match {asked!r}" + (" (the first 20)" if
                  len(found) == 20 else "") + "; choose one:"  # fmt: skip
        return await _chart_page(datasette, request, here, field=field, message=message,
                                 choices=choices)  # fmt: skip
    member_id, name, _ = (exact or found)[0]
    rows = await _rows(datasette, charts.MEMBER_MONTHLY_SQL, {"member": member_id})
    chart = charts.monthly_bars(rows, charts.TX_TYPE_COLOURS, f"{name}'s trades per month")
    query = datasette.urls.query(datasette.get_database().name, "member_trades")
    return await _chart_page(datasette, request, here, field=field, chart=chart,
                             message=f"{name} ({member_id}): trades per month, by type.",
                             rows_href=f"{query}?{urlencode({'member': member_id})}")  # fmt: skip


async def _ticker_chart(datasette: Any, request: Any) -> Any:
    asked = request.args.get("ticker", "").strip()
    field = {"name": "ticker", "label": "Ticker:", "value": asked, "example": "NVDA"}
    here = f"{CHARTS}/ticker"
    if not asked:
        return await _chart_page(datasette, request, here, field=field)
    found = await _rows(datasette, charts.TICKER_ISSUERS_SQL, {"ticker": asked})
    if not found:
        message = f"No issuer has the ticker {asked!r}."
        return await _chart_page(datasette, request, here, field=field, message=message)
    issuer_id, name, ticker, _ = found[0]
    closes = await _rows(datasette, charts.TICKER_CLOSES_SQL, {"issuer": issuer_id})
    trades = [
        charts.TickerTrade(*row)
        for row in await _rows(datasette, charts.TICKER_TRADES_SQL, {"issuer": issuer_id})
    ]
    chart = charts.price_line([(d, float(p)) for d, p in closes], trades,
                              f"{ticker}: stored closes and trades")  # fmt: skip
    message = f"{name} ({ticker}): the closes trio-enrich stored, each trade marked."
    if not closes:
        message += " No closes stored for it yet (`trio-enrich issuers` reads them)."
    others = [
        (f"{here}?{urlencode({'ticker': row[2]})}", f"{row[1]} ({row[2]})") for row in found[1:]
    ]
    query = datasette.urls.query(datasette.get_database().name, "ticker_trades")
    return await _chart_page(datasette, request, here, field=field, chart=chart,
                             message=message, choices=others or None,
                             rows_href=f"{query}?{urlencode({'ticker': ticker})}")  # fmt: skip


@_hook
def register_routes() -> list[tuple[str, Any]]:
    return [
        (rf"^{ARCHIVED}(?P<tx_id>\d+)$", _archived_trade),
        (rf"^{CHARTS}$", _party_chart),
        (rf"^{CHARTS}/member$", _member_chart),
        (rf"^{CHARTS}/ticker$", _ticker_chart),
    ]


# Datasette lists every column's description above a table's rows (38 of them for the trades
# view: a screen before the first trade). This folds the list under one line, and puts each
# description on its column's header as the tooltip.
_FOLD_DESCRIPTIONS = """
(() => {
  const list = document.querySelector("dl.column-descriptions");
  if (list) {
    const fold = document.createElement("details");
    fold.className = "column-descriptions-fold";
    const summary = document.createElement("summary");
    summary.textContent = "What each column means (" + list.querySelectorAll("dt").length + ")";
    list.replaceWith(fold);
    fold.append(summary, list);
  }
  for (const header of document.querySelectorAll("th[data-column-description]")) {
    header.title = header.dataset.columnDescription;
  }
})();
"""


@_hook
def extra_body_script(view_name: str) -> dict[str, str] | None:
    return {"script": _FOLD_DESCRIPTIONS} if view_name == "table" else None


@_hook
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    """Every error page, in place of Datasette's own handler (`browse` unregisters it: it
    prints a traceback with every local variable, the metadata included, in the serving
    terminal for each 404 or refused query). A refused or mistaken request is answered
    quietly; a server error's traceback is printed, plainly."""
    from datasette.utils.asgi import Base400, Response
    from datasette.views.base import DatasetteError
    from markupsafe import Markup

    title = None
    if isinstance(exception, Base400):
        status, message = exception.status, exception.args[0] if exception.args else ""
    elif isinstance(exception, DatasetteError):
        status, message, title = exception.status, exception.message, exception.title
        if exception.message_is_html:
            message = Markup(message)
    else:
        status, message = 500, str(exception)
    if status >= 500:
        traceback.print_exception(exception)
    info = {"ok": False, "error": message, "status": status, "title": title}

    async def answer() -> Any:
        if request.path.endswith(".json"):
            return Response.json(info, status=status)
        page = await datasette.render_template([f"{status}.html", "error.html"], info,
                                               request=request)  # fmt: skip
        return Response.html(page, status=status)

    return answer


@_hook
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path(href), "label": label} for href, label in _CHART_PAGES]


@_hook
def render_cell(value: Any, column: str, table: str | None) -> Any:
    """A trade's id links to its archived page."""
    if table in ("trio_enrich_trades", "trades") and column == "tx_id" and value:
        from markupsafe import Markup

        number = int(value)
        return Markup(f'<a href="{ARCHIVED}{number}" title="the page as archived">'
                      f"{number}</a>")  # fmt: skip
    return None
