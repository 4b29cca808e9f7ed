"""The two real `/trades` captures of 2026-02-25: every row the reader gives equals what the
page's own server-rendered table shows (issue 19).

The rows below are written out in the table's own words. One test reads the table out of the
page's HTML (not its flight data) and checks it says exactly this; the other checks the
reader's rows, put in the same words, against it. So the reader is checked against what a
person sees on the page, not against itself.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from trio_enrich import ListingPage, ListingTrade, parse_trades_page

from .pages import fixture_bytes

CAPTURED = dt.date(2026, 2, 25)  # "Today" on the page

# (trade, politician, name, party, chamber, state, issuer, issuer name, ticker, published,
#  traded, reporting gap in days, owner, type, size, price), as the table shows them.
# fmt: off
ROWS_PAGE_1 = [
    ("20003795292", "F000110", "Cleo Fields", "Democrat", "House", "LA",
     "429505", "Advanced Micro Devices Inc", "AMD:US", "14:05 Today",
     "3 Feb 2026", "21", "Undisclosed", "buy", "50K\u2013100K", "$242.11"),
    ("20003795293", "F000110", "Cleo Fields", "Democrat", "House", "LA",
     "429622", "Alphabet Inc", "GOOGL:US", "14:05 Today",
     "3 Feb 2026", "21", "Undisclosed", "buy", "100K\u2013250K", "$339.71"),
    ("20003795294", "F000110", "Cleo Fields", "Democrat", "House", "LA",
     "429789", "Apple Inc", "AAPL:US", "14:05 Today",
     "12 Feb 2026", "12", "Undisclosed", "buy", "1K\u201315K", "$261.73"),
    ("20003795295", "F000110", "Cleo Fields", "Democrat", "House", "LA",
     "432951", "Lam Research Corp", "LRCX:US", "14:05 Today",
     "3 Feb 2026", "21", "Undisclosed", "buy", "15K\u201350K", "$230.10"),
    ("20003795296", "F000110", "Cleo Fields", "Democrat", "House", "LA",
     "431610", "Meta Platforms Inc", "META:US", "14:05 Today",
     "3 Feb 2026", "21", "Undisclosed", "buy", "100K\u2013250K", "$691.70"),
    ("20003795297", "F000110", "Cleo Fields", "Democrat", "House", "LA",
     "433381", "Micron Technology Inc", "MU:US", "14:05 Today",
     "3 Feb 2026", "21", "Undisclosed", "buy", "100K\u2013250K", "$419.44"),
    ("20003795279", "F000472", "Scott Franklin", "Republican", "House", "FL",
     "432250", "The Hershey Co", "HSY:US", "14:05 Yesterday",
     "10 Feb 2026", "13", "Undisclosed", "sell", "1K\u201315K", "$229.00"),
    ("20003795280", "F000472", "Scott Franklin", "Republican", "House", "FL",
     "432250", "The Hershey Co", "HSY:US", "14:05 Yesterday",
     "10 Feb 2026", "13", "Spouse", "sell", "1K\u201315K", "$229.00"),
    ("20003795281", "F000472", "Scott Franklin", "Republican", "House", "FL",
     "432250", "The Hershey Co", "HSY:US", "14:05 Yesterday",
     "10 Feb 2026", "13", "Undisclosed", "sell", "50K\u2013100K", "$229.00"),
    ("20003795282", "J000309", "Jonathan Jackson", "Democrat", "House", "IL",
     "430570", "Citigroup Inc", "C:US", "14:05 Yesterday",
     "30 Jan 2026", "24", "Joint", "buy", "15K\u201350K", "$115.71"),
    ("20003795283", "J000309", "Jonathan Jackson", "Democrat", "House", "IL",
     "2334784", "COUPANG INC", "N/A", "14:05 Yesterday",
     "22 Jan 2026", "32", "Joint", "sell", "15K\u201350K", "$19.95"),
    ("20003795284", "J000309", "Jonathan Jackson", "Democrat", "House", "IL",
     "2334695", "GE VERNOVA INC", "GEV:US", "14:05 Yesterday",
     "30 Jan 2026", "24", "Joint", "buy", "15K\u201350K", "$726.37"),
]
ROWS_PELOSI = [
    ("20003794895", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429603", "AllianceBernstein Holding LP", "AB:US", "26 Jan 2026",
     "16 Jan 2026", "7", "Spouse", "buy", "1M\u20135M", "$40.17"),
    ("20003794896", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429622", "Alphabet Inc", "GOOGL:US", "26 Jan 2026",
     "16 Jan 2026", "7", "Spouse", "buy", "500K\u20131M", "$150.00"),
    ("20003794897", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429622", "Alphabet Inc", "GOOGL:US", "26 Jan 2026",
     "30 Dec 2025", "24", "Undisclosed", "buy", "250K\u2013500K", "N/A"),
    ("20003794898", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429622", "Alphabet Inc", "GOOGL:US", "26 Jan 2026",
     "30 Dec 2025", "24", "Spouse", "sell", "1M\u20135M", "$313.85"),
    ("20003794899", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429648", "Amazon.com Inc", "AMZN:US", "26 Jan 2026",
     "30 Dec 2025", "24", "Spouse", "buy", "100K\u2013250K", "N/A"),
    ("20003794900", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429648", "Amazon.com Inc", "AMZN:US", "26 Jan 2026",
     "24 Dec 2025", "30", "Spouse", "sell", "1M\u20135M", "$232.38"),
    ("20003794901", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429648", "Amazon.com Inc", "AMZN:US", "26 Jan 2026",
     "16 Jan 2026", "7", "Spouse", "buy", "500K\u20131M", "$150.00"),
    ("20003794902", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429789", "Apple Inc", "AAPL:US", "26 Jan 2026",
     "24 Dec 2025", "30", "Undisclosed", "sell", "5M\u201325M", "$273.81"),
    ("20003794903", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429789", "Apple Inc", "AAPL:US", "26 Jan 2026",
     "30 Dec 2025", "24", "Spouse", "buy", "250K\u2013500K", "N/A"),
    ("20003794904", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "429789", "Apple Inc", "AAPL:US", "26 Jan 2026",
     "30 Dec 2025", "24", "Spouse", "sell", "5M\u201325M", "$273.08"),
    ("20003794905", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "433770", "NVIDIA Corporation", "NVDA:US", "26 Jan 2026",
     "30 Dec 2025", "24", "Spouse", "buy", "100K\u2013250K", "N/A"),
    ("20003794906", "P000197", "Nancy Pelosi", "Democrat", "House", "CA",
     "433770", "NVIDIA Corporation", "NVDA:US", "26 Jan 2026",
     "24 Dec 2025", "30", "Spouse", "sell", "1M\u20135M", "$188.61"),
]
# fmt: on
CAPTURES = {
    "real/trades_page1_2026-02-25.html": (ROWS_PAGE_1, 34980, 2915),
    "real/trades_politician_P000197_page1_2026-02-25.html": (ROWS_PELOSI, 46, 4),
}

# The table's words for the listing's values.
OWNERS = {"self": "Self", "spouse": "Spouse", "joint": "Joint", "child": "Child",
          "not-disclosed": "Undisclosed"}  # fmt: skip
SIZES = {8000: "1K\u201315K", 32500: "15K\u201350K", 75000: "50K\u2013100K",
         175000: "100K\u2013250K", 375000: "250K\u2013500K", 750000: "500K\u20131M",
         3000000: "1M\u20135M", 15000000: "5M\u201325M"}  # fmt: skip


class _Table(HTMLParser):
    """The server-rendered table of a trades page: per row, per cell, its texts and links."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[list[str], list[str]]]] = []
        self._in_body = False
        self._cell: tuple[list[str], list[str]] | None = None
        self._hidden = 0  # inside svg/style/script

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        if not self._in_body:
            return
        if tag in ("svg", "style", "script"):
            self._hidden += 1
        elif tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = ([], [])
        elif tag == "a" and self._cell is not None:
            self._cell[1].append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "style", "script") and self._hidden:
            self._hidden -= 1
        elif tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._hidden and data.strip():
            self._cell[0].append(data.strip())


def _table_rows(page: bytes) -> list[tuple[str, ...]]:
    table = _Table()
    table.feed(page.decode())
    shown = []
    for cells in table.rows:
        (who, who_links), (issuer, issuer_links), (published, _), (traded, _) = cells[:4]
        (gap, _), (owner, _), (kind, _), (size, _), (price, _), (_, trade_links) = cells[4:]
        shown.append((
            trade_links[0].rsplit("/", 1)[1], who_links[0].rsplit("/", 1)[1], *who,
            issuer_links[0].rsplit("/", 1)[1], *issuer, " ".join(published), " ".join(traded),
            gap[1], owner[0], kind[0], size[0], price[0],
        ))  # fmt: skip
    return shown


def _day(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"


def _published(pub_date: str) -> str:
    """A publication time as the table writes it: the time on the two latest days."""
    moment = dt.datetime.fromisoformat(pub_date.replace("Z", "+00:00"))
    days = (CAPTURED - moment.date()).days
    if days in (0, 1):
        return f"{moment:%H:%M} " + ("Today" if days == 0 else "Yesterday")
    return _day(moment.date())


def _in_table_words(trade: ListingTrade) -> tuple[str, ...]:
    who = trade.politician
    issuer = trade.issuer
    return (
        str(trade.tx_id), who.politician_id, f"{who.nickname or who.first_name} {who.last_name}",
        (who.party or "").capitalize(), (who.chamber or "").capitalize(),
        (who.state_id or "").upper(), str(issuer.issuer_id), issuer.issuer_name,
        issuer.issuer_ticker or "N/A", _published(trade.pub_date),
        _day(dt.date.fromisoformat(trade.tx_date)), str(trade.reporting_gap),
        OWNERS[trade.owner or ""], trade.tx_type, SIZES[trade.value],
        "N/A" if trade.price is None else f"${trade.price:,.2f}",
    )  # fmt: skip


@pytest.mark.parametrize("name", CAPTURES)
def test_the_rows_written_here_are_what_the_pages_table_shows(name: str) -> None:
    rows, _, _ = CAPTURES[name]
    assert _table_rows(fixture_bytes(name)) == rows


@pytest.mark.parametrize("name", CAPTURES)
def test_every_row_read_equals_the_pages_table(name: str) -> None:
    rows, total_count, total_pages = CAPTURES[name]
    page = parse_trades_page(fixture_bytes(name), page_number=1, page_size=12)
    assert isinstance(page, ListingPage)
    assert (page.total_count, page.total_pages) == (total_count, total_pages)
    assert [_in_table_words(trade) for trade in page.trades] == rows
