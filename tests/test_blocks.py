"""Blocked, layout changed, unreachable: told apart by a run and by `check`, each in a few
requests, against the simulator's modes (a CDN that refuses clients without a browser's
headers, data-less shells, data under unknown keys) and a closed port."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from trio_enrich.sim import Faults, make_dataset, open_simulator

from .helpers import FAST, assert_trades_match_truth, cli, database_with_listing


def failure_rows(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM trio_enrich_failures").fetchone()[0])


async def test_behind_the_cdn_httpx_is_told_blocked_in_a_few_requests_and_browser_gets_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=31, trades=120)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(site_mode="cdn"), seed=31) as sim:
        args = ["trades", "--db", str(db), "--base-url", sim.base_url, *FAST, "--progress", "none"]
        assert await cli(*args, "--client", "httpx") == 3
        out = capsys.readouterr().out
        assert len(sim.log) <= 5
        said = " ".join(out.split())  # (the summary is wrapped at 80 columns)
        assert "trades: refused" in said
        assert "blocked: the site refuses this client (httpx)" in said
        assert "'ERROR: The request could not be satisfied'" in said  # what was seen
        assert "`--client browser`" in said
        assert failure_rows(db) == 0  # no trade did anything wrong
        assert await cli(*args, "--client", "browser", "--concurrency", "5") == 0
    assert_trades_match_truth(db, dataset)
    assert failure_rows(db) == 0


@pytest.mark.parametrize(
    ("mode", "verdict", "words"),
    [
        ("shell", "blocked", "data-less shell"),
        ("changed", "layout changed", "in a shape the readers know"),
    ],
)
async def test_from_the_first_page_shells_are_blocked_and_unknown_data_a_changed_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, verdict: str, words: str
) -> None:
    dataset = make_dataset(seed=32, trades=120)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(site_mode=mode), seed=32) as sim:
        base = ["--db", str(db), "--base-url", sim.base_url]
        assert await cli("trades", *base, *FAST, "--progress", "none") == 3
        said = " ".join(capsys.readouterr().out.split())
        assert f"{verdict}:" in said
        assert words in said
        assert len(sim.log) <= 5
        assert failure_rows(db) == 0
        await trio.sleep(0.3)  # (a request the run gave up may still arrive: not check's)
        before = len(sim.log) + len(sim.robots_log)
        assert await cli("check", *base, "--json") == 3
        report = json.loads(capsys.readouterr().out)
        assert report["verdict"] == verdict
        assert report["requests"] == len(sim.log) + len(sim.robots_log) - before <= 6
        assert words in " ".join(page["reason"] for page in report["pages"])


async def test_a_closed_port_is_unreachable_for_a_run_and_for_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=33, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    base = ["--db", str(db), "--base-url", "http://127.0.0.1:9"]
    assert await cli("check", *base, "--json") == 3
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "unreachable"
    assert report["requests"] <= 6
    with trio.fail_after(60):
        command = [sys.executable, "-m", "trio_enrich", "trades", *base, *FAST,
                   "--progress", "none"]  # fmt: skip
        run = await trio.run_process(command, capture_stdout=True, capture_stderr=True,
                                     check=False)  # fmt: skip
    assert run.returncode == 3
    assert b"cannot reach 127.0.0.1:9" in run.stderr


async def test_check_on_a_good_site_reads_every_canary_page_with_its_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=34, trades=600)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=34) as sim:
        assert await cli("check", "--db", str(db), "--base-url", sim.base_url) == 0
        out = capsys.readouterr().out
        assert len(sim.log) + len(sim.robots_log) <= 6
        paths = sim.log.paths()
    assert paths[0].startswith("/trades?page=1")
    pending = min(dataset.trade_index)  # the database's first pending trade, not page 1's
    assert f"/trades/{pending}" in paths or any(p.startswith("/trades/") for p in paths)
    assert any(p.startswith("/issuers/") for p in paths)
    assert any(p.startswith("/politicians?committee=") for p in paths)
    for words in ("12 trades", "asset type", "performance", "members", "verdict: ok"):
        assert words in out


def test_without_the_extra_the_browser_client_is_one_line_and_touches_nothing(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(seed=35, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    before = db.read_bytes()
    program = (
        "import sys; sys.modules['curl_cffi'] = None\n"  # as if the extra were not installed
        "from trio_enrich.cli import main\n"
        f"sys.exit(main(['trades', '--db', {str(db)!r}, '--client', 'browser']))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "-m pip install 'curl-cffi>=0.17'" in lines[0]
    assert done.stdout == ""
    assert db.read_bytes() == before


# --- issue 31: Vercel's challenge is a block; check judges robots.txt per page kind --------------


async def test_vercels_challenge_is_blocked_at_once_not_a_rate_limit_for_a_run_and_for_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=35, trades=120)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(site_mode="vercel"), seed=35) as sim:
        base = ["--db", str(db), "--base-url", sim.base_url]
        with trio.fail_after(20):  # a 429 read as a slow-down would wait and retry for longer
            assert await cli("trades", *base, *FAST, "--progress", "none") == 3
        said = " ".join(capsys.readouterr().out.split())
        assert len(sim.log) <= 5
        assert "blocked: the site's hosting challenges this client (" in said  # either client
        assert "x-vercel-mitigated: challenge" in said  # what was seen
        assert "not a rate limit" in said
        assert "Wait for it to lift" in said
        assert "rate limited" not in said
        assert failure_rows(db) == 0  # no trade blamed
        await trio.sleep(0.3)
        assert await cli("check", *base, "--json") == 3
        report = json.loads(capsys.readouterr().out)
        assert report["verdict"] == "blocked"
        assert "Vercel's Security Checkpoint" in report["advice"]
        listing = report["pages"][1]
        assert listing["failure"] == "blocked"
        assert listing["status"] == 429
        assert listing["size"] > 100  # the challenge's page, as received


def test_only_a_challenge_makes_a_429_a_block() -> None:
    from trio_enrich._model import FailureKind
    from trio_enrich.site.rules import status_kind

    headers = {"x-vercel-mitigated": "challenge"}
    assert status_kind(429, b"", headers.get) is FailureKind.BLOCKED
    assert status_kind(403, b"", headers.get) is FailureKind.BLOCKED
    page = b"<html><title>Vercel Security Checkpoint</title></html>"
    assert status_kind(429, page) is FailureKind.BLOCKED
    assert status_kind(429, b"Too Many Requests") is FailureKind.RATE_LIMITED
    assert status_kind(429, b"", {"x-vercel-mitigated": ""}.get) is FailureKind.RATE_LIMITED
    assert status_kind(403) is FailureKind.RATE_LIMITED


async def test_check_shows_the_size_of_a_cdns_refusal_as_received(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=36, trades=30)
    async with open_simulator(dataset, Faults(site_mode="cdn"), seed=36) as sim:
        args = ["--base-url", sim.base_url, "--db", str(tmp_path / "no.db"), "--client", "httpx"]
        assert await cli("check", *args) == 3  # (the browser client gets through this CDN)
    out = capsys.readouterr().out
    (listing,) = [line for line in out.splitlines() if "listing page 1" in line]
    assert " 403 " in listing
    assert " 0.0 KB" not in listing
    assert "blocked: HTTP 403" in listing  # the kind in words, as every other output says it


async def test_check_skips_what_robots_txt_disallows_and_tests_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=37, trades=60)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    robots = "User-agent: *\nDisallow: /politicians\n"
    async with open_simulator(dataset, Faults(robots_txt=robots), seed=37) as sim:
        assert await cli("check", "--db", str(db), "--base-url", sim.base_url, "--json") == 0
        report = json.loads(capsys.readouterr().out)
        paths = sim.log.paths()
    assert report["verdict"] == "ok"
    asked = {page["page"].split()[0]: page for page in report["pages"]}
    assert {"listing", "trade", "issuer"} <= set(asked)
    assert all(not asked[kind]["failure"] for kind in ("listing", "trade", "issuer"))
    assert asked["committee"]["skipped"] == "line 2: Disallow: /politicians"
    assert not any(path.startswith("/politicians") for path in paths)  # never asked for
    assert "committees" in report["advice"]
    assert "skips" in report["advice"]
    with sqlite3.connect(db) as connection:  # untouched
        assert connection.execute("SELECT COUNT(*) FROM trio_enrich_failures").fetchone() == (0,)


async def test_check_says_a_failure_kind_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 31, item 16: `layout changed:`, as every other output says it."""
    dataset = make_dataset(seed=38, trades=30)
    async with open_simulator(dataset, Faults(site_mode="changed"), seed=38) as sim:
        assert await cli("check", "--base-url", sim.base_url, "--db", str(tmp_path / "x.db")) == 3
    out = capsys.readouterr().out
    assert "layout changed: " in out
    assert "layout_changed" not in out
