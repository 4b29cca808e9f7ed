"""trio-enrich against its limit: K trade pages at concurrency N with fixed latency, no pause.

The simulator runs in its own process; each run enriches a fresh database (listing rows from
the simulator's ground truth) with the `trio-enrich trades` command in a child process, so its
wall time and CPU seconds (user + sys) are measured alone. The limit is ceil(K / N) x latency.
Prints figures; asserts nothing.

Run: python benchmarks/bench_pipeline.py [--items 5000] [--concurrency 10] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from trio_enrich import Issuer, ListingPolitician, ListingTrade, Store


def listing_from_truth(truth: dict[str, object]) -> list[ListingTrade]:
    trades = []
    for item in truth["trades"]:  # type: ignore[attr-defined]
        row = dict(item["listing"])
        row["issuer"] = Issuer(**row["issuer"])
        row["politician"] = ListingPolitician(**row["politician"])
        trades.append(ListingTrade(**row))
    return trades


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "trio_enrich", "sim", "--port", "0", "--trades", str(args.items),
         "--latency-ms", str(args.latency_ms)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert server.stderr is not None
    base_url = server.stderr.readline().split()[1]
    truth = json.loads(httpx.get(base_url + "/_sim/truth", timeout=120).text)
    listing = listing_from_truth(truth)
    limit = math.ceil(args.items / args.concurrency) * args.latency_ms / 1000
    # An installed package starts from its cached bytecode (pip compiles it); a source tree run
    # with PYTHONDONTWRITEBYTECODE (set on some machines) would compile every module at every
    # start, 50 ms here. One warm-up start writes the cache, as an install would have.
    child_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "trio_enrich", "--help"], env=child_env,
                   capture_output=True, check=True)  # fmt: skip
    walls: list[float] = []
    cpus: list[float] = []
    runs: list[float] = []  # the pipeline's own elapsed time, without process start-up
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                db = Path(folder) / "bench.db"
                with Store.open(db) as store:
                    store.upsert_listing(listing)
                cpu_before = child_cpu()
                started = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-m", "trio_enrich", "trades", "--db", str(db),
                     "--base-url", base_url, "--concurrency", str(args.concurrency),
                     "--details-delay-ms", "0", "--progress", "none", "--json"],
                    capture_output=True, text=True, check=False, env=child_env,
                )  # fmt: skip
                wall = time.perf_counter() - started
                cpu = child_cpu() - cpu_before
                summary = json.loads(result.stdout.strip().splitlines()[-1])
                walls.append(wall)
                cpus.append(cpu)
                runs.append(summary["elapsed_seconds"])
                print(
                    f"run {run + 1}: {summary['enriched']}/{args.items} enriched in {wall:.2f} s "
                    f"(limit {limit:.2f} s, efficiency {limit / wall:.3f}; the run itself "
                    f"{summary['elapsed_seconds']:.2f} s); "
                    f"CPU {cpu:.2f} s = {cpu / args.items * 1000:.3f} s per 1,000 items"
                )
    finally:
        server.send_signal(2)
        server.wait(timeout=10)
    wall = statistics.median(walls)
    cpu = statistics.median(cpus)
    own = statistics.median(runs)

    # The target is about the items: from the first request's start to the last commit (the
    # run's own elapsed time). The process adds a constant start (interpreter and imports,
    # ~0.2 s) and exit; its figure is printed too.
    def verdict(seconds: float) -> str:
        return "met" if seconds <= limit * 1.10 else "MISSED"

    print(
        f"median of {len(runs)} runs, {args.items} items at N={args.concurrency}, "
        f"{args.latency_ms:g} ms latency, limit {limit:.2f} s: the run {own:.2f} s, ratio "
        f"{own / limit:.3f} (target within 10%: {verdict(own)}); the process from start to "
        f"exit {wall:.2f} s, ratio {wall / limit:.3f} (within 10%: {verdict(wall)}); CPU "
        f"{cpu / args.items * 1000:.3f} s per 1,000 items (process start included)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
