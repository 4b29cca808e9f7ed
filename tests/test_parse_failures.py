"""Pages without data are classified into distinct failure kinds, never an empty success."""

from __future__ import annotations

import json

import pytest

from trio_enrich import (
    FailureKind,
    PageFailure,
    parse_issuer_detail,
    parse_trade_detail,
    parse_trades_page,
)

from .pages import fixture_bytes, page


def kind_of(result: object) -> FailureKind:
    assert isinstance(result, PageFailure), result
    return result.kind


def test_page_without_any_push_is_blocked() -> None:
    html = "<!DOCTYPE html><html><body><p>Loading ...</p></body></html>"
    assert kind_of(parse_trade_detail(html, 1)) is FailureKind.BLOCKED
    assert kind_of(parse_trades_page(html)) is FailureKind.BLOCKED


def test_challenge_page_is_blocked_and_says_so() -> None:
    html = "<html><head><title>Vercel Security Checkpoint</title></head><body></body></html>"
    result = parse_issuer_detail(html, 5)
    assert kind_of(result) is FailureKind.BLOCKED
    assert isinstance(result, PageFailure)
    assert "bot check" in result.reason


def test_pushes_of_the_layout_only_are_a_data_less_shell() -> None:
    html = page('0:["$","div",null,{"className":"something-new","children":"Hello"}]\n')
    for result in (parse_trade_detail(html, 1), parse_issuer_detail(html, 1)):
        assert kind_of(result) is FailureKind.BLOCKED
        assert isinstance(result, PageFailure)
        assert "data-less shell" in result.reason
    assert kind_of(parse_trades_page(html)) is FailureKind.BLOCKED


def test_data_in_a_shape_the_readers_do_not_know_is_a_layout_change_naming_it() -> None:
    record = '{"txIdentifier":7,"issuerTitle":"X","politicianName":"Y","publishedOn":"2026"'
    html = page(f'0:["$","div",null,{{"trade":{record},"kind":"new"}}}}]\n')
    for result in (parse_trade_detail(html, 7), parse_issuer_detail(html, 7)):
        assert kind_of(result) is FailureKind.LAYOUT_CHANGED
        assert isinstance(result, PageFailure)
        assert "txIdentifier, issuerTitle, politicianName, publishedOn, kind" in result.reason


def test_suspended_content_that_never_arrived_is_truncated() -> None:
    html = page('0:["$","div",null,{}]\n', tail="</body></html>")  # B:0 but no S:0
    assert kind_of(parse_trade_detail(html, 1)) is FailureKind.TRUNCATED


def test_body_cut_inside_a_push_is_truncated_even_with_data_before_it() -> None:
    full = fixture_bytes("synthetic/trade_detail_live_house_stock.html").decode()
    cut = full[: full.rindex("self.__next_f.push(") + 40]
    assert kind_of(parse_trade_detail(cut, 20003802803)) is FailureKind.TRUNCATED


def test_body_cut_mid_document_is_truncated() -> None:
    full = fixture_bytes("real/trades_page1_2025-01-02.html").decode()
    cut = full[: len(full) // 3]
    assert kind_of(parse_trades_page(cut)) is FailureKind.TRUNCATED


def test_trade_detail_with_no_enrichable_field_is_a_failure_not_an_empty_success() -> None:
    # The requested id is there, but none of asset type, filing, shares...: layout changed.
    html = page('0:["$","div",null,{"tradeId":42,"href":"/trades/42"}]\n')
    result = parse_trade_detail(html, 42)
    assert kind_of(result) is FailureKind.LAYOUT_CHANGED
    assert isinstance(result, PageFailure)
    assert "none of its detail fields" in result.reason


def test_error_row_wins_over_layout_change() -> None:
    html = page('0:["$","div",null,{}]\n6:E{"digest":"123"}\n')
    result = parse_trade_detail(html, 9)
    assert kind_of(result) is FailureKind.ERROR_DIGEST
    assert isinstance(result, PageFailure)
    assert "123" in result.reason


@pytest.mark.parametrize("marker", ['<div data-dgst="1"></div>', '<script>$RX("B:0")</script>'])
def test_html_error_markers_are_error_digests(marker: str) -> None:
    html = page('0:["$","div",null,{}]\n', tail=marker + '<div hidden id="S:0"></div></html>')
    assert kind_of(parse_issuer_detail(html, 9)) is FailureKind.ERROR_DIGEST


def test_undefined_becomes_none_and_text_rows_are_skipped() -> None:
    # A T row is length-prefixed with no newline; the JSON row right after it must still parse.
    text = "ab\u00e9c"  # 5 UTF-8 bytes
    flight = (
        f"14:T{len(text.encode()):x},{text}"
        '0:["$","div",null,{"issuerData":{"_issuerId":7,"issuerName":"$$Money",'
        '"issuerTicker":"$undefined","stats":null,"performance":null}}]\n'
    )
    detail = parse_issuer_detail(page(flight), 7)
    assert not isinstance(detail, PageFailure)
    assert detail.issuer.issuer_name == "$Money"
    assert detail.issuer.issuer_ticker is None


def test_empty_listing_page_past_the_end_is_an_empty_success() -> None:
    flight = (
        '0:["$","div",null,{"children":[["$","$L1",null,{"data":[],'
        '"columnVisibility":"$undefined"}],["$","$L2",null,{"searchParams":{"page":"4"},'
        '"totalCount":30,"totalPages":3}]]}]\n'
    )
    for result in (
        parse_trades_page(page(flight)),  # the page says which it is
        parse_trades_page(page(flight), page_number=4, page_size=12),  # the caller says
    ):
        assert not isinstance(result, PageFailure)
        assert result.trades == ()
        assert result.total_pages == 3


def test_real_page_without_its_table_is_a_layout_change_not_a_not_found() -> None:
    # Real pages carry the "Page Not Found" template as the layout's notFound prop and a
    # BAILOUT_TO_CLIENT_SIDE_RENDERING digest: neither may be mistaken for the page's state.
    html = fixture_bytes("real/trades_page1_2025-01-02.html").decode()
    without_table = html.replace("_txId", "_renamedId")
    result = parse_trades_page(without_table)
    assert kind_of(result) is FailureKind.LAYOUT_CHANGED
    assert kind_of(parse_trade_detail(html, 1)) is FailureKind.LAYOUT_CHANGED


# --- what a page without known data holds, in words (blocked or layout changed) ---------------


def seen(*rows: object) -> str | None:
    from trio_enrich.site.flight import read_flight
    from trio_enrich.site.page import data_seen

    text = "".join(f"{number}:{json.dumps(row)}\n" for number, row in enumerate(rows))
    return data_seen(read_flight(page(text)))


def test_the_largest_object_of_named_plain_values_is_named_by_its_first_six_keys() -> None:
    seven = {"alpha": 1, "bravo": "b", "charlie": None, "delta": 2.5, "echo": "e", "fox": 6,
             "golf": "g", "xy": 1, "nested": {"a": 1}}  # fmt: skip
    assert seen(seven) == "the page has objects with alpha, bravo, charlie, delta, echo, fox, ..."
    six = {key: 1 for key in ("one", "two", "three", "four", "five", "six")}
    assert seen(six) == "the page has objects with one, two, three, four, five, six"
    first = {key: 1 for key in ("aaa", "bbb", "ccc", "ddd", "eee")}
    second = {key: 1 for key in ("fff", "ggg", "hhh", "iii", "jjj")}
    assert seen(first, second) == "the page has objects with aaa, bbb, ccc, ddd, eee"  # the first


def test_props_short_keys_and_containers_are_not_data() -> None:
    assert seen({"children": "x", "aaa": 1, "bbb": 2, "ccc": 3, "ddd": 4, "eee": 5}) is None
    assert seen({"className": "x", "aaa": 1, "bbb": 2, "ccc": 3, "ddd": 4, "eee": 5}) is None
    assert seen({"ab": 1, "cd": 2, "ef": 3, "gh": 4, "ij": 5, "kl": 6}) is None  # framework keys
    assert seen({"aaa": [1], "bbb": {}, "ccc": 3, "ddd": 4, "eee": 5}) is None  # only 3 plain
    three = {"abc": None, "def": None, "ghi": None, "jkl": None, "mno": None}
    assert seen(three) == "the page has objects with abc, def, ghi, jkl, mno"


def test_three_texts_with_figures_are_data_and_are_shown_cut_short() -> None:
    def shown(children: object) -> list[object]:
        return ["$", "span", None, {"children": children}]

    figures = [shown(42), shown("$1.50"), shown("Published 2026-11-28 by the House"),
               shown("fourth 4"), shown(True), shown("no figure")]  # fmt: skip
    assert seen(figures) == "the page shows '42', '$1.50', 'Published 2026-11-28', ..."
    assert seen([shown(1), shown("2 days"), shown(True), shown(False)]) is None  # two figures


@pytest.mark.parametrize(
    ("html", "kind", "reason"),
    [
        (page('0:["$","div",null,{}]\n', tail='<script>self.__next_f.push([1,"1:{\\"cu'),
         FailureKind.TRUNCATED, "the page ends inside a data script"),
        ('<html><body><h1 class="x">Page Not Found</h1></body></html>', FailureKind.NOT_FOUND,
         "the site answered 'Page Not Found' for trade 5"),
        (page('0:["$","div",null,{}]\n', tail='<script>$RX("B:0")</script></body></html>'),
         FailureKind.ERROR_DIGEST, "the site rendered an error page for trade 5"),
        (page('0:["$","div",null,{}]\n', tail="</body></html>"), FailureKind.TRUNCATED,
         "the page was cut off before its content"),
        ("<html><body>nothing</body></html>", FailureKind.BLOCKED,
         "no data scripts on the page (a bot shell?)"),
        (page('0:["$","div",null,{"children":"Loading"}]\n'), FailureKind.BLOCKED,
         "no data on the page, only its layout (a data-less shell?)"),
    ],
)  # fmt: skip
def test_each_kind_of_page_without_data_says_what_it_is(
    html: str, kind: FailureKind, reason: str
) -> None:
    result = parse_trade_detail(html, 5)
    assert isinstance(result, PageFailure)
    assert (result.kind, result.reason) == (kind, reason)


@pytest.mark.parametrize(
    "flight",
    [
        '0:["$","div",null,{"children":"x"}]\n1:"NEXT_NOT_FOUND"\n',  # notFound() thrown
        '0:["$","div",null,{"children":"x"}]\n1:"NEXT_HTTP_ERROR_FALLBACK;404"\n',  # Next 15
        '0:["$","h1",null,{"children":"Page Not Found"}]\n',  # the heading as the content
    ],
)
def test_each_sign_of_a_page_not_found_is_read_alone(flight: str) -> None:
    assert kind_of(parse_trade_detail(page(flight), 5)) is FailureKind.NOT_FOUND


def test_a_document_in_capitals_is_whole_and_a_fragment_is_no_cut_document() -> None:
    from trio_enrich.site.page import is_cut_stream

    assert not is_cut_stream("<HTML><BODY>" + "x" * 5000 + "</BODY></HTML>")
    assert not is_cut_stream("<div>a fragment, no document at all</div>")
    assert is_cut_stream("<!DOCTYPE html><html><body>" + "x" * 5000)
