"""The charts `serve` draws: trades per month by party, one member's trades over time, and a
ticker's stored closing prices with the members' trades marked on them.

Drawn here, as SVG, from rows the caller reads with the SQL below (sans-io: no database, no
web framework). Every mark is an SVG element with its value in a ``<title>`` (the browser's
tooltip) and ``data-`` attributes, so a page needs no script, and every text from the copy is
escaped (a member's name is the site's text, not ours). Why our own drawing and not a
Datasette plugin: datasette-vega's last release is years old and draws a generic chart of one
table, datasette-plot needs Datasette's 1.0 alpha; these three charts are a few hundred lines.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "MEMBERS_SQL",
    "MEMBER_MONTHLY_SQL",
    "MONTHLY_SQL",
    "PARTY_COLOURS",
    "TICKER_CLOSES_SQL",
    "TICKER_ISSUERS_SQL",
    "TICKER_TRADES_SQL",
    "TX_TYPE_COLOURS",
    "Chart",
    "TickerTrade",
    "monthly_bars",
    "price_line",
]

#: Trades per month (the month they were made) and party.
MONTHLY_SQL = (
    "SELECT substr(tx_date, 1, 7) AS month, party, COUNT(*) FROM trio_enrich_trades "
    "WHERE tx_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]*' GROUP BY 1, 2 ORDER BY 1"
)
#: The members a text names: by id, or a part of the name (most trades first).
MEMBERS_SQL = (
    "SELECT politician_id, name, trades FROM trio_enrich_politicians WHERE politician_id = "
    ":member OR name LIKE '%' || :member || '%' ORDER BY trades DESC, name LIMIT 20"
)
#: One member's trades per month and type.
MEMBER_MONTHLY_SQL = (
    "SELECT substr(tx_date, 1, 7) AS month, tx_type, COUNT(*) FROM trio_enrich_trades "
    "WHERE politician_id = :member AND tx_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]*' "
    "GROUP BY 1, 2 ORDER BY 1"
)
#: The issuers a ticker names (NVDA finds NVDA:US), most trades first.
TICKER_ISSUERS_SQL = (
    "SELECT issuer_id, name, ticker, trades FROM trio_enrich_issuers WHERE upper(ticker) = "
    "upper(:ticker) OR upper(ticker) LIKE upper(:ticker) || ':%' ORDER BY trades DESC LIMIT 20"
)
TICKER_CLOSES_SQL = (
    "SELECT price_date, price FROM issuer_eod_prices WHERE issuer_id = :issuer ORDER BY price_date"
)
TICKER_TRADES_SQL = (
    "SELECT tx_id, tx_date, tx_type, politician, bracket FROM trio_enrich_trades "
    "WHERE issuer_id = :issuer ORDER BY tx_date, tx_id"
)

PARTY_COLOURS = {"democrat": "#2b6cb0", "republican": "#c53030", "other": "#718096"}
TX_TYPE_COLOURS = {
    "buy": "#2f855a", "sell": "#c53030", "exchange": "#d69e2e", "receive": "#6b46c1",
}  # fmt: skip
_OTHER_COLOUR = "#4a5568"

_WIDTH, _HEIGHT = 960, 380
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 36, 40  # margins: axis labels, legend
_YEAR_LABEL_PX = 40  # the room a year's label under the bars needs


@dataclass(frozen=True, slots=True)
class Chart:
    """A drawn chart: its SVG, and a sentence saying what it shows (or why it is empty)."""

    svg: str
    summary: str


@dataclass(frozen=True, slots=True)
class TickerTrade:
    tx_id: int
    tx_date: str
    tx_type: str
    politician: str
    bracket: str | None


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _months(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (YYYY-MM), so that time runs evenly along the axis."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _nice_range(low: float, high: float) -> tuple[float, float, float]:
    """An axis from at or below `low` to at or above `high`, at round numbers, and its tick
    step (1, 2 or 5 times a power of ten, about five ticks)."""
    if high <= low:
        high = low + max(abs(low), 1.0)
    raw = (high - low) / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _y_axis(
    bottom: float, top: float, step: float, y: Callable[[float], float], money: bool = False
) -> list[str]:
    parts = []
    for i in range(round((top - bottom) / step) + 1):
        value = bottom + i * step
        at = y(value)
        label = f"{value:,.2f}" if money else f"{value:,.0f}"
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{at:.1f}" '
                     f'y2="{at:.1f}"/><text class="tick" x="{_LEFT - 6}" y="{at + 4:.1f}" '
                     f'text-anchor="end">{label}</text>')  # fmt: skip
    return parts


def _time_ticks(first: int, last: int) -> list[tuple[int, str]]:
    """Days (ordinals) to label between `first` and `last`, and their labels: each year's
    first day over a long span, each month's over months, each week's over weeks."""
    start, end = dt.date.fromordinal(first), dt.date.fromordinal(last)
    if last - first > 400:
        return [(dt.date(y, 1, 1).toordinal(), str(y)) for y in range(start.year + 1,
                end.year + 1)]  # fmt: skip
    if last - first > 60:
        ticks: list[tuple[int, str]] = []
        year, month = start.year, start.month
        while True:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            day = dt.date(year, month, 1)
            if day > end:
                return ticks
            ticks.append((day.toordinal(), f"{year:04d}-{month:02d}"))
    return [(d, dt.date.fromordinal(d).isoformat()) for d in range(first, last + 1, 7)]


def _axis_title(text: str) -> str:
    """What the vertical axis counts, and in what unit (top right, across from the legend)."""
    return (f'<text class="legend axis-title" x="{_WIDTH - _RIGHT}" y="20" '
            f'text-anchor="end">{_e(text)}</text>')  # fmt: skip


def _legend(colours: Mapping[str, str], names: Sequence[str]) -> str:
    parts, x = [], _LEFT
    for name in names:
        colour = colours.get(name, _OTHER_COLOUR)
        parts.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}"/>'
                     f'<text class="legend" x="{x + 16}" y="20">{_e(name)}</text>')  # fmt: skip
        x += 28 + 7 * len(name)
    return "".join(parts)


def _svg(label: str, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{_e(label)}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>"
    )


def monthly_bars(
    rows: Sequence[tuple[str, str | None, int]], colours: Mapping[str, str], label: str
) -> Chart:
    """Stacked bars, one a month, from (month YYYY-MM, series, count) rows; the series in the
    order of `colours`, then any other in the order met."""
    if not rows:
        return Chart(_svg(label, []), "No trades to draw.")
    counts: dict[str, dict[str, int]] = {}
    met: list[str] = []
    for month, series, count in rows:
        name = series or "unknown"
        counts.setdefault(month, {})[name] = counts.get(month, {}).get(name, 0) + count
        if name not in met:
            met.append(name)
    names = [n for n in colours if n in met] + [n for n in met if n not in colours]
    months = _months(min(counts), max(counts))
    _, top, step = _nice_range(0, max(sum(c.values()) for c in counts.values()))
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(months)

    def y(value: float) -> float:
        return _TOP + plot_h - value / top * plot_h

    body = [_axis_title("trades a month (by the month they were made)"), *_y_axis(0, top, step, y)]
    for index, month in enumerate(months):
        x, base = _LEFT + index * slot, 0
        for name in names:
            count = counts.get(month, {}).get(name, 0)
            if not count:
                continue
            colour = colours.get(name, _OTHER_COLOUR)
            body.append(
                f'<rect class="mark" data-month="{month}" data-series="{_e(name)}" '
                f'data-count="{count}" x="{x + slot * 0.1:.1f}" y="{y(base + count):.1f}" '
                f'width="{max(slot * 0.8, 1):.1f}" height="{y(base) - y(base + count):.1f}" '
                f'fill="{colour}"><title>{month}, {_e(name)}: {count}</title></rect>'
            )
            base += count
        # Each year at its January; the first month's year too, unless the next January's
        # label would overlap it (a year's label is about 30 px wide).
        first_fits = index == 0 and (13 - int(month[5:7])) * slot >= _YEAR_LABEL_PX
        if month.endswith("-01") or first_fits:
            body.append(f'<text class="tick year" x="{x:.1f}" y="{_HEIGHT - _BOTTOM + 16}">'
                        f"{month[:4]}</text>")  # fmt: skip
    body.append(_legend(colours, names))
    total = sum(sum(c.values()) for c in counts.values())
    summary = (f"{total:,} trades from {months[0]} to {months[-1]} (by the month they were "
               "made), stacked by " + ", ".join(names) + ".")  # fmt: skip
    return Chart(_svg(label, body), summary)


def _day(text: str) -> int:
    return dt.date.fromisoformat(text[:10]).toordinal()


def price_line(
    closes: Sequence[tuple[str, float]], trades: Sequence[TickerTrade], label: str
) -> Chart:
    """The stored closing prices as a line, each trade made since the first of them a mark on
    the close last stored on or before its day; the trades made before are counted, not drawn
    (the window is the closes', or a few weeks of prices would be a speck beside years of
    trades). Without closes, every trade is marked along the time axis."""
    if not closes and not trades:
        return Chart(_svg(label, []), "No stored prices and no trades to draw.")
    close_days = [_day(d) for d, _ in closes]
    start = close_days[0] if closes else min(_day(t.tx_date) for t in trades)
    drawn = [t for t in trades if _day(t.tx_date) >= start]
    first, last = start, max(close_days[-1:] + [_day(t.tx_date) for t in drawn])
    span = max(last - first, 1)
    prices = [p for _, p in closes]
    bottom, top, step = _nice_range(min(prices, default=0.0), max(prices, default=1.0))
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM

    def x(day: int) -> float:
        return _LEFT + (day - first) / span * plot_w

    def y(value: float) -> float:
        return _TOP + plot_h - (value - bottom) / (top - bottom) * plot_h

    body = [_axis_title("close, USD"), *_y_axis(bottom, top, step, y, money=True)] if closes else []
    for day, text in _time_ticks(first, last):
        body.append(f'<text class="tick" x="{x(day):.1f}" y="{_HEIGHT - _BOTTOM + 16}" '
                    f'text-anchor="middle">{text}</text>')  # fmt: skip
    if closes:
        points = " ".join(
            f"{x(day):.1f},{y(p):.1f}" for day, p in zip(close_days, prices, strict=True)
        )
        body.append(f'<polyline class="closes" fill="none" stroke="#2d3748" stroke-width="2" '
                    f'points="{points}"><title>stored closes: {len(closes)}, {_e(closes[0][0])}'
                    f" to {_e(closes[-1][0])}</title></polyline>")  # fmt: skip
    for trade in drawn:
        day = _day(trade.tx_date)
        colour = TX_TYPE_COLOURS.get(trade.tx_type, _OTHER_COLOUR)
        words = (f"{trade.tx_date}: {trade.politician}, {trade.tx_type}"
                 + (f", {trade.bracket}" if trade.bracket else ""))  # fmt: skip
        common = (f'class="mark" data-tx-id="{trade.tx_id}" data-tx-type="{_e(trade.tx_type)}" '
                  f'fill="{colour}" stroke="white"')  # fmt: skip
        if not closes:
            at = _HEIGHT - _BOTTOM
            body.append(f'<path {common} data-close="" d="M{x(day):.1f},{at - 10:.1f} '
                        f'l5,10 h-10 z"><title>{_e(words)}</title></path>')  # fmt: skip
            continue
        index = bisect.bisect_right(close_days, day) - 1  # the close on or before its day
        close = prices[index]
        body.append(f'<circle {common} data-close="{close}" cx="{x(day):.1f}" '
                    f'cy="{y(close):.1f}" r="5"><title>{_e(words)}; close {close:,.2f} on '
                    f"{_e(closes[index][0])}</title></circle>")  # fmt: skip
    names = [n for n in TX_TYPE_COLOURS if any(t.tx_type == n for t in drawn)]
    body.append(_legend(TX_TYPE_COLOURS, names))
    summary = f"{len(closes):,} stored closes and {len(trades):,} trades"
    if not closes:
        summary += ", marked along the time axis (no closes stored for it)"
    elif len(drawn) < len(trades):
        summary += (f"; the {len(trades) - len(drawn):,} made before the first stored close "
                    f"({closes[0][0]}) are not drawn")  # fmt: skip
    return Chart(_svg(label, body), summary + ".")
