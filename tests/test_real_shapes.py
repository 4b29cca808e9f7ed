"""Shapes of the real site that no model of ours had (issue 19): an issuer listed less than a
year ago, card values that are numbers or lists of parts, a price window of 20 days that moves,
an empty table where the site says there are rows, and the counters of combined runs."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from trio_enrich import (
    Issuer,
    IssuerDetail,
    IssuerPerformance,
    IssuerStats,
    PageFailure,
    PoliticianPage,
    Store,
    TradeDetail,
    parse_issuer_detail,
    parse_politicians_page,
    parse_trade_detail,
    parse_trades_page,
)
from trio_enrich._model import PERFORMANCE_FIELDS
from trio_enrich.core.stats import FinishReason, RunStats, Tally
from trio_enrich.sim import make_dataset, open_simulator

from .helpers import assert_issuers_match_truth, cli, database_with_listing, query
from .pages import (
    NEW_LISTING_FIGURES,
    PRICES,
    fixture_bytes,
    issuer_page,
    live_trade_page,
    new_listing_performance,
    page,
    readme_sql,
)

# --- an issuer listed less than a year ago ---------------------------------------------------


def test_an_issuer_listed_less_than_a_year_ago_is_read_with_every_figure_it_shows() -> None:
    detail = parse_issuer_detail(issuer_page(2334790, new_listing_performance()), 2334790)
    assert isinstance(detail, IssuerDetail), detail
    assert detail.issuer.issuer_ticker is None
    assert detail.stats == IssuerStats(4, 2, 120500, "2026-05-12")
    performance = detail.performance
    assert performance is not None
    assert performance.mcap == 5_213_000_000
    assert performance.as_dict() == NEW_LISTING_FIGURES
    assert not performance.complete
    assert performance.eod_prices == tuple((day, price) for day, price in PRICES)


@pytest.mark.parametrize("key", ["mcap", "trailing365", "ytdChange"])
def test_a_figure_that_is_missing_is_not_shown_and_one_that_is_garbage_fails_naming_it(
    key: str,
) -> None:
    missing = new_listing_performance()
    del missing[key]  # no key at all reads like null
    detail = parse_issuer_detail(issuer_page(7, missing), 7)
    assert isinstance(detail, IssuerDetail), detail
    assert detail.performance is not None
    assert not detail.performance.complete
    garbage = new_listing_performance()
    garbage[key] = "12.5%"
    failure = parse_issuer_detail(issuer_page(7, garbage), 7)
    assert isinstance(failure, PageFailure)
    assert key in failure.reason


def test_a_performance_of_nothing_but_nulls_is_no_performance() -> None:
    empty: dict[str, Any] = {"mcap": None, **dict.fromkeys(PERFORMANCE_FIELDS), "eodPrices": []}
    detail = parse_issuer_detail(issuer_page(8, empty), 8)
    assert isinstance(detail, IssuerDetail)
    assert detail.performance is None  # it keeps what is stored, as a page without one


def _detail(issuer_id: int, performance: IssuerPerformance | None) -> IssuerDetail:
    return IssuerDetail(
        issuer=Issuer(issuer_id=issuer_id, state_id=None, c2iq=None, country="us",
                      issuer_name=f"Issuer {issuer_id}", issuer_ticker=None, sector=None),
        stats=IssuerStats(1, 1, 8000, "2026-05-12"), performance=performance,
    )  # fmt: skip


def _partial() -> IssuerPerformance:
    detail = parse_issuer_detail(issuer_page(1, new_listing_performance()), 1)
    assert isinstance(detail, IssuerDetail)
    assert detail.performance is not None
    return detail.performance


def _complete() -> IssuerPerformance:
    numbers = tuple(1.0 if n is None else n for n in _partial().numbers)
    return dataclasses.replace(_partial(), numbers=numbers)


def test_partial_figures_live_beside_the_inherited_table_and_the_readme_query_reads_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ct.db"
    with Store.open(path) as store:
        store.write_issuer_batch([_detail(1, _partial()), _detail(2, _complete())])
        store.write_issuer_batch([_detail(3, None)])
        status = store.status()
    db = sqlite3.connect(path)
    # The inherited table (NOT NULL) holds only whole performances; ours the partial ones.
    assert [row[0] for row in db.execute("SELECT issuer_id FROM issuer_performance")] == [2]
    partial = db.execute("SELECT * FROM trio_enrich_partial_performance").fetchall()
    assert [row[:2] for row in partial] == [(1, 5_213_000_000)]
    query = readme_sql("trio_enrich_partial_performance")
    rows = {row[0]: row for row in db.execute(query)}
    db.close()
    assert set(rows) == {1, 2, 3}  # one row per issuer
    columns = ("issuer_id", "mcap", *PERFORMANCE_FIELDS)
    assert dict(zip(columns, rows[1], strict=True)) == {
        "issuer_id": 1, "mcap": 5_213_000_000, **NEW_LISTING_FIGURES,
    }  # fmt: skip
    assert rows[2][1:] == (_complete().mcap, *_complete().numbers)
    assert rows[3][1:] == (None,) * 19  # no performance at all
    issuers = status["issuers"]
    assert isinstance(issuers, dict)
    assert issuers["performance_partly_not_shown"] == 1


def test_an_issuer_moves_between_the_tables_with_its_latest_page(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ct.db") as store:
        store.write_issuer_batch([_detail(1, _partial())])
        store.write_issuer_batch([_detail(1, _complete())])  # a year after its listing
        assert query(store, "SELECT COUNT(*) FROM trio_enrich_partial_performance") == [(0,)]
        assert query(store, "SELECT trailing365 FROM issuer_performance") == [(1.0,)]
        store.write_issuer_batch([_detail(1, _partial())])  # the site leaves a figure out
        assert query(store, "SELECT COUNT(*) FROM issuer_performance") == [(0,)]
        assert query(store, "SELECT trailing365, ytd FROM trio_enrich_partial_performance") == [
            (None, 30.2)
        ]


def test_a_refresh_keeps_the_price_dates_the_page_no_longer_shows(tmp_path: Path) -> None:
    history = [(f"2026-05-{day:02d}", 100.0 + day) for day in range(31, 6, -1)]  # 25 days
    with Store.open(tmp_path / "ct.db") as store:
        for moved in range(5, -1, -1):  # six nights, the 20-day window one day later each
            window = tuple(history[moved : moved + 20])
            shown = IssuerPerformance(mcap=10**9, numbers=(1.5,) * 18, eod_prices=window)
            store.write_issuer_batch([_detail(1, shown)])
        stored = query(
            store, "SELECT price_date, price FROM issuer_eod_prices ORDER BY price_date DESC"
        )
    assert stored == history  # the union of the windows: 25 dates, none lost


def test_status_counts_the_issuers_whose_performance_is_partly_not_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=3, trades=30)
    path = database_with_listing(tmp_path / "ct.db", dataset)
    issuer_id = dataset.trades[0].listing.issuer.issuer_id
    with Store.open(path) as store:
        store.write_issuer_batch([dataclasses.replace(_detail(issuer_id, _partial()))])
    assert cli_status(path) == 0
    assert "performance partly not shown: 1" in capsys.readouterr().out
    assert cli_status(path, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["issuers"]["performance_partly_not_shown"] == 1


def cli_status(path: Path, *flags: str) -> int:
    from trio_enrich.cli import main

    return main(["status", "--db", str(path), *flags])


# --- card values that are not strings ---------------------------------------------------------


def test_numbers_and_lists_of_parts_in_cards_are_read_as_the_page_shows_them() -> None:
    detail = parse_trade_detail(
        live_trade_page({
            "Asset Type": "Stock",
            "Price": ["$", 348.43],
            "Shares": [44, " - ", 144],  # JSX {low} - {high}
            "Reporting Gap": [21, " days"],  # JSX {gap} days
            "Owner": ["$", "span", None, {"children": "Spouse"}],
        }),
        20003802803,
    )  # fmt: skip
    assert detail == TradeDetail(
        tx_id=20003802803, asset_type="stock",
        filing_url="https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2026/20035480.pdf",
        filing_id=20035480, price=348.43, price_decimals=2, size_range_low=44,
        size_range_high=144, reporting_gap=21,
    )  # fmt: skip
    single = parse_trade_detail(live_trade_page({"Asset Type": "ETF", "Shares": 1200}), 20003802803)
    assert isinstance(single, TradeDetail)
    assert (single.size_range_low, single.size_range_high) == (1200, 1200)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Shares", {"low": 44, "high": 144}),  # an object React would not render
        ("Reporting Gap", ["$", "$L30", None, {}]),  # a component: its text is not in the data
        ("Reporting Gap", "21 weeks"),
        ("Shares", [44, " to ", 144]),
        ("Price", "about $3"),
        ("Price", "$NaN"),
    ],
)
def test_a_card_value_that_cannot_be_read_fails_naming_the_field(label: str, value: Any) -> None:
    result = parse_trade_detail(live_trade_page({"Asset Type": "Stock", label: value}), 20003802803)
    assert isinstance(result, PageFailure), result
    assert repr(label) in result.reason


def test_not_shown_values_are_null_not_failures() -> None:
    detail = parse_trade_detail(
        live_trade_page({"Asset Type": "Other Securities", "Price": "N/A", "Shares": "N/A",
                         "Reporting Gap": "-"}),
        20003802803,
    )  # fmt: skip
    assert isinstance(detail, TradeDetail), detail
    assert (detail.price, detail.size_range_low, detail.reporting_gap) == (None, None, None)


def _card_page(count_trades: Any, total: int = 1) -> str:
    cell = [
        "$",
        "div",
        None,
        {
            "className": "q-cell cell--count-trades flavour--lv",
            "children": [
                " ",
                [
                    ["$", "div", None, {"className": "q-label", "children": "Trades"}],
                    [
                        "$",
                        "div",
                        None,
                        {"className": "q-value leading-snug", "children": count_trades},
                    ],
                ],
            ],
        },
    ]
    name = [
        "$",
        "div",
        None,
        {
            "className": "q-cell cell--name",
            "children": [" ", ["$", "h2", None, {"children": "Sheldon Whitehouse"}]],
        },
    ]
    card = [
        "$",
        "$L12",
        None,
        {
            "href": "/politicians/W000802",
            "children": ["$", "article", None, {"children": [name, cell]}],
        },
    ]
    grid = [
        "$",
        "div",
        None,
        {"className": "q-widget q-card-grid politician-card-grid", "children": [card]},
    ]
    pagination = ["$", "$L1d", None, {"totalCount": total, "searchParams": {}}]
    section = ["$", "section", None, {"children": [grid, pagination]}]
    return page('12:I[1,[],""]\n1d:I[2,[],""]\n', "0:" + json.dumps(section) + "\n")


def test_politician_cards_read_counts_sent_as_numbers_and_fail_on_garbage() -> None:
    for shown in (43, "43", [43], "1,043"):
        result = parse_politicians_page(_card_page(shown))
        assert isinstance(result, PoliticianPage), (shown, result)
        assert result.politicians[0].count_trades == (1043 if shown == "1,043" else 43)
    for garbage in ("forty-three", {"n": 43}):
        failure = parse_politicians_page(_card_page(garbage))
        assert isinstance(failure, PageFailure), garbage
        assert "W000802" in failure.reason


def test_the_real_politicians_capture_still_reads_every_card() -> None:
    result = parse_politicians_page(
        fixture_bytes("real/politicians_committee_ssfi_2026-02-08.html")
    )
    assert isinstance(result, PoliticianPage)
    assert result.total_count == 5
    assert [
        (c.politician_id, c.count_trades, c.count_issuers, c.volume, c.date_last_traded)
        for c in result.politicians
    ] == [
        ("W000802", 73, 44, "1.23M", "2024-12-19"),
        ("C000174", 289, 126, "6.91M", "2024-12-13"),
        ("W000805", 60, 40, "29.58M", "2024-10-08"),
        ("W000779", 1, 1, "175K", "2024-03-27"),
        ("B001267", 1, 1, "33K", "2023-04-26"),
    ]


# --- an empty table is not "nothing new" -------------------------------------------------------


def _listing(search: dict[str, str], total: int, pages: int) -> str:
    table = ["$", "$L1e", None, {"data": [], "columnVisibility": "$undefined"}]
    pagination = ["$", "$L1f", None, {"className": "mt-6", "searchParams": search,
                                      "totalCount": total, "totalPages": pages}]  # fmt: skip
    return page("0:" + json.dumps(["$", "div", None, {"children": [table, pagination]}]) + "\n")


def test_an_empty_table_where_the_total_implies_rows_is_a_failure_that_says_what_it_saw() -> None:
    for result in (
        parse_trades_page(_listing({}, 30, 3)),  # page 1 by its own searchParams
        parse_trades_page(_listing({"page": "2"}, 30, 3)),
        parse_trades_page(_listing({}, 30, 3), page_number=3, page_size=12),
    ):
        assert isinstance(result, PageFailure), result
        assert "empty table" in result.reason
        assert "totalCount is 30" in result.reason
    past_the_end = parse_trades_page(_listing({"page": "4"}, 30, 3))
    assert not isinstance(past_the_end, PageFailure)
    assert past_the_end.trades == ()
    nothing_at_all = parse_trades_page(_listing({}, 0, 0))
    assert not isinstance(nothing_at_all, PageFailure)


def _no_cards(total: int, grid_class: str) -> str:
    grid = ["$", "div", None, {"className": grid_class, "children": []}]
    pagination = ["$", "$L1d", None, {"totalCount": total, "searchParams": {}}]
    section = ["$", "section", None, {"children": [grid, pagination]}]
    return page('1d:I[2,[],""]\n', "0:" + json.dumps(section) + "\n")


def test_a_page_without_cards_is_an_empty_politicians_listing_only_when_it_is_one() -> None:
    # A trades page has a totalCount but no politicians listing on it.
    assert isinstance(
        parse_politicians_page(fixture_bytes("real/trades_page1_2026-02-25.html")), PageFailure
    )
    assert isinstance(parse_politicians_page(_no_cards(0, "some-grid")), PageFailure)
    empty = parse_politicians_page(_no_cards(0, "q-widget q-card-grid politician-card-grid"))
    assert isinstance(empty, PoliticianPage)  # a committee that no longer sits
    assert empty.politicians == ()
    members = parse_politicians_page(_no_cards(5, "q-widget q-card-grid politician-card-grid"))
    assert isinstance(members, PageFailure)
    assert "totalCount is 5" in members.reason


async def test_sync_fails_on_an_empty_table_and_the_cutoff_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=19, trades=30)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=19) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--retry-max", "0"]  # fmt: skip
        assert await cli("sync", *site) == 0
        with sqlite3.connect(db) as connection:
            cutoff = connection.execute(
                "SELECT value FROM ingest_meta WHERE key = 'last_trade_pub_date'"
            ).fetchone()
        capsys.readouterr()
        sim.inject("empty-table", 1)  # page 1: no rows, "totalCount": 30
        assert await cli("sync", *site) == 1
    # One logical line (wrapped at 80 columns on the way out) says what was seen.
    said = " ".join(capsys.readouterr().out.split())
    assert (
        "last failure: GET /trades?page=1: an empty table on page 1 of a listing whose "
        "totalCount is 30"
    ) in said
    with sqlite3.connect(db) as connection:
        assert (
            connection.execute(
                "SELECT value FROM ingest_meta WHERE key = 'last_trade_pub_date'"
            ).fetchone()
            == cutoff
        )


# --- counters of combined runs ----------------------------------------------------------------


def test_combine_adds_every_counter_and_keeps_the_later_state() -> None:
    names = [f.name for f in dataclasses.fields(RunStats)]
    counters = [n for n in names if n not in RunStats.STATE_FIELDS and n != "failed"]
    # every counter a different value in each run
    numbers = {name: names.index(name) + 1 for name in counters}
    first = RunStats(failed={"timeout": 1, "blocked": 2}, started=1.0, **numbers)  # type: ignore[arg-type]
    later = RunStats(failed={"timeout": 10}, started=5.0, finish_reason=FinishReason.BREAKER,
                     **{name: 100 * number for name, number in numbers.items()})  # type: ignore[arg-type]  # fmt: skip
    both = first.followed_by(later)
    for name, number in numbers.items():
        assert getattr(both, name) == 101 * number, name
    assert both.failed == {"timeout": 11, "blocked": 2}
    assert both.rate_limited == 101 * (names.index("rate_limited") + 1)  # issue 19's one
    assert both.started == 1.0
    assert both.finish_reason is FinishReason.BREAKER
    assert (first.done, later.done) == (numbers["done"], 100 * numbers["done"])  # both unchanged


def test_a_snapshot_does_not_change_when_the_run_goes_on() -> None:
    tally = Tally(selected=3)
    tally.failed("timeout", "GET /trades/1: timed out")
    before = tally.snapshot()
    tally.failed("timeout", "GET /trades/2: timed out")
    tally.succeeded()
    tally.sent()
    assert (before.failed, before.done, before.requests) == ({"timeout": 1}, 0, 0)
    after = tally.snapshot()
    assert (after.failed, after.done, after.requests) == ({"timeout": 2}, 1, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.done = 5  # type: ignore[misc]


# --- end to end: the cron life of issuers of both kinds ----------------------------------------


async def test_update_after_five_new_trading_days_keeps_every_figure_and_every_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=192, trades=240)
    partial = dataset.partial_issuers()
    assert len(partial) >= 3  # new listings, some without a ticker
    assert any(issuer.listing.issuer_ticker is None for issuer in partial)
    long_history = [
        i for i in dataset.issuers.values() if i.performance and len(i.performance.eod_prices) >= 25
    ]
    assert long_history
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=192) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--concurrency", "6", "--json",
                "--refresh-older-than", "0s"]  # fmt: skip
        assert await cli("update", *site) == 0
        for day in range(1, 6):
            assert dataset.reprice() > 0
            capsys.readouterr()
            assert await cli("update", *site) == 0, day
            summary = json.loads(capsys.readouterr().out)
            issuers = next(s for s in summary["stages"] if s["job"] == "issuers")
            assert issuers["enriched"] == len(dataset.issuers)
    # Every issuer enriched, every figure its page shows stored (partial ones with NULLs), and
    # the union of the six 20-day windows it was shown: 25 dates where the history has them.
    assert_issuers_match_truth(db, dataset, windows=6)
    with sqlite3.connect(db) as connection:
        counts = dict(
            connection.execute(
                "SELECT issuer_id, COUNT(*) FROM issuer_eod_prices GROUP BY issuer_id"
            ).fetchall()
        )
        nulls = connection.execute(
            "SELECT COUNT(*) FROM trio_enrich_partial_performance WHERE trailing365 IS NULL"
        ).fetchone()[0]
    assert {counts[i.listing.issuer_id] for i in long_history} == {25}
    assert nulls == len(partial)
