"""A digest: the message one destination gets for some new trades, each named by its page on
the site. Sans-io."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..read.feed import headline, summary

__all__ = ["digest"]


def digest(rows: Sequence[Mapping[str, object]], part: int = 1, parts: int = 1) -> tuple[str, str]:
    """The title and body of a digest of `rows` (part `part` of `parts` when a run's news
    take more than one message)."""
    count = f"{len(rows)} new trade" + ("s" if len(rows) != 1 else "")
    of = f" ({part} of {parts})" if parts > 1 else ""
    lines = [f"- {headline(row)}: {row['url']}\n  {summary(row)}" for row in rows]
    return f"Capitol Trades: {count}{of}", "\n".join(lines)
