"""What every HTTP client adapter shares, with no HTTP library imported: the base URL check,
the request headers, the body caps, Retry-After, an answer other than 200 as a FetchError,
and the protocol an adapter offers (``_http`` for httpx, ``_browser`` for curl_cffi).
"""

from __future__ import annotations

import email.utils
import html
import math
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Protocol, Self
from urllib.parse import urlsplit

from .._errors import FetchError, UsageError
from .._model import FailureKind
from ..core.site_limit import StatedLimit, StatedLimits

__all__ = [
    "CLIENTS",
    "DEFAULT_HEADERS",
    "ERROR_BODY_BYTES",
    "MAX_BODY_BYTES",
    "MITIGATION_HEADERS",
    "ClientName",
    "ClosedAtExit",
    "Header",
    "PageSource",
    "StatusKind",
    "check_base_url",
    "describe",
    "hear_rate_headers",
    "no_header",
    "parse_rate_headers",
    "parse_retry_after",
    "status_error",
]

#: The HTTP clients a run can use: httpx, or curl_cffi impersonating a browser (`browser`).
ClientName = Literal["httpx", "browser"]
CLIENTS: tuple[ClientName, ...] = ("httpx", "browser")

MAX_BODY_BYTES = 8 * 1024 * 1024
#: Of an answer other than 200, only this much is read: enough to tell a CDN's refusal page.
ERROR_BODY_BYTES = 64 * 1024

# What earlier tools sent and the site tolerated: a browser's accept headers and user agent.
# (The browser client sends its browser's own headers instead: they must match its TLS.)
DEFAULT_HEADERS = {
    "accept": "text/html,application/xhtml+xml",
    "accept-language": "en-US,en;q=0.9",
    "user-agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36"
    ),
}

#: A header of an answer by its lower-case name (None: not sent).
Header = Callable[[str], str | None]

#: What an answer other than 200 means: from its status, the first bytes of its body and its
#: headers (a 403 or a 429 can be a rate limit, a CDN's refusal or a hosting's challenge;
#: ``_site.status_kind`` tells them apart).
StatusKind = Callable[[int, bytes, Header], FailureKind]

#: Headers a hosting's firewall sets on an answer it sent instead of the site's (Vercel's
#: ``x-vercel-mitigated: challenge``): named in the failure, since they say who answered.
MITIGATION_HEADERS = ("x-vercel-mitigated",)


def no_header(name: str) -> str | None:
    """The headers of an answer that has none to tell (a stored page)."""
    return None


class PageSource(Protocol):
    """A client adapter: pages of one site as bytes, every failure a FetchError; the rate
    limit its answers state, in `stated` (``parse_rate_headers``)."""

    base_url: str
    stated: StatedLimits

    async def get(self, path: str) -> bytes:
        """The body of a 200 answer for `path`, or FetchError saying why there is none."""
        ...

    async def get_any(self, path: str, max_bytes: int) -> tuple[int, bytes, str | None]:
        """Any answer for `path`: status, up to `max_bytes` of its body, its Location."""
        ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ClosedAtExit:
    """What both adapters share as async context managers: `aclose()` at the block's end."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def check_base_url(url: str) -> str:
    """The base URL without a trailing slash, or a UsageError naming what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"base URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise UsageError(f"base URL {url!r} has no host name")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"base URL {url!r} has an invalid port") from None
    if parts.query or parts.fragment:
        raise UsageError(f"base URL {url!r} must not have a query or a fragment")
    return url.strip().rstrip("/")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent/bad."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


_ITEM = re.compile(r'\s*(?:"[^"]*"|[^;,"]*)((?:\s*;\s*[a-z][a-z0-9_*-]*=[^;,]*)*)\s*(?:,|$)')


def _items(value: str) -> list[tuple[str, dict[str, str]]]:
    """A structured-field list, loosely: each member's value and its parameters."""
    items = []
    for match in _ITEM.finditer(value):
        if not match.group(0).strip(" ,"):
            continue
        head = match.group(0).split(";")[0].strip(" ,").strip('"')
        params = {}
        for part in match.group(1).split(";")[1:]:
            key, _, raw = part.partition("=")
            params[key.strip().lower()] = raw.strip().strip('"')
        items.append((head, params))
    return items


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _policy_rate(value: str | None) -> float | None:
    """Requests per second of the strictest policy: `"name";q=100;w=10` (the IETF draft from
    its 8th version) or `100;w=10` (its earlier ones); a policy counting other units than
    requests, or without a window, says no rate."""
    rates = []
    for head, params in _items(value or ""):
        quota = _number(params.get("q", head))
        window = _number(params.get("w"))
        if params.get("qu", "requests") != "requests" or not quota or not window:
            continue
        rates.append(quota / window)
    return min(rates) if rates else None


def _reset_seconds(text: str | None, now: float) -> float | None:
    """Seconds from now: a delay, or a Unix time in seconds or milliseconds (X-RateLimit-Reset
    is either, by site)."""
    value = _number(text)
    if value is None:
        return None
    if value > 1e12:
        value = value / 1000 - now
    elif value > 1e9:
        value -= now
    return max(0.0, value)


def parse_rate_headers(
    header: Callable[[str], str | None], *, now: float | None = None
) -> StatedLimit | None:
    """The limit an answer's headers state, or None when they state none.

    Three forms are read: the IETF httpapi draft's `RateLimit-Policy` and `RateLimit`
    (`"default";r=50;t=30`: left and seconds to reset), its earlier `RateLimit-Limit`,
    `-Remaining` and `-Reset` beside a `RateLimit-Policy`, and the `X-RateLimit-` fields.
    `header(name)` gives a field's value (any case); `now` is the Unix time (for a reset given
    as one)."""
    clock = time.time() if now is None else now
    rate = _policy_rate(header("ratelimit-policy"))
    current = header("ratelimit")
    if current is not None:
        for _, params in _items(current)[:1]:
            remaining, reset = _number(params.get("r")), _number(params.get("t"))
            return StatedLimit(rate, _count(remaining), reset, "RateLimit")
    for prefix, form in (("ratelimit-", "RateLimit-Limit"), ("x-ratelimit-", "X-RateLimit")):
        limit = header(prefix + "limit")
        remaining = _number(header(prefix + "remaining"))
        reset = _reset_seconds(header(prefix + "reset"), clock)
        if limit is None and remaining is None and reset is None:
            continue
        # `X-RateLimit-Limit: 100, 100;w=60`: some sites put their policy in the limit too.
        rate = rate if rate is not None else _policy_rate(limit if ";" in (limit or "") else None)
        if rate is None and remaining is None and reset is None:
            return None  # nothing readable in them
        return StatedLimit(rate, _count(remaining), reset, form)
    if rate is not None:
        return StatedLimit(rate, None, None, "RateLimit-Policy")
    return None


def _count(value: float | None) -> int | None:
    return None if value is None else int(value)


def hear_rate_headers(stated: StatedLimits, header: Callable[[str], str | None]) -> None:
    """Tell `stated` what an answer's headers say of the site's limit, if anything."""
    stated.hear(parse_rate_headers(header))


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def status_error(
    path: str,
    status: int,
    *,
    body: bytes,
    location: str | None,
    retry_after: str | None,
    kind: FailureKind,
    header: Header = no_header,
) -> FetchError:
    """An answer other than 200 as a FetchError: its status, where a redirect pointed, a
    firewall's mitigation header, the title of an error page (a CDN's says who refused), and
    its Retry-After."""
    reason = f"HTTP {status}"
    for name in MITIGATION_HEADERS:
        value = header(name)
        if value:
            reason += f" ({name}: {' '.join(value.split())[:40]})"
    if 300 <= status < 400:
        reason += f" redirect to {location or '?'} not followed"
    title = _TITLE.search(body)
    if title is not None:
        words = " ".join(html.unescape(title.group(1).decode("utf-8", "replace")).split())
        if words:
            reason += f" ({words[:80]!r})"
    return FetchError(
        kind, reason, path=path, retry_after=parse_retry_after(retry_after), status=status,
        body=body,
    )  # fmt: skip


def describe(error: BaseException) -> str:
    """The error in one line; a library's own is often empty (a refused TLS certificate
    arrives in httpx as a bare `ConnectError`), so the first cause that says something is
    taken."""
    seen: BaseException | None = error
    while seen is not None and not str(seen).strip():
        seen = seen.__cause__ or seen.__context__
    text = str(seen) if seen is not None else type(error).__name__
    return " ".join(text.split())[:200]
