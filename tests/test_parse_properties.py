"""Properties of the parser: chunking does not matter, and no input makes it raise."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_enrich import (
    IssuerDetail,
    ListingPage,
    PageFailure,
    PoliticianPage,
    TradeDetail,
    parse_issuer_detail,
    parse_politicians_page,
    parse_trade_detail,
    parse_trades_page,
)
from trio_enrich.site.parse import flight_text

from .pages import fixture_bytes, page_from_chunks

TRADES_FLIGHT = flight_text(fixture_bytes("real/trades_page1_2025-01-02.html"))
LIVE_FLIGHT = flight_text(fixture_bytes("synthetic/trade_detail_live_house_stock.html"))


EXPECTED_LISTING = parse_trades_page(page_from_chunks(TRADES_FLIGHT, []))
EXPECTED_LIVE = parse_trade_detail(page_from_chunks(LIVE_FLIGHT, []), 20003802803)


def test_unchunked_references_are_real_results() -> None:
    assert isinstance(EXPECTED_LISTING, ListingPage)
    assert len(EXPECTED_LISTING.trades) == 12
    assert isinstance(EXPECTED_LIVE, TradeDetail)
    assert EXPECTED_LIVE.filing_id == 20035480


@given(st.lists(st.integers(min_value=0), max_size=60))
@settings(max_examples=150, deadline=None)
def test_listing_parses_the_same_however_it_is_chunked(cuts: list[int]) -> None:
    assert parse_trades_page(page_from_chunks(TRADES_FLIGHT, cuts)) == EXPECTED_LISTING


@given(st.lists(st.integers(min_value=0), max_size=40))
@settings(max_examples=150, deadline=None)
def test_trade_detail_parses_the_same_however_it_is_chunked(cuts: list[int]) -> None:
    assert parse_trade_detail(page_from_chunks(LIVE_FLIGHT, cuts), 20003802803) == EXPECTED_LIVE


FIXTURES = [
    "real/trades_page1_2025-01-02.html",
    "real/politicians_committee_ssfi_2026-02-08.html",
    "synthetic/trade_detail_live_house_stock.html",
    "synthetic/trade_detail_live_senate_na.html",
    "synthetic/trade_detail_stock.html",
    "synthetic/trade_detail_option.html",
    "synthetic/trade_detail_minimal.html",
    "synthetic/issuer_detail_with_performance.html",
    "synthetic/issuer_detail_no_performance.html",
    "synthetic/issuer_detail_not_found.html",
    "synthetic/issuer_detail_error_digest.html",
]
FIXTURE_BYTES = {name: fixture_bytes(name) for name in FIXTURES}


def assert_every_parser_classifies(page: bytes) -> None:
    """Each parser gives its value type or a PageFailure; any exception fails the test."""
    assert isinstance(parse_trades_page(page), ListingPage | PageFailure)
    assert isinstance(parse_trade_detail(page, 20003802803), TradeDetail | PageFailure)
    assert isinstance(parse_trade_detail(page, 172000), TradeDetail | PageFailure)
    assert isinstance(parse_issuer_detail(page, 12345), IssuerDetail | PageFailure)
    assert isinstance(parse_politicians_page(page), PoliticianPage | PageFailure)


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_random_bytes_are_classified(page: bytes) -> None:
    assert_every_parser_classifies(page)


@given(st.binary(max_size=256).map(lambda b: b'<script>self.__next_f.push([1,"' + b))
@settings(max_examples=200, deadline=None)
def test_random_bytes_inside_a_push_are_classified(page: bytes) -> None:
    assert_every_parser_classifies(page)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(FIXTURE_BYTES[draw(st.sampled_from(FIXTURES))])
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        span = draw(st.integers(min_value=1, max_value=64))
        operation = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "repeat"]))
        if operation == "delete":
            del data[at : at + span]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=span))
        elif operation == "replace":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + span]
    return bytes(data)


@given(mutated_fixture())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_fixtures_are_classified(page: bytes) -> None:
    assert_every_parser_classifies(page)


def test_deeply_nested_json_is_classified_not_raised() -> None:
    flight = "0:" + "[" * 100_000 + "]" * 100_000 + "\n"
    page = page_from_chunks(flight, [5, 50_000])
    result = parse_trade_detail(page, 1)
    assert isinstance(result, PageFailure)
