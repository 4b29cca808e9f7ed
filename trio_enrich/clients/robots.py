"""robots.txt (RFC 9309), read once per run and parsed by protego (the parser Scrapy uses).

The only module that imports protego. What the file says becomes a :class:`Robots`: whether
the pages a command needs are allowed (and, if not, which rule says so), and the rate its
``Crawl-delay`` or ``Request-rate`` allows, which caps every mode, `auto` included.

How the file's absence is read, as RFC 9309 (section 2.3.1) says:

* 2xx: its rules (the group for our product token ``trio-enrich``, else ``*``);
* 4xx ("unavailable"): no rules, everything is allowed;
* 5xx or no answer ("unreachable"): everything is disallowed; the run is retried a few times
  and then stopped (:class:`SiteUnavailable`, exit 3) rather than treat the site as open;
* redirects are followed on the same host, up to five; more, or one to another host, count as
  unavailable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import trio

from .._defaults import ROBOTS_RETRY_WAIT, UNREACHABLE_GRACE, real_wait
from .._errors import FetchError, SiteUnavailable
from .._model import FailureKind
from .answers import ClientName, PageSource
from .factory import open_client

if TYPE_CHECKING:
    from protego import Protego

__all__ = ["PRODUCT_TOKEN", "Robots", "read_robots"]

#: The name robots.txt groups are matched against (RFC 9309's product token).
PRODUCT_TOKEN = "trio-enrich"
MAX_BYTES = 500 * 1024  # RFC 9309: at least 500 KiB must be parsed; we read no more
TRIES = 3  # an unreachable robots.txt is tried this often before the run stops


@dataclass(frozen=True, slots=True)
class Robots:
    """What robots.txt says to trio-enrich."""

    base_url: str
    status: int | None  # the HTTP status it was answered with (None: not read, ignored)
    text: str = ""
    note: str = ""  # how it was read, in words
    body: bytes = b""  # the answer as received (for the page archive)

    def _parser(self) -> Protego | None:
        if not self.text:
            return None
        from protego import Protego  # only when there are rules to read

        return Protego.parse(self.text)

    def blocked(self, paths: Iterable[str]) -> tuple[str, str] | None:
        """The first of `paths` a rule disallows, and that rule in words (None: all allowed)."""
        parser = self._parser()
        if parser is None:
            return None
        for path in paths:
            if not parser.can_fetch(self.base_url + path, PRODUCT_TOKEN):
                return path, self._rule_for(path)
        return None

    def _rule_for(self, path: str) -> str:
        """The `Disallow` line of our group that forbids `path` (protego does not name it:
        each line is tried on its own, with the group's `Allow` lines)."""
        rules = _our_group(self.text)
        allows = [f"Allow: {value}" for _, field, value in rules if field == "allow"]
        for number, field, value in rules:
            if field != "disallow" or not value:
                continue
            alone = _parse("\n".join(["User-agent: *", *allows, f"Disallow: {value}"]))
            if not alone.can_fetch(self.base_url + path, PRODUCT_TOKEN):
                return f"line {number}: Disallow: {value}"
        return "its rules"

    @property
    def rate_cap(self) -> float | None:
        """Requests per second its Crawl-delay or Request-rate allows (the stricter)."""
        parser = self._parser()
        if parser is None:
            return None
        caps: list[float] = []
        delay = parser.crawl_delay(PRODUCT_TOKEN)
        if delay is not None and delay > 0:
            caps.append(1.0 / delay)
        rate = parser.request_rate(PRODUCT_TOKEN)
        if rate is not None and rate.requests > 0 and rate.seconds > 0:
            caps.append(rate.requests / rate.seconds)
        return min(caps) if caps else None

    def describe(self) -> str:
        """One line for people: what was read and what it means for this tool."""
        if self.status is None:
            return f"robots.txt: {self.note}"
        cap = self.rate_cap
        rate = f"; it allows at most {cap:.3g} requests/s" if cap is not None else ""
        return f"robots.txt: {self.note}{rate}"


def _parse(text: str) -> Protego:
    from protego import Protego

    return Protego.parse(text)


def _our_group(text: str) -> list[tuple[int, str, str]]:
    """The (line number, field, value) rules of the group that applies to us: the one naming
    our product token, else the `*` one (RFC 9309, 2.2.1)."""
    groups: list[tuple[set[str], list[tuple[int, str, str]]]] = []
    in_agents = False
    for number, line in enumerate(text.splitlines(), start=1):
        field, _, value = line.partition("#")[0].partition(":")
        field, value = field.strip().lower(), value.strip()
        if field == "user-agent":
            if not in_agents:
                groups.append((set(), []))
            groups[-1][0].add(value.lower())
            in_agents = True
        elif field in ("allow", "disallow") and groups:
            groups[-1][1].append((number, field, value))
            in_agents = False
    ours = [rules for agents, rules in groups if PRODUCT_TOKEN in agents]
    star = [rules for agents, rules in groups if "*" in agents]
    chosen = ours or star
    return [rule for rules in chosen for rule in rules]


async def read_robots(
    base_url: str,
    *,
    deadline: float = 30.0,
    retry_wait: float | None = None,
    tries: int | None = None,
    client: ClientName = "httpx",
    keep: Callable[[str, int, bytes], object] | None = None,
) -> Robots:
    """Fetch and read `base_url`/robots.txt; SiteUnavailable when it is unreachable. Each
    answer read is given to `keep` (a run's page archive) as (path, status, body)."""
    tries = TRIES if tries is None else tries
    host = urlsplit(base_url).netloc
    failure = ""
    unreachable_since: float | None = None
    async with open_client(client, base_url, concurrency=1, deadline=deadline) as source:
        attempt = 0
        while attempt < tries:
            try:
                status, body = await _follow(source, host)
            except FetchError as error:
                if error.kind is FailureKind.UNREACHABLE:
                    # Nothing answers at all: a wrong address, or the site is down. Give it
                    # the grace a run gives (a restarting server), then say so.
                    now = trio.current_time()
                    unreachable_since = unreachable_since or now
                    if now - unreachable_since < real_wait(UNREACHABLE_GRACE):
                        await trio.sleep(real_wait(UNREACHABLE_GRACE) / 4)
                        continue
                    raise SiteUnavailable(
                        f"cannot reach {host}: {error}. Check --base-url and the network"
                    ) from None
                failure = str(error)
            else:
                if keep is not None:
                    keep("/robots.txt", status, body)
                if status < 500:
                    return _robots_from(base_url, status, body)
                failure = f"GET /robots.txt: HTTP {status}"
            attempt += 1
            if attempt < tries:
                wait = real_wait(ROBOTS_RETRY_WAIT) if retry_wait is None else retry_wait
                await trio.sleep(wait * 2 ** (attempt - 1))
    raise SiteUnavailable(
        f"robots.txt cannot be read ({failure}; {tries} tries): RFC 9309 says to treat the "
        "whole site as disallowed then; try again later"
    )


async def _follow(client: PageSource, host: str) -> tuple[int, bytes]:
    path = "/robots.txt"
    for _ in range(6):
        status, body, location = await client.get_any(path, MAX_BYTES)
        if not 300 <= status < 400:
            return status, body
        target = urlsplit(location or "")
        if target.netloc and target.netloc != host:
            return 404, b""  # off the host: unavailable (no rules), as the RFC allows
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    return 404, b""  # more than five redirects: unavailable


def _robots_from(base_url: str, status: int, body: bytes) -> Robots:
    if 200 <= status < 300:
        text = body[:MAX_BYTES].decode("utf-8", "replace")
        return Robots(base_url, status, text, "read (HTTP 200)", body)
    note = f"none (HTTP {status}): no rules, everything allowed"
    return Robots(base_url, status, "", note, body)
