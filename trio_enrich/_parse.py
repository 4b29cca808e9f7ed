"""Sans-io parser for capitoltrades.com pages: bytes in, values or a classified failure out.

No I/O, no trio, no httpx: only the standard library. Every public function returns either a
value or a :class:`PageFailure` and never raises on bad input, whatever the bytes are.

How a page carries its data (see shared/docs/capitoltrades-pages.md):

* The HTML holds ``self.__next_f.push([1,"<text>"])`` scripts. Each argument is valid JSON; the
  strings of the ``[1, ...]`` pushes, joined in order, form the Next.js "flight" text. Chunks cut
  rows and strings anywhere, so nothing may be searched before joining.
* The flight text is a sequence of rows ``<hex id>:<payload>``. JSON payloads end at a newline
  (JSON never contains a raw one); ``T`` rows are length-prefixed text with no newline after them;
  ``E`` rows are errors; other rows (``I``, ``HL``...) are module hints we do not need.
* Inside JSON, strings starting with ``$`` are escaped as ``$$``; ``"$undefined"`` means missing.

We decode every JSON row with the C decoder and look for the data by key in the decoded trees,
which is string-aware by construction and cheap (about a millisecond for a 240 KB listing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._flight import Flight, is_element, read_flight, unreadable_in
from ._model import (
    PERFORMANCE_FIELDS,
    FailureKind,
    IssuerDetail,
    IssuerPage,
    IssuerPerformance,
    IssuerStats,
    IssuerSummary,
    ListingIssuer,
    ListingPage,
    ListingPolitician,
    ListingTrade,
    PageFailure,
    PoliticianCard,
    PoliticianPage,
    TradeDetail,
)

__all__ = [
    "flight_text",
    "parse_issuer_detail",
    "parse_issuers_page",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "trade_detail_from_object",
]

_HOUSE_FILING_ID = re.compile(r"/ptr-pdfs/\d{4}/(\d+)\.pdf(?:$|[?#])")
_SHARES_RANGE = re.compile(r"^\s*([\d,]+)\s*[-\u2013\u2014]\s*([\d,]+)\s*$")
_NUMBER = re.compile(r"^\s*\$?\s*(-?[\d,]*\.?\d+)\s*$")
_DAYS = re.compile(r"^\s*(\d+)\s*days?\s*$", re.IGNORECASE)
_POLITICIAN_HREF = re.compile(r"^/politicians/([A-Za-z]\d{6})$")
_NOT_WORDS = re.compile(r"[^0-9a-z]+")
# Real pages carry data-dgst="BAILOUT_TO_CLIENT_SIDE_RENDERING" on a normal client boundary;
# any other digest is a server error rendered in place of content.
_ERROR_DIGEST_ATTRIBUTE = re.compile(r'data-dgst="(?!BAILOUT_TO_CLIENT_SIDE_RENDERING")')
_NOT_FOUND_HEADING = re.compile(r"<h1[^>]*>\s*Page Not Found\s*</h1>")

_CHALLENGE_MARKERS = (
    "Vercel Security Checkpoint",
    "Enable JavaScript to continue",
    "cf-challenge",
    "challenge-platform",
    "Just a moment...",
    "Attention Required!",
)

# Object-shaped trade detail pages carry a full trade object; these keys tell it from the small
# live-shape props object {"filingUrl", "tradeId"} and from links to sibling trades.
_TRADE_OBJECT_KEYS = frozenset(
    {"asset", "filingId", "hasCapitalGains", "size", "sizeRangeLow", "sizeRangeHigh", "committees"}
)

# --- opening a page: one step shared by every reader -------------------------------------------


def _as_text(page: bytes | str) -> str:
    if isinstance(page, str):
        return page
    return page.decode("utf-8", errors="replace")


def flight_text(page: bytes | str) -> str:
    """Every ``[1,"..."]`` push string of the page, decoded and joined in order."""
    return read_flight(_as_text(page)).text


@dataclass(slots=True)
class _Page:
    html: str
    flight: Flight
    roots: list[Any]  # resolved JSON rows (those holding an anchor, when anchors were given)

    def walk(self, trees: list[Any] | None = None) -> Iterator[Any]:
        """Every container of the resolved roots (or of `trees` of this page), once each."""
        return self.flight.walk(self.roots if trees is None else trees)


def _open_page(page: bytes | str, what: str, anchors: tuple[str, ...] = ()) -> _Page | PageFailure:
    """Decode a page's flight data and resolve its rows, or say why the page is cut off."""
    html = _as_text(page)
    flight = read_flight(html)
    if flight.broken_tail or _is_cut_stream(html):
        return _classify_missing(html, flight, what)
    return _Page(html, flight, flight.roots(anchors))


def _unreadable(subtree: Any, what: str) -> PageFailure | None:
    """A failure when the data a reader takes holds a value the flight data could not give."""
    problem = unreadable_in(subtree)
    if problem is None:
        return None
    return PageFailure(FailureKind.BLOCKED, f"{what}: unreadable flight data ({problem.reason})")


# --- scalar accessors: apply the $ escapes, never raise ----------------------------------------


def _json_text(value: Any) -> str | None:
    """Any resolved JSON value as canonical JSON text; None for null or a value JSON lacks."""
    if value is None:
        return None
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (RecursionError, ValueError, TypeError):
        return None


def _str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _nonempty_str(mapping: dict[str, Any], key: str) -> str | None:
    value = _str(mapping, key)
    return value if value else None


def _int(mapping: dict[str, Any], key: str) -> int | None:
    return _to_int(mapping.get(key))


def _to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _float(mapping: dict[str, Any], key: str) -> float | None:
    return _to_float(mapping.get(key))


def _to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    return None


def _bool(mapping: dict[str, Any], key: str) -> bool | None:
    value = mapping.get(key)
    return value if isinstance(value, bool) else None


def _str_list(mapping: dict[str, Any], key: str) -> tuple[str, ...]:
    value = mapping.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def _kebab(text: str) -> str | None:
    slug = _NOT_WORDS.sub("-", text.lower()).strip("-")
    return slug or None


# --- failure classification -------------------------------------------------------------------


def _classify_missing(html: str, flight: Flight, what: str) -> PageFailure:
    """Why a page has no data for `what`: the checks go from most to least specific."""
    if flight.broken_tail:
        return PageFailure(FailureKind.TRUNCATED, "the page ends inside a data script")
    if _shows_not_found(html, flight):
        return PageFailure(FailureKind.NOT_FOUND, f"the site answered 'Page Not Found' for {what}")
    if flight.error_digests:
        digest = flight.error_digests[0]
        return PageFailure(FailureKind.ERROR_DIGEST, f"the site rendered error {digest} for {what}")
    if "$RX(" in html or _ERROR_DIGEST_ATTRIBUTE.search(html):
        return PageFailure(FailureKind.ERROR_DIGEST, f"the site rendered an error page for {what}")
    for marker in _CHALLENGE_MARKERS:
        if marker in html:
            return PageFailure(FailureKind.BLOCKED, f"a bot challenge page ({marker!r})")
    if _is_cut_stream(html):
        return PageFailure(FailureKind.TRUNCATED, "the page was cut off before its content")
    if flight.pushes == 0:
        return PageFailure(FailureKind.BLOCKED, "no data scripts on the page (a bot shell?)")
    return PageFailure(
        FailureKind.BLOCKED, f"no data for {what} on the page (has the site's layout changed?)"
    )


def _shows_not_found(html: str, flight: Flight) -> bool:
    """The site's "Page Not Found" template is the page's content.

    Every real page carries that template as the layout's ``notFound`` prop, so the words alone
    prove nothing: the heading must appear outside that prop (or in the visible HTML).
    """
    if "NEXT_NOT_FOUND" in flight.text or "NEXT_HTTP_ERROR_FALLBACK;404" in flight.text:
        return True
    if _NOT_FOUND_HEADING.search(html):
        return True
    if "Page Not Found" not in flight.text:
        return False
    stack: list[Any] = flight.roots()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(value for key, value in node.items() if key != "notFound")
        elif isinstance(node, list):
            if (
                is_element(node)
                and node[1] == "h1"
                and isinstance(node[3], dict)
                and node[3].get("children") == "Page Not Found"
            ):
                return True
            stack.extend(node)
    return False


def _is_cut_stream(html: str) -> bool:
    """A streamed page whose suspended content never arrived, or which stops mid-document."""
    if '<template id="B:0"' in html and 'id="S:0"' not in html:
        return True
    tail = html[-4096:]
    if "</html>" in tail:  # the common case, without lower-casing the page
        return False
    return "<html" in html[:2048].lower() and "</html>" not in tail.lower()


# --- trades listing ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Table:
    rows: list[Any]
    total_count: int | None
    total_pages: int | None


def _find_table(opened: _Page, row_key: str, *, unless: str = "") -> _Table | None:
    """The listing table whose rows all carry `row_key` (and not `unless`), with its totals.

    Another array on a page may look alike (the trades page's issuer filter has `_issuerId`
    too): the row key tells them apart. An empty table (a page past the end) is an element
    whose ``data`` prop is an empty list, on a page with a ``totalCount``.
    """
    rows: list[Any] | None = None
    empty_table = False
    total_count: int | None = None
    total_pages: int | None = None
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
            total_count = _int(node, "totalCount")
            total_pages = _int(node, "totalPages")
        if rows is not None and total_count is not None:
            break  # the rest of the page is layout
    if rows is None and empty_table and total_count is not None:
        rows = []
    return None if rows is None else _Table(rows, total_count, total_pages)


def parse_trades_page(
    page: bytes | str, *, page_number: int | None = None, page_size: int | None = None
) -> ListingPage | PageFailure:
    """The trade rows of a ``/trades?page=N`` page with its totals.

    Every row must be read: a row that cannot be is a failure of the page, not a gap. With
    `page_number` and `page_size` (what was asked for), a page with fewer or more rows than its
    own ``totalCount`` implies is a failure too (a layout change, or a page size the site does
    not honour), so a listing never yields a silent hole.
    """
    opened = _open_page(page, "the trades listing", ('"data":', '"totalCount":'))
    if isinstance(opened, PageFailure):
        return opened
    table = _find_table(opened, "_txId")
    if table is None:
        return _classify_missing(opened.html, opened.flight, "the trades listing")
    failure = _unreadable(table.rows, "the trades listing")
    if failure is not None:
        return failure
    trades: list[ListingTrade] = []
    for index, row in enumerate(table.rows):
        trade = _listing_trade(row)
        if trade is None:
            shown = row.get("_txId") if isinstance(row, dict) else None
            return PageFailure(
                FailureKind.BLOCKED,
                f"row {index + 1} of the trades listing (trade {shown}) cannot be read: "
                "has the site's layout changed?",
            )
        trades.append(trade)
    total = table.total_count
    if page_number is not None and page_size is not None and total is not None:
        expected = max(0, min(page_size, total - (page_number - 1) * page_size))
        if len(trades) != expected:
            return PageFailure(
                FailureKind.BLOCKED,
                f"{len(trades)} rows where totalCount {total} implies {expected} on page "
                f"{page_number} of size {page_size}: has the listing changed?",
            )
    return ListingPage(trades=tuple(trades), total_count=total, total_pages=table.total_pages)


def _listing_trade(row: dict[str, Any]) -> ListingTrade | None:
    tx_id = _int(row, "_txId")
    issuer_id = _int(row, "_issuerId")
    politician_id = _str(row, "_politicianId")
    pub_date = _str(row, "pubDate")
    tx_date = _str(row, "txDate")
    tx_type = _str(row, "txType")
    value = _int(row, "value")
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
    issuer_name = _str(issuer, "issuerName")
    if issuer_name is None:
        return None
    extended = row.get("txTypeExtended")
    return ListingTrade(
        tx_id=tx_id,
        chamber=_str(row, "chamber") or _str(politician, "chamber") or "",
        comment=_str(row, "comment"),
        owner=_str(row, "owner"),
        price=_float(row, "price"),
        pub_date=pub_date,
        reporting_gap=_int(row, "reportingGap"),
        tx_date=tx_date,
        tx_type=tx_type,
        tx_type_extended=_json_text(extended),
        value=value,
        issuer=ListingIssuer(
            issuer_id=issuer_id,
            state_id=_str(issuer, "_stateId"),
            c2iq=_str(issuer, "c2iq"),
            country=_str(issuer, "country"),
            issuer_name=issuer_name,
            issuer_ticker=_str(issuer, "issuerTicker"),
            sector=_str(issuer, "sector"),
        ),
        politician=ListingPolitician(
            politician_id=politician_id,
            state_id=_str(politician, "_stateId"),
            chamber=_str(politician, "chamber"),
            dob=_str(politician, "dob"),
            first_name=_str(politician, "firstName"),
            last_name=_str(politician, "lastName"),
            nickname=_str(politician, "nickname"),
            gender=_str(politician, "gender"),
            party=_str(politician, "party"),
        ),
    )


# --- trade detail -----------------------------------------------------------------------------


def parse_trade_detail(page: bytes | str, tx_id: int) -> TradeDetail | PageFailure:
    """The detail of trade `tx_id`, from either the object shape or the live shape."""
    what = f"trade {tx_id}"
    # Every row: React may send the value and the label of a pair in rows of their own, which
    # only their parent joins; a detail page is small.
    opened = _open_page(page, what)
    if isinstance(opened, PageFailure):
        return opened
    trade_object: dict[str, Any] | None = None
    live_props: dict[str, Any] | None = None
    id_seen = False
    other_ids: set[int] = set()
    pairs: dict[str, str] = {}
    grid: list[Any] = []  # the (value, label) lists, to check for unreadable values
    for node in opened.walk():
        if type(node) is list:
            if len(node) == 2:  # only a two-span list can be a (value, label) pair
                pair = _label_pair(node)
                if pair is not None:
                    label, value = pair
                    grid.append(value)
                    if isinstance(value, str):
                        pairs.setdefault(label, value)
            continue
        if "tradeId" not in node and "_txId" not in node:
            continue
        node_id = _int(node, "tradeId")
        if node_id is None:
            node_id = _int(node, "_txId")
        if node_id is None:
            continue
        if node_id != tx_id:
            other_ids.add(node_id)
            continue
        id_seen = True
        if trade_object is None and not _TRADE_OBJECT_KEYS.isdisjoint(node):
            trade_object = node
        elif live_props is None and _filing_url_of(node) is not None:
            live_props = node
    if trade_object is not None:
        failure = _unreadable(trade_object, what)
        if failure is not None:
            return failure
        detail = trade_detail_from_object(trade_object, tx_id)
    elif id_seen:
        failure = _unreadable([live_props, grid], what)
        if failure is not None:
            return failure
        if pairs and "Asset Type" not in pairs:
            # The grid is there but says no asset type: a layout we do not read, not a trade
            # without one (the site shows "Asset Type" on every trade page).
            return PageFailure(
                FailureKind.BLOCKED,
                f"the page of {what} shows its details but no asset type "
                "(has the site's layout changed?)",
            )
        detail = _trade_detail_from_live(tx_id, live_props, pairs)
    elif other_ids:
        shown = ", ".join(str(i) for i in sorted(other_ids)[:3])
        return PageFailure(FailureKind.BLOCKED, f"the page is about trade {shown}, not {tx_id}")
    else:
        return _classify_missing(opened.html, opened.flight, what)
    if not detail.has_enrichment():
        return PageFailure(
            FailureKind.BLOCKED,
            f"the page of {what} yields none of its detail fields (has the site's layout changed?)",
        )
    return detail


def _filing_url_of(mapping: dict[str, Any]) -> str | None:
    url = _str(mapping, "filingUrl") or _str(mapping, "filingURL")
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
        tx_id = _int(obj, "tradeId") or _int(obj, "_txId") or 0
    asset = obj.get("asset")
    asset = asset if isinstance(asset, dict) else {}
    asset_type = _nonempty_str(asset, "assetType")
    filing_url = _filing_url_of(obj) or _nonempty_str(obj, "filingUrl")
    filing_id = _int(obj, "filingId")
    if filing_id is None or filing_id <= 0:
        filing_id = _filing_id_from_url(filing_url)
    return TradeDetail(
        tx_id=tx_id,
        asset_type=_kebab(asset_type) if asset_type else None,
        asset_ticker=_nonempty_str(asset, "assetTicker"),
        instrument=_nonempty_str(asset, "instrument"),
        filing_url=filing_url,
        filing_id=filing_id,
        price=_float(obj, "price"),
        size=_int(obj, "size"),
        size_range_low=_int(obj, "sizeRangeLow"),
        size_range_high=_int(obj, "sizeRangeHigh"),
        has_capital_gains=_bool(obj, "hasCapitalGains"),
        committees=_str_list(obj, "committees"),
        labels=_str_list(obj, "labels"),
        reporting_gap=_int(obj, "reportingGap"),
    )


def _span_text(node: object) -> str | None:
    """The text of a ``["$","span",key,{"children":"text"}]`` element, else None."""
    if is_element(node) and node[1] == "span" and isinstance(node[3], dict):  # type: ignore[index]
        text = node[3].get("children")  # type: ignore[index]
        if isinstance(text, str):
            return text
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
    tx_id: int, props: dict[str, Any] | None, pairs: dict[str, str]
) -> TradeDetail:
    filing_url = _filing_url_of(props) if props is not None else None
    price, decimals = _parse_money(pairs.get("Price"))
    asset_text = pairs.get("Asset Type")
    shares = _parse_shares(pairs.get("Shares"))
    gap = pairs.get("Reporting Gap")
    gap_match = _DAYS.match(gap) if gap else None
    return TradeDetail(
        tx_id=tx_id,
        asset_type=_kebab(asset_text) if asset_text else None,
        filing_url=filing_url,
        filing_id=_filing_id_from_url(filing_url),
        price=price,
        price_decimals=decimals,
        size_range_low=shares[0] if shares else None,
        size_range_high=shares[1] if shares else None,
        reporting_gap=int(gap_match.group(1)) if gap_match else None,
    )


def _parse_money(text: str | None) -> tuple[float | None, int | None]:
    """An amount as shown (``$2.49``) and how many decimals it showed (it may be rounded)."""
    if not text:
        return None, None
    match = _NUMBER.match(text)
    if match is None:
        return None, None  # "N/A" and anything else that is not a number
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


# --- issuer detail ----------------------------------------------------------------------------


def parse_issuer_detail(page: bytes | str, issuer_id: int) -> IssuerDetail | PageFailure:
    """The ``issuerData`` object of issuer `issuer_id`, with stats, performance and prices.

    A page without performance (``null``) is an issuer without it; a performance object that
    is there but cannot be read whole is a failure, never a success that drops it.
    """
    what = f"issuer {issuer_id}"
    opened = _open_page(page, what, ('"issuerData":',))
    if isinstance(opened, PageFailure):
        return opened
    for node in opened.walk():
        if not isinstance(node, dict):
            continue
        data = node.get("issuerData")
        if not isinstance(data, dict):
            continue
        failure = _unreadable(data, what)
        if failure is not None:
            return failure
        page_id = _int(data, "_issuerId")
        if page_id is not None and page_id != issuer_id:
            return PageFailure(
                FailureKind.BLOCKED, f"the page is about issuer {page_id}, not {issuer_id}"
            )
        name = _str(data, "issuerName")
        if not name:
            return PageFailure(FailureKind.BLOCKED, f"the data of {what} has no issuer name")
        raw_performance = data.get("performance")
        performance = _issuer_performance(raw_performance)
        if isinstance(performance, str):
            return PageFailure(
                FailureKind.BLOCKED, f"the performance of {what} cannot be read: {performance}"
            )
        return IssuerDetail(
            issuer_id=issuer_id,
            state_id=_str(data, "_stateId"),
            c2iq=_str(data, "c2iq"),
            country=_str(data, "country"),
            issuer_name=name,
            issuer_ticker=_str(data, "issuerTicker"),
            sector=_str(data, "sector"),
            stats=_issuer_stats(data.get("stats")),
            performance=performance,
        )
    return _classify_missing(opened.html, opened.flight, what)


def _issuer_stats(value: object) -> IssuerStats | None:
    if not isinstance(value, dict):
        return None
    count_trades = _int(value, "countTrades")
    count_politicians = _int(value, "countPoliticians")
    volume = _int(value, "volume")
    if count_trades is None or count_politicians is None or volume is None:
        return None
    return IssuerStats(
        count_trades=count_trades,
        count_politicians=count_politicians,
        volume=volume,
        date_last_traded=_str(value, "dateLastTraded"),
    )


def _issuer_performance(value: object) -> IssuerPerformance | str | None:
    """The performance, None when the page has none, or why a present one cannot be read."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"it is {type(value).__name__}, not an object"
    mcap = _int(value, "mcap")
    if mcap is None:
        return f"mcap is {value.get('mcap')!r}"
    numbers: list[float] = []
    for key in PERFORMANCE_FIELDS:
        number = _float(value, key)
        if number is None:
            # The store keeps performance only whole; NaN and infinities do not fit it.
            return f"{key} is {value.get(key)!r}"
        numbers.append(number)
    prices = _eod_prices(value.get("eodPrices"))
    if isinstance(prices, str):
        return prices
    return IssuerPerformance(mcap=mcap, numbers=tuple(numbers), eod_prices=prices)


def _eod_prices(value: object) -> tuple[tuple[str, float], ...] | str:
    """Pairs in either order, ``[date, price]`` (reported) or ``[price, date]`` (one fixture);
    a pair that is neither is a reason, not a price to drop."""
    if value is None:
        return ()
    if not isinstance(value, list):
        return f"eodPrices is {type(value).__name__}, not a list"
    prices: list[tuple[str, float]] = []
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            return f"an end-of-day price {pair!r:.60} is not a pair"
        first, second = pair
        if isinstance(first, str) and (price := _to_float(second)) is not None:
            prices.append((first, price))
        elif isinstance(second, str) and (price := _to_float(first)) is not None:
            prices.append((second, price))
        else:
            return f"an end-of-day price {pair!r:.60} is not a date and a number"
    return tuple(prices)


# --- issuers listing -------------------------------------------------------------------------


def parse_issuers_page(page: bytes | str) -> IssuerPage | PageFailure:
    """The issuer summaries of ``/issuers?page=N`` (a shape ASSUMED, never captured)."""
    opened = _open_page(page, "the issuers listing", ('"data":', '"totalCount":'))
    if isinstance(opened, PageFailure):
        return opened
    table = _find_table(opened, "_issuerId", unless="_txId")
    if table is None:
        return _classify_missing(opened.html, opened.flight, "the issuers listing")
    issuers: list[IssuerSummary] = []
    for row in table.rows:
        issuer_id = _int(row, "_issuerId")
        name = _str(row, "issuerName")
        if issuer_id is None or not name:
            continue
        issuers.append(
            IssuerSummary(
                issuer_id=issuer_id,
                issuer_name=name,
                issuer_ticker=_str(row, "issuerTicker"),
                sector=_str(row, "sector"),
                stats=_issuer_stats(row.get("stats")),
            )
        )
    return IssuerPage(
        issuers=tuple(issuers), total_count=table.total_count, total_pages=table.total_pages
    )


# --- politicians listing ----------------------------------------------------------------------


def parse_politicians_page(page: bytes | str) -> PoliticianPage | PageFailure:
    """The politician cards of ``/politicians?...``: rendered cards, read by their CSS cells."""
    opened = _open_page(page, "the politicians listing")
    if isinstance(opened, PageFailure):
        return opened
    cards: list[PoliticianCard] = []
    seen: set[str] = set()
    total_count: int | None = None
    for node in opened.walk():
        if not isinstance(node, dict):
            continue
        if total_count is None and "totalCount" in node:
            total_count = _int(node, "totalCount")
        href = node.get("href")
        match = _POLITICIAN_HREF.match(href) if isinstance(href, str) else None
        if match is None or match.group(1) in seen:
            continue
        card = _politician_card(opened, match.group(1), node.get("children"))
        if card is not None:
            seen.add(card.politician_id)
            cards.append(card)
    if not cards and total_count is None:
        return _classify_missing(opened.html, opened.flight, "the politicians listing")
    return PoliticianPage(politicians=tuple(cards), total_count=total_count)


def _politician_card(opened: _Page, politician_id: str, tree: object) -> PoliticianCard | None:
    name: str | None = None
    party: str | None = None
    state: str | None = None
    cells: dict[str, str] = {}
    for node in opened.walk([tree]):
        if not is_element(node):
            continue
        props = node[3]
        if not isinstance(props, dict):
            continue
        class_name = props.get("className")
        class_name = class_name if isinstance(class_name, str) else ""
        if node[1] == "h2" and name is None:
            name = _text(props.get("children"))
        elif "q-field party" in class_name and party is None:
            party = _text(props.get("children"))
        elif "us-state-full " in class_name + " " and state is None:
            state = _text(props.get("children"))
        elif "q-cell cell--" in class_name:
            cell = class_name.split("cell--", 1)[1].split()[0]
            cells[cell] = _cell_value(opened, props.get("children"))
    if not name:
        return None
    return PoliticianCard(
        politician_id=politician_id,
        name=name,
        party=party,
        state=state,
        count_trades=_to_int(cells.get("count-trades")),
        count_issuers=_to_int(cells.get("count-issuers")),
        volume=cells.get("volume") or None,
        date_last_traded=cells.get("last-traded") or None,
    )


def _cell_value(opened: _Page, tree: object) -> str:
    """The text of a card cell's ``q-value`` element (its ``q-label`` is left out)."""
    for node in opened.walk([tree]):
        if is_element(node):
            props = node[3]
            if isinstance(props, dict) and "q-value" in str(props.get("className", "")):
                return _text(props.get("children"))
    return ""


def _text(tree: object) -> str:
    """The visible text under a React element tree, whitespace-trimmed."""
    parts: list[str] = []
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, list):
            if is_element(node):
                props = node[3]
                if isinstance(props, dict):
                    stack.append(props.get("children"))
            else:
                stack.extend(reversed(node))
    return "".join(parts).strip()
