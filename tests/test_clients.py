"""Both HTTP clients keep the same promises, against a real server on 127.0.0.1.

`--client httpx` and `--client browser` (curl_cffi) are tested alike: the page, the site's
status table (a CDN's 403 apart from a throttling one), Retry-After in both forms, no redirect
followed, the body cap declared and read (a gzip bomb included), the content type, the deadline
of the whole request, an unreachable port, kept-alive connections, at most N in flight, and a
cancellation that does not wait for a hanging request.
"""

from __future__ import annotations

import email.utils
import gzip
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio

from trio_enrich import FailureKind, FetchError
from trio_enrich.clients.answers import PageSource
from trio_enrich.clients.browser import BrowserClient
from trio_enrich.clients.httpx_client import PageClient
from trio_enrich.sim._http11 import read_head
from trio_enrich.sim._pages import cdn_refusal_page
from trio_enrich.site.rules import status_kind

CLIENTS = ["httpx", "browser"]
CAP = 64 * 1024


def answer(status: int, body: bytes = b"", *headers: tuple[str, str], length: int | None = None,
           content_type: str = "text/html; charset=utf-8") -> bytes:  # fmt: skip
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}",
             f"Content-Length: {len(body) if length is None else length}",
             *(f"{name}: {value}" for name, value in headers)]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Server:
    """Answers each path from `routes`: bytes to send, or an async function of the stream."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes | Callable[[trio.SocketStream], Awaitable[None]]] = {}
        self.connections = 0
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.headers: list[dict[str, str]] = []
        self.base_url = ""

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        buffer = bytearray()
        try:
            while True:
                head = await read_head(stream, buffer)
                if head is None:
                    return
                self.requests += 1
                self.headers.append(head.headers)
                route = self.routes.get(head.path, answer(404, b"<title>Page Not Found</title>"))
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                try:
                    if isinstance(route, bytes):
                        await trio.sleep(0.05)
                        await stream.send_all(route)
                    else:
                        await route(stream)
                        return
                finally:
                    self.in_flight -= 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return


@asynccontextmanager
async def serving() -> AsyncIterator[Server]:
    server = Server()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        server.base_url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        yield server
        nursery.cancel_scope.cancel()


def client(name: str, base_url: str, deadline: float = 5.0, concurrency: int = 2) -> PageSource:
    kind = PageClient if name == "httpx" else BrowserClient
    return kind(base_url, concurrency=concurrency, deadline=deadline, max_body=CAP,
                status_kind=status_kind)  # fmt: skip


async def failure(source: PageSource, path: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await source.get(path)
    return caught.value


@pytest.mark.parametrize("name", CLIENTS)
async def test_the_same_answers_give_the_same_bytes_and_failures(name: str) -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    async with serving() as server:
        server.routes.update({
            "/page": answer(200, b"<html>the page</html>"),
            "/limited": answer(429, b"slow down", ("Retry-After", "7")),
            "/limited-date": answer(429, b"", ("Retry-After", date)),
            "/throttled": answer(403, b"<title>Forbidden</title>"),
            "/cdn": answer(403, cdn_refusal_page().encode()),
            "/broken": answer(503, b""),
            "/moved": answer(302, b"", ("Location", "http://elsewhere.test/x")),
            "/image": answer(200, b"\x89PNG" + b"\0" * 100, content_type="image/png"),
        })  # fmt: skip
        async with client(name, server.base_url) as source:
            assert await source.get("/page") == b"<html>the page</html>"
            limited = await failure(source, "/limited")
            assert (limited.kind, limited.retry_after) == (FailureKind.RATE_LIMITED, 7.0)
            dated = await failure(source, "/limited-date")
            assert dated.retry_after is not None
            assert 25 <= dated.retry_after <= 31
            assert (await failure(source, "/throttled")).kind is FailureKind.RATE_LIMITED
            cdn = await failure(source, "/cdn")
            assert cdn.kind is FailureKind.BLOCKED
            assert "The request could not be satisfied" in str(cdn)  # its page's title, shown
            assert (await failure(source, "/broken")).kind is FailureKind.SERVER_ERROR
            moved = await failure(source, "/moved")
            assert moved.kind is FailureKind.HTTP_ERROR
            assert "redirect to http://elsewhere.test/x not followed" in str(moved)
            assert (await failure(source, "/missing")).kind is FailureKind.NOT_FOUND
            assert await source.get_any("/moved", 100) == (302, b"", "http://elsewhere.test/x")
            assert server.connections == 1  # every answer above kept the one connection
            assert (await failure(source, "/image")).kind is FailureKind.BAD_CONTENT


@pytest.mark.parametrize("name", CLIENTS)
async def test_bodies_are_capped_declared_read_and_expanded(name: str) -> None:
    async def endless(stream: trio.SocketStream) -> None:
        await stream.send_all(answer(200, b"", length=10 * CAP))
        for _ in range(20):
            await stream.send_all(b"x" * CAP)

    bomb = gzip.compress(b"x" * (20 * CAP))
    async with serving() as server:
        server.routes.update({
            "/declared": answer(200, b"", length=CAP + 1),  # no body is ever sent
            "/endless": endless,
            "/bomb": answer(200, bomb, ("Content-Encoding", "gzip")),
        })  # fmt: skip
        async with client(name, server.base_url) as source:
            with trio.fail_after(3):  # the declared length is refused without waiting for it
                declared = await failure(source, "/declared")
            assert declared.kind is FailureKind.TOO_LARGE
            assert (await failure(source, "/endless")).kind is FailureKind.TOO_LARGE
            assert (await failure(source, "/bomb")).kind is FailureKind.TOO_LARGE
            status, body, _ = await source.get_any("/endless", 1000)
            assert (status, len(body)) == (200, 1000)


@pytest.mark.parametrize("name", CLIENTS)
async def test_the_deadline_covers_the_whole_request_and_an_unreachable_port_says_so(
    name: str,
) -> None:
    async def drip(stream: trio.SocketStream) -> None:
        await stream.send_all(answer(200, b"", length=1000))
        for _ in range(100):
            await stream.send_all(b"x")
            await trio.sleep(0.1)

    async with serving() as server:
        server.routes["/drip"] = drip
        async with client(name, server.base_url, deadline=1.0) as source:
            started = trio.current_time()
            timeout = await failure(source, "/drip")
            assert timeout.kind is FailureKind.TIMEOUT
            assert trio.current_time() - started < 2.5
    async with client(name, "http://127.0.0.1:9") as source:
        assert (await failure(source, "/page")).kind is FailureKind.UNREACHABLE


@pytest.mark.parametrize("name", CLIENTS)
async def test_at_most_n_in_flight_and_a_cancel_does_not_wait_for_a_hanging_request(
    name: str,
) -> None:
    async def hang(stream: trio.SocketStream) -> None:
        await trio.sleep(60)

    async with serving() as server:
        server.routes.update({"/page": answer(200, b"ok"), "/hang": hang})
        async with client(name, server.base_url, deadline=30.0, concurrency=3) as source:
            async with trio.open_nursery() as nursery:
                for _ in range(12):
                    nursery.start_soon(source.get, "/page")
            assert server.most_in_flight <= 3
            started = trio.current_time()
            with trio.move_on_after(0.3):
                await source.get("/hang")
            assert trio.current_time() - started < 1.0  # not the 30 s of its deadline
            assert await source.get("/page") == b"ok"  # the client still works after it


async def test_the_browser_client_sends_a_browsers_headers_and_httpx_its_own() -> None:
    async with serving() as server:
        server.routes["/page"] = answer(200, b"ok")
        for name in CLIENTS:
            async with client(name, server.base_url) as source:
                await source.get("/page")
        httpx_headers, browser_headers = server.headers
    assert "sec-ch-ua" not in httpx_headers
    assert "sec-ch-ua" in browser_headers
    assert "sec-fetch-mode" in browser_headers
    assert browser_headers["user-agent"].startswith("Mozilla/5.0")
    assert "upgrade" not in browser_headers  # HTTP/1.1 in the clear, as a browser speaks it
