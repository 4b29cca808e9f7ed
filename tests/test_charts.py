"""The charts `serve` draws (read.charts, sans-io): every count and close lands on a mark with
its value, marks stand where their values put them, text from the copy is escaped, and the
SVG is well-formed XML."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from trio_enrich.read import charts

SVG = "{http://www.w3.org/2000/svg}"


def _marks(svg: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(svg)  # (well-formed, or this raises)
    return [node for node in root.iter() if node.get("class") == "mark"]


def test_monthly_bars_stack_every_count_in_its_month_and_fill_the_empty_months() -> None:
    rows = [("2024-01", "democrat", 3), ("2024-01", "republican", 5), ("2024-04", "other", 2),
            ("2024-04", "democrat", 1)]  # fmt: skip
    chart = charts.monthly_bars(rows, charts.PARTY_COLOURS, "by party")
    marks = _marks(chart.svg)
    drawn = {(m.get("data-month"), m.get("data-series")): int(m.get("data-count", "0"))
             for m in marks}  # fmt: skip
    assert drawn == {(month, series): count for month, series, count in rows}
    x = {m.get("data-month"): float(m.get("x", "0")) for m in marks}
    # Four months from January to April: April's bar stands three slots after January's.
    slot = (x["2024-04"] - x["2024-01"]) / 3
    assert slot > 0
    january = [m for m in marks if m.get("data-month") == "2024-01"]
    heights = {m.get("data-series"): float(m.get("height", "0")) for m in january}
    assert heights["republican"] == pytest.approx(heights["democrat"] * 5 / 3, rel=0.01)
    # Stacked: the republican segment sits on top of the democrat one.
    by_series = {m.get("data-series"): m for m in january}
    top_of_democrat = float(by_series["democrat"].get("y", "0"))
    bottom_of_republican = float(by_series["republican"].get("y", "0")) + heights["republican"]
    assert bottom_of_republican == pytest.approx(top_of_democrat, abs=0.2)
    assert chart.summary.startswith("11 trades from 2024-01 to 2024-04")
    assert all(m.find(f"{SVG}title") is not None for m in marks)


def test_monthly_bars_of_nothing_say_so() -> None:
    chart = charts.monthly_bars([], charts.PARTY_COLOURS, "nothing")
    assert _marks(chart.svg) == []
    assert chart.summary == "No trades to draw."


def test_text_from_the_copy_is_escaped_in_every_chart() -> None:
    hostile = '<script>alert("x")</script>'
    bars = charts.monthly_bars([("2024-01", hostile, 1)], {}, hostile)
    line = charts.price_line(
        [("2024-01-02", 10.0)],
        [charts.TickerTrade(1, "2024-01-03", "buy", hostile, None)],
        hostile,
    )
    for chart in (bars, line):
        assert "<script" not in chart.svg
        ElementTree.fromstring(chart.svg)
    assert _marks(bars.svg)[0].get("data-series") == hostile  # (the value, unescaped by XML)


def test_each_trade_is_marked_on_the_close_last_stored_on_or_before_its_day() -> None:
    closes = [("2024-03-01", 100.0), ("2024-03-04", 110.0), ("2024-03-05", 90.0)]
    trades = [
        charts.TickerTrade(1, "2024-02-20", "buy", "A", "1k-15k"),  # before every close
        charts.TickerTrade(2, "2024-03-01", "sell", "B", None),  # on a close's day
        charts.TickerTrade(3, "2024-03-03", "buy", "C", None),  # a weekend: Friday's close
        charts.TickerTrade(4, "2024-03-09", "exchange", "D", None),  # after the last
    ]
    chart = charts.price_line(closes, trades, "NVDA")
    marks = {int(m.get("data-tx-id", "0")): m for m in _marks(chart.svg)}
    assert {k: m.get("data-close") for k, m in marks.items()} == {
        1: "", 2: "100.0", 3: "100.0", 4: "90.0"}  # fmt: skip
    assert marks[1].tag == f"{SVG}path"  # on the axis
    # Marks stand in time order, at the height of their close.
    xs = [float(marks[k].get("cx", "0")) for k in (2, 3, 4)]
    assert xs == sorted(xs)
    assert float(marks[4].get("cy", "0")) > float(marks[2].get("cy", "0"))  # 90 is lower
    line = ElementTree.fromstring(chart.svg).find(f"{SVG}polyline")
    assert line is not None
    assert len(line.get("points", "").split()) == 3
    assert chart.summary == ("3 stored closes and 4 trades; 1 made before the first stored "
                             "close, marked on the axis.")  # fmt: skip


def test_a_ticker_with_trades_but_no_stored_closes_still_marks_its_trades() -> None:
    trades = [charts.TickerTrade(7, "2024-05-01", "buy", "A", None),
              charts.TickerTrade(8, "2025-05-01", "sell", "B", None)]  # fmt: skip
    chart = charts.price_line([], trades, "KH")
    assert len(_marks(chart.svg)) == 2
    assert chart.summary.startswith("0 stored closes and 2 trades; 2 made before")


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [(0, 1, 1), (7, 8, 2), (10, 10, 2), (11, 15, 5), (431, 500, 100), (0.37, 0.4, 0.1)],
)  # fmt: skip
def test_an_axis_ends_at_a_round_number_at_or_above_the_largest_value(
    value: float, top: float, step: float
) -> None:
    assert charts._nice_top(value) == pytest.approx((top, step))
