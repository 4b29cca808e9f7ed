"""`trio-enrich demo`: the whole tool offline, `update` against a simulated site."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from .._defaults import REFRESH
from .._errors import EXIT_ITEM_FAILURES, EXIT_OK, UsageError
from .._model import ProgressMode
from ..core.policy import RetryPolicy
from ..runs.options import EnrichOptions
from .execute import run_status, run_update
from .settings import RunSettings, parse_refresh

__all__ = ["run_demo"]


def _demo_path(db: Path | None) -> Path:
    """The demo's new database file (checked before the simulator starts)."""
    if db is not None and db.exists():
        # The demo writes simulated trades: never into a database that holds real ones.
        raise UsageError(f"--db {db} already exists; the demo needs a new file for its fake data")
    if db is not None and not db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {db}: folder {db.parent} does not exist")
    return db or Path(tempfile.mkdtemp(prefix="trio-enrich-demo-")) / "capitoltraders.db"


async def run_demo(db: Path | None, trades: int, seed: int, progress: ProgressMode) -> int:
    path = _demo_path(db)
    try:
        return await _demo(path, trades, seed, progress, kept=db is not None)
    finally:
        if db is None:  # a temporary folder of our own: nothing of it is left behind
            shutil.rmtree(path.parent, ignore_errors=True)


async def _demo(path: Path, trades: int, seed: int, progress: ProgressMode, *, kept: bool) -> int:
    from ..sim import make_dataset, open_simulator
    from ..sim import profile as fault_profile

    # The realistic profile's faults, at a latency and Retry-After that fit in a minute.
    faults = fault_profile("realistic").with_(
        latency_median_ms=20, latency_p99_ms=120, retry_after=1
    )
    dataset = make_dataset(seed, trades)
    async with open_simulator(dataset, faults, seed=seed) as site:
        print(f"demo: a simulated site at {site.base_url} with {trades} trades\n"
              f"demo: database {path}", flush=True)  # fmt: skip
        # Faster than the defaults, which are for the real site; printed as the flags they are.
        options = EnrichOptions(
            base_url=site.base_url,
            concurrency=8,
            delay=0.0,
            retry=RetryPolicy(base=0.2, cap=2.0),
            refresh_older_than=parse_refresh(REFRESH),  # as `update` does by default
        )
        flags = ["--db", str(path), "--base-url", site.base_url, "--concurrency", "8",
                 "--details-delay-ms", "0", "--retry-base-ms", "200", "--retry-max-ms", "2000",
                 "--progress", progress]  # fmt: skip
        print(f"\n$ trio-enrich update {' '.join(flags)}", flush=True)
        code = await run_update(RunSettings(db=path, options=options, progress=progress))
        if code not in (EXIT_OK, EXIT_ITEM_FAILURES):
            print(f"demo: update stopped with exit code {code}", file=sys.stderr)
            return code
        print()
        await run_status(path, json=False)
    if kept:
        print(f"\ndemo: done. Look inside with sqlite3, for example:\n  sqlite3 {path} \\\n"
              "    'SELECT committee, COUNT(*) FROM politician_committees GROUP BY 1'")  # fmt: skip
    else:
        print("\ndemo: done; its temporary database is removed (pass --db FILE to keep it)")
    return EXIT_OK
