"""Issue 23's size target on the Next.js test site: the archive's bytes per page by kind.

The Next.js 16 / React 19 app of tests/nextsite (built by `python3 -m nox -s nextsite`, or
`NEXTSITE_APP` naming a built copy) serves its data (150 trades) in each of its variants;
`sync --full`, `trades` and `issuers` read it into a new database with the archive on, and
the archive's pages are counted by kind.

    python benchmarks/bench_archive_nextsite.py

Prints the table and writes it to benchmarks/archive-nextsite.md (BENCHMARKS.md includes
it); asserts nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APP = Path(os.environ.get("NEXTSITE_APP", ROOT / "tests" / "nextsite"))
sys.path.insert(0, str(APP))
sys.path.insert(0, str(ROOT))

from make_data import make  # noqa: E402

from trio_enrich.cli import main as cli  # noqa: E402

VARIANTS = {"plain": "12", "outline": "25", "promise": "100"}  # variant -> listing page size


def serve(data: Path, variant: str, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["node", str(APP / "node_modules/next/dist/bin/next"), "start", "-p", str(port),
         "-H", "127.0.0.1"],
        cwd=APP, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "NEXTSITE_DATA": str(data), "NEXTSITE_VARIANT": variant,
             "NEXT_TELEMETRY_DISABLED": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/trades", timeout=5):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                server.kill()
                raise SystemExit("next start did not answer") from None
            time.sleep(0.2)


def main() -> int:
    if not (APP / ".next" / "BUILD_ID").exists():
        raise SystemExit(f"the Next.js test site is not built in {APP}: python3 -m nox -s nextsite")
    lines = [
        "## The page archive on the Next.js test site (issue 23)",
        "",
        "Made by `python3 benchmarks/bench_archive_nextsite.py`: `sync --full`, `trades` and "
        "`issuers` against each variant of the Next.js 16 app of tests/nextsite (150 trades), "
        "the archive on; its pages by kind (zstd level 1, whole pages).",
        "",
        "| variant | page kind | pages | mean KB as received | mean KB stored |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.json"
        data.write_text(json.dumps(make(seed=7, trades=150)))
        for number, (variant, size) in enumerate(VARIANTS.items()):
            port = 18700 + number
            server = serve(data, variant, port)
            db = Path(folder) / f"{variant}.db"
            site = ["--db", str(db), "--base-url", f"http://127.0.0.1:{port}", "--progress",
                    "none", "--concurrency", "4", "--details-delay-ms", "0"]  # fmt: skip
            try:
                cli(["sync", "--full", "--page-size", size, *site])
                cli(["trades", *site])
                cli(["issuers", *site])
            finally:
                server.terminate()
                server.wait(timeout=20)
            archive = sqlite3.connect(db.with_suffix(".pages.db"))
            rows = archive.execute(
                "SELECT kind, COUNT(*), SUM(size), SUM(LENGTH(data)) FROM pages GROUP BY kind "
                "ORDER BY kind"
            ).fetchall()
            archive.close()
            for kind, count, raw, stored in rows:
                lines.append(f"| {variant} | {kind} | {count} | {raw / count / 1000:.2f} | "
                             f"{stored / count / 1000:.2f} |")  # fmt: skip
    lines.append("")
    print("\n".join(lines))
    (HERE / "archive-nextsite.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
