"""The flags the commands share, as cyclopts reads them, and the number converters that
refuse a value out of range with the range named."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from cyclopts import Parameter, Token

from .. import _defaults as defaults
from .._help import FLAG_HELP as _HELP
from .._model import DEFAULT_BASE_URL, ProgressMode
from ..clients.answers import ClientName
from ..commands.settings import RateSpec, RunSettings, parse_max_rps, parse_refresh, parse_since

if TYPE_CHECKING:
    from ..runs.options import EnrichOptions

_WHOLE = re.compile(r"[+-]?\d+")
# A decimal number as people write it: no nan, inf, hex or underscores.
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def whole(low: int, high: int) -> Parameter:
    """A flag's whole number from `low` to `high`: `2.5` is refused, not cut to 2 (cyclopts'
    int would), and so is a number out of range, with the range named."""

    def convert(type_: object, tokens: Sequence[Token]) -> int:
        text = tokens[0].value.strip()
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"{text!r} is not a whole number (give one from {low} to {high})")
        number = int(text)
        if not low <= number <= high:
            raise ValueError(f"{text} is out of range: give a whole number from {low} to {high}")
        return number

    return Parameter(converter=convert)


def number(low: float, high: float, *, above: bool = False) -> Parameter:
    """A flag's decimal number from `low` (or above it) to `high`; not-a-number, infinities
    and numbers out of range are refused with the range named."""
    shown = f"{'above' if above else 'from'} {low:g} to {high:g}"

    def convert(type_: object, tokens: Sequence[Token]) -> float:
        text = tokens[0].value.strip()
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{text!r} is not a number (give one {shown})")
        number = float(text)
        if number < low or (above and number == low) or number > high:
            raise ValueError(f"{text} is out of range: give a number {shown}")
        return number

    return Parameter(converter=convert)


#: Upper bounds of flags that have no natural one: beyond them a value is a typing error.
MANY = 1_000_000_000
LONGEST_MS = 86_400_000  # a day


@Parameter(name="*")
@dataclass(kw_only=True)
class SiteFlags:
    """Options of every command that talks to the site."""

    db: Annotated[Path, Parameter(help=_HELP["db"])] = Path("capitoltraders.db")
    base_url: Annotated[
        str,
        Parameter(env_var="CAPITOLTRADES_BASE_URL", help=_HELP["base_url"], metavar="URL"),
    ] = DEFAULT_BASE_URL
    client: Annotated[ClientName, Parameter(env_var="TRIO_ENRICH_CLIENT", help=_HELP["client"])] = (
        "httpx"
    )
    concurrency: Annotated[int, whole(1, 10), Parameter(help=_HELP["concurrency"])] = (
        defaults.CONCURRENCY
    )
    max_failures: Annotated[int, whole(1, MANY), Parameter(help=_HELP["max_failures"])] = (
        defaults.MAX_FAILURES
    )
    details_delay_ms: Annotated[
        int | None, whole(0, LONGEST_MS), Parameter(help=_HELP["delay"], show_default=False)
    ] = None
    max_rps: Annotated[str | None, Parameter(help=_HELP["max_rps"], metavar="R|auto|auto:R")] = None
    retry_max: Annotated[
        int,
        whole(0, 100),
        Parameter(env_var="CAPITOLTRADES_RETRY_MAX", help=_HELP["retry_max"]),
    ] = defaults.RETRIES
    retry_base_ms: Annotated[
        int,
        whole(0, LONGEST_MS),
        Parameter(env_var="CAPITOLTRADES_RETRY_BASE_MS", help=_HELP["base"]),
    ] = round(defaults.RETRY_BASE * 1000)
    retry_max_ms: Annotated[
        int,
        whole(0, LONGEST_MS),
        Parameter(env_var="CAPITOLTRADES_RETRY_MAX_MS", help=_HELP["cap"]),
    ] = round(defaults.RETRY_CAP * 1000)
    timeout: Annotated[float, number(0, 3600, above=True), Parameter(help=_HELP["timeout"])] = (
        defaults.DEADLINE
    )
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto"
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False
    wait: Annotated[bool, Parameter(help=_HELP["wait"])] = False
    ignore_robots_disallow: Annotated[bool, Parameter(help=_HELP["ignore_robots"])] = False
    no_archive: Annotated[bool, Parameter(help=_HELP["no_archive"])] = False

    def rate(self) -> RateSpec:
        return parse_max_rps(self.max_rps)

    def settings(self) -> RunSettings:
        """What the command is asked to do (validated before anything is opened)."""
        return RunSettings(
            db=self.db, options=self.options(), progress=self.progress, json=self.json,
            wait=self.wait, ignore_robots_disallow=self.ignore_robots_disallow,
        )  # fmt: skip

    def options(self) -> EnrichOptions:
        from ..clients.httpx_client import check_base_url
        from ..core.policy import RetryPolicy
        from ..runs.options import EnrichOptions

        rate = self.rate()
        if self.client == "browser":
            from ..clients.browser import require_browser

            require_browser()  # before anything is opened: a one-line error without the extra
        delay_ms = self.details_delay_ms  # None: the default pause (0 with auto)
        return EnrichOptions(
            base_url=check_base_url(self.base_url),
            concurrency=self.concurrency,
            max_failures=self.max_failures,
            delay=None if delay_ms is None else delay_ms / 1000,
            max_rps=rate.value,
            auto=rate.auto,
            retry=RetryPolicy(
                max_retries=self.retry_max,
                base=self.retry_base_ms / 1000,
                cap=self.retry_max_ms / 1000,
            ),
            deadline=self.timeout,
            client=self.client,
            archive=not self.no_archive,
        )


@Parameter(name="*")
@dataclass(kw_only=True)
class EnrichFlags(SiteFlags):
    """Options of `trades` and `issuers`."""

    batch_size: Annotated[int | None, whole(1, MANY), Parameter(help=_HELP["batch_size"])] = None
    not_found_guard: Annotated[int, whole(1, MANY), Parameter(help=_HELP["guard"])] = (
        defaults.NOT_FOUND_GUARD
    )
    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False
    retry_failed: Annotated[bool, Parameter(help=_HELP["retry_failed"])] = False

    def options(self) -> EnrichOptions:
        return replace(
            super().options(),
            not_found_guard=self.not_found_guard,
            limit=self.batch_size,
            retry_failed=self.retry_failed,
        )

    def settings(self) -> RunSettings:
        return replace(super().settings(), dry_run=self.dry_run)


@Parameter(name="*")
@dataclass(kw_only=True)
class IssuerFlags(EnrichFlags):
    """Options of `issuers`."""

    refresh_older_than: Annotated[
        str | None,
        Parameter(help=_HELP["refresh"], metavar="DURATION", allow_leading_hyphen=True),
    ] = None

    def options(self) -> EnrichOptions:
        refresh = None
        if self.refresh_older_than is not None:
            refresh = parse_refresh(self.refresh_older_than)
        return replace(super().options(), refresh_older_than=refresh)


@Parameter(name="*")
@dataclass(kw_only=True)
class SyncFlags(SiteFlags):
    """Options of `sync`."""

    db: Annotated[Path, Parameter(help=_HELP["sync_db"])] = Path("capitoltraders.db")
    full: Annotated[bool, Parameter(help=_HELP["full"])] = False
    since: Annotated[str | None, Parameter(help=_HELP["since"], metavar="YYYY-MM-DD")] = None
    pages: Annotated[int | None, whole(1, MANY), Parameter(help=_HELP["pages"])] = None
    page_size: Annotated[int, whole(1, 100), Parameter(help=_HELP["page_size"])] = (
        defaults.PAGE_SIZE
    )

    def settings(self) -> RunSettings:
        from ..runs.sync import SyncOptions

        since = parse_since(self.since, full=self.full)
        settings = super().settings()
        walk = SyncOptions(full=self.full, since=since,
                           max_pages=self.pages, page_size=self.page_size)  # fmt: skip
        return replace(settings, sync=walk)


@Parameter(name="*")
@dataclass(kw_only=True)
class CommitteeFlags(SiteFlags):
    """Options of `committees`."""

    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False

    def settings(self) -> RunSettings:
        return replace(super().settings(), dry_run=self.dry_run)


@Parameter(name="*")
@dataclass(kw_only=True)
class UpdateFlags(SiteFlags):
    """Options of `update`."""

    db: Annotated[Path, Parameter(help=_HELP["sync_db"])] = Path("capitoltraders.db")
    full: Annotated[bool, Parameter(help=_HELP["full"])] = False
    refresh_older_than: Annotated[
        str,
        Parameter(help=_HELP["update_refresh"], metavar="DURATION", allow_leading_hyphen=True),
    ] = defaults.REFRESH
    not_found_guard: Annotated[int, whole(1, MANY), Parameter(help=_HELP["guard"])] = (
        defaults.NOT_FOUND_GUARD
    )
    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False
    feed: Annotated[
        Path | None, Parameter(help=_HELP["feed"], metavar="PATH", show_default=False)
    ] = None
    feed_size: Annotated[int, whole(1, 10_000), Parameter(help=_HELP["feed_size"])] = 100
    notify: Annotated[
        tuple[str, ...], Parameter(help=_HELP["notify"], metavar="URL", show_default=False)
    ] = ()
    notify_file: Annotated[
        Path | None, Parameter(help=_HELP["notify_file"], metavar="FILE", show_default=False)
    ] = None
    watch: Annotated[
        tuple[str, ...], Parameter(help=_HELP["watch"], metavar="RULE", show_default=False)
    ] = ()
    watch_file: Annotated[
        Path | None, Parameter(help=_HELP["watch_file"], metavar="FILE", show_default=False)
    ] = None
    notify_history: Annotated[bool, Parameter(help=_HELP["notify_history"])] = False

    def options(self) -> EnrichOptions:
        return replace(super().options(), not_found_guard=self.not_found_guard,
                       refresh_older_than=parse_refresh(self.refresh_older_than))  # fmt: skip

    def settings(self) -> RunSettings:
        from ..commands.alerting import alert_settings

        alerts = alert_settings(
            feed=self.feed, feed_size=self.feed_size, notify=self.notify,
            notify_file=self.notify_file, watch=self.watch, watch_file=self.watch_file,
            history=self.notify_history,
        )  # fmt: skip
        return replace(super().settings(), dry_run=self.dry_run, full=self.full, alerts=alerts)
