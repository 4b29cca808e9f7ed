"""Benchmarks side by side: trio-enrich against the sequential baseline, the seed's design,
Scrapy and the limit, in one run, against the same simulator (in its own process).

Run: python -m nox -s bench   (or python benchmarks/compare.py [--quick])

Writes benchmarks/results.json, BENCHMARKS.md and benchmarks/chart.png. Prints figures; asserts
nothing. Every contender runs as its own process and is measured with wait4 (wall time, user +
sys CPU seconds, peak RSS); the simulator's request count and CPU come from its /_sim/stats.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import (
    HERE,
    PY,
    ROOT,
    SERVE,
    listing_from_truth,
    lognormal_mean,
    run_measured,
    warm_bytecode,
)

from trio_enrich import Store


@dataclass
class Scenario:
    name: str
    title: str
    items: int
    concurrency: int
    delay_ms: float
    faults: dict[str, Any]
    contenders: str
    retry_base_ms: float = 2000
    retry_max_ms: float = 30000
    timeout: float = 30
    mean_latency: float = 0.0  # seconds, for the limit

    @property
    def limit(self) -> float:
        return math.ceil(self.items / self.concurrency) * (self.mean_latency + self.delay_ms / 1000)


@dataclass
class Result:
    scenario: str
    contender: str
    wall: float
    cpu: float
    peak_rss_mb: float
    requests: int
    enriched: int
    server_cpu: float
    runs: int = 1
    notes: list[str] = field(default_factory=list)


def scenarios(quick: bool) -> list[Scenario]:
    scale = 5 if quick else 1
    return [
        Scenario("1", "5,000 trade pages, N=10, 20 ms latency, no pause", 5000 // scale, 10, 0,
                 {"latency_ms": 20}, "ABCD", mean_latency=0.020),
        Scenario("2", "the seed's defaults: N=3, 500 ms pause, lognormal latency (median 150 ms)",
                 300 // scale, 3, 500, {"latency_median_ms": 150, "latency_p99_ms": 900},
                 "ABCD", mean_latency=lognormal_mean(150, 900)),
        Scenario("3", "1,000 trade pages on the hostile profile, N=5, no pause", 1000 // scale, 5,
                 0, {"profile": "hostile"}, "BCD", retry_base_ms=200, retry_max_ms=2000,
                 timeout=5, mean_latency=lognormal_mean(40, 400)),
    ]  # fmt: skip


def hostile_faults() -> dict[str, Any]:
    from trio_enrich.sim import profile

    values = asdict(profile("hostile"))
    values["hang_seconds"] = 8.0
    for key in ("not_found_ids", "error_digest_ids", "outages"):
        values.pop(key)
    return values


def server_stats(base_url: str) -> dict[str, Any]:
    return json.loads(httpx.get(base_url + "/_sim/stats", timeout=30).text)


def count_enriched(db: Path) -> int:
    with Store.open(db, read_only=True) as store:
        return store.status()["trades"]["enriched"]


def contender_command(letter: str, scenario: Scenario, db: Path, base_url: str) -> list[str]:
    common = ["--db", str(db), "--base-url", base_url]
    if letter in "AB":
        return [PY, str(HERE / "contenders.py"), letter, *common,
                "--concurrency", str(scenario.concurrency), "--delay-ms", str(scenario.delay_ms),
                "--retry-base-ms", str(scenario.retry_base_ms),
                "--retry-max-ms", str(scenario.retry_max_ms),
                "--timeout", str(scenario.timeout)]  # fmt: skip
    if letter == "C":
        return [PY, "-m", "trio_enrich", "trades", *common, "--progress", "none", "--json",
                "--concurrency", str(scenario.concurrency),
                "--details-delay-ms", str(int(scenario.delay_ms)),
                "--retry-base-ms", str(int(scenario.retry_base_ms)),
                "--retry-max-ms", str(int(scenario.retry_max_ms)),
                "--timeout", str(scenario.timeout), "--max-failures", "10"]  # fmt: skip
    return [PY, str(HERE / "scrapy_contender.py"), *common,
            "--concurrency", str(scenario.concurrency), "--delay-ms", str(scenario.delay_ms),
            "--timeout", str(scenario.timeout)]  # fmt: skip


def run_scenario(scenario: Scenario, workdir: Path) -> list[Result]:
    faults = hostile_faults() if scenario.faults.get("profile") == "hostile" else scenario.faults
    server = subprocess.Popen([PY, "-c", SERVE, str(scenario.items), json.dumps(faults)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    results = []
    try:
        truth = json.loads(httpx.get(base_url + "/_sim/truth", timeout=120).text)
        template = workdir / f"listing-{scenario.name}.db"
        with Store.open(template) as store:
            store.upsert_listing(listing_from_truth(truth))
        for letter in scenario.contenders:
            db = workdir / f"s{scenario.name}-{letter}.db"
            shutil.copy(template, db)
            before = server_stats(base_url)
            wall = cpu = rss = 0.0
            runs = 0
            # trio-enrich stops with exit 3 when its breaker trips; like a user (or cron) it is
            # then run again, until nothing retryable is left. The figures add up every run.
            while True:
                runs += 1
                run_wall, run_cpu, run_rss, out = run_measured(
                    contender_command(letter, scenario, db, base_url)
                )
                wall, cpu, rss = wall + run_wall, cpu + run_cpu, max(rss, run_rss)
                if letter != "C" or runs >= 10:
                    break
                summary = json.loads(out.strip().splitlines()[-1])
                # Run again after a breaker trip, and (as cron would) while items that failed
                # for a passing reason (a challenge page, say) are left; not for permanent ones.
                passing = set(summary["failed_by_kind"]) - {"error_digest"}
                if summary["finish_reason"] != "breaker" and not passing:
                    break
            after = server_stats(base_url)
            result = Result(
                scenario.name, letter, wall, cpu, rss, after["requests"] - before["requests"],
                count_enriched(db), after["cpu_seconds"] - before["cpu_seconds"], runs,
            )  # fmt: skip
            results.append(result)
            print(f"  scenario {scenario.name} {letter}: {result.enriched}/{scenario.items} "
                  f"enriched in {wall:.2f} s (runs {runs}), CPU {cpu:.2f} s, RSS {rss:.0f} MB, "
                  f"{result.requests} requests", flush=True)  # fmt: skip
    finally:
        server.kill()
        server.wait()
    return results


MEMORY_PROBE = """
import json, sys, trio
from trio_enrich import TRADES, EnrichOptions, Store, enrich
sys.path.insert(0, sys.argv[4])
from contenders import seed_design

def count_tasks():
    total, stack = 0, [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop(); total += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return total

async def main():
    store = Store.open(sys.argv[2])
    most = 0
    async with trio.open_nursery() as nursery:
        async def sample():
            nonlocal most
            while True:
                most = max(most, count_tasks())
                await trio.sleep(0.2)
        nursery.start_soon(sample)
        with trio.move_on_after(4):
            if sys.argv[1] == "C":
                await enrich(store, TRADES, EnrichOptions(base_url=sys.argv[3], concurrency=10,
                             delay=0))
            else:
                await seed_design(store, sys.argv[3], 10, 0.0, 2.0, 30.0)
        nursery.cancel_scope.cancel()
    with open("/proc/self/status") as status:  # ru_maxrss would carry the parent's peak
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"tasks": most, "peak_rss_mb": peak}))
trio.run(main)
"""


def run_memory(workdir: Path, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        server = subprocess.Popen([PY, "-c", SERVE, str(size), json.dumps({"latency_ms": 20})],
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        try:
            truth = json.loads(httpx.get(base_url + "/_sim/truth", timeout=300).text)
            template = workdir / f"memory-{size}.db"
            with Store.open(template) as store:
                store.upsert_listing(listing_from_truth(truth))
            del truth
            for letter in "BC":
                db = workdir / f"memory-{size}-{letter}.db"
                shutil.copy(template, db)
                out = subprocess.run([PY, "-c", MEMORY_PROBE, letter, str(db), base_url,
                                      str(HERE)], capture_output=True, text=True,
                                     cwd=ROOT, check=True).stdout  # fmt: skip
                row = {"contender": letter, "ids": size, **json.loads(out)}
                rows.append(row)
                print(f"  scenario 4 {letter}: {size} queued ids -> {row['tasks']} tasks, "
                      f"peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
        finally:
            server.kill()
            server.wait()
    return rows


NAMES = {"A": "A sequential", "B": "B seed design", "C": "C trio-enrich", "D": "D Scrapy",
         "E": "E limit"}  # fmt: skip


def write_report(
    all_results: list[Result], plan: list[Scenario], memory: list[dict[str, Any]], quick: bool
) -> None:
    data = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "quick": quick,
        "scenarios": [asdict(s) | {"limit": s.limit} for s in plan],
        "results": [asdict(r) for r in all_results],
        "memory": memory,
    }  # fmt: skip
    (HERE / "results.json").write_text(json.dumps(data, indent=2))
    lines = [
        "# Benchmarks",
        "",
        "Made by `python3 -m nox -s bench` (`benchmarks/compare.py`) in one run on this machine:",
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.platform()}.",
        "Every contender runs as its own process against the same simulator (its own process);",
        "wall time, CPU (user + sys) and peak RSS come from wait4; requests from the simulator.",
        "The machine is shared and noisy: read ratios, not the last digit.",
        "",
        "Contenders: A sequential (one request at a time, the pause before each); B the seed's",
        "design (a task per item, a semaphore of N with the pause inside the permit, retries that",
        "pause only their own request, one writer); C trio-enrich (its CLI); D Scrapy",
        "(CONCURRENT_REQUESTS=N, DOWNLOAD_DELAY = the pause, RETRY_TIMES=3, our parser, SQLite",
        "from an item pipeline); E the limit, ceil(K/N) x (mean latency + pause).",
        "",
    ]
    by = {(r.scenario, r.contender): r for r in all_results}
    for scenario in plan:
        trio_result = by.get((scenario.name, "C"))
        lines += [f"## Scenario {scenario.name}: {scenario.title}", "",
                  "| contender | wall s | CPU s | peak RSS MB | requests | enriched | "
                  "efficiency (limit / wall) | wall / trio-enrich's | runs | server CPU s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for letter in scenario.contenders:
            r = by[(scenario.name, letter)]
            ratio = r.wall / trio_result.wall if trio_result else float("nan")
            lines.append(
                f"| {NAMES[letter]} | {r.wall:.2f} | {r.cpu:.2f} | {r.peak_rss_mb:.0f} | "
                f"{r.requests} | {r.enriched}/{scenario.items} | {scenario.limit / r.wall:.3f} | "
                f"{ratio:.2f} | {r.runs} | {r.server_cpu:.2f} |"
            )
        lines += [f"| {NAMES['E']} | {scenario.limit:.2f} | | | {scenario.items} | | 1 | | | |",
                  ""]  # fmt: skip
    lines += [
        "## Scenario 4: memory, 1,000 against 100,000 queued ids",
        "",
        "| contender | queued ids | peak RSS MB | most tasks at once |",
        "|---|---|---|---|",
    ]
    for row in memory:
        lines.append(f"| {NAMES[row['contender']]} | {row['ids']} | {row['peak_rss_mb']:.0f} | "
                     f"{row['tasks']} |")  # fmt: skip
    lines += ["", "## Targets for trio-enrich", "", *targets(by, plan, memory),
              "", "![wall time per contender and scenario](benchmarks/chart.png)", ""]  # fmt: skip
    # by benchmarks/rate.py, bench_clients.py and bench_archive_run.py
    for written in (
        "rate.md",
        "clients.md",
        "archive.md",
        "archive-latency.md",
        "archive-nextsite.md",
    ):
        if (HERE / written).exists():
            lines += [(HERE / written).read_text()]
    analysis = HERE / "analysis.md"  # written by hand after a run: why a target is missed
    if analysis.exists():
        lines += [analysis.read_text()]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    chart(all_results, plan)


def targets(
    by: dict[tuple[str, str], Result], plan: list[Scenario], memory: list[dict[str, Any]]
) -> list[str]:
    out = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    s = {p.name: p for p in plan}
    if ("1", "C") in by:
        c, b, d = by[("1", "C")], by.get(("1", "B")), by.get(("1", "D"))
        eff = s["1"].limit / c.wall
        out.append(f"- Scenario 1, efficiency >= 0.9: {eff:.3f} {verdict(eff >= 0.9)}.")
        if d:
            out.append(f"- Scenario 1, wall <= 0.5 x Scrapy's: {c.wall / d.wall:.2f} x "
                       f"{verdict(c.wall <= 0.5 * d.wall)}.")  # fmt: skip
        if b:
            out.append(f"- Scenario 1, wall <= 0.8 x the seed design's: {c.wall / b.wall:.2f} x "
                       f"{verdict(c.wall <= 0.8 * b.wall)}.")  # fmt: skip
    if ("2", "C") in by:
        c, a = by[("2", "C")], by.get(("2", "A"))
        over = c.wall / s["2"].limit - 1
        out.append(f"- Scenario 2, within 5% of the limit: {100 * over:+.1f}% "
                   f"{verdict(over <= 0.05)}.")  # fmt: skip
        if a:
            out.append(f"- Scenario 2, >= 3x faster than sequential: {a.wall / c.wall:.2f}x "
                       f"{verdict(a.wall >= 3 * c.wall)}.")  # fmt: skip
    if ("3", "C") in by:
        c, b = by[("3", "C")], by.get(("3", "B"))
        from trio_enrich.sim import make_dataset, profile

        hostile = profile("hostile")
        ids = make_dataset(1, s["3"].items).trade_index
        permanent = sum(1 for tx_id in ids if hostile.id_fault(1, tx_id))
        retryable = s["3"].items - permanent
        out.append(
            f"- Scenario 3, every retryable item enriched: {c.enriched} of the {retryable} "
            f"that are not permanently not-found or error pages "
            f"{verdict(c.enriched == retryable)}."
        )
        if b:
            out.append(f"- Scenario 3, fewer requests than the seed design: {c.requests} vs "
                       f"{b.requests} {verdict(c.requests < b.requests)}.")  # fmt: skip
    mem = {(r["contender"], r["ids"]): r for r in memory}
    if ("C", 1000) in mem and ("C", 100_000) in mem:
        grow = mem[("C", 100_000)]["peak_rss_mb"] - mem[("C", 1000)]["peak_rss_mb"]
        same = mem[("C", 100_000)]["tasks"] == mem[("C", 1000)]["tasks"]
        out.append(f"- Scenario 4, peak RSS grows <= 30 MB from 1,000 to 100,000 ids: "
                   f"{grow:+.1f} MB {verdict(grow <= 30)}; task count independent of K: "
                   f"{mem[('C', 1000)]['tasks']} and {mem[('C', 100_000)]['tasks']} "
                   f"{verdict(same)}.")  # fmt: skip
    if ("1", "C") in by:
        per = by[("1", "C")].cpu / max(1, by[("1", "C")].enriched) * 1000
        out.append(f"- CPU per enriched trade (fetch + parse + store, process start included): "
                   f"{per:.3f} ms {verdict(per <= 1.5)} (target <= 1.5 ms).")  # fmt: skip
    return out


def chart(all_results: list[Result], plan: list[Scenario]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(plan), figsize=(4.2 * len(plan), 4), squeeze=False)
    for axis, scenario in zip(axes[0], plan, strict=True):
        rows = [r for r in all_results if r.scenario == scenario.name]
        labels = [NAMES[r.contender] for r in rows] + [NAMES["E"]]
        values = [r.wall for r in rows] + [scenario.limit]
        colours = ["#999999" if label[0] != "C" else "#1f77b4" for label in labels]
        colours[-1] = "#2ca02c"
        axis.bar(range(len(values)), values, color=colours)
        axis.set_xticks(range(len(values)), [label.split(" ", 1)[0] for label in labels])
        axis.set_title(f"Scenario {scenario.name}", fontsize=10)
        axis.set_ylabel("wall time (s)")
    figure.suptitle("Wall time per contender (A seq, B seed, C trio-enrich, D Scrapy, E limit)")
    figure.tight_layout()
    figure.savefig(HERE / "chart.png", dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a fifth of the items, for trying")
    parser.add_argument(
        "--only", default="1234R", help="scenarios to run, e.g. 13; R: issue 15's rate scenarios"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite BENCHMARKS.md and the chart from benchmarks/results.json",
    )
    args = parser.parse_args()
    plan = [s for s in scenarios(args.quick) if s.name in args.only]
    if "R" in args.only and not args.report_only:
        import rate

        rate.main(["--quick"] if args.quick else [])
        if not plan and "4" not in args.only:  # only R: the other figures stay as they were
            args.report_only = True
    if args.report_only:
        data = json.loads((HERE / "results.json").read_text())
        done = {r["scenario"] for r in data["results"]}
        plan = [s for s in scenarios(data["quick"]) if s.name in done]
        write_report([Result(**r) for r in data["results"]], plan, data["memory"], data["quick"])
        return 0
    warm_bytecode()
    results: list[Result] = []
    memory: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for scenario in plan:
            print(f"scenario {scenario.name}: {scenario.title} (limit {scenario.limit:.2f} s)",
                  flush=True)  # fmt: skip
            results += run_scenario(scenario, Path(folder))
        if "4" in args.only:
            print("scenario 4: memory", flush=True)
            memory = run_memory(Path(folder), (1000, 10_000 if args.quick else 100_000))
    write_report(results, plan, memory, args.quick)
    print((ROOT / "BENCHMARKS.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
