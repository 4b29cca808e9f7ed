"""The runs' own bookkeeping, in ``trio_enrich_meta``: who holds the run lock, the rates
`--max-rps auto` learned per host, an unfinished full walk of the listing and when listing
pages were last read. Functions over a connection, called by the :class:`~.store.Store`
(which owns the connection and its transactions); none of it is the site's data."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime

from .._model import LearnedRate, RunHolder
from .schema import table_exists
from .writes import set_our_meta

__all__ = [
    "READ_KEY", "WALK_KEY", "clear_holder", "learned_rate", "our_meta", "read_holder",
    "record_holder", "remember_rate", "utc_now",
]  # fmt: skip

# trio_enrich_meta key of an unfinished full walk of the listing (JSON, see site.walk.Walk).
WALK_KEY = "sync_walk"
# trio_enrich_meta key of the run holding the run lock (JSON: pid, command, since).
_RUN_KEY = "run"
# trio_enrich_meta key of the rates `--max-rps auto` learned (JSON: host -> rate, when).
_RATE_KEY = "learned_rate"
READ_KEY = "listing_read_at"  # when a sync that did not reach its end last read pages


def utc_now() -> str:
    """The current UTC time as ISO-8601 with a Z, the form ``enriched_at`` takes."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def our_meta(db: sqlite3.Connection, key: str) -> str | None:
    """A value of our own meta table (None when absent, or before our tables exist)."""
    if not table_exists(db, "trio_enrich_meta"):
        return None
    row = db.execute("SELECT value FROM trio_enrich_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def learned_rate(db: sqlite3.Connection, host: str) -> LearnedRate | None:
    """The request rate an earlier `--max-rps auto` run learned for `host` (None: none, or
    not readable as one)."""
    found = _learned_rates(db).get(host)
    if not isinstance(found, dict):
        return None
    rate, limited, at = found.get("rate"), found.get("limited"), found.get("learned_at")
    if not isinstance(rate, int | float) or not isinstance(at, str) or rate <= 0:
        return None
    return LearnedRate(rate=float(rate), limited=bool(limited), learned_at=at)


def remember_rate(db: sqlite3.Connection, host: str, rate: float, *, limited: bool) -> None:
    """Keep the rate a `--max-rps auto` run settled at, for the next run at `host` (in the
    caller's transaction)."""
    learned = _learned_rates(db)
    learned[host] = {"rate": round(rate, 3), "limited": limited, "learned_at": utc_now()}
    set_our_meta(db, _RATE_KEY, json.dumps(learned, sort_keys=True))


def _learned_rates(db: sqlite3.Connection) -> dict[str, object]:
    """Host -> what `--max-rps auto` learned there ({} when nothing, or unreadable)."""
    text = our_meta(db, _RATE_KEY)
    try:
        learned = json.loads(text) if text else {}
    except ValueError:
        return {}
    return learned if isinstance(learned, dict) else {}


def read_holder(db: sqlite3.Connection) -> RunHolder | None:
    """Who holds (or last held) the run lock (see ``lock``); None when not recorded."""
    text = our_meta(db, _RUN_KEY)
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    pid, command, since = value.get("pid"), value.get("command"), value.get("since")
    if not isinstance(pid, int) or not isinstance(command, str) or not isinstance(since, str):
        return None
    return RunHolder(pid=pid, command=command, since=since)


def record_holder(db: sqlite3.Connection, command: str) -> None:
    """Note this process as the holder of the run lock (in the caller's transaction)."""
    holder = {"pid": os.getpid(), "command": command, "since": utc_now()}
    set_our_meta(db, _RUN_KEY, json.dumps(holder))


def clear_holder(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM trio_enrich_meta WHERE key = ?", (_RUN_KEY,))
