"""A discrete-event model of `--max-rps auto` against a token-bucket limit, for exploring.

The real control law (`trio_enrich.core.pacing.AdaptiveRate`, sans-io) is driven on a virtual
clock by a model of the gate (slots spaced by the law's rate, every worker held for a 429's
Retry-After), N workers and a site whose limiter is a token bucket (rate, burst; the rate may
change at a moment) with lognormal latency. Each configuration runs with several seeds; the
table gives the median wall over the ideal (pages / rate) and the share of requests answered
429. A model, not a measurement: the figures in BENCHMARKS.md come from real runs
(benchmarks/rate.py); this is for trying a change in seconds before running those.

    python benchmarks/model_rate.py [--pages 600] [--seeds 9] [--limits 5,12,20,33]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trio_enrich.core.pacing import COLD_START_RATE, AdaptiveRate, Signal
from trio_enrich.sim._limits import Limiter


@dataclass
class Run:
    wall: float
    requests: int
    refused: int
    rates: list[tuple[float, float]] = field(default_factory=list)


def one_run(
    pages: int, limit: float, burst: float, *, seed: int, workers: int = 10,
    median: float = 0.020, p99: float = 0.080, retry_after: float = 1.0,
    change: tuple[float, float] | None = None, startup: float = 0.0,
) -> Run:  # fmt: skip
    rng = random.Random(seed)
    sigma = math.log(p99 / median) / 2.3263478740408408
    bucket = Limiter(limit, burst)
    law = AdaptiveRate(start=COLD_START_RATE)
    now = startup
    law.begin(now)
    waiting = list(range(pages))  # items not yet asked for (or to be asked again)
    retry_at: list[tuple[float, int]] = []  # (moment, item): a refused item's backoff
    answers: list[tuple[float, int, float, float, bool]] = []  # (at, item, sent, rate, ok)
    free = workers
    next_slot = -math.inf
    paused_until = -math.inf
    done = requests = refused = 0
    while done < pages:
        while retry_at and retry_at[0][0] <= now:
            waiting.append(heapq.heappop(retry_at)[1])
        slot = max(next_slot + 1.0 / law.rate, paused_until)
        can_send = free > 0 and waiting
        candidates = [answers[0][0]] if answers else []
        if retry_at:
            candidates.append(retry_at[0][0])
        if can_send:
            candidates.append(max(slot, now))
        moment = min(candidates)
        if answers and answers[0][0] <= moment:
            at, item, sent_at, rate, ok = heapq.heappop(answers)
            now = at
            free += 1
            if ok:
                done += 1
                law.answered(now, sent_at, rate, Signal.OK, now - sent_at)
            else:
                refused += 1
                law.answered(now, sent_at, rate, Signal.LIMITED, now - sent_at)
                paused_until = max(paused_until, now + retry_after)
                heapq.heappush(retry_at, (now + rng.uniform(0, 2.0), item))
            continue
        now = max(now, moment)
        if not can_send or now < slot:
            continue
        next_slot = max(slot, now - 0.25 / law.rate)
        item = waiting.pop(0)
        free -= 1
        requests += 1
        rate = law.sent(now)
        if change is not None and now >= change[0]:
            bucket.rate, change = change[1], None  # the limit changes at that moment
        ok = bucket.take(now)
        latency = rng.lognormvariate(math.log(median), sigma)
        heapq.heappush(answers, (now + latency, item, now, rate, ok))
    return Run(now, requests, refused, list(law.history))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--seeds", type=int, default=9)
    parser.add_argument("--limits", default="5,12,20,27,33")
    parser.add_argument("--burst", type=float, default=5.0)
    parser.add_argument("--fall", action="store_true", help="the limit halves half-way through")
    parser.add_argument("--trace", action="store_true", help="print the first run's rates")
    args = parser.parse_args(argv)
    print("| limit | pages | wall / ideal (median, worst) | 429 share (median, worst) |")
    print("|---|---|---|---|")
    for limit in (float(x) for x in args.limits.split(",")):
        ratios, shares = [], []
        for seed in range(args.seeds):
            change = (args.pages / limit / 2, limit / 2) if args.fall else None
            run = one_run(args.pages, limit, args.burst, seed=seed, change=change)
            ideal = args.pages / limit if change is None else (
                args.pages / 2 / limit + args.pages / 2 / (limit / 2)
            )  # fmt: skip
            ratios.append(run.wall / ideal)
            shares.append(run.refused / run.requests)
            if args.trace and seed == 0:
                print(" ".join(f"{t:.2f}:{r:.1f}" for t, r in run.rates[:40]))
        print(f"| {limit:g} | {args.pages} | {statistics.median(ratios):.3f}, {max(ratios):.3f} "
              f"| {100 * statistics.median(shares):.2f}%, {100 * max(shares):.2f}% |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
