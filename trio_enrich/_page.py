"""The step every page reader shares: decode a page's flight data, check it was not cut off,
and when it has no data, say why (not found, an error page, blocked, truncated). Also the
accessors that read a resolved value without ever raising. Sans-io, stdlib only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._flight import Flight, is_element, read_flight, unreadable_in
from ._model import FailureKind, Issuer, PageFailure

_NOT_WORDS = re.compile(r"[^0-9a-z]+")
# Real pages carry data-dgst="BAILOUT_TO_CLIENT_SIDE_RENDERING" on a normal client boundary;
# any other digest is a server error rendered in place of content.
_ERROR_DIGEST_ATTRIBUTE = re.compile(r'data-dgst="(?!BAILOUT_TO_CLIENT_SIDE_RENDERING")')
_NOT_FOUND_HEADING = re.compile(r"<h1[^>]*>\s*Page Not Found\s*</h1>")

_CHALLENGE_MARKERS = (
    "Vercel Security Checkpoint",
    "Enable JavaScript to continue",
    "cf-challenge",
    "challenge-platform",
    "Just a moment...",
    "Attention Required!",
)


# --- opening a page: one step shared by every reader -------------------------------------------


def as_text(page: bytes | str) -> str:
    if isinstance(page, str):
        return page
    return page.decode("utf-8", errors="replace")


def flight_text(page: bytes | str) -> str:
    """Every ``[1,"..."]`` push string of the page, decoded and joined in order."""
    return read_flight(as_text(page)).text


@dataclass(slots=True)
class Page:
    html: str
    flight: Flight
    roots: list[Any]  # resolved JSON rows (those holding an anchor, when anchors were given)

    def walk(self, trees: list[Any] | None = None) -> Iterator[Any]:
        """Every container of the resolved roots (or of `trees` of this page), once each."""
        return self.flight.walk(self.roots if trees is None else trees)


def open_page(page: bytes | str, what: str, anchors: tuple[str, ...] = ()) -> Page | PageFailure:
    """Decode a page's flight data and resolve its rows, or say why the page is cut off."""
    html = as_text(page)
    flight = read_flight(html)
    if flight.broken_tail or is_cut_stream(html):
        return classify_missing(html, flight, what)
    return Page(html, flight, flight.roots(anchors))


def unreadable(subtree: Any, what: str) -> PageFailure | None:
    """A failure when the data a reader takes holds a value the flight data could not give."""
    problem = unreadable_in(subtree)
    if problem is None:
        return None
    return PageFailure(FailureKind.BLOCKED, f"{what}: unreadable flight data ({problem.reason})")


# --- scalar accessors: apply the $ escapes, never raise ----------------------------------------


def json_text(value: Any) -> str | None:
    """Any resolved JSON value as canonical JSON text; None for null or a value JSON lacks."""
    if value is None:
        return None
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (RecursionError, ValueError, TypeError):
        return None


def text_of(children: Any) -> str | None:
    """The text React renders for `children`, or None when part of it is not text we can know.

    Strings are as they are; numbers are written as JavaScript writes them (JSX ``{gap} days``
    sends ``[21, " days"]``, and the site sends counts as JSON numbers); lists are joined; an
    element gives its children's text; null, booleans and undefined render nothing. An object
    that is no element, an unreadable value, a NaN or an infinity, or a component element
    without children (what it renders is not in the data) make the whole text unknown.
    """
    parts: list[str] = []
    stack: list[Any] = [children]
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, bool):
            continue
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, int | float):
            number = _js_number(node)
            if number is None:
                return None
            parts.append(number)
        elif is_element(node):
            props = node[3]
            if isinstance(props, dict) and "children" in props:
                stack.append(props["children"])
            elif not isinstance(node[1], str):
                return None  # a component's output is not in the data
        elif type(node) is list:
            stack.extend(reversed(node))
        else:
            return None  # an object React would refuse to render, or an Unreadable
    return "".join(parts)


def _js_number(number: int | float) -> str | None:
    """`number` as JavaScript's String() writes it; None for NaN and infinities."""
    if isinstance(number, int):
        return str(number)
    if number != number or number in (float("inf"), float("-inf")):
        return None
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    text = repr(number)
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def read_issuer(mapping: dict[str, Any], issuer_id: int) -> Issuer | None:
    """The issuer an object of a page describes (a listing row's `issuer`, an issuer page's
    `issuerData`), or None without a name: the one field every issuer has."""
    name = get_str(mapping, "issuerName")
    if name is None:
        return None
    return Issuer(
        issuer_id=issuer_id,
        state_id=get_str(mapping, "_stateId"),
        c2iq=get_str(mapping, "c2iq"),
        country=get_str(mapping, "country"),
        issuer_name=name,
        issuer_ticker=get_str(mapping, "issuerTicker"),
        sector=get_str(mapping, "sector"),
    )


def get_str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def get_nonempty_str(mapping: dict[str, Any], key: str) -> str | None:
    value = get_str(mapping, key)
    return value if value else None


def get_int(mapping: dict[str, Any], key: str) -> int | None:
    return to_int(mapping.get(key))


def to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def get_float(mapping: dict[str, Any], key: str) -> float | None:
    return to_float(mapping.get(key))


def to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    return None


def get_bool(mapping: dict[str, Any], key: str) -> bool | None:
    value = mapping.get(key)
    return value if isinstance(value, bool) else None


def get_str_list(mapping: dict[str, Any], key: str) -> tuple[str, ...]:
    value = mapping.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def kebab(text: str) -> str | None:
    slug = _NOT_WORDS.sub("-", text.lower()).strip("-")
    return slug or None


# --- failure classification -------------------------------------------------------------------


def classify_missing(html: str, flight: Flight, what: str) -> PageFailure:
    """Why a page has no data for `what`: the checks go from most to least specific."""
    if flight.broken_tail:
        return PageFailure(FailureKind.TRUNCATED, "the page ends inside a data script")
    if shows_not_found(html, flight):
        return PageFailure(FailureKind.NOT_FOUND, f"the site answered 'Page Not Found' for {what}")
    if flight.error_digests:
        digest = flight.error_digests[0]
        return PageFailure(FailureKind.ERROR_DIGEST, f"the site rendered error {digest} for {what}")
    if "$RX(" in html or _ERROR_DIGEST_ATTRIBUTE.search(html):
        return PageFailure(FailureKind.ERROR_DIGEST, f"the site rendered an error page for {what}")
    for marker in _CHALLENGE_MARKERS:
        if marker in html:
            return PageFailure(FailureKind.BLOCKED, f"a bot challenge page ({marker!r})")
    if is_cut_stream(html):
        return PageFailure(FailureKind.TRUNCATED, "the page was cut off before its content")
    if flight.pushes == 0:
        return PageFailure(FailureKind.BLOCKED, "no data scripts on the page (a bot shell?)")
    return PageFailure(
        FailureKind.BLOCKED, f"no data for {what} on the page (has the site's layout changed?)"
    )


def shows_not_found(html: str, flight: Flight) -> bool:
    """The site's "Page Not Found" template is the page's content.

    Every real page carries that template as the layout's ``notFound`` prop, so the words alone
    prove nothing: the heading must appear outside that prop (or in the visible HTML).
    """
    if "NEXT_NOT_FOUND" in flight.text or "NEXT_HTTP_ERROR_FALLBACK;404" in flight.text:
        return True
    if _NOT_FOUND_HEADING.search(html):
        return True
    if "Page Not Found" not in flight.text:
        return False
    stack: list[Any] = flight.roots()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(value for key, value in node.items() if key != "notFound")
        elif isinstance(node, list):
            if (
                is_element(node)
                and node[1] == "h1"
                and isinstance(node[3], dict)
                and node[3].get("children") == "Page Not Found"
            ):
                return True
            stack.extend(node)
    return False


def is_cut_stream(html: str) -> bool:
    """A streamed page whose suspended content never arrived, or which stops mid-document."""
    if '<template id="B:0"' in html and 'id="S:0"' not in html:
        return True
    tail = html[-4096:]
    if "</html>" in tail:  # the common case, without lower-casing the page
        return False
    return "<html" in html[:2048].lower() and "</html>" not in tail.lower()
