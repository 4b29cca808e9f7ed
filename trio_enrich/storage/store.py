"""SQLite store, compatible with the capitoltraders.db of the earlier Rust tool.

SQL lives in this package (``storage``) only. A user's existing database is enriched in place:
every table and column of that tool (at any of its ``PRAGMA user_version`` 1 to 10) is kept as
it is, and trio-enrich's own bookkeeping lives in tables of its own whose version is kept in
``trio_enrich_meta.schema_version`` (the runs' bookkeeping: ``bookkeeping``).

Write rules (shared with the earlier tool, so both can keep using one file):

* a new non-null value wins, a null never erases;
* ``asset_type`` is only upgraded from ``'unknown'``; ``filing_id`` only written when > 0;
  ``filing_url`` only when non-empty; committees and labels replaced only by a non-empty list;
* ``enriched_at`` is set in the same transaction that writes the item's data, never alone.

The connection is made with ``check_same_thread=False`` because async code calls it from
worker threads, one at a time: :meth:`Store.run` is how (a store keeps its own limiter of
one thread; sqlite3 objects must not be used concurrently).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar, TypeVarTuple, get_args

import trio

from .._defaults import BUSY_TIMEOUT, real_wait
from .._errors import DatabaseError
from .._model import (
    IssuerDetail,
    ItemFailure,
    LearnedRate,
    ListingTrade,
    PageRef,
    PoliticianCard,
    RunHolder,
    StatusReport,
    TradeDetail,
    WalkStatus,
)
from ..site.walk import Walk
from . import bookkeeping, history
from .bookkeeping import READ_KEY, WALK_KEY, utc_now
from .counts import committees_counts, entity_counts, not_shown, partial_performance
from .deliveries import destinations
from .schema import (
    SCHEMA_VERSION,
    check_path,
    check_schema,
    connect_read_only,
    describe_error,
    our_schema_version,
    prepare,
    table_exists,
    transaction,
)
from .views import rebuild_search
from .writes import (
    Change,
    Entity,
    MembershipWrite,
    ReparseWrite,
    recompute_stats,
    record_failures,
    record_source,
    replace_memberships,
    rewrite_detail,
    set_meta,
    set_our_meta,
    upsert_listing_trade,
    write_issuer_detail,
    write_trade_detail,
)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

__all__ = [
    "SCHEMA_VERSION",
    "BatchResult",
    "Change",
    "Entity",
    "ListingWrite",
    "ReparseWrite",
    "Store",
    "Table",
    "utc_now",
]

#: The capitoltraders tables `count` counts.
Table = Literal["trades", "issuers", "politicians"]
_COUNTED = frozenset(get_args(Table))


#: An item whose page was a server error page (an error digest) on this many runs in a row,
#: over at least this many days, is parked: not fetched again (like a page not found) until
#: --retry-failed. Without it, a few broken pages make every nightly run exit 1.
PARK_AFTER_RUNS = 5
PARK_AFTER_DAYS = 3
# The failures that keep an item out of a run: not found, or parked (see above).
_KEPT_OUT = (
    "(kind = 'not_found' OR (kind = 'error_digest' AND runs >= "
    f"{PARK_AFTER_RUNS} AND julianday(last_at) - julianday(first_at) >= {PARK_AFTER_DAYS}))"
)


@dataclass(frozen=True, slots=True)
class ListingWrite:
    written: int  # trade rows inserted or refreshed
    new: int  # of which were not in the database before


@dataclass(frozen=True, slots=True)
class BatchResult:
    enriched: int
    failures: int
    missing_rows: int  # enriched items whose row is not in the database (nothing written)


class Store:
    """One open database. Create it with :meth:`open`; close it with :meth:`close`."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path
        self._limiter: trio.CapacityLimiter | None = None
        self.run_id: int | None = None  # this process's row in the runs' ledger, while it runs

    async def run(self, call: Callable[[*Ts], T], *args: *Ts) -> T:
        """`call(*args)` in a worker thread, one call at a time for this store (from trio)."""
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(1)
        return await trio.to_thread.run_sync(call, *args, limiter=self._limiter)

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> Store:
        """Open (or create) a database, check it, and bring our tables up to date.

        Nothing is written to a file that is refused: the checks run before the first write.
        The capitoltraders schema is made only with `create` (the default), and only in a new
        file, a 0-byte file or an SQLite file that holds nothing at all; an existing database
        without the capitoltraders tables is refused whatever `create` says, so a file of some
        other program is never turned into ours. With `create=False` a missing file is an
        error; `read_only` opens an existing file without changing anything (for counts and
        dry runs).
        """
        location = str(path)
        if location != ":memory:":
            check_path(Path(location), must_exist=not create or read_only, writable=not read_only)
            if not create and Path(location).stat().st_size == 0:
                raise DatabaseError(f"{location} is an empty file, not a capitoltraders database")
        timeout = real_wait(BUSY_TIMEOUT) if busy_timeout is None else busy_timeout
        try:
            if read_only:
                connection = connect_read_only(Path(location), timeout=timeout)
            else:
                connection = sqlite3.connect(
                    location,
                    timeout=timeout,
                    isolation_level=None,  # we open transactions explicitly
                    check_same_thread=False,
                )
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open database {location}: {error}") from error
        store = cls(connection, location)
        try:
            if read_only:
                check_schema(connection, location, create=False)
            else:
                prepare(connection, location, create=create)
        except sqlite3.Error as error:
            connection.close()
            raise DatabaseError(describe_error(error, location)) from error
        except BaseException:
            connection.close()
            raise
        return store

    @classmethod
    def snapshot(cls, path: str | os.PathLike[str]) -> Store:
        """A private copy, in memory, of the database as it stands, read in one read
        transaction (a consistent state, whatever a run writes meanwhile): for a dry run that
        measures what a write would change without writing, taking the run lock or needing a
        writable file. Its `path` is the database's, for messages."""
        with cls.open(path, read_only=True) as source:
            copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            try:
                source._db.backup(copy)
            except sqlite3.Error as error:
                copy.close()
                raise DatabaseError(describe_error(error, source.path)) from error
        return cls(copy, source.path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (see ``_schema``)."""
        with transaction(self._db, self.path) as db:
            yield db

    # --- reading ------------------------------------------------------------------------------

    def user_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def schema_version(self) -> int:
        return our_schema_version(self._db, self.path)

    def pending_trade_ids(
        self, *, limit: int | None = None, include_not_found: bool = False
    ) -> list[int]:
        """Trades not yet enriched, by id, without those recorded as not found (unless asked)."""
        return self._pending("trades", "tx_id", "trade", limit, include_not_found)

    def pending_issuer_ids(
        self,
        *,
        limit: int | None = None,
        include_not_found: bool = False,
        refresh_before: str | None = None,
    ) -> list[int]:
        """Issuers not yet enriched, by id, without those recorded as not found (unless asked);
        with `refresh_before` (an ``enriched_at`` time), also those enriched before it."""
        return self._pending(
            "issuers", "issuer_id", "issuer", limit, include_not_found, refresh_before
        )

    def sample_ids(self) -> tuple[int | None, int | None]:
        """A trade id and an issuer id to check the site's pages with (`check`): pending ones
        first, as a run would fetch them; else any; None where the table is empty."""
        trade = self.pending_trade_ids(limit=1) or self._first_id("trades", "tx_id")
        issuer = self.pending_issuer_ids(limit=1) or self._first_id("issuers", "issuer_id")
        return (trade[0] if trade else None), (issuer[0] if issuer else None)

    def _first_id(self, table: str, key: str) -> list[int]:
        return [int(row[0]) for row in self._db.execute(f"SELECT {key} FROM {table} LIMIT 1")]

    def _pending(
        self,
        table: str,
        key: str,
        entity: Entity,
        limit: int | None,
        include_not_found: bool,
        refresh_before: str | None = None,
    ) -> list[int]:
        sql = f"SELECT {key} FROM {table} WHERE (enriched_at IS NULL"
        parameters: list[object] = []
        if refresh_before is not None:
            sql += " OR enriched_at <= ?"
            parameters.append(refresh_before)
        sql += ")"
        if not include_not_found and table_exists(self._db, "trio_enrich_failures"):
            kept_out = _KEPT_OUT if self._has_failure_runs() else "kind = 'not_found'"
            sql += (
                f" AND {key} NOT IN (SELECT item_id FROM trio_enrich_failures"
                f" WHERE entity = ? AND {kept_out})"
            )
            parameters.append(entity)
        sql += f" ORDER BY {key}"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)
        return [row[0] for row in self._db.execute(sql, parameters)]

    def _has_failure_runs(self) -> bool:
        """Whether the failure table counts runs (a database of an earlier trio-enrich opened
        read-only does not)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(trio_enrich_failures)")}
        return "runs" in columns

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM ingest_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def count(self, table: Table) -> int:
        """The rows of `table` (a capitoltraders table: trades, issuers, politicians)."""
        if table not in _COUNTED:
            raise ValueError(f"not a table to count: {table!r}")
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # --- writing: listing rows ----------------------------------------------------------------

    def upsert_listing(
        self,
        trades: Iterable[ListingTrade],
        *,
        walk: Walk | None = None,
        keep: bool = True,
        note_read: bool = True,
    ) -> ListingWrite:
        """Insert or refresh listing rows (trades, their issuers, politicians and assets).

        Never erases an enriched value: the detail fields of a trade are not touched, nor are
        ``enriched_at`` columns. With `walk`, the full walk's record is saved in the same
        transaction, so what it says was read is exactly what was written. The incremental
        cutoff (``ingest_meta.last_trade_pub_date``) does not move here: only
        :meth:`finish_sync` moves it, once a walk is complete. Without `keep` the write is
        counted and rolled back (a dry run); `note_read` notes that listing pages were read.
        """
        written = 0
        first: list[int] = []
        with transaction(self._db, self.path, keep=keep) as db:
            for trade in trades:
                exists = db.execute(
                    "SELECT 1 FROM trades WHERE tx_id = ?", (trade.tx_id,)
                ).fetchone()
                upsert_listing_trade(db, trade)
                written += 1
                first += [trade.tx_id] if exists is None else []
            history.note_first_seen(db, first, utc_now(), self.run_id)
            if walk is not None:
                set_our_meta(db, WALK_KEY, walk.to_json())
            # Pages read since the last complete walk (finish_sync forgets it): status says so.
            if note_read:
                set_our_meta(db, READ_KEY, utc_now())
        return ListingWrite(written, len(first))

    def _our_meta(self, key: str) -> str | None:
        return bookkeeping.our_meta(self._db, key)

    # --- the runs' bookkeeping (``bookkeeping``) ------------------------------------------------

    def learned_rate(self, host: str) -> LearnedRate | None:
        """The request rate an earlier `--max-rps auto` run learned for `host`."""
        return bookkeeping.learned_rate(self._db, host)

    def remember_rate(self, host: str, rate: float, *, limited: bool) -> None:
        """Keep the rate a `--max-rps auto` run settled at, for the next run at `host`."""
        with self.transaction() as db:
            bookkeeping.remember_rate(db, host, rate, limited=limited)

    def current_run(self) -> RunHolder | None:
        """Who holds (or last held) the run lock; None when not recorded."""
        return bookkeeping.read_holder(self._db)

    def record_run(self, command: str) -> int | None:
        """Note this process as the holder of the run lock (call it once the lock is held),
        and open its row in the runs' ledger: the trades stored first from now on are this
        run's (its id; None in a copy whose tables predate the ledger)."""
        with self.transaction() as db:
            bookkeeping.record_holder(db, command)
            self.run_id = history.begin_run(db, command)
        return self.run_id

    def end_run(
        self, *, exit_code: int | None = None, error: str | None = None, counts: object = None
    ) -> None:
        """Close this process's row in the runs' ledger (see `record_run`)."""
        if self.run_id is None:
            return
        with self.transaction() as db:
            history.end_run(db, self.run_id, exit_code=exit_code, error=error, counts=counts)
        self.run_id = None

    def clear_run(self) -> None:
        with self.transaction() as db:
            bookkeeping.clear_holder(db)

    def transact(self, call: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        """`call(db, *args)` in one transaction of its own: the alerts' ledger (functions of
        ``storage.deliveries``) is written through it."""
        with self.transaction() as db:
            return call(db, *args)

    def full_walk(self) -> Walk | None:
        """The unfinished full walk of the listing, if a run left one."""
        value = self._our_meta(WALK_KEY)
        if value is None:
            return None
        try:
            return Walk.from_json(value)
        except ValueError as error:
            raise DatabaseError(f"database {self.path}: unreadable sync walk: {error}") from error

    def finish_sync(
        self, newest: str | None, *, advance_cutoff: bool, keep_walk: bool = False
    ) -> None:
        """A walk is complete: recompute the stats, forget the full walk (unless `keep_walk`:
        a walk since a date leaves an unfinished full walk to finish), note the time, and
        (when the walk proved that every trade up to `newest` is stored) move the cutoff."""
        with self.transaction() as db:
            recompute_stats(db)
            rebuild_search(db)
            forget = (READ_KEY,) if keep_walk else (READ_KEY, WALK_KEY)
            for key in forget:
                db.execute("DELETE FROM trio_enrich_meta WHERE key = ?", (key,))
            if advance_cutoff and newest is not None:
                current = db.execute(
                    "SELECT value FROM ingest_meta WHERE key = 'last_trade_pub_date'"
                ).fetchone()
                if current is None or str(current[0]) < newest:
                    set_meta(db, "last_trade_pub_date", newest)
            set_meta(db, "last_sync_at", utc_now())

    def recompute_stats(self) -> None:
        """politician_stats and issuer_stats, and the search index, from the trades, in one
        transaction."""
        with self.transaction() as db:
            recompute_stats(db)
            rebuild_search(db)

    def replace_memberships(
        self,
        rosters: Mapping[str, Sequence[PoliticianCard]],
        chambers: Mapping[str, str],
        *,
        now: str | None = None,
        keep: bool = True,
        reread: bool = False,
    ) -> MembershipWrite:
        """Make the committee memberships exactly `rosters`, in one transaction, and note when
        (``trio_enrich_meta.committees_read_at``). Only for rosters read completely. Without
        `keep`, what it would write is counted and rolled back (a dry run). A `reread`
        (`reparse`) that changes nothing leaves the time of the read that stored them."""
        with transaction(self._db, self.path, keep=keep) as db:
            written = replace_memberships(db, rosters, chambers)
            if not (reread and written.unchanged):
                set_our_meta(db, "committees_read_at", now or utc_now())
            history.note_memberships(db, rosters, now or utc_now())
        return written

    def status(self) -> StatusReport:
        """Counts per entity and the last sync and enrichment times (read-only)."""
        db = self._db
        parked_sql: str | None = None
        if table_exists(db, "trio_enrich_failures"):
            parked_sql = _KEPT_OUT if self._has_failure_runs() else "0"
        trades = entity_counts(db, "trade", "trades", "tx_id", parked_sql=parked_sql)
        issuers = entity_counts(db, "issuer", "issuers", "issuer_id", parked_sql=parked_sql)
        # (a database of an earlier trio-enrich, opened read-only, may lack our newer tables)
        partial = table_exists(db, "trio_enrich_partial_performance")
        issuers["performance_partly_not_shown"] = partial_performance(db) if partial else 0
        walk = self.full_walk()
        unfinished: WalkStatus | None = None
        if walk is not None:
            unfinished = {"started_at": walk.started_at, "total": walk.total,
                          "unread_trades": walk.unread_count()}  # fmt: skip
        gains_table = table_exists(db, "trio_enrich_capital_gains_shown")
        return {
            "trades": trades,
            "issuers": issuers,
            "committees": committees_counts(db, self._our_meta("committees_read_at")),
            "not_shown": not_shown(db, gains_table=gains_table),
            "last_sync_at": self.get_meta("last_sync_at"),
            "listing_read_at": self._our_meta(READ_KEY),
            "unfinished_full_walk": unfinished,
            "last_trade_pub_date": self.get_meta("last_trade_pub_date"),
            "user_version": self.user_version(),
            "schema_version": self.schema_version(),
            "destinations": [d.as_dict() for d in destinations(db)],
        }

    # --- writing: enrichment outcomes ---------------------------------------------------------

    def write_trade_batch(
        self,
        details: Sequence[TradeDetail],
        failures: Sequence[ItemFailure] = (),
        *,
        now: str | None = None,
        pages: Sequence[PageRef | None] = (),
    ) -> BatchResult:
        """Write trade details and failures in one transaction; `pages[i]` is where
        `details[i]` was read (the provenance table; none given: no page known)."""
        stamp = now or utc_now()
        missing = 0
        sources = list(pages) or [None] * len(details)
        with self.transaction() as db:
            for detail, page in zip(details, sources, strict=True):
                if write_trade_detail(db, detail, stamp):
                    record_source(db, "trade", detail.tx_id, page)
                else:
                    missing += 1
            record_failures(db, "trade", failures, stamp)
        return BatchResult(len(details) - missing, len(failures), missing)

    def write_issuer_batch(
        self,
        details: Sequence[IssuerDetail],
        failures: Sequence[ItemFailure] = (),
        *,
        now: str | None = None,
        pages: Sequence[PageRef | None] = (),
    ) -> BatchResult:
        """Write issuer details and failures in one transaction (`pages` as for trades)."""
        stamp = now or utc_now()
        sources = list(pages) or [None] * len(details)
        with self.transaction() as db:
            for detail, page in zip(details, sources, strict=True):
                write_issuer_detail(db, detail, stamp)
                record_source(db, "issuer", detail.issuer_id, page)
            record_failures(db, "issuer", failures, stamp)
        return BatchResult(len(details), len(failures), 0)

    def reparse_batch(
        self,
        entity: Entity,
        details: Sequence[TradeDetail | IssuerDetail],
        pages: Sequence[PageRef],
        *,
        keep: bool = True,
    ) -> ReparseWrite:
        """Write details read again from archived pages, each stamped with its page's fetch
        time, under the same rules as a fetch's, in one transaction (rolled back unless
        `keep`: a dry run), and say what that changed."""
        done = ReparseWrite()
        with transaction(self._db, self.path, keep=keep) as db:
            for detail, page in zip(details, pages, strict=True):
                state, moved = rewrite_detail(db, entity, detail, page)
                if state == "missing":
                    done.missing_rows += 1
                elif state == "new":
                    done.newly_enriched += 1
                elif moved:
                    item_id = detail.tx_id if isinstance(detail, TradeDetail) else detail.issuer_id
                    done.changed.append(Change(item_id, moved))
                else:
                    done.unchanged += 1
        return done

    def source_hashes(self) -> set[str]:
        """Every page hash the provenance table points to (what `archive prune` keeps)."""
        if not table_exists(self._db, "trio_enrich_sources"):
            return set()
        return {str(row[0]) for row in self._db.execute("SELECT hash FROM trio_enrich_sources")}
