"""What a command is asked to do, as plain values: the CLI builds them from its flags.

The commands (``execute``) take these, never the CLI's option classes, so the command line
stays a thin layer on top and a program can run a command without it. The parsers of the
flags' text forms (a rate, a duration, a date) live here too: they know nothing of cyclopts.
Nothing heavy is imported, so `trio-enrich --help` stays quick.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import UsageError
from .._model import ProgressMode

if TYPE_CHECKING:
    from ..alerts.deliver import AlertSettings
    from ..runs.options import EnrichOptions
    from ..runs.sync import SyncOptions

__all__ = [
    "RateSpec",
    "RunSettings",
    "parse_duration",
    "parse_max_rps",
    "parse_refresh",
    "parse_since",
]


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How a command runs, besides its pacing (which is in `options`)."""

    db: Path
    options: EnrichOptions
    progress: ProgressMode = "auto"
    json: bool = False  # the summary as one JSON object
    wait: bool = False  # wait for another run on the database instead of stopping
    ignore_robots_disallow: bool = False
    dry_run: bool = False
    full: bool = False  # `update`: walk every listing page
    sync: SyncOptions | None = None  # `sync`: how to walk the listing
    alerts: AlertSettings | None = None  # `update`: the feed and the notifications

    @property
    def walk(self) -> SyncOptions:
        """How `sync` (or `update`'s sync) walks the listing."""
        from ..runs.sync import SyncOptions

        return self.sync or SyncOptions(full=self.full)


@dataclass(frozen=True, slots=True)
class RateSpec:
    """What --max-rps asked for: a fixed cap, or auto (with an optional ceiling)."""

    auto: bool = False
    value: float | None = None  # the fixed cap, or auto's ceiling


#: The highest --max-rps: more than any site answers one client; a larger number is a typo.
MAX_RPS = 10_000


def parse_max_rps(text: str | None) -> RateSpec:
    """`20`, `0.5`, `auto` or `auto:30`; a UsageError otherwise."""
    if text is None:
        return RateSpec()
    value = text.strip().lower()
    if value == "auto":
        return RateSpec(auto=True)
    auto = value.startswith("auto:")
    number = value[5:] if auto else value
    try:
        rate = float(number)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or not 0 < rate <= MAX_RPS:
        raise UsageError(
            f"--max-rps {text!r} is not a rate: give requests per second above 0 and up to "
            f"{MAX_RPS} (20, 0.5), auto or auto:N (auto, never above N)"
        )
    return RateSpec(auto=auto, value=rate)


_DURATION = re.compile(r"^(\d+)([smhd])$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LONGEST_DURATION = 36_500 * 86400  # a hundred years: longer cannot be told from never


def parse_duration(text: str, flag: str) -> float:
    """Seconds of a duration such as `0s`, `30m`, `12h`, `7d`; a UsageError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(
            f"{flag} {text!r} is not a duration from 0s to 36500d, such as 30m, 12h or 7d"
        )
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds > _LONGEST_DURATION:
        raise UsageError(f"{flag} {text!r} is longer than 36500d; say never to turn it off")
    return seconds


def parse_refresh(text: str) -> float | None:
    """--refresh-older-than: a duration, or `never` (None: enriched issuers are not fetched)."""
    if text.strip() == "never":
        return None
    return parse_duration(text, "--refresh-older-than")


def parse_since(text: str | None, *, full: bool) -> str | None:
    """--since: a date written YYYY-MM-DD (None: back to the last synced trade)."""
    if text is None:
        return None
    try:
        since = datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        since = ""
    if len(text) != 10 or not since:
        raise UsageError(f"--since {text!r} is not a date in the form YYYY-MM-DD")
    if full:
        raise UsageError("--full and --since exclude each other: --full reads every page")
    return since
