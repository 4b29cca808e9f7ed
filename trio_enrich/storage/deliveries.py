"""The alerts' ledger: destinations, the runs each took part in, and each new trade's delivery
to each destination. Functions over a connection, called by the :class:`~.store.Store` in its
transactions.

A destination takes part in a run (`join`, at the run's start, so that a run killed before it
queued its news leaves them to the next); its news is queued once per run (`queue`: the
trades that run first stored and the rules want, save the run that filled an empty copy:
history, not news); a digest's trades are marked in flight before it is sent (`claim`) and
sent or pending again after (`delivered`, `failed`). A trade in flight when the process dies
is claimed again by the next run: sent at least once, twice at most for that digest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from .schema import table_exists

__all__ = [
    "FILLED_AN_EMPTY_COPY",
    "NEWS_COLUMNS",
    "DestinationState",
    "Queued",
    "claim",
    "delivered",
    "destinations",
    "digest_rows",
    "failed",
    "join",
    "newest_rows",
    "queue",
]


@dataclass(frozen=True, slots=True)
class DestinationState:
    """Where a destination stands, for `status` and a run's summary."""

    destination_id: int
    label: str
    fingerprint: str
    pending: int  # queued, not yet delivered (in flight included)
    sent: int
    last_sent_at: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, object]:
        return {"destination": self.label, "fingerprint": self.fingerprint[:12],
                "pending": self.pending, "sent": self.sent, "last_sent_at": self.last_sent_at,
                "last_error": self.last_error}  # fmt: skip


def join(db: sqlite3.Connection, fingerprint: str, label: str, run_id: int, now: str) -> int:
    """The destination's id (made the first time it is named), taking part in run `run_id`."""
    db.execute(
        "INSERT INTO trio_enrich_destinations (fingerprint, label, first_used_at) VALUES "
        "(?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET label = excluded.label",
        (fingerprint, label, now),
    )
    (destination_id,) = db.execute(
        "SELECT destination_id FROM trio_enrich_destinations WHERE fingerprint = ?", (fingerprint,)
    ).fetchone()
    db.execute(
        "INSERT OR IGNORE INTO trio_enrich_destination_runs (destination_id, run_id) VALUES (?, ?)",
        (destination_id, run_id),
    )
    return int(destination_id)


# A run filled an empty copy when no trade was stored before it: none first seen by an
# earlier run (or by none), and none without a first sighting (stored before the ledger).
FILLED_AN_EMPTY_COPY = """
    NOT EXISTS (SELECT 1 FROM trio_enrich_first_seen WHERE run_id IS NULL OR run_id < :run)
    AND NOT EXISTS (SELECT 1 FROM trades t WHERE NOT EXISTS
        (SELECT 1 FROM trio_enrich_first_seen f WHERE f.tx_id = t.tx_id))
"""


@dataclass(frozen=True, slots=True)
class Queued:
    trades: int  # queued now
    history: tuple[int, ...]  # runs that filled an empty copy: not queued


def queue(
    db: sqlite3.Connection,
    destination_id: int,
    wanted: str,
    parameters: Sequence[object],
    now: str,
    history: bool,
) -> Queued:
    """Queue, for the destination, the trades first stored by each run it took part in and
    has not queued yet that the condition `wanted` (over the flat trade view) chooses; a run
    that filled an empty copy is skipped unless `history`."""
    runs = [int(row[0]) for row in db.execute(
        "SELECT run_id FROM trio_enrich_destination_runs WHERE destination_id = ? AND queued = 0"
        " ORDER BY run_id", (destination_id,))]  # fmt: skip
    queued, skipped = 0, []
    for run_id in runs:
        filled = db.execute(f"SELECT {FILLED_AN_EMPTY_COPY}", {"run": run_id}).fetchone()[0]
        has_news = db.execute(
            "SELECT EXISTS (SELECT 1 FROM trio_enrich_first_seen WHERE run_id = ?)", (run_id,)
        ).fetchone()[0]
        if filled and has_news and not history:
            skipped.append(run_id)
        else:
            cursor = db.execute(
                "INSERT OR IGNORE INTO trio_enrich_deliveries (destination_id, tx_id, run_id, "
                "state, queued_at) SELECT ?, f.tx_id, f.run_id, 'pending', ? FROM "
                "trio_enrich_first_seen f WHERE f.run_id = ? AND f.tx_id IN (SELECT tx_id FROM "
                f"trio_enrich_trades WHERE {wanted})",
                (destination_id, now, run_id, *parameters),
            )
            queued += cursor.rowcount
        db.execute(
            "UPDATE trio_enrich_destination_runs SET queued = 1 WHERE destination_id = ? AND "
            "run_id = ?",
            (destination_id, run_id),
        )
    return Queued(queued, tuple(skipped))


def claim(
    db: sqlite3.Connection, destination_id: int, limit: int, now: str
) -> tuple[list[int], list[dict[str, object]]]:
    """Up to `limit` trades due to the destination (pending, or in flight when a run died),
    oldest first, marked in flight, with what a digest says of them."""
    tx_ids = [int(row[0]) for row in db.execute(
        "SELECT tx_id FROM trio_enrich_deliveries WHERE destination_id = ? AND state IN "
        "('pending', 'sending') ORDER BY tx_id LIMIT ?", (destination_id, limit))]  # fmt: skip
    db.executemany(
        "UPDATE trio_enrich_deliveries SET state = 'sending', attempts = attempts + 1 "
        "WHERE destination_id = ? AND tx_id = ?",
        [(destination_id, tx_id) for tx_id in tx_ids],
    )
    if tx_ids:
        db.execute(
            "UPDATE trio_enrich_destinations SET last_attempt_at = ? WHERE destination_id = ?",
            (now, destination_id),
        )
    return tx_ids, digest_rows(db, tx_ids)


def delivered(db: sqlite3.Connection, destination_id: int, tx_ids: Sequence[int], now: str) -> None:
    db.executemany(
        "UPDATE trio_enrich_deliveries SET state = 'sent', sent_at = ?, last_error = NULL "
        "WHERE destination_id = ? AND tx_id = ?",
        [(now, destination_id, tx_id) for tx_id in tx_ids],
    )
    db.execute(
        "UPDATE trio_enrich_destinations SET last_sent_at = ?, last_error = NULL "
        "WHERE destination_id = ?",
        (now, destination_id),
    )


def failed(db: sqlite3.Connection, destination_id: int, tx_ids: Sequence[int], error: str) -> None:
    db.executemany(
        "UPDATE trio_enrich_deliveries SET state = 'pending', last_error = ? "
        "WHERE destination_id = ? AND tx_id = ?",
        [(error, destination_id, tx_id) for tx_id in tx_ids],
    )
    db.execute(
        "UPDATE trio_enrich_destinations SET last_error = ? WHERE destination_id = ?",
        (error, destination_id),
    )


def destinations(db: sqlite3.Connection) -> list[DestinationState]:
    """Every destination and where it stands (none in a copy whose tables predate them)."""
    if not table_exists(db, "trio_enrich_destinations"):
        return []
    rows = db.execute(
        """SELECT d.destination_id, d.label, d.fingerprint,
               (SELECT COUNT(*) FROM trio_enrich_deliveries x WHERE x.destination_id =
                   d.destination_id AND x.state <> 'sent'),
               (SELECT COUNT(*) FROM trio_enrich_deliveries x WHERE x.destination_id =
                   d.destination_id AND x.state = 'sent'),
               d.last_sent_at, d.last_error
           FROM trio_enrich_destinations d ORDER BY d.destination_id"""
    ).fetchall()
    return [DestinationState(int(r[0]), r[1], r[2], int(r[3]), int(r[4]), r[5], r[6])
            for r in rows]  # fmt: skip


#: What a digest or a feed entry says of a trade (columns of the flat trade view).
NEWS_COLUMNS = ("tx_id", "pub_date", "tx_date", "politician", "party", "chamber", "state",
                "tx_type", "issuer", "ticker", "bracket", "value", "late", "reporting_gap",
                "url", "filing_url", "first_seen_at")  # fmt: skip


def digest_rows(db: sqlite3.Connection, tx_ids: Sequence[int]) -> list[dict[str, object]]:
    """The trades `tx_ids` as digests tell them, in the order given."""
    found: dict[int, dict[str, object]] = {}
    for start in range(0, len(tx_ids), 500):
        chunk = list(tx_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in db.execute(
            f"SELECT {', '.join(NEWS_COLUMNS)} FROM trio_enrich_trades WHERE tx_id IN ({marks})",
            chunk,
        ):
            found[int(row[0])] = dict(zip(NEWS_COLUMNS, row, strict=True))
    return [found[tx_id] for tx_id in tx_ids if tx_id in found]


def newest_rows(db: sqlite3.Connection, limit: int) -> list[dict[str, object]]:
    """The `limit` trades first stored last (then published last): a feed's entries."""
    rows = db.execute(
        f"SELECT {', '.join(NEWS_COLUMNS)} FROM trio_enrich_trades ORDER BY first_seen_at DESC "
        "NULLS LAST, pub_date DESC, tx_id DESC LIMIT ?",
        (limit,),
    )
    return [dict(zip(NEWS_COLUMNS, row, strict=True)) for row in rows]
