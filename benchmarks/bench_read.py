"""Issue 33's benchmark: the read side on a real-size copy.

Makes (or reuses, `--db`) a copy of the real site's size (37,000 trades by default) with
`trio-enrich update` against the simulator in its own process, then measures, each `--runs`
times (the median is printed, and every run):

* `list trades` with three filters, as a whole command (`python -m trio_enrich list ...`: the
  process, its imports, the query, the output), against the same SQL run by the `sqlite3`
  shell (its own process too); the ratio of the two; the query plan of each;
* `list trades --output json --limit 0` (every trade, as JSON);
* `export` of every table and view as CSV and JSON Lines;
* the modules the `list` process imports (none of trio, httpx, httpcore, curl_cffi).

    python benchmarks/bench_read.py [--trades 37000] [--runs 5] [--db PATH]

Prints the figures; asserts nothing.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import PY, SERVE  # noqa: E402

from trio_enrich.read.queries import TradeFilters, fold, trades_query  # noqa: E402

FILTERS = ["--party", "republican", "--tx-type", "buy", "--since", "2026-01-01"]
FILTERS_AS_VALUES = TradeFilters(party=("republican",), tx_type=("buy",), since="2026-01-01")


def make_copy(trades: int, db: Path) -> float:
    """`update` into `db` against a simulator of `trades` trades; its wall seconds."""
    faults = json.dumps({"latency_ms": 0})
    server = subprocess.Popen([PY, "-c", SERVE, str(trades), faults], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        started = time.perf_counter()
        subprocess.run(
            [PY, "-m", "trio_enrich", "update", "--db", str(db), "--base-url", url,
             "--progress", "none", "--details-delay-ms", "0", "--concurrency", "10",
             "--no-archive"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def inlined(sql: str, parameters: tuple[object, ...]) -> str:
    """`sql` with its parameters written in (for the sqlite3 shell), in order."""
    for value in parameters:
        literal = str(value) if isinstance(value, int) else "'" + str(value) + "'"
        sql = sql.replace("?", literal, 1)
    return sql + ";"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=37_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="a copy to reuse (made if missing)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-read-"))
    db = args.db or folder / "ct.db"
    if not db.exists():
        print(f"making the copy: update of {args.trades} trades ...", flush=True)
        print(f"  {make_copy(args.trades, db):.0f} s")
    connection = sqlite3.connect(db)
    count = connection.execute("SELECT COUNT(*) FROM trades").fetchone()[0]
    print(f"copy: {db} ({count} trades, {db.stat().st_size / 1e6:.0f} MB)")
    tables = {str(r[0]) for r in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip
    import datetime as dt

    query = trades_query(FILTERS_AS_VALUES, tables, dt.date.today())
    connection.create_function("fold", 1, fold, deterministic=True)
    ours = connection.execute("EXPLAIN QUERY PLAN " + query.sql, query.parameters).fetchall()
    connection.close()
    same_sql = inlined(query.sql, query.parameters)
    print("\nquery plan of `list trades " + " ".join(FILTERS) + "` (the sqlite3 shell runs "
          "the same statement, its parameters written in):")  # fmt: skip
    print("\n".join(f"  {row[-1]}" for row in ours))
    shell = shutil.which("sqlite3")
    listing = [PY, "-m", "trio_enrich", "list", "trades", "--db", str(db), *FILTERS,
               "--output", "json"]  # fmt: skip
    everything = [PY, "-m", "trio_enrich", "list", "trades", "--db", str(db), "--limit", "0",
                  "--output", "json"]  # fmt: skip
    results: dict[str, list[float]] = {"list (3 filters)": [], "sqlite3 shell": [],
                                       "list every trade as JSON": [], "export": []}  # fmt: skip
    rows = 0
    for _ in range(args.runs):
        seconds, out = timed(listing)
        results["list (3 filters)"].append(seconds)
        rows = len(json.loads(out))
        if shell:
            seconds, out = timed([shell, "-json", str(db), same_sql])
            results["sqlite3 shell"].append(seconds)
            assert len(json.loads(out)) == rows, "the shell's statement gave other rows"
        results["list every trade as JSON"].append(timed(everything)[0])
        target = folder / "export"
        seconds, _ = timed([PY, "-m", "trio_enrich", "export", str(target), "--db", str(db),
                            "--force"])  # fmt: skip
        results["export"].append(seconds)
    # The statement alone: in this process through Python's sqlite3 (as `list` runs it), and
    # in the shell by its own timer.
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    connection.create_function("fold", 1, fold, deterministic=True)
    in_python = []
    for _ in range(args.runs):
        started = time.perf_counter()
        connection.execute(query.sql, query.parameters).fetchall()
        in_python.append(time.perf_counter() - started)
    connection.close()
    in_shell = []
    if shell:
        for _ in range(args.runs):
            out = subprocess.run([shell, str(db)], input=f".timer on\n{same_sql}\n",
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            in_shell += [float(line.split()[3]) for line in out.splitlines()
                         if line.startswith("Run Time: real")]  # fmt: skip
    print(f"\nthe statement alone, seconds, median of {args.runs}:")
    print(f"  in list's process (sqlite3 module) {statistics.median(in_python):.4f}")
    if in_shell:
        print(f"  in the sqlite3 shell (.timer)     {statistics.median(in_shell):.4f}")
        print(f"  ratio: {statistics.median(in_python) / statistics.median(in_shell):.2f}")
    print(f"\nwall seconds, median of {args.runs} (every run):")
    for name, values in results.items():
        if values:
            shown = ", ".join(f"{v:.3f}" for v in values)
            print(f"  {name:<26} {statistics.median(values):.3f}   ({shown})")
    if results["sqlite3 shell"]:
        ratio = statistics.median(results["list (3 filters)"]) / statistics.median(
            results["sqlite3 shell"]
        )
        print(f"  whole command / shell process: {ratio:.2f} ({rows} rows each; the "
              "difference is Python's start and imports)")  # fmt: skip
    exported = sum(p.stat().st_size for p in (folder / "export").iterdir())
    print(f"  export: {len(list((folder / 'export').iterdir()))} files, {exported / 1e6:.0f} MB")
    done = subprocess.run([PY, "-X", "importtime", *listing[1:]], capture_output=True, text=True,
                          check=True)  # fmt: skip
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    heavy = sorted({"trio", "httpx", "httpcore", "curl_cffi", "anyio"} & imported)
    print(f"\nthe list process imports {len(imported)} modules; of the fetching side: "
          f"{', '.join(heavy) or 'none'}")  # fmt: skip
    if args.db is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
