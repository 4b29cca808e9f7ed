"""Issue 34's benchmark: `trio-enrich serve` on a real-size copy.

Makes (or reuses, `--db`) a copy of the real site's size (37,000 trades by default) with
`trio-enrich update` against the simulator, starts `python -m trio_enrich serve` on it in its
own process (uvicorn, as a user runs it), and measures over HTTP, each `--runs` times after
one load to warm up (the median is printed, and the slowest):

* the trades page as it opens (its default facets) and with four facets asked by URL;
* every canned question (with a parameter where it takes one: the member, committee and
  ticker with the most trades);
* the three charts;
* 50 page loads at once (a mix of the above), each of which must answer 200.

    python benchmarks/bench_serve.py [--trades 37000] [--runs 7] [--db PATH]

Prints the figures; asserts nothing but the 50 loads' answers.
"""

from __future__ import annotations

import argparse
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_read import make_copy  # noqa: E402
from common import PY  # noqa: E402

from trio_enrich.read.browse import QUERIES  # noqa: E402

FOUR_FACETS = "_facet=party&_facet=chamber&_facet=tx_type&_facet=sector"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parameters(db: Path) -> dict[str, str]:
    """A value for each canned question's parameter: the most traded member, committee and
    ticker (one with stored prices)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        member = connection.execute(
            "SELECT politician_id FROM trades GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        committee = connection.execute(
            "SELECT committee FROM politician_committees GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        ticker = connection.execute(
            "SELECT i.issuer_ticker FROM trades t JOIN issuers i USING (issuer_id) WHERE "
            "i.issuer_ticker <> '' AND i.issuer_id IN (SELECT issuer_id FROM issuer_eod_prices)"
            " GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    return {
        "member": member[0] if member else "P000197",
        "committee": committee[0] if committee else "ssbk",
        "ticker": str(ticker[0]).split(":")[0] if ticker else "NVDA",
    }


def pages(name: str, values: dict[str, str]) -> dict[str, str]:
    """Every page measured, by a short name: its path and query."""
    found = {
        "home": "/",
        "trades (default facets)": f"/{name}/trio_enrich_trades",
        "trades (four facets)": f"/{name}/trio_enrich_trades?{FOUR_FACETS}",
    }
    for query, (_, _, sql) in QUERIES.items():
        asked = {key: value for key, value in values.items() if f":{key}" in sql}
        found[f"query {query}"] = f"/{name}/{query}" + (f"?{urlencode(asked)}" if asked else "")
    found["chart by party"] = "/-/charts"
    found["chart member"] = f"/-/charts/member?{urlencode({'member': values['member']})}"
    found["chart ticker"] = f"/-/charts/ticker?{urlencode({'ticker': values['ticker']})}"
    return found


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("serve exited before it answered")
        try:
            if httpx.get(f"{base}/-/versions.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("serve did not answer within 30 s")


def at_once(base: str, paths: list[str]) -> tuple[float, list[float], list[str]]:
    """Load every path at the same moment (a thread and a connection each): the wall time,
    each load's seconds, and the failures."""
    start = threading.Barrier(len(paths))
    seconds: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def load(path: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            start.wait()
            began = time.perf_counter()
            try:
                status = client.get(path).status_code
                problem = None if status == 200 else f"{path}: HTTP {status}"
            except httpx.HTTPError as error:
                problem = f"{path}: {error!r}"
            with lock:
                seconds.append(time.perf_counter() - began)
                if problem:
                    failures.append(problem)

    threads = [threading.Thread(target=load, args=(path,)) for path in paths]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, seconds, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=37_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", type=Path, default=None, help="a copy to reuse (made if missing)")
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="bench-serve-")) / "ct.db"
    if not db.exists():
        print(f"making the copy: update of {args.trades} trades ...", flush=True)
        print(f"  {make_copy(args.trades, db):.0f} s")
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    count = connection.execute("SELECT COUNT(*) FROM trades").fetchone()[0]
    connection.close()
    print(f"copy: {db} ({count} trades, {db.stat().st_size / 1e6:.0f} MB)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([PY, "-m", "trio_enrich", "serve", "--db", str(db), "--port",
                               str(port)], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until_up(base, server)
        measured = pages(db.stem, parameters(db))
        print(f"\nseconds per page load, median of {args.runs} (slowest), one connection:")
        with httpx.Client(base_url=base, timeout=60) as client:
            for name, path in measured.items():
                answer = client.get(path)  # warm-up (and the check that it answers)
                if answer.status_code != 200:
                    print(f"  {name:<38} HTTP {answer.status_code}  {path}")
                    continue
                times = []
                for _ in range(args.runs):
                    began = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append(time.perf_counter() - began)
                print(f"  {name:<38} {statistics.median(times):.3f}  ({max(times):.3f})")
        mix = list(measured.values())
        paths = [mix[i % len(mix)] for i in range(50)]
        wall, seconds, failures = at_once(base, paths)
        print(f"\n50 loads at once (the {len(mix)} pages above in turn): {wall:.2f} s in all; "
              f"each: median {statistics.median(seconds):.2f} s, slowest {max(seconds):.2f} s; "
              f"failed: {len(failures)}")  # fmt: skip
        for failure in failures:
            print(f"  {failure}")
        if failures:
            raise SystemExit(1)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
