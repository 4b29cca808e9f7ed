"""Issue 35's benchmark: `news` on a real-size copy, and digests to five destinations at once.

1. `news`: a copy of the real site's size (37,000 trades by default; `--db` reuses one made
   by `bench_read.py`/`bench_serve.py`, copied first, never changed), the simulator of the
   same trades (seed 1) publishes 25 more and `trio-enrich sync` stores them (its run is the
   last with new trades); then `python -m trio_enrich news --output json` is timed as a whole
   command, `--runs` times (the median is printed, and every run).
2. Five destinations: a copy of 2,000 trades, 25 new ones, and `update --notify` to five
   local JSON receivers that each hold their answer one second: how long the deliveries
   took (from the first post's arrival to the last answer), against the five seconds one
   after another would take.

    python benchmarks/bench_news.py [--trades 37000] [--runs 5] [--db PATH]

Prints the figures; asserts only that the news are the 25 and each receiver got them.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_read import make_copy  # noqa: E402
from common import PY, SERVE  # noqa: E402

TRADE_URL = re.compile(r"https://www\.capitoltrades\.com/trades/(\d+)")


def with_simulator(trades: int, work: object) -> object:
    """`work(url)` beside a simulator of `trades` trades (seed 1) in its own process."""
    server = subprocess.Popen([PY, "-c", SERVE, str(trades), json.dumps({"latency_ms": 0})],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        return work(url)  # type: ignore[operator]
    finally:
        server.terminate()
        server.wait()


def publish(url: str, count: int) -> set[int]:
    with urllib.request.urlopen(f"{url}/_sim/publish?count={count}", timeout=30) as answer:
        return {int(tx_id) for tx_id in json.loads(answer.read())}


def fetch(command: str, db: Path, url: str, *more: str) -> None:
    subprocess.run([PY, "-m", "trio_enrich", command, "--db", str(db), "--base-url", url,
                    "--progress", "none", "--details-delay-ms", "0", "--concurrency", "10",
                    *more], check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def measure_news(db: Path, trades: int, runs: int) -> None:
    def work(url: str) -> set[int]:
        new = publish(url, 25)
        fetch("sync", db, url)
        return new

    new = with_simulator(trades, work)
    assert isinstance(new, set)
    command = [PY, "-m", "trio_enrich", "news", "--db", str(db), "--output", "json"]
    times, found = [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
        found = [row["tx_id"] for row in json.loads(done.stdout)]
    assert set(found) == new, "news are not the 25 published"
    shown = ", ".join(f"{t:.3f}" for t in times)
    print(f"news (the 25 trades of the last sync, JSON), whole command, median of {runs}: "
          f"{statistics.median(times):.3f} s ({shown})")  # fmt: skip
    print(f"  said: {done.stderr.strip()}")


class HoldingReceiver:
    def __init__(self, hold: float) -> None:
        self.arrivals: list[float] = []
        self.answers: list[float] = []
        self.trades: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.arrivals.append(time.perf_counter())
                receiver.trades += [int(t) for t in TRADE_URL.findall(body["message"])]
                time.sleep(hold)
                self.send_response(200)
                self.end_headers()
                receiver.answers.append(time.perf_counter())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def measure_destinations(folder: Path) -> None:
    db = folder / "five.db"
    receivers = [HoldingReceiver(1.0) for _ in range(5)]

    def work(url: str) -> set[int]:
        fetch("update", db, url)  # the first fill: history, not news
        new = publish(url, 25)
        notify = [flag for r in receivers for flag in ("--notify", r.url)]
        started = time.perf_counter()
        fetch("update", db, url, *notify)
        print(f"update with 5 destinations: {time.perf_counter() - started:.2f} s in all")
        return new

    new = with_simulator(2_000, work)
    assert all(sorted(r.trades) == sorted(new) for r in receivers)  # type: ignore[arg-type]
    first = min(r.arrivals[0] for r in receivers)
    last = max(r.answers[-1] for r in receivers)
    spread = max(r.arrivals[0] for r in receivers) - first
    print(f"five digests (25 trades each), each receiver holding its answer 1 s: delivered "
          f"in {last - first:.2f} s from the first post to the last answer (one after another: "
          f"5 s); the five posts arrived within {spread * 1000:.0f} ms of each other")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=37_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="a copy to reuse (copied first)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-news-"))
    db = folder / "ct.db"
    if args.db is not None and args.db.exists():
        shutil.copy(args.db, db)
    else:
        print(f"making the copy: update of {args.trades} trades ...", flush=True)
        print(f"  {make_copy(args.trades, db):.0f} s")
    measure_news(db, args.trades, args.runs)
    measure_destinations(folder)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
