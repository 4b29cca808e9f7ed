"""The HTTP client a run asked for (`--client`): httpx, or curl_cffi as a browser.

Both adapters offer the same `PageSource`; nothing above this module knows which one runs.
The browser adapter is imported only when asked for: curl_cffi is an optional extra.
"""

from __future__ import annotations

from .answers import ClientName, PageSource, StatusKind
from .httpx_client import PageClient

__all__ = ["open_client"]


def open_client(
    name: ClientName,
    base_url: str,
    *,
    concurrency: int,
    deadline: float,
    status_kind: StatusKind | None = None,
) -> PageSource:
    """A client of `name` for `base_url`; UsageError for `browser` without its extra."""
    if name == "browser":
        from .browser import BrowserClient

        return BrowserClient(
            base_url, concurrency=concurrency, deadline=deadline, status_kind=status_kind
        )
    return PageClient(base_url, concurrency=concurrency, deadline=deadline, status_kind=status_kind)
