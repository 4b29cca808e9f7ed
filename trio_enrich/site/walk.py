"""Which part of the trades listing a full sync has read, in positions that do not shift.

The listing is ordered newest first, so the page numbers of a trade change whenever the site
publishes new ones: after 30 new trades, what was on page 29 (12 a page) is on pages 31 and 32.
Positions counted from the *oldest* end do not move when trades are published at the top, so
a walk records what it has read as intervals of those positions. Each listing page carries its
own ``totalCount``, and that page's rows are placed with it, so a walk stays exact even when the
site publishes while it runs, or between an interrupted run and the one that resumes it.

Position ``r`` (1 = the oldest trade) of the row at index ``i`` (0-based) of page ``p`` (1-based)
with ``s`` rows a page and ``T`` trades in all is ``T - (p - 1) * s - i``.

A walk is complete when its intervals cover 1..T for the newest T it has seen. What it cannot
see: a trade *removed* from the site shifts the positions of every newer trade down by one, so
a gap's edge may be off by one row; the site is not known to remove trades.

Sans-io: values in, values out; the store keeps a walk as the JSON of :meth:`Walk.to_json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Walk"]

Interval = tuple[int, int]  # inclusive, 1-based positions counted from the oldest trade


@dataclass(slots=True)
class Walk:
    """The read part of one full walk of the listing, and what it has seen of the site."""

    started_at: str
    covered: list[Interval] = field(default_factory=list)  # sorted, disjoint, not adjacent
    total: int | None = None  # the largest totalCount a page of this walk has shown
    newest: str | None = None  # the newest pubDate read in this walk
    pages_read: int = 0

    # --- recording ------------------------------------------------------------------------

    def add_page(
        self, page: int, page_size: int, total: int, rows: int, newest: str | None = None
    ) -> None:
        """Record that page `page` (of `page_size` rows) gave `rows` rows when the site had
        `total` trades."""
        self.pages_read += 1
        # The largest count seen: pages read concurrently can arrive out of order, and one
        # answered before a publication must not hide the positions published after it.
        self.total = total if self.total is None else max(self.total, total)
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest
        high = total - (page - 1) * page_size
        low = high - rows + 1
        low, high = max(low, 1), min(high, total)
        if low <= high:  # (a page of no rows gives low = high + 1)
            self._cover(low, high)

    def _cover(self, low: int, high: int) -> None:
        merged: list[Interval] = []
        for a, b in self.covered:
            if b + 1 < low or high + 1 < a:
                merged.append((a, b))
            else:
                low, high = min(low, a), max(high, b)
        merged.append((low, high))
        merged.sort()
        self.covered = merged

    # --- planning -------------------------------------------------------------------------

    def gaps(self) -> list[Interval]:
        """The positions in 1..total that no page has given yet."""
        if self.total is None:
            return []
        gaps: list[Interval] = []
        start = 1
        for a, b in self.covered:
            if a > self.total:
                break
            if a > start:
                gaps.append((start, a - 1))
            start = max(start, b + 1)
        if start <= self.total:
            gaps.append((start, self.total))
        return gaps

    @property
    def complete(self) -> bool:
        return self.total is not None and not self.gaps()

    def unread_count(self) -> int:
        return sum(b - a + 1 for a, b in self.gaps())

    def pages_to_read(self, page_size: int) -> list[int]:
        """The page numbers that hold every unread position, at the last seen total."""
        if self.total is None:
            return [1]
        total = self.total
        pages: set[int] = set()
        for low, high in self.gaps():
            first = (total - high) // page_size + 1
            last = (total - low) // page_size + 1
            pages.update(range(first, last + 1))
        return sorted(pages)

    # --- storage ----------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "started_at": self.started_at,
                "covered": self.covered,
                "total": self.total,
                "newest": self.newest,
                "pages_read": self.pages_read,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Walk:
        """A stored walk; ValueError when the text is not one."""
        try:
            data = json.loads(text)
            covered = [(int(a), int(b)) for a, b in data["covered"]]
            total = data["total"]
            walk = cls(
                started_at=str(data["started_at"]),
                total=None if total is None else int(total),
                newest=None if data["newest"] is None else str(data["newest"]),
                pages_read=int(data["pages_read"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a stored walk: {error}") from error
        for low, high in covered:
            if low > high or low < 1:
                raise ValueError(f"not a stored walk: interval {low}..{high}")
            walk._cover(low, high)
        return walk
