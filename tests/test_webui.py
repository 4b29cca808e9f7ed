"""`serve` in a real browser: Debian's chromium, headless, driven by Selenium through Debian's
chromedriver, against `python -m trio_enrich serve` on a copy made by `update` against the
simulator. Each test looks at what a person sees (the page's text, the chart's marks, the
facet's count), checks the browser's console is free of errors, and saves a screenshot
(in $TRIO_ENRICH_SCREENSHOTS, else build/screenshots; the README shows three).

Run by `nox -s webui`; `.ci/run` installs chromium and chromium-driver first. Without them the
tests are skipped, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from .helpers import copy_made_by_update, sql_rows

pytestmark = pytest.mark.webui

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("TRIO_ENRICH_SCREENSHOTS") or ROOT / "build" / "screenshots")


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        words = "chromium and chromium-driver are needed (apt-get install -y chromium " \
                "chromium-driver)"  # fmt: skip
        if os.environ.get("CI"):
            pytest.fail(words)
        pytest.skip(words)
    return chromium, driver


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_made_by_update(tmp_path_factory.mktemp("webui") / "ct.db", 41, 1500)


@pytest.fixture(scope="module")
def site(copy: Path) -> Iterator[str]:
    """The address of `serve` running on the copy, in its own process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "trio_enrich", "serve", "--db", str(copy), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "serve exited"
            try:
                httpx.get(f"{base}/-/versions.json", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer in 30 s"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
        # A page that failed on the server would have printed its traceback here.
        assert b"Traceback" not in errors, errors.decode(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def _busiest_member(copy: Path) -> tuple[str, str]:
    """The id and name of the member with the most trades."""
    query = "SELECT politician_id, name FROM trio_enrich_politicians ORDER BY trades DESC LIMIT 1"
    member, name = sql_rows(copy, query)[0]
    return str(member), str(name)


def _look(browser: Any, name: str) -> None:
    """Save what the browser shows, and fail on any error its console logged."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors


def _by_css(browser: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.find_elements(By.CSS_SELECTOR, selector))


def test_the_home_page_says_what_the_copy_is_and_leads_to_the_trades(
    site: str, browser: Any
) -> None:
    browser.get(site + "/")
    assert browser.title.startswith("Capitol Trades, a local copy")
    body = _by_css(browser, "body")[0].text
    assert "kept complete by trio-enrich" in body
    assert "Last complete sync:" in body
    menu = {a.get_attribute("href") for a in _by_css(browser, ".nav-menu a")}
    assert f"{site}/-/charts" in menu
    _look(browser, "home")
    next(a for a in _by_css(browser, "h2 a") if a.text == "ct").click()
    body = _by_css(browser, "body")[0].text
    assert "Latest trades" in body  # the canned questions, by their titles
    links = {a.get_attribute("href") for a in _by_css(browser, "a")}
    assert f"{site}/ct/trio_enrich_trades" in links
    assert f"{site}/ct/member_trades" in links
    _look(browser, "database")


def test_the_trades_with_a_facet_applied_count_as_the_copy_does(
    site: str, browser: Any, copy: Path
) -> None:
    browser.get(site + "/ct/trio_enrich_trades")
    facet = _by_css(browser, '[data-column="party"] li a')
    democrat = next(a for a in facet if a.text.startswith("democrat"))
    democrat.click()
    assert "party=democrat" in browser.current_url
    expected = sql_rows(copy, "SELECT COUNT(*) FROM trades JOIN politicians USING (politician_id) "
                          "WHERE party = 'democrat'")[0][0]  # fmt: skip
    heading = _by_css(browser, "h3")[0].text
    assert heading.startswith(f'{expected:,} rows where party = "democrat"'), heading
    cells = {td.text for td in _by_css(browser, "td.col-party")}
    assert cells == {"democrat"}
    # Every column's description is folded under one line, and is its header's tooltip.
    fold = _by_css(browser, "details.column-descriptions-fold")[0]
    assert fold.get_attribute("open") is None
    assert fold.text.startswith("What each column means (38)")
    header = _by_css(browser, 'th[data-column="bracket"]')[0]
    assert header.get_attribute("title").startswith("the disclosed range")
    _look(browser, "trades-facet")
    table = _by_css(browser, "table.rows-and-columns")[0]
    browser.execute_script("arguments[0].scrollIntoView()", table)
    _look(browser, "trades-rows")


def test_a_canned_question_with_a_parameter_answers_what_the_form_asked(
    site: str, browser: Any, copy: Path
) -> None:
    member, name = _busiest_member(copy)
    browser.get(site + "/ct/member_trades")
    field = _by_css(browser, 'input[name="member"]')[0]
    field.clear()
    field.send_keys(member)
    field.submit()
    expected = sql_rows(copy, "SELECT COUNT(*) FROM trades WHERE politician_id = ?", member)[0][0]
    rows = _by_css(browser, "table.rows-and-columns tbody tr")
    assert len(rows) == min(expected, 1000)
    assert {td.text for td in _by_css(browser, "td.col-politician")} == {name}
    _look(browser, "canned-member")


def test_each_chart_is_drawn_with_its_marks(site: str, browser: Any, copy: Path) -> None:
    browser.get(site + "/-/charts")
    groups = sql_rows(copy, "SELECT COUNT(*) FROM (SELECT 1 FROM trades JOIN politicians USING "
                        "(politician_id) GROUP BY substr(tx_date, 1, 7), party)")[0][0]  # fmt: skip
    marks = _by_css(browser, "svg.chart .mark")
    assert len(marks) == groups
    assert all(m.size["height"] > 0 for m in marks[:20])  # drawn, not just present
    _look(browser, "chart-party")

    member, name = _busiest_member(copy)
    browser.get(site + "/-/charts/member")
    field = _by_css(browser, "#chart-field")[0]
    field.send_keys(member)
    field.submit()
    counted = sum(int(m.get_attribute("data-count")) for m in _by_css(browser, "svg.chart .mark"))
    assert counted == sql_rows(copy, "SELECT COUNT(*) FROM trades WHERE politician_id = ?",
                           member)[0][0]  # fmt: skip
    assert name in _by_css(browser, ".chart-message")[0].text
    _look(browser, "chart-member")

    issuer, ticker = sql_rows(copy, "SELECT issuer_id, ticker FROM trio_enrich_issuers WHERE "
                                "issuer_id IN (SELECT issuer_id FROM issuer_eod_prices) AND "
                                "ticker IS NOT NULL ORDER BY trades DESC LIMIT 1")[0]  # fmt: skip
    browser.get(f"{site}/-/charts/ticker?ticker={quote(ticker.split(':')[0])}")
    since_first_close = (
        "SELECT COUNT(*) FROM trades WHERE issuer_id = ? AND tx_date >= (SELECT "
        "MIN(price_date) FROM issuer_eod_prices WHERE issuer_id = ?)"
    )
    trades = sql_rows(copy, since_first_close, issuer, issuer)[0][0]
    assert trades > 0
    assert len(_by_css(browser, "svg.chart circle.mark")) == trades
    assert len(_by_css(browser, "svg.chart polyline.closes")) == 1
    _look(browser, "chart-ticker")


def test_an_archived_page_is_shown_as_text_and_nothing_of_it_runs(
    site: str, browser: Any, copy: Path
) -> None:
    tx_id = sql_rows(copy, "SELECT MIN(tx_id) FROM trades")[0][0]
    browser.get(f"{site}/ct/trio_enrich_trades?tx_id={tx_id}")
    link = next(a for a in _by_css(browser, "td.col-tx_id a"))
    link.click()
    assert browser.current_url == f"{site}/-/archived/trades/{tx_id}"
    shown = _by_css(browser, "pre")[0].text
    assert "<script" in shown  # the page's own scripts, as text
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script("return typeof self.__next_f") == "undefined"
    _look(browser, "archived-page")
