"""Enrich a hand-picked list of trades with the library API, against the simulated site.

Run: python examples/enrich_custom_ids.py   (or: nox -s examples)

It starts a simulated capitoltrades.com on a free loopback port, makes a database holding the
site's listing rows, enriches five chosen trades (not the whole queue), and prints what their
detail pages added. Point `EnrichOptions.base_url` at the real site to do the same for real.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import trio

from trio_enrich import TRADES, EnrichOptions, Store, enrich
from trio_enrich.sim import make_dataset, open_simulator


async def main() -> int:
    dataset = make_dataset(seed=7, trades=200)
    chosen = [trade.listing.tx_id for trade in dataset.trades[10:15]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "example.db"
        with Store.open(path) as store:
            store.upsert_listing(trade.listing for trade in dataset.trades)
            async with open_simulator(dataset, seed=7) as site:
                options = EnrichOptions(base_url=site.base_url, concurrency=2, delay=0.05)
                stats = await enrich(store, TRADES, options, ids=chosen)
        print(f"enriched {stats.done} of {len(chosen)} chosen trades "
              f"with {stats.requests} requests in {stats.elapsed:.2f} s")  # fmt: skip
        connection = sqlite3.connect(path)
        placeholders = ",".join("?" * len(chosen))
        rows = connection.execute(
            "SELECT t.tx_id, a.asset_type, t.filing_id, t.size_range_low, t.size_range_high,"
            f" t.filing_url FROM trades t JOIN assets a USING (asset_id)"
            f" WHERE t.tx_id IN ({placeholders}) ORDER BY t.tx_id",
            chosen,
        ).fetchall()
        still_pending = connection.execute(
            "SELECT COUNT(*) FROM trades WHERE enriched_at IS NULL"
        ).fetchone()[0]
        connection.close()
    for tx_id, asset_type, filing_id, low, high, url in rows:
        shares = f"{low}-{high} shares" if low is not None else "shares N/A"
        print(f"  trade {tx_id}: {asset_type}, {shares}, filing {filing_id or '-'} ({url})")
    print(f"{still_pending} other trades were left pending, as asked")
    ok = stats.done == len(chosen) and all(row[1] != "unknown" for row in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(trio.run(main))
