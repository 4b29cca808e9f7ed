"""robots.txt (issue 15): read once per run (RFC 9309), rules that disallow a command's pages
stop it before its first page request, Crawl-delay and Request-rate cap the rate."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import httpx
import pytest
import trio

from trio_enrich.cli import main
from trio_enrich.clients.httpx_client import PageClient
from trio_enrich.clients.robots import Robots, read_robots
from trio_enrich.sim import Faults, make_dataset, open_simulator

from .helpers import cli, database_with_listing


def site_args(db: Path, url: str, *extra: str) -> list[str]:
    return ["--db", str(db), "--base-url", url, "--progress", "none",
            "--details-delay-ms", "0", *extra]  # fmt: skip


# --- reading the file -----------------------------------------------------------------------------


def test_rules_for_our_product_token_win_over_the_star_group() -> None:
    robots = Robots(
        "https://x.test", 200,
        "User-agent: *\nDisallow: /\n\nUser-agent: trio-enrich\nDisallow: /issuers/\n"
        "Crawl-delay: 0.5\n",
    )  # fmt: skip
    assert robots.blocked(["/trades/1", "/trades?page=1"]) is None
    assert robots.blocked(["/trades/1", "/issuers/7"]) == (
        "/issuers/7",
        "line 5: Disallow: /issuers/",
    )
    assert robots.rate_cap == 2.0


def test_the_stricter_of_crawl_delay_and_request_rate_caps() -> None:
    robots = Robots("https://x.test", 200, "User-agent: *\nCrawl-delay: 1\nRequest-rate: 30/1m\n")
    assert robots.rate_cap == pytest.approx(0.5)
    assert Robots("https://x.test", 404).rate_cap is None
    assert Robots("https://x.test", 404).blocked(["/trades/1"]) is None


def mock_site(routes: dict[str, httpx.Response]) -> PageClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return routes.get(request.url.path, httpx.Response(404))

    return PageClient("https://x.test", concurrency=1, transport=httpx.MockTransport(answer))


async def test_redirects_are_followed_on_the_same_host_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    routes = {
        "/robots.txt": httpx.Response(301, headers={"location": "/real-robots.txt"}),
        "/real-robots.txt": httpx.Response(200, text="User-agent: *\nDisallow: /trades/\n"),
    }
    monkeypatch.setattr("trio_enrich.clients.robots.open_client", lambda *a, **k: mock_site(routes))
    robots = await read_robots("https://x.test")
    assert robots.blocked(["/trades/5"]) is not None
    routes["/robots.txt"] = httpx.Response(
        301, headers={"location": "https://elsewhere.test/robots.txt"}
    )
    robots = await read_robots("https://x.test")
    assert robots.blocked(["/trades/5"]) is None  # off the host: unavailable, no rules


# --- against the simulator ------------------------------------------------------------------------


async def test_a_disallowed_page_stops_the_run_before_its_first_page_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=101, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(robots_txt="User-agent: *\nAllow: /trades?\nDisallow: /trades/\n")
    async with open_simulator(dataset, faults, seed=101) as sim:
        args = ["trades", *site_args(db, sim.base_url)]
        assert await trio.to_thread.run_sync(main, args) == 2
        err = capsys.readouterr().err
        assert len(sim.log) == 0  # not one page requested
        assert len(sim.robots_log) == 1
        assert "robots.txt disallows /trades/" in err
        assert "line 3: Disallow: /trades/" in err
        assert "--ignore-robots-disallow" in err
        # the dry run says so too, sending nothing else
        assert await cli("trades", *site_args(db, sim.base_url, "--dry-run")) == 0
        assert "a run would stop (exit 2)" in capsys.readouterr().out
        assert len(sim.log) == 0
        # ... and not when the run would go on (one dry-run path for every command)
        flags = site_args(db, sim.base_url, "--dry-run", "--ignore-robots-disallow")
        assert await cli("trades", *flags) == 0
        said = capsys.readouterr().out
        assert "would stop" not in said
        assert "trades: 30 pending" in said
        assert len(sim.log) == 0
        # the override, for a user who decided otherwise
        assert await cli("trades", *site_args(db, sim.base_url, "--ignore-robots-disallow")) == 0
        assert "warning: robots.txt" in capsys.readouterr().err
        assert len(sim.log) == 30
        # sync's listing pages are allowed
        assert await cli("sync", *site_args(db, sim.base_url)) == 0


async def test_crawl_delay_caps_the_rate_in_every_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=102, trades=12)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(robots_txt="User-agent: *\nCrawl-delay: 0.25\n")  # at most 4 a second
    async with open_simulator(dataset, faults, seed=102) as sim:
        assert await cli("trades", *site_args(db, sim.base_url, "--concurrency", "8")) == 0
        assert sim.log.max_in_window(1.0) <= 4
        assert "at most 4 requests/s" in capsys.readouterr().err
        assert await cli("issuers", *site_args(db, sim.base_url, "--max-rps", "auto")) == 0
        starts = sorted(sim.log.starts())[12:]
        assert all(b - a >= 0.24 for a, b in itertools.pairwise(starts))


async def test_no_robots_txt_means_no_rules(tmp_path: Path) -> None:
    dataset = make_dataset(seed=103, trades=12)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(), seed=103) as sim:  # answers 404
        assert await cli("trades", *site_args(db, sim.base_url, "--json")) == 0
        assert len(sim.robots_log) == 1  # read once per run
        assert len(sim.log) == 12


async def test_an_unreachable_robots_txt_stops_the_run_as_rfc_9309_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trio_enrich.clients.robots.TRIES", 2)
    dataset = make_dataset(seed=104, trades=12)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(robots_status=503), seed=104) as sim:
        args = ["trades", *site_args(db, sim.base_url)]
        assert await trio.to_thread.run_sync(main, args) == 3
        err = capsys.readouterr().err
        assert "robots.txt cannot be read" in err
        assert "RFC 9309" in err
        assert len(sim.log) == 0
        assert len(sim.robots_log) == 2  # tried again before giving up
    connection = sqlite3.connect(db)
    assert connection.execute("SELECT COUNT(enriched_at) FROM trades").fetchone() == (0,)
    connection.close()
