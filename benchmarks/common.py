"""What the benchmark scripts share: the simulator in its own process, a database from its
truth, and a child process measured with wait4 (wall, CPU, peak RSS)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from trio_enrich import Issuer, ListingPolitician, ListingTrade

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable

SERVE = """
import json, sys, trio
from trio_enrich.sim import Faults, Simulator, make_dataset
async def main():
    faults = Faults(**json.loads(sys.argv[2]))
    sim = Simulator(make_dataset(1, int(sys.argv[1])), faults, seed=1)
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.serve, 0)
        print(sim.base_url, flush=True)
trio.run(main)
"""


def lognormal_mean(median_ms: float, p99_ms: float) -> float:
    sigma = math.log(p99_ms / median_ms) / 2.3263478740408408
    return median_ms / 1000 * math.exp(sigma * sigma / 2)


def listing_from_truth(truth: dict[str, Any]) -> list[ListingTrade]:
    trades = []
    for item in truth["trades"]:
        row = dict(item["listing"])
        row["issuer"] = Issuer(**row["issuer"])
        row["politician"] = ListingPolitician(**row["politician"])
        trades.append(ListingTrade(**row))
    return trades


# Runs a script or module and, at exit, writes its own peak RSS (VmHWM) to $PEAK_RSS_FILE.
# ru_maxrss cannot be used: Linux carries it across exec, so a child reports its parent's peak.
WRAP = """
import atexit, os, runpy, sys
def report():
    with open('/proc/self/status') as status:
        peak = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    with open(os.environ['PEAK_RSS_FILE'], 'w') as out:
        out.write(peak)
atexit.register(report)
if sys.argv[1] == '-m':
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)
else:
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name='__main__')
"""


# Contenders start as an installed package would, from cached bytecode: a source tree under
# PYTHONDONTWRITEBYTECODE (set on some machines) would compile every module at every start.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def warm_bytecode() -> None:
    """Write the bytecode cache of the package once, as pip does at install time."""
    subprocess.run([PY, "-m", "trio_enrich", "--help"], env=CHILD_ENV, cwd=ROOT,
                   capture_output=True, check=True)  # fmt: skip


def run_measured(command: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + sys), peak RSS in MB, and stdout of a child process."""
    assert command[0] == PY
    with tempfile.NamedTemporaryFile(suffix=".rss") as peak_file:
        started = time.perf_counter()
        process = subprocess.Popen(
            [PY, "-c", WRAP, *command[1:]], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, cwd=ROOT, env={**CHILD_ENV, "PEAK_RSS_FILE": peak_file.name},
        )  # fmt: skip
        assert process.stdout is not None
        out = process.stdout.read()
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        wall = time.perf_counter() - started
        peak_kib = int(Path(peak_file.name).read_text() or 0)
    return wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024, out
