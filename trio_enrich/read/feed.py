"""What new trades say to people: a trade's headline and summary, and an Atom 1.0 feed of the
newest (`update --feed`), written so that a reader never sees half a file.

Sans-io but for `write_atomically`: rows in (the columns of ``storage.deliveries.NEWS_COLUMNS``),
text out.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

from .._errors import UsageError

__all__ = ["ATOM", "FEED_ID", "atom_feed", "headline", "summary", "write_atomically"]

ATOM = "http://www.w3.org/2005/Atom"
#: The feed's own id: the same feed from one run to the next (RFC 4287 wants it permanent).
FEED_ID = "urn:trio-enrich:capitoltrades:new-trades"
_SITE = "https://www.capitoltrades.com/trades"
_VERBS = {"buy": "bought", "sell": "sold", "exchange": "exchanged", "receive": "received"}

Row = Mapping[str, object]


def _text(value: object, missing: str = "?") -> str:
    return missing if value is None or value == "" else str(value)


def headline(row: Row) -> str:
    """Who did what with which issuer, for how much: one line."""
    party = f" ({str(row['party'])[:1].upper()})" if row.get("party") else ""
    verb = _VERBS.get(str(row.get("tx_type")), _text(row.get("tx_type")))
    ticker = f" ({row['ticker']})" if row.get("ticker") else ""
    size = f", {row['bracket']}" if row.get("bracket") else ""
    return f"{_text(row.get('politician'))}{party} {verb} {_text(row.get('issuer'))}{ticker}{size}"


def summary(row: Row) -> str:
    """When it was traded and published, how late, and where its filing is."""
    gap = row.get("reporting_gap")
    late = "; late" if row.get("late") else ""
    days = ""
    if isinstance(gap, int):
        # (a negative gap is the filing's own date error, shown as it is)
        days = f" ({gap} days later{late})" if gap >= 0 else f" ({-gap} days before)"
    filing = f"; filing: {row['filing_url']}" if row.get("filing_url") else ""
    return (f"Traded {_text(row.get('tx_date'))}, published {_text(row.get('pub_date'))[:10]}"
            f"{days}{filing}")  # fmt: skip


def atom_feed(rows: Sequence[Row], now: str) -> bytes:
    """An Atom 1.0 feed of `rows`, in their order (newest first): each entry's id the trade's
    page on the site, published when the site published it, updated when trio-enrich first
    stored it."""
    ElementTree.register_namespace("", ATOM)

    def add(parent: ElementTree.Element, tag: str, text: str | None = None,
            **attributes: str) -> ElementTree.Element:  # fmt: skip
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    add(feed, "id", FEED_ID)
    add(feed, "title", "Capitol Trades: new trades")
    add(feed, "subtitle", "US congressional stock trades as trio-enrich first stored them")
    newest = [str(row["first_seen_at"]) for row in rows if row.get("first_seen_at")]
    add(feed, "updated", max(newest, default=now))
    add(feed, "link", href=_SITE, rel="alternate")
    author = add(feed, "author")
    add(author, "name", "trio-enrich")
    add(feed, "generator", "trio-enrich")
    for row in rows:
        entry = add(feed, "entry")
        url = _text(row.get("url"))
        add(entry, "id", url)
        add(entry, "title", headline(row))
        add(entry, "link", href=url, rel="alternate")
        if row.get("filing_url"):
            add(entry, "link", href=str(row["filing_url"]), rel="related", title="the filing")
        published = _text(row.get("pub_date"), now)
        add(entry, "published", published)
        add(entry, "updated", _text(row.get("first_seen_at"), published))
        add(entry, "summary", summary(row), type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a file beside it, moved into place when complete (a
    reader sees the old file or the new, never part of one); UsageError naming the path."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"cannot write the feed {path}: folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageError(f"cannot write the feed {path}: {error.strerror or error}") from error
