"""`update`'s feed and notification flags, checked before anything is opened: the URLs (each
one Apprise can send to, or a one-line error naming it by its scheme only), the watch rules,
the feed's folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .._errors import UsageError
from ..alerts.deliver import AlertSettings
from ..read.watch import parse_rules, read_rules_file

__all__ = ["alert_settings", "notify_urls"]


def notify_urls(given: Sequence[str], path: Path | None) -> list[str]:
    """The URLs of --notify and of --notify-file (one a line; blank lines and # comments
    skipped), in order, each once."""
    urls = [url.strip() for url in given if url.strip()]
    if path is not None:
        for line in read_rules_file(path, what="notify file"):
            if line.strip() and not line.strip().startswith("#"):
                urls.append(line.strip())
    return list(dict.fromkeys(urls))


def alert_settings(
    *,
    feed: Path | None = None,
    feed_size: int = 100,
    notify: Sequence[str] = (),
    notify_file: Path | None = None,
    watch: Sequence[str] = (),
    watch_file: Path | None = None,
    history: bool = False,
) -> AlertSettings | None:
    """The alerts `update` is asked for, as its flags give them (None: none); for a program,
    ``trio_enrich.update(db, options, alerts=Alerts(alert_settings(notify=[url])))``."""
    urls = notify_urls(notify, notify_file)
    texts = [*watch, *(read_rules_file(watch_file) if watch_file is not None else [])]
    rules = parse_rules(texts)
    if (rules or history) and not urls:
        raise UsageError("--watch and --notify-history choose what --notify sends: give a "
                         "--notify URL (or --notify-file)")  # fmt: skip
    if feed is not None and not feed.absolute().parent.is_dir():
        raise UsageError(f"cannot write the feed {feed}: folder {feed.parent} does not exist")
    if not urls:
        return AlertSettings(feed=feed, feed_size=feed_size) if feed is not None else None
    from ..alerts import apprise_sender

    if not apprise_sender.available():
        raise UsageError("--notify needs Apprise: pip install 'trio-enrich[alerts]' (in the "
                         "environment trio-enrich runs in)")  # fmt: skip
    destinations = tuple(apprise_sender.destination(url) for url in urls)
    return AlertSettings(destinations, rules, history, feed, feed_size)
