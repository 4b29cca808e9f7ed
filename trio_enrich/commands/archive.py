"""The page archive's commands: `reparse`, `page`, `archive prune` (``cli`` declares them).

`reparse` runs like the other commands that write: the run lock, progress, the signal
handling and a summary; `page` only reads the archive; `prune` takes the run lock too, since
it must not remove a page a run is about to name as a source.
"""

from __future__ import annotations

import json as _json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import trio

from .._errors import EXIT_ITEM_FAILURES, EXIT_OK, UsageError
from .._model import ProgressMode
from ..runs.calls import reparse_session
from ..runs.reparse import ReparseKind, ReparseResult, open_archive, reparse_kind, reparse_lines
from ..runs.session import locked_run
from ..site.flight import flight_rows
from ..storage.archive import StoredPage
from ..storage.store import Store
from .execute import signal_exit, stopped_by_writes, with_signals
from .progress import open_progress

__all__ = ["run_page", "run_prune", "run_reparse", "stored_path"]


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def run_reparse(
    db: Path,
    kinds: Sequence[ReparseKind],
    *,
    dry_run: bool = False,
    json: bool = False,
    progress: ProgressMode = "auto",
    wait: bool = False,
) -> int:
    """`reparse`: the archived pages of `kinds` read again and written; exit 1 when pages of
    a layout the readers do not know remain."""
    async with reparse_session(db, dry_run=dry_run, wait=wait, say=_to_stderr) as (store, archive):

        async def work(stop: trio.Event) -> list[ReparseResult]:
            results = []
            for kind in kinds:
                if stop.is_set():
                    break

                def shown(total: int | None, kind: str = kind) -> Any:
                    return open_progress(progress, f"reparse {kind}", total, noun="pages")

                results.append(await reparse_kind(
                    store, archive, kind, dry_run=dry_run, progress=shown, stop=stop
                ))  # fmt: skip
            return results

        done, received = await stopped_by_writes(with_signals("reparse", work))
    if done is None:
        return signal_exit(received)
    if json:
        print(_json.dumps({"dry_run": dry_run, "reparse": [r.as_dict() for r in done]}), flush=True)
    else:
        print("\n".join(line for result in done for line in reparse_lines(result)), flush=True)
    unknown = any(result.stats.failed.get("layout_changed") for result in done)
    return signal_exit(received) if received else (EXIT_ITEM_FAILURES if unknown else EXIT_OK)


def stored_path(what: str, kind: Literal["trade", "issuer"]) -> str:
    """The site's path a user named: a URL, a path, or a trade's (issuer's) id."""
    text = what.strip()
    if text.isdigit():
        return f"/{kind}s/{int(text)}"
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if text.startswith("/"):
        return text
    raise UsageError(f"{what!r} is not a page: give a URL, a path (/trades/7) or an id")


async def run_page(
    db: Path,
    what: str,
    *,
    kind: Literal["trade", "issuer"] = "trade",
    version: str | None = None,
    rows: bool = False,
    json: bool = False,
) -> int:
    """`page`: a stored page as the site sent it (or its flight rows); exit 2 if not stored."""
    path = stored_path(what, kind)

    def find() -> tuple[StoredPage | None, int]:
        with open_archive(db, read_only=True) as archive:
            page = archive.newest(path) if version is None else archive.find(path, version)
            return page, len(archive.versions(path)) if page else 0

    page, versions = await trio.to_thread.run_sync(find)
    if page is None:
        which = f" with hash {version}" if version else ""
        hint = ""
        if what.strip().isdigit():  # an id may be of the other kind
            hint = (f"; if {what.strip()} is an issuer's id, add --issuer" if kind == "trade"
                    else f"; if {what.strip()} is a trade's id, leave out --issuer")  # fmt: skip
        raise UsageError(f"no page {path}{which} in the archive of {db}{hint}")
    text = page.body.decode("utf-8", "replace")
    shown = flight_rows(page.body) if rows else None
    if json:
        report: dict[str, object] = {
            "url": page.url, "kind": page.kind, "item": page.item, "status": page.status,
            "fetched_at": page.fetched_at, "seen_at": page.seen_at, "fetches": page.fetches,
            "hash": page.hash, "versions": versions, "bytes": len(page.body),
        }  # fmt: skip
        report.update({"rows": shown} if shown is not None else {"page": text})
        print(_json.dumps(report), flush=True)
    elif shown is not None:
        print("\n".join(f"{row['id']}:{row['tag']}{row['payload']}" for row in shown), flush=True)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


async def run_prune(db: Path, keep: int, json: bool = False, wait: bool = False) -> int:
    """`archive prune`: the newest `keep` versions of each page kept, and every page a stored
    row came from; the file compacted."""
    archive = await trio.to_thread.run_sync(lambda: open_archive(db, read_only=False))
    try:
        store = await trio.to_thread.run_sync(lambda: Store.open(db, create=False))
        try:
            async with locked_run(store, wait=wait, say=_to_stderr):
                protected = await store.run(store.source_hashes)
                before = await archive.run(archive.summary)
                removed = await archive.run(archive.prune, keep, protected)
                after = await archive.run(archive.summary)
        finally:
            store.close()
    finally:
        archive.close()
    if json:
        print(_json.dumps({"removed_versions": removed, "before": before.as_dict(),
                           "after": after.as_dict()}), flush=True)  # fmt: skip
    else:
        print(f"archive {after.path}: {removed} older versions removed; "
              f"{after.versions} versions of {after.urls} pages kept, "
              f"{before.file_bytes:,} -> {after.file_bytes:,} bytes", flush=True)  # fmt: skip
    return EXIT_OK
