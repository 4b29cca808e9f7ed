"""Reader of the politicians listing (``/politicians?...``, also filtered by committee): rendered
cards, read by their CSS cells. Sans-io, on the resolved flight tree.
"""

from __future__ import annotations

import re

from .._model import FailureKind, PageFailure, PoliticianCard, PoliticianPage
from .flight import is_element
from .page import (
    Page,
    classify_missing,
    get_int,
    open_page,
    text_of,
    to_int,
)

_POLITICIAN_HREF = re.compile(r"^/politicians/([A-Za-z]\d{6})$")
# Classes of the politicians listing itself (its card grid, its filters): a page without
# cards is an empty listing only when it is a politicians listing at all.
_LISTING_MARKERS = ("politician-card-grid", "filters-section-politicians")
# Cells whose value is a count: a count the reader cannot read fails the page.
_COUNT_CELLS = {"count-trades": "Trades", "count-issuers": "Issuers"}


# --- politicians listing ----------------------------------------------------------------------


def parse_politicians_page(page: bytes | str) -> PoliticianPage | PageFailure:
    """The politician cards of ``/politicians?...``: rendered cards, read by their CSS cells."""
    opened = open_page(page, "the politicians listing")
    if isinstance(opened, PageFailure):
        return opened
    cards: list[PoliticianCard] = []
    seen: set[str] = set()
    total_count: int | None = None
    search: object = None
    listing_marked = False
    for node in opened.walk():
        if not isinstance(node, dict):
            continue
        if total_count is None and "totalCount" in node:
            total_count = get_int(node, "totalCount")
            search = node.get("searchParams")
        class_name = node.get("className")
        if isinstance(class_name, str) and any(m in class_name for m in _LISTING_MARKERS):
            listing_marked = True
        href = node.get("href")
        match = _POLITICIAN_HREF.match(href) if isinstance(href, str) else None
        if match is None or match.group(1) in seen:
            continue
        card = _politician_card(opened, match.group(1), node.get("children"))
        if isinstance(card, str):
            return PageFailure(FailureKind.LAYOUT_CHANGED, card)
        if card is not None:
            seen.add(card.politician_id)
            cards.append(card)
    if not cards:
        failure = _empty_listing_failure(opened, listing_marked, total_count, search)
        if failure is not None:
            return failure
    return PoliticianPage(politicians=tuple(cards), total_count=total_count)


def _empty_listing_failure(
    opened: Page, listing_marked: bool, total_count: int | None, search: object
) -> PageFailure | None:
    """Why a page without cards is not an empty politicians listing, or None when it is one:
    it must be a politicians listing, with a member count, and not a first page whose count
    says it has members."""
    if not listing_marked or total_count is None:
        return classify_missing(opened.html, opened.flight, "the politicians listing")
    page = search.get("page") if isinstance(search, dict) else None
    if total_count > 0 and to_int(page if page is not None else 1) == 1:
        return PageFailure(
            FailureKind.LAYOUT_CHANGED,
            f"no politician cards on page 1 of a listing whose totalCount is {total_count}: "
            "has the listing changed?",
        )
    return None


def _politician_card(opened: Page, politician_id: str, tree: object) -> PoliticianCard | str | None:
    """The card of `politician_id`, None when the link is no card (it shows no name), or why a
    card's field cannot be read."""
    shown: dict[str, object] = {}  # field -> its element's children
    party_id: str | None = None
    state_id: str | None = None
    cells: dict[str, str | None] = {}
    for node in opened.walk([tree]):
        if not is_element(node):
            continue
        props = node[3]
        if not isinstance(props, dict):
            continue
        class_name = props.get("className")
        class_name = class_name if isinstance(class_name, str) else ""
        if node[1] == "h2" and "name" not in shown:
            shown["name"] = props.get("children")
        elif "q-field party" in class_name and "party" not in shown:
            shown["party"] = props.get("children")
            party_id = _modifier(class_name, "party--")
        elif "us-state-full " in class_name + " " and "state" not in shown:
            shown["state"] = props.get("children")
            state_id = _modifier(class_name, "us-state-full--")
        elif "q-cell cell--" in class_name:
            cell = class_name.split("cell--", 1)[1].split()[0]
            cells[cell] = _cell_value(opened, props.get("children"))
    texts: dict[str, str] = {}
    for what, children in shown.items():
        text = _text(children)
        if text is None:
            return f"the {what} of politician {politician_id} cannot be read as text"
        texts[what] = text
    name = texts.get("name")
    if not name:
        return None
    for cell, value in cells.items():
        if value is None:
            return f"the {cell!r} cell of politician {politician_id} cannot be read as text"
        texts[f"cell:{cell}"] = value
    for cell, label in _COUNT_CELLS.items():
        count = texts.get(f"cell:{cell}")
        if count and _count(count) is None:
            return f"{label!r} of politician {politician_id} shows {count!r:.40}, not a count"
    return PoliticianCard(
        politician_id=politician_id,
        name=name,
        party=texts.get("party"),
        state=texts.get("state"),
        count_trades=_count(texts.get("cell:count-trades")),
        count_issuers=_count(texts.get("cell:count-issuers")),
        volume=texts.get("cell:volume") or None,
        date_last_traded=texts.get("cell:last-traded") or None,
        party_id=party_id,
        state_id=state_id,
    )


def _count(text: str | None) -> int | None:
    return None if text is None else to_int(text.replace(",", ""))


def _modifier(class_name: str, prefix: str) -> str | None:
    """The `x` of a `prefix--x` class ("party--democrat" -> "democrat")."""
    for token in class_name.split():
        if token.startswith(prefix) and len(token) > len(prefix):
            return token[len(prefix) :].lower()
    return None


def _cell_value(opened: Page, tree: object) -> str | None:
    """The text of a card cell's ``q-value`` element (its ``q-label`` is left out); "" when the
    cell has no value element, None when its value is not text."""
    for node in opened.walk([tree]):
        if is_element(node):
            props = node[3]
            if isinstance(props, dict) and "q-value" in str(props.get("className", "")):
                return _text(props.get("children"))
    return ""


def _text(tree: object) -> str | None:
    """The visible text under a React element tree, whitespace-trimmed."""
    text = text_of(tree)
    return None if text is None else text.strip()
