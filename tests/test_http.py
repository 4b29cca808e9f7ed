"""The HTTP adapter on httpx's mock transport: every answer becomes bytes or a FetchError."""

from __future__ import annotations

import email.utils
import gzip
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import trio

from trio_enrich import FailureKind, FetchError, UsageError
from trio_enrich.clients.httpx_client import (
    DEFAULT_HEADERS,
    PageClient,
    check_base_url,
    parse_retry_after,
)
from trio_enrich.site.rules import status_kind


def client_for(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> PageClient:
    """A client as a run builds it (the site's status table), on a mock transport."""
    return PageClient(
        "http://site.test", concurrency=2, transport=httpx.MockTransport(handler),
        status_kind=status_kind, **options,
    )  # fmt: skip


async def failure_of(client: PageClient, path: str = "/trades/1") -> FetchError:
    with pytest.raises(FetchError) as caught:
        await client.get(path)
    return caught.value


async def test_a_page_and_the_browser_like_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="<html>ok</html>", headers={"content-type": "text/html"})

    async with client_for(handler) as client:
        assert await client.get("/trades/1") == b"<html>ok</html>"
    assert str(seen[0].url) == "http://site.test/trades/1"
    for name, value in DEFAULT_HEADERS.items():
        assert seen[0].headers[name] == value


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, FailureKind.RATE_LIMITED),
        (403, FailureKind.RATE_LIMITED),
        (408, FailureKind.SERVER_ERROR),
        (500, FailureKind.SERVER_ERROR),
        (503, FailureKind.SERVER_ERROR),
        (404, FailureKind.NOT_FOUND),
        (418, FailureKind.HTTP_ERROR),
    ],
)
async def test_status_codes_are_classified(status: int, kind: FailureKind) -> None:
    async with client_for(lambda request: httpx.Response(status)) as client:
        error = await failure_of(client)
    assert error.kind is kind
    assert str(status) in str(error)


async def test_retry_after_in_seconds_and_as_a_date() -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    answers = iter(
        [
            httpx.Response(429, headers={"retry-after": "7"}),
            httpx.Response(503, headers={"retry-after": date}),
            httpx.Response(429, headers={"retry-after": "soon"}),
        ]
    )
    async with client_for(lambda request: next(answers)) as client:
        assert (await failure_of(client)).retry_after == 7.0
        assert 28 <= ((await failure_of(client)).retry_after or 0) <= 31
        assert (await failure_of(client)).retry_after is None


def test_parse_retry_after_edge_cases() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0  # in the past
    assert parse_retry_after("nan") is None


async def test_redirects_are_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://elsewhere.test/x"})

    async with client_for(handler) as client:
        error = await failure_of(client)
    assert error.kind is FailureKind.HTTP_ERROR
    assert "elsewhere.test" in str(error)


async def test_non_page_content_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"\x89PNG....", headers={"content-type": "image/png"})

    async with client_for(handler) as client:
        assert (await failure_of(client)).kind is FailureKind.BAD_CONTENT


async def test_a_declared_oversized_body_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2000, headers={"content-type": "text/html"})

    async with client_for(handler, max_body=1000) as client:
        assert (await failure_of(client)).kind is FailureKind.TOO_LARGE


async def test_a_declared_length_over_the_cap_is_refused_without_reading_the_body() -> None:
    read: list[bytes] = []

    async def small() -> AsyncIterator[bytes]:
        read.append(b"x" * 10)
        yield b"x" * 10

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/html", "content-length": "5000"}
        return httpx.Response(200, content=small(), headers=headers)

    async with client_for(handler, max_body=1000) as client:
        failure = await failure_of(client)
    assert failure.kind is FailureKind.TOO_LARGE
    assert "5000 bytes" in str(failure)  # what it declared, not what was read
    assert read == []  # refused on its word, before a byte of it


async def test_a_streamed_body_is_capped() -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 100

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless(), headers={"content-type": "text/html"})

    async with client_for(handler, max_body=1000) as client:
        assert (await failure_of(client)).kind is FailureKind.TOO_LARGE


async def test_a_gzip_bomb_is_capped_by_what_it_expands_to() -> None:
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
    assert len(bomb) < 10_000

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/html", "content-encoding": "gzip"}
        return httpx.Response(200, content=bomb, headers=headers)

    async with client_for(handler, max_body=1024 * 1024) as client:
        assert (await failure_of(client)).kind is FailureKind.TOO_LARGE


async def test_transport_errors_and_bad_encodings() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client_for(refuse) as client:
        assert (await failure_of(client)).kind is FailureKind.UNREACHABLE

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    async with client_for(reset) as client:
        assert (await failure_of(client)).kind is FailureKind.TRANSPORT

    def bad_gzip(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/html", "content-encoding": "gzip"}
        return httpx.Response(200, content=b"not gzip at all", headers=headers)

    async with client_for(bad_gzip) as client:
        assert (await failure_of(client)).kind is FailureKind.BAD_CONTENT


async def test_the_deadline_covers_the_whole_request() -> None:
    async def slow_body() -> AsyncIterator[bytes]:
        for _ in range(50):
            await trio.sleep(0.05)
            yield b"z"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=slow_body(), headers={"content-type": "text/html"})

    async with client_for(handler, deadline=0.3) as client:
        started = trio.current_time()
        assert (await failure_of(client)).kind is FailureKind.TIMEOUT
        assert trio.current_time() - started < 1.0


@pytest.mark.parametrize(
    "url", ["ftp://x.test", "x.test", "http://", "http://x.test:99999", "http://x.test/?q=1"]
)
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(UsageError):
        check_base_url(url)


def test_a_good_base_url_loses_its_trailing_slash() -> None:
    assert check_base_url("https://www.capitoltrades.com/") == "https://www.capitoltrades.com"
