"""The flight decoder (issue 12): every row kind and $-tag React writes, references resolved,
and hostile data (cycles, dangling references, deep nesting, random bytes) classified."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_enrich import (
    FailureKind,
    IssuerDetail,
    ListingPage,
    PageFailure,
    TradeDetail,
    parse_issuer_detail,
    parse_trade_detail,
    parse_trades_page,
)
from trio_enrich.site.flight import FlightModule, FlightSymbol, Unreadable, read_flight
from trio_enrich.site.parse import flight_text

from .pages import fixture_bytes, page_from_chunks


def page(text: str, cuts: tuple[int, ...] = ()) -> str:
    """An HTML page whose flight text is `text`, one push per chunk between `cuts`."""
    return page_from_chunks(text, list(cuts))


def t_row(row_id: str, text: str) -> str:
    """A text row: its length is in UTF-8 bytes, in hex, and no newline follows it."""
    return f"{row_id}:T{len(text.encode()):x},{text}"


def value_of(text: str, row_id: int = 0) -> Any:
    return read_flight(page(text)).value(row_id)


# --- row kinds ----------------------------------------------------------------------------------


def test_rows_of_every_kind_are_tokenised_without_losing_sync() -> None:
    long_text = "é" * 700 + "\n:$$ not a row\n1:[broken"  # multi-byte, newlines, row-like text
    text = (
        '1:HL["/_next/static/css/a.css","style"]\n'
        '2:I[4684,["chunk.js"],"Table"]\n'
        + t_row("3", long_text)
        + '4:E{"digest":"2739217374"}\n'
        + "5:Q\n"  # a tag React knows and we do not use
        + '6:W["x"]\n'
        + '0:{"comment":"$3","table":"$L2","n":1}\n'
    )
    flight = read_flight(page(text))
    assert flight.order == [0]  # the only model row
    root = flight.value(0)
    assert root["comment"] == long_text  # the text row, exactly
    assert root["table"] == FlightModule('[4684,["chunk.js"],"Table"]')
    assert root["n"] == 1
    assert flight.error_digests == ["2739217374"]
    assert isinstance(flight.value(4), Unreadable)


def test_a_text_row_counts_utf8_bytes_and_needs_no_newline() -> None:
    text = t_row("a", "€uro ☃ snow") + '0:["$a","$a"]\n'
    assert value_of(text) == ["€uro ☃ snow", "€uro ☃ snow"]


# --- $-tags -------------------------------------------------------------------------------------


def test_scalar_tags_become_what_react_makes_of_them() -> None:
    row = json.dumps(
        {
            "escaped": "$$SKI",
            "dollar_dollar": "$$$x",
            "missing": "$undefined",
            "minus_zero": "$-0",
            "nan": "$NaN",
            "inf": "$Infinity",
            "minus_inf": "$-Infinity",
            "date": "$D2025-01-02T15:15:09.000Z",
            "big": "$n12345678901234567890",
            "symbol": "$Sreact.suspense",
            "list": ["$undefined", "$$"],
        }
    )
    value = value_of(f"0:{row}\n")
    assert value["escaped"] == "$SKI"
    assert value["dollar_dollar"] == "$$x"
    assert "missing" not in value  # React drops a key whose value is undefined
    assert value["minus_zero"] == 0.0
    assert math.copysign(1.0, value["minus_zero"]) == -1.0
    assert math.isnan(value["nan"])
    assert value["inf"] == math.inf
    assert value["minus_inf"] == -math.inf
    assert value["date"] == "2025-01-02T15:15:09.000Z"
    assert value["big"] == 12345678901234567890
    assert value["symbol"] == FlightSymbol("react.suspense")
    assert value["list"] == [None, "$"]


def test_references_lazy_elements_promises_and_paths_resolve() -> None:
    text = (
        '1:{"name":"Ann","party":"democrat"}\n'
        '2:["$","span",null,{"children":"Stock"}]\n'
        '3:{"rows":[{"politician":"$1"},{"politician":"$1"}]}\n'
        '0:{"element":"$L2","promise":"$@1","path":"$3:rows:1:politician:name",'
        '"props":"$2:props:children","set":"$W4","map":"$Q5"}\n'
        '4:["a","b"]\n5:[["k","v"]]\n'
    )
    value = value_of(text)
    assert value["element"] == ["$", "span", None, {"children": "Stock"}]
    assert value["promise"] == {"name": "Ann", "party": "democrat"}
    assert value["path"] == "Ann"
    assert value["props"] == "Stock"  # "props" names an element's fourth item
    assert value["set"] == ["a", "b"]
    assert value["map"] == [["k", "v"]]


def test_a_path_into_the_row_being_read_resolves_once_the_row_is_whole() -> None:
    # React dedupes an object it has already written in the same row by a path to it.
    text = '0:{"data":[{"politician":{"name":"Ann"}},{"politician":"$0:data:0:politician"}]}\n'
    value = value_of(text)
    assert value["data"][1]["politician"] == {"name": "Ann"}
    assert value["data"][1]["politician"] is value["data"][0]["politician"]


def test_opaque_tags_and_bad_references_are_unreadable_not_guessed() -> None:
    for tag in ("$h1", "$T1", "$B1", "$K1", "$Z", "$i1", "$E(function(){})", "$P1", "$Xyz"):
        assert isinstance(value_of(f'0:{{"v":"{tag}"}}\n')["v"], Unreadable), tag
    assert isinstance(value_of('0:{"v":"$7"}\n')["v"], Unreadable)  # no row 7
    assert isinstance(value_of('1:{"a":1}\n0:{"v":"$1:b:c"}\n')["v"], Unreadable)  # no path
    assert isinstance(value_of('0:{"v":"$nabc"}\n')["v"], Unreadable)


def test_reference_cycles_are_unreadable_and_nothing_loops() -> None:
    text = '1:{"next":"$2"}\n2:{"next":"$1"}\n0:{"self":"$0","a":"$1","l":"$L0"}\n'
    flight = read_flight(page(text))
    value = flight.value(0)
    assert isinstance(value["self"], Unreadable)
    assert isinstance(value["l"], Unreadable)
    assert isinstance(value["a"]["next"]["next"], Unreadable)
    # A path to an ancestor makes an object inside itself: walks still end.
    looped = read_flight(page('0:{"a":{"b":"$0:a"}}\n'))
    assert list(looped.walk(looped.roots()))


def test_shared_objects_blow_up_nothing() -> None:
    # Each row refers to the one before twice: 2^40 paths, 40 objects.
    rows = ['1:{"leaf":1}\n']
    rows += [f'{i + 1:x}:["${i:x}","${i:x}"]\n' for i in range(1, 41)]
    text = "".join(rows) + '0:{"top":"$29"}\n'
    flight = read_flight(page(text))
    started = time.monotonic()
    nodes = list(flight.walk(flight.roots()))
    assert time.monotonic() - started < 1.0
    assert len(nodes) < 100


def test_deep_nesting_is_unreadable_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert isinstance(value_of(f"0:{deep}\n"), Unreadable)
    nested = '{"a":' * 900 + '"$1"' + "}" * 900  # deep, and with a reference to resolve
    assert isinstance(value_of(f'1:"x"\n0:{nested}\n'), Unreadable)
    chain = "".join(f'{i:x}:["$L{i + 1:x}"]\n' for i in range(1, 3000)) + '0:["$L1"]\n'
    assert isinstance(value_of(chain), Unreadable | list)  # ends, one way or the other


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_random_bytes_give_values_or_failures_never_exceptions(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    flight = read_flight(page(text))
    list(flight.walk(flight.roots()))
    for parse in (
        lambda p: parse_trades_page(p, page_number=1, page_size=12),
        lambda p: parse_trade_detail(p, 1),
        lambda p: parse_issuer_detail(p, 1),
    ):
        result = parse(page(text))
        assert isinstance(result, ListingPage | TradeDetail | IssuerDetail | PageFailure)


@given(st.lists(st.integers(min_value=0), max_size=40))
@settings(max_examples=150, deadline=None)
def test_any_chunking_gives_the_same_resolved_tree(cuts: list[int]) -> None:
    text = flight_text(fixture_bytes("real/trades_page1_2025-01-02.html"))
    whole = read_flight(page(text))
    chunked = read_flight(page(text, tuple(cuts)))
    assert chunked.text == whole.text
    assert chunked.roots() == whole.roots()


# --- readers on the resolved tree -----------------------------------------------------------------

LISTING_ROW = {
    "_issuerId": 429900,
    "_politicianId": "C000174",
    "_txId": 10000062880,
    "chamber": "senate",
    "comment": None,
    "issuer": {"_stateId": "ny", "c2iq": "X", "country": "us", "issuerName": "Atlantica",
               "issuerTicker": "AY:US", "sector": "utilities"},
    "owner": "self",
    "politician": {"_stateId": "de", "chamber": "senate", "dob": "1943-01-23",
                   "firstName": "Thomas", "gender": "male", "lastName": "Carper",
                   "nickname": "Tom", "party": "democrat"},
    "price": 2.489709,
    "pubDate": "2025-01-02T15:15:09Z",
    "reportingGap": 27,
    "txDate": "2024-12-06",
    "txType": "buy",
    "txTypeExtended": None,
    "value": 8000,
}  # fmt: skip


def _listing_page(rows: list[Any], *, total: int, outline: bool = False) -> str:
    table = ["$", "$L2", None, {"data": rows, "columnVisibility": "$undefined"}]
    pager = ["$", "$L2", None, {"totalCount": total, "totalPages": -(-total // 12)}]
    if outline:  # React 19 sends large elements as rows of their own
        return (
            '2:I[1,[],"Table"]\n'
            f"1b:{json.dumps(table)}\n1c:{json.dumps(pager)}\n"
            '0:["$","div",null,{"children":["$L1b","$L1c"]}]\n'
        )
    root = ["$", "div", None, {"children": [table, pager]}]
    return '2:I[1,[],"Table"]\n' + "0:" + json.dumps(root) + "\n"


def test_a_listing_with_long_comments_shared_politicians_and_outlined_table() -> None:
    comment = "A" * 1500 + " — end"  # 1,024+ UTF-16 units: React sends a text row
    first = {**LISTING_ROW, "comment": "$5"}
    second = {
        **LISTING_ROW,
        "_txId": 10000062881,
        "comment": "$$5 million",  # a string that starts with "$", escaped
        "politician": "$1b:props:data:0:politician",  # shared with the first row
    }
    text = t_row("5", comment) + _listing_page([first, second], total=2, outline=True)
    result = parse_trades_page(page(text), page_number=1, page_size=12)
    assert isinstance(result, ListingPage), result
    assert [t.comment for t in result.trades] == [comment, "$5 million"]
    assert result.trades[1].politician == result.trades[0].politician
    assert result.trades[0].price == 2.489709


def test_a_listing_row_that_cannot_be_read_fails_the_page() -> None:
    broken = {**LISTING_ROW, "_txId": 2, "issuer": "$99"}  # a dangling reference
    text = _listing_page([LISTING_ROW, broken], total=2)
    result = parse_trades_page(page(text), page_number=1, page_size=12)
    assert isinstance(result, PageFailure)
    assert result.kind is FailureKind.LAYOUT_CHANGED
    assert "unreadable" in result.reason


def test_a_short_listing_page_that_is_not_the_last_fails() -> None:
    text = _listing_page([LISTING_ROW], total=40)  # 12 rows expected on page 1
    result = parse_trades_page(page(text), page_number=1, page_size=12)
    assert isinstance(result, PageFailure)
    assert "implies 12" in result.reason
    last = parse_trades_page(page(_listing_page([LISTING_ROW], total=37)), page_number=4,
                             page_size=12)  # fmt: skip
    assert isinstance(last, ListingPage)  # the last page: 37 - 36 = 1 row


def _pair(value: str, label: str) -> list[Any]:
    return [
        ["$", "span", None, {"className": "text-center text-size-4", "children": value}],
        ["$", "span", None, {"className": "text-txt-dimmer", "children": label}],
    ]


def _live_detail(pairs: list[list[Any]], *, outline: bool = False, tx_id: int = 7) -> str:
    props = {"filingUrl": "https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2026/20035480.pdf",
             "tradeId": tx_id}  # fmt: skip
    rows = ""
    children: list[Any] = []
    for index, pair in enumerate(pairs):
        if outline:
            value_id, label_id = f"{0x20 + 2 * index:x}", f"{0x21 + 2 * index:x}"
            rows += f"{value_id}:{json.dumps(pair[0])}\n{label_id}:{json.dumps(pair[1])}\n"
            children.append(["$", "div", None, {"children": [f"$L{value_id}", f"$L{label_id}"]}])
        else:
            children.append(["$", "div", None, {"children": pair}])
    grid = ["$", "div", None, {"className": "grid", "children": children}]
    props_element = ["$", "$L9", None, props]
    root = ["$", "article", None, {"children": [grid, props_element]}]
    return rows + '9:I[1,[],"Props"]\n' + "0:" + json.dumps(root) + "\n"


def test_a_live_detail_page_with_outlined_pairs_reads_exactly() -> None:
    pairs = [_pair("Stock Option", "Asset Type"), _pair("$2.49", "Price"),
             _pair("44 - 144", "Shares"), _pair("18 days", "Reporting Gap")]  # fmt: skip
    for outline in (False, True):
        result = parse_trade_detail(page(_live_detail(pairs, outline=outline)), 7)
        assert isinstance(result, TradeDetail), result
        assert result.asset_type == "stock-option"
        assert result.price == 2.49
        assert result.price_decimals == 2
        assert (result.size_range_low, result.size_range_high) == (44, 144)
        assert result.filing_id == 20035480


def test_a_live_grid_without_an_asset_type_is_a_failure() -> None:
    pairs = [_pair("$2.49", "Price"), _pair("44 - 144", "Shares")]
    result = parse_trade_detail(page(_live_detail(pairs)), 7)
    assert isinstance(result, PageFailure)
    assert "no asset type" in result.reason


def test_a_live_value_that_cannot_be_read_is_a_failure() -> None:
    pairs = [_pair("Stock", "Asset Type"), _pair("$L77", "Price")]  # element never sent
    result = parse_trade_detail(page(_live_detail(pairs)), 7)
    assert isinstance(result, PageFailure)
    assert "unreadable" in result.reason


PERFORMANCE_KEYS = (
    "trailing1", "trailing1Change", "trailing7", "trailing7Change", "trailing30",
    "trailing30Change", "trailing90", "trailing90Change", "trailing365", "trailing365Change",
    "wtd", "wtdChange", "mtd", "mtdChange", "qtd", "qtdChange", "ytd", "ytdChange",
)  # fmt: skip


def _issuer_page(performance: Any) -> str:
    data = {"_issuerId": 5, "issuerName": "Acme", "performance": performance,
            "stats": {"countTrades": 1, "countPoliticians": 1, "volume": 10,
                      "dateLastTraded": "2025-01-01"}}  # fmt: skip
    return "0:" + json.dumps(["$", "$L1", None, {"issuerData": data}]) + '\n1:I[1,[],"X"]\n'


def test_minus_zero_in_a_performance_is_read_not_dropped() -> None:
    performance: dict[str, Any] = {key: 1.5 for key in PERFORMANCE_KEYS}
    performance.update(mcap=1000, wtdChange="$-0", eodPrices=[["2025-01-02", 3.5]])
    result = parse_issuer_detail(page(_issuer_page(performance)), 5)
    assert isinstance(result, IssuerDetail), result
    assert result.performance is not None
    assert result.performance.numbers[PERFORMANCE_KEYS.index("wtdChange")] == 0.0
    assert result.performance.eod_prices == (("2025-01-02", 3.5),)


def test_a_performance_that_is_there_but_unreadable_is_a_failure() -> None:
    # (null is "not shown", a normal page: test_real_shapes.py)
    for bad in ("$NaN", "$Infinity", "$-Infinity", "n/a", True, {"v": 1}):
        performance: dict[str, Any] = {key: 1.5 for key in PERFORMANCE_KEYS}
        performance.update(mcap=1000, ytd=bad, eodPrices=[])
        result = parse_issuer_detail(page(_issuer_page(performance)), 5)
        assert isinstance(result, PageFailure), bad
        assert "ytd" in result.reason
    no_performance = parse_issuer_detail(page(_issuer_page(None)), 5)
    assert isinstance(no_performance, IssuerDetail)  # none at all is an issuer without one
    assert no_performance.performance is None
