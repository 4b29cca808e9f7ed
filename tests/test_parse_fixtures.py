"""Every captured and synthetic page parses to its expected values."""

from __future__ import annotations

import json

import pytest

from trio_enrich import (
    FailureKind,
    IssuerDetail,
    ListingPage,
    PageFailure,
    TradeDetail,
    parse_issuer_detail,
    parse_politicians_page,
    parse_trade_detail,
    parse_trades_page,
)
from trio_enrich.site.parse import flight_text, trade_detail_from_object

from .pages import fixture_bytes

TRADES_PAGE = "real/trades_page1_2025-01-02.html"


def _listing() -> ListingPage:
    page = parse_trades_page(fixture_bytes(TRADES_PAGE))
    assert isinstance(page, ListingPage), page
    return page


def test_flight_text_joins_every_data_push_in_order() -> None:
    text = flight_text(fixture_bytes(TRADES_PAGE))
    assert text.startswith('1:HL["')
    # The table's data array is cut across pushes in the raw HTML; joined it is whole.
    assert '"data":[{"_issuerId":429900,"_politicianId":"C000174","_txId":10000062880' in text
    assert '"totalCount":35793,"totalPages":2983' in text


def test_real_trades_page_gives_its_twelve_trades_and_totals() -> None:
    page = _listing()
    assert len(page.trades) == 12
    assert page.total_count == 35793
    assert page.total_pages == 2983
    first = page.trades[0]
    assert first.tx_id == 10000062880
    assert first.politician.politician_id == "C000174"
    assert first.issuer.issuer_id == 429900
    assert first.issuer.issuer_name == "Atlantica Sustainable Infrastructure PLC"
    assert first.issuer.issuer_ticker == "AY:US"
    assert first.value == 8000
    assert first.pub_date == "2025-01-02T15:15:09Z"
    assert first.chamber == "senate"
    assert first.owner == "spouse"
    assert first.price is None
    assert first.politician.nickname == "Tom"


def test_dollar_escape_in_ticker_is_undone() -> None:
    tickers = {trade.issuer.issuer_ticker for trade in _listing().trades}
    assert "$SKI" in tickers
    assert "$$SKI" not in tickers


def test_issuer_filter_array_is_not_taken_for_trades() -> None:
    page = _listing()
    # The filter lists Apple, Microsoft, ... with _issuerId but no _txId.
    assert all(trade.tx_id > 10_000_000_000 for trade in page.trades)
    assert "Apple Inc" not in {trade.issuer.issuer_name for trade in page.trades}
    assert len({trade.tx_id for trade in page.trades}) == 12


LIVE_CASES = [
    (
        "synthetic/trade_detail_live_house_stock.html",
        TradeDetail(
            tx_id=20003802803,
            asset_type="stock",
            filing_url="https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2026/20035480.pdf",
            filing_id=20035480,
            price=348.43,
            price_decimals=2,  # the page shows a rounded price
            size_range_low=44,
            size_range_high=144,
            reporting_gap=18,
        ),
    ),
    (
        "synthetic/trade_detail_live_senate_na.html",
        TradeDetail(
            tx_id=10000064120,
            asset_type="other-securities",
            filing_url="https://efdsearch.senate.gov/view/ptr/3b1e0f2a-5d7c-4f1e-9a0b-6c2d8e4f1a77/",
            filing_id=None,
            price=None,
            size_range_low=None,
            size_range_high=None,
            reporting_gap=27,
        ),
    ),
    (
        "synthetic/trade_detail_stock.html",
        TradeDetail(
            tx_id=172000,
            asset_type="stock",
            asset_ticker="AAPL",
            instrument="Stock",
            filing_url="https://efts.sec.gov/LATEST/search-index?q=%2F99001",
            filing_id=99001,
            price=185.5,
            size=4,
            size_range_low=50001,
            size_range_high=100000,
            has_capital_gains=False,
            committees=("Finance", "Banking"),
            labels=("faang",),
            reporting_gap=14,
        ),
    ),
    (
        "synthetic/trade_detail_option.html",
        TradeDetail(
            tx_id=171500,
            asset_type="stock-option",
            asset_ticker="MSFT",
            instrument="Call Option",
            filing_url="https://efts.sec.gov/LATEST/search-index/88002",
            filing_id=88002,
            price=None,
            size=7,
            size_range_low=500001,
            size_range_high=1000000,
            has_capital_gains=True,
            reporting_gap=10,
        ),
    ),
    (
        "synthetic/trade_detail_minimal.html",
        TradeDetail(
            tx_id=3000,
            asset_type="mutual-fund",
            filing_url=None,
            filing_id=None,
            has_capital_gains=False,
            reporting_gap=14,
        ),
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), LIVE_CASES, ids=[c[0] for c in LIVE_CASES])
def test_trade_detail_fixtures(fixture: str, expected: TradeDetail) -> None:
    assert parse_trade_detail(fixture_bytes(fixture), expected.tx_id) == expected


def test_live_page_matches_the_requested_id_not_a_sibling() -> None:
    html = fixture_bytes("synthetic/trade_detail_live_house_stock.html")
    # 20003802801 is listed as a sibling of the same filing, with filingUrl "$undefined":
    # asking for it gives its spans but never the filing URL of 20003802803.
    sibling = parse_trade_detail(html, 20003802801)
    assert isinstance(sibling, TradeDetail)
    assert sibling.filing_url is None
    assert sibling.filing_id is None
    # An id the page does not mention at all is a wrong page, not an empty success.
    stranger = parse_trade_detail(html, 12345678901)
    assert isinstance(stranger, PageFailure)
    assert stranger.kind is FailureKind.LAYOUT_CHANGED


def test_real_2020_trade_object_reads_share_counts() -> None:
    obj = json.loads(fixture_bytes("real/bff_trade_object_2020.json"))
    detail = trade_detail_from_object(obj)
    assert detail == TradeDetail(
        tx_id=20000338178,
        asset_type="stock",
        asset_ticker="DIS:US",
        filing_url="https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2020/20016417.pdf",
        filing_id=200129308,  # the object's own filingId wins over the PDF number
        price=88.8,
        size=367,
        size_range_low=169,
        size_range_high=564,
        has_capital_gains=False,
        reporting_gap=28,
    )


def test_issuer_with_performance() -> None:
    detail = parse_issuer_detail(
        fixture_bytes("synthetic/issuer_detail_with_performance.html"), 12345
    )
    assert isinstance(detail, IssuerDetail)
    assert detail.issuer.issuer_name == "Apple Inc."
    assert detail.issuer.issuer_ticker == "AAPL"
    assert detail.issuer.sector == "information-technology"
    assert detail.issuer.state_id == "ca"
    assert detail.stats is not None
    assert (detail.stats.count_trades, detail.stats.count_politicians) == (450, 85)
    assert detail.stats.volume == 25000000
    assert detail.stats.date_last_traded == "2026-01-10"
    performance = detail.performance
    assert performance is not None
    assert performance.mcap == 3500000000000
    numbers = performance.as_dict()
    assert len(numbers) == 18
    assert numbers["trailing1"] == 225.5
    assert numbers["trailing365Change"] == 0.2528
    assert numbers["ytdChange"] == 0.0488
    assert performance.eod_prices == (
        ("2026-01-15", 225.5),
        ("2026-01-16", 227.3),
        ("2026-01-17", 228.1),
    )


def test_issuer_without_performance() -> None:
    detail = parse_issuer_detail(
        fixture_bytes("synthetic/issuer_detail_no_performance.html"), 99999
    )
    assert isinstance(detail, IssuerDetail)
    assert detail.issuer.issuer_name == "PrivateCo Holdings"
    assert detail.issuer.issuer_ticker is None
    assert detail.performance is None
    assert detail.stats is not None
    assert detail.stats.count_trades == 5


def test_eod_prices_are_read_in_either_pair_order() -> None:
    html = fixture_bytes("synthetic/issuer_detail_with_performance.html").decode()
    swapped = html.replace('[\\"2026-01-15\\",225.5]', '[225.5,\\"2026-01-15\\"]')
    assert swapped != html
    detail = parse_issuer_detail(swapped, 12345)
    assert isinstance(detail, IssuerDetail)
    assert detail.performance is not None
    assert detail.performance.eod_prices[0] == ("2026-01-15", 225.5)


def test_issuer_page_for_another_issuer_is_refused() -> None:
    result = parse_issuer_detail(
        fixture_bytes("synthetic/issuer_detail_with_performance.html"), 777
    )
    assert isinstance(result, PageFailure)
    assert result.kind is FailureKind.LAYOUT_CHANGED


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("synthetic/issuer_detail_not_found.html", FailureKind.NOT_FOUND),
        ("synthetic/issuer_detail_error_digest.html", FailureKind.ERROR_DIGEST),
    ],
)
def test_failure_fixtures_give_their_kinds(fixture: str, kind: FailureKind) -> None:
    html = fixture_bytes(fixture)
    issuer = parse_issuer_detail(html, 99999)
    trade = parse_trade_detail(html, 99999)
    assert isinstance(issuer, PageFailure)
    assert issuer.kind is kind
    assert isinstance(trade, PageFailure)
    assert trade.kind is kind


def test_real_politicians_page_gives_five_cards() -> None:
    page = parse_politicians_page(fixture_bytes("real/politicians_committee_ssfi_2026-02-08.html"))
    assert not isinstance(page, PageFailure)
    assert page.total_count == 5
    assert [card.politician_id for card in page.politicians] == [
        "W000802",
        "C000174",
        "W000805",
        "W000779",
        "B001267",
    ]
    first = page.politicians[0]
    assert first.name == "Sheldon Whitehouse"
    assert first.party == "Democrat"
    assert first.state == "Rhode Island"
    assert (first.party_id, first.state_id) == ("democrat", "ri")
    assert (first.count_trades, first.count_issuers) == (73, 44)
    assert first.volume == "1.23M"
    assert first.date_last_traded == "2024-12-19"
    # Singular labels ("Trade") when the count is one do not matter: cells are read by class.
    assert page.politicians[3].count_trades == 1
