"""Issue 15's scenarios: a site whose rate limit nobody tells us, and a site that slows under load.

Run: python benchmarks/compare.py --only R   (or python benchmarks/rate.py [--quick])

Against one simulator process per scenario (each contender in turn, 3 s apart so the limiter's
bucket refills): trio-enrich with --max-rps auto (a fresh database, then a second run that
starts from the rate the first one learned), trio-enrich with fixed settings (its defaults;
N=10 with no pause; told the answer, --max-rps L), the seed's design (N=10, no pause), and
Scrapy with AutoThrottle (target concurrency 2.0). Figures come from the simulator's request
log: every request, its status and its times. Writes benchmarks/rate_results.json,
benchmarks/rate.md (included in BENCHMARKS.md) and benchmarks/rate_chart.png. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    PY,
    SERVE,
    listing_from_truth,
    lognormal_mean,
    run_measured,
    warm_bytecode,
)

from trio_enrich import Store  # noqa: E402


@dataclass
class RateScenario:
    name: str
    title: str
    items: int
    faults: dict[str, Any]
    limit: float | None  # the hidden rate limit (requests/s), if any
    contenders: tuple[str, ...]
    # The limit falls: (after this many requests to the simulator, to this rate).
    falls: tuple[int, float] | None = None

    @property
    def ideal(self) -> float:
        """Seconds at the limit: pages / limit (with a fall, each part at its rate)."""
        if self.limit is None:
            return float("nan")
        if self.falls is None:
            return self.items / self.limit
        before = min(self.items, self.falls[0])
        return before / self.limit + (self.items - before) / self.falls[1]


@dataclass
class RateResult:
    scenario: str
    contender: str
    wall: float
    requests: int
    refused: int  # 429 answers
    overloaded: int  # 503 answers
    enriched: int
    median_latency_ms: float  # the site's, for its 200 answers
    first_30s_refused: int = 0
    later_refused_per_30s: float = 0.0
    # (second, 200s, the limiter's refusals)
    timeline: list[tuple[float, int, int]] = field(default_factory=list)
    first_second: int = 0  # requests in the run's first second (from its first request)
    first_two_seconds: int = 0
    limited: int = 0  # answers refusing for the limit (429, or 503 with the 503 form)
    settle_s: float | None = None  # a fall: seconds until the rate is under the new limit
    refused_after_settle: int = 0  # ... and the refusals after that (probes)
    rate_after_settle: float = 0.0  # requests per second in the 20 s after settling
    earlier: bool = False  # taken from an earlier run (--keep), not measured in this one


CONTENDERS = {
    "auto": "trio-enrich --max-rps auto (N=10)",
    "auto-2": "trio-enrich --max-rps auto, second run (remembered rate)",
    "defaults": "trio-enrich defaults (N=3, 500 ms pause)",
    "n10": "trio-enrich N=10, no pause",
    "told": "trio-enrich N=10, --max-rps L (told the answer)",
    "seed": "the seed's design (N=10, no pause)",
    "scrapy": "Scrapy + AutoThrottle (target 2.0, N=10)",
}
EARLIER = " (an earlier run's row)"
LIMITED = {"latency_median_ms": 20, "latency_p99_ms": 80, "rate_limit_burst": 5, "retry_after": 1}
# A limit of 200 requests in each 10 s window (20/s), stated in the answers' headers.
STATED = {"latency_median_ms": 20, "latency_p99_ms": 80, "rate_limit": 20, "rate_window": 10}
FORMS = {"RHI": "ratelimit", "RHL": "ratelimit-legacy", "RHX": "x-ratelimit"}


def scenarios(quick: bool) -> list[RateScenario]:
    k = 300 if quick else 1200
    load = 1000 if quick else 4000  # enough for the steady state to count, past the ramp
    everyone = ("auto", "auto-2", "defaults", "n10", "told", "seed", "scrapy")
    half = k // 2
    stated = [
        RateScenario(
            name,
            f"a limit of 200 requests per 10 s stated in {form} headers, {half:,} pages",
            half,
            {**STATED, "rate_headers": form},
            20.0,
            ("auto", "n10"),
        )
        for name, form in FORMS.items()
    ]
    return [
        RateScenario("R20S", f"hidden limit 20 req/s (burst 5), {half:,} pages, N=10", half,
                     {**LIMITED, "rate_limit": 20}, 20.0, ("auto", "told")),
        RateScenario("R20", f"hidden limit 20 req/s (burst 5), {k:,} pages, N=10", k,
                     {**LIMITED, "rate_limit": 20}, 20.0, everyone),
        RateScenario("R5", f"hidden limit 5 req/s (burst 5), {k:,} pages, N=10", k,
                     {**LIMITED, "rate_limit": 5}, 5.0, everyone),
        RateScenario("RL", f"hidden limit 20 req/s with a 5 s lockout after a violation, "
                     f"{k:,} pages", k, {**LIMITED, "rate_limit": 20, "lockout_seconds": 5},
                     20.0, everyone),
        # 10 requests measure the unloaded latency first; the limit falls half way through.
        RateScenario("RF", f"hidden limit 20 req/s falling to 10 half way, {k:,} pages", k,
                     {**LIMITED, "rate_limit": 20, "rate_limit_after": [10 + half, 10.0]},
                     20.0, ("auto",), falls=(half, 10.0)),
        *stated,
        RateScenario("R503", f"hidden limit 20 req/s refused with 503 and Retry-After, "
                     f"{half:,} pages", half, {**LIMITED, "rate_limit": 20, "limit_status": 503},
                     20.0, ("auto", "n10")),
        RateScenario("LOAD", f"a site that slows under load: 4 requests served at once, ~50 ms "
                     f"each, 503 beyond a queue of 12; {load:,} pages", load,
                     {"latency_median_ms": 50, "latency_p99_ms": 120, "capacity": 4,
                      "queue_limit": 12}, None, ("auto", "n10", "seed", "scrapy")),
    ]  # fmt: skip


def command(contender: str, scenario: RateScenario, db: Path, url: str) -> list[str]:
    common = ["--db", str(db), "--base-url", url]
    trio_enrich = [PY, "-m", "trio_enrich", "trades", *common, "--progress", "none", "--json",
                   "--max-failures", "20"]  # fmt: skip
    if contender in ("auto", "auto-2"):
        return [*trio_enrich, "--concurrency", "10", "--max-rps", "auto"]
    if contender == "defaults":
        return trio_enrich
    if contender == "n10":
        return [*trio_enrich, "--concurrency", "10", "--details-delay-ms", "0"]
    if contender == "told":
        return [*trio_enrich, "--concurrency", "10", "--details-delay-ms", "0",
                "--max-rps", str(scenario.limit)]  # fmt: skip
    if contender == "seed":
        return [PY, str(HERE / "contenders.py"), "B", *common, "--concurrency", "10",
                "--delay-ms", "0"]  # fmt: skip
    return [PY, str(HERE / "scrapy_contender.py"), *common, "--concurrency", "10",
            "--delay-ms", "0", "--autothrottle", "2.0"]  # fmt: skip


def log_since(url: str, start_index: int) -> list[dict[str, Any]]:
    text = httpx.get(url + "/_sim/log", timeout=60).text
    return [json.loads(line) for line in text.splitlines()[start_index:]]


def enriched(db: Path) -> int:
    connection = sqlite3.connect(db)
    try:
        return int(connection.execute("SELECT COUNT(enriched_at) FROM trades").fetchone()[0])
    finally:
        connection.close()


def measure(
    scenario: RateScenario, contender: str, db: Path, url: str, served: int
) -> tuple[RateResult, int]:
    wall, _, _, _ = run_measured(command(contender, scenario, db, url))
    records = log_since(url, served)
    start = min((r["start"] for r in records), default=0.0)
    ok = [r for r in records if r["status"] == 200]
    refused = [r for r in records if r["status"] == 429]
    limit_status = int(scenario.faults.get("limit_status", 429))

    def refused_by_limiter(record: dict[str, Any]) -> bool:  # a 429, or the limiter's 503
        return bool(record["status"] == limit_status and record["fault"].startswith("429"))

    limited = [r for r in records if refused_by_limiter(r)]
    seconds = int(max((r["start"] for r in records), default=start) - start) + 1
    counts = [[0, 0] for _ in range(seconds)]
    for record in records:
        slot = int(record["start"] - start)
        if record["status"] == 200:
            counts[slot][0] += 1
        elif refused_by_limiter(record):
            counts[slot][1] += 1
    timeline = [(s, c[0], c[1]) for s, c in enumerate(counts)]
    first = sum(1 for r in refused if r["start"] - start < 30)
    later_span = max(0.0, seconds - 30)
    later = (len(refused) - first) / later_span * 30 if later_span > 0 else 0.0
    latencies = [1000 * (r["end"] - r["start"]) for r in ok]
    result = RateResult(
        scenario.name, contender, wall, len(records), len(refused),
        sum(1 for r in records if r["status"] == 503), enriched(db),
        statistics.median(latencies) if latencies else 0.0, first, later, timeline,
        sum(1 for r in records if r["start"] - start < 1.0),
        sum(1 for r in records if r["start"] - start < 2.0), len(limited),
    )  # fmt: skip
    if scenario.falls is not None:
        result.settle_s, result.refused_after_settle, result.rate_after_settle = settled(
            records, scenario, served
        )
    return result, served + len(records)


def settled(
    records: list[dict[str, Any]], scenario: RateScenario, served: int
) -> tuple[float | None, int, float]:
    """After the limit fell: seconds from the fall to the end of the refusals that came in the
    20 s after it (the law finding the new limit), the refusals later (its probes), and the
    requests per second in the 20 s after that end."""
    assert scenario.falls is not None
    fall_at = scenario.faults["rate_limit_after"][0] - served
    if not 0 <= fall_at < len(records):
        return None, 0, 0.0
    changed = records[fall_at]["start"]
    after = records[fall_at:]
    finding = [r["start"] for r in after if r["status"] == 429 and r["start"] < changed + 20.0]
    end = max(finding, default=changed)
    later = sum(1 for r in after if r["status"] == 429 and r["start"] >= changed + 20.0)
    rate = sum(1 for r in after if end < r["start"] <= end + 20.0) / 20.0
    return end - changed, later, rate


def run(scenario: RateScenario, workdir: Path) -> tuple[list[RateResult], float]:
    server = subprocess.Popen([PY, "-c", SERVE, str(scenario.items), json.dumps(scenario.faults)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    results: list[RateResult] = []
    unloaded = 0.0
    try:
        truth = json.loads(httpx.get(url + "/_sim/truth", timeout=120).text)
        template = workdir / f"listing-{scenario.name}.db"
        with Store.open(template) as store:
            store.upsert_listing(listing_from_truth(truth))
        served = 0
        # The site's unloaded latency: ten requests one at a time.
        with httpx.Client(base_url=url) as client:
            for _ in range(10):
                client.get("/trades?page=1")
                time.sleep(0.3)
        records = log_since(url, served)
        served += len(records)
        unloaded = statistics.median(1000 * (r["end"] - r["start"]) for r in records)
        auto_db: Path | None = None
        for contender in scenario.contenders:
            # The bucket refills, a lockout or a stated window ends.
            time.sleep(3 + scenario.faults.get("lockout_seconds", 0)
                       + scenario.faults.get("rate_window", 0))  # fmt: skip
            db = workdir / f"{scenario.name}-{contender}.db"
            if contender == "auto-2" and auto_db is not None:
                shutil.copy(auto_db, db)  # the learned rate is in it
                connection = sqlite3.connect(db)
                connection.execute("UPDATE trades SET enriched_at = NULL")
                connection.execute("DELETE FROM trio_enrich_failures")
                connection.commit()
                connection.close()
            else:
                shutil.copy(template, db)
            result, served = measure(scenario, contender, db, url, served)
            if contender == "auto":
                auto_db = db
            results.append(result)
            ideal = scenario.ideal
            print(f"  {scenario.name} {contender}: {result.enriched}/{scenario.items} in "
                  f"{result.wall:.1f} s ({result.wall / ideal:.3f} of ideal), "
                  f"{result.requests} requests, {result.refused} x 429, "
                  f"{result.overloaded} x 503, median latency {result.median_latency_ms:.0f} "
                  f"ms, first 1 s / 2 s: {result.first_second} / {result.first_two_seconds}"
                  + ("" if result.settle_s is None else
                     f", last refusal {result.settle_s:.1f} s after the fall, then "
                     f"{result.rate_after_settle:.1f} req/s, later "
                     f"{result.refused_after_settle} x 429"), flush=True)  # fmt: skip
    finally:
        server.kill()
        server.wait()
    return results, unloaded


def report(
    plan: list[RateScenario], results: list[RateResult], unloaded: dict[str, float]
) -> list[str]:
    lines = [
        "## Scenario R: a rate limit hidden or stated, and a site that slows under load "
        "(issues 15, 24)",
        "",
        "Made by `python3 benchmarks/compare.py --only R` (`benchmarks/rate.py`). The simulator's",
        "hidden limiter is a token bucket (429 with `Retry-After: 1` when empty); the stated one",
        "allows 200 requests in each 10 s window and says so in its headers; latency ~20 ms.",
        "`of ideal` is the wall time (the process's, start-up included) over the limit's time",
        "(pages / limit). `first 1 s / 2 s`: requests sent in the run's first second and two.",
        "Contenders are one process each, one after the other against the same simulator.",
        "",
    ]
    by = {(r.scenario, r.contender): r for r in results}
    for scenario in plan:
        rows = [by[(scenario.name, c)] for c in scenario.contenders if (scenario.name, c) in by]
        if not rows:
            continue
        lines += [f"### {scenario.name}: {scenario.title}", ""]
        if scenario.limit:
            ideal = scenario.ideal
            refusal = "503" if scenario.faults.get("limit_status") == 503 else "429"
            lines += [
                f"| contender | wall s | of ideal | requests | {refusal} refusals (share) | "
                "first 1 s / 2 s | enriched |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in rows:
                share = 100 * r.limited / max(1, r.requests)
                first = "n/a" if r.earlier else f"{r.first_second} / {r.first_two_seconds}"
                lines.append(
                    f"| {CONTENDERS[r.contender]}{EARLIER if r.earlier else ''} | {r.wall:.1f} | "
                    f"{r.wall / ideal:.3f} | {r.requests} | {r.limited} ({share:.1f}%) | "
                    f"{first} | {r.enriched}/{scenario.items} |"
                )
            fall = by.get((scenario.name, "auto"))
            if scenario.falls is not None and fall is not None and fall.settle_s is not None:
                lines += [
                    "", f"After the fall to {scenario.falls[1]:g} req/s: the last refusal of "
                    f"the law finding it came {fall.settle_s:.1f} s after the fall, then "
                    f"{fall.rate_after_settle:.1f} requests/s for 20 s; "
                    f"{fall.refused_after_settle} "
                    f"{'refusal' if fall.refused_after_settle == 1 else 'refusals'} later "
                    "(its probes upward).",
                ]  # fmt: skip
            second = by.get((scenario.name, "auto-2"))
            if second is not None:
                lines += ["", f"Second auto run: 429 answers in its first 30 s: "
                          f"{second.first_30s_refused}; after that, "
                          f"{second.later_refused_per_30s:.1f} per 30 s."]  # fmt: skip
        else:
            base = unloaded.get(scenario.name, 0.0)
            capacity = 4 / lognormal_mean(50, 120)
            lines += [
                f"Unloaded latency (one request at a time): {base:.0f} ms; capacity about "
                f"{capacity:.0f} pages/s (4 servers, {1000 * lognormal_mean(50, 120):.0f} ms mean "
                "service time).",
                "",
                "| contender | wall s | pages/s | of capacity | site median latency ms | "
                "x unloaded | 503 answers | enriched |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for r in rows:
                rate = r.enriched / r.wall if r.wall else 0.0
                lines.append(
                    f"| {CONTENDERS[r.contender]} | {r.wall:.1f} | {rate:.1f} | "
                    f"{rate / capacity:.2f} | {r.median_latency_ms:.0f} | "
                    f"{r.median_latency_ms / base if base else float('nan'):.2f} | "
                    f"{r.overloaded} | {r.enriched}/{scenario.items} |"
                )
        lines.append("")
    lines += ["![requests per second over time](benchmarks/rate_chart.png)", ""]
    return lines


def chart(plan: list[RateScenario], results: list[RateResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limited = [s for s in plan if s.limit]
    figure, axes = plt.subplots(len(limited), 1, figsize=(9, 3.2 * len(limited)), squeeze=False)
    for axis, scenario in zip(axes[:, 0], limited, strict=True):
        refusal = str(scenario.faults.get("limit_status", 429))
        for contender, colour in (("auto", "#1f77b4"), ("auto-2", "#17becf"),
                                  ("told", "#2ca02c"), ("n10", "#d62728")):  # fmt: skip
            found = [r for r in results if r.scenario == scenario.name and r.contender == contender]
            if not found:
                continue
            timeline = found[0].timeline
            axis.plot([t for t, _, _ in timeline], [ok for _, ok, _ in timeline], color=colour,
                      label=f"{CONTENDERS[contender]}: answered")  # fmt: skip
            if contender in ("auto", "n10"):
                axis.plot([t for t, _, _ in timeline], [no for _, _, no in timeline],
                          color=colour, linestyle=":", label=f"{contender}: {refusal}")  # fmt: skip
        axis.axhline(scenario.limit, color="#555555", linewidth=0.8, linestyle="--")
        axis.set_title(scenario.title, fontsize=9)
        axis.set_xlabel("seconds")
        axis.set_ylabel("requests / s")
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(HERE / "rate_chart.png", dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 pages instead of 1,200")
    parser.add_argument(
        "--only",
        default="R20S,R20,R5,RL,RF,RHI,RHL,RHX,R503,LOAD",
        help="scenarios, comma-separated",
    )
    parser.add_argument("--keep", default="",
                        help="SCENARIO:CONTENDER pairs not run again: their rows are taken from "
                        "the results file as it is (marked so in the report)")  # fmt: skip
    parser.add_argument("--pages", type=int, help="pages per limited scenario (for trying)")
    parser.add_argument("--contenders", help="only these contenders, comma-separated")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    wanted = args.only.split(",")
    plan = [s for s in scenarios(args.quick) if s.name in wanted]
    if args.pages:
        plan = [replace(s, items=args.pages) if s.limit else s for s in plan]
    if args.contenders:
        chosen = args.contenders.split(",")
        plan = [replace(s, contenders=tuple(c for c in s.contenders if c in chosen)) for s in plan]
    path = HERE / "rate_results.json"
    if args.report_only:
        data = json.loads(path.read_text())
        results = [RateResult(**r) for r in data["results"]]
        unloaded = data["unloaded"]
    else:
        warm_bytecode()
        results, unloaded = [], {}
        kept = {tuple(pair.split(":")) for pair in args.keep.split(",") if pair}
        earlier = json.loads(path.read_text()) if kept else {"results": [], "unloaded": {}}
        with tempfile.TemporaryDirectory() as folder:
            for scenario in plan:
                print(f"scenario {scenario.name}: {scenario.title}", flush=True)
                runs = tuple(c for c in scenario.contenders if (scenario.name, c) not in kept)
                if runs:
                    found, unloaded[scenario.name] = run(replace(scenario, contenders=runs),
                                                         Path(folder))  # fmt: skip
                else:  # every row kept: the site's unloaded latency too, as it was measured
                    found, unloaded[scenario.name] = [], earlier["unloaded"][scenario.name]
                for row in earlier["results"]:
                    if (row["scenario"], row["contender"]) in kept & {
                        (scenario.name, c) for c in scenario.contenders
                    }:
                        found.append(RateResult(**{**row, "earlier": True}))
                results += found
        data = {"quick": args.quick, "unloaded": unloaded, "results": [asdict(r) for r in results]}
        path.write_text(json.dumps(data, indent=1))
    (HERE / "rate.md").write_text("\n".join(report(plan, results, unloaded)))
    chart(plan, results)
    print((HERE / "rate.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
