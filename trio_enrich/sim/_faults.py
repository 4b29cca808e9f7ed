"""What the simulated site does wrong, and how often: fault settings and named profiles."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

from ._limits import Limiter

__all__ = ["FAULT_NAMES", "PROFILES", "Faults", "profile"]

#: Every fault a request can be given, by rate, by schedule (`Simulator.inject`/`script`) or
#: by id (not_found, error_digest).
FAULT_NAMES = (
    "ok",
    "429",  # Retry-After in seconds
    "429-date",  # Retry-After as an HTTP date
    "500",
    "503",
    "403",
    "reset",  # the connection is reset half way through the body
    "hang",  # no answer for longer than any client's timeout
    "drip",  # the body arrives a few bytes at a time
    "truncate",  # a complete HTTP response whose page was cut off
    "challenge",  # a bot-challenge page instead of the content
    "oversize",  # a body larger than any sane page
    "not_found",  # the HTTP-200 "Page Not Found" template
    "error_digest",  # a Next.js error row instead of data
    "empty-table",  # a listing page whose table is empty while its totalCount says otherwise
    # Hostile answers, by schedule only:
    "huge",  # a 50 MB body
    "gzip-bomb",  # a small gzip body that expands to 64 MB
    "invalid-utf8",  # a page whose bytes are not UTF-8
    "deep-json",  # a data row nested 100,000 levels deep
    "tiny-chunks",  # the body sent as a great many tiny writes
    "redirect-away",  # a redirect to another host
    "redirect-loop",  # a redirect to itself
    "image",  # HTTP 200 with an image content type
)


@dataclass(frozen=True, slots=True)
class Faults:
    """Fault settings; rates are per request, between 0 and 1, and combine freely."""

    latency_ms: float = 0.0  # fixed latency added to every request
    latency_median_ms: float | None = None  # lognormal latency, by median...
    latency_p99_ms: float | None = None  # ...and 99th percentile
    rate_429: float = 0.0
    retry_after: float = 2.0  # seconds the 429 asks for
    retry_after_as_date: bool = False  # send Retry-After as an HTTP date instead of seconds
    # A real rate limiter refuses everything until its Retry-After has passed: with the lockout
    # on, every request arriving during that time gets a 429 too.
    rate_limit_lockout: bool = False
    rate_5xx: float = 0.0
    burst_5xx: int = 1  # a 5xx that strikes by rate is followed by burst-1 more
    rate_403: float = 0.0
    rate_reset: float = 0.0
    rate_hang: float = 0.0
    hang_seconds: float = 120.0
    rate_drip: float = 0.0
    drip_seconds: float = 3.0  # how long a dripped body takes in all
    rate_truncate: float = 0.0
    rate_challenge: float = 0.0
    rate_oversize: float = 0.0
    oversize_bytes: int = 9 * 1024 * 1024
    not_found_rate: float = 0.0  # share of detail ids that answer "Page Not Found", per id
    error_digest_rate: float = 0.0  # share of detail ids that answer an error row, per id
    not_found_ids: frozenset[int] = frozenset()
    error_digest_ids: frozenset[int] = frozenset()
    outages: tuple[tuple[float, float], ...] = ()  # (start, end) seconds after the server starts
    outage_status: int = 503
    detail_shape: str = "live"  # "live" or "object"
    # A site that ignores the pageSize asked for and serves this many listing rows a page.
    listing_page_size: int | None = None
    # Cards per page of the politicians listings (the real site's number is not known).
    politician_page_size: int = 12
    # A hidden rate limit: a token bucket of `rate_limit` tokens a second holding at most
    # `rate_limit_burst`; a request that finds it empty gets a 429 with `retry_after`.
    # With `lockout_seconds`, such a request also locks everything out for that long (each
    # request then gets a 429 whose Retry-After is the rest of the lockout), as real limiters do.
    rate_limit: float | None = None
    rate_limit_burst: float = 5.0
    lockout_seconds: float | None = None
    # With `rate_window`, the limit allows `rate_limit * rate_window` requests in each window
    # of that many seconds instead (a fixed-window limiter, as most that state their limit).
    rate_window: float | None = None
    # How the site states the limit on its answers: "" (it does not) or one of
    # `_limits.RATE_HEADER_FORMS`.
    rate_headers: str = ""
    limit_status: int = 429  # the status of the limit's refusals (503 with Retry-After, too)
    # (requests, rate): after this many page requests the limit becomes `rate` a second.
    rate_limit_after: tuple[int, float] | None = None
    # A site whose latency grows with its load: `capacity` requests are served at once (each
    # taking the latency above); the others queue, and beyond `queue_limit` waiting, a 503.
    capacity: int | None = None
    queue_limit: int = 20
    # /robots.txt: its text (None: 404), or the status it answers with instead.
    robots_txt: str | None = None
    robots_status: int = 200
    # The site as some clients meet it (docs/capitoltrades-pages.md §6): "cdn" refuses
    # clients that do not look like a browser with CloudFront's 403 page (by their headers:
    # a TLS fingerprint cannot be checked on loopback), "vercel" answers every client with
    # Vercel's challenge (429, x-vercel-mitigated: challenge), "shell" serves every page as its
    # layout without data, "changed" serves the data under keys the readers do not know.
    site_mode: str = "normal"

    def latency(self, rng: random.Random) -> float:
        """One request's latency in seconds."""
        seconds = self.latency_ms / 1000
        if self.latency_median_ms:
            median = self.latency_median_ms / 1000
            p99 = (self.latency_p99_ms or self.latency_median_ms * 4) / 1000
            sigma = max(0.0, math.log(p99 / median) / 2.3263478740408408)
            seconds += rng.lognormvariate(math.log(median), sigma)
        return seconds

    def id_fault(self, seed: int, item_id: int) -> str | None:
        """The permanent fault of a detail id, if it has one (the same on every request)."""
        if item_id in self.not_found_ids:
            return "not_found"
        if item_id in self.error_digest_ids:
            return "error_digest"
        if self.not_found_rate or self.error_digest_rate:
            roll = random.Random(f"{seed}:id:{item_id}").random()
            if roll < self.not_found_rate:
                return "not_found"
            if roll < self.not_found_rate + self.error_digest_rate:
                return "error_digest"
        return None

    def limiter(self) -> Limiter | None:
        """The site's rate limit, as these settings make it (None: it has none)."""
        if self.rate_limit is None:
            return None
        return Limiter(
            self.rate_limit, self.rate_limit_burst, self.rate_window, self.rate_headers,
            self.rate_limit_after,
        )  # fmt: skip

    def with_(self, **changes: object) -> Faults:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


PROFILES: dict[str, Faults] = {
    "clean": Faults(),
    "realistic": Faults(
        latency_median_ms=150,
        latency_p99_ms=900,
        rate_5xx=0.01,
        rate_429=0.005,
        retry_after=2,
        rate_limit_lockout=True,
    ),
    "hostile": Faults(
        latency_median_ms=40,
        latency_p99_ms=400,
        rate_429=0.02,
        retry_after=1,
        rate_limit_lockout=True,
        rate_5xx=0.03,
        burst_5xx=3,
        rate_403=0.01,
        rate_reset=0.01,
        rate_hang=0.002,
        hang_seconds=60,
        rate_drip=0.005,
        drip_seconds=2,
        rate_truncate=0.01,
        rate_challenge=0.005,
        rate_oversize=0.003,
        not_found_rate=0.01,
        error_digest_rate=0.005,
    ),
}


# The profiles of issue 15: a hidden rate limit, the same with a lockout, a site that slows
# under load. Latency of about 20 ms, like a nearby CDN.
PROFILES["limited"] = Faults(
    latency_median_ms=20, latency_p99_ms=80, rate_limit=20, rate_limit_burst=5, retry_after=1
)
PROFILES["lockout"] = PROFILES["limited"].with_(lockout_seconds=5)
PROFILES["loaded"] = Faults(latency_median_ms=50, latency_p99_ms=120, capacity=4, queue_limit=12)


def profile(name: str) -> Faults:
    """The named fault profile: clean, realistic or hostile."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown simulator profile {name!r} (known: {known})") from None
