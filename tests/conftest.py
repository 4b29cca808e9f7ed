"""Shared test helpers: where the captured and synthetic pages live."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator

import pytest

from trio_enrich._defaults import set_testing


@pytest.fixture(autouse=True)
def _never_the_real_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run without --base-url goes to a closed local port, never to the real site
    (a dry run reads robots.txt, for one)."""
    monkeypatch.setenv("CAPITOLTRADES_BASE_URL", "http://127.0.0.1:9")


@pytest.fixture(autouse=True)
def _short_real_waits() -> Iterator[None]:
    """The real-clock waits no answer cuts short (an unreachable site's grace, robots.txt's
    retries, a locked database's busy timeout) at a twentieth, in this process: a test about
    one of them restores it (`set_testing(False)`). A command in a subprocess waits in full."""
    set_testing()
    yield
    set_testing(False)


@pytest.fixture(autouse=True, scope="session")
def _the_client_asked_for() -> Iterator[None]:
    """With TRIO_ENRICH_CLIENT=browser (`nox -s browser`) every command fetches through
    curl_cffi: count its requests in this process, so the session cannot pass on httpx."""
    if os.environ.get("TRIO_ENRICH_CLIENT") != "browser":
        yield
        return
    from trio_enrich.clients.browser import BrowserClient

    originals = {name: getattr(BrowserClient, name) for name in ("get", "get_any")}
    used = 0

    def counting(name: str) -> Callable[..., Awaitable[object]]:
        original = originals[name]

        async def counted(self: BrowserClient, *args: object) -> object:
            nonlocal used
            used += 1
            return await original(self, *args)

        return counted

    for name in originals:  # (the public methods every page goes through)
        setattr(BrowserClient, name, counting(name))
    yield
    for name, original in originals.items():
        setattr(BrowserClient, name, original)
    assert used > 0, "TRIO_ENRICH_CLIENT=browser, but no request went through curl_cffi"
