"""Pages for tests: the captured fixtures on disk, and builders of pages in the site's
format (a flight payload in its script chunks, a live trade page, an issuer page)."""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

# The repository carries the pages its tests read (tests/fixtures/capitoltrades, with their
# provenance); TRIO_ENRICH_FIXTURES points elsewhere, e.g. at a newer set of captures.
FIXTURES = Path(
    os.environ.get("TRIO_ENRICH_FIXTURES", Path(__file__).parent / "fixtures" / "capitoltrades")
)


def fixture_bytes(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.exists():
        pytest.fail(f"fixture {path} is missing")
    return path.read_bytes()


def page(*flight_chunks: str, tail: str = '<div hidden id="S:0"></div></body></html>') -> str:
    scripts = "".join(
        "<script>self.__next_f.push(" + json.dumps([1, chunk]) + ")</script>"
        for chunk in flight_chunks
    )
    return '<!DOCTYPE html><html><body><template id="B:0"></template>' + scripts + tail


def page_from_chunks(text: str, cuts: list[int]) -> str:
    """An HTML page whose flight text is `text` split at `cuts`, one push per chunk."""
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    scripts = "".join(
        "<script>self.__next_f.push(" + json.dumps([1, text[a:b]]) + ")</script>"
        for a, b in itertools.pairwise(points)
    )
    return (
        "<!DOCTYPE html><html><body><script>(self.__next_f=self.__next_f||[]).push([0])</script>"
        + scripts
        + '<div hidden id="S:0"></div></body></html>'
    )


# The figures of a real issuer object of 2026-05 that was first traded in 2026-01 (fractions
# for the changes, absolute changes for the rest), with the two nulls the real site sends.
NEW_LISTING_FIGURES: dict[str, float | None] = {
    "trailing1": 3.7, "trailing1Change": 0.0175, "trailing7": -2.1, "trailing7Change": -0.0098,
    "trailing30": 11.4, "trailing30Change": 0.0569, "trailing90": 25.0, "trailing90Change": 0.134,
    "trailing365": None, "trailing365Change": None, "wtd": 1.2, "wtdChange": 0.0057,
    "mtd": 6.3, "mtdChange": 0.0307, "qtd": 18.9, "qtdChange": 0.0981, "ytd": 30.2,
    "ytdChange": 0.1667,
}  # fmt: skip


PRICES = [[f"2026-05-{day:02d}", round(190 + day * 0.7, 2)] for day in range(29, 9, -1)]


def issuer_page(issuer_id: int, performance: Any, ticker: str | None = None) -> str:
    data = {
        "_issuerId": issuer_id, "_stateId": "ca", "c2iq": "NEWVU1A0", "country": "us",
        "issuerName": "New Listing Inc", "issuerTicker": ticker, "sector": "financials",
        "stats": {"countTrades": 4, "countPoliticians": 2, "volume": 120500,
                  "dateLastTraded": "2026-05-12", "dateFirstTraded": "2026-01-20"},
        "performance": performance,
    }  # fmt: skip
    body = json.dumps(["$", "div", None, {"className": "issuer", "issuerData": data}])
    return page('1:I[4684,[],""]\n', "0:" + body + "\n")


def new_listing_performance() -> dict[str, Any]:
    return {"mcap": 5_213_000_000, **NEW_LISTING_FIGURES, "eodPrices": PRICES}


def _span(children: Any, dimmer: bool = False) -> list[Any]:
    kind = "text-center text-size-3 font-medium text-txt-dimmer" if dimmer else "text-size-4"
    return ["$", "span", None, {"className": kind, "children": children}]


def live_trade_page(values: dict[str, Any], tx_id: int = 20003802803) -> str:
    pairs = [
        ["$", "div", label, {"className": "flex flex-col", "children": [
            _span(value), _span(label, dimmer=True)]}]
        for label, value in values.items()
    ]  # fmt: skip
    filing = "https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2026/20035480.pdf"
    body = ["$", "article", None, {"children": [
        ["$", "div", None, {"className": "grid", "children": pairs}],
        ["$", "$L21", None, {"filingUrl": filing, "tradeId": tx_id}],
    ]}]  # fmt: skip
    return page('21:I[4684,[],""]\n30:I[4685,[],""]\n', "0:" + json.dumps(body) + "\n")


README = Path(__file__).resolve().parents[1] / "README.md"


def readme_sql(marker: str) -> str:
    """The SQL block of the README that mentions `marker` (the README's query, as printed)."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), re.DOTALL)
    chosen = [block for block in blocks if marker in block]
    assert len(chosen) == 1, f"one sql block with {marker} in the README"
    return str(chosen[0])
