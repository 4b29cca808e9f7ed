"""Reader of an issuer's detail page (``/issuers/{id}``): its ``issuerData`` with stats,
performance and end-of-day prices. Sans-io, on the resolved flight tree.
"""

from __future__ import annotations

from .._model import (
    PERFORMANCE_FIELDS,
    FailureKind,
    IssuerDetail,
    IssuerPerformance,
    IssuerStats,
    PageFailure,
)
from .page import (
    classify_missing,
    get_float,
    get_int,
    get_str,
    open_page,
    read_issuer,
    to_float,
    unreadable,
)

# --- issuer detail ----------------------------------------------------------------------------


def parse_issuer_detail(page: bytes | str, issuer_id: int) -> IssuerDetail | PageFailure:
    """The ``issuerData`` object of issuer `issuer_id`, with stats, performance and prices.

    A page without performance (``null``) is an issuer without it. In a performance object a
    null or missing figure is "not shown" (an issuer listed less than a year ago has no
    trailing365); a figure that is there but not a number is a failure naming it, never a
    success that drops it.
    """
    what = f"issuer {issuer_id}"
    opened = open_page(page, what, ('"issuerData":',))
    if isinstance(opened, PageFailure):
        return opened
    for node in opened.walk():
        if not isinstance(node, dict):
            continue
        data = node.get("issuerData")
        if not isinstance(data, dict):
            continue
        failure = unreadable(data, what)
        if failure is not None:
            return failure
        page_id = get_int(data, "_issuerId")
        if page_id is not None and page_id != issuer_id:
            return PageFailure(
                FailureKind.LAYOUT_CHANGED, f"the page is about issuer {page_id}, not {issuer_id}"
            )
        issuer = read_issuer(data, issuer_id)
        if issuer is None or not issuer.issuer_name:
            return PageFailure(FailureKind.LAYOUT_CHANGED, f"the data of {what} has no issuer name")
        raw_performance = data.get("performance")
        performance = _issuer_performance(raw_performance)
        if isinstance(performance, str):
            return PageFailure(
                FailureKind.LAYOUT_CHANGED,
                f"the performance of {what} cannot be read: {performance}",
            )
        return IssuerDetail(
            issuer=issuer,
            stats=_issuer_stats(data.get("stats")),
            performance=performance,
        )
    return classify_missing(opened.html, opened.flight, what)


def _issuer_stats(value: object) -> IssuerStats | None:
    if not isinstance(value, dict):
        return None
    count_trades = get_int(value, "countTrades")
    count_politicians = get_int(value, "countPoliticians")
    volume = get_int(value, "volume")
    if count_trades is None or count_politicians is None or volume is None:
        return None
    return IssuerStats(
        count_trades=count_trades,
        count_politicians=count_politicians,
        volume=volume,
        date_last_traded=get_str(value, "dateLastTraded"),
    )


def _issuer_performance(value: object) -> IssuerPerformance | str | None:
    """The performance, None when the page shows none of it, or why a figure cannot be read."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"it is {type(value).__name__}, not an object"
    mcap = get_int(value, "mcap")
    if mcap is None and value.get("mcap") is not None:
        return f"mcap is {value.get('mcap')!r}"
    numbers: list[float | None] = []
    for key in PERFORMANCE_FIELDS:
        number = get_float(value, key)
        if number is None and value.get(key) is not None:
            # A value that is there but no finite number (a string, NaN, an infinity) is a
            # shape this reader does not know, not a figure the site left out.
            return f"{key} is {value.get(key)!r}"
        numbers.append(number)
    prices = _eod_prices(value.get("eodPrices"))
    if isinstance(prices, str):
        return prices
    if mcap is None and not prices and all(number is None for number in numbers):
        return None  # an object of nothing but nulls shows no performance at all
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
        if isinstance(first, str) and (price := to_float(second)) is not None:
            prices.append((first, price))
        elif isinstance(second, str) and (price := to_float(first)) is not None:
            prices.append((second, price))
        else:
            return f"an end-of-day price {pair!r:.60} is not a date and a number"
    return tuple(prices)
