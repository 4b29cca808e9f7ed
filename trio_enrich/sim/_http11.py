"""The simulator's HTTP/1.1 framing: read a request head, write an answer's head, reset; and
what a request asks for (its query's numbers, whether its headers are a browser's).

Only what the simulator needs (no chunked bodies, no trailers), written on trio's streams so
that its faults (a reset in a body, a byte-by-byte drip) have control below any framework.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import trio

__all__ = [
    "Head", "head_bytes", "looks_like_a_browser", "page_size", "query_int", "read_head", "reset",
    "send_response", "stamp_arrivals",
]  # fmt: skip

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_MAX_HEAD = 64 * 1024


@dataclass(slots=True)
class Head:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    keep_alive: bool
    arrived: float  # when the bytes that completed the head reached the socket
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case


# The latency counts from the moment a request reached the server's socket, as the kernel
# stamped it. A single-threaded simulator reads a request late whenever it is busy answering
# others (at 10 connections and 20 ms, reading lagged sending by a median 0.6 ms); a real site,
# with many cores, would not make that request wait. Linux only; elsewhere the read time counts.
_SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>; the socket module does not name it
_STAMPED = sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64")
_STAMP_SPACE = socket.CMSG_SPACE(16) if _STAMPED else 0  # a struct timespec


def stamp_arrivals(stream: trio.SocketStream) -> None:
    if _STAMPED:
        with contextlib.suppress(OSError):
            stream.socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)


async def _receive(stream: trio.SocketStream) -> tuple[bytes, float]:
    """Bytes from the connection, and when they arrived on trio's clock."""
    if not _STAMPED:
        return await stream.receive_some(65536), trio.current_time()
    try:
        data, ancillary, _flags, _address = await stream.socket.recvmsg(65536, _STAMP_SPACE)
    except OSError as error:
        raise trio.BrokenResourceError(str(error)) from error
    now = trio.current_time()
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= 16:
            seconds, nanoseconds = struct.unpack("qq", payload[:16])
            age = time.time() - (seconds + nanoseconds / 1e9)
            # The stamp is wall-clock time: bound the age in case the clock was stepped.
            return data, now - min(max(0.0, age), 1.0)
    return data, now


async def read_head(stream: trio.SocketStream, buffer: bytearray) -> Head | None:
    """Read one request head (and skip any body); None at a clean end of the connection."""
    arrived = trio.current_time()  # a request already in the buffer (pipelined) counts from now
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(buffer) > _MAX_HEAD:
            raise ValueError("request head too large")
        data, arrived = await _receive(stream)
        if not data:
            return None
        buffer += data
    raw = bytes(buffer[:end]).decode("latin-1")
    del buffer[: end + 4]
    lines = raw.split("\r\n")
    method, target, version = ([*lines[0].split(" "), "", "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(buffer) < length:
        data = await stream.receive_some(65536)
        if not data:
            return None
        buffer += data
    del buffer[:length]
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" and version == "HTTP/1.1"
    split = urlsplit(target)
    return Head(method, target, split.path, parse_qs(split.query), keep_alive, arrived, headers)


def head_bytes(
    status: int,
    length: int,
    keep_alive: bool,
    extra: list[tuple[str, str]],
    content_type: str = "text/html; charset=utf-8",
) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
        "Connection: " + ("keep-alive" if keep_alive else "close"),
        *(f"{name}: {value}" for name, value in extra),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send_response(
    stream: trio.SocketStream,
    status: int,
    body: bytes,
    keep_alive: bool,
    extra: list[tuple[str, str]],
    content_type: str = "text/html; charset=utf-8",
) -> None:
    """A whole answer: its head, then its body (in pieces of 256 KB when large)."""
    head = head_bytes(status, len(body), keep_alive, extra, content_type)
    if len(body) < 256 * 1024:
        await stream.send_all(head + body)
    else:
        await stream.send_all(head)
        for at in range(0, len(body), 256 * 1024):
            await stream.send_all(body[at : at + 256 * 1024])


def reset(stream: trio.SocketStream) -> None:
    """Close with a TCP RST instead of a FIN: the client sees 'connection reset'."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# --- what a request asks for ----------------------------------------------------------------


def query_int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


def page_size(query: dict[str, list[str]]) -> int:
    return max(1, min(100, query_int(query, "pageSize", 12)))


def looks_like_a_browser(headers: dict[str, str]) -> bool:
    """What the CDN mode lets through: a browser's header set (Chrome's client hints and
    fetch metadata, a Mozilla user agent). A real CDN also reads the TLS handshake; on a
    loopback server without TLS only the headers can tell."""
    return (
        "sec-ch-ua" in headers
        and "sec-fetch-mode" in headers
        and headers.get("user-agent", "").startswith("Mozilla/5.0")
    )
