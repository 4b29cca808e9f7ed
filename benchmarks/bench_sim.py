"""How fast one simulator serves detail pages: it must not be the bottleneck of any benchmark.

Starts `trio-enrich sim` in its own process (zero latency, clean profile), fetches the detail
pages of N trades with httpx from this process at a given concurrency, and prints requests per
second and the server's CPU seconds. Prints figures; asserts nothing.

Run: python benchmarks/bench_sim.py [--requests 2000] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import httpx
import trio


async def fetch_all(base_url: str, paths: list[str], concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        send, receive = trio.open_memory_channel[str](concurrency)

        async def produce() -> None:
            async with send:
                for path in paths:
                    await send.send(path)

        async def work(receive: trio.MemoryReceiveChannel[str]) -> None:
            async with receive:
                async for path in receive:
                    response = await client.get(path)
                    if response.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {response.status_code}")

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            for _ in range(concurrency):
                nursery.start_soon(work, receive.clone())
            await receive.aclose()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "trio_enrich", "sim", "--port", "0",
         "--trades", str(args.requests), "--latency-ms", "0"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        base_url = line.split()[1]
        truth = json.loads(httpx.get(base_url + "/_sim/truth", timeout=60).text)
        paths = [f"/trades/{t['listing']['tx_id']}" for t in truth["trades"]][: args.requests]
        rates = []
        for run in range(args.runs):
            cpu_before = json.loads(httpx.get(base_url + "/_sim/stats").text)["cpu_seconds"]
            elapsed = trio.run(fetch_all, base_url, paths, args.concurrency)
            cpu_after = json.loads(httpx.get(base_url + "/_sim/stats").text)["cpu_seconds"]
            rates.append(len(paths) / elapsed)
            print(
                f"run {run + 1}: {len(paths)} detail pages in {elapsed:.2f} s = "
                f"{len(paths) / elapsed:.0f} req/s; server CPU {cpu_after - cpu_before:.2f} s "
                f"({(cpu_after - cpu_before) / len(paths) * 1000:.2f} ms/request)"
            )
        rates.sort()
        median = rates[len(rates) // 2]
        verdict = "met" if median >= 500 else "MISSED"
        print(
            f"median {median:.0f} req/s at concurrency {args.concurrency}; "
            f"target >= 500 req/s: {verdict}"
        )
    finally:
        server.send_signal(2)
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
