"""Issue 22's benchmark: the browser client (curl_cffi) beside httpx in scenario 1.

Scenario 1 of BENCHMARKS.md: 5,000 trade pages, N=10, 20 ms latency, no pause, no faults.
`trio-enrich trades` runs as its own process with `--client httpx` and `--client browser`,
alternately, against one simulator process; wall time, CPU (user + sys, every thread) and
peak RSS come from wait4 and /proc, as in compare.py.

    python benchmarks/bench_clients.py [--items 5000] [--runs 3]

Prints the median of each figure and the ratio browser / httpx, and writes them to
benchmarks/clients.md, which BENCHMARKS.md includes (`compare.py --report-only` rebuilds it);
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import PY, SERVE, listing_from_truth, run_measured, warm_bytecode  # noqa: E402

from trio_enrich import Store  # noqa: E402

CLIENTS = ("httpx", "browser")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    warm_bytecode()
    faults = json.dumps({"latency_ms": 20})
    server = subprocess.Popen([PY, "-c", SERVE, str(args.items), faults],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in CLIENTS}
    try:
        truth = json.loads(httpx.get(base_url + "/_sim/truth", timeout=120).text)
        with tempfile.TemporaryDirectory() as folder:
            template = Path(folder) / "listing.db"
            with Store.open(template) as store:
                store.upsert_listing(listing_from_truth(truth))
            for run in range(args.runs):
                for name in CLIENTS:
                    db = Path(folder) / f"{name}-{run}.db"
                    shutil.copy(template, db)
                    command = [PY, "-m", "trio_enrich", "trades", "--db", str(db),
                               "--base-url", base_url, "--progress", "none", "--json",
                               "--concurrency", "10", "--details-delay-ms", "0",
                               "--client", name]  # fmt: skip
                    wall, cpu, rss, out = run_measured(command)
                    summary = json.loads(out.strip().splitlines()[-1])
                    assert summary["enriched"] == args.items, summary
                    figures[name].append((wall, cpu, rss))
                    print(f"  run {run + 1} {name:<8} wall {wall:6.2f} s  CPU {cpu:5.2f} s  "
                          f"RSS {rss:5.1f} MB", flush=True)  # fmt: skip
    finally:
        server.kill()
        server.wait()
    lines = [
        "## Scenario 1 with both clients: `--client httpx` and `--client browser` (issue 22)",
        "",
        f"Made by `python3 benchmarks/bench_clients.py --runs {args.runs}`: `trio-enrich "
        f"trades` on {args.items} trade pages, N=10, 20 ms latency, no pause, each client run "
        "alternately against one simulator; the median of the runs. CPU counts every thread "
        "(curl_cffi's requests run in trio's worker threads).",
        "",
        "| client | wall s | CPU s | CPU ms / page | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    medians = {}
    for name in CLIENTS:
        wall, cpu, rss = (statistics.median(run[k] for run in figures[name]) for k in range(3))
        medians[name] = (wall, cpu, rss)
        lines.append(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {1000 * cpu / args.items:.3f} | {rss:.0f} |"
        )
    (hw, hc, hr), (bw, bc, br) = medians["httpx"], medians["browser"]
    lines += ["", f"browser / httpx: wall {bw / hw:.2f}, CPU {bc / hc:.2f}, peak RSS "
              f"{br / hr:.2f}.", ""]  # fmt: skip
    print("\n" + "\n".join(lines))
    (HERE / "clients.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
