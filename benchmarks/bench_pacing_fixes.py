"""Issue 20's pacing runs, as a user would make them, with the figures the issue names.

* item 3: `trades --concurrency 10 --details-delay-ms 0` (fixed pacing, no rate cap) against
  the `limited` profile (a hidden 20 requests/s, burst 5, 429 with Retry-After 1): the wall
  against the ideal 1,000 / 20 s, the share of requests answered 429, the items enriched;
* item 4: `trades --max-rps auto --concurrency 3 --details-delay-ms 0` against the `loaded`
  profile: the rate the client really sent against the rate it showed and remembered.

    python benchmarks/bench_pacing_fixes.py [--items 1000] [--runs 1]

One simulator process per run (fresh dataset); figures come from its request log and from the
database. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import PY, SERVE, listing_from_truth  # noqa: E402

from trio_enrich import Store  # noqa: E402
from trio_enrich.sim import PROFILES  # noqa: E402


def _faults(name: str) -> dict[str, object]:
    faults = PROFILES[name]
    return {f: getattr(faults, f) for f in faults.__dataclass_fields__}


def one_run(profile: str, items: int, flags: list[str]) -> dict[str, object]:
    faults = {k: v for k, v in _faults(profile).items() if isinstance(v, int | float | bool)}
    server = subprocess.Popen([PY, "-c", SERVE, str(items), json.dumps(faults)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        truth = json.loads(httpx.get(base_url + "/_sim/truth", timeout=60).text)
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "ct.db"
            with Store.open(db) as store:
                store.upsert_listing(listing_from_truth(truth))
            time.sleep(1.5)  # the limiter's bucket refills
            served_before = len(httpx.get(base_url + "/_sim/log", timeout=60).text.splitlines())
            started = time.perf_counter()
            done = subprocess.run(
                [PY, "-m", "trio_enrich", "trades", "--db", str(db), "--base-url", base_url,
                 "--progress", "none", "--json", *flags],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - started
            log = [json.loads(line) for line in
                   httpx.get(base_url + "/_sim/log", timeout=60).text.splitlines()]  # fmt: skip
            log = log[served_before:]
            connection = sqlite3.connect(db)  # (the bookkeeping as stored)
            try:
                enriched = connection.execute("SELECT COUNT(enriched_at) FROM trades").fetchone()[0]
                learned = connection.execute(
                    "SELECT value FROM trio_enrich_meta WHERE key = 'learned_rate'"
                ).fetchall()
            finally:
                connection.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    pages = [r for r in log if r["path"].startswith("/trades/")]
    times = sorted(r["start"] for r in pages)
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {
        "exit": done.returncode,
        "wall": wall,
        "enriched": enriched,
        "failed": summary["failed"],
        "requests": len(pages),
        "answered_429": sum(1 for r in pages if r["status"] == 429),
        "sent_rate": len(pages) / span if span else 0.0,
        "shown_rate": summary.get("rate_per_second"),
        "remembered": (next(iter(json.loads(learned[0][0]).values()))["rate"] if learned else None),
        "paused": summary["seconds_paused"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    ideal = args.items / 20
    print(f"item 3: limited profile (20/s, burst 5, Retry-After 1), {args.items} trades, "
          f"--concurrency 10 --details-delay-ms 0; ideal {ideal:.0f} s")  # fmt: skip
    walls = []
    for _ in range(args.runs):
        run = one_run("limited", args.items, ["--concurrency", "10", "--details-delay-ms", "0"])
        walls.append(run["wall"])
        share = 100 * run["answered_429"] / max(1, run["requests"])
        print(f"  wall {run['wall']:.1f} s = {run['wall'] / ideal:.2f}x ideal; "
              f"{run['answered_429']} of {run['requests']} answered 429 ({share:.1f}%); "
              f"enriched {run['enriched']}, failed {run['failed']}, exit {run['exit']}, "
              f"paused {run['paused']} s")  # fmt: skip
    if args.runs > 1:
        print(f"  median wall {statistics.median(walls):.1f} s")
    print(
        "item 4: loaded profile, --max-rps auto --concurrency 3 --details-delay-ms 0, "
        f"{args.items} trades"
    )
    auto = ["--max-rps", "auto", "--concurrency", "3", "--details-delay-ms", "0"]
    run = one_run("loaded", args.items, auto)
    print(f"  sent {run['sent_rate']:.1f} req/s on average; shown {run['shown_rate']} req/s; "
          f"remembered {run['remembered']} req/s; enriched {run['enriched']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
