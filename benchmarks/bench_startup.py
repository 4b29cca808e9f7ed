"""Start-up time: `trio-enrich --help`, and how long a run takes to send its first request.

Run: python benchmarks/bench_startup.py [--runs 10] [--against PATH] [--script NAME=PATH ...]

By default it times this checkout (`python -m trio_enrich` with this folder on PYTHONPATH);
`--against PATH` adds another checkout (a git worktree of an older commit, say), and
`--script NAME=PATH` the `trio-enrich` console script of an installed environment (a fresh
`pip install .` has only the runtime dependencies, as a user's). Programs are timed in turn,
run after run, so the machine's noise falls on all alike. The site is a stdlib HTTP server in
this process that notes, on the system's monotonic clock, when each request arrives;
robots.txt is answered 404 and pages with a "Page Not Found" page. Prints medians; asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARRIVALS: list[tuple[float, str]] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ARRIVALS.append((time.monotonic(), self.path))
        body = b"<html><h1>Page Not Found</h1></html>"
        self.send_response(404 if self.path == "/robots.txt" else 200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def database(folder: Path) -> Path:
    """A database with one pending trade."""
    folder.mkdir()
    path = folder / "one.db"
    code = (
        "import sys; from trio_enrich import Store; from trio_enrich.sim import make_dataset\n"
        "d = make_dataset(1, 12)\n"
        "with Store.open(sys.argv[1]) as s: s.upsert_listing([t.listing for t in d.trades])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=ROOT)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE trades SET enriched_at = NULL")
    connection.commit()
    connection.close()
    return path


# Children run from a neutral folder: `python -m` puts the working folder first on sys.path,
# and this checkout's folder there would shadow the tree under test.
NEUTRAL = tempfile.gettempdir()


Program = tuple[list[str], dict[str, str]]  # the command that runs trio-enrich, its environment


def checkout(tree: Path) -> Program:
    return [sys.executable, "-m", "trio_enrich"], {**os.environ, "PYTHONPATH": str(tree)}


def script(path: Path) -> Program:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return [str(path)], env


def time_help(program: Program) -> float:
    command, env = program
    started = time.monotonic()
    subprocess.run([*command, "--help"], env=env, check=True, capture_output=True,
                   cwd=NEUTRAL)  # fmt: skip
    return time.monotonic() - started


def time_first_request(program: Program, db: Path, url: str) -> tuple[float, float]:
    """Seconds from the process's start to its first request, and to its first page request."""
    command, env = program
    ARRIVALS.clear()
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "trades", "--db", str(db), "--base-url", url,
         "--batch-size", "1", "--details-delay-ms", "0", "--progress", "none",
         "--retry-failed"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=NEUTRAL,
    )  # fmt: skip
    while not any(path != "/robots.txt" for _, path in ARRIVALS):
        if process.poll() is not None:
            break
        time.sleep(0.001)
    process.wait()
    first = ARRIVALS[0][0] - started if ARRIVALS else float("nan")
    page = next((t for t, path in ARRIVALS if path != "/robots.txt"), float("nan")) - started
    return first, page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--against", type=Path, help="another checkout to time alike")
    parser.add_argument("--script", action="append", default=[], metavar="NAME=PATH",
                        help="an installed trio-enrich console script to time alike")  # fmt: skip
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    programs: dict[str, Program] = {}
    if not args.script:
        programs["this checkout"] = checkout(ROOT)
    if args.against:
        programs["against"] = checkout(args.against.resolve())
    for item in args.script:
        name, _, path = item.partition("=")
        programs[name] = script(Path(path))
    figures: dict[str, dict[str, list[float]]] = {
        name: {"help": [], "first": [], "page": []} for name in programs
    }
    with tempfile.TemporaryDirectory() as folder:
        dbs = {name: database(Path(folder) / name.replace(" ", "_")) for name in programs}
        for program in programs.values():  # warm the bytecode caches
            time_help(program)
        for _ in range(args.runs):
            for name, program in programs.items():
                figures[name]["help"].append(time_help(program))
                first, page = time_first_request(program, dbs[name], url)
                figures[name]["first"].append(first)
                figures[name]["page"].append(page)
    server.shutdown()
    for name, values in figures.items():
        medians = {key: statistics.median(v) for key, v in values.items()}
        print(f"{name}: --help {medians['help'] * 1000:.0f} ms; first request "
              f"{medians['first'] * 1000:.0f} ms; first page request "
              f"{medians['page'] * 1000:.0f} ms (medians of {args.runs})")  # fmt: skip
    names = list(figures)
    if len(names) == 2:
        new, old = figures[names[0]], figures[names[1]]
        print(f"{names[0]} against {names[1]}:")
        for key, label in (("help", "--help"), ("first", "first request"),
                           ("page", "first page request")):  # fmt: skip
            ratio = statistics.median(new[key]) / statistics.median(old[key])
            print(f"  {label}: {ratio:.2f} of the other's ({(1 - ratio) * 100:.0f}% sooner)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
