"""The ``trio-enrich`` command line: thin commands over the library, mapped to exit codes.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker, the not-found guard or an unreachable site; 130 interrupted (SIGINT); 143
terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import re
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import cyclopts
import trio
from cyclopts import Parameter, validators

from . import __version__
from ._committees import COMMITTEE_WORDS, read_committees
from ._enrich import DEFAULT_BASE_URL, EnrichOptions, enrich, pending_ids
from ._errors import SiteUnavailable, TrioEnrichError, UsageError
from ._http import check_base_url
from ._jobs import ISSUERS, LISTING, TRADES, Job, Words
from ._lock import RunLock
from ._pacing import AdaptiveRate
from ._pipeline import FinishReason, ProgressSink, RetryPolicy, RunStats
from ._progress import ProgressMode, open_progress
from ._report import committee_lines, status_lines, summary_lines, update_lines, walk_lines, wrap
from ._robots import PRODUCT_TOKEN, Robots, read_robots
from ._roster import COMMITTEES, committees_path
from ._store import Store
from ._sync import SyncOptions, listing_path, sync_listing

_json = json  # `status --json` shadows the module name inside that command
T = TypeVar("T")

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "app", "entry", "main"]

EXIT_OK = 0
EXIT_ITEM_FAILURES = 1
EXIT_USAGE = 2
EXIT_BREAKER = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

app = cyclopts.App(
    name="trio-enrich",
    help=(
        "Keep a local SQLite copy of Capitol Trades (capitoltrades.com) complete: fetch the "
        "detail page of every trade and issuer, politely and concurrently, and write what it "
        "adds into a capitoltraders.db.\n\n"
        "Exit codes: 0 done; 1 finished with item failures (or a sync that did not reach its "
        "end); 2 usage or input error; 3 stopped by the circuit breaker, by the not-found "
        "guard, or because the site cannot be reached; 130 interrupted; 143 terminated."
    ),
    version=__version__,
    backend="trio",
    default_parameter=Parameter(negative=()),
)


def _error(message: str) -> None:
    print(f"trio-enrich: error: {' '.join(message.split())}", file=sys.stderr)


def _number(**bounds: float) -> Parameter:
    return Parameter(validator=validators.Number(**bounds))


_HELP = {
    "db": "SQLite database to enrich (made by `sync`, or an existing capitoltraders.db).",
    "base_url": "The site to fetch pages from.",
    "concurrency": "Requests in flight at once (1 to 10).",
    "max_failures": (
        "Stop (exit 3) after this many consecutive failures that mean the site is unusable "
        "(errors, timeouts, blocks, rate limits that outlast the retries)."
    ),
    "batch_size": "The most items to fetch in this run (default: every pending one).",
    "delay": (
        "Each worker's pause before each request, in milliseconds (default 500; 0 with "
        "--max-rps auto, whose rate does the pacing)."
    ),
    "max_rps": (
        "A number: never more than this many requests in any 1 s window (all workers "
        "together). auto: find the rate the site allows from its answers (429s, 5xx bursts, "
        "latency) and stay just under it, starting from the rate a run learned before; "
        "auto:N never goes above N."
    ),
    "ignore_robots": (
        "Run even if robots.txt disallows the pages this command needs (its Crawl-delay and "
        "Request-rate still cap the rate). Only if you have decided that is right."
    ),
    "retry_max": (
        "Retries of a retryable failure: 429, 403, 408, 5xx, timeouts, connection errors, "
        "truncated pages."
    ),
    "base": "First backoff ceiling in milliseconds; it doubles each retry (full jitter).",
    "cap": "Largest backoff ceiling in milliseconds.",
    "timeout": "Seconds allowed for a whole request, body included.",
    "guard": (
        "Stop (exit 3) after this many 'not found' answers in a row: the site's addresses "
        "have probably changed, so none of them is recorded."
    ),
    "dry_run": "Count what would be fetched; send nothing and change nothing.",
    "retry_failed": "Also fetch items that earlier runs recorded as not found.",
    "progress": "auto: a bar on a terminal, log lines elsewhere; bar; log; none.",
    "json": "Print the final summary as one JSON object on stdout.",
    "refresh": (
        "Also fetch again the issuers enriched longer ago than this (0s, 30m, 12h, 7d): "
        "their performance and end-of-day prices are replaced."
    ),
    "wait": (
        "If another trio-enrich run is using the database, wait for it to finish instead of "
        "stopping at once (exit 2)."
    ),
    "update_refresh": (
        "Fetch again the issuers enriched longer ago than this (0s, 30m, 12h, 7d; never: "
        "only new ones): their performance and end-of-day prices change every trading day."
    ),
    "sync_db": "SQLite database to fill (created if missing; an existing capitoltraders.db works).",
    "full": "Walk every listing page (concurrently) instead of stopping at the last sync.",
    "since": "Read back to this date (YYYY-MM-DD) instead of the last synced one.",
    "pages": "The most listing pages to fetch.",
    "page_size": "Trades per listing page (the site's default is 12).",
    "status_db": "SQLite database to report on.",
    "demo_db": "A new database file to fill (default: one in a temporary folder).",
    "demo_trades": "Number of trades on the simulated site.",
}


@Parameter(name="*")
@dataclass(kw_only=True)
class SiteFlags:
    """Options of every command that talks to the site."""

    db: Annotated[Path, Parameter(help=_HELP["db"])] = Path("capitoltraders.db")
    base_url: Annotated[
        str,
        Parameter(env_var="CAPITOLTRADES_BASE_URL", help=_HELP["base_url"], metavar="URL"),
    ] = DEFAULT_BASE_URL
    concurrency: Annotated[int, _number(gte=1, lte=10), Parameter(help=_HELP["concurrency"])] = 3
    max_failures: Annotated[int, _number(gte=1), Parameter(help=_HELP["max_failures"])] = 5
    details_delay_ms: Annotated[
        int | None, _number(gte=0), Parameter(help=_HELP["delay"], show_default=False)
    ] = None
    max_rps: Annotated[str | None, Parameter(help=_HELP["max_rps"], metavar="R|auto|auto:R")] = None
    retry_max: Annotated[
        int,
        _number(gte=0, lte=100),
        Parameter(env_var="CAPITOLTRADES_RETRY_MAX", help=_HELP["retry_max"]),
    ] = 3
    retry_base_ms: Annotated[
        int, _number(gte=0), Parameter(env_var="CAPITOLTRADES_RETRY_BASE_MS", help=_HELP["base"])
    ] = 2000
    retry_max_ms: Annotated[
        int, _number(gte=0), Parameter(env_var="CAPITOLTRADES_RETRY_MAX_MS", help=_HELP["cap"])
    ] = 30_000
    timeout: Annotated[float, _number(gt=0, lte=3600), Parameter(help=_HELP["timeout"])] = 30.0
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto"
    json: Annotated[bool, Parameter(help=_HELP["json"])] = False
    wait: Annotated[bool, Parameter(help=_HELP["wait"])] = False
    ignore_robots_disallow: Annotated[bool, Parameter(help=_HELP["ignore_robots"])] = False

    def rate(self) -> RateSpec:
        return parse_max_rps(self.max_rps)

    def options(self) -> EnrichOptions:
        rate = self.rate()
        delay_ms = self.details_delay_ms
        if delay_ms is None:
            delay_ms = 0 if rate.auto else 500
        return EnrichOptions(
            base_url=check_base_url(self.base_url),
            concurrency=self.concurrency,
            max_failures=self.max_failures,
            delay=delay_ms / 1000,
            max_rps=None if rate.auto else rate.value,
            retry=RetryPolicy(
                max_retries=self.retry_max,
                base=self.retry_base_ms / 1000,
                cap=self.retry_max_ms / 1000,
            ),
            deadline=self.timeout,
        )


@Parameter(name="*")
@dataclass(kw_only=True)
class EnrichFlags(SiteFlags):
    """Options of `trades` and `issuers`."""

    batch_size: Annotated[int | None, _number(gte=1), Parameter(help=_HELP["batch_size"])] = None
    not_found_guard: Annotated[int, _number(gte=1), Parameter(help=_HELP["guard"])] = 25
    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False
    retry_failed: Annotated[bool, Parameter(help=_HELP["retry_failed"])] = False

    def options(self) -> EnrichOptions:
        return replace(
            super().options(),
            not_found_guard=self.not_found_guard,
            limit=self.batch_size,
            retry_failed=self.retry_failed,
        )


@Parameter(name="*")
@dataclass(kw_only=True)
class IssuerFlags(EnrichFlags):
    """Options of `issuers`."""

    refresh_older_than: Annotated[
        str | None, Parameter(help=_HELP["refresh"], metavar="DURATION")
    ] = None

    def options(self) -> EnrichOptions:
        refresh = None
        if self.refresh_older_than is not None:
            refresh = parse_duration(self.refresh_older_than, "--refresh-older-than")
        return replace(super().options(), refresh_older_than=refresh)


@dataclass(frozen=True, slots=True)
class RateSpec:
    """What --max-rps asked for: a fixed cap, or auto (with an optional ceiling)."""

    auto: bool = False
    value: float | None = None  # the fixed cap, or auto's ceiling


def parse_max_rps(text: str | None) -> RateSpec:
    """`20`, `0.5`, `auto` or `auto:30`; a UsageError otherwise."""
    if text is None:
        return RateSpec()
    value = text.strip().lower()
    auto = value == "auto" or value.startswith("auto:")
    number = value[5:] if value.startswith("auto:") else ("" if auto else value)
    if auto and not number:
        return RateSpec(auto=True)
    try:
        rate = float(number)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise UsageError(
            f"--max-rps {text!r} is not a rate: give requests per second (20, 0.5), auto or "
            "auto:N (auto, never above N)"
        )
    return RateSpec(auto=auto, value=rate)


_DURATION = re.compile(r"^(\d+)([smhd])$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str) -> float:
    """Seconds of a duration such as `0s`, `30m`, `12h`, `7d`; a UsageError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{flag} {text!r} is not a duration such as 0s, 30m, 12h or 7d")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


@Parameter(name="*")
@dataclass(kw_only=True)
class SyncFlags(SiteFlags):
    """Options of `sync`."""

    db: Annotated[Path, Parameter(help=_HELP["sync_db"])] = Path("capitoltraders.db")
    full: Annotated[bool, Parameter(help=_HELP["full"])] = False
    since: Annotated[str | None, Parameter(help=_HELP["since"], metavar="YYYY-MM-DD")] = None
    pages: Annotated[int | None, _number(gte=1), Parameter(help=_HELP["pages"])] = None
    page_size: Annotated[int, _number(gte=1, lte=100), Parameter(help=_HELP["page_size"])] = 12

    def sync_options(self) -> SyncOptions:
        since = self.since
        if since is not None:
            try:
                since = datetime.date.fromisoformat(since).isoformat()
            except ValueError:
                raise UsageError(
                    f"--since {since!r} is not a date in the form YYYY-MM-DD"
                ) from None
            if len(self.since or "") != 10:
                raise UsageError(f"--since {self.since!r} is not a date in the form YYYY-MM-DD")
            if self.full:
                raise UsageError("--full and --since exclude each other: --full reads every page")
        return SyncOptions(
            enrich=self.options(),
            full=self.full,
            since=since,
            max_pages=self.pages,
            page_size=self.page_size,
        )


# --- trades / issuers ---------------------------------------------------------------------------


@app.command
async def trades(flags: EnrichFlags | None = None) -> int:
    """Fetch the detail page of every trade not yet enriched and store what it adds.

    Adds asset type, filing URL and id, share counts, price, capital gains, committees and
    labels. Safe to stop and re-run: committed trades are never fetched again.
    """
    return await _run_job(TRADES, flags or EnrichFlags())


@app.command
async def issuers(flags: IssuerFlags | None = None) -> int:
    """Fetch the detail page of every issuer not yet enriched and store what it adds.

    Adds stats, market performance and end-of-day price history. Safe to stop and re-run.
    Performance and prices change every trading day: --refresh-older-than 1d fetches again
    the issuers enriched more than a day ago (a page without performance keeps the stored one).
    """
    return await _run_job(ISSUERS, flags or IssuerFlags())


async def _run_job(job: Job[Any, Any], flags: EnrichFlags) -> int:
    options = flags.options()  # validates the base URL before anything is opened
    if flags.dry_run:
        return await _dry_run(job, flags, options)
    _require_database(flags.db)

    def require_items(store: Store) -> None:
        rows = store.query(f"SELECT COUNT(*) FROM {job.table}")
        if rows[0][0] == 0:
            raise UsageError(
                f"no {job.words.noun} in the database {flags.db}: run "
                f"`trio-enrich sync --db {flags.db}` first"
            )

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        return [job.path(item) for item in pending_ids(store, job, paced)]

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions) -> list[Stage]:
        return [await _job_stage(store, job, paced, flags, stop)]

    return await _run_locked(
        job.name, flags, options, work, needs, create=False, check=require_items
    )


async def _dry_run(job: Job[Any, Any], flags: EnrichFlags, options: EnrichOptions) -> int:
    _require_database(flags.db)

    def pending() -> list[str]:
        with Store.open(flags.db, read_only=True) as store:
            return [job.path(item) for item in pending_ids(store, job, options)]

    paths = await trio.to_thread.run_sync(pending)
    selected = len(paths)
    robots = await _robots_for_dry_run(options, paths)
    per_item = options.delay + 0.15  # the pause plus a typical page time
    estimate = selected * per_item / options.concurrency
    if options.max_rps:
        estimate = max(estimate, selected / options.max_rps)
    if flags.json:
        print(json.dumps({"job": job.name, "dry_run": True, "selected": selected,
                          "estimated_seconds": round(estimate, 1), "robots": robots}))  # fmt: skip
    else:
        print(f"{job.name}: {selected} pending; would send at least {selected} requests "
              f"(about {estimate / 60:.1f} min at concurrency {options.concurrency}); "
              "nothing else was sent", robots, sep="\n")  # fmt: skip
    return EXIT_OK


async def _robots_for_dry_run(options: EnrichOptions, paths: Sequence[str]) -> str:
    """What robots.txt says, for a dry run (its one request; no retries)."""
    try:
        robots = await read_robots(options.base_url, deadline=min(options.deadline, 10), tries=1)
    except SiteUnavailable as error:
        return f"{error} (a run would stop, exit 3)"
    blocked = robots.blocked(paths)
    if blocked is not None:
        path, rule = blocked
        return (f"{robots.describe()}; it disallows {path} ({rule}): a run would stop "
                "(exit 2) unless --ignore-robots-disallow")  # fmt: skip
    return robots.describe() + "; the pages needed are allowed"


# --- stages: one job's run inside a locked database ------------------------------------------


@dataclass(slots=True)
class Stage:
    """What one stage of a command did: its exit code, its JSON summary, its text summary."""

    name: str
    code: int
    report: dict[str, object]
    lines: list[str]
    finish: FinishReason

    @property
    def stops_the_rest(self) -> bool:
        """The site is unusable (breaker, not-found guard, unreachable) or the run was stopped:
        later stages must not start."""
        return self.finish is not FinishReason.COMPLETED


async def _job_stage(
    store: Store, job: Job[Any, Any], options: EnrichOptions, flags: SiteFlags, stop: trio.Event
) -> Stage:
    selected = await trio.to_thread.run_sync(pending_ids, store, job, options)
    with open_progress(flags.progress, job.name, len(selected)) as progress:
        stats = await enrich(store, job, options, ids=selected, progress=progress, stop=stop)
    return Stage(
        name=job.name,
        code=_stats_code(stats),
        report={"job": job.name, **job.words.counters(stats)},
        lines=_summary(job.name, stats, flags, job.words),
        finish=stats.finish_reason,
    )


async def _sync_stage(
    store: Store, options: SyncOptions, flags: SiteFlags, stop: trio.Event
) -> Stage:
    def progress_for(total: int | None) -> AbstractContextManager[ProgressSink]:
        return open_progress(flags.progress, "sync", total, noun=LISTING.noun)

    def notify(message: str) -> None:
        print(f"sync: {message}", file=sys.stderr, flush=True)

    result = await sync_listing(store, options, progress=progress_for, stop=stop, notify=notify)
    stats = result.stats
    lines = _summary("sync", stats, flags, LISTING)
    walk = wrap(["", *walk_lines(result)])[1:]
    code = _stats_code(stats)
    if code == EXIT_OK and not result.complete and options.max_pages is None:
        code = EXIT_ITEM_FAILURES  # the walk did not reach its end: not everything is stored
    return Stage(
        name="sync",
        code=code,
        report={"job": "sync", **result.as_dict(), **LISTING.counters(stats)},
        lines=[lines[0], *walk, *lines[1:]],
        finish=stats.finish_reason,
    )


async def _committees_stage(
    store: Store, options: EnrichOptions, flags: SiteFlags, stop: trio.Event
) -> Stage:
    def progress_for(total: int | None) -> AbstractContextManager[ProgressSink]:
        return open_progress(flags.progress, "committees", total, noun=COMMITTEE_WORDS.noun)

    result = await read_committees(store, options, progress=progress_for, stop=stop)
    stats = result.stats
    lines = _summary("committees", stats, flags, COMMITTEE_WORDS)
    code = _stats_code(stats)
    if code == EXIT_OK and not result.complete:
        code = EXIT_ITEM_FAILURES
    return Stage(
        name="committees",
        code=code,
        report={"job": "committees", **result.as_dict(), **COMMITTEE_WORDS.counters(stats)},
        lines=[lines[0], *wrap(["", *committee_lines(result)])[1:], *lines[1:]],
        finish=stats.finish_reason,
    )


async def _run_locked(
    label: str,
    flags: SiteFlags,
    options: EnrichOptions,
    work: Callable[[Store, trio.Event, EnrichOptions], Awaitable[list[Stage]]],
    needs: Callable[[Store, EnrichOptions], list[str]],
    *,
    create: bool,
    check: Callable[[Store], None] | None = None,
    report: Callable[[list[Stage]], None] | None = None,
) -> int:
    """Open the database, take the run lock, read robots.txt (the pages `needs` must be
    allowed; its rate caps the pacing), run `work` under the signal handling, print the
    stages' summaries (or `report` them) and return the exit code."""
    store = await trio.to_thread.run_sync(lambda: Store.open(flags.db, create=create))
    lock = RunLock(flags.db)
    try:
        if check is not None:
            await trio.to_thread.run_sync(check, store)
        # The lock before the pending list: a run that waited reads what the other left.
        await _take_run_lock(lock, store, flags)
        robots = await read_robots(options.base_url, deadline=options.deadline)
        if robots.text:
            print(robots.describe(), file=sys.stderr, flush=True)
        paced = await trio.to_thread.run_sync(_paced, store, flags, options, robots)
        paths = await trio.to_thread.run_sync(needs, store, paced)
        _check_robots(robots, paths, flags)

        async def guarded(stop: trio.Event) -> list[Stage]:
            return await work(store, stop, paced)

        stages, received = await _with_signals(label, guarded)
        if paced.adaptive is not None:
            await trio.to_thread.run_sync(_remember_rate, store, paced)
    finally:
        _release_run_lock(lock, store)
        store.close()
    if stages is None:
        return _signal_exit(received)
    if report is not None:
        report(stages)
    else:
        for stage in stages:
            _print_stage(stage, flags)
    if received:
        return _signal_exit(received)
    return _most_severe([stage.code for stage in stages])


#: Where `--max-rps auto` starts without a remembered rate: about the rate of the polite
#: defaults (3 workers, each pausing 500 ms before a request of ~100 ms).
AUTO_START_RATE = 5.0
#: A remembered rate older than this is not trusted.
REMEMBER_DAYS = 30


def _paced(store: Store, flags: SiteFlags, options: EnrichOptions, robots: Robots) -> EnrichOptions:
    """The options with their pacing: robots.txt's rate caps every mode; auto starts from the
    rate an earlier run learned for this host (with a margin), or from the polite rate."""
    rate = flags.rate()
    cap = robots.rate_cap
    if not rate.auto:
        if cap is None:
            return options
        return replace(options, max_rps=min(options.max_rps or cap, cap))
    # The adaptive gate spaces requests exactly: keep robots.txt's cap with a margin.
    ceilings = [c for c in (rate.value, None if cap is None else cap / 1.03) if c is not None]
    ceiling = min(ceilings) if ceilings else None
    learned = store.learned_rate(urlsplit(options.base_url).netloc)
    adaptive = AdaptiveRate(start=AUTO_START_RATE, ceiling=ceiling)
    if learned is not None and _fresh(str(learned.get("learned_at", ""))):
        value = float(str(learned.get("rate", AUTO_START_RATE)))
        if learned.get("limited"):
            adaptive = AdaptiveRate(start=0.95 * value, ceiling=ceiling, remembered=True)
        else:
            adaptive = AdaptiveRate(start=max(AUTO_START_RATE, 0.9 * value), ceiling=ceiling)
    return replace(options, adaptive=adaptive)


def _fresh(stamp: str) -> bool:
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    age = datetime.datetime.now(datetime.UTC) - moment
    return age < datetime.timedelta(days=REMEMBER_DAYS)


def _remember_rate(store: Store, options: EnrichOptions) -> None:
    adaptive = options.adaptive
    learned = adaptive.learned() if adaptive is not None else None
    if learned is not None:
        rate, limited = learned
        store.remember_rate(urlsplit(options.base_url).netloc, rate, limited=limited)


def _check_robots(robots: Robots, paths: Sequence[str], flags: SiteFlags) -> None:
    """Stop before the first page request when robots.txt disallows a page the run needs."""
    blocked = robots.blocked(paths)
    if blocked is None:
        return
    path, rule = blocked
    if flags.ignore_robots_disallow:
        print(f"trio-enrich: warning: robots.txt ({rule}) disallows {path}; going on as "
              "--ignore-robots-disallow asks", file=sys.stderr, flush=True)  # fmt: skip
        return
    raise UsageError(
        f"robots.txt disallows {path} for {PRODUCT_TOKEN} ({rule}); nothing was fetched. "
        "Pass --ignore-robots-disallow only if you have decided to fetch it anyway"
    )


def _print_stage(stage: Stage, flags: SiteFlags) -> None:
    if flags.json:
        print(json.dumps(stage.report), flush=True)
    else:
        print("\n".join(stage.lines), flush=True)


#: Exit codes from the least to the most severe.
_SEVERITY = (EXIT_OK, EXIT_ITEM_FAILURES, EXIT_USAGE, EXIT_BREAKER)


def _most_severe(codes: Sequence[int]) -> int:
    return max(codes, key=_SEVERITY.index, default=EXIT_OK)


async def _take_run_lock(lock: RunLock, store: Store, flags: SiteFlags) -> None:
    """One writer per database: another run's lock stops this one (exit 2), or with --wait
    this one waits for it (Ctrl-C still stops the wait)."""
    while not lock.try_acquire():
        if not flags.wait:
            holder = await trio.to_thread.run_sync(store.current_run)
            raise UsageError(
                f"database {flags.db} is in use by another trio-enrich run "
                f"({_describe_run(holder)}); let it finish, or pass --wait to run after it"
            )
        await trio.sleep(0.2)
    command = " ".join(["trio-enrich", *sys.argv[1:]])[:200]
    await trio.to_thread.run_sync(store.record_run, command)


def _release_run_lock(lock: RunLock, store: Store) -> None:
    if lock.held:
        with contextlib.suppress(TrioEnrichError):
            store.clear_run()
    lock.release()


def _describe_run(holder: dict[str, object] | None) -> str:
    if holder is None:
        return "no details recorded"
    return f"pid {holder.get('pid')}, `{holder.get('command')}`, since {holder.get('since')}"


def _require_database(path: Path) -> None:
    """A missing database is the user's first step not taken yet: say which step."""
    if not path.exists():
        raise UsageError(
            f"database {path} does not exist; make it with `trio-enrich sync --db {path}` "
            "(or name an existing one with --db)"
        )


async def _with_signals(
    label: str, work: Callable[[trio.Event], Awaitable[T]]
) -> tuple[T | None, list[int]]:
    """Run `work(stop)`; the first SIGINT/SIGTERM sets `stop`, a second one cancels at once."""
    received: list[int] = []
    result: T | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            stop = trio.Event()

            async def watch() -> None:
                async for signum in signals:
                    received.append(signum)
                    if len(received) == 1:
                        print(f"\n{label}: stopping: committing what was received "
                              "(signal again to stop at once)", file=sys.stderr)  # fmt: skip
                        stop.set()
                    else:
                        nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            result = await work(stop)
            nursery.cancel_scope.cancel()
    if result is None:
        print(f"{label}: stopped at once; committed items are kept", file=sys.stderr)
    return result, received


def _signal_exit(received: list[int]) -> int:
    return EXIT_TERMINATED if received and received[0] == signal.SIGTERM else EXIT_INTERRUPTED


def _stats_code(stats: RunStats) -> int:
    """The exit code a run's statistics call for (signals aside)."""
    if stats.finish_reason in (
        FinishReason.BREAKER,
        FinishReason.NOT_FOUND_GUARD,
        FinishReason.UNREACHABLE,
    ):
        return EXIT_BREAKER
    return EXIT_ITEM_FAILURES if stats.failed_total else EXIT_OK


def _summary(label: str, stats: RunStats, flags: SiteFlags, words: Words) -> list[str]:
    return summary_lines(
        label, stats, words, max_failures=flags.max_failures, base_url=flags.base_url
    )


# --- sync -----------------------------------------------------------------------------------------


@app.command
async def sync(flags: SyncFlags | None = None) -> int:
    """Fetch trades listing pages into the database (trades, issuers, politicians, assets).

    Incremental by default: reads the newest pages until one reaches back past the newest
    trade of the last complete walk (or --since). --full, and the first sync of a database,
    walk every page concurrently; a walk cut short is recorded, and the next sync (or sync
    --full) reads only the pages it had not read. The cutoff moves only when a walk completes.
    Re-syncing never erases enriched values. Politician and issuer stats are recomputed.
    """
    flags = flags or SyncFlags()
    options = flags.sync_options()  # validates before anything is opened

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        return [listing_path(1, options.page_size)]

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions) -> list[Stage]:
        return [await _sync_stage(store, replace(options, enrich=paced), flags, stop)]

    return await _run_locked("sync", flags, options.enrich, work, needs, create=True)


# --- committees -----------------------------------------------------------------------------


@Parameter(name="*")
@dataclass(kw_only=True)
class CommitteeFlags(SiteFlags):
    """Options of `committees`."""

    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False


@app.command
async def committees(flags: CommitteeFlags | None = None) -> int:
    """Read the members of every committee (48) and store them in politician_committees.

    The site's only source of memberships is the politicians listing filtered by committee:
    each committee's pages are read until its member count is reached. The memberships are
    replaced only when every committee was read completely, in one transaction; a run cut
    short changes nothing (exit 1 or 3). Members not yet in the database are added from
    their cards (name, party, state).
    """
    flags = flags or CommitteeFlags()
    options = flags.options()
    _require_database(flags.db)
    if flags.dry_run:
        return await _update_dry_run(flags, options, stages=("committees",))

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        return [committees_path(code, 1) for code in COMMITTEES]

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions) -> list[Stage]:
        return [await _committees_stage(store, paced, flags, stop)]

    return await _run_locked("committees", flags, options, work, needs, create=False)


# --- update -----------------------------------------------------------------------------------

#: How old issuer data may be before `update` fetches it again.
DEFAULT_REFRESH = "1d"
UPDATE_STAGES = ("sync", "trades", "issuers", "committees")


@Parameter(name="*")
@dataclass(kw_only=True)
class UpdateFlags(SiteFlags):
    """Options of `update`."""

    db: Annotated[Path, Parameter(help=_HELP["sync_db"])] = Path("capitoltraders.db")
    full: Annotated[bool, Parameter(help=_HELP["full"])] = False
    refresh_older_than: Annotated[
        str, Parameter(help=_HELP["update_refresh"], metavar="DURATION")
    ] = DEFAULT_REFRESH
    not_found_guard: Annotated[int, _number(gte=1), Parameter(help=_HELP["guard"])] = 25
    dry_run: Annotated[bool, Parameter(help=_HELP["dry_run"])] = False

    def options(self) -> EnrichOptions:
        refresh = None
        if self.refresh_older_than.strip() != "never":
            refresh = parse_duration(self.refresh_older_than, "--refresh-older-than")
        return replace(super().options(), not_found_guard=self.not_found_guard,
                       refresh_older_than=refresh)  # fmt: skip


@app.command
async def update(flags: UpdateFlags | None = None) -> int:
    """Bring the whole copy up to date in one command (made for cron): sync, then trades,
    issuers and committees.

    sync is incremental (or --full; the first update of a new database walks every page);
    trades and issuers fetch what is pending, and issuers enriched longer ago than
    --refresh-older-than (default 1d) are fetched again; committees reads every committee's
    members. One progress display per stage, one summary per stage and a last line (or one
    JSON object with --json). Exit code: the most severe of the stages; a stage stopped by the
    circuit breaker, the not-found guard or an unreachable site stops the stages after it.
    """
    flags = flags or UpdateFlags()
    options = flags.options()  # validates before anything is opened
    if flags.dry_run:
        _require_database(flags.db)
        return await _update_dry_run(flags, options, stages=UPDATE_STAGES)
    if not flags.db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {flags.db}: folder {flags.db.parent} does not exist")

    def needs(store: Store, paced: EnrichOptions) -> list[str]:
        # Pages of every stage: the listing, a trade's and an issuer's detail page (the ones
        # pending now; trades found by this sync are checked against the same rules' shape),
        # and every committee's listing.
        trades = [TRADES.path(i) for i in pending_ids(store, TRADES, paced)] or ["/trades/1"]
        issuers = [ISSUERS.path(i) for i in pending_ids(store, ISSUERS, paced)]
        return [listing_path(1, 12), *trades, *(issuers or ["/issuers/1"]),
                *(committees_path(code, 1) for code in COMMITTEES)]  # fmt: skip

    async def work(store: Store, stop: trio.Event, paced: EnrichOptions) -> list[Stage]:
        options = paced
        sync_options = SyncOptions(enrich=paced, full=flags.full)
        stages: list[Stage] = []
        for number, name in enumerate(UPDATE_STAGES, start=1):
            if stop.is_set():
                break
            if not flags.json:
                print(f"\nupdate: {name} ({number} of {len(UPDATE_STAGES)})", flush=True)
            if name == "sync":
                stage = await _sync_stage(store, sync_options, flags, stop)
            elif name == "committees":
                stage = await _committees_stage(store, options, flags, stop)
            else:
                job = TRADES if name == "trades" else ISSUERS
                stage = await _job_stage(store, job, options, flags, stop)
            stages.append(stage)
            if not flags.json:
                print("\n".join(stage.lines), flush=True)
            if stage.stops_the_rest:
                break
        return stages

    def report(stages: list[Stage]) -> None:
        code = _most_severe([stage.code for stage in stages])
        not_run = list(UPDATE_STAGES[len(stages) :])
        if flags.json:
            print(json.dumps({"job": "update", "exit_code": code, "not_run": not_run,
                              "stages": [stage.report for stage in stages]}),
                  flush=True)  # fmt: skip
            return
        print("\n" + "\n".join(update_lines(
            [(stage.name, stage.code, stage.finish.value) for stage in stages], not_run,
        )), flush=True)  # fmt: skip

    return await _run_locked("update", flags, options, work, needs, create=True, report=report)


async def _update_dry_run(flags: SiteFlags, options: EnrichOptions, stages: Sequence[str]) -> int:
    """What each stage would fetch from the database as it is now; nothing is sent."""

    def count() -> dict[str, list[str]]:
        with Store.open(flags.db, read_only=True) as store:
            return {
                job.name: [job.path(item) for item in pending_ids(store, job, options)]
                for job in (TRADES, ISSUERS)
            }

    found = await trio.to_thread.run_sync(count)
    pending = {name: len(paths) for name, paths in found.items()}
    needed = [listing_path(1, 12)] if "sync" in stages else []
    needed += [path for name in ("trades", "issuers") if name in stages for path in found[name]]
    if "committees" in stages:
        needed += [committees_path(code, 1) for code in COMMITTEES]
    robots = await _robots_for_dry_run(options, needed)
    plan: dict[str, object] = {}
    lines: list[str] = []
    for name in stages:
        if name == "sync":
            plan["sync"] = "listing pages from page 1 back to the last synced trade"
            lines.append("sync: listing pages from page 1 back to the last synced trade "
                         "(every page the first time, or with --full)")  # fmt: skip
        elif name == "committees":
            plan["committees"] = len(COMMITTEES)
            lines.append(f"committees: page 1 of each of the {len(COMMITTEES)} committees, then "
                         "the further pages of the large ones")  # fmt: skip
        else:
            plan[name] = pending[name]
            lines.append(f"{name}: {pending[name]} pending now (more after sync adds rows)"
                         if "sync" in stages else f"{name}: {pending[name]} pending")  # fmt: skip
    if flags.json:
        print(json.dumps({"job": "+".join(stages), "dry_run": True, "plan": plan,
                          "robots": robots}))  # fmt: skip
    else:
        print("\n".join(wrap(["dry run: only robots.txt was read", *lines, robots])), flush=True)
    return EXIT_OK


# --- status ---------------------------------------------------------------------------------------


@app.command
async def status(
    *,
    db: Annotated[Path, Parameter(help=_HELP["status_db"])] = Path("capitoltraders.db"),
    json: Annotated[bool, Parameter(help="Print one JSON object on stdout.")] = False,
) -> int:
    """Show where the database stands: per entity, total, enriched, pending, not found, failed.

    Reads only; changes nothing.
    """

    _require_database(db)

    def read() -> dict[str, object]:
        with Store.open(db, read_only=True) as store:
            return store.status()

    report = await trio.to_thread.run_sync(read)
    if json:
        print(_json.dumps(report), flush=True)
        return EXIT_OK
    print("\n".join(status_lines(report, db)), flush=True)
    return EXIT_OK


# --- demo -----------------------------------------------------------------------------------------


@app.command
async def demo(
    *,
    db: Annotated[Path | None, Parameter(help=_HELP["demo_db"])] = None,
    trades: Annotated[
        int, _number(gte=12, lte=50_000), Parameter(help=_HELP["demo_trades"])
    ] = 1500,
    seed: Annotated[int, Parameter(help="Seed of the simulated site's data.")] = 1,
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto",
) -> int:
    """Try the whole tool offline: `update` (sync, trades, issuers, committees) against a
    simulated site.

    Starts a simulated capitoltrades.com on a free loopback port (the realistic profile: ~20 ms
    latency, occasional 5xx and 429 with Retry-After), runs `update` into a fresh database
    with a progress bar per stage, then prints the status and the database's path.
    """
    from .sim import make_dataset, open_simulator
    from .sim import profile as fault_profile

    if db is not None and db.exists():
        # The demo writes simulated trades: never into a database that holds real ones.
        raise UsageError(f"--db {db} already exists; the demo needs a new file for its fake data")
    if db is not None and not db.absolute().parent.is_dir():
        raise UsageError(f"cannot create --db {db}: folder {db.parent} does not exist")
    path = db or Path(tempfile.mkdtemp(prefix="trio-enrich-demo-")) / "capitoltraders.db"
    # The realistic profile's faults, at a latency and Retry-After that fit in a minute.
    faults = fault_profile("realistic").with_(
        latency_median_ms=20, latency_p99_ms=120, retry_after=1
    )
    dataset = make_dataset(seed, trades)
    async with open_simulator(dataset, faults, seed=seed) as site:
        print(f"demo: a simulated site at {site.base_url} with {trades} trades\n"
              f"demo: database {path}", flush=True)  # fmt: skip
        common = ["--db", str(path), "--base-url", site.base_url, "--concurrency", "8",
                  "--details-delay-ms", "0", "--retry-base-ms", "200", "--retry-max-ms", "2000",
                  "--progress", progress]  # fmt: skip
        print("\n$ trio-enrich update ...", flush=True)
        code = await app.run_async(
            ["update", *common], result_action="return_value", exit_on_error=False,
            print_error=False,
        )  # fmt: skip
        if code not in (EXIT_OK, EXIT_ITEM_FAILURES):
            print(f"demo: update stopped with exit code {code}", file=sys.stderr)
            return int(code)
        print()
        await app.run_async(["status", "--db", str(path)], result_action="return_value")
    print(f"\ndemo: done. Look inside with sqlite3, for example:\n  sqlite3 {path} \\\n"
          "    'SELECT committee, COUNT(*) FROM politician_committees GROUP BY 1'")  # fmt: skip
    return EXIT_OK


@app.command
async def sim(
    *,
    port: Annotated[int, Parameter(validator=validators.Number(gte=0, lte=65535))] = 8765,
    seed: int = 1,
    profile: Literal["clean", "realistic", "hostile", "limited", "lockout", "loaded"] = "clean",
    trades: Annotated[int, Parameter(validator=validators.Number(gte=1, lte=1_000_000))] = 5_000,
    latency_ms: Annotated[float | None, Parameter(validator=validators.Number(gte=0))] = None,
    shape: Literal["live", "object"] = "live",
    retry_after: Annotated[float | None, Parameter(validator=validators.Number(gte=0))] = None,
    log: Path | None = None,
    rate_limit: Annotated[float | None, Parameter(validator=validators.Number(gt=0))] = None,
    burst: Annotated[float | None, Parameter(validator=validators.Number(gte=1))] = None,
    lockout_seconds: Annotated[float | None, Parameter(validator=validators.Number(gt=0))] = None,
    capacity: Annotated[int | None, Parameter(validator=validators.Number(gte=1))] = None,
    robots_txt: Path | None = None,
    robots_status: Annotated[
        int | None, Parameter(validator=validators.Number(gte=100, lte=599))
    ] = None,
) -> int:
    """Serve a simulated capitoltrades.com on 127.0.0.1, for trying trio-enrich offline.

    Pages are in the real site's format, made from a deterministic dataset; the profile adds
    faults (latency, 429 with Retry-After, 5xx bursts, resets, hangs, truncated and oversized
    bodies, not-found and error pages). Point trio-enrich at it with --base-url. Ctrl-C stops it.

    It serves the committee listings too (/politicians?committee=CODE&page=N, 12 cards a
    page). Control endpoints (no faults, no latency, not logged): GET /_sim/truth (the dataset
    as JSON, committee rosters included: the ground truth to compare a database with),
    /_sim/stats (requests served, most in flight, server CPU), /_sim/log (every request as
    JSON lines) and /_sim/publish?count=N (publish N new trades at the top of the listing;
    answers their ids) and /_sim/inject?fault=NAME&count=N (give the next N requests a
    fault: 429, 503, reset, ...) and /_sim/reprice (a new trading day: every issuer's
    performance and prices change).

    Parameters
    ----------
    port
        TCP port on 127.0.0.1; 0 picks a free one (the address is printed).
    seed
        Seed of the dataset and of the faults: the same seed gives the same site.
    profile
        Faults: clean (none), realistic (about 150 ms latency, 1% 5xx, 0.5% 429), hostile
        (every fault at once), limited (a hidden limit of 20 requests/s, burst 5), lockout
        (the same, refusing everything for 5 s after a violation) or loaded (4 requests
        served at once, ~50 ms each: latency grows with load, 503 beyond a queue of 12).
    trades
        Number of trades in the dataset (issuers and politicians follow from them).
    latency_ms
        Fixed latency for every request, in milliseconds, instead of the profile's.
    shape
        Trade detail page shape: live (value/label spans, as the site is reported to serve
        now) or object (a full trade object).
    retry_after
        Seconds that a 429 answer asks the client to wait (Retry-After), instead of the
        profile's.
    log
        Write the request log (JSON lines) to this file when stopping.
    rate_limit
        A hidden rate limit: a token bucket of this many requests a second (429 with
        Retry-After when it is empty). Profiles limited and lockout have 20.
    burst
        The rate limit's bucket size (default 5).
    lockout_seconds
        After a request over the rate limit, refuse every request for this long.
    capacity
        Requests served at once; more wait (latency grows with load), and beyond a queue
        of 20 the site answers 503. Profile loaded has 4.
    robots_txt
        Serve this file as /robots.txt (default: 404, no rules).
    robots_status
        Answer /robots.txt with this status instead (a 503 makes robots.txt unreachable).
    """
    from .sim import serve_until_signal

    robots = await trio.Path(robots_txt).read_text() if robots_txt is not None else None
    return await serve_until_signal(
        port=port, seed=seed, profile=profile, trades=trades, latency_ms=latency_ms,
        shape=shape, retry_after=retry_after, log=log,
        overrides={"rate_limit": rate_limit, "rate_limit_burst": burst,
                   "lockout_seconds": lockout_seconds, "capacity": capacity,
                   "robots_txt": robots, "robots_status": robots_status},
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _invoke(args)
    except cyclopts.UnusedCliTokensError as error:
        _error(_unused_tokens_message(list(error.unused_tokens or []), str(error)))
        return EXIT_USAGE
    except cyclopts.CycloptsError as error:
        _error(str(error))
        return EXIT_USAGE
    except SiteUnavailable as error:
        _error(str(error))
        return EXIT_BREAKER
    except TrioEnrichError as error:
        _error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)


def _unused_tokens_message(tokens: list[str], fallback: str) -> str:
    """No command takes a positional argument; a path there was meant for --db."""
    for token in tokens:
        if not token.startswith("-") and (
            "/" in token or token.endswith((".db", ".sqlite", ".sqlite3")) or Path(token).exists()
        ):
            return f"unexpected argument {token!r}: to name the database, use --db {token}"
    if tokens:
        return f"unexpected argument(s) {' '.join(tokens)} (see --help)"
    return fallback


def run_and_exit_code() -> int:
    """`main`, and the exit code to leave with (see ``_entry.entry``, the console script).

    Once the run is over, a late second Ctrl-C (or SIGTERM) must not kill the process on its
    way out, which would replace our exit code with the signal's.
    """
    try:
        code = main()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    return code


def entry() -> None:
    """The console script (kept for callers of ``trio_enrich.cli:entry``)."""
    from ._entry import entry as console_entry

    console_entry()


def _invoke(args: list[str]) -> int:
    # Errors raised inside a nursery arrive grouped; unwrap ours so they print as one line,
    # every one of them (two tasks can fail at once: say both).
    try:
        result = app(args, result_action="return_value", exit_on_error=False, print_error=False)
    except* TrioEnrichError as group:
        errors = _leaves(group)
        if len(errors) == 1:
            raise errors[0] from None
        joined = "; ".join(dict.fromkeys(str(error) for error in errors))
        raise TrioEnrichError(joined) from group
    except* KeyboardInterrupt:
        raise KeyboardInterrupt from None
    return result if isinstance(result, int) else EXIT_OK


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
