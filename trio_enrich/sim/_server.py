"""The simulated capitoltrades.com: a small HTTP/1.1 server on trio's ``serve_tcp``.

A bare trio server rather than hypercorn: it was measured faster on this machine, and faults such
as a reset in the middle of a body or a byte-by-byte drip need control below any framework.
Only loopback is served.
"""

from __future__ import annotations

import email.utils
import gzip
import itertools
import json
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

import trio

from ._dataset import Dataset, make_dataset
from ._faults import FAULT_NAMES, Faults
from ._http11 import (
    Head,
    head_bytes,
    looks_like_a_browser,
    page_size,
    query_int,
    read_head,
    reset,
    send_response,
    stamp_arrivals,
)
from ._pages import (
    cdn_refusal_page,
    challenge_page,
    changed_layout,
    error_digest_page,
    issuer_detail_page,
    issuers_page,
    not_found_page,
    politicians_page,
    shell_page,
    trade_detail_page,
    trades_page,
)

__all__ = ["RequestLog", "RequestRecord", "Simulator", "open_simulator"]

# Timers wake late: epoll counts whole milliseconds and rounds up, and waking takes time. On
# this machine a trio timer woke 0.4-0.8 ms late depending on load, so a fixed correction left
# the latency 0.5-0.9 ms above the one asked. The server measures its own lateness and aims
# that much early; it starts from this guess.
_INITIAL_LATENESS = 0.0005  # seconds
_MAX_LATENESS = 0.002  # a busier loop is the server being slow, not a late timer
_LATENESS_WEIGHT = 1 / 32  # an exponential average over the last few dozen waits
_HOSTILE = frozenset(
    {"huge", "gzip-bomb", "invalid-utf8", "deep-json", "redirect-away",
     "redirect-loop", "image"}
)  # fmt: skip
# Faults whose answer is the routed page (possibly damaged); the others answer without one.
_PAGE_FAULTS = frozenset(
    {
        "ok",
        "reset",
        "drip",
        "truncate",
        "oversize",
        "not_found",
        "error_digest",
        "tiny-chunks",
        "empty-table",
    }
)


@dataclass(slots=True)
class RequestRecord:
    """One request as the server saw it; times are trio.current_time() of the server."""

    start: float
    end: float
    method: str
    path: str
    status: int  # 0 when no status line was sent (a hang)
    bytes: int  # body bytes sent
    connection: int
    fault: str


class RequestLog:
    """Every request, in arrival order, with the figures tests assert politeness with."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def __len__(self) -> int:
        return len(self.records)

    def paths(self) -> list[str]:
        return [record.path for record in self.records]

    def starts(self) -> list[float]:
        return [record.start for record in self.records]

    def max_in_window(self, window: float = 1.0) -> int:
        """The most requests that started within any sliding window of `window` seconds."""
        starts = sorted(self.starts())
        best = 0
        first = 0
        for last, moment in enumerate(starts):
            while moment - starts[first] >= window:
                first += 1
            best = max(best, last - first + 1)
        return best

    def started_between(self, begin: float, end: float) -> list[RequestRecord]:
        return [record for record in self.records if begin <= record.start < end]

    def json_lines(self) -> str:
        return "".join(json.dumps(asdict(record)) + "\n" for record in self.records)


class Simulator:
    """The simulated site. Start it with :func:`open_simulator` or :meth:`serve`."""

    def __init__(self, dataset: Dataset, faults: Faults | None = None, *, seed: int = 1) -> None:
        self.dataset = dataset
        self.faults = faults or Faults()
        self.seed = seed
        self.log = RequestLog()
        self.robots_log: list[RequestRecord] = []  # requests for /robots.txt
        self.port = 0
        self.started_at = 0.0
        self._rng = random.Random(seed)
        self._injected: deque[str] = deque()
        self._scripts: dict[str, deque[str]] = {}
        self._burst_left = 0
        self._connections = itertools.count(1)
        self._outages: list[tuple[float, float]] = []
        self._limited_until = -math.inf  # the rate limiter's lockout, when the profile has one
        self._limiter = self.faults.limiter()  # the hidden (or stated) rate limit
        self._queued = 0  # requests waiting for one of the `capacity` servers
        self._servers = trio.Semaphore(self.faults.capacity or 1)
        self._lateness = _INITIAL_LATENESS

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control --------------------------------------------------------------------------------

    def inject(self, fault: str, count: int = 1) -> None:
        """Give the next `count` requests (any path) this fault."""
        self._injected.extend([fault] * count)

    def script(self, path: str, faults: list[str]) -> None:
        """Give the next requests for `path` these faults, in order ("ok" for a normal answer)."""
        self._scripts.setdefault(path, deque()).extend(faults)

    def outage(self, seconds: float, *, starting_in: float = 0.0) -> tuple[float, float]:
        """Fail every request for `seconds`, from `starting_in` seconds from now."""
        begin = trio.current_time() + starting_in
        window = (begin, begin + seconds)
        self._outages.append(window)
        return window

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self._burst_left = 0
        self._limiter = faults.limiter()
        self._servers = trio.Semaphore(faults.capacity or 1)

    # --- serving --------------------------------------------------------------------------------

    async def serve(
        self, port: int = 0, *, task_status: trio.TaskStatus[Simulator] = trio.TASK_STATUS_IGNORED
    ) -> None:
        listeners = await trio.open_tcp_listeners(port, host="127.0.0.1", backlog=512)
        self.port = listeners[0].socket.getsockname()[1]
        self.started_at = trio.current_time()
        self._outages.extend(
            (self.started_at + begin, self.started_at + end) for begin, end in self.faults.outages
        )
        async with trio.open_nursery() as nursery:
            task_status.started(self)
            await trio.serve_listeners(self._handle, listeners, handler_nursery=nursery)

    async def _handle(self, stream: trio.SocketStream) -> None:
        connection = next(self._connections)
        buffer = bytearray()
        stamp_arrivals(stream)
        try:
            while True:
                head = await read_head(stream, buffer)
                if head is None:
                    return
                keep_alive = await self._answer(stream, connection, head)
                if not keep_alive:
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, ValueError):
            return
        finally:
            with trio.move_on_after(1) as cleanup:
                cleanup.shield = True
                await stream.aclose()

    def _take_token(self, now: float) -> bool:
        """The rate limit: False when it refuses the request (a lockout may follow)."""
        if self._limiter is None or self._limiter.take(now):
            return True
        if self.faults.lockout_seconds:
            self._limited_until = now + self.faults.lockout_seconds
        return False

    def _choose_fault(self, path: str, now: float) -> str:
        if now < self._limited_until:
            return "429-lockout"
        if not self._take_token(now):
            return "429-lockout" if self.faults.lockout_seconds else "429-limit"
        script = self._scripts.get(path)
        if script:
            return script.popleft()
        if self._injected:
            return self._injected.popleft()
        if any(begin <= now < end for begin, end in self._outages):
            return "outage"
        faults = self.faults
        if self._burst_left > 0:
            self._burst_left -= 1
            return "503"
        rng = self._rng
        for name, rate in (
            ("429-date" if faults.retry_after_as_date else "429", faults.rate_429),
            ("503", faults.rate_5xx),
            ("403", faults.rate_403),
            ("reset", faults.rate_reset),
            ("hang", faults.rate_hang),
            ("drip", faults.rate_drip),
            ("truncate", faults.rate_truncate),
            ("challenge", faults.rate_challenge),
            ("oversize", faults.rate_oversize),
        ):
            if rate and rng.random() < rate:
                if name == "503":
                    self._burst_left = max(0, faults.burst_5xx - 1)
                return name
        return "ok"

    async def _answer(self, stream: trio.SocketStream, connection: int, head: Head) -> bool:
        log = self.log
        start = head.arrived
        if head.path.startswith("/_sim/"):
            # Control requests (truth, log, stats, publish): no faults, no latency, not logged.
            control = RequestRecord(start, start, head.method, head.target, 0, 0, connection, "")
            status, page = self._route(head, "ok")
            return await _respond(stream, control, status, page.encode(), head.keep_alive)
        if self.faults.site_mode == "cdn" and not looks_like_a_browser(head.headers):
            record = RequestRecord(start, start, head.method, head.target, 0, 0, connection, "cdn")
            (self.robots_log if head.path == "/robots.txt" else log.records).append(record)
            body = cdn_refusal_page().encode()
            extra = [("Server", "CloudFront"), ("X-Cache", "Error from cloudfront")]
            return await _respond(stream, record, 403, body, head.keep_alive, extra)
        if self.faults.site_mode == "vercel":
            # Vercel's firewall challenges every client it doubts, browsers included: a page
            # that runs a JavaScript check, which no HTTP client passes.
            record = RequestRecord(start, start, head.method, head.target, 0, 0, connection,
                                   "vercel")  # fmt: skip
            (self.robots_log if head.path == "/robots.txt" else log.records).append(record)
            extra = [("Server", "Vercel"), ("X-Vercel-Mitigated", "challenge"),
                     ("X-Vercel-Challenge-Token", "2.1733500000.60.sim"),
                     ("Cache-Control", "private, no-store, max-age=0")]  # fmt: skip
            body = challenge_page().encode()
            return await _respond(stream, record, 429, body, head.keep_alive, extra)
        if head.path == "/robots.txt":
            return await self._robots(stream, connection, head)
        fault = self._choose_fault(head.path, start)
        loaded = self.faults.capacity is not None and not fault.startswith("429")
        if loaded and self._queued >= self.faults.queue_limit:
            fault = "503"  # more waiting than the site will queue: refused at once
            loaded = False
        record = RequestRecord(start, start, head.method, head.target, 0, 0, connection, fault)
        # The limit as the site states it, when it does (on its answers and its refusals).
        stated = self._limiter.stated(start, time.time()) if self._limiter else []
        log.records.append(record)
        log.in_flight += 1
        log.max_in_flight = max(log.max_in_flight, log.in_flight)
        try:
            if not loaded:
                return await self._send(
                    stream, head, fault, record, start + self.faults.latency(self._rng), stated
                )
            # Served by one of `capacity` servers: the latency counts from when one is free.
            self._queued += 1
            try:
                await self._servers.acquire()
            finally:
                self._queued -= 1
            try:
                service = self.faults.latency(self._rng)
                return await self._send(
                    stream, head, fault, record, trio.current_time() + service, stated
                )
            finally:
                self._servers.release()
        finally:
            log.in_flight -= 1
            record.end = trio.current_time()

    async def _robots(self, stream: trio.SocketStream, connection: int, head: Head) -> bool:
        """/robots.txt: never faulted, not rate limited, and logged apart from the pages (in
        `robots_log`), so the page log counts pages."""
        start = head.arrived
        record = RequestRecord(start, start, head.method, head.target, 0, 0, connection, "ok")
        self.robots_log.append(record)
        faults = self.faults
        if faults.robots_status != 200:
            status, body = faults.robots_status, b"robots.txt unavailable"
        elif faults.robots_txt is None:
            status, body = 404, b"not found"
        else:
            status, body = 200, faults.robots_txt.encode()
        try:
            return await _respond(
                stream, record, status, body, head.keep_alive, content_type="text/plain"
            )
        finally:
            record.end = trio.current_time()

    # One function on purpose (~75 lines): the answer is built before the latency wait and
    # sent right after it, each fault a branch of that one timeline.
    async def _send(
        self,
        stream: trio.SocketStream,
        head: Head,
        fault: str,
        record: RequestRecord,
        answer_at: float,
        stated: list[tuple[str, str]] | None = None,
    ) -> bool:
        """Answer the request at `answer_at`: the page is made first, so the latency is exact.
        `stated`: the headers that state the rate limit, sent with pages and refusals."""
        # Long: one branch per fault the simulator can answer with, side by side (a table in code).
        stated = stated or []
        keep_alive = head.keep_alive
        if fault in _PAGE_FAULTS:
            status, page = self._route(head, fault)
            if self.faults.site_mode == "shell":
                page = shell_page(self.seed, head.path)
            elif self.faults.site_mode == "changed":
                page = changed_layout(page)
        if fault == "ok":  # the common answer leaves the moment the wait ends
            body = page.encode()
            ready = head_bytes(status, len(body), keep_alive, stated) + body
            await self._sleep_until(answer_at)
            await stream.send_all(ready)
            record.status, record.bytes = status, len(body)
            return keep_alive
        await self._sleep_until(answer_at)
        if fault == "hang":
            await trio.sleep(self.faults.hang_seconds)
            return False
        if fault == "outage":
            return await _respond(stream, record, self.faults.outage_status, b"outage", keep_alive)
        if fault in ("429", "429-date", "429-lockout", "429-limit"):
            now = trio.current_time()
            if fault == "429-lockout":
                wait = max(0.0, self._limited_until - now)
            elif fault == "429-limit":
                limiter = self._limiter
                assert limiter is not None
                wait = limiter.reset(now) if limiter.window else self.faults.retry_after
            else:
                wait = self.faults.retry_after
                if self.faults.rate_limit_lockout:
                    self._limited_until = now + wait
            if fault == "429-date":
                # An HTTP date has whole seconds: round up so the pause is never shorter.
                value = email.utils.formatdate(math.ceil(time.time() + wait), usegmt=True)
            else:
                value = str(math.ceil(wait))
            # A limiter may refuse with another status (a 503 that says when to come back).
            status = self.faults.limit_status if fault == "429-limit" else 429
            extra = [("Retry-After", value), *stated]
            return await _respond(stream, record, status, b"Too Many Requests", keep_alive, extra)
        if fault in ("500", "503", "403"):
            return await _respond(stream, record, int(fault), fault.encode(), keep_alive)
        if fault == "challenge":
            return await _respond(stream, record, 200, challenge_page().encode(), keep_alive)
        if fault in _HOSTILE:
            return await self._send_hostile(stream, head, fault, record, keep_alive)
        body = page.encode()
        if fault == "truncate":
            cut = body.find(b'<div hidden id="S:0">')
            body = body[: self._rng.randint(len(body) // 3, cut if cut > 0 else len(body) // 2)]
        elif fault == "oversize":
            padding = max(0, self.faults.oversize_bytes - len(body))
            body = body.replace(b"</body>", b"<!--" + b"x" * padding + b"--></body>")
        if fault == "reset":
            await stream.send_all(head_bytes(status, len(body), keep_alive, []))
            await stream.send_all(body[: len(body) // 2])
            record.status, record.bytes = status, len(body) // 2
            reset(stream)
            return False
        if fault == "tiny-chunks":
            await stream.send_all(head_bytes(status, len(body), keep_alive, []))
            for at in range(len(body)):
                await stream.send_all(body[at : at + 1])
            record.status, record.bytes = status, len(body)
            return keep_alive
        if fault == "drip":
            await stream.send_all(head_bytes(status, len(body), keep_alive, []))
            pieces = 20
            step = max(1, -(-len(body) // pieces))
            for at in range(0, len(body), step):
                await stream.send_all(body[at : at + step])
                record.bytes = at + step
                await trio.sleep(self.faults.drip_seconds / pieces)
            record.status, record.bytes = status, len(body)
            return keep_alive
        return await _respond(stream, record, status, body, keep_alive)

    async def _sleep_until(self, moment: float) -> None:
        """Sleep until about `moment`: aim early by the measured lateness, so on time on average."""
        aim = moment - self._lateness
        measurable = aim - trio.current_time() > 0.002  # a wait long enough to involve a timer
        await trio.sleep_until(aim)
        if measurable:
            late = min(_MAX_LATENESS, max(0.0, trio.current_time() - aim))
            self._lateness += (late - self._lateness) * _LATENESS_WEIGHT

    async def _send_hostile(
        self, stream: trio.SocketStream, head: Head, fault: str, record: RequestRecord,
        keep_alive: bool,
    ) -> bool:  # fmt: skip
        """Answers no real site should give, each aimed at a client weakness."""
        if fault == "huge":
            return await _respond(stream, record, 200, b"<html>" + b"x" * 50_000_000, keep_alive)
        if fault == "gzip-bomb":
            return await _respond(
                stream, record, 200, _gzip_bomb(), keep_alive, [("Content-Encoding", "gzip")]
            )
        if fault == "invalid-utf8":
            body = b"<html><body>\xff\xfe\xfa" + bytes(range(128, 256)) * 50 + b"</body></html>"
            return await _respond(stream, record, 200, body, keep_alive)
        if fault == "deep-json":
            deep = "0:" + "[" * 100_000 + "]" * 100_000 + "\n"
            body = (
                "<html><body><script>self.__next_f.push("
                + json.dumps([1, deep])
                + ')</script><div hidden id="S:0"></div></body></html>'
            ).encode()
            return await _respond(stream, record, 200, body, keep_alive)
        if fault == "redirect-away":
            return await _respond(
                stream, record, 302, b"", keep_alive, [("Location", "http://example.invalid/x")]
            )
        if fault == "redirect-loop":
            return await _respond(stream, record, 301, b"", keep_alive, [("Location", head.target)])
        assert fault == "image"
        return await _respond(
            stream, record, 200, b"\x89PNG\r\n\x1a\n" + b"\0" * 2048, keep_alive,
            content_type="image/png",
        )  # fmt: skip

    def _route(self, head: Head, fault: str) -> tuple[int, str]:
        """The page for a path: (status, html)."""
        dataset = self.dataset
        parts = [part for part in head.path.split("/") if part]
        query = head.query
        if parts == ["trades"]:
            size = self.faults.listing_page_size or page_size(query)
            page = query_int(query, "page", 1)
            # "empty-table": what the real site serves for a filter it does not understand.
            return 200, trades_page(dataset, page, size, empty=fault == "empty-table")
        if parts == ["politicians"]:
            committee = query.get("committee", [None])[0]
            page = query_int(query, "page", 1)
            size = self.faults.politician_page_size
            return 200, politicians_page(dataset, committee, page, size)
        if parts == ["issuers"]:
            return 200, issuers_page(dataset, query_int(query, "page", 1), page_size(query))
        if len(parts) == 2 and parts[0] in ("trades", "issuers") and parts[1].isdigit():
            item_id = int(parts[1])
            special = fault if fault in ("not_found", "error_digest") else None
            special = special or self.faults.id_fault(self.seed, item_id)
            if special == "error_digest":
                return 200, error_digest_page(self.seed, head.path)
            if parts[0] == "trades":
                trade = dataset.trade(item_id)
                if trade is not None and special is None:
                    return 200, trade_detail_page(dataset, trade, self.faults.detail_shape)
            else:
                issuer = dataset.issuer(item_id)
                if issuer is not None and special is None:
                    return 200, issuer_detail_page(dataset, issuer)
            return 200, not_found_page(self.seed, head.path)  # the site answers 200 here
        if parts == ["_sim", "publish"]:
            count = query_int(query, "count", 1)
            new = dataset.publish(count)
            return 200, json.dumps([trade.listing.tx_id for trade in new])
        if parts == ["_sim", "reprice"]:
            return 200, json.dumps({"repriced": dataset.reprice()})
        if parts == ["_sim", "inject"]:
            name = query.get("fault", [""])[0]
            if name not in FAULT_NAMES:
                return 400, json.dumps({"error": f"unknown fault {name!r}"})
            self.inject(name, query_int(query, "count", 1))
            return 200, json.dumps({"injected": name})
        if parts == ["_sim", "truth"]:
            return 200, dataset.to_json()
        if parts == ["_sim", "log"]:
            return 200, self.log.json_lines()
        if parts == ["_sim", "stats"]:
            return 200, json.dumps(
                {
                    "requests": len(self.log),
                    "robots_requests": len(self.robots_log),
                    "max_in_flight": self.log.max_in_flight,
                    "cpu_seconds": time.process_time(),
                    "timer_lateness_ms": round(self._lateness * 1000, 3),
                }
            )
        return 404, not_found_page(self.seed, head.path)


def _gzip_bomb() -> bytes:
    """64 MB of zeros, compressed to about 64 KB (made once)."""
    global _BOMB
    if _BOMB is None:
        _BOMB = gzip.compress(b"\0" * 64_000_000, compresslevel=9)
    return _BOMB


_BOMB: bytes | None = None


async def _respond(
    stream: trio.SocketStream,
    record: RequestRecord,
    status: int,
    body: bytes,
    keep_alive: bool,
    extra: list[tuple[str, str]] | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> bool:
    """Send a whole answer and note it in the request's record; whether to keep the line."""
    await send_response(stream, status, body, keep_alive, extra or [], content_type)
    record.status, record.bytes = status, len(body)
    return keep_alive


@asynccontextmanager
async def open_simulator(
    dataset: Dataset | None = None,
    faults: Faults | None = None,
    *,
    seed: int = 1,
    trades: int = 5_000,
    port: int = 0,
) -> AsyncIterator[Simulator]:
    """Serve a simulated site on 127.0.0.1 for the duration of the block."""
    simulator = Simulator(dataset or make_dataset(seed, trades), faults, seed=seed)
    async with trio.open_nursery() as nursery:
        await nursery.start(simulator.serve, port)
        try:
            yield simulator
        finally:
            nursery.cancel_scope.cancel()
