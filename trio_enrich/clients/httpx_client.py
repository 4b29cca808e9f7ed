"""The only module that imports httpx: headers, deadlines, the body cap, Retry-After and the
stated rate limit, error mapping.

Every failure leaves this module as a :class:`FetchError` with a :class:`FailureKind`, so the
core never sees an httpx exception.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
import trio

from .._errors import FetchError
from .._model import FailureKind
from ..core.site_limit import StatedLimits
from .answers import (
    DEFAULT_HEADERS,
    ERROR_BODY_BYTES,
    MAX_BODY_BYTES,
    ClientName,
    ClosedAtExit,
    StatusKind,
    check_base_url,
    describe,
    hear_rate_headers,
    parse_retry_after,
    status_error,
)

# (check_base_url, parse_retry_after and DEFAULT_HEADERS live in ``_answers``, shared by both
# adapters; they are named here too, where they always were.)
__all__ = [
    "DEFAULT_HEADERS",
    "MAX_BODY_BYTES",
    "PageClient",
    "check_base_url",
    "parse_retry_after",
]


class PageClient(ClosedAtExit):
    """Fetches pages from one site over a keep-alive pool (httpx), as bytes or a FetchError.

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
        status_kind: StatusKind | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.name: ClientName = "httpx"
        # What an answer other than 200 means: the site's table (``_site.status_kind``), or
        # without one, every such answer is an HTTP error.
        self.status_kind = status_kind or (lambda status, body, header: FailureKind.HTTP_ERROR)
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
        self.stated = StatedLimits()  # the rate limit the site's answers state, if any
        # At most `concurrency` requests in flight, whoever calls (the pipeline's workers are
        # that many already; robots.txt and `check` ask for one).
        self._slots = trio.CapacityLimiter(max(1, concurrency))

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

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            for transport in [*self._all, *([self._shared] if self._shared else [])]:
                with trio.move_on_after(1):
                    await transport.aclose()
        self._all.clear()
        self._free.clear()

    async def get(self, path: str) -> bytes:
        """The body of a 200 answer for `path`, or FetchError saying why there is none."""
        async with self._slots:
            with self._translated(path):
                return await self._get(path)

    async def get_any(self, path: str, max_bytes: int) -> tuple[int, bytes, str | None]:
        """Any answer for `path`: its status, up to `max_bytes` of its body and its Location
        (for robots.txt, whose status is meaningful); FetchError when there is no answer."""
        request = httpx.Request("GET", self.base_url + path, headers=self._headers)
        async with self._slots:
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
            raise FetchError(FailureKind.TIMEOUT, describe(error), path=path) from error
        except httpx.DecodingError as error:
            raise FetchError(FailureKind.BAD_CONTENT, describe(error), path=path) from error
        except httpx.ConnectError as error:
            # Refused, or the name does not resolve: nothing answered at all, so this says
            # nothing about the page, only that the site cannot be reached.
            raise FetchError(FailureKind.UNREACHABLE, describe(error), path=path) from error
        except (httpx.TransportError, httpx.StreamError) as error:
            raise FetchError(FailureKind.TRANSPORT, describe(error), path=path) from error

    async def _get(self, path: str) -> bytes:
        # No per-phase timeouts for httpcore: the total deadline in get() covers connect, write
        # and every read, and each timeout httpcore would arm costs a deadline per socket call.
        request = httpx.Request("GET", self.base_url + path, headers=self._headers)
        async with self._borrowed() as transport:
            response = await transport.handle_async_request(request)
            hear_rate_headers(self.stated, response.headers.get)
            try:
                return await self._read(path, response)
            finally:
                await response.aclose()

    async def _read(self, path: str, response: httpx.Response) -> bytes:
        status = response.status_code
        if status != 200:
            body = bytearray()
            try:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= ERROR_BODY_BYTES:
                        break
            except httpx.HTTPError:
                pass  # the status says what the answer is; its page is a help, not a need
            raise status_error(
                path, status, body=bytes(body), location=response.headers.get("location"),
                retry_after=response.headers.get("retry-after"), header=response.headers.get,
                kind=self.status_kind(status, bytes(body), response.headers.get),
            )  # fmt: skip
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
