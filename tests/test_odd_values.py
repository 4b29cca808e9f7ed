"""Odd but real values are read as shown; only what cannot be a value of its field fails,
naming the field. One table per reader that checks a form (issue 31, item 1)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from trio_enrich import (
    IssuerDetail,
    PageFailure,
    TradeDetail,
    parse_issuer_detail,
    parse_trade_detail,
    parse_trades_page,
)
from trio_enrich._model import FailureKind
from trio_enrich.sim import make_dataset
from trio_enrich.site.page import to_int
from trio_enrich.site.read_trades import trade_detail_from_object

from .pages import issuer_page, live_trade_page, new_listing_performance, page

TX = 20003802803

# --- the live trade page's cards: (label, shown) -> the value read --------------------------

CARD_READS: list[tuple[str, Any, str, object]] = [
    ("Reporting Gap", "-3 days", "reporting_gap", -3),  # traded after published: as given
    ("Reporting Gap", "\u22123 days", "reporting_gap", -3),  # a typographic minus
    ("Reporting Gap", [-3, " days"], "reporting_gap", -3),  # JSX {gap} days
    ("Reporting Gap", "0 days", "reporting_gap", 0),
    ("Reporting Gap", "1 day", "reporting_gap", 1),
    ("Reporting Gap", "460 days", "reporting_gap", 460),
    ("Reporting Gap", "1,203 days", "reporting_gap", 1203),
    ("Reporting Gap", "4203 days", "reporting_gap", 4203),
    ("Reporting Gap", "N/A", "reporting_gap", None),
    ("Price", "$0.00", "price", 0.0),
    ("Price", "$1,234.56", "price", 1234.56),
    ("Price", "N/A", "price", None),
    ("Shares", "0", "size_range_low", 0),
    ("Shares", "1,000,000", "size_range_high", 1_000_000),
    ("Shares", "44 - 144", "size_range_high", 144),
    ("Shares", "44\u2013144", "size_range_low", 44),
]

CARD_FAILURES: list[tuple[str, Any]] = [
    ("Reporting Gap", "three weeks"),
    ("Reporting Gap", "21 weeks"),
    ("Reporting Gap", "3 days ago"),
    ("Reporting Gap", "1,2 days"),  # no thousands grouping
    ("Price", "about $3"),
    ("Price", "$NaN"),
    ("Price", "free"),
    ("Shares", "many"),
    ("Shares", [44, " to ", 144]),
]


@pytest.mark.parametrize(("label", "shown", "field", "value"), CARD_READS)
def test_a_trade_card_with_an_odd_but_real_value_is_read_as_shown(
    label: str, shown: Any, field: str, value: object
) -> None:
    detail = parse_trade_detail(live_trade_page({"Asset Type": "Stock", label: shown}), TX)
    assert isinstance(detail, TradeDetail), detail
    assert getattr(detail, field) == value


@pytest.mark.parametrize(("label", "shown"), CARD_FAILURES)
def test_a_trade_card_value_that_cannot_be_the_field_fails_naming_it(
    label: str, shown: Any
) -> None:
    result = parse_trade_detail(live_trade_page({"Asset Type": "Stock", label: shown}), TX)
    assert isinstance(result, PageFailure), result
    assert result.kind is FailureKind.LAYOUT_CHANGED
    assert repr(label) in result.reason


# --- the object shape (a full trade object) ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shown", "field", "value"),
    [
        ("reportingGap", -3, "reporting_gap", -3),
        ("reportingGap", "-3", "reporting_gap", -3),  # a number sent as text
        ("reportingGap", 0, "reporting_gap", 0),
        ("reportingGap", 1203, "reporting_gap", 1203),
        ("price", 0.0, "price", 0.0),
        ("price", None, "price", None),
        ("size", 0, "size", 0),
        ("size", 1_000_000, "size", 1_000_000),
    ],
)
def test_a_trade_object_with_an_odd_but_real_value_is_read_as_shown(
    key: str, shown: object, field: str, value: object
) -> None:
    obj = {"tradeId": TX, "asset": {"assetType": "Stock"}, "filingId": 1, key: shown}
    assert getattr(trade_detail_from_object(obj, TX), field) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("-3", -3), ("0", 0), (" 12 ", 12), ("+4", 4), ("\u22123", None), ("3.5", None),
     ("", None), ("-", None), ("1e3", None), ("twelve", None)],
)  # fmt: skip
def test_an_integer_sent_as_text_is_read_with_its_sign(text: str, value: int | None) -> None:
    assert to_int(text) == value


# --- the listing: the June 2026 capture's odd rows ----------------------------------------------


def _row(tx_id: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_issuerId": 433382, "_politicianId": "P000197", "_txId": tx_id, "chamber": "house",
        "comment": None,
        "issuer": {"_stateId": "ca", "c2iq": "NVDA:US", "country": "us",
                   "issuerName": "NVIDIA Corp", "issuerTicker": "NVDA:US", "sector": "it"},
        "owner": "self",
        "politician": {"_stateId": "ca", "chamber": "house", "dob": "1940-03-26",
                       "firstName": "Nancy", "gender": "female", "lastName": "Pelosi",
                       "nickname": None, "party": "democrat"},
        "price": 120.5, "pubDate": "2026-06-02T13:01:00Z", "reportingGap": 21,
        "txDate": "2026-05-12", "txType": "buy", "txTypeExtended": None, "value": 8000,
    }  # fmt: skip
    for key, value in changes.items():
        if key.startswith("issuer_"):
            row["issuer"][key.removeprefix("issuer_")] = value
        else:
            row[key] = value
    return row


def _listing(rows: list[dict[str, Any]]) -> str:
    table = ["$", "$L1e", None, {"data": rows, "columnVisibility": "$undefined"}]
    pagination = ["$", "$L1f", None, {"className": "mt-6", "searchParams": {},
                                      "totalCount": len(rows), "totalPages": 1}]  # fmt: skip
    return page("0:" + json.dumps(["$", "div", None, {"children": [table, pagination]}]) + "\n")


ONLY_A_NAME = {"_stateId": None, "c2iq": None, "country": None, "issuerName": "Acme LP",
               "issuerTicker": None, "sector": None}  # fmt: skip
LISTING_READS: list[tuple[dict[str, Any], str, object]] = [
    ({"reportingGap": -3}, "reporting_gap", -3),
    ({"reportingGap": 0}, "reporting_gap", 0),
    ({"reportingGap": 460}, "reporting_gap", 460),
    ({"reportingGap": 1203}, "reporting_gap", 1203),
    ({"txType": "exchange", "price": None}, "price", None),
    ({"price": 0.0}, "price", 0.0),
    ({"issuer_issuerTicker": ""}, "issuer.issuer_ticker", ""),
    ({"issuer_issuerTicker": None}, "issuer.issuer_ticker", None),
    ({"issuer": ONLY_A_NAME}, "issuer.issuer_name", "Acme LP"),
]


@pytest.mark.parametrize(("changes", "field", "value"), LISTING_READS)
def test_a_listing_row_with_an_odd_but_real_value_is_read_as_shown(
    changes: dict[str, Any], field: str, value: object
) -> None:
    listing = parse_trades_page(_listing([_row(TX, **changes)]), page_number=1, page_size=12)
    assert not isinstance(listing, PageFailure), listing
    (trade,) = listing.trades
    read: object = trade
    for part in field.split("."):
        read = getattr(read, part)
    assert read == value


@pytest.mark.parametrize(
    "changes",
    [{"reportingGap": "three weeks", "value": "a lot"}, {"txType": None}, {"issuer": "NVIDIA"},
     {"issuer_issuerName": None}, {"_txId": "T-1"}],
)  # fmt: skip
def test_a_listing_row_that_cannot_be_a_trade_fails_the_page_naming_the_row(
    changes: dict[str, Any],
) -> None:
    result = parse_trades_page(_listing([_row(TX, **changes)]))
    assert isinstance(result, PageFailure), result
    assert result.kind is FailureKind.LAYOUT_CHANGED
    assert "row 1 of the trades listing" in result.reason


# --- the issuer page ---------------------------------------------------------------------------


def test_an_issuer_with_only_a_name_and_an_empty_ticker_is_read_as_shown() -> None:
    data = {"_issuerId": 7, "issuerName": "Acme LP"}
    body = json.dumps(["$", "div", None, {"className": "issuer", "issuerData": data}])
    detail = parse_issuer_detail(page("0:" + body + "\n"), 7)
    assert isinstance(detail, IssuerDetail), detail
    assert (detail.issuer.issuer_name, detail.issuer.issuer_ticker) == ("Acme LP", None)
    assert (detail.stats, detail.performance) == (None, None)
    empty_ticker = parse_issuer_detail(issuer_page(9, new_listing_performance(), ticker=""), 9)
    assert isinstance(empty_ticker, IssuerDetail), empty_ticker
    assert empty_ticker.issuer.issuer_ticker == ""


@pytest.mark.parametrize(("key", "shown"), [("mcap", "big"), ("ytd", "12%"), ("trailing1", "$NaN")])
def test_an_issuer_figure_that_cannot_be_a_number_fails_naming_it(key: str, shown: object) -> None:
    performance = new_listing_performance()
    performance[key] = shown
    result = parse_issuer_detail(issuer_page(9, performance), 9)
    assert isinstance(result, PageFailure), result
    assert key in result.reason


# --- a stored yes stays yes (issue 31, item 2) ----------------------------------------------------


def test_a_yes_the_earlier_tool_stored_is_read_as_yes_by_the_readme_query_and_status(
    tmp_path: Path,
) -> None:
    from trio_enrich import Store

    from .helpers import database_with_listing
    from .pages import readme_sql

    dataset = make_dataset(seed=31, trades=4)
    db_path = database_with_listing(tmp_path / "ct.db", dataset)
    inherited_yes, inherited_unsaid, ours_no, ours_unsaid = (
        t.listing.tx_id for t in dataset.trades
    )
    with sqlite3.connect(db_path) as db:
        # The earlier tool enriched two trades (no row of ours), we enriched two: one page said no.
        db.execute("UPDATE trades SET enriched_at = '2025-01-01T00:00:00Z', has_capital_gains = 0")
        db.execute("UPDATE trades SET has_capital_gains = 1 WHERE tx_id = ?", (inherited_yes,))
        db.execute("INSERT INTO trio_enrich_capital_gains_shown VALUES (?)", (ours_no,))
        rows = dict(
            (row[0], row[3]) for row in db.execute(readme_sql("trio_enrich_capital_gains_shown"))
        )
    assert rows == {inherited_yes: 1, inherited_unsaid: None, ours_no: 0, ours_unsaid: None}
    with Store.open(db_path, read_only=True) as store:
        assert store.status()["not_shown"]["has_capital_gains"] == 2
