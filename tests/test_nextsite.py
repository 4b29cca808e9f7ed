"""Against a real Next.js 16 / React 19 app (tests/nextsite): pages written by React's own
serializer, every stored field compared with the app's ground truth (issue 12).

Run by ``nox -s nextsite``, which installs the app with npm (pinned, from its lock file),
builds it and sets NEXTSITE_APP; elsewhere these tests are deselected (``-m nextsite``).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from trio_enrich.cli import main

pytestmark = pytest.mark.nextsite

APP = Path(os.environ.get("NEXTSITE_APP", Path(__file__).parent / "nextsite"))
sys.path.insert(0, str(Path(__file__).parent / "nextsite"))
from make_data import AWKWARD_COMMENTS, NUMBER, make  # type: ignore[import-not-found]  # noqa: E402

TRUTH = make(seed=7, trades=150)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nextsite") / "data.json"
    path.write_text(json.dumps(TRUTH))
    return path


def _start(data_file: Path, variant: str) -> tuple[subprocess.Popen[bytes], str]:
    if not (APP / ".next" / "BUILD_ID").exists():
        pytest.fail(f"the Next.js test site is not built in {APP}: run python3 -m nox -s nextsite")
    port = _free_port()
    server = subprocess.Popen(
        ["node", str(APP / "node_modules/next/dist/bin/next"), "start", "-p", str(port),
         "-H", "127.0.0.1"],
        cwd=APP,
        env={**os.environ, "NEXTSITE_DATA": str(data_file), "NEXTSITE_VARIANT": variant,
             "NEXT_TELEMETRY_DISABLED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # readiness: the first page that answers
        try:
            with urllib.request.urlopen(f"{url}/trades", timeout=5) as answer:
                if answer.status == 200:
                    return server, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"next start did not answer on {url}")
        time.sleep(0.2)


@pytest.fixture(scope="module", params=["plain", "outline", "promise"])
def enriched(
    request: pytest.FixtureRequest, data_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A database made by sync --full, trades and issuers against one variant of the app."""
    variant = request.param
    server, url = _start(data_file, variant)
    db = tmp_path_factory.mktemp(variant) / "ct.db"
    site = ["--db", str(db), "--base-url", url, "--progress", "none", "--concurrency", "4",
            "--details-delay-ms", "0", "--retry-base-ms", "100"]  # fmt: skip
    page_size = {"plain": "12", "outline": "25", "promise": "100"}[variant]
    try:
        assert main(["sync", "--full", "--page-size", page_size, *site]) == 0
        assert main(["trades", *site]) == 0
        # Issuers with a NaN in their performance cannot be stored whole: they fail, loudly.
        assert main(["issuers", *site]) == 1
    finally:
        server.terminate()
        server.wait(timeout=20)
    return db


def _rows(db: Path, sql: str) -> dict[Any, tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        return {row[0]: row[1:] for row in connection.execute(sql)}
    finally:
        connection.close()


def _number(value: Any) -> Any:
    if isinstance(value, dict) and NUMBER in value:
        return {"-0": -0.0, "NaN": float("nan")}[value[NUMBER]]
    return value


def _expected_price(trade: dict[str, Any]) -> float | None:
    listed = trade["listing"]["price"]
    if listed is None:
        detail: float | None = trade["detailPrice"]
        return detail
    # A live page shows the price rounded to the cent; the listing's exact price is kept.
    return float(listed)


def test_every_trade_field_equals_the_truth(enriched: Path) -> None:
    stored = _rows(
        enriched,
        "SELECT t.tx_id, t.politician_id, t.issuer_id, t.pub_date, t.filing_date, t.tx_date,"
        " t.tx_type, t.tx_type_extended, t.owner, t.chamber, t.price, t.value, t.reporting_gap,"
        " t.comment, a.asset_type, a.asset_ticker, t.filing_url, t.filing_id, t.size,"
        " t.size_range_low, t.size_range_high, t.has_capital_gains,"
        " t.tx_id IN (SELECT tx_id FROM trio_enrich_capital_gains_shown),"
        " t.enriched_at IS NOT NULL FROM trades t JOIN assets a USING (asset_id)",
    )
    assert len(stored) == len(TRUTH["trades"])
    issuers = {issuer["_issuerId"]: issuer for issuer in TRUTH["issuers"]}
    mismatched = []
    for trade in TRUTH["trades"]:
        listing = trade["listing"]
        is_object = trade["shape"] == "object"
        extended = listing["txTypeExtended"]
        expected = (
            listing["_politicianId"], listing["_issuerId"], listing["pubDate"],
            listing["pubDate"][:10], listing["txDate"], listing["txType"],
            None if extended is None else json.dumps(extended, sort_keys=True),
            listing["owner"], listing["chamber"], _expected_price(trade), listing["value"],
            listing["reportingGap"], listing["comment"],
            trade["assetType"].lower().replace(" ", "-"),
            issuers[listing["_issuerId"]]["issuerTicker"] if is_object else None,
            trade["filingUrl"], trade["filingId"] or 0,
            trade["size"] if is_object else None,
            trade["sizeRangeLow"], trade["sizeRangeHigh"],
            int(trade["hasCapitalGains"]) if is_object else 0, int(is_object), 1,
        )  # fmt: skip
        if stored[listing["_txId"]] != expected:
            mismatched.append((listing["_txId"], stored[listing["_txId"]], expected))
    assert mismatched == [], mismatched[:2]
    comments = {row[12] for row in stored.values()}
    assert {c for c in AWKWARD_COMMENTS if c is not None} <= comments  # every awkward one


def test_committees_and_labels_of_object_pages_equal_the_truth(enriched: Path) -> None:
    connection = sqlite3.connect(enriched)
    committees = set(connection.execute("SELECT tx_id, committee FROM trade_committees"))
    labels = set(connection.execute("SELECT tx_id, label FROM trade_labels"))
    connection.close()
    objects = [t for t in TRUTH["trades"] if t["shape"] == "object"]
    assert committees == {(t["listing"]["_txId"], c) for t in objects for c in t["committees"]}
    assert labels == {(t["listing"]["_txId"], label) for t in objects for label in t["labels"]}


def test_every_politician_field_equals_the_truth(enriched: Path) -> None:
    stored = _rows(
        enriched,
        "SELECT politician_id, state_id, chamber, dob, first_name, gender, last_name, nickname,"
        " party FROM politicians",
    )
    used = {t["listing"]["_politicianId"] for t in TRUTH["trades"]}
    expected = {
        p["id"]: (p["_stateId"], p["chamber"], p["dob"], p["firstName"], p["gender"],
                  p["lastName"], p.get("nickname"), p["party"])
        for p in TRUTH["politicians"] if p["id"] in used
    }  # fmt: skip
    assert stored == expected


def test_every_issuer_field_performance_and_price_equals_the_truth(enriched: Path) -> None:
    issuers = _rows(
        enriched,
        "SELECT issuer_id, state_id, c2iq, country, issuer_name, issuer_ticker, sector,"
        " enriched_at IS NOT NULL FROM issuers",
    )
    stats = _rows(enriched, "SELECT * FROM issuer_stats")
    performance = _rows(enriched, "SELECT * FROM issuer_performance")
    partial = _rows(enriched, "SELECT * FROM trio_enrich_partial_performance")
    connection = sqlite3.connect(enriched)
    prices: dict[int, list[tuple[str, float]]] = {}
    for issuer_id, day, price in connection.execute(
        "SELECT issuer_id, price_date, price FROM issuer_eod_prices ORDER BY price_date DESC"
    ):
        prices.setdefault(issuer_id, []).append((day, price))
    failures = dict(
        connection.execute(
            "SELECT item_id, message FROM trio_enrich_failures WHERE entity = 'issuer'"
        ).fetchall()
    )
    connection.close()
    keys = ("trailing1", "trailing1Change", "trailing7", "trailing7Change", "trailing30",
            "trailing30Change", "trailing90", "trailing90Change", "trailing365",
            "trailing365Change", "wtd", "wtdChange", "mtd", "mtdChange", "qtd", "qtdChange",
            "ytd", "ytdChange")  # fmt: skip
    traded = {t["listing"]["_issuerId"] for t in TRUTH["trades"]}
    for issuer in TRUTH["issuers"]:
        issuer_id = issuer["_issuerId"]
        if issuer_id not in traded:
            assert issuer_id not in issuers
            continue
        truth = issuer["performance"]
        unreadable = truth is not None and any(
            isinstance(truth[key], dict) and truth[key][NUMBER] == "NaN" for key in keys
        )
        if unreadable:  # failed loudly, recorded, not marked enriched, nothing half-written
            assert issuers[issuer_id][-1] == 0
            assert "ytdChange" in failures[issuer_id]
            assert issuer_id not in performance
            continue
        assert issuers[issuer_id] == (
            issuer["_stateId"], issuer["c2iq"], issuer["country"], issuer["issuerName"],
            issuer["issuerTicker"], issuer["sector"], 1,
        )  # fmt: skip
        s = issuer["stats"]
        assert stats[issuer_id] == (
            s["countTrades"],
            s["countPoliticians"],
            s["volume"],
            s["dateLastTraded"],
        )
        if truth is None:
            assert issuer_id not in performance
            assert issuer_id not in partial
            assert issuer_id not in prices
            continue
        # A new listing's figures (trailing365 null) are in our table, with real NULLs.
        shown = partial if truth["trailing365"] is None else performance
        assert issuer_id not in (performance if shown is partial else partial)
        assert shown[issuer_id] == (truth["mcap"], *(_number(truth[k]) for k in keys))
        assert prices.get(issuer_id, []) == [tuple(pair) for pair in truth["eodPrices"]]
    new_listings = [
        i for i in TRUTH["issuers"] if (i["performance"] or {}).get("trailing365", 0) is None
    ]
    assert {i["_issuerId"] for i in new_listings if i["_issuerId"] in traded} == set(partial)


def test_the_app_sends_card_values_as_react_writes_jsx(data_file: Path) -> None:
    """Half the live pages carry `{low} - {high}` and `{gap} days` as lists of numbers and
    text (issue 19): the tests above read them through React's own serializer."""
    from trio_enrich.site.parse import flight_text

    trade = next(t for t in TRUTH["trades"]
                 if t["shape"] == "live" and t["listing"]["_txId"] % 2 == 0)  # fmt: skip
    server, url = _start(data_file, "plain")
    try:
        with urllib.request.urlopen(f"{url}/trades/{trade['listing']['_txId']}") as answer:
            text = flight_text(answer.read())
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert f'[{trade["sizeRangeLow"]}," - ",{trade["sizeRangeHigh"]}]' in text
    assert f'[{trade["listing"]["reportingGap"]}," days"]' in text


#: The tables a fetch fills, and the columns compared (enrichment times aside: a reparse
#: stamps the page's fetch time, a fetch the time it committed).
_REBUILT = {
    "trades": "SELECT * FROM trades",
    "assets": "SELECT * FROM assets",
    "issuers": "SELECT issuer_id, state_id, c2iq, country, issuer_name, issuer_ticker, sector,"
    " enriched_at IS NOT NULL FROM issuers",
    "politicians": "SELECT * FROM politicians",
    "trade_committees": "SELECT * FROM trade_committees",
    "trade_labels": "SELECT * FROM trade_labels",
    "issuer_stats": "SELECT * FROM issuer_stats",
    "politician_stats": "SELECT * FROM politician_stats",
    "issuer_performance": "SELECT * FROM issuer_performance",
    "partial": "SELECT * FROM trio_enrich_partial_performance",
    "prices": "SELECT * FROM issuer_eod_prices",
    "gains_shown": "SELECT * FROM trio_enrich_capital_gains_shown",
    "sources": "SELECT * FROM trio_enrich_sources",
}


def _content(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    connection = sqlite3.connect(db)
    try:
        content = {
            name: sorted(connection.execute(sql), key=repr) for name, sql in _REBUILT.items()
        }
    finally:
        connection.close()
    # enriched_at is the last column of trades: whether it is set is compared, not when
    content["trades"] = [(*row[:-1], row[-1] is not None) for row in content["trades"]]
    return content


def test_the_archive_alone_rebuilds_the_database_the_fetch_made(
    enriched: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pages the fetch kept, read again into an empty database with no site running,
    give the same database; a dry reparse of the fetched one finds nothing to change."""
    from trio_enrich import Store
    from trio_enrich.storage.archive import archive_path

    rebuilt = tmp_path / "rebuilt.db"
    Store.open(rebuilt).close()
    source = sqlite3.connect(archive_path(enriched))
    copy = sqlite3.connect(archive_path(rebuilt))
    source.backup(copy)
    source.close()
    copy.close()
    code = main(["reparse", "listing", "trades", "issuers", "--db", str(rebuilt),
                 "--progress", "none", "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)["reparse"]
    assert code == 1  # the issuers whose performance holds a NaN still fail, loudly
    assert [r["failed"] for r in report] == [0, 0, report[2]["failed"]]
    assert report[2]["failures"] == {"layout_changed": report[2]["failed"]} != {}
    assert _content(rebuilt) == _content(enriched)
    assert main(["reparse", "trades", "issuers", "--db", str(enriched), "--dry-run",
                 "--json", "--progress", "none"]) == 1  # fmt: skip
    again = json.loads(capsys.readouterr().out)["reparse"]
    assert [(r["newly_enriched"], r["changed"]) for r in again] == [(0, 0), (0, 0)]
    assert again[0]["unchanged"] == len(TRUTH["trades"])
