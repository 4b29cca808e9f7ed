"""Twenty SIGKILLs of `update --notify` while its digests are in flight: every new trade is
delivered at least once, and a trade is delivered twice only when its digest was in flight
at a kill (the receiver had it, the sender never heard so). The notification URL's token is
nowhere in the copy."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .helpers import FAST, sim_process

pytestmark = pytest.mark.slow

TRADE_URL = re.compile(r"https://www\.capitoltrades\.com/trades/(\d+)")
SECRET = "k1ll-T0KEN"


class SlowReceiver:
    """Records each post as it arrives, then holds its answer `hold` seconds."""

    def __init__(self, hold: float) -> None:
        self.arrived: list[list[int]] = []  # the trades of each post, in order of arrival
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.changed:
                    receiver.arrived.append([int(t) for t in TRADE_URL.findall(body["message"])])
                    receiver.changed.notify_all()
                time.sleep(hold)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook/{SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
        """Whether `count` posts have arrived before `process` ended (or the time ran out)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.arrived) < count:
                if process.poll() is not None or time.monotonic() > deadline:
                    return False
                self.changed.wait(0.05)
        return True


def test_twenty_sigkills_during_deliveries_lose_no_trade_and_repeat_only_those_in_flight(
    tmp_path: Path,
) -> None:
    rng = random.Random(35)
    receiver = SlowReceiver(hold=0.4)
    db = tmp_path / "ct.db"
    with sim_process("--trades", "40", "--seed", "35") as url:
        update = [sys.executable, "-m", "trio_enrich", "update", "--db", str(db), "--base-url",
                  url, "--progress", "none", *FAST]  # fmt: skip
        subprocess.run(update, check=True, capture_output=True)  # the first fill: history
        published: set[int] = set()
        in_flight: list[int] = []  # the posts that were in flight at a kill
        kills = 0
        while kills < 20:
            # News every night: two or three digests' worth.
            with urllib.request.urlopen(f"{url}/_sim/publish?count=120", timeout=30) as answer:
                published |= {int(tx_id) for tx_id in json.loads(answer.read())}
            notify = [*update[:4], "--notify", receiver.url, *update[4:]]
            process = subprocess.Popen(notify, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            target = len(receiver.arrived) + rng.randint(1, 3)
            if receiver.wait_for(target, process, timeout=60):
                process.kill()  # while the receiver holds the post: in flight
                in_flight.append(target - 1)
                kills += 1
            _, errors = process.communicate(timeout=60)
            assert process.returncode in (0, -9), errors.decode()  # (0: all sent first)
        done = subprocess.run([*update, "--notify", receiver.url], capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
    delivered = [tx_id for post in receiver.arrived for tx_id in post]
    assert published <= set(delivered)  # every new trade, at least once
    repeats = {tx_id for tx_id in delivered if delivered.count(tx_id) > 1}
    killed_with = {tx_id for index in in_flight for tx_id in receiver.arrived[index]}
    # Twice only when in flight at a kill, and then always (the sender never heard it went).
    assert repeats == killed_with
    assert all(delivered.count(tx_id) <= 1 + kills for tx_id in repeats)
    assert kills == 20
    connection = sqlite3.connect(db)
    try:
        assert SECRET not in "\n".join(connection.iterdump())
        commands = [row[0] for row in connection.execute("SELECT command FROM trio_enrich_runs")]
    finally:
        connection.close()
    assert any(command.startswith("trio-enrich update --notify json://… --db")
               for command in commands), commands  # fmt: skip
