"""Render simulated pages in the real format (shared/docs/capitoltrades-pages.md, sections 1-4).

Each page is HTML whose data is Next.js flight text, cut into push chunks at arbitrary points
(mid-row, mid-string), with ``$$`` escapes, ``"$undefined"``, a ``T`` row, the layout's
"Page Not Found" template in its ``notFound`` prop (as on real pages), and the "Loading ..."
fallback in the visible markup.
"""

from __future__ import annotations

import html
import json
import random
from typing import Any

from .._model import PERFORMANCE_FIELDS, Issuer, ListingPolitician, ListingTrade
from ._dataset import OWNER_LABELS, STATE_NAMES, Dataset, SimIssuer, SimTrade

__all__ = [
    "cdn_refusal_page",
    "challenge_page",
    "changed_layout",
    "error_digest_page",
    "issuers_page",
    "not_found_page",
    "politicians_page",
    "shell_page",
    "trade_detail_page",
    "trades_page",
]

_SVG_PATH = "M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2z"


def _escape(value: Any) -> Any:
    """Apply the flight format's string escape: a string starting with $ gets another $."""
    if isinstance(value, str):
        return "$" + value if value.startswith("$") else value
    if isinstance(value, dict):
        return {key: _escape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escape(item) for item in value]
    return value


def _undefined(value: Any) -> Any:
    return "$undefined" if value is None else value


def _element(tag: str, props: dict[str, Any], key: str | None = None) -> list[Any]:
    return ["$", tag, key, props]


def _not_found_tree() -> list[Any]:
    return _element(
        "main",
        {
            "className": "site-main",
            "children": _element(
                "div",
                {
                    "className": "flex items-center justify-center",
                    "children": [
                        _element(
                            "h1",
                            {
                                "className": "text-nowrap text-3xl font-medium text-foreground",
                                "children": "Page Not Found",
                            },
                        ),
                        _element(
                            "p",
                            {
                                "className": "mb-3 text-muted-foreground",
                                "children": "Unfortunately we cannot find this content.",
                            },
                        ),
                    ],
                },
            ),
        },
    )


def _layout_rows() -> list[str]:
    layout = _element(
        "$L5",
        {
            "buildId": "sim",
            "children": _element("div", {"className": "flex", "children": "Loading ..."}),
            "notFound": _not_found_tree(),
            "notFoundStyles": [],
        },
    )
    return [
        '1:HL["/_next/static/css/sim.css","style"]',
        '5:I[4684,[],""]',
        f"14:T{len(_SVG_PATH.encode()):x},{_SVG_PATH}",  # no newline after a T row
        "0:" + _dumps(layout),
    ]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _document(title: str, flight_rows: list[str], rng: random.Random) -> str:
    text = ""
    for row in flight_rows:
        # A T row has no newline after its text; every other row ends with one.
        text += row if row[row.index(":") + 1 :].startswith("T") else row + "\n"
    pushes = []
    position = 0
    while position < len(text):
        size = rng.randint(200, 2400)
        chunk = text[position : position + size]
        position += size
        literal = json.dumps(chunk).replace("<", "\\u003c")
        pushes.append(f"<script>self.__next_f.push([1,{literal}])</script>")
    return (
        '<!DOCTYPE html><html lang="en" class="dark"><head><meta charSet="utf-8"/>'
        f'<title>{html.escape(title)}</title></head><body><main class="site-main">'
        '<!--$?--><template id="B:0"></template><div class="flex min-h-screen items-center '
        'justify-center"><p class="text-foreground animate-pulse">Loading ...</p></div><!--/$-->'
        "</main><script>(self.__next_f=self.__next_f||[]).push([0]);"
        "self.__next_f.push([2,null])</script>"
        + "".join(pushes)
        + '<div hidden id="S:0"><main class="container">rendered</main></div>'
        '<script>$RC("B:0","S:0")</script></body></html>'
    )


def _page_rng(seed: int, path: str) -> random.Random:
    return random.Random(f"{seed}:{path}")


def _parts_form(seed: int, key: str) -> bool:
    """Whether a card shows its values as numbers and lists of parts (about one in three)."""
    return random.Random(f"{seed}:parts:{key}").random() < 1 / 3


# --- listing --------------------------------------------------------------------------------------


def _issuer_fields(issuer: Issuer) -> dict[str, Any]:
    """Who an issuer is, as a listing row's `issuer` and an issuer page's data both say it."""
    return {
        "_stateId": issuer.state_id,
        "c2iq": issuer.c2iq,
        "country": issuer.country,
        "issuerName": issuer.issuer_name,
        "issuerTicker": issuer.issuer_ticker,
        "sector": issuer.sector,
    }


def _listing_row(trade: ListingTrade) -> dict[str, Any]:
    issuer = trade.issuer
    politician = trade.politician
    return {
        "_issuerId": issuer.issuer_id,
        "_politicianId": politician.politician_id,
        "_txId": trade.tx_id,
        "chamber": trade.chamber,
        "comment": trade.comment,
        "issuer": _issuer_fields(issuer),
        "owner": trade.owner,
        "politician": {
            "_stateId": politician.state_id,
            "chamber": politician.chamber,
            "dob": politician.dob,
            "firstName": politician.first_name,
            "gender": politician.gender,
            "lastName": politician.last_name,
            "nickname": politician.nickname,
            "party": politician.party,
        },
        "price": trade.price,
        "pubDate": trade.pub_date,
        "reportingGap": trade.reporting_gap,
        "txDate": trade.tx_date,
        "txType": trade.tx_type,
        "txTypeExtended": (
            None if trade.tx_type_extended is None else json.loads(trade.tx_type_extended)
        ),
        "value": trade.value,
    }


def trades_page(dataset: Dataset, page: int, page_size: int = 12, *, empty: bool = False) -> str:
    """``/trades?page=N``: newest first, `page_size` a page, with totals and an issuer filter;
    `empty`: the table without its rows, the totals unchanged."""
    total = len(dataset.trades)
    total_pages = max(1, -(-total // page_size))
    chosen = dataset.trades[(page - 1) * page_size : page * page_size] if page >= 1 else []
    popular = list(dataset.issuers.values())[:8]
    issuer_filter = [
        {
            "_issuerId": i.listing.issuer_id,
            "issuerName": i.listing.issuer_name,
            "issuerTicker": i.listing.issuer_ticker,
            "stats": {"countTrades": i.stats.count_trades if i.stats else 0},
        }
        for i in popular
    ]
    table = _element(
        "$L1e",
        {
            "data": [] if empty else [_escape(_listing_row(t.listing)) for t in chosen],
            "columnVisibility": "$undefined",
        },
    )
    pagination = _element(
        "$L1f",
        {
            "className": "mt-6",
            "searchParams": _search_params(page, page_size),
            "totalCount": total,
            "totalPages": total_pages,
        },
    )
    rows = [
        *_layout_rows(),
        "1c:" + _dumps(_element("div", {"issuers": _escape(issuer_filter)})),
        "1b:" + _dumps(_element("section", {"children": [table, pagination]})),
    ]
    rng = _page_rng(dataset.seed, f"/trades?page={page}&size={page_size}&total={total}")
    return _document("Trades | Capitol Trades", rows, rng)


def _search_params(page: int, page_size: int | None) -> dict[str, str]:
    """The query as Next.js hands it to the page (strings; page 1 is asked without one)."""
    params = {} if page == 1 else {"page": str(page)}
    if page_size is not None and page_size != 12:
        params["pageSize"] = str(page_size)
    return params


def issuers_page(dataset: Dataset, page: int, page_size: int = 12) -> str:
    """``/issuers?page=N``: an assumed shape (a data array of issuer summaries)."""
    issuers = sorted(dataset.issuers.values(), key=lambda i: i.listing.issuer_id)
    total_pages = max(1, -(-len(issuers) // page_size))
    chosen = issuers[(page - 1) * page_size : page * page_size] if page >= 1 else []
    data = [
        {
            "_issuerId": i.listing.issuer_id,
            "issuerName": i.listing.issuer_name,
            "issuerTicker": i.listing.issuer_ticker,
            "sector": i.listing.sector,
            "stats": _stats(i),
        }
        for i in chosen
    ]
    table = _element("$L1e", {"data": _escape(data), "columnVisibility": "$undefined"})
    pagination = _element(
        "$L1f", {"className": "mt-6", "totalCount": len(issuers), "totalPages": total_pages}
    )
    rows = [
        *_layout_rows(),
        "1b:" + _dumps(_element("section", {"children": [table, pagination]})),
    ]
    return _document("Issuers", rows, _page_rng(dataset.seed, f"/issuers?page={page}"))


def politicians_page(dataset: Dataset, committee: str | None, page: int, page_size: int) -> str:
    """``/politicians?committee=<code>&page=N``: rendered cards only, as the real capture; a
    ``totalCount`` and no page count. Without a committee: every politician."""
    if committee is None:
        members = sorted(
            [*dataset.politicians.values(), *dataset.rosters_only()],
            key=lambda p: p.politician_id,
        )
    else:
        members = dataset.rosters().get(committee, [])
    chosen = members[(page - 1) * page_size : page * page_size] if page >= 1 else []
    stats = dataset.politician_stats()
    cards = [_politician_card(dataset.seed, p, stats.get(p.politician_id)) for p in chosen]
    search = {"committee": committee} if committee is not None else {}
    search.update(_search_params(page, None))
    grid = _element(
        "div",
        {
            "className": "q-widget q-card-grid politician-card-grid entity--politician",
            "children": cards,
        },
    )
    pagination = _element("$L1d", {"totalCount": len(members), "searchParams": search})
    rows = [
        *_layout_rows(),
        "1b:" + _dumps(_element("section", {"children": [grid, False, pagination]})),
    ]
    key = f"/politicians?committee={committee}&page={page}&size={page_size}&n={len(members)}"
    return _document("Politicians | Capitol Trades", rows, _page_rng(dataset.seed, key))


def _politician_card(
    seed: int, politician: ListingPolitician, stats: tuple[int, int, int, str] | None
) -> list[Any]:
    """One card, cell for cell as the real listing renders it."""
    pid = politician.politician_id
    party = politician.party or "other"
    state = politician.state_id or ""
    trades, issuers, volume, last = stats or (0, 0, 0, "")
    # Counts as text (the capture of 2026-02) or as JSON numbers (the page of 2026-05).
    numeric = _parts_form(seed, f"politician:{pid}")

    def count(value: int) -> Any:
        return value if numeric else str(value)

    def cell(name: str, label: str, value: Any) -> list[Any]:
        pair = [
            _element("div", {"className": "q-label leading-snug", "children": label}),
            _element("div", {"className": "q-value leading-snug", "children": value}),
        ]
        return _element("div", {"className": f"q-cell cell--{name} flavour--lv",
                                "children": [" ", pair]})  # fmt: skip

    name = f"{politician.first_name} {politician.last_name}"
    body = [
        _element("div", {"className": "q-cell cell--name", "children": [
            " ", _element("h2", {"className": "font-medium leading-snug", "children": name}),
        ]}),
        _element("div", {"className": "q-cell cell--affiliation", "children": [
            " ", _element("h3", {"children": [
                _element("span", {"className": f"q-field party party--{party}",
                                  "children": party.capitalize()}),
                _element("span", {"className": f"q-field us-state-full us-state-full--{state}",
                                  "children": STATE_NAMES.get(state, state.upper())}),
            ]}),
        ]}),
        cell("count-trades", "Trade" if trades == 1 else "Trades", count(trades)),
        cell("count-issuers", "Issuer" if issuers == 1 else "Issuers", count(issuers)),
        cell("volume", "Volume", _short_money(volume)),
        cell("last-traded", "Last Traded", _element("span", {
            "className": "q-field format--date-iso ",
            "children": _element("span", {"className": "time", "children": last}),
        })),
    ]  # fmt: skip
    article = _element(
        "article",
        {
            "className": "q-widget q-index-card politician-index-card entity--politician "
            f"id--{pid} party--{party} flavour--compact",
            "children": [
                None,
                _element("section", {"className": "index-card-body", "children": body}),
                None,
            ],
        },
    )
    return _element(
        "$L1a",
        {"href": f"/politicians/{pid}", "prefetch": False, "className": "index-card-link",
         "children": article},
        key=pid,
    )  # fmt: skip


def _short_money(value: int) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return str(value)


# --- trade detail ---------------------------------------------------------------------------------


def _pair(value: Any, label: str) -> list[Any]:
    return _element(
        "div",
        {
            "className": "flex flex-col items-center gap-1",
            "children": [
                _element(
                    "span", {"className": "text-center text-size-4", "children": _escape(value)}
                ),
                _element(
                    "span",
                    {
                        "className": "text-center text-size-3 font-medium text-txt-dimmer",
                        "children": label,
                    },
                ),
            ],
        },
    )


def trade_detail_page(dataset: Dataset, trade: SimTrade, shape: str = "live") -> str:
    """``/trades/{id}`` in the live shape (spans + filing props) or the object shape."""
    listing = trade.listing
    if shape == "object":
        body = _element(
            "div", {"className": "trade-detail", "tradeData": _escape(_trade_object(trade))}
        )
    else:
        body = _live_trade_body(dataset, trade)
    rows = [*_layout_rows(), "6:" + _dumps(body)]
    title = (
        f"{listing.politician.first_name} {listing.politician.last_name} {listing.tx_type} "
        f"{listing.issuer.issuer_name} on {listing.tx_date}"
    )
    return _document(title, rows, _page_rng(dataset.seed, f"/trades/{listing.tx_id}/{shape}"))


def _live_trade_body(dataset: Dataset, trade: SimTrade) -> list[Any]:
    listing = trade.listing
    price = "N/A" if listing.price is None else f"${listing.price:,.2f}"
    shares: Any = (
        "N/A"
        if trade.size_range_low is None or trade.size_range_high is None
        else f"{trade.size_range_low:,} - {trade.size_range_high:,}"
    )
    gap = listing.reporting_gap or 0
    days: Any = f"{gap:,} day" if gap == 1 else f"{gap:,} days"
    if _parts_form(dataset.seed, f"trade:{listing.tx_id}"):
        # What JSX writes for `{gap} days` and `{low} - {high}`: lists of numbers and text.
        days = [gap, " day" if gap == 1 else " days"]
        if trade.size_range_low is not None and trade.size_range_high is not None:
            shares = [trade.size_range_low, " - ", trade.size_range_high]
    pairs = [
        _pair(trade.asset_label, "Asset Type"),
        _pair(OWNER_LABELS.get(listing.owner or "", "Undisclosed"), "Owner"),
        _pair(price, "Price"),
        _pair(shares, "Shares"),
        _pair(days, "Reporting Gap"),
        _pair(listing.pub_date[:10], "Published"),
        _pair(listing.tx_date, "Traded"),
    ]
    siblings = [
        _element(
            "$L22",
            {
                "href": f"/trades/{s.listing.tx_id}",
                "tradeId": s.listing.tx_id,
                "filingUrl": "$undefined",
            },
            key=str(s.listing.tx_id),
        )
        for s in dataset.siblings(trade)
    ]
    return _element(
        "article",
        {
            "className": "transaction-detail-card",
            "children": [
                _element("h1", {"children": _escape(listing.issuer.issuer_name)}),
                _element("div", {"className": "grid", "children": pairs}),
                _element(
                    "$L21", {"filingUrl": _escape(trade.filing_url), "tradeId": listing.tx_id}
                ),
                _element("ul", {"className": "filing-summary", "children": siblings}),
            ],
        },
    )


def _trade_object(trade: SimTrade) -> dict[str, Any]:
    listing = trade.listing
    row = _listing_row(listing)
    del row["_txId"]
    return {
        "tradeId": listing.tx_id,
        "_assetId": listing.tx_id,
        **row,
        "filingDate": listing.pub_date[:10],
        "filingId": trade.filing_id or 0,
        "filingUrl": trade.filing_url,
        "hasCapitalGains": trade.has_capital_gains,
        "size": trade.size,
        "sizeRangeHigh": trade.size_range_high,
        "sizeRangeLow": trade.size_range_low,
        "committees": list(trade.committees),
        "labels": list(trade.labels),
        "asset": {
            "assetType": trade.asset_label.lower().replace(" ", "-"),
            "assetTicker": trade.asset_ticker,
            "instrument": trade.instrument,
        },
    }


# --- issuer detail --------------------------------------------------------------------------------


def _stats(issuer: SimIssuer) -> dict[str, Any] | None:
    stats = issuer.stats
    if stats is None:
        return None
    return {
        "countTrades": stats.count_trades,
        "countPoliticians": stats.count_politicians,
        "volume": stats.volume,
        "dateLastTraded": stats.date_last_traded,
    }


def issuer_detail_page(dataset: Dataset, issuer: SimIssuer) -> str:
    """``/issuers/{id}``: the ``issuerData`` object with stats, performance and EOD prices."""
    listing = issuer.listing
    performance: dict[str, Any] | None = None
    shown = issuer.shown_performance()
    if shown is not None:
        # Figures not shown are null, as the real site sends an issuer's missing trailing365.
        performance = {"mcap": shown.mcap}
        performance.update(dict(zip(PERFORMANCE_FIELDS, shown.numbers, strict=True)))
        performance["eodPrices"] = [[day, price] for day, price in shown.eod_prices]
    data = {
        "_issuerId": listing.issuer_id,
        **_issuer_fields(listing),
        "stats": _stats(issuer),
        "performance": performance,
    }
    body = _element("div", {"className": "issuer-detail", "issuerData": _escape(data)})
    rows = [*_layout_rows(), "6:" + _dumps(body)]
    rng = _page_rng(dataset.seed, f"/issuers/{listing.issuer_id}")
    return _document(f"{listing.issuer_name} | Capitol Trades", rows, rng)


# --- failures -------------------------------------------------------------------------------------


def not_found_page(seed: int, path: str) -> str:
    """The HTTP-200 "Page Not Found" template: the heading is the page's content."""
    rows = [*_layout_rows(), "6:" + _dumps(_not_found_tree())]
    return _document("Page Not Found", rows, _page_rng(seed, path))


def error_digest_page(seed: int, path: str) -> str:
    """A page whose data row is a Next.js error row."""
    digest = str(random.Random(f"{seed}:{path}:digest").randint(10**9, 4 * 10**9))
    rows = [*_layout_rows(), "6:E" + _dumps({"digest": digest})]
    return _document("Capitol Trades", rows, _page_rng(seed, path))


def shell_page(seed: int, path: str) -> str:
    """What a CDN was reported to serve datacenter addresses: the layout, without any data."""
    return _document("Capitol Trades", _layout_rows(), _page_rng(seed, path))


def cdn_refusal_page() -> str:
    """The 403 page CloudFront sends when it refuses a client (its well-known wording)."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
        '"http://www.w3.org/TR/html4/loose.dtd">\n<HTML><HEAD><META HTTP-EQUIV="Content-Type" '
        'CONTENT="text/html; charset=iso-8859-1">\n<TITLE>ERROR: The request could not be '
        "satisfied</TITLE>\n</HEAD><BODY>\n<H1>403 ERROR</H1>\n<H2>The request could not be "
        'satisfied.</H2>\n<HR noshade size="1px">\nRequest blocked.\nWe can\'t connect to '
        'the server for this app or website at this time.\n<BR clear="all">\n<HR noshade '
        'size="1px">\n<PRE>\nGenerated by cloudfront (CloudFront)\nRequest ID: '
        "sim-0000000000000000000000000000000000000000000000000000==\n</PRE>\n<ADDRESS>\n"
        "</ADDRESS>\n</BODY></HTML>"
    )


#: A build of the site whose data our readers do not know: the same data under other keys.
_CHANGED_KEYS = (
    ("_txId", "txKey"), ("tradeId", "tradeKey"), ("_issuerId", "issuerKey"),
    ("_politicianId", "politicianKey"), ("issuerData", "issuerRecord"),
    ("totalCount", "countAll"), ("/politicians/", "/members/"),
)  # fmt: skip


def changed_layout(page: str) -> str:
    """`page` as a new build of the site might send it: its data renamed throughout."""
    for old, new in _CHANGED_KEYS:
        page = page.replace(old, new)
    return page


def challenge_page() -> str:
    """A bot-challenge interstitial: no data pushes at all."""
    return (
        "<!DOCTYPE html><html><head><title>Vercel Security Checkpoint</title></head><body>"
        "<p>We're verifying your browser. Enable JavaScript to continue.</p></body></html>"
    )
