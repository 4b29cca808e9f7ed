"""Reader of the politicians listing (``/politicians?...``, also filtered by committee): rendered
cards, read by their CSS cells. Sans-io, on the resolved flight tree.
"""

from __future__ import annotations

import re

from ._flight import is_element
from ._model import PageFailure, PoliticianCard, PoliticianPage
from ._page import (
    Page,
    classify_missing,
    get_int,
    open_page,
    to_int,
)

_POLITICIAN_HREF = re.compile(r"^/politicians/([A-Za-z]\d{6})$")


# --- politicians listing ----------------------------------------------------------------------


def parse_politicians_page(page: bytes | str) -> PoliticianPage | PageFailure:
    """The politician cards of ``/politicians?...``: rendered cards, read by their CSS cells."""
    opened = open_page(page, "the politicians listing")
    if isinstance(opened, PageFailure):
        return opened
    cards: list[PoliticianCard] = []
    seen: set[str] = set()
    total_count: int | None = None
    for node in opened.walk():
        if not isinstance(node, dict):
            continue
        if total_count is None and "totalCount" in node:
            total_count = get_int(node, "totalCount")
        href = node.get("href")
        match = _POLITICIAN_HREF.match(href) if isinstance(href, str) else None
        if match is None or match.group(1) in seen:
            continue
        card = _politician_card(opened, match.group(1), node.get("children"))
        if card is not None:
            seen.add(card.politician_id)
            cards.append(card)
    if not cards and total_count is None:
        return classify_missing(opened.html, opened.flight, "the politicians listing")
    return PoliticianPage(politicians=tuple(cards), total_count=total_count)


def _politician_card(opened: Page, politician_id: str, tree: object) -> PoliticianCard | None:
    name: str | None = None
    party: str | None = None
    state: str | None = None
    party_id: str | None = None
    state_id: str | None = None
    cells: dict[str, str] = {}
    for node in opened.walk([tree]):
        if not is_element(node):
            continue
        props = node[3]
        if not isinstance(props, dict):
            continue
        class_name = props.get("className")
        class_name = class_name if isinstance(class_name, str) else ""
        if node[1] == "h2" and name is None:
            name = _text(props.get("children"))
        elif "q-field party" in class_name and party is None:
            party = _text(props.get("children"))
            party_id = _modifier(class_name, "party--")
        elif "us-state-full " in class_name + " " and state is None:
            state = _text(props.get("children"))
            state_id = _modifier(class_name, "us-state-full--")
        elif "q-cell cell--" in class_name:
            cell = class_name.split("cell--", 1)[1].split()[0]
            cells[cell] = _cell_value(opened, props.get("children"))
    if not name:
        return None
    return PoliticianCard(
        politician_id=politician_id,
        name=name,
        party=party,
        state=state,
        count_trades=to_int(cells.get("count-trades")),
        count_issuers=to_int(cells.get("count-issuers")),
        volume=cells.get("volume") or None,
        date_last_traded=cells.get("last-traded") or None,
        party_id=party_id,
        state_id=state_id,
    )


def _modifier(class_name: str, prefix: str) -> str | None:
    """The `x` of a `prefix--x` class ("party--democrat" -> "democrat")."""
    for token in class_name.split():
        if token.startswith(prefix) and len(token) > len(prefix):
            return token[len(prefix) :].lower()
    return None


def _cell_value(opened: Page, tree: object) -> str:
    """The text of a card cell's ``q-value`` element (its ``q-label`` is left out)."""
    for node in opened.walk([tree]):
        if is_element(node):
            props = node[3]
            if isinstance(props, dict) and "q-value" in str(props.get("className", "")):
                return _text(props.get("children"))
    return ""


def _text(tree: object) -> str:
    """The visible text under a React element tree, whitespace-trimmed."""
    parts: list[str] = []
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, list):
            if is_element(node):
                props = node[3]
                if isinstance(props, dict):
                    stack.append(props.get("children"))
            else:
                stack.extend(reversed(node))
    return "".join(parts).strip()
