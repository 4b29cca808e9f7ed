"""`update --feed --notify --watch`, `news` and the delivery ledger, against the simulator and a
local receiver of Apprise's json:// posts: each new trade delivered once, a receiver that is
down gets the trades at the next run, secrets never shown, the feed read back by a feed
parser."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest

from trio_enrich.sim import Faults, make_dataset, open_simulator

from .helpers import FAST, cli

TRADE_URL = re.compile(r"https://www\.capitoltrades\.com/trades/(\d+)")
SECRET = "s3cr3t-T0KEN"


class Receiver:
    """A JSON webhook on 127.0.0.1: every post it accepted, and a switch to refuse them."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        # Whether to refuse a request, by its number (from 1).
        self.refuse: Callable[[int], bool] = lambda number: False
        self.requests = 0
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.requests += 1
                if received.refuse(received.requests):
                    self.send_response(500)
                    self.end_headers()
                    return
                received.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook/{SECRET}"

    def trades(self) -> list[int]:
        """Every trade named in the accepted posts, as often as it was named."""
        return [int(found) for post in self.posts for found in TRADE_URL.findall(post["message"])]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()


def _update(db: Path, url: str, *more: str) -> list[str]:
    return ["update", "--db", str(db), "--base-url", url, "--progress", "none", *FAST, *more]


def _first_seen_by_last_run(db: Path) -> set[int]:
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT tx_id FROM trio_enrich_first_seen WHERE run_id = (SELECT MAX(run_id) FROM "
            "trio_enrich_first_seen)"
        ).fetchall()
    finally:
        connection.close()
    return {int(row[0]) for row in rows}


async def test_new_trades_reach_the_feed_news_and_the_receiver_each_once(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=51, trades=60)
    db, feed = tmp_path / "ct.db", tmp_path / "feed.xml"
    async with open_simulator(dataset, Faults(), seed=51) as sim:
        assert await cli(*_update(db, sim.base_url)) == 0
        capsys.readouterr()
        published = dataset.publish(25)
        code = await cli(*_update(db, sim.base_url, "--feed", str(feed), "--notify",
                                  receiver.url, "--json"))  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out
    summary = json.loads(out.out)
    new = {trade.listing.tx_id for trade in published}
    assert _first_seen_by_last_run(db) == new
    assert sorted(receiver.trades()) == sorted(new)  # each exactly once
    (delivery,) = summary["alerts"]["deliveries"]
    assert (delivery["queued"], delivery["sent"], delivery["pending"]) == (25, 25, 0)
    # The feed: every new trade, as a feed reader reads it.
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    entries = {entry.id: entry for entry in parsed.entries}
    assert {f"https://www.capitoltrades.com/trades/{tx_id}" for tx_id in new} <= set(entries)
    # `news`: the last run's news are those 25.
    from trio_enrich.cli.reading import run_light

    assert run_light(["news", "--db", str(db), "--output", "json", "--limit", "0"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["tx_id"] for row in listed} == new
    # The token is nowhere: output, the runs' ledger, the destinations, status.
    everything = out.out + out.err + _dump(db)
    assert await cli("status", "--db", str(db), "--json") == 0
    everything += capsys.readouterr().out
    assert SECRET not in everything
    assert "json://127.0.0.1" in everything  # (shown by its label)


def _dump(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


async def test_a_rule_that_wants_none_sends_nothing_and_the_first_fill_is_history(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=52, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(), seed=52) as sim:
        # The run that fills an empty copy: history, not news.
        assert await cli(*_update(db, sim.base_url, "--notify", receiver.url)) == 0
        assert receiver.posts == []
        assert "filled an empty copy" in " ".join(capsys.readouterr().out.split())
        dataset.publish(10)
        assert await cli(*_update(db, sim.base_url, "--notify", receiver.url, "--watch",
                                  "politician:Z999999")) == 0  # fmt: skip
        assert receiver.posts == []
        # Another destination, asking for history: the first fill is not its news either
        # (it took no part in that run); a destination takes part from its first run on.
        other = f"{receiver.url}?history=1"
        assert await cli(*_update(db, sim.base_url, "--notify", other,
                                  "--notify-history")) == 0  # fmt: skip
    assert receiver.posts == []
    capsys.readouterr()
    assert await cli("status", "--db", str(db)) == 0
    said = capsys.readouterr().out
    assert said.count("notify json://127.0.0.1:") == 2
    assert said.count("0 pending, 0 sent; last delivery") == 2


async def test_notify_history_sends_the_trades_of_the_first_fill(
    tmp_path: Path, receiver: Receiver
) -> None:
    dataset = make_dataset(seed=60, trades=30)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(), seed=60) as sim:
        assert await cli(*_update(db, sim.base_url, "--notify", receiver.url,
                                  "--notify-history")) == 0  # fmt: skip
    assert sorted(receiver.trades()) == sorted(t.listing.tx_id for t in dataset.trades)


async def test_a_receiver_down_for_a_run_gets_its_trades_at_the_next(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=53, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(), seed=53) as sim:
        assert await cli(*_update(db, sim.base_url)) == 0
        first = {t.listing.tx_id for t in dataset.publish(7)}
        receiver.refuse = lambda number: True
        code = await cli(*_update(db, sim.base_url, "--notify", receiver.url))
        said = " ".join(capsys.readouterr().out.split())  # (as read, not as wrapped)
        assert code == 1
        assert "7 pending: the next run sends them" in said
        assert "The data is complete" in said
        assert SECRET not in said
        receiver.refuse = lambda number: False
        second = {t.listing.tx_id for t in dataset.publish(4)}
        assert await cli(*_update(db, sim.base_url, "--notify", receiver.url)) == 0
    assert sorted(receiver.trades()) == sorted(first | second)


async def test_a_receiver_that_fails_half_its_requests_still_gets_every_trade_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    dataset = make_dataset(seed=54, trades=40)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(), seed=54) as sim:
        assert await cli(*_update(db, sim.base_url)) == 0
        new = {t.listing.tx_id for t in dataset.publish(120)}  # three digests of 50, 50, 20
        receiver.refuse = lambda number: number % 2 == 1
        assert await cli(*_update(db, sim.base_url, "--notify", receiver.url)) == 0
    assert sorted(receiver.trades()) == sorted(new)
    assert receiver.requests == 6  # each digest refused once, then accepted


async def test_a_digest_by_mail_reaches_a_local_smtp_server(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[str] = []

        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            self.messages.append(envelope.content.decode("utf-8", errors="replace"))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # (aiosmtpd needs a port number, not 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        url = (f"mailto://localhost:{port}/?from=alerts@example.com&to=desk@example.com"
               "&secure=no")  # fmt: skip
        dataset = make_dataset(seed=55, trades=30)
        db = tmp_path / "ct.db"
        async with open_simulator(dataset, Faults(), seed=55) as sim:
            assert await cli(*_update(db, sim.base_url)) == 0
            new = {t.listing.tx_id for t in dataset.publish(5)}
            assert await cli(*_update(db, sim.base_url, "--notify", url)) == 0
    finally:
        controller.stop()
    (message,) = inbox.messages
    import email
    from email.message import Message

    parsed: Message = email.message_from_string(message)
    assert parsed["To"] == "desk@example.com"
    assert "5 new trades" in str(parsed["Subject"])
    body = "".join(
        bytes(part.get_payload(decode=True)).decode("utf-8")
        for part in parsed.walk()
        if part.get_content_type() == "text/plain"
    )
    assert {int(found) for found in TRADE_URL.findall(body)} == new


async def test_the_library_s_update_takes_the_same_alerts(
    tmp_path: Path, receiver: Receiver
) -> None:
    import trio_enrich
    from trio_enrich import EnrichOptions

    dataset = make_dataset(seed=56, trades=30)
    db, feed = tmp_path / "ct.db", tmp_path / "feed.xml"
    async with open_simulator(dataset, Faults(), seed=56) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        await trio_enrich.update(db, options)
        new = {t.listing.tx_id for t in dataset.publish(6)}
        settings = trio_enrich.alert_settings(feed=feed, notify=[receiver.url])
        assert settings is not None
        result = await trio_enrich.update(db, options, alerts=trio_enrich.Alerts(settings))
    report = result.alerts
    assert isinstance(report, trio_enrich.AlertsReport)
    assert [(d.sent, d.pending, d.error) for d in report.deliveries] == [(6, 0, None)]
    assert report.feed is not None
    assert report.feed.entries == 36
    assert sorted(receiver.trades()) == sorted(new)


async def test_a_cron_log_s_first_line_names_the_url_by_its_scheme_only(
    tmp_path: Path, receiver: Receiver
) -> None:
    """In log mode (cron's), the first line repeats the command: never a URL's token."""
    import sys

    import trio

    dataset = make_dataset(seed=61, trades=20)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, Faults(), seed=61) as sim:
        command = [sys.executable, "-m", "trio_enrich", *_update(db, sim.base_url)]
        command[command.index("none")] = "log"
        done = await trio.run_process([*command, "--notify", receiver.url],
                                      capture_stdout=True, capture_stderr=True)  # fmt: skip
    printed = (done.stdout + done.stderr).decode()
    assert SECRET not in printed
    first = next(line for line in printed.splitlines() if "pid" in line)
    assert "--notify json://…" in first


async def test_a_stop_lets_the_digest_in_flight_finish_and_sends_no_more(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A first Ctrl-C (the run's stop event) during deliveries: the digest being sent is
    finished and marked, the rest wait for the next run, which sends them once."""
    import trio

    import trio_enrich
    from trio_enrich import EnrichOptions
    from trio_enrich.alerts.apprise_sender import send

    dataset = make_dataset(seed=62, trades=30)
    db = tmp_path / "ct.db"
    stop = trio.Event()

    def send_then_stop(to: Any, title: str, body: str, timeout: float) -> str | None:
        trio.from_thread.run_sync(stop.set)  # (Ctrl-C while the first digest is on its way)
        return send(to, title, body, timeout)

    async with open_simulator(dataset, Faults(), seed=62) as sim:
        options = EnrichOptions(base_url=sim.base_url, delay=0)
        await trio_enrich.update(db, options)
        new = {t.listing.tx_id for t in dataset.publish(120)}
        settings = trio_enrich.alert_settings(notify=[receiver.url])
        assert settings is not None
        alerts = trio_enrich.Alerts(settings, send=send_then_stop)
        # (the stop is set once the stages are done: inside the deliveries)
        stopped = await trio_enrich.update(db, options, alerts=alerts, stop=stop)
        report = stopped.alerts
        assert isinstance(report, trio_enrich.AlertsReport)
        assert report.stopped
        assert [(d.sent, d.pending) for d in report.deliveries] == [(50, 70)]
        assert "Stopped before every digest was sent" in " ".join(report.lines())
        again = await trio_enrich.update(db, options, alerts=trio_enrich.Alerts(settings))
    assert isinstance(again.alerts, trio_enrich.AlertsReport)
    assert [(d.sent, d.pending) for d in again.alerts.deliveries] == [(70, 0)]
    assert sorted(receiver.trades()) == sorted(new)
