"""The Next.js test site's dataset: capitoltrades-shaped, from a seed, awkward on purpose.

The app (``app/``) serves exactly this data through React's own serializer; the tests compare
what trio-enrich stored with it. JSON has no -0 or NaN, so those travel as ``{"$num": "-0"}``
and the app turns them back into numbers (``lib/data.js``).

    python make_data.py OUT.json [--seed N] [--trades N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

ASSET_TYPES = ["Stock", "Stock Option", "ETF", "Mutual Fund", "Corporate Bond", "Crypto",
               "Other Securities", "Municipal Security"]  # fmt: skip

# Comments that stress the format: around React's 1,024-unit text-row threshold, multi-byte
# text (UTF-16 units differ from UTF-8 bytes), $-leading text, markup that ends a script.
AWKWARD_COMMENTS: list[str | None] = [
    "x" * 1023,
    "y" * 1024,
    "z" * 1025,
    "long comment " * 400,
    "é" * 1100,  # 1,100 UTF-16 units, 2,200 UTF-8 bytes
    "💥" * 600,  # 1,200 UTF-16 units (surrogate pairs), 2,400 bytes
    "mixed ünïcödé 💰 " * 80,
    "$5 million, says the filing",
    "$$ double",
    "$L1",
    "$undefined",
    "</script><script>alert(1)</script>",
    'quotes " and \\ backslashes',
    "line one\nline two\u2028three",
    "",
    None,
]

NUMBER = "$num"  # the key of a special number in data.json


def special(value: str) -> dict[str, str]:
    return {NUMBER: value}


def make(seed: int = 7, trades: int = 150) -> dict[str, Any]:
    rng = random.Random(seed)
    politicians = []
    for index in range(14):
        politician: dict[str, Any] = {
            "_stateId": rng.choice(["ca", "ny", "tx", "fl", "de"]),
            "chamber": rng.choice(["house", "senate"]),
            "dob": f"19{rng.randint(40, 89)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "firstName": rng.choice(["Ann", "Bo", "Zoë", "O'Neil", "Jean-Luc"]),
            "gender": rng.choice(["female", "male"]),
            "lastName": rng.choice(["Smith", "Müller", 'Quote"d', "$Dollar", "Back\\slash"]),
            "party": rng.choice(["democrat", "republican", "other"]),
        }
        if index % 3:
            politician["nickname"] = rng.choice([None, "Nick", "$Nick"])
        # else: no nickname key at all (undefined)
        politicians.append({"id": f"P{index:06d}", **politician})
    issuers = []
    for index in range(30):
        issuer_id = 1000 + index
        ticker = ["$SKI:US", "BRK/B:US", None, f"T{index}:US"][index % 4]
        if index % 6 == 4:
            ticker = None  # a new listing often has no ticker yet
        performance: Any
        if index % 7 == 3:
            performance = None
        else:
            numbers: dict[str, Any] = {}
            for key in ("trailing1", "trailing7", "trailing30", "trailing90", "trailing365",
                        "wtd", "mtd", "qtd", "ytd"):  # fmt: skip
                numbers[key] = round(rng.uniform(1, 900), 4)
                numbers[key + "Change"] = round(rng.uniform(-0.5, 0.5), 6)
            if index % 5 == 1:
                numbers["wtdChange"] = special("-0")  # React writes "$-0"
            if index % 10 == 9:
                numbers["ytdChange"] = special("NaN")  # the page cannot be stored whole
            if index % 6 == 4:
                # Listed less than a year ago, as on the real site: no trailing365 figures.
                numbers["trailing365"] = numbers["trailing365Change"] = None
            day = dt.date(2025, 6, 30)
            prices = []
            for _ in range(rng.choice([0, 3, 400])):  # none, a few, a long list
                prices.append([day.isoformat(), round(rng.uniform(1, 500), 4)])
                day -= dt.timedelta(days=1)
            performance = {"mcap": rng.randint(10**6, 10**12), **numbers, "eodPrices": prices}
        issuers.append(
            {
                "_issuerId": issuer_id,
                "_stateId": rng.choice([None, "ca", "ny"]),
                "c2iq": f"C2{index:04d}",
                "country": rng.choice(["us", "gb", None]),
                "issuerName": rng.choice(["Acme Corp", "Ünïcode AG", "$Dollar Inc",
                                          "</script> Ltd", "Quote \" Co"]) + f" {index}",
                "issuerTicker": ticker,
                "sector": rng.choice(["information-technology", "financials", None]),
                "stats": {
                    "countTrades": rng.randint(1, 99),
                    "countPoliticians": rng.randint(1, 9),
                    "volume": rng.randint(1000, 10**8),
                    "dateLastTraded": "2025-06-30",
                },
                "performance": performance,
            }
        )  # fmt: skip
    rows = []
    published = dt.datetime(2025, 7, 1, 12, 0, 0)
    for index in range(trades):
        published -= dt.timedelta(minutes=rng.randint(5, 900))
        politician = politicians[rng.randrange(len(politicians))]
        issuer = issuers[rng.randrange(len(issuers))]
        chamber = politician["chamber"]
        tx_id = (10000060000 if chamber == "senate" else 20003700000) + index
        value = rng.choice([8000, 32500, 75000, 175000])
        price: float | None = rng.choice([None, 2.489709, 1234.5, round(rng.uniform(1, 900), 6),
                                          0.005])  # fmt: skip
        filing = rng.randint(20000000, 20099999)
        filing_url = (
            f"https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/{filing}.pdf"
            if chamber == "house"
            else f"https://efdsearch.senate.gov/view/ptr/{rng.getrandbits(64):x}/"
        )
        low = rng.randint(1, 500)
        rows.append(
            {
                "listing": {
                    "_issuerId": issuer["_issuerId"],
                    "_politicianId": politician["id"],
                    "_txId": tx_id,
                    "chamber": chamber,
                    "comment": AWKWARD_COMMENTS[index % len(AWKWARD_COMMENTS)],
                    "owner": rng.choice(["self", "spouse", "joint", "child", "not-disclosed"]),
                    "price": price,
                    "pubDate": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "reportingGap": rng.randint(0, 60),
                    "txDate": (published - dt.timedelta(days=rng.randint(1, 40))).strftime(
                        "%Y-%m-%d"
                    ),
                    "txType": rng.choice(["buy", "sell", "exchange", "receive"]),
                    "txTypeExtended": rng.choice([None, None, {"note": "$partial", "n": 2}]),
                    "value": value,
                },
                "shape": "object" if index % 4 == 1 else "live",
                "assetType": ASSET_TYPES[index % len(ASSET_TYPES)],
                "filingUrl": filing_url,
                "filingId": filing if chamber == "house" else None,
                "sizeRangeLow": low,
                "sizeRangeHigh": low * 3,
                "size": low * 2,
                "hasCapitalGains": index % 3 == 0,
                "committees": ["ssfi", "hsag"][: index % 3],
                "labels": ["faang"] if index % 5 == 0 else [],
                "detailPrice": rng.choice([None, 3.5]) if price is None else price,
            }
        )
    return {"seed": seed, "politicians": politicians, "issuers": issuers, "trades": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--trades", type=int, default=150)
    args = parser.parse_args()
    args.out.write_text(json.dumps(make(args.seed, args.trades), indent=1))


if __name__ == "__main__":
    main()
