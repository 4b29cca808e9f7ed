"""What the copy remembers over time: the runs' ledger (each run that held the run lock), when
each trade was first stored and by which run, and each committee membership's first and last
sighting on a roster. Functions over a connection, called by the :class:`~.store.Store` in its
transactions; a copy whose tables predate them (opened as it is) is left without."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

from .._model import PoliticianCard
from .bookkeeping import utc_now
from .schema import table_exists

__all__ = ["begin_run", "end_run", "note_first_seen", "note_memberships"]


def begin_run(db: sqlite3.Connection, command: str) -> int | None:
    """A new row of the runs' ledger (None: a copy whose tables predate it)."""
    if not table_exists(db, "trio_enrich_runs"):
        return None
    cursor = db.execute(
        "INSERT INTO trio_enrich_runs (command, pid, started_at) VALUES (?, ?, ?)",
        (command, os.getpid(), utc_now()),
    )
    return cursor.lastrowid


def end_run(
    db: sqlite3.Connection,
    run_id: int,
    *,
    exit_code: int | None,
    error: str | None,
    counts: object | None,
) -> None:
    """Close a run's row: its end, how it ended, and how many trades it stored first."""
    db.execute(
        """UPDATE trio_enrich_runs SET ended_at = ?, exit_code = ?, error = ?, counts = ?,
               new_trades = (SELECT COUNT(*) FROM trio_enrich_first_seen WHERE run_id = ?)
           WHERE run_id = ?""",
        (utc_now(), exit_code, error, None if counts is None else json.dumps(counts), run_id,
         run_id),
    )  # fmt: skip


def note_first_seen(
    db: sqlite3.Connection, tx_ids: Iterable[int], now: str, run_id: int | None
) -> None:
    """`tx_ids` were stored for the first time, now, by run `run_id`."""
    if table_exists(db, "trio_enrich_first_seen"):
        db.executemany(
            "INSERT OR IGNORE INTO trio_enrich_first_seen (tx_id, first_seen_at, run_id) "
            "VALUES (?, ?, ?)",
            [(tx_id, now, run_id) for tx_id in tx_ids],
        )


def note_memberships(
    db: sqlite3.Connection, rosters: Mapping[str, Sequence[PoliticianCard]], seen: str
) -> None:
    """Each membership of `rosters` seen on a roster at `seen` (a roster read again from the
    archive may be older than one already noted: the first and last sightings stay the
    earliest and the latest)."""
    if not table_exists(db, "trio_enrich_memberships"):
        return
    db.executemany(
        """INSERT INTO trio_enrich_memberships
               (politician_id, committee, first_seen_at, last_seen_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT(politician_id, committee) DO UPDATE SET
               first_seen_at = MIN(first_seen_at, excluded.first_seen_at),
               last_seen_at = MAX(last_seen_at, excluded.last_seen_at)""",
        [(card.politician_id, code, seen, seen) for code, cards in rosters.items()
         for card in cards],
    )  # fmt: skip
