"""The commands that need no site: demo and sim (the simulated site)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from .._help import FLAG_HELP as _HELP
from .._model import ProgressMode
from ..commands.console import log_begins as _log_begins
from .flags import number, whole

__all__ = ["demo", "sim"]


async def demo(
    *,
    db: Annotated[Path | None, Parameter(help=_HELP["demo_db"])] = None,
    trades: Annotated[int, whole(12, 50_000), Parameter(help=_HELP["demo_trades"])] = 1500,
    seed: Annotated[
        int, whole(0, 2**32 - 1), Parameter(help="Seed of the simulated site's data.")
    ] = 1,
    progress: Annotated[ProgressMode, Parameter(help=_HELP["progress"])] = "auto",
) -> int:
    """Try the whole tool offline: `update` (sync, trades, issuers, committees) against a
    simulated site.

    Starts a simulated capitoltrades.com on a free loopback port (the realistic profile: ~20 ms
    latency, occasional 5xx and 429 with Retry-After), runs `update` into a fresh database
    with a progress bar per stage, then prints the status and the database's path.
    """
    from ..commands.demo import run_demo

    _log_begins()
    return await run_demo(db=db, trades=trades, seed=seed, progress=progress)


async def sim(
    *,
    port: Annotated[int, whole(0, 65535)] = 8765,
    seed: Annotated[int, whole(0, 2**32 - 1)] = 1,
    profile: Literal["clean", "realistic", "hostile", "limited", "lockout", "loaded"] = "clean",
    trades: Annotated[int, whole(1, 1_000_000)] = 5_000,
    latency_ms: Annotated[float | None, number(0, 60_000)] = None,
    shape: Literal["live", "object"] = "live",
    retry_after: Annotated[float | None, number(0, 86_400)] = None,
    log: Path | None = None,
    rate_limit: Annotated[float | None, number(0, 1_000_000, above=True)] = None,
    burst: Annotated[float | None, number(1, 1_000_000)] = None,
    lockout_seconds: Annotated[float | None, number(0, 86_400, above=True)] = None,
    rate_window: Annotated[float | None, number(0, 3600, above=True)] = None,
    rate_headers: Literal["ratelimit", "ratelimit-legacy", "x-ratelimit"] | None = None,
    limit_status: Literal[429, 503] | None = None,
    capacity: Annotated[int | None, whole(1, 100_000)] = None,
    robots_txt: Path | None = None,
    robots_status: Annotated[int | None, whole(100, 599)] = None,
    site: Literal["normal", "cdn", "vercel", "shell", "changed"] = "normal",
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
    rate_window
        Make the rate limit fixed windows of this many seconds, each allowing rate-limit
        times this many requests, instead of a bucket.
    rate_headers
        State the rate limit in every answer's headers: ratelimit (the IETF draft's
        RateLimit-Policy and RateLimit), ratelimit-legacy (RateLimit-Limit, -Remaining,
        -Reset and RateLimit-Policy) or x-ratelimit (X-RateLimit-Limit, -Remaining, -Reset
        as a Unix time).
    limit_status
        The status of the rate limit's refusals: 429 (default) or 503 (with Retry-After).
    capacity
        Requests served at once; more wait (latency grows with load), and beyond a queue
        of 20 (12 in profile loaded) the site answers 503. Profile loaded has 4.
    robots_txt
        Serve this file as /robots.txt (default: 404, no rules).
    robots_status
        Answer /robots.txt with this status instead (a 503 makes robots.txt unreachable).
    site
        The site as a refused client meets it: cdn (CloudFront's 403 page to any client
        without a browser's headers; --client browser gets through), vercel (Vercel's
        Security Checkpoint to every client: HTTP 429, x-vercel-mitigated: challenge),
        shell (every page its layout without data) or changed (the data under keys the
        readers do not know).
    """
    import trio

    from ..sim._command import read_robots_file, serve_until_signal

    robots = await trio.to_thread.run_sync(read_robots_file, robots_txt) if robots_txt else None
    return await serve_until_signal(
        port=port, seed=seed, profile=profile, trades=trades, latency_ms=latency_ms,
        shape=shape, retry_after=retry_after, log=log,
        overrides={"rate_limit": rate_limit, "rate_limit_burst": burst,
                   "lockout_seconds": lockout_seconds, "rate_window": rate_window,
                   "rate_headers": rate_headers, "limit_status": limit_status,
                   "capacity": capacity,
                   "robots_txt": robots, "robots_status": robots_status, "site_mode": site},
    )  # fmt: skip
