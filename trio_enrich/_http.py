"""The only module that imports httpx: headers, deadlines, the body cap, Retry-After, error mapping.

Every failure leaves this module as a :class:`FetchError` with a :class:`FailureKind`, so the
core never sees an httpx exception.
"""

from __future__ import annotations

import email.utils
import math
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from urllib.parse import urlsplit

import httpx
import trio

from ._errors import FetchError, UsageError
from ._model import FailureKind

__all__ = [
    "DEFAULT_HEADERS",
    "MAX_BODY_BYTES",
    "PageClient",
    "check_base_url",
    "parse_retry_after",
]

MAX_BODY_BYTES = 8 * 1024 * 1024

# What earlier tools sent and the site tolerated: a browser's accept headers and user agent.
DEFAULT_HEADERS = {
    "accept": "text/html,application/xhtml+xml",
    "accept-language": "en-US,en;q=0.9",
    "user-agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36"
    ),
}


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


class PageClient:
    """Fetches pages from one site over a keep-alive pool, as bytes or a FetchError.

    Redirects are not followed (a redirect would leave the configured host or loop), TLS is
    verified, each request has a total deadline, and bodies are capped at `max_body` bytes.
    """

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int,
        deadline: float = 30.0,
        max_body: int = MAX_BODY_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        status_kind: Callable[[int], FailureKind] | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        # What an answer other than 200 means: the site's table (``_site.status_kind``), or
        # without one, every such answer is an HTTP error.
        self.status_kind = status_kind or (lambda status: FailureKind.HTTP_ERROR)
        self.deadline = deadline
        self.max_body = max_body
        # Each request borrows a transport (httpx's connection pool) of its own with one
        # connection, used directly rather than through AsyncClient: we follow no redirects,
        # keep no cookies and need no auth. A shared pool scans every connection (with a
        # readability check on each idle one) for every request; measured here, one pool per
        # worker cuts the CPU cost of a request by a third and that of AsyncClient by half.
        # A request never waits for a connection slot, so httpcore's slot leak on cancellation
        # cannot strand a worker; a transport that saw an error is closed, not reused.
        self._shared = transport  # injected by tests (a mock transport): used by every request
        self._tls: ssl.SSLContext | None = None  # made once: a context costs ~25 ms to build
        self._free: list[httpx.AsyncBaseTransport] = []
        self._all: list[httpx.AsyncBaseTransport] = []
        self._headers = httpx.Headers(DEFAULT_HEADERS)

    def _checkout(self) -> httpx.AsyncBaseTransport:
        if self._shared is not None:
            return self._shared
        if self._free:
            return self._free.pop()
        if self._tls is None:
            if self.base_url.startswith("https:"):
                self._tls = httpx.create_ssl_context(verify=True)  # certificates are verified
            else:
                # Plain HTTP never uses TLS, but a transport always holds a context: a bare
                # one (verifying, with no certificates loaded) costs nothing to make.
                self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        transport = httpx.AsyncHTTPTransport(
            verify=self._tls, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
        )
        self._all.append(transport)
        return transport

    def _checkin(self, transport: httpx.AsyncBaseTransport) -> None:
        if transport is not self._shared:
            self._free.append(transport)

    async def _retire(self, transport: httpx.AsyncBaseTransport) -> None:
        if transport is self._shared:
            return
        self._all.remove(transport)
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            await transport.aclose()

    async def __aenter__(self) -> PageClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            for transport in [*self._all, *([self._shared] if self._shared else [])]:
                with trio.move_on_after(1):
                    await transport.aclose()
        self._all.clear()
        self._free.clear()

    async def get(self, path: str) -> bytes:
        """The body of a 200 answer for `path`, or FetchError saying why there is none."""
        with self._translated(path):
            return await self._get(path)

    async def get_any(self, path: str, max_bytes: int) -> tuple[int, bytes, str | None]:
        """Any answer for `path`: its status, up to `max_bytes` of its body and its Location
        (for robots.txt, whose status is meaningful); FetchError when there is no answer."""
        request = httpx.Request("GET", self.base_url + path, headers=self._headers)
        with self._translated(path):
            async with self._borrowed() as transport:
                response = await transport.handle_async_request(request)
                try:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) >= max_bytes:
                            break
                finally:
                    await response.aclose()
        return response.status_code, bytes(body[:max_bytes]), response.headers.get("location")

    @asynccontextmanager
    async def _borrowed(self) -> AsyncIterator[httpx.AsyncBaseTransport]:
        """A transport for one request: given back after an answer (an HTTP-level FetchError
        included: the transport is fine), closed after any other error."""
        transport = self._checkout()
        try:
            yield transport
        except FetchError:
            self._checkin(transport)
            raise
        except BaseException:
            await self._retire(transport)
            raise
        self._checkin(transport)

    @contextmanager
    def _translated(self, path: str) -> Iterator[None]:
        """The request's total deadline, and httpx's errors as FetchErrors of their kind."""
        try:
            with trio.fail_after(self.deadline):
                yield
        except trio.TooSlowError:
            raise FetchError(
                FailureKind.TIMEOUT, f"no complete answer in {self.deadline:g} s", path=path
            ) from None
        except httpx.TimeoutException as error:
            raise FetchError(FailureKind.TIMEOUT, _describe(error), path=path) from error
        except httpx.DecodingError as error:
            raise FetchError(FailureKind.BAD_CONTENT, _describe(error), path=path) from error
        except httpx.ConnectError as error:
            # Refused, or the name does not resolve: nothing answered at all, so this says
            # nothing about the page, only that the site cannot be reached.
            raise FetchError(FailureKind.UNREACHABLE, _describe(error), path=path) from error
        except (httpx.TransportError, httpx.StreamError) as error:
            raise FetchError(FailureKind.TRANSPORT, _describe(error), path=path) from error

    async def _get(self, path: str) -> bytes:
        # No per-phase timeouts for httpcore: the total deadline in get() covers connect, write
        # and every read, and each timeout httpcore would arm costs a deadline per socket call.
        request = httpx.Request("GET", self.base_url + path, headers=self._headers)
        async with self._borrowed() as transport:
            response = await transport.handle_async_request(request)
            try:
                return await self._read(path, response)
            finally:
                await response.aclose()

    async def _read(self, path: str, response: httpx.Response) -> bytes:
        status = response.status_code
        if status != 200:
            raise _status_error(path, response, self.status_kind(status))
        content_type = response.headers.get("content-type", "text/html").lower()
        if not content_type.startswith(("text/", "application/xhtml", "application/json")):
            raise FetchError(FailureKind.BAD_CONTENT, f"not a page ({content_type})", path=path)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise FetchError(
                FailureKind.TOO_LARGE,
                f"body of {int(declared)} bytes exceeds {self.max_body}",
                path=path,
            )
        body = bytearray()
        # We ask for no compression, so a page normally comes as is and its raw bytes are the
        # page (reading them skips httpx's decoder chain: 1% of a run at N=10, 20 ms). A server
        # that compresses anyway is decoded, and the cap applies to what a gzip bomb expands to.
        # (A response made in memory, as tests make them, holds its decoded content already.)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        as_is = encoding in ("", "identity") and not response.is_stream_consumed
        chunks = response.aiter_raw() if as_is else response.aiter_bytes()
        async for chunk in chunks:
            body += chunk
            if len(body) > self.max_body:
                raise FetchError(
                    FailureKind.TOO_LARGE, f"body exceeds {self.max_body} bytes", path=path
                )
        return bytes(body)


def _status_error(path: str, response: httpx.Response, kind: FailureKind) -> FetchError:
    status = response.status_code
    reason = f"HTTP {status}"
    if 300 <= status < 400:
        reason += f" redirect to {response.headers.get('location', '?')} not followed"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return FetchError(kind, reason, path=path, retry_after=retry_after)


def _describe(error: BaseException) -> str:
    """The error in one line; httpx's own is often empty (a refused TLS certificate arrives
    as a bare `ConnectError`), so the first cause that says something is taken."""
    seen: BaseException | None = error
    while seen is not None and not str(seen).strip():
        seen = seen.__cause__ or seen.__context__
    text = str(seen) if seen is not None else type(error).__name__
    return " ".join(text.split())[:200]
