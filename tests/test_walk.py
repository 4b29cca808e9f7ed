"""The listing walk's bookkeeping (sans-io): what a page read covers, how a walk is stored
and read back, and the gaps still to read."""

from __future__ import annotations

import json

import pytest

from trio_enrich.site.walk import Walk

# --- the walk ------------------------------------------------------------------------------


def test_every_page_read_is_counted_and_an_empty_or_outside_page_covers_nothing() -> None:
    walk = Walk(started_at="2026-12-01T00:00:00Z")
    walk.add_page(1, 12, 30, 12)
    walk.add_page(2, 12, 30, 0)  # a page with no rows covers nothing
    walk.add_page(9, 12, 30, 12)  # a page past the end (its rows cannot be placed)
    assert walk.pages_read == 3
    assert walk.covered == [(19, 30)]
    assert walk.gaps() == [(1, 18)]


def test_a_stored_walk_round_trips_compact_and_with_nothing_seen() -> None:
    walk = Walk(started_at="2026-12-01T00:00:00Z")
    text = walk.to_json()
    assert " " not in text  # compact: it is kept in a meta row
    again = Walk.from_json(text)
    assert again.total is None
    assert again.newest is None
    assert again == walk
    walk.add_page(1, 12, 30, 12, newest="2026-11-30T10:00:00Z")
    assert Walk.from_json(walk.to_json()) == walk


@pytest.mark.parametrize(("covered", "valid"), [
    ([[3, 3]], True), ([[1, 2]], True), ([[0, 2]], False), ([[5, 4]], False),
])  # fmt: skip
def test_a_stored_interval_must_be_positions(covered: list[list[int]], valid: bool) -> None:
    text = json.dumps({"started_at": "x", "covered": covered, "total": 10, "newest": None,
                       "pages_read": 1})  # fmt: skip
    if valid:
        assert Walk.from_json(text).covered == [tuple(covered[0])]
    else:
        with pytest.raises(ValueError, match="interval"):
            Walk.from_json(text)


def test_gaps_stop_at_the_total_and_still_end_with_the_last_one() -> None:
    text = json.dumps({"started_at": "x", "covered": [[1, 5], [20, 25]], "total": 10,
                       "newest": None, "pages_read": 2})  # fmt: skip
    assert Walk.from_json(text).gaps() == [(6, 10)]
