"""The only module that imports curl_cffi: pages fetched as a browser fetches them.

`--client browser`. A CDN can refuse clients whose TLS handshake is not a browser's
(capitoltrades.com's was reported to, in 2026); curl_cffi's libcurl makes Chrome's handshake
and sends Chrome's headers. It promises what the httpx adapter (``_http``) promises: a deadline
for the whole request, the body cap (declared and read), no redirect followed, Retry-After,
connections kept alive, the same failure kinds, at most N requests in flight, and a Ctrl-C
that does not wait for a request.

curl_cffi's async API runs on asyncio, not trio, so its blocking API runs in trio's worker
threads: N sessions, each used by one thread at a time (a session is not safe to share between
threads; one per request in flight keeps its connection for the next). A request cancelled
mid-way (a deadline, Ctrl-C) leaves its thread to curl's own timeout; its session is closed by
that thread when it ends, never used again.

Installed with the extra (``pip install '.[browser]'`` in the clone), or alone (``pip install
curl_cffi``) into trio-enrich's environment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import trio

from .._errors import FetchError, UsageError
from .._help import BROWSER_INSTALL
from .._model import FailureKind
from ..core.site_limit import StatedLimits
from .answers import (
    ERROR_BODY_BYTES,
    MAX_BODY_BYTES,
    ClientName,
    ClosedAtExit,
    StatusKind,
    check_base_url,
    describe,
    hear_rate_headers,
    status_error,
)

try:
    from curl_cffi import CurlError, CurlInfo, CurlOpt
    from curl_cffi.requests import Session
    from curl_cffi.requests.exceptions import (
        CertificateVerifyError,
        ConnectionError,
        DNSError,
        SSLError,
        Timeout,
    )

    INSTALLED = True
except ImportError:  # pragma: no cover - the extra is not installed: see require_browser
    INSTALLED = False

__all__ = ["BrowserClient", "require_browser"]

#: The browser curl_cffi impersonates: its newest Chrome (headers, TLS and HTTP/2 settings).
IMPERSONATE = "chrome"
#: libcurl's answer to a write callback that refuses more data (CURL_WRITEFUNC_ERROR).
_STOP = 0xFFFFFFFF
# libcurl's codes for a transfer that exceeded CURLOPT_MAXFILESIZE, or that the write
# callback stopped (the body cap while reading).
_FILE_TOO_LARGE = 63
_WRITE_ERROR = 23


def require_browser() -> None:
    """A UsageError naming the extra when curl_cffi is not installed."""
    if not INSTALLED:
        raise UsageError(f"--client browser needs curl_cffi; install it with `{BROWSER_INSTALL}`")


@dataclass(slots=True)
class _Lease:
    """A session lent to one request; a request given up leaves it to its thread to close."""

    session: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    abandoned: bool = False
    done: bool = False


@dataclass(slots=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    too_large: str = ""  # why the body was refused, when it was


class BrowserClient(ClosedAtExit):
    """Fetches pages from one site as Chrome does (curl_cffi), as bytes or a FetchError."""

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int,
        deadline: float = 30.0,
        max_body: int = MAX_BODY_BYTES,
        status_kind: StatusKind | None = None,
    ) -> None:
        require_browser()
        self.base_url = check_base_url(base_url)
        self.name: ClientName = "browser"
        self.status_kind = status_kind or (lambda status, body, header: FailureKind.HTTP_ERROR)
        self.deadline = deadline
        self.max_body = max_body
        self._threads = trio.CapacityLimiter(max(1, concurrency))
        self._free: list[Any] = []  # idle sessions, each keeping its connection
        self.stated = StatedLimits()  # the rate limit the site's answers state, if any

    async def aclose(self) -> None:
        sessions = list(self._free)
        self._free.clear()
        for session in sessions:
            session.close()  # closing an idle session only frees its handle: no I/O

    async def get(self, path: str) -> bytes:
        """The body of a 200 answer for `path`, or FetchError saying why there is none."""
        answer = await self._request(path, self.max_body)
        hear_rate_headers(self.stated, answer.headers.get)
        if answer.too_large:
            raise FetchError(FailureKind.TOO_LARGE, answer.too_large, path=path)
        if answer.status != 200:
            raise self._status_error(path, answer)
        content_type = answer.headers.get("content-type", "text/html").lower()
        if not content_type.startswith(("text/", "application/xhtml", "application/json")):
            raise FetchError(FailureKind.BAD_CONTENT, f"not a page ({content_type})", path=path)
        return answer.body

    async def get_any(self, path: str, max_bytes: int) -> tuple[int, bytes, str | None]:
        """Any answer for `path`: its status, up to `max_bytes` of its body and its Location
        (for robots.txt, whose status is meaningful); FetchError when there is no answer."""
        answer = await self._request(path, max_bytes, truncate=True)
        return answer.status, answer.body[:max_bytes], answer.headers.get("location")

    def _status_error(self, path: str, answer: _Answer) -> FetchError:
        return status_error(
            path, answer.status, body=answer.body[:ERROR_BODY_BYTES],
            location=answer.headers.get("location"), retry_after=answer.headers.get("retry-after"),
            header=answer.headers.get, kind=self.status_kind(
                answer.status, answer.body[:ERROR_BODY_BYTES], answer.headers.get
            ),
        )  # fmt: skip

    async def _request(self, path: str, max_body: int, *, truncate: bool = False) -> _Answer:
        """One GET in a worker thread, under the whole request's deadline."""
        lease = _Lease(self._free.pop() if self._free else self._new_session())
        url = self.base_url + path
        call = _Call(url, self.deadline, max_body, truncate, lease)
        try:
            with trio.fail_after(self.deadline):
                answer = await trio.to_thread.run_sync(
                    call.run, abandon_on_cancel=True, limiter=self._threads
                )
        except trio.TooSlowError:
            self._abandon(lease)
            raise FetchError(
                FailureKind.TIMEOUT, f"no complete answer in {self.deadline:g} s", path=path
            ) from None
        except (CurlError, OSError) as error:
            self._retire(lease)
            raise _translated(error, path) from error
        except BaseException:
            self._abandon(lease)  # cancelled (Ctrl-C): the thread may still be in curl
            raise
        self._free.append(lease.session)
        return answer

    def _new_session(self) -> Session[Any]:
        return Session(
            impersonate=IMPERSONATE,
            # One curl handle for the session, not one per thread: a session is used by one
            # thread at a time here, and keeps its connection for the next request.
            use_thread_local_curl=False,
            allow_redirects=False,
            verify=True,
            # HTTP/2 over TLS (as the browser), HTTP/1.1 in the clear: no h2c upgrade.
            http_version="v2tls",
        )

    def _retire(self, lease: _Lease) -> None:
        lease.session.close()

    def _abandon(self, lease: _Lease) -> None:
        """The request was given up: its thread closes the session when curl returns (or now,
        if it has returned already)."""
        with lease.lock:
            lease.abandoned = True
            finished = lease.done
        if finished:
            lease.session.close()


@dataclass(slots=True)
class _Call:
    """What a worker thread runs: one request, its body read up to its cap."""

    url: str
    deadline: float
    max_body: int  # past it, the transfer stops
    truncate: bool  # with what was read (robots.txt), or as "too large" (a page)
    lease: _Lease
    _body: bytearray = field(default_factory=bytearray)
    _status: int = 0  # known from the first chunk of the body on
    _over: bool = False

    def run(self) -> _Answer:
        try:
            return self._run()
        finally:
            lease = self.lease
            with lease.lock:
                lease.done = True
                abandoned = lease.abandoned
            if abandoned:
                lease.session.close()

    def _run(self) -> _Answer:
        # libcurl refuses a declared length over the cap before reading the body; robots.txt
        # (`truncate`) is read up to its cap whatever its declared length.
        options = self.lease.session.curl_options
        options[CurlOpt.MAXFILESIZE_LARGE] = 0 if self.truncate else self.max_body
        try:
            response = self.lease.session.get(
                self.url, timeout=self.deadline, content_callback=self._take
            )
        except CurlError as error:
            code = getattr(error, "code", None)
            if code == _FILE_TOO_LARGE:
                return _Answer(200, {}, b"", f"declared body exceeds {self.max_body} bytes")
            if code != _WRITE_ERROR or not self._over:
                raise
            if self.truncate:
                return _Answer(self._status, {}, bytes(self._body))
            return _Answer(self._status, {}, b"", f"body exceeds {self.max_body} bytes")
        headers = {key.lower(): value for key, value in response.headers.items()}
        return _Answer(response.status_code, headers, bytes(self._body))

    def _take(self, chunk: bytes) -> int:
        """libcurl's write callback: keep the chunk (its length: all of it taken); stop the
        transfer past the cap."""
        if not self._status:
            self._status = int(self.lease.session.curl.getinfo(CurlInfo.RESPONSE_CODE))
        self._body += chunk
        if len(self._body) > self.max_body:
            self._over = True
            del self._body[self.max_body :]
            return _STOP
        return len(chunk)


def _translated(error: BaseException, path: str) -> FetchError:
    """curl's errors as FetchErrors of the kinds httpx's get (see ``_http``)."""
    if isinstance(error, Timeout):
        return FetchError(FailureKind.TIMEOUT, describe(error), path=path)
    if isinstance(error, DNSError | CertificateVerifyError | SSLError):
        return FetchError(FailureKind.UNREACHABLE, describe(error), path=path)
    if isinstance(error, ConnectionError) and getattr(error, "code", None) in (6, 7):
        # couldn't resolve the host, couldn't connect: nothing answered at all
        return FetchError(FailureKind.UNREACHABLE, describe(error), path=path)
    return FetchError(FailureKind.TRANSPORT, describe(error), path=path)
