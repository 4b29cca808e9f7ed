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
from dataclasses import dataclass, field
from typing import Any

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
    "Flight",
    "decode_flight",
    "flight_text",
    "parse_issuer_detail",
    "parse_issuers_page",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "trade_detail_from_object",
]

_PUSH = "self.__next_f.push("
_ROW_ID = re.compile(r"[0-9a-fA-F]*:")
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

# --- flight text ------------------------------------------------------------------------------


@dataclass(slots=True)
class Flight:
    """The decoded flight data of one page."""

    text: str
    pushes: int = 0  # every push call seen, bootstrap ones included
    broken_tail: bool = False  # the last push could not be decoded: the body was cut off
    rows: list[Any] = field(default_factory=list)  # decoded JSON rows, in page order
    error_digests: list[str] = field(default_factory=list)


def _as_text(page: bytes | str) -> str:
    if isinstance(page, str):
        return page
    return page.decode("utf-8", errors="replace")


def flight_text(page: bytes | str) -> str:
    """Every ``[1,"..."]`` push string of the page, decoded and joined in order."""
    return _scan_pushes(_as_text(page)).text


def _scan_pushes(html: str) -> Flight:
    decoder = json.JSONDecoder()
    parts: list[str] = []
    pushes = 0
    broken_tail = False
    position = html.find(_PUSH)
    while position >= 0:
        start = position + len(_PUSH)
        pushes += 1
        try:
            value, _end = decoder.raw_decode(html, start)
        except (ValueError, RecursionError):
            # A push we cannot decode is damage; when no complete script follows it, the body
            # was cut off mid-push.
            if html.find("</script>", start) < 0:
                broken_tail = True
        else:
            if (
                isinstance(value, list)
                and len(value) == 2
                and value[0] == 1
                and isinstance(value[1], str)
            ):
                parts.append(value[1])
        position = html.find(_PUSH, start)
    return Flight(text="".join(parts), pushes=pushes, broken_tail=broken_tail)


def decode_flight(page: bytes | str, anchors: tuple[str, ...] = ()) -> Flight:
    """Join the pushes of a page and decode its error rows and JSON rows.

    With `anchors`, only JSON rows that contain one of them are decoded: the layout rows of a
    page are most of its text and never hold its data.
    """
    flight = _scan_pushes(_as_text(page))
    _decode_rows(flight, anchors)
    return flight


def _all_rows(flight: Flight) -> list[Any]:
    """Every JSON row of the flight, for the (rare) pages that must be classified."""
    full = Flight(text=flight.text)
    _decode_rows(full, ())
    return full.rows


def _decode_rows(flight: Flight, anchors: tuple[str, ...]) -> None:
    text = flight.text
    decoder = json.JSONDecoder()
    length = len(text)
    position = 0
    while position < length:
        match = _ROW_ID.match(text, position)
        if match is None:
            # Not a row start: resynchronise at the next line.
            newline = text.find("\n", position)
            position = length if newline < 0 else newline + 1
            continue
        start = match.end()
        tag = text[start : start + 1]
        if tag == "T":
            position = _skip_text_row(text, start)
            continue
        newline = text.find("\n", start)
        end = length if newline < 0 else newline
        payload = text[start:end]
        position = end + 1
        if not payload:
            continue
        first = payload[0]
        if first == "E":
            digest = _error_digest(payload[1:])
            flight.error_digests.append(digest)
        elif first in '[{"' or first.isdigit() or first == "-" or payload in ("null", "true"):
            if anchors and not any(anchor in payload for anchor in anchors):
                continue
            try:
                value, _ = decoder.raw_decode(payload)
            except (ValueError, RecursionError):
                continue
            flight.rows.append(value)


def _skip_text_row(text: str, start: int) -> int:
    """Position after a ``T<hex length>,<text>`` row; the length counts UTF-8 bytes."""
    comma = text.find(",", start)
    if comma < 0:
        return len(text)
    try:
        size = int(text[start + 1 : comma], 16)
    except ValueError:
        newline = text.find("\n", start)
        return len(text) if newline < 0 else newline + 1
    body_start = comma + 1
    chunk = text[body_start : body_start + size]
    encoded = chunk.encode("utf-8", errors="surrogatepass")
    if len(encoded) > size:
        chunk = encoded[:size].decode("utf-8", errors="ignore")
    return body_start + len(chunk)


def _error_digest(payload: str) -> str:
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return payload[:80]
    if isinstance(value, dict):
        digest = value.get("digest")
        if isinstance(digest, str):
            return digest
    return payload[:80]


def _walk(trees: list[Any]) -> Iterator[Any]:
    """Every dict and list inside the trees, depth first, without recursion."""
    # Only containers go on the stack: most values are strings, and skipping them here halves
    # the walk. The trees come from json, so exact type checks are enough.
    stack: list[Any] = [node for node in reversed(trees) if type(node) in _CONTAINERS]
    while stack:
        node = stack.pop()
        yield node
        children = reversed(node.values()) if type(node) is dict else reversed(node)
        stack.extend([child for child in children if type(child) in _CONTAINERS])


_CONTAINERS = (dict, list)


# --- scalar accessors: apply the $ escapes, never raise ----------------------------------------


def _unescape(value: object) -> object:
    if isinstance(value, str) and value.startswith("$"):
        if value.startswith("$$"):
            return value[1:]
        if value == "$undefined":
            return None
    return value


def _unescape_tree(value: Any) -> Any:
    """`value` with the $ escapes undone at every depth (it came from JSON, so it is finite)."""
    if isinstance(value, dict):
        return {key: _unescape_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unescape_tree(item) for item in value]
    return _unescape(value)


def _json_text(value: Any) -> str | None:
    """Any JSON value, unescaped, as canonical JSON text; None for null or a pathological value."""
    if value is None:
        return None
    try:
        return json.dumps(_unescape_tree(value), sort_keys=True)
    except (RecursionError, ValueError):
        return None


def _str(mapping: dict[str, Any], key: str) -> str | None:
    value = _unescape(mapping.get(key))
    return value if isinstance(value, str) else None


def _nonempty_str(mapping: dict[str, Any], key: str) -> str | None:
    value = _str(mapping, key)
    return value if value else None


def _int(mapping: dict[str, Any], key: str) -> int | None:
    return _to_int(_unescape(mapping.get(key)))


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
    return _to_float(_unescape(mapping.get(key)))


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
    items = (_unescape(item) for item in value)
    return tuple(item for item in items if isinstance(item, str) and item)


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
    stack: list[Any] = _all_rows(flight)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(value for key, value in node.items() if key != "notFound")
        elif isinstance(node, list):
            if (
                len(node) == 4
                and node[0] == "$"
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


def _find_table(flight: Flight, row_key: str, *, unless: str = "") -> _Table | None:
    """The listing table whose rows all carry `row_key` (and not `unless`), with its totals.

    Another array on a page may look alike (the trades page's issuer filter has `_issuerId`
    too): the row key tells them apart. An empty table (a page past the end) still has its
    data key next to a `columnVisibility` prop.
    """
    rows: list[Any] | None = None
    empty_table = False
    total_count: int | None = None
    total_pages: int | None = None
    for node in _walk(flight.rows):
        if not isinstance(node, dict):
            continue
        data = node.get("data")
        if rows is None and isinstance(data, list):
            if data and all(
                isinstance(row, dict) and row_key in row and unless not in row for row in data
            ):
                rows = data
            elif not data and "columnVisibility" in node:
                empty_table = True
        if total_count is None and "totalCount" in node:
            total_count = _int(node, "totalCount")
            total_pages = _int(node, "totalPages")
    if rows is None and empty_table and total_count is not None:
        rows = []
    return None if rows is None else _Table(rows, total_count, total_pages)


def parse_trades_page(page: bytes | str) -> ListingPage | PageFailure:
    """The trade rows of a ``/trades?page=N`` page with its totals."""
    html = _as_text(page)
    flight = decode_flight(html, ('"data":', '"totalCount":'))
    if flight.broken_tail or _is_cut_stream(html):
        return _classify_missing(html, flight, "the trades listing")
    table = _find_table(flight, "_txId")
    if table is None:
        return _classify_missing(html, flight, "the trades listing")
    trades = tuple(t for t in (_listing_trade(row) for row in table.rows) if t is not None)
    if table.rows and not trades:
        return PageFailure(FailureKind.BLOCKED, "no trade row of the listing could be read")
    return ListingPage(trades=trades, total_count=table.total_count, total_pages=table.total_pages)


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
    html = _as_text(page)
    flight = decode_flight(html, ('"tradeId":', '"_txId":', '"Asset Type"'))
    what = f"trade {tx_id}"
    if flight.broken_tail or _is_cut_stream(html):
        return _classify_missing(html, flight, what)
    trade_object: dict[str, Any] | None = None
    live_props: dict[str, Any] | None = None
    id_seen = False
    other_ids: set[int] = set()
    pairs: dict[str, str] = {}
    for node in _walk(flight.rows):
        if type(node) is list:
            if len(node) == 2:  # only a two-span list can be a (value, label) pair
                pair = _label_pair(node)
                if pair is not None:
                    pairs.setdefault(pair[0], pair[1])
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
        detail = trade_detail_from_object(trade_object, tx_id)
    elif id_seen:
        detail = _trade_detail_from_live(tx_id, live_props, pairs)
    elif other_ids:
        shown = ", ".join(str(i) for i in sorted(other_ids)[:3])
        return PageFailure(FailureKind.BLOCKED, f"the page is about trade {shown}, not {tx_id}")
    else:
        return _classify_missing(html, flight, what)
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
    if (
        isinstance(node, list)
        and len(node) == 4
        and node[0] == "$"
        and node[1] == "span"
        and isinstance(node[3], dict)
    ):
        text = _unescape(node[3].get("children"))
        if isinstance(text, str):
            return text
    return None


_LIVE_LABELS = frozenset(
    {"Asset Type", "Owner", "Price", "Shares", "Reporting Gap", "Published", "Traded", "Filed on"}
)


def _label_pair(node: list[Any]) -> tuple[str, str] | None:
    """A (label, value) from a two-span list rendered value first, label second."""
    if len(node) != 2:
        return None
    label = _span_text(node[1])
    if label is None or label not in _LIVE_LABELS:
        return None
    value = _span_text(node[0])
    return None if value is None else (label, value)


def _trade_detail_from_live(
    tx_id: int, props: dict[str, Any] | None, pairs: dict[str, str]
) -> TradeDetail:
    filing_url = _filing_url_of(props) if props is not None else None
    asset_text = pairs.get("Asset Type")
    shares = _parse_shares(pairs.get("Shares"))
    gap = pairs.get("Reporting Gap")
    gap_match = _DAYS.match(gap) if gap else None
    return TradeDetail(
        tx_id=tx_id,
        asset_type=_kebab(asset_text) if asset_text else None,
        filing_url=filing_url,
        filing_id=_filing_id_from_url(filing_url),
        price=_parse_money(pairs.get("Price")),
        size_range_low=shares[0] if shares else None,
        size_range_high=shares[1] if shares else None,
        reporting_gap=int(gap_match.group(1)) if gap_match else None,
    )


def _parse_money(text: str | None) -> float | None:
    if not text:
        return None
    match = _NUMBER.match(text)
    if match is None:
        return None  # "N/A" and anything else that is not a number
    try:
        return float(match.group(1).replace(",", ""))
    except ValueError:
        return None


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
    """The ``issuerData`` object of issuer `issuer_id`, with stats, performance and prices."""
    html = _as_text(page)
    flight = decode_flight(html, ('"issuerData":',))
    what = f"issuer {issuer_id}"
    if flight.broken_tail or _is_cut_stream(html):
        return _classify_missing(html, flight, what)
    for node in _walk(flight.rows):
        if not isinstance(node, dict):
            continue
        data = node.get("issuerData")
        if not isinstance(data, dict):
            continue
        page_id = _int(data, "_issuerId")
        if page_id is not None and page_id != issuer_id:
            return PageFailure(
                FailureKind.BLOCKED, f"the page is about issuer {page_id}, not {issuer_id}"
            )
        name = _str(data, "issuerName")
        if not name:
            return PageFailure(FailureKind.BLOCKED, f"the data of {what} has no issuer name")
        return IssuerDetail(
            issuer_id=issuer_id,
            state_id=_str(data, "_stateId"),
            c2iq=_str(data, "c2iq"),
            country=_str(data, "country"),
            issuer_name=name,
            issuer_ticker=_str(data, "issuerTicker"),
            sector=_str(data, "sector"),
            stats=_issuer_stats(data.get("stats")),
            performance=_issuer_performance(data.get("performance")),
        )
    return _classify_missing(html, flight, what)


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


def _issuer_performance(value: object) -> IssuerPerformance | None:
    if not isinstance(value, dict):
        return None
    mcap = _int(value, "mcap")
    numbers = tuple(_float(value, key) for key in PERFORMANCE_FIELDS)
    if mcap is None or any(number is None for number in numbers):
        return None  # the store writes performance only when it is complete
    return IssuerPerformance(
        mcap=mcap,
        numbers=tuple(n for n in numbers if n is not None),
        eod_prices=_eod_prices(value.get("eodPrices")),
    )


def _eod_prices(value: object) -> tuple[tuple[str, float], ...]:
    """Pairs in either order, ``[date, price]`` (reported) or ``[price, date]`` (one fixture)."""
    if not isinstance(value, list):
        return ()
    prices: list[tuple[str, float]] = []
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        first, second = pair
        if isinstance(first, str) and (price := _to_float(second)) is not None:
            prices.append((first, price))
        elif isinstance(second, str) and (price := _to_float(first)) is not None:
            prices.append((second, price))
    return tuple(prices)


# --- issuers listing -------------------------------------------------------------------------


def parse_issuers_page(page: bytes | str) -> IssuerPage | PageFailure:
    """The issuer summaries of ``/issuers?page=N`` (a shape ASSUMED, never captured)."""
    html = _as_text(page)
    flight = decode_flight(html, ('"data":', '"totalCount":'))
    if flight.broken_tail or _is_cut_stream(html):
        return _classify_missing(html, flight, "the issuers listing")
    table = _find_table(flight, "_issuerId", unless="_txId")
    if table is None:
        return _classify_missing(html, flight, "the issuers listing")
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
    html = _as_text(page)
    flight = decode_flight(html)
    if flight.broken_tail or _is_cut_stream(html):
        return _classify_missing(html, flight, "the politicians listing")
    cards: list[PoliticianCard] = []
    seen: set[str] = set()
    total_count: int | None = None
    for node in _walk(flight.rows):
        if not isinstance(node, dict):
            continue
        if total_count is None and "totalCount" in node:
            total_count = _int(node, "totalCount")
        href = node.get("href")
        match = _POLITICIAN_HREF.match(href) if isinstance(href, str) else None
        if match is None or match.group(1) in seen:
            continue
        card = _politician_card(match.group(1), node.get("children"))
        if card is not None:
            seen.add(card.politician_id)
            cards.append(card)
    if not cards and total_count is None:
        return _classify_missing(html, flight, "the politicians listing")
    return PoliticianPage(politicians=tuple(cards), total_count=total_count)


def _politician_card(politician_id: str, tree: object) -> PoliticianCard | None:
    name: str | None = None
    party: str | None = None
    state: str | None = None
    cells: dict[str, str] = {}
    for node in _walk([tree]):
        if not (isinstance(node, list) and len(node) == 4 and node[0] == "$"):
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
            cells[cell] = _cell_value(props.get("children"))
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


def _cell_value(tree: object) -> str:
    """The text of a card cell's ``q-value`` element (its ``q-label`` is left out)."""
    for node in _walk([tree]):
        if isinstance(node, list) and len(node) == 4 and node[0] == "$":
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
            if node != "$undefined" and not (node.startswith("$") and not node.startswith("$$")):
                parts.append(str(_unescape(node)))
        elif isinstance(node, list):
            if len(node) == 4 and node[0] == "$" and isinstance(node[3], dict):
                stack.append(node[3].get("children"))
            else:
                stack.extend(reversed(node))
    return "".join(parts).strip()
