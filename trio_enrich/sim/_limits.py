"""The simulated site's rate limit: a token bucket or fixed windows, the limit falling after a
number of requests, and the headers that state it in each form sites use."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RATE_HEADER_FORMS", "Limiter"]

#: The ways a site states its limit: the IETF draft's two fields (draft 08 and later), the
#: draft's earlier three fields with their policy, and the X- fields (reset as a Unix time).
RATE_HEADER_FORMS = ("ratelimit", "ratelimit-legacy", "x-ratelimit")


@dataclass(slots=True)
class Limiter:
    """`rate` requests a second: a bucket holding at most `burst` tokens, or with `window`,
    `rate * window` requests in each window of that many seconds."""

    rate: float
    burst: float = 5.0
    window: float | None = None
    headers: str = ""  # one of RATE_HEADER_FORMS, or "" for a limit it keeps to itself
    change: tuple[int, float] | None = None  # (after this many requests, the new rate)

    _tokens: float = math.nan
    _at: float = math.nan
    _window_start: float = math.nan
    _used: int = 0
    _requests: int = 0

    def take(self, now: float) -> bool:
        """A request arrives at `now`: False when the limit refuses it."""
        self._requests += 1
        if self.change is not None and self._requests > self.change[0]:
            self.rate = self.change[1]
            self.change = None
        if self.window is not None:
            self._roll(now)
            if self._used >= self.quota:
                return False
            self._used += 1
            return True
        if math.isnan(self._tokens):
            self._tokens, self._at = self.burst, now
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def quota(self) -> int:
        """Requests a window allows (with a bucket: a second's worth)."""
        return max(1, round(self.rate * (self.window or 1.0)))

    def reset(self, now: float) -> float:
        """Seconds until the quota is back: the window's end, or the bucket refilled."""
        if self.window is not None:
            self._roll(now)
            return self._window_start + self.window - now
        tokens = self._tokens if not math.isnan(self._tokens) else self.burst
        return max(0.0, (self.burst - tokens) / self.rate)

    def remaining(self, now: float) -> int:
        if self.window is not None:
            self._roll(now)
            return max(0, self.quota - self._used)
        return int(self._tokens) if not math.isnan(self._tokens) else int(self.burst)

    def stated(self, now: float, wall_clock: float) -> list[tuple[str, str]]:
        """The headers that state the limit at `now` (`wall_clock`: the Unix time now)."""
        if not self.headers:
            return []
        quota, window = self.quota, self.window or 1.0
        remaining, reset = self.remaining(now), math.ceil(self.reset(now))
        if self.headers == "ratelimit":
            return [
                ("RateLimit-Policy", f'"default";q={quota};w={window:g}'),
                ("RateLimit", f'"default";r={remaining};t={reset}'),
            ]
        if self.headers == "ratelimit-legacy":
            return [
                ("RateLimit-Limit", str(quota)),
                ("RateLimit-Remaining", str(remaining)),
                ("RateLimit-Reset", str(reset)),
                ("RateLimit-Policy", f"{quota};w={window:g}"),
            ]
        return [
            ("X-RateLimit-Limit", str(quota)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(math.ceil(wall_clock + self.reset(now)))),
        ]

    def _roll(self, now: float) -> None:
        """A window begins with the first request after the last one ended (as many simple
        limiters do): a client arriving after a quiet spell starts a window of its own."""
        assert self.window is not None
        if math.isnan(self._window_start) or now >= self._window_start + self.window:
            self._window_start = now
            self._used = 0
