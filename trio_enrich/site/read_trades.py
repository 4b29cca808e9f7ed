"""Readers of the trades listing (``/trades?page=N``) and of a trade's detail page, in both its
shapes (live value/label spans, and a full trade object). Sans-io, on the resolved flight tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._model import (
    FailureKind,
    ListingPage,
    ListingPolitician,
    ListingTrade,
    PageFailure,
    TradeDetail,
)
from .flight import is_element
from .page import (
    Page,
    classify_missing,
    get_bool,
    get_float,
    get_int,
    get_nonempty_str,
    get_str,
    get_str_list,
    json_text,
    kebab,
    open_page,
    read_issuer,
    text_of,
    to_int,
    unreadable,
)

_HOUSE_FILING_ID = re.compile(r"/ptr-pdfs/\d{4}/(\d+)\.pdf(?:$|[?#])")
_SHARES_RANGE = re.compile(r"^\s*([\d,]+)\s*[-\u2013\u2014]\s*([\d,]+)\s*$")
_NUMBER = re.compile(r"^\s*\$?\s*(-?[\d,]*\.?\d+)\s*$")
# A gap is published minus traded, in days, as the site was given it: 0, hundreds or thousands
# (with a thousands comma), or negative (a traded date after the published one: a data-entry
# error of the filing, shown as given, with an ASCII or a typographic minus).
_DAYS = re.compile(r"^\s*([-\u2212]?)\s*(\d{1,3}(?:,\d{3})+|\d+)\s*days?\s*$", re.IGNORECASE)
# What a value span shows for a field the filing does not give.
_NOT_SHOWN = frozenset({"", "N/A", "n/a", "NA", "-", "--", "\u2013", "\u2014"})
# Object-shaped trade detail pages carry a full trade object; these keys tell it from the small
# live-shape props object {"filingUrl", "tradeId"} and from links to sibling trades.
_TRADE_OBJECT_KEYS = frozenset(
    {"asset", "filingId", "hasCapitalGains", "size", "sizeRangeLow", "sizeRangeHigh", "committees"}
)


# --- trades listing ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Table:
    rows: list[Any]
    total_count: int | None
    total_pages: int | None
    page_shown: int | None  # the page number in the pagination's searchParams (1 without one)


def _find_table(opened: Page, row_key: str, *, unless: str = "") -> _Table | None:
    """The listing table whose rows all carry `row_key` (and not `unless`), with its totals.

    Another array on a page may look alike (the trades page's issuer filter has `_issuerId`
    too): the row key tells them apart. An empty table (a page past the end) is an element
    whose ``data`` prop is an empty list, on a page with a ``totalCount``.
    """
    rows: list[Any] | None = None
    empty_table = False
    total_count: int | None = None
    total_pages: int | None = None
    page_shown: int | None = None
    for node in opened.walk():
        if not isinstance(node, dict):
            if is_element(node) and isinstance(node[3], dict) and node[3].get("data") == []:
                empty_table = True  # a table component given no rows
            continue
        data = node.get("data")
        if (
            rows is None
            and isinstance(data, list)
            and data
            and all(isinstance(row, dict) and row_key in row and unless not in row for row in data)
        ):
            rows = data
        if total_count is None and "totalCount" in node:
            total_count = get_int(node, "totalCount")
            total_pages = get_int(node, "totalPages")
            search = node.get("searchParams")
            if isinstance(search, dict):
                page_shown = to_int(search.get("page", 1))
        if rows is not None and total_count is not None:
            break  # the rest of the page is layout
    if rows is None and empty_table and total_count is not None:
        rows = []
    return None if rows is None else _Table(rows, total_count, total_pages, page_shown)


def parse_trades_page(
    page: bytes | str, *, page_number: int | None = None, page_size: int | None = None
) -> ListingPage | PageFailure:
    """The trade rows of a ``/trades?page=N`` page with its totals.

    Every row must be read: a row that cannot be is a failure of the page, not a gap. With
    `page_number` and `page_size` (what was asked for), a page with fewer or more rows than its
    own ``totalCount`` implies is a failure too (a layout change, or a page size the site does
    not honour), so a listing never yields a silent hole.
    """
    opened = open_page(page, "the trades listing", ('"data":', '"totalCount":'))
    if isinstance(opened, PageFailure):
        return opened
    table = _find_table(opened, "_txId")
    if table is None:
        return classify_missing(opened.html, opened.flight, "the trades listing")
    failure = unreadable(table.rows, "the trades listing")
    if failure is not None:
        return failure
    trades: list[ListingTrade] = []
    for index, row in enumerate(table.rows):
        trade = _listing_trade(row)
        if trade is None:
            shown = row.get("_txId") if isinstance(row, dict) else None
            return PageFailure(
                FailureKind.LAYOUT_CHANGED,
                f"row {index + 1} of the trades listing (trade {shown}) cannot be read: "
                "has the site's layout changed?",
            )
        trades.append(trade)
    total = table.total_count
    if not trades and total:
        failure = _empty_table_failure(table, page_number, page_size)
        if failure is not None:
            return failure
    if page_number is not None and page_size is not None and total is not None:
        expected = max(0, min(page_size, total - (page_number - 1) * page_size))
        if len(trades) != expected:
            return PageFailure(
                FailureKind.LAYOUT_CHANGED,
                f"{len(trades)} rows where totalCount {total} implies {expected} on page "
                f"{page_number} of size {page_size}: has the listing changed?",
            )
    return ListingPage(trades=tuple(trades), total_count=total, total_pages=table.total_pages)


def _empty_table_failure(
    table: _Table, page_number: int | None, page_size: int | None
) -> PageFailure | None:
    """An empty table is a page past the last one, or a failure that says what it saw.

    The real site serves a well-formed page with ``"data":[]`` and the full ``totalCount``
    for a filter it does not understand; a block may look the same. Which page it is comes
    from the caller, else from the page's own searchParams; how many pages there are from
    ``totalPages``, else from the page size asked for.
    """
    total = table.total_count or 0
    number = page_number if page_number is not None else table.page_shown
    if number is not None:
        if table.total_pages is not None and number > table.total_pages:
            return None
        if page_size is not None and (number - 1) * page_size >= total:
            return None
    shown = "an unknown page" if number is None else f"page {number}"
    return PageFailure(
        FailureKind.BLOCKED,
        f"an empty table on {shown} of a listing whose totalCount is {total}"
        + (f" ({table.total_pages} pages)" if table.total_pages is not None else "")
        + ": a filter the site did not take, or a blocked page?",
    )


def _listing_trade(row: dict[str, Any]) -> ListingTrade | None:
    tx_id = get_int(row, "_txId")
    issuer_id = get_int(row, "_issuerId")
    politician_id = get_str(row, "_politicianId")
    pub_date = get_str(row, "pubDate")
    tx_date = get_str(row, "txDate")
    tx_type = get_str(row, "txType")
    value = get_int(row, "value")
    issuer = row.get("issuer")
    politician = row.get("politician")
    if (
        tx_id is None
        or issuer_id is None
        or not politician_id
        or pub_date is None
        or tx_date is None
        or tx_type is None
        or value is None
        or not isinstance(issuer, dict)
        or not isinstance(politician, dict)
    ):
        return None
    listed_issuer = read_issuer(issuer, issuer_id)
    if listed_issuer is None:
        return None
    extended = row.get("txTypeExtended")
    return ListingTrade(
        tx_id=tx_id,
        chamber=get_str(row, "chamber") or get_str(politician, "chamber") or "",
        comment=get_str(row, "comment"),
        owner=get_str(row, "owner"),
        price=get_float(row, "price"),
        pub_date=pub_date,
        reporting_gap=get_int(row, "reportingGap"),
        tx_date=tx_date,
        tx_type=tx_type,
        tx_type_extended=json_text(extended),
        value=value,
        issuer=listed_issuer,
        politician=ListingPolitician(
            politician_id=politician_id,
            state_id=get_str(politician, "_stateId"),
            chamber=get_str(politician, "chamber"),
            dob=get_str(politician, "dob"),
            first_name=get_str(politician, "firstName"),
            last_name=get_str(politician, "lastName"),
            nickname=get_str(politician, "nickname"),
            gender=get_str(politician, "gender"),
            party=get_str(politician, "party"),
        ),
    )


# --- trade detail -----------------------------------------------------------------------------


@dataclass(slots=True)
class _TradeNodes:
    """What a trade detail page holds about one trade, gathered in one walk."""

    trade_object: dict[str, Any] | None = None  # the object shape's full trade
    live_props: dict[str, Any] | None = None  # the live shape's {"filingUrl", "tradeId"}
    id_seen: bool = False
    other_ids: set[int] = field(default_factory=set)  # trades of the same filing, listed
    pairs: dict[str, object] = field(default_factory=dict)  # label -> value span's children
    grid: list[Any] = field(default_factory=list)  # every value span's content, for checks


def _gather(opened: Page, tx_id: int) -> _TradeNodes:
    found = _TradeNodes()
    for node in opened.walk():
        if type(node) is list:
            if len(node) == 2:  # only a two-span list can be a (value, label) pair
                pair = _label_pair(node)
                if pair is not None:
                    label, value = pair
                    found.grid.append(value)
                    found.pairs.setdefault(label, value)
            continue
        if "tradeId" not in node and "_txId" not in node:
            continue
        node_id = get_int(node, "tradeId")
        if node_id is None:
            node_id = get_int(node, "_txId")
        if node_id is None:
            continue
        if node_id != tx_id:
            found.other_ids.add(node_id)
            continue
        found.id_seen = True
        if found.trade_object is None and not _TRADE_OBJECT_KEYS.isdisjoint(node):
            found.trade_object = node
        elif found.live_props is None and _filing_url_of(node) is not None:
            found.live_props = node
    return found


def parse_trade_detail(page: bytes | str, tx_id: int) -> TradeDetail | PageFailure:
    """The detail of trade `tx_id`, from either the object shape or the live shape."""
    what = f"trade {tx_id}"
    # Every row: React may send the value and the label of a pair in rows of their own, which
    # only their parent joins; a detail page is small.
    opened = open_page(page, what)
    if isinstance(opened, PageFailure):
        return opened
    found = _gather(opened, tx_id)
    if found.trade_object is not None:
        failure = unreadable(found.trade_object, what)
        if failure is not None:
            return failure
        detail = trade_detail_from_object(found.trade_object, tx_id)
    elif found.id_seen:
        failure = unreadable([found.live_props, found.grid], what)
        if failure is not None:
            return failure
        if found.pairs and "Asset Type" not in found.pairs:
            # The grid is there but says no asset type: a layout we do not read, not a trade
            # without one (the site shows "Asset Type" on every trade page).
            return PageFailure(
                FailureKind.LAYOUT_CHANGED,
                f"the page of {what} shows its details but no asset type "
                "(has the site's layout changed?)",
            )
        live = _trade_detail_from_live(what, tx_id, found.live_props, found.pairs)
        if isinstance(live, PageFailure):
            return live
        detail = live
    elif found.other_ids:
        shown = ", ".join(str(i) for i in sorted(found.other_ids)[:3])
        return PageFailure(
            FailureKind.LAYOUT_CHANGED, f"the page is about trade {shown}, not {tx_id}"
        )
    else:
        return classify_missing(opened.html, opened.flight, what)
    if not detail.has_enrichment():
        return PageFailure(
            FailureKind.LAYOUT_CHANGED,
            f"the page of {what} yields none of its detail fields (has the site's layout changed?)",
        )
    return detail


def _filing_url_of(mapping: dict[str, Any]) -> str | None:
    url = get_str(mapping, "filingUrl") or get_str(mapping, "filingURL")
    if url and url.startswith(("http://", "https://")):
        return url
    return None


def _filing_id_from_url(url: str | None) -> int | None:
    if not url:
        return None
    match = _HOUSE_FILING_ID.search(url)
    return int(match.group(1)) if match else None


def trade_detail_from_object(obj: dict[str, Any], tx_id: int | None = None) -> TradeDetail:
    """A TradeDetail from a full trade object (object-shaped pages and the old JSON API)."""
    if tx_id is None:
        tx_id = get_int(obj, "tradeId") or get_int(obj, "_txId") or 0
    asset = obj.get("asset")
    asset = asset if isinstance(asset, dict) else {}
    asset_type = get_nonempty_str(asset, "assetType")
    filing_url = _filing_url_of(obj) or get_nonempty_str(obj, "filingUrl")
    filing_id = get_int(obj, "filingId")
    if filing_id is None or filing_id <= 0:
        filing_id = _filing_id_from_url(filing_url)
    return TradeDetail(
        tx_id=tx_id,
        asset_type=kebab(asset_type) if asset_type else None,
        asset_ticker=get_nonempty_str(asset, "assetTicker"),
        instrument=get_nonempty_str(asset, "instrument"),
        filing_url=filing_url,
        filing_id=filing_id,
        price=get_float(obj, "price"),
        size=get_int(obj, "size"),
        size_range_low=get_int(obj, "sizeRangeLow"),
        size_range_high=get_int(obj, "sizeRangeHigh"),
        has_capital_gains=get_bool(obj, "hasCapitalGains"),
        committees=get_str_list(obj, "committees"),
        labels=get_str_list(obj, "labels"),
        reporting_gap=get_int(obj, "reportingGap"),
    )


def _span_text(node: object) -> str | None:
    """The text of a ``["$","span",key,{"children": ...}]`` element, else None."""
    if is_element(node) and node[1] == "span" and isinstance(node[3], dict):  # type: ignore[index]
        return text_of(node[3].get("children"))  # type: ignore[index]
    return None


_LIVE_LABELS = frozenset(
    {"Asset Type", "Owner", "Price", "Shares", "Reporting Gap", "Published", "Traded", "Filed on"}
)


def _label_pair(node: list[Any]) -> tuple[str, object] | None:
    """A (label, value) from a two-span list rendered value first, label second; the value
    is whatever the value span holds (a string, or something the reader must refuse)."""
    if len(node) != 2:
        return None
    label = _span_text(node[1])
    if label is None or label not in _LIVE_LABELS:
        return None
    value = node[0]
    if is_element(value) and value[1] == "span" and isinstance(value[3], dict):
        return label, value[3].get("children")
    return None


def _trade_detail_from_live(
    what: str, tx_id: int, props: dict[str, Any] | None, pairs: dict[str, object]
) -> TradeDetail | PageFailure:
    """The detail from the value/label pairs: every field the page shows is read, or the page
    is a failure naming the field (a value in a form this reader does not know is never
    dropped while the trade is marked enriched)."""
    texts: dict[str, str | None] = {}
    for label, children in pairs.items():
        text = text_of(children)
        if text is None:
            return PageFailure(
                FailureKind.LAYOUT_CHANGED,
                f"{what}: the value of {label!r} cannot be read as text ({children!r:.60})",
            )
        text = text.strip()
        texts[label] = None if text in _NOT_SHOWN else text
    price_text, shares_text, gap_text = (
        texts.get("Price"),
        texts.get("Shares"),
        texts.get("Reporting Gap"),
    )
    price, decimals = _parse_money(price_text)
    shares = _parse_shares(shares_text)
    gap_match = _DAYS.match(gap_text) if gap_text else None
    for label, text, value, form in (
        ("Price", price_text, price, "an amount"),
        ("Shares", shares_text, shares, "a share count or range"),
        ("Reporting Gap", gap_text, gap_match, "a number of days"),
    ):
        if text is not None and value is None:
            return PageFailure(
                FailureKind.LAYOUT_CHANGED,
                f"{what}: {label!r} shows {text!r:.60}, which is not {form}",
            )
    filing_url = _filing_url_of(props) if props is not None else None
    asset_text = texts.get("Asset Type")
    return TradeDetail(
        tx_id=tx_id,
        asset_type=kebab(asset_text) if asset_text else None,
        filing_url=filing_url,
        filing_id=_filing_id_from_url(filing_url),
        price=price,
        price_decimals=decimals,
        size_range_low=shares[0] if shares else None,
        size_range_high=shares[1] if shares else None,
        reporting_gap=_gap_days(gap_match) if gap_match else None,
    )


def _gap_days(match: re.Match[str]) -> int:
    days = int(match.group(2).replace(",", ""))
    return -days if match.group(1) else days


def _parse_money(text: str | None) -> tuple[float | None, int | None]:
    """An amount as shown (``$2.49``) and how many decimals it showed (it may be rounded);
    (None, None) for anything that is not an amount."""
    if not text:
        return None, None
    match = _NUMBER.match(text)
    if match is None:
        return None, None
    digits = match.group(1).replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None, None
    _, point, fraction = digits.partition(".")
    return value, len(fraction) if point else 0


def _parse_shares(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    match = _SHARES_RANGE.match(text)
    if match:
        return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
    single = text.replace(",", "").strip()
    if single.isdigit():
        return int(single), int(single)
    return None
