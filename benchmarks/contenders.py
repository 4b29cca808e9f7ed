"""The contenders trio-enrich is compared with, each run as its own process.

A  sequential: one request at a time with the pause before each (the state before the seed).
B  the seed's design, re-implemented for comparison: one task per item, a semaphore of N with
   the pause inside the permit, retries that pause only the request that failed, one writer
   task fed by a channel.

Both use our parser and store so that only the fetching strategy differs. Usage:

    python benchmarks/contenders.py A|B --db PATH --base-url URL --concurrency N --delay-ms D
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

import httpx
import trio

from trio_enrich import (
    FailureKind,
    ItemFailure,
    PageFailure,
    Store,
    TradeDetail,
    parse_trade_detail,
)

RETRIES = 3
BASE = 2.0
CAP = 30.0
RETRYABLE = {429, 403, 408, 500, 502, 503, 504}
TIMEOUT = [30.0]  # seconds per request; set from --timeout
HEADERS = {"accept": "text/html,application/xhtml+xml", "user-agent": "Mozilla/5.0 (bench)"}


def backoff(attempt: int, base: float, cap: float) -> float:
    """The seed's backoff: base doubling to a cap, with +-20% jitter."""
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


def sequential(store: Store, base_url: str, delay: float, base: float, cap: float) -> int:
    ids = store.pending_trade_ids()
    enriched = 0
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=TIMEOUT[0]) as client:
        for tx_id in ids:
            for attempt in range(1, RETRIES + 2):
                time.sleep(delay)
                try:
                    response = client.get(f"/trades/{tx_id}")
                except httpx.HTTPError:
                    if attempt > RETRIES:
                        break
                    time.sleep(backoff(attempt, base, cap))
                    continue
                if response.status_code in RETRYABLE and attempt <= RETRIES:
                    wait = response.headers.get("retry-after")
                    time.sleep(
                        float(wait) if wait and wait.isdigit() else backoff(attempt, base, cap)
                    )
                    continue
                detail = parse_trade_detail(response.content, tx_id)
                if isinstance(detail, TradeDetail):
                    store.write_trade_batch([detail])
                    enriched += 1
                elif detail.kind is FailureKind.TRUNCATED and attempt <= RETRIES:
                    continue
                else:
                    store.write_trade_batch([], [ItemFailure(tx_id, detail.kind, detail.reason)])
                break
    return enriched


async def seed_design(
    store: Store, base_url: str, concurrency: int, delay: float, base: float, cap: float
) -> int:
    ids = store.pending_trade_ids()
    permits = trio.Semaphore(concurrency)
    send, receive = trio.open_memory_channel[TradeDetail | ItemFailure](1000)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    enriched = 0

    async def writer() -> None:
        nonlocal enriched
        batch: list[TradeDetail | ItemFailure] = []

        def flush() -> None:
            details = [d for d in batch if isinstance(d, TradeDetail)]
            failures = [f for f in batch if isinstance(f, ItemFailure)]
            store.write_trade_batch(details, failures)
            batch.clear()

        async with receive:
            async for item in receive:
                batch.append(item)
                enriched += isinstance(item, TradeDetail)
                if len(batch) >= 50:
                    flush()
        flush()

    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, timeout=TIMEOUT[0], limits=limits
    ) as client:

        async def one(tx_id: int, out: trio.MemorySendChannel[TradeDetail | ItemFailure]) -> None:
            async with out:
                for attempt in range(1, RETRIES + 2):
                    async with permits:  # the pause is inside the permit
                        await trio.sleep(delay)
                        try:
                            response = await client.get(f"/trades/{tx_id}")
                        except httpx.HTTPError as error:
                            response = None
                            failure = str(error)
                    if response is None:
                        if attempt > RETRIES:
                            await out.send(ItemFailure(tx_id, FailureKind.TRANSPORT, failure))
                            return
                        await trio.sleep(backoff(attempt, base, cap))
                        continue
                    if response.status_code in RETRYABLE and attempt <= RETRIES:
                        # Only this request waits; the others keep hitting the site.
                        wait = response.headers.get("retry-after")
                        await trio.sleep(
                            float(wait) if wait and wait.isdigit() else backoff(attempt, base, cap)
                        )
                        continue
                    detail = parse_trade_detail(response.content, tx_id)
                    if isinstance(detail, PageFailure):
                        if detail.kind is FailureKind.TRUNCATED and attempt <= RETRIES:
                            continue
                        await out.send(ItemFailure(tx_id, detail.kind, detail.reason))
                    else:
                        await out.send(detail)
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            async with send:
                for tx_id in ids:  # one task per item, all at once
                    nursery.start_soon(one, tx_id, send.clone())
    return enriched


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("contender", choices=["A", "B"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=500)
    parser.add_argument("--retry-base-ms", type=float, default=2000)
    parser.add_argument("--retry-max-ms", type=float, default=30000)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    base, cap = args.retry_base_ms / 1000, args.retry_max_ms / 1000
    TIMEOUT[0] = args.timeout
    started = time.perf_counter()
    with Store.open(args.db) as store:
        if args.contender == "A":
            enriched = sequential(store, args.base_url, args.delay_ms / 1000, base, cap)
        else:
            enriched = trio.run(
                seed_design, store, args.base_url, args.concurrency, args.delay_ms / 1000,
                base, cap,
            )  # fmt: skip
    print(json.dumps({"enriched": enriched, "elapsed": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
