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
    # The window is the closes': the trade made before them is counted, not drawn.
    assert {k: m.get("data-close") for k, m in marks.items()} == {
        2: "100.0", 3: "100.0", 4: "90.0"}  # fmt: skip
    # Marks stand in time order, at the height of their close.
    xs = [float(marks[k].get("cx", "0")) for k in (2, 3, 4)]
    assert xs == sorted(xs)
    assert float(marks[4].get("cy", "0")) > float(marks[2].get("cy", "0"))  # 90 is lower
    line = ElementTree.fromstring(chart.svg).find(f"{SVG}polyline")
    assert line is not None
    points = [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
    assert len(points) == 3
    assert points[0][0] == float(marks[2].get("cx", "0"))  # the first close starts the window
    assert chart.summary == ("3 stored closes and 4 trades; the 1 made before the first stored "
                             "close (2024-03-01) are not drawn.")  # fmt: skip


def test_a_ticker_with_trades_but_no_stored_closes_marks_them_along_the_time_axis() -> None:
    trades = [charts.TickerTrade(7, "2024-05-01", "buy", "A", None),
              charts.TickerTrade(8, "2025-05-01", "sell", "B", None)]  # fmt: skip
    chart = charts.price_line([], trades, "KH")
    assert [m.get("data-close") for m in _marks(chart.svg)] == ["", ""]
    assert chart.summary == ("0 stored closes and 2 trades, marked along the time axis (no "
                             "closes stored for it).")  # fmt: skip


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 0, (0, 1, 0.2)), (0, 7, (0, 8, 2)), (0, 10, (0, 10, 2)), (0, 11, (0, 15, 5)),
     (0, 431, (0, 500, 100)), (231.5, 262.25, (230, 270, 10)), (90, 110, (90, 110, 5))],
)  # fmt: skip
def test_an_axis_runs_between_round_numbers_around_its_values(
    low: float, high: float, expected: tuple[float, float, float]
) -> None:
    assert charts._nice_range(low, high) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("first", "last", "labels"),
    [("2023-10-02", "2026-05-01", ["2024", "2025", "2026"]),
     ("2026-07-15", "2026-11-02", ["2026-08", "2026-09", "2026-10", "2026-11"]),
     ("2026-10-12", "2026-11-02", ["2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02"])],
)  # fmt: skip
def test_the_time_axis_is_labelled_by_years_months_or_weeks_as_its_span_asks(
    first: str, last: str, labels: list[str]
) -> None:
    ticks = charts._time_ticks(charts._day(first), charts._day(last))
    assert [label for _, label in ticks] == labels


def test_the_bars_years_are_labelled_at_january_and_at_the_start_when_there_is_room() -> None:
    def years(first: str, last: str) -> list[str]:
        rows = [(first, "buy", 1), (last, "buy", 1)]
        root = ElementTree.fromstring(charts.monthly_bars(rows, {}, "x").svg)
        return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "tick year"]

    # 98 months (the real site's span): 9 px a month, 2018-10 too near 2019 for its label.
    assert years("2018-10", "2026-11") == [str(year) for year in range(2019, 2027)]
    assert years("2018-06", "2026-11") == [str(year) for year in range(2018, 2027)]
    assert years("2023-12", "2025-03") == ["2023", "2024", "2025"]  # 55 px a month: room


def test_each_chart_says_what_its_vertical_axis_counts_and_in_what_unit() -> None:
    def title(svg: str) -> list[str]:
        root = ElementTree.fromstring(svg)
        return [t.text or "" for t in root.iter(f"{SVG}text") if "axis-title" in t.get("class", "")]

    bars = charts.monthly_bars([("2024-01", "buy", 1)], {}, "x")
    line = charts.price_line([("2024-01-02", 10.0)], [], "x")
    bare = charts.price_line([], [charts.TickerTrade(1, "2024-01-03", "buy", "A", None)], "x")
    assert title(bars.svg) == ["trades a month (by the month they were made)"]
    assert title(line.svg) == ["close, USD"]
    assert title(bare.svg) == []  # (no closes: no price axis)
