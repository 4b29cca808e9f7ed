"""Contender D: Scrapy with settings equivalent to trio-enrich's, our parser, SQLite from an
item pipeline. Run as its own process:

    python benchmarks/scrapy_contender.py --db PATH --base-url URL --concurrency N --delay-ms D

Scrapy's DOWNLOAD_DELAY spaces requests to one site (per download slot), not per worker: with
a pause it admits one request per delay whatever CONCURRENT_REQUESTS says. That is Scrapy's
meaning of "the same delay", kept as is.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess

from trio_enrich import (
    ItemFailure,
    PageFailure,
    Store,
    TradeDetail,
    parse_trade_detail,
)


class DetailSpider(scrapy.Spider):
    name = "trade_details"

    def __init__(self, base_url: str, ids: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url
        self.ids = ids

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for tx_id in self.ids:
            yield scrapy.Request(
                f"{self.base_url}/trades/{tx_id}", cb_kwargs={"tx_id": tx_id}, dont_filter=True
            )

    def parse(self, response: scrapy.http.Response, tx_id: int) -> Iterator[dict[str, Any]]:
        result = parse_trade_detail(response.body, tx_id)
        if isinstance(result, PageFailure):
            yield {"failure": ItemFailure(tx_id, result.kind, result.reason)}
        else:
            yield {"detail": result}


class SQLitePipeline:
    """Writes items to the store in batches of 50, like the other contenders."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.batch: list[TradeDetail | ItemFailure] = []
        self.enriched = 0
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SQLitePipeline:
        return cls(crawler.settings.get("TRIO_ENRICH_DB"))

    def open_spider(self, spider: scrapy.Spider | None = None) -> None:
        self.store = Store.open(self.db)

    def process_item(
        self, item: dict[str, Any], spider: scrapy.Spider | None = None
    ) -> dict[str, Any]:
        self.batch.append(item.get("detail") or item["failure"])
        if len(self.batch) >= 50:
            self.flush()
        return item

    def flush(self) -> None:
        assert self.store is not None
        details = [d for d in self.batch if isinstance(d, TradeDetail)]
        failures = [f for f in self.batch if isinstance(f, ItemFailure)]
        self.store.write_trade_batch(details, failures)
        self.enriched += len(details)
        self.batch.clear()

    def close_spider(self, spider: scrapy.Spider | None = None) -> None:
        self.flush()
        assert self.store is not None
        self.store.close()
        RESULT["enriched"] = self.enriched


RESULT: dict[str, int] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=500)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument(
        "--autothrottle", type=float, default=None, metavar="TARGET",
        help="AutoThrottle on, with this AUTOTHROTTLE_TARGET_CONCURRENCY (its other settings "
        "at their defaults: start delay 5 s, max delay 60 s)",
    )  # fmt: skip
    args = parser.parse_args()
    throttle = (
        {"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_TARGET_CONCURRENCY": args.autothrottle}
        if args.autothrottle is not None
        else {}
    )
    with Store.open(args.db) as store:
        ids = store.pending_trade_ids()
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "DOWNLOAD_DELAY": args.delay_ms / 1000,
            "DOWNLOAD_DELAY_JITTER": 0,
            "RETRY_ENABLED": True,
            "RETRY_TIMES": 3,
            "RETRY_HTTP_CODES": [429, 403, 408, 500, 502, 503, 504],
            "ROBOTSTXT_OBEY": False,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "ERROR",
            "DOWNLOAD_TIMEOUT": args.timeout,
            "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
            "USER_AGENT": "Mozilla/5.0 (bench)",
            "ITEM_PIPELINES": {f"{__name__}.SQLitePipeline": 100},
            "TRIO_ENRICH_DB": args.db,
            **throttle,
        }
    )
    started = time.perf_counter()
    process.crawl(DetailSpider, base_url=args.base_url.rstrip("/"), ids=ids)
    process.start()
    print(json.dumps({"enriched": RESULT.get("enriched", 0),
                      "elapsed": time.perf_counter() - started}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
