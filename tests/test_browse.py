"""`serve`: the copy in Datasette, every column described, facets, canned questions,
read-only, and what an update adds shown at the next load (in process, through Datasette's
own client; the real browser's checks are in test_webui.py)."""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
import trio

import trio_enrich
from trio_enrich import EnrichOptions
from trio_enrich.cli.reading import run_light
from trio_enrich.read import browse
from trio_enrich.sim import Faults, make_dataset, open_simulator

from .helpers import copy_made_by_update, sql_rows


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_made_by_update(tmp_path_factory.mktemp("browse") / "ct.db", 39, 120)


def _get(db: Path, *paths: str) -> list[Any]:
    """The JSON of each path, from one Datasette of the copy, in order."""

    async def fetch() -> list[Any]:
        site = browse.make_datasette(db, None)
        answers = []
        for path in paths:
            response = await site.client.get(path)
            answers.append((response.status_code, response.json()))
        return answers

    return asyncio.run(fetch())


def test_every_column_of_the_copy_is_described_in_the_served_metadata(copy: Path) -> None:
    ((status, served),) = _get(copy, "/-/metadata.json")
    assert status == 200
    tables = served["databases"]["ct"]["tables"]
    names = sql_rows(copy, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                       "AND name NOT LIKE 'sqlite_%' "
                       "AND name NOT LIKE 'trio_enrich_search_%'")  # fmt: skip
    for (name,) in names:
        columns = [row[1] for row in sql_rows(copy, f"PRAGMA table_info({name})")]
        described = tables[name]["columns"]
        assert list(described) == columns, name
        assert all(described[c] for c in columns), name
        assert tables[name]["description"], name
    assert served["source_url"] == "https://www.capitoltrades.com"


def test_a_facet_a_canned_question_and_a_write_refused(copy: Path) -> None:
    member = sql_rows(copy, "SELECT politician_id FROM trades GROUP BY 1 ORDER BY COUNT(*) DESC")[
        0
    ][0]
    (facet_status, faceted), (query_status, asked), (_, refused) = _get(
        copy,
        "/ct/trio_enrich_trades.json?_facet=party&_shape=objects",
        f"/ct/member_trades.json?member={quote(member)}&_shape=objects",
        "/ct.json?sql=" + quote("DELETE FROM trades"),
    )
    assert (facet_status, query_status) == (200, 200)
    counts = {item["value"]: item["count"] for item in faceted["facet_results"]["party"]["results"]}
    expected = dict(sql_rows(copy, "SELECT p.party, COUNT(*) FROM trades JOIN politicians p "
                               "USING (politician_id) GROUP BY 1"))  # fmt: skip
    assert counts == expected
    ids = [row["tx_id"] for row in asked["rows"]]
    assert ids == [r[0] for r in sql_rows(copy, "SELECT tx_id FROM trades WHERE politician_id = ? "
                                            "ORDER BY pub_date DESC", member)]  # fmt: skip
    assert refused["ok"] is False
    assert sql_rows(copy, "SELECT COUNT(*) FROM trades") == [(120,)]


def test_every_canned_question_runs_on_the_copy(copy: Path) -> None:
    paths = [f"/ct/{name}.json?member=a&committee=ssfi&ticker=x" for name in browse.QUERIES]
    for name, (status, answer) in zip(browse.QUERIES, _get(copy, *paths), strict=True):
        assert status == 200, (name, answer)
        assert answer.get("ok", True), (name, answer)


async def test_trades_an_update_adds_show_at_the_next_load(tmp_path: Path) -> None:
    dataset = make_dataset(seed=40, trades=24)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(latency_ms=1), seed=40) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        await trio_enrich.sync(db, options)
        site = browse.make_datasette(db, None)
        path = "/ct.json?sql=" + quote("SELECT COUNT(*) AS n FROM trades") + "&_shape=array"

        def count() -> int:
            async def get() -> int:
                return int((await site.client.get(path)).json()[0]["n"])

            return asyncio.run(get())

        before = await trio.to_thread.run_sync(count)
        dataset.publish(5)
        await trio_enrich.sync(db, options)
        after = await trio.to_thread.run_sync(count)
    assert (before, after) == (24, 29)


def test_serve_without_datasette_says_how_to_get_it(
    copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browse, "available", lambda: False)
    assert run_light(["serve", "--db", str(copy)]) == 2
    assert capsys.readouterr().err == (
        "trio-enrich: error: serve needs Datasette: pip install 'trio-enrich[browse]' (in the "
        "environment trio-enrich runs in)\n"
    )


def test_full_text_search_finds_trades_by_member_issuer_or_ticker(copy: Path) -> None:
    """The index holds every trade once a sync completes; a word of an issuer's name finds
    its trades, in any case."""
    assert sql_rows(copy, "SELECT COUNT(*) FROM trio_enrich_search") == sql_rows(
        copy, "SELECT COUNT(*) FROM trades"
    )
    word = sql_rows(copy, "SELECT substr(issuer_name, 1, instr(issuer_name, ' ') - 1) FROM issuers "
                      "ORDER BY issuer_id LIMIT 1")[0][0]  # fmt: skip
    ((status, found),) = _get(
        copy, f"/ct/trio_enrich_trades.json?_search={word.upper()}&_shape=objects&_size=max"
    )
    assert status == 200
    expected = {
        row[0]
        for row in sql_rows(
            copy,
            "SELECT t.tx_id FROM trades t JOIN issuers i USING (issuer_id) JOIN politicians p "
            "USING (politician_id) WHERE ' ' || lower(i.issuer_name) || ' ' LIKE ? OR "
            "' ' || lower(p.first_name || ' ' || p.last_name) || ' ' LIKE ?",
            f"% {word.lower()} %",
            f"% {word.lower()} %",
        )
    }
    assert expected
    assert {row["tx_id"] for row in found["rows"]} == expected


def test_a_trade_links_to_its_archived_page_shown_as_text_that_never_runs(copy: Path) -> None:
    tx_id = sql_rows(copy, "SELECT MIN(tx_id) FROM trades")[0][0]

    async def fetch() -> list[Any]:
        site = browse.make_datasette(copy, None)
        table = await site.client.get("/ct/trio_enrich_trades?_size=5")
        page = await site.client.get(f"/-/archived/trades/{tx_id}")
        missing = await site.client.get("/-/archived/trades/1")
        return [table, page, missing]

    table, page, missing = asyncio.run(fetch())
    assert table.status_code == 200
    assert 'href="/-/archived/trades/' in table.text
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "&lt;script" in page.text  # the archived page's scripts, as text
    assert "<script" not in page.text.lower()
    assert f"https://www.capitoltrades.com/trades/{tx_id}" in page.text
    assert missing.status_code == 404
    assert "No archived page of trade 1" in missing.text


def _pages(db: Path, *paths: str) -> list[tuple[int, str]]:
    """The status and HTML of each path, from one Datasette of the copy, in order."""

    async def fetch() -> list[tuple[int, str]]:
        site = browse.make_datasette(db, None)
        return [((r := await site.client.get(path)).status_code, r.text) for path in paths]

    return asyncio.run(fetch())


def _drawn(page: str, key: str) -> dict[str, int]:
    """The marks of a page's chart: the sum of their counts (or their number) by `key`."""
    svg = re.search(r"<svg [^>]*class=\"chart\".*?</svg>", page, re.S)
    assert svg is not None, page
    totals: dict[str, int] = {}
    for mark in ElementTree.fromstring(svg.group(0)).iter():
        if mark.get("class") == "mark":
            name = mark.get(key, "")
            totals[name] = totals.get(name, 0) + int(mark.get("data-count", "1"))
    return totals


def test_the_charts_draw_what_the_copy_holds(copy: Path) -> None:
    member, name = sql_rows(copy, "SELECT politician_id, name FROM trio_enrich_politicians "
                              "ORDER BY trades DESC LIMIT 1")[0]  # fmt: skip
    issuer, ticker = sql_rows(copy, "SELECT issuer_id, ticker FROM trio_enrich_issuers WHERE "
                                "issuer_id IN (SELECT issuer_id FROM issuer_eod_prices) AND "
                                "ticker IS NOT NULL ORDER BY trades DESC LIMIT 1")[0]  # fmt: skip
    (home_status, home), (party_status, by_party), (_, by_member), (_, by_ticker) = _pages(
        copy, "/", "/-/charts", f"/-/charts/member?member={quote(member)}",
        f"/-/charts/ticker?ticker={quote(ticker.split(':')[0])}",
    )  # fmt: skip
    assert (home_status, party_status) == (200, 200)
    assert 'href="/-/charts"' in home  # the menu's link
    per_party = sql_rows(
        copy,
        "SELECT p.party, COUNT(*) FROM trades JOIN politicians p USING (politician_id) GROUP BY 1",
    )
    assert _drawn(by_party, "data-series") == dict(per_party)
    per_type = sql_rows(
        copy, "SELECT tx_type, COUNT(*) FROM trades WHERE politician_id = ? GROUP BY 1", member
    )
    assert _drawn(by_member, "data-series") == dict(per_type)
    assert html.escape(name, quote=True) in by_member
    closes, first = sql_rows(copy, "SELECT COUNT(*), MIN(price_date) FROM issuer_eod_prices "
                               "WHERE issuer_id = ?", issuer)[0]  # fmt: skip
    assert f"{closes:,} stored closes" in by_ticker
    since_first = sql_rows(copy, "SELECT COUNT(*) FROM trades WHERE issuer_id = ? AND tx_date >= ?",
                       issuer, first)[0][0]  # fmt: skip
    assert sum(_drawn(by_ticker, "data-tx-type").values()) == since_first


def test_a_chart_asked_of_nothing_or_of_many_says_what_to_do(copy: Path) -> None:
    (_, empty), (_, unknown), (_, many), (_, no_ticker) = _pages(
        copy, "/-/charts/member", "/-/charts/member?member=zzzqqq",
        "/-/charts/member?member=e", "/-/charts/ticker?ticker=ZZZQQ",
    )  # fmt: skip
    assert 'name="member"' in empty
    assert 'class="chart"' not in empty
    assert "No member&#39;s id or name matches &#39;zzzqqq&#39;." in unknown
    found = sql_rows(copy, "SELECT COUNT(*) FROM trio_enrich_politicians WHERE name LIKE '%e%'")
    assert f"{min(found[0][0], 20)} members match" in many
    assert many.count('href="/-/charts/member?member=') == min(found[0][0], 20)
    assert "No issuer has the ticker &#39;ZZZQQ&#39;." in no_ticker


def test_a_refused_request_is_answered_without_a_traceback_in_the_terminal(
    copy: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (refused, refused_page, missing) = _pages(
        copy, "/ct.json?sql=" + quote("DELETE FROM trades"), "/ct?sql=" + quote("DROP TABLE x"),
        "/ct/no_such_table",
    )  # fmt: skip
    assert refused[0] == 400
    assert '"error": "Statement must be a SELECT"' in refused[1]
    assert refused_page[0] == 400
    assert "Statement must be a SELECT" in refused_page[1]
    assert "<title>" in refused_page[1]  # Datasette's own error page
    assert missing[0] == 404
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err


def test_a_server_error_is_answered_500_and_its_traceback_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A chart of a copy without the views (one an older trio-enrich wrote last: `serve`
    warns of it) fails on the server: a 500 page, and the traceback for whoever serves."""
    db = tmp_path / "ct.db"
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE trades (tx_id INTEGER PRIMARY KEY)")
    connection.close()
    ((status, page),) = _pages(db, "/-/charts")
    assert status == 500
    assert "no such table: trio_enrich_trades" in page
    printed = capfd.readouterr()
    assert "Traceback" in printed.err
    assert "no such table: trio_enrich_trades" in printed.err
