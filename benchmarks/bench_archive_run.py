"""Issue 23's benchmark: what the page archive costs a real-size run, and what it holds.

`trio-enrich update` (a full sync, trades, issuers, committees) into a new database against
the simulator at the real site's size (37,000 trades by default), with the archive (the
default) and with `--no-archive`, alternately, as its own process; wall time, CPU (user +
sys, every thread: the archive compresses in a worker thread) and peak RSS from wait4 and
/proc, as in compare.py. Then the archive's bytes per page by kind, and the same codec
(zstd level 3, no dictionary) on the real captures in tests/fixtures/capitoltrades/real.

    python benchmarks/bench_archive_run.py [--trades 37000] [--runs 1] [--latency-ms 0]

Prints the figures and writes them to benchmarks/archive.md (`--out`; BENCHMARKS.md includes
archive.md and archive-latency.md); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import PY, SERVE, run_measured, warm_bytecode  # noqa: E402

from trio_enrich.storage.archive import LEVEL  # noqa: E402

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

REAL = HERE.parent / "tests" / "fixtures" / "capitoltrades" / "real"
MODES = {"archive": [], "no archive": ["--no-archive"]}


def by_kind(archive: Path) -> dict[str, tuple[int, int, int]]:
    """kind -> (versions, bytes as received, bytes stored)."""
    db = sqlite3.connect(archive)
    try:
        rows = db.execute(
            "SELECT kind, COUNT(*), SUM(size), SUM(LENGTH(data)) FROM pages GROUP BY kind "
            "ORDER BY kind"
        ).fetchall()
    finally:
        db.close()
    return {str(kind): (int(n), int(raw), int(stored)) for kind, n, raw, stored in rows}


def real_captures() -> list[tuple[str, int, int]]:
    """(name, bytes, bytes as the archive stores them) of each real capture."""
    compressor = zstd.ZstdCompressor(level=LEVEL)
    found = []
    for path in sorted(REAL.glob("*.html")):
        page = path.read_bytes()
        compressor.set_pledged_input_size(len(page))
        found.append((path.name, len(page), len(compressor.compress(page, compressor.FLUSH_FRAME))))
    return found


def capture_lines() -> list[str]:
    captures = real_captures()
    lines = [
        "",
        "The same codec on the real captures (tests/fixtures/capitoltrades/real): "
        "nothing else to share their layout with, each page alone.",
        "",
        "| capture | KB as received | KB stored | ratio |",
        "|---|---|---|---|",
    ]
    for name, raw, stored in captures:
        lines.append(f"| {name} | {raw / 1000:.1f} | {stored / 1000:.1f} | {raw / stored:.1f} |")
    raw_all = sum(raw for _, raw, _ in captures)
    stored_all = sum(stored for _, _, stored in captures)
    lines += [f"| all {len(captures)} | {raw_all / 1000:.1f} | {stored_all / 1000:.1f} | "
              f"{raw_all / stored_all:.1f} |", ""]  # fmt: skip
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=37_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--out", default="archive.md", help="file in benchmarks/ to write")
    parser.add_argument(
        "--captures-only", action="store_true", help="print the real captures' table only (no run)"
    )
    args = parser.parse_args()
    if args.captures_only:
        print("\n".join(capture_lines()))
        return 0
    warm_bytecode()
    faults = json.dumps({"latency_ms": args.latency_ms})
    server = subprocess.Popen([PY, "-c", SERVE, str(args.trades), faults],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    figures: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
    kinds: dict[str, tuple[int, int, int]] = {}
    requests = 0
    try:
        with tempfile.TemporaryDirectory() as folder:
            for run in range(args.runs):
                for mode, flags in MODES.items():
                    db = Path(folder) / f"{mode.replace(' ', '-')}-{run}.db"
                    command = [PY, "-m", "trio_enrich", "update", "--db", str(db), "--base-url",
                               base_url, "--progress", "none", "--json", "--concurrency", "10",
                               "--details-delay-ms", "0", *flags]  # fmt: skip
                    wall, cpu, rss, out = run_measured(command)
                    summary = json.loads(out.strip().splitlines()[-1])
                    stages = {stage["job"]: stage for stage in summary["stages"]}
                    assert stages["trades"]["enriched"] == args.trades, stages["trades"]
                    requests = sum(int(stage["requests"]) for stage in summary["stages"])
                    figures[mode].append((wall, cpu, rss))
                    print(f"  run {run + 1} {mode:<10} wall {wall:7.2f} s  CPU {cpu:6.2f} s  "
                          f"RSS {rss:5.1f} MB  requests {requests}", flush=True)  # fmt: skip
                    if mode == "archive":
                        kinds = by_kind(db.with_suffix(".pages.db"))
                        file_bytes = db.with_suffix(".pages.db").stat().st_size
    finally:
        server.kill()
        server.wait()
    medians = {mode: tuple(statistics.median(run[k] for run in figures[mode]) for k in range(3))
               for mode in MODES}  # fmt: skip
    (aw, ac, ar), (nw, nc, nr) = medians["archive"], medians["no archive"]
    lines = [
        f"## The page archive: {args.trades:,} trades, {args.latency_ms:g} ms latency (issue 23)",
        "",
        f"Made by `python3 benchmarks/bench_archive_run.py --trades {args.trades} --runs "
        f"{args.runs} --latency-ms {args.latency_ms:g}`: `trio-enrich update` (a full sync, "
        f"trades, issuers, committees: {requests:,} requests) into a new database against "
        f"the simulator with {args.trades:,} trades, N=10, no pause, {args.latency_ms:g} ms "
        "latency, with the archive (the default) and with `--no-archive`, alternately; the "
        "median of the runs. CPU counts every thread of the run.",
        "",
        "| run | wall s | CPU s | CPU ms / request | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for mode in MODES:
        wall, cpu, rss = medians[mode]
        lines.append(f"| {mode} | {wall:.2f} | {cpu:.2f} | {1000 * cpu / requests:.3f} | "
                     f"{rss:.0f} |")  # fmt: skip
    lines += [
        "",
        f"archive / no archive: wall {aw / nw:.3f}, CPU {ac / nc:.3f}, peak RSS {ar / nr:.2f}.",
        "",
        f"What the archive holds after the run ({file_bytes / 1e6:.1f} MB on disk, zstd level "
        f"{LEVEL}, no dictionary, whole pages):",
        "",
        "| page kind | pages | mean KB as received | mean KB stored | ratio |",
        "|---|---|---|---|---|",
    ]
    for kind, (count, raw, stored) in kinds.items():
        lines.append(f"| {kind} | {count:,} | {raw / count / 1000:.2f} | "
                     f"{stored / count / 1000:.2f} | {raw / stored:.1f} |")  # fmt: skip
    lines += capture_lines()
    print("\n" + "\n".join(lines))
    (HERE / args.out).write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
