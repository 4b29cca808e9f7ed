"""Issue 23's first measurement: what a page archive would cost, by page kind and codec.

For each kind of page (the simulator's trade detail in both shapes, issuer detail, listing,
committee listing; the real captures in tests/fixtures) it measures the page as sent and its
flight data alone (the pushes joined: what the readers read), compressed with zlib (level 6),
lzma (preset 6), and zstd (the standard library's `compression.zstd` API, through
`backports.zstd` on Python < 3.14) at level 3, 9 and 19, and at level 9 with a dictionary
trained on pages of other ids. Reports the mean bytes per page and the CPU microseconds to
compress and to decompress one.

    python benchmarks/bench_archive.py [--pages 300] [--train 1000]

Needs `backports.zstd` on Python < 3.14 (pip install backports.zstd). Asserts nothing.
"""

from __future__ import annotations

import argparse
import lzma
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

from trio_enrich.sim import make_dataset  # noqa: E402
from trio_enrich.sim._pages import (  # noqa: E402
    issuer_detail_page,
    politicians_page,
    trade_detail_page,
    trades_page,
)
from trio_enrich.site.page import flight_text  # noqa: E402

REAL = HERE.parent / "tests" / "fixtures" / "capitoltrades" / "real"

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]


def codecs(dictionary: zstd.ZstdDict | None) -> dict[str, Codec]:
    found: dict[str, Codec] = {
        "zlib 6": (lambda b: zlib.compress(b, 6), zlib.decompress),
        "lzma 6": (lambda b: lzma.compress(b, preset=6), lzma.decompress),
        "zstd 3": (lambda b: zstd.compress(b, 3), zstd.decompress),
        "zstd 9": (lambda b: zstd.compress(b, 9), zstd.decompress),
        "zstd 19": (lambda b: zstd.compress(b, 19), zstd.decompress),
    }
    if dictionary is not None:
        found["zstd 9 + dict"] = (
            lambda b: zstd.compress(b, 9, zstd_dict=dictionary),
            lambda b: zstd.decompress(b, zstd_dict=dictionary),
        )
    return found


def measure(pages: list[bytes], codec: Codec) -> tuple[float, float, float]:
    """Mean compressed bytes, median µs to compress, median µs to decompress."""
    compress, decompress = codec
    sizes, packs, unpacks = [], [], []
    for page in pages:
        started = time.process_time_ns()
        packed = compress(page)
        middle = time.process_time_ns()
        assert decompress(packed) == page
        ended = time.process_time_ns()
        sizes.append(len(packed))
        packs.append((middle - started) / 1000)
        unpacks.append((ended - middle) / 1000)
    return statistics.fmean(sizes), statistics.median(packs), statistics.median(unpacks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300, help="pages measured per kind")
    parser.add_argument("--train", type=int, default=1000, help="pages the dictionary sees")
    args = parser.parse_args()
    dataset = make_dataset(seed=1, trades=args.pages + args.train + 50)
    trades, issuers = dataset.trades, list(dataset.issuers.values())
    measured = trades[: args.pages]
    training = trades[args.pages : args.pages + args.train]
    kinds: dict[str, list[bytes]] = {
        "trade detail (live)": [trade_detail_page(dataset, t).encode() for t in measured],
        "trade detail (object)": [
            trade_detail_page(dataset, t, "object").encode() for t in measured
        ],
        "issuer detail": [issuer_detail_page(dataset, i).encode() for i in issuers[: args.pages]],
        "listing page": [trades_page(dataset, n, 12).encode() for n in range(1, 40)],
        "committee page": [
            politicians_page(dataset, code, 1, 12).encode()
            for code in sorted(dataset.rosters())[:20]
        ],
        "real captures": [path.read_bytes() for path in sorted(REAL.glob("*.html"))],
    }
    samples = [trade_detail_page(dataset, t).encode() for t in training]
    samples += [trade_detail_page(dataset, t, "object").encode() for t in training[:200]]
    samples += [issuer_detail_page(dataset, i).encode() for i in issuers[args.pages :]]
    flight_samples = [flight_text(page).encode() for page in samples]
    page_dict = zstd.train_dict(samples, 110 * 1024)
    flight_dict = zstd.train_dict(flight_samples, 110 * 1024)
    print(f"mean bytes per page (compress / decompress: median µs of CPU); {args.pages} pages "
          f"a kind, dictionaries of 110 KB trained on {len(samples)} other pages")  # fmt: skip
    for kind, pages in kinds.items():
        for form, bodies, dictionary in (
            ("whole page", pages, page_dict),
            ("flight only", [flight_text(p).encode() for p in pages], flight_dict),
        ):
            raw = statistics.fmean(len(body) for body in bodies)
            cells = [f"raw {raw / 1024:7.1f} KB"]
            for name, codec in codecs(dictionary).items():
                size, pack, unpack = measure(bodies, codec)
                cells.append(f"{name} {size / 1024:6.2f} KB ({pack:5.0f}/{unpack:4.0f})")
            print(f"{kind:<22} {form:<11} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
