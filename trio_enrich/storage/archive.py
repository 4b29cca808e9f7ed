"""The page archive: every answer a run received, kept so that today's readers can read it
again (`reparse`) and so that a stored value can be traced to the page it came from.

A second SQLite file beside the database (``capitoltraders.pages.db`` for
``capitoltraders.db``): the main file keeps the earlier tool's schema plus our tables. One
table, ``pages``: a row per version of a URL (its kind, item, status, first and last fetch,
the sha256 of the page as received, the page zstd-compressed). A fetch whose page has the
hash of the newest version of its URL stores nothing new: only that version's ``seen_at``
and ``fetches`` move. (Content shared by two URLs is stored twice: a table of contents by
hash cost a second b-tree write per page, for pages almost never shared.) The whole page
is kept, not only its flight data: telling a CDN's refusal, a not-found page, a cut stream
or a data-less shell apart reads the HTML around the data (the flight data alone would save
a third of the bytes and lose that: benchmarks/bench_archive.py).

Durability: :meth:`PageArchive.keep` only queues an answer (hashed); :meth:`write` stores
what :meth:`take` gave in one transaction with ``synchronous = FULL`` (the commit is on disk,
not only in the OS's cache), compressing it. Callers write the pages before they commit the
data read from them (a run's commits in the store's own thread call: its docstring says why),
so a crash at any moment never leaves an enriched row whose page is missing.

This module and the store's own modules are the only ones that write SQL.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple

import trio

from .._errors import ArchiveError, DatabaseError
from .._model import PageRef
from .schema import check_path, connect_read_only, describe_error, transaction

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = [
    "ARCHIVE_SUFFIX",
    "ArchiveSummary",
    "PageArchive",
    "StoredPage",
    "archive_path",
    "page_kind",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: The archive of `x.db` is `x.pages.db`.
ARCHIVE_SUFFIX = ".pages.db"
#: zstd's level 1: on the real captures (209 KB a page) 32% less CPU than level 3 (214
#: against 317 us a page) for 4% more bytes (21.9 against 21.1 KB); on the simulator's pages
#: the same time and 2% more (benchmarks/bench_archive.py measured the codecs).
LEVEL = 1
_VERSION = 1  # the archive's own schema version (PRAGMA user_version)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS pages (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,          -- the path on the site, with its query
        kind TEXT NOT NULL,         -- trade, issuer, listing, committee, robots, other
        item TEXT,                  -- a trade's or issuer's id, a committee's code
        status INTEGER NOT NULL,    -- the HTTP status of the answer
        fetched_at TEXT NOT NULL,   -- the first fetch that gave this content
        seen_at TEXT NOT NULL,      -- the latest fetch that gave it
        fetches INTEGER NOT NULL,
        hash TEXT NOT NULL,         -- sha256 of the page as received (hex)
        size INTEGER NOT NULL,      -- bytes as received
        codec TEXT NOT NULL,        -- 'zstd'
        data BLOB NOT NULL          -- the page, compressed
    )""",
    "CREATE INDEX IF NOT EXISTS idx_pages_url ON pages(url, id)",
)

_DETAIL = re.compile(r"^/(trades|issuers)/(\d+)$")
_COMMITTEE = re.compile(r"^/politicians\?committee=([A-Za-z]+)")


def page_kind(url: str) -> tuple[str, str | None]:
    """What a path of the site is: (kind, item); ``/trades/7`` is ("trade", "7")."""
    detail = _DETAIL.match(url)
    if detail is not None:
        return detail.group(1)[:-1], detail.group(2)
    committee = _COMMITTEE.match(url)
    if committee is not None:
        return "committee", committee.group(1)
    if url == "/trades" or url.startswith("/trades?"):
        return "listing", None
    if url == "/robots.txt":
        return "robots", None
    return "other", None


def archive_path(db: str | Path) -> Path:
    """Where the archive of database `db` is: beside it, `x.db` -> `x.pages.db`."""
    path = Path(db)
    if path.suffix == ".db":
        return path.with_suffix(ARCHIVE_SUFFIX)
    return Path(f"{path}{ARCHIVE_SUFFIX}")


_clock: list[Any] = [0, ""]  # the last second asked for, and its text


def _now() -> str:
    """The time to the second, as `enriched_at` is written (cached: asked once a page)."""
    second = int(time.time())
    if second != _clock[0]:
        _clock[0], _clock[1] = second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
    return str(_clock[1])


@dataclass(frozen=True, slots=True)
class StoredPage:
    """One version of a URL as the archive holds it."""

    url: str
    kind: str
    item: str | None
    status: int
    fetched_at: str
    seen_at: str
    fetches: int
    hash: str
    body: bytes

    @property
    def ref(self) -> PageRef:
        return PageRef(self.url, self.hash, self.seen_at)


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What `status` says of the archive."""

    path: str
    urls: int
    versions: int
    contents: int  # distinct contents (hashes)
    stored_bytes: int  # compressed, as in the file's body rows
    page_bytes: int  # the same pages as received
    file_bytes: int  # the file on disk

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path, "urls": self.urls, "versions": self.versions,
            "contents": self.contents, "stored_bytes": self.stored_bytes,
            "page_bytes": self.page_bytes, "file_bytes": self.file_bytes,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str
    status: int
    size: int  # bytes as received
    data: bytes  # the page as received (compressed when written)
    hash: str  # sha256 of the bytes as received
    at: str


class PageArchive:
    """One open archive. :meth:`open` it; :meth:`keep` answers, :meth:`flush` them."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path
        self._queue: list[_Answer] = []
        self._limiter: trio.CapacityLimiter | None = None
        self._compressor = zstd.ZstdCompressor(level=LEVEL)
        self._writing = threading.Lock()

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> PageArchive:
        """Open (or create, unless `read_only`) the archive at `path`; an archive that
        cannot be read is an ArchiveError that says the database is intact, and what to do."""
        try:
            return cls._open(str(path), read_only=read_only)
        except ArchiveError:
            raise
        except DatabaseError as error:
            raise ArchiveError(
                f"the page archive {path} cannot be used ({error}). The database beside it is "
                "intact: run with --no-archive to go on without keeping pages, or move the "
                f"archive aside (`mv {path} {path}.damaged`) and the next run starts a new one"
            ) from error

    @classmethod
    def _open(cls, location: str, *, read_only: bool) -> PageArchive:
        check_path(Path(location), must_exist=read_only, writable=not read_only)
        try:
            if read_only:
                db = connect_read_only(Path(location), timeout=30)
            else:
                db = sqlite3.connect(
                    location, isolation_level=None, check_same_thread=False, timeout=30
                )
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open page archive {location}: {error}") from error
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > _VERSION:
                raise ArchiveError(
                    f"page archive {location} has version {version}, newer than this "
                    f"trio-enrich knows ({_VERSION}); upgrade trio-enrich to use it"
                )
            names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if names and "pages" not in names:
                raise DatabaseError(f"{location} is not a trio-enrich page archive")
            if not read_only:
                db.execute("PRAGMA journal_mode = WAL")
                # A kept page is on disk before the data read from it is committed.
                db.execute("PRAGMA synchronous = FULL")
                with transaction(db, location):
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {_VERSION}")
        except sqlite3.Error as error:
            db.close()
            raise DatabaseError(describe_error(error, location)) from error
        except BaseException:
            db.close()
            raise
        return cls(db, location)

    def hold_snapshot(self) -> None:
        """Read the archive as it stands now until it is closed (a read transaction held
        open): the pages a run adds meanwhile are not seen, so a dry run reads one state."""
        self._db.execute("BEGIN")
        self._db.execute("SELECT COUNT(*) FROM pages").fetchone()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PageArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def run(self, call: Callable[[*Ts], T], *args: *Ts) -> T:
        """`call(*args)` in a worker thread, one at a time for this archive (from trio)."""
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(1)
        return await trio.to_thread.run_sync(call, *args, limiter=self._limiter)

    # --- keeping ----------------------------------------------------------------------------

    def keep(self, url: str, status: int, body: bytes) -> PageRef:
        """Queue an answer (written by the next :meth:`flush` or :meth:`write` of what
        :meth:`take` gave); where it will be found."""
        answer = _Answer(url, status, len(body), body, hashlib.sha256(body).hexdigest(), _now())
        self._queue.append(answer)
        return PageRef(url, answer.hash, answer.at)

    def take(self) -> list[_Answer]:
        """The answers queued so far, to `write` (called in the event loop's thread, where
        answers are queued, so none slips in while they are written)."""
        queued, self._queue = self._queue, []
        return queued

    async def flush(self) -> None:
        """Write every queued answer, durably, in the archive's worker thread (a cancelled
        caller still gets them written)."""
        queued = self.take()
        if queued:
            with trio.CancelScope(shield=True):
                await self.run(self.write, queued)

    def write(self, answers: Sequence[_Answer]) -> None:
        """Store `answers` in one transaction, compressing them: from any thread, one writer
        at a time.

        The run's commits call it inside the store's own worker-thread call, just before the
        batch's rows: one thread hop for both, in their order. Measured against the other
        places (15,000 and 4,000 trade pages, alternating runs with and without the archive):
        in the store's call the archive costs 7-9% more CPU on the simulator's pages, against
        15-22% written in the event loop's thread and more in a thread of its own: a thread
        that runs SQLite statement by statement gives the GIL up and takes it back for each,
        and a busy event loop pays a wake-up every time it has to take it back; zstd, which
        releases the GIL while it compresses, runs beside the loop here instead of in it.
        """
        with self._writing, transaction(self._db, self.path):
            self.insert(answers)

    def insert(self, answers: Sequence[_Answer]) -> None:
        """Store `answers` in the open transaction: a new version of a URL whose content
        changed (or that is new), and for an unchanged page only its last fetch."""
        db = self._db
        stored = self._newest_versions(db, {answer.url for answer in answers})
        seen: dict[int, list[Any]] = {}  # stored version id -> [last fetch, status, fetches]
        added: dict[str, list[Any]] = {}  # url -> its new version's row (the last one)
        rows: list[list[Any]] = []
        for answer in answers:
            pending = added.get(answer.url)
            version = stored.get(answer.url)
            if pending is not None and pending[7] == answer.hash:
                pending[5], pending[3] = answer.at, answer.status  # (a repeat in the batch)
                pending[6] += 1
            elif pending is None and version is not None and version[1] == answer.hash:
                last = seen.setdefault(version[0], [answer.at, answer.status, 0])
                last[0], last[1] = answer.at, answer.status
                last[2] += 1
            else:
                kind, item = page_kind(answer.url)
                # (the size pledged: zstd sizes its tables to the page, a fifth faster)
                self._compressor.set_pledged_input_size(len(answer.data))
                data = self._compressor.compress(answer.data, zstd.ZstdCompressor.FLUSH_FRAME)
                row = [answer.url, kind, item, answer.status, answer.at, answer.at, 1,
                       answer.hash, answer.size, data]  # fmt: skip
                added[answer.url] = row
                rows.append(row)
        db.executemany(
            "UPDATE pages SET seen_at = ?, status = ?, fetches = fetches + ? WHERE id = ?",
            [(*last, version) for version, last in seen.items()],
        )
        db.executemany(
            "INSERT INTO pages (url, kind, item, status, fetched_at, seen_at, fetches, hash, "
            "size, codec, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'zstd', ?)",
            rows,
        )

    @staticmethod
    def _newest_versions(db: sqlite3.Connection, urls: set[str]) -> dict[str, tuple[int, str]]:
        """url -> (id, hash) of its newest version, for the `urls` that have one."""
        found: dict[str, tuple[int, str]] = {}
        listed = sorted(urls)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for url, version, digest in db.execute(
                "SELECT url, id, hash FROM pages WHERE id IN "
                f"(SELECT MAX(id) FROM pages WHERE url IN ({marks}) GROUP BY url)",
                chunk,
            ):
                found[str(url)] = (int(version), str(digest))
        return found

    # --- reading ----------------------------------------------------------------------------

    _COLUMNS = "p.url, p.kind, p.item, p.status, p.fetched_at, p.seen_at, p.fetches, p.hash"

    def _page(self, row: Sequence[object], data: bytes, codec: str) -> StoredPage:
        if codec != "zstd":
            raise DatabaseError(f"page archive {self.path}: unknown codec {codec!r}")
        url, kind, item, status, fetched_at, seen_at, fetches, digest = row
        return StoredPage(
            str(url), str(kind), None if item is None else str(item), int(str(status)),
            str(fetched_at), str(seen_at), int(str(fetches)), str(digest), zstd.decompress(data),
        )  # fmt: skip

    def _rows(self, where: str, parameters: Sequence[object]) -> Iterator[StoredPage]:
        rows = self._db.execute(
            f"SELECT {self._COLUMNS}, p.data, p.codec FROM pages p WHERE {where}",
            parameters,
        ).fetchall()
        for row in rows:
            yield self._page(row[:8], bytes(row[8]), str(row[9]))

    def newest(self, url: str) -> StoredPage | None:
        """The newest version of `url`, or None."""
        found = list(self._rows("p.url = ? ORDER BY p.id DESC LIMIT 1", (url,)))
        return found[0] if found else None

    def find(self, url: str, digest: str) -> StoredPage | None:
        """The version of `url` whose content has hash `digest` (or begins with it)."""
        where = "p.url = ? AND p.hash LIKE ? ORDER BY p.id DESC LIMIT 1"
        found = list(self._rows(where, (url, digest + "%")))
        return found[0] if found else None

    def versions(self, url: str) -> list[StoredPage]:
        """Every version of `url`, oldest first."""
        return list(self._rows("p.url = ? ORDER BY p.id", (url,)))

    def newest_urls(self, kind: str) -> list[str]:
        """The URLs of `kind` the archive holds, by item (numerically for ids)."""
        rows = self._db.execute(
            "SELECT url FROM pages WHERE kind = ? GROUP BY url "
            "ORDER BY CAST(item AS INTEGER), item, url",
            (kind,),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def all_versions(self, kind: str) -> Iterator[StoredPage]:
        """Every version of every URL of `kind`, in the order they were fetched."""
        ids = [int(row[0]) for row in self._db.execute(
            "SELECT id FROM pages WHERE kind = ? ORDER BY fetched_at, id", (kind,))]  # fmt: skip
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            marks = ", ".join("?" * len(chunk))
            yield from self._rows(f"p.id IN ({marks}) ORDER BY p.fetched_at, p.id", chunk)

    def summary(self) -> ArchiveSummary:
        db = self._db
        urls, versions, contents, stored, raw = db.execute(
            "SELECT COUNT(DISTINCT url), COUNT(*), COUNT(DISTINCT hash), "
            "COALESCE(SUM(LENGTH(data)), 0), COALESCE(SUM(size), 0) FROM pages"
        ).fetchone()
        size = Path(self.path).stat().st_size if Path(self.path).exists() else 0
        return ArchiveSummary(self.path, urls, versions, contents, stored, raw, size)

    # --- pruning ----------------------------------------------------------------------------

    def prune(self, keep: int, protected: set[str]) -> int:
        """Keep the newest `keep` versions of each URL and every version whose hash is in
        `protected` (pages stored rows came from); how many versions were removed."""
        if keep < 1:
            raise ValueError("keep at least one version of each page")
        with transaction(self._db, self.path) as db:
            rows = db.execute(
                "SELECT id, hash FROM (SELECT id, hash, ROW_NUMBER() OVER "
                "(PARTITION BY url ORDER BY id DESC) AS rank FROM pages) WHERE rank > ?",
                (keep,),
            ).fetchall()
            doomed = [(int(row[0]),) for row in rows if str(row[1]) not in protected]
            db.executemany("DELETE FROM pages WHERE id = ?", doomed)
        self._db.execute("VACUUM")
        return len(doomed)
