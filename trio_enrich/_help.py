"""The help text of the command line's flags (plain strings; ``cli`` declares the flags), and
the words for arguments no command takes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BROWSER_INSTALL", "FLAG_HELP", "shown_arguments", "unused_tokens_message"]

#: How to add the browser client's library to the environment trio-enrich runs in, as a
#: command that works when copied (the package is installed from its clone, not from PyPI).
BROWSER_INSTALL = f"{sys.executable} -m pip install 'curl-cffi>=0.17'"

FLAG_HELP = {
    "db": "SQLite database to enrich (made by `sync`, or an existing capitoltraders.db).",
    "base_url": "The site to fetch pages from.",
    "check_db": (
        "A database to take a trade and an issuer from (pending ones first); without one, "
        "they are taken from listing page 1. Only read."
    ),
    "client": (
        "httpx, or browser: fetch as Chrome does (its TLS handshake and headers, through "
        "curl_cffi, the `browser` extra), for a site whose CDN refuses other "
        "clients. `trio-enrich check` tells whether you need it."
    ),
    "concurrency": "Requests in flight at once (1 to 10).",
    "max_failures": (
        "Stop (exit 3) after this many consecutive failures that mean the site is unusable "
        "(errors, timeouts, blocks, rate limits that outlast the retries)."
    ),
    "batch_size": "The most items to fetch in this run (default: every pending one).",
    "delay": (
        "Each worker's pause before each request, in milliseconds (default 500; 0 with "
        "--max-rps auto, whose rate does the pacing)."
    ),
    "max_rps": (
        "A number: never more than this many requests in any 1 s window (all workers "
        "together). auto: find the rate the site allows from its answers (429s, 5xx bursts, "
        "latency) and stay just under it, starting from the rate a run learned before; "
        "auto:N never goes above N. A limit the site states in its answers' RateLimit or "
        "X-RateLimit headers caps every mode."
    ),
    "no_archive": (
        "Do not keep the pages received. By default every answer is kept, compressed, in a "
        "file beside the database (capitoltraders.pages.db for capitoltraders.db), so that "
        "`reparse` can read them again after an upgrade without a request, and `page` can "
        "show the page a stored value came from."
    ),
    "ignore_robots": (
        "Run even if robots.txt disallows the pages this command needs (its Crawl-delay and "
        "Request-rate still cap the rate). Only if you have decided that is right."
    ),
    "retry_max": (
        "Retries of a retryable failure: 429, 403, 408, 5xx, timeouts, connection errors, "
        "truncated pages."
    ),
    "base": "First backoff ceiling in milliseconds; it doubles each retry (full jitter).",
    "cap": "Largest backoff ceiling in milliseconds.",
    "timeout": "Seconds allowed for a whole request, body included.",
    "guard": (
        "Stop (exit 3) after this many 'not found' answers in a row: the site's addresses "
        "have probably changed, so none of them is recorded."
    ),
    "dry_run": "Count what would be fetched; send nothing and change nothing.",
    "feed": (
        "Once the data is committed, write an Atom feed of the newest trades to PATH (whole "
        "or not at all: a reader never sees half a file)."
    ),
    "feed_size": "How many trades the feed holds (those stored last).",
    "notify": (
        "Once the data is committed, send the new trades the watch rules want to this Apprise "
        "URL (json://, mailto://, ntfy://, tgram://, slack://, discord://, ...): one digest, "
        "each trade named by its page on the site, each delivered once; what fails is kept "
        "for the next run (exit 1). Repeatable. Its tokens are never printed or stored."
    ),
    "notify_file": (
        "Notification URLs, one a line (# comments): keeps their tokens out of the command "
        "line and the crontab."
    ),
    "watch": (
        "Which new trades to send: conditions joined by commas, all of which a trade meets "
        "(party:democrat,min-value:250000); a trade is sent when any rule wants it. Kinds: "
        "politician:ID, ticker:NVDA, issuer:ID, committee:CODE, party:NAME, min-value:USD, "
        "late. None: every new trade. Repeatable."
    ),
    "watch_file": "Watch rules, one a line (# comments).",
    "notify_history": (
        "Send the trades of a run that filled an empty copy too (by default they are "
        "history, not news, and are not sent)."
    ),
    "retry_failed": "Also fetch items that earlier runs recorded as not found.",
    "progress": "auto: a bar on a terminal, log lines elsewhere; bar; log; none.",
    "json": "Print the final summary as one JSON object on stdout.",
    "refresh": (
        "Also fetch again the issuers enriched longer ago than this (0s, 30m, 12h, 7d; "
        "never: none), less a sixth of it so that a daily run refreshes what the previous "
        "night fetched: their performance is replaced and the new end-of-day prices are added "
        "to the ones kept."
    ),
    "wait": (
        "If another trio-enrich run is using the database, wait for it to finish instead of "
        "stopping at once (exit 2)."
    ),
    "update_refresh": (
        "Fetch again the issuers enriched longer ago than this (0s, 30m, 12h, 7d; never: "
        "only new ones), less a sixth of it (1d: older than 20h, so a nightly run refreshes "
        "what the previous night fetched): their performance and prices change every "
        "trading day."
    ),
    "sync_db": "SQLite database to fill (created if missing; an existing capitoltraders.db works).",
    "full": "Walk every listing page (concurrently) instead of stopping at the last sync.",
    "since": "Read back to this date (YYYY-MM-DD) instead of the last synced one.",
    "pages": "The most listing pages to fetch.",
    "page_size": "Trades per listing page (the site's default is 12).",
    "status_db": "SQLite database to report on.",
    "archive_db": "The database whose page archive (x.pages.db beside x.db) is used.",
    "reparse_dry_run": "Count what reparse would change; write nothing.",
    "page_version": "The version whose content has this sha256 (or a prefix of it), as "
    "trio_enrich_sources records it; default: the newest.",
    "page_rows": "Print the page's flight rows (the data React streams), one per line.",
    "prune_keep": "Versions of each page to keep, newest first.",
    "demo_db": "A new database file to fill (default: one in a temporary folder).",
    "demo_trades": "Number of trades on the simulated site.",
}


def unused_tokens_message(tokens: list[str], fallback: str) -> str:
    """No command takes a positional argument; a path there was meant for --db (a URL there,
    a notification URL without its flag, is named by its scheme only)."""
    tokens = [_scheme_only(token) if "://" in token else token for token in tokens]
    for token in tokens:
        if not token.startswith("-") and (
            "/" in token or token.endswith((".db", ".sqlite", ".sqlite3")) or Path(token).exists()
        ):
            if "://" in token:
                return f"unexpected argument {token!r} (a notification URL: --notify URL)"
            return f"unexpected argument {token!r}: to name the database, use --db {token}"
    if tokens:
        return f"unexpected argument(s) {' '.join(tokens)} (see --help)"
    return fallback


def shown_arguments(arguments: Sequence[str]) -> list[str]:
    """A command's arguments as they may be shown or kept (the lock's holder, the runs'
    ledger, a log's first line): a notification URL (its tokens are secrets) by its scheme
    only."""
    shown, hide = [], False
    for argument in arguments:
        if hide:
            shown.append(_scheme_only(argument))
        elif argument.startswith("--notify="):
            shown.append("--notify=" + _scheme_only(argument.removeprefix("--notify=")))
        else:
            shown.append(argument)
        hide = argument == "--notify"
    return shown


def _scheme_only(url: str) -> str:
    return (url.partition("://")[0][:20] if "://" in url else "?") + "://…"
