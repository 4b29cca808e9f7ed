"""Parser and store figures: median time to parse the real trades page and a trade detail page,
and the time to write 10,000 trade details in batches.

Run: python benchmarks/bench_parse_store.py   (or: nox -s bench_parse)
Prints figures; it asserts nothing, because this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

from trio_enrich import ListingPage, Store, TradeDetail, parse_trade_detail, parse_trades_page

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "capitoltrades"


def median_ms(function: object, repeat: int) -> tuple[float, float]:
    """Median and minimum wall time of `function()` in milliseconds."""
    assert callable(function)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    trades_html = (args.fixtures / "real/trades_page1_2025-01-02.html").read_bytes()
    detail_html = (args.fixtures / "synthetic/trade_detail_live_house_stock.html").read_bytes()
    object_html = (args.fixtures / "synthetic/trade_detail_stock.html").read_bytes()

    listing = parse_trades_page(trades_html)
    assert isinstance(listing, ListingPage)
    assert len(listing.trades) == 12
    assert isinstance(parse_trade_detail(detail_html, 20003802803), TradeDetail)

    rows = [
        (
            "parse real trades page (245 KB)",
            median_ms(lambda: parse_trades_page(trades_html), args.repeat),
            2.0,  # issue 12's budget, with every reference resolved
        ),
        (
            "parse live trade detail page",
            median_ms(lambda: parse_trade_detail(detail_html, 20003802803), args.repeat * 5),
            0.2,
        ),
        (
            "parse object trade detail page",
            median_ms(lambda: parse_trade_detail(object_html, 172000), args.repeat * 5),
            0.2,
        ),
    ]
    print(f"python {sys.version.split()[0]}; median of {args.repeat}+ runs")
    for name, (median, best), target in rows:
        verdict = "met" if median <= target else "MISSED"
        print(
            f"  {name:<34} median {median:7.3f} ms  min {best:7.3f} ms"
            f"  target <= {target} ms: {verdict}"
        )

    template = listing.trades[0]
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "bench.db") as store:
        trades = [
            dataclasses.replace(template, tx_id=30_000_000_000 + i) for i in range(args.items)
        ]
        store.upsert_listing(trades)
        details = [
            TradeDetail(
                tx_id=t.tx_id,
                asset_type="stock",
                filing_id=20035480 + i,
                filing_url=f"https://example.invalid/{i}.pdf",
                price=10.0 + i,
                size_range_low=44,
                size_range_high=144,
                reporting_gap=18,
                committees=("Finance",),
                labels=("faang",),
            )
            for i, t in enumerate(trades)
        ]
        start = time.perf_counter()
        for at in range(0, len(details), args.batch):
            store.write_trade_batch(details[at : at + args.batch])
        elapsed = time.perf_counter() - start
        done = store.status()["trades"]["enriched"]
    verdict = "met" if elapsed <= 2.0 else "MISSED"
    print(
        f"  write {args.items} trade details in batches of {args.batch}: {elapsed:.3f} s"
        f" ({done} rows enriched)  target <= 2 s: {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
