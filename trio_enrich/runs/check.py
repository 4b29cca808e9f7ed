"""`trio-enrich check`: the canary to run before a big run.

A handful of requests, paced as a run paces them: robots.txt, listing page 1, one trade's
page, one issuer's page and one committee's listing (ids from the database when there is one,
else from page 1). For each: its status, time and size, and whether its reader found its data
(and which fields). Then one verdict: ok, blocked, layout changed, unreachable, disallowed by
robots.txt (or the kind of failure that stopped it), with what to try.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio

from .._errors import FetchError, SiteUnavailable
from .._help import BROWSER_INSTALL
from .._model import (
    FailureKind,
    IssuerDetail,
    ListingPage,
    PageFailure,
    PoliticianPage,
    TradeDetail,
)
from ..clients.answers import PageSource
from ..clients.robots import Robots, read_robots
from ..site.parse import parse_issuer_detail, parse_politicians_page, parse_trade_detail
from ..site.parse import parse_trades_page as _parse_listing
from ..site.roster import COMMITTEES, committees_path
from ..site.rules import CHALLENGE_ADVICE, names_a_challenge
from ..storage.store import Store
from .jobs import ISSUERS, TRADES, open_page_client
from .options import EnrichOptions
from .sync import listing_path

__all__ = ["CheckReport", "PageCheck", "run_check"]

_PAGE_SIZE = 12

#: Verdicts, and what each asks of the user.
OK = "ok"
ADVICE = {
    OK: "the site gives this client its data: a run should work (`trio-enrich update`).",
    "blocked": (
        "the site refuses this client. Try `--client browser` (if it is not installed: "
        f"`{BROWSER_INSTALL}`): it fetches as Chrome does."
    ),
    "blocked, browser": (
        "the site refuses the browser client too: try another network (datacenter "
        "addresses are refused more often) or later."
    ),
    "layout changed": (
        "the pages hold data in a shape this version of trio-enrich does not read: look for "
        "a newer trio-enrich, or report this output."
    ),
    "unreachable": "nothing answers: check --base-url and the network.",
    "disallowed by robots.txt": (
        "robots.txt disallows pages a run needs: a run would stop before fetching them."
    ),
}


@dataclass(frozen=True, slots=True)
class PageCheck:
    """One page asked for: what came back and what its reader made of it."""

    page: str  # in words: "listing page 1", "trade 2000...", ...
    path: str
    status: int | None  # None: no answer at all
    seconds: float
    size: int
    found: tuple[str, ...] = ()  # what the reader found, in words
    failure: str = ""  # the failure kind, when it found no data
    reason: str = ""
    skipped: str = ""  # the robots.txt rule that disallows the page: not asked for
    stage: str = ""  # the stage of a run that needs such pages


@dataclass(frozen=True, slots=True)
class CheckReport:
    verdict: str
    client: str
    base_url: str
    pages: tuple[PageCheck, ...] = field(default=())

    @property
    def advice(self) -> str:
        if self.verdict == "blocked" and any(names_a_challenge(p.reason) for p in self.pages):
            return "the site's hosting challenges this client. " + CHALLENGE_ADVICE
        if self.verdict == "blocked" and self.client == "browser":
            return ADVICE["blocked, browser"]
        advice = ADVICE.get(self.verdict, "a run would stop the same way: try again later.")
        skipped = [page.stage for page in self.pages if page.skipped]
        if skipped and self.verdict == OK:
            stages = " and ".join(dict.fromkeys(skipped))
            advice += f" robots.txt disallows the pages of {stages}: `update` skips that."
        return advice

    @property
    def requests(self) -> int:
        return sum(1 for page in self.pages if page.status is not None or page.failure)

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict, "advice": self.advice, "client": self.client,
            "base_url": self.base_url, "requests": self.requests,
            "pages": [asdict(page) for page in self.pages],
        }  # fmt: skip

    def lines(self) -> list[str]:
        out = [f"check {self.base_url} with {self.client}:"]
        for page in self.pages:
            status = "-" if page.status is None else str(page.status)
            if page.skipped:
                told = f"not asked for: robots.txt disallows it ({page.skipped})"
            elif page.failure:
                told = f"{FailureKind(page.failure).words}: {page.reason}"
            else:
                told = ", ".join(page.found)
            out.append(
                f"  {page.page:<22} {status:>4} {page.seconds:6.2f} s {page.size / 1024:8.1f} KB"
                f"  {told}"
            )
        out += textwrap.wrap(f"verdict: {self.verdict}: {self.advice}", 80,
                             subsequent_indent="  ", break_on_hyphens=False)  # fmt: skip
        return out


def _verdict_of(kind: FailureKind) -> str:
    if kind is FailureKind.BLOCKED:
        return "blocked"
    if kind is FailureKind.LAYOUT_CHANGED:
        return "layout changed"
    if kind is FailureKind.UNREACHABLE:
        return "unreachable"
    return f"failed ({kind.words})"


#: Failures after which asking for more pages only adds refused requests.
_STOP_AT = frozenset({FailureKind.BLOCKED, FailureKind.UNREACHABLE, FailureKind.RATE_LIMITED})


async def run_check(options: EnrichOptions, db: Path | None) -> CheckReport:
    """Ask for the canary pages, in order, paced; stop at the first that tells enough."""
    report = _Check(options)
    try:
        robots = await report.robots()
    except SiteUnavailable as error:
        report.add(PageCheck("robots.txt", "/robots.txt", None, 0.0, 0, (), "unreachable",
                             str(error)))  # fmt: skip
        return report.done("unreachable")
    trade_id, issuer_id = await trio.to_thread.run_sync(_ids_from, db)
    committee = "ssfi" if "ssfi" in COMMITTEES else sorted(COMMITTEES)[0]  # a big one
    first = listing_path(1, _PAGE_SIZE)
    report.robots_txt = robots
    async with open_page_client(options.base_url, 1, options.deadline, options.client) as client:
        listing = await report.page(client, "listing page 1", first, _listing_read,
                                    _listing_found, stage="sync")  # fmt: skip
        if isinstance(listing, ListingPage) and listing.trades:
            trade_id = trade_id or listing.trades[0].tx_id
            issuer_id = issuer_id or listing.trades[0].issuer.issuer_id
        if not report.stopped and trade_id is not None:
            read_trade = partial(parse_trade_detail, tx_id=trade_id)
            path = TRADES.path(trade_id)
            await report.page(client, f"trade {trade_id}", path, read_trade, _trade_found,
                              stage="trades")  # fmt: skip
        if not report.stopped and issuer_id is not None:
            read_issuer = partial(parse_issuer_detail, issuer_id=issuer_id)
            path = ISSUERS.path(issuer_id)
            await report.page(client, f"issuer {issuer_id}", path, read_issuer, _issuer_found,
                              stage="issuers")  # fmt: skip
        if not report.stopped:
            path = committees_path(committee, 1)
            await report.page(client, f"committee {committee}", path, parse_politicians_page,
                              _committee_found, stage="committees")  # fmt: skip
    asked = [page for page in report.pages[1:] if not page.skipped]
    if not asked:
        return report.done("disallowed by robots.txt")
    failures = [page for page in asked if page.failure and page.failure != "not_found"]
    if not failures:
        return report.done(OK)
    return report.done(_verdict_of(FailureKind(failures[0].failure)))


def _ids_from(db: Path | None) -> tuple[int | None, int | None]:
    if db is None or not os.path.exists(db):
        return None, None
    with Store.open(db, read_only=True) as store:
        return store.sample_ids()


class _Check:
    def __init__(self, options: EnrichOptions) -> None:
        self.options = options
        self.pages: list[PageCheck] = []
        self.stopped = False
        self.robots_txt: Robots | None = None
        self._interval = options.pause
        self._last = -1e9

    def add(self, page: PageCheck) -> None:
        self.pages.append(page)

    def done(self, verdict: str) -> CheckReport:
        return CheckReport(verdict, self.options.client, self.options.base_url, tuple(self.pages))

    async def _paced(self) -> None:
        """As a run paces: each request after the pause of a worker, and no faster than
        robots.txt's rate."""
        await trio.sleep_until(self._last + self._interval)
        self._last = trio.current_time()

    async def robots(self) -> Robots:
        options = self.options
        started = trio.current_time()
        robots = await read_robots(
            options.base_url, deadline=min(options.deadline, 10), tries=1, client=options.client
        )
        self._last = trio.current_time()
        if robots.rate_cap:
            self._interval = max(self._interval, 1.0 / robots.rate_cap)
        self.add(PageCheck("robots.txt", "/robots.txt", robots.status, self._last - started,
                           len(robots.body or robots.text), (robots.describe(),)))  # fmt: skip
        return robots

    async def page(
        self,
        client: PageSource,
        name: str,
        path: str,
        read: Callable[[bytes], Any],
        found: Callable[[Any], tuple[str, ...]],
        *,
        stage: str,
    ) -> Any:
        """Ask for one page and read it, unless robots.txt disallows it: such a page is
        skipped, as a run skips the stage that needs it."""
        blocked = self.robots_txt.blocked([path]) if self.robots_txt is not None else None
        if blocked is not None:
            self.add(PageCheck(name, path, None, 0.0, 0, skipped=blocked[1], stage=stage))
            return None
        await self._paced()
        started = trio.current_time()
        try:
            body = await client.get(path)
        except FetchError as error:
            # A refusal's page is counted as received (a CDN's 403 page is what it said).
            size = len(error.body or b"")
            self.add(PageCheck(name, path, error.status, trio.current_time() - started, size,
                               (), error.kind.value, error.reason, stage=stage))  # fmt: skip
            self.stopped = error.kind in _STOP_AT
            return None
        seconds = trio.current_time() - started
        result = read(body)
        if isinstance(result, PageFailure):
            self.add(PageCheck(name, path, 200, seconds, len(body), (), result.kind.value,
                               result.reason, stage=stage))  # fmt: skip
            self.stopped = result.kind in _STOP_AT
            return None
        self.add(PageCheck(name, path, 200, seconds, len(body), found(result), stage=stage))
        return result


def _listing_read(body: bytes) -> ListingPage | PageFailure:
    return _parse_listing(body, page_number=1, page_size=_PAGE_SIZE)


def _listing_found(page: ListingPage) -> tuple[str, ...]:
    return (f"{len(page.trades)} trades", f"totalCount {page.total_count}")


_TRADE_FIELDS = (
    ("asset_type", "asset type"), ("filing_url", "filing URL"), ("filing_id", "filing id"),
    ("price", "price"), ("size", "shares"), ("size_range_low", "share range"),
    ("has_capital_gains", "capital gains"), ("committees", "committees"), ("labels", "labels"),
)  # fmt: skip


def _trade_found(detail: TradeDetail) -> tuple[str, ...]:
    shown = [words for name, words in _TRADE_FIELDS if getattr(detail, name) not in (None, ())]
    missing = [words for name, words in _TRADE_FIELDS if getattr(detail, name) in (None, ())]
    return (*shown, *([f"not shown: {', '.join(missing)}"] if missing else []))


def _issuer_found(detail: IssuerDetail) -> tuple[str, ...]:
    issuer = detail.issuer
    found = [f"name {issuer.issuer_name!r}"]
    found += [f"{words}" for words, value in (("ticker", issuer.issuer_ticker),
              ("sector", issuer.sector), ("country", issuer.country)) if value]  # fmt: skip
    found.append("stats" if detail.stats is not None else "no stats")
    performance = detail.performance
    if performance is None:
        found.append("no performance")
    else:
        found.append("performance" if performance.complete else "performance, in part")
        found.append(f"{len(performance.eod_prices)} prices")
    return tuple(found)


def _committee_found(page: PoliticianPage) -> tuple[str, ...]:
    return (f"{len(page.politicians)} members", f"totalCount {page.total_count}")
