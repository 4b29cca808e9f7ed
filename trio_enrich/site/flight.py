"""React's flight data, as a Next.js page carries it: rows joined, tokenised, resolved.

Sans-io and stdlib only. The facts below come from React's own flight client and server
(``react-server-dom-webpack`` 19.3, ``ReactFlightClient``: ``processBinaryChunk``,
``processFullBinaryRow``, ``parseModelString``, ``getOutlinedModel``; ``ReactFlightServer``:
``renderModelDestructive``) and from Next.js's inline scripts; docs/FLIGHT.md lists them.

* A page's ``self.__next_f.push([1, "<text>"])`` strings, joined in order, are the flight text.
* The text is a sequence of rows ``<hex id>:<row>``. After the colon, a tag byte in
  ``TAOobUSsLlGgMmV`` starts a length-prefixed row (``T<hex length>,<that many UTF-8 bytes>``,
  no newline after it); another tag in ``A-Z``, ``#``, ``r`` or ``x`` starts a tagged row that
  ends at a newline (``I`` a client module, ``H`` a hint, ``E`` an error, ...); anything else is
  a JSON model row that ends at a newline.
* Inside JSON, a string starting with ``$`` is a tag: ``$$x`` is the string ``$x``;
  ``$undefined`` is missing; ``$-0``, ``$NaN``, ``$Infinity``, ``$-Infinity`` are numbers;
  ``$D<iso>`` a date; ``$n<digits>`` a big integer; ``$<hex>`` the value of another row (a
  deduplicated object, or a long string in a ``T`` row); ``$<hex>:key:key:0`` a path into
  another row's value (``type``/``key``/``props`` name the parts of an element);
  ``$L<hex>`` a lazily sent element (or a client module); ``$@<hex>`` a promise of a row's
  value; ``$Q``/``$W`` a Map/Set of a row's entries; ``$S<name>`` a symbol. The others
  (server references ``$h``, temporary references ``$T``, blobs ``$B``, form data ``$K``,
  errors ``$Z``, iterators ``$i``, dev-only ``$E``/``$P``) carry no page data:
  they resolve to :class:`Unreadable`, as do dangling references and reference cycles.

:meth:`Flight.roots` gives the resolved values of the JSON rows that mention an anchor text,
each reference replaced by what it points to, so readers walk plain dicts, lists and values.
Resolution is lazy (a row is decoded and resolved only when a root reaches it) and memoised.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ELEMENT",
    "Flight",
    "FlightModule",
    "FlightSymbol",
    "Unreadable",
    "flight_rows",
    "is_element",
    "read_flight",
    "unreadable_in",
]

ELEMENT = "$"  # the first item of a React element ``["$", type, key, props]``

_PUSH = "self.__next_f.push("
_ROW_ID = re.compile(r"[0-9a-fA-F]*:")
_LENGTH_TAGS = frozenset("TAOobUSsLlGgMmV")
_LINE_TAGS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ#rx")
_HEX = re.compile(r"[0-9a-fA-F]+")
# A reference in a row's JSON text: it needs a resolving walk (other $-tags are scalars).
_REFERENCE = re.compile(r'"\$[L@QW]?[0-9a-fA-F]')
_MAX_DEPTH = 512  # resolved nesting; a page's real trees are a few dozen levels deep
_ELEMENT_PARTS = {"type": 1, "key": 2, "props": 3, "_owner": 4}
_CONTAINERS = (dict, list)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A value the flight data has but we cannot turn into page data (with why)."""

    reason: str


@dataclass(frozen=True, slots=True)
class FlightModule:
    """A client component's module (an ``I`` row), as the type of an element."""

    payload: str


@dataclass(frozen=True, slots=True)
class FlightSymbol:
    """``$S<name>``: a symbol, such as ``react.fragment`` or ``react.suspense``."""

    name: str


class _Undefined:
    """``$undefined``: a key with this value is dropped from its object, as React does."""


_UNDEFINED = _Undefined()


@dataclass(slots=True)
class _Row:
    tag: str  # "" for a JSON model row
    start: int  # the payload's span in the flight text
    end: int


@dataclass(slots=True)
class Flight:
    """The flight data of one page: its text, its rows by id, and their resolved values."""

    text: str
    pushes: int = 0  # every push call seen, bootstrap ones included
    broken_tail: bool = False  # the last push could not be decoded: the body was cut off
    rows: dict[int, _Row] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # ids of JSON rows, in page order
    error_digests: list[str] = field(default_factory=list)
    _values: dict[int, Any] = field(default_factory=dict)
    _resolving: set[int] = field(default_factory=set)
    _fixups: dict[int, list[tuple[Any, Any, str, list[str]]]] = field(default_factory=dict)
    # Containers that stand where a reference stood: the only ones a walk can meet twice (a
    # shared object) or inside themselves (a reference cycle a hostile page may build).
    inserted: set[int] = field(default_factory=set)

    def walk(self, trees: list[Any]) -> Iterator[Any]:
        """Every dict and list in the resolved `trees`, once each, without recursion.

        A row's own nodes come first, depth first in page order; what references brought in
        (outlined elements, shared objects, mostly layout) comes after, so a reader that stops
        at the first match rarely walks the layout. Only containers are yielded: most values
        are strings, and skipping them here halves the walk.
        """
        inserted = self.inserted
        later: list[Any] = []
        seen: set[int] = set()
        stack: list[Any] = [node for node in reversed(trees) if type(node) in _CONTAINERS]
        while stack or later:
            node = stack.pop() if stack else later.pop()
            if id(node) in inserted:
                if id(node) in seen:
                    continue
                seen.add(id(node))
            yield node
            for child in reversed(node.values()) if type(node) is dict else reversed(node):
                if type(child) in _CONTAINERS:
                    (later if id(child) in inserted else stack).append(child)

    # --- rows --------------------------------------------------------------------------------

    def roots(self, anchors: tuple[str, ...] = ()) -> list[Any]:
        """The resolved JSON rows, in page order; with `anchors`, only those whose text holds
        one of them (the layout rows are most of a page and never hold its data)."""
        values: list[Any] = []
        text = self.text
        for row_id in self.order:
            if anchors:
                row = self.rows[row_id]
                payload = text[row.start : row.end]
                if not any(anchor in payload for anchor in anchors):
                    continue
            values.append(self.value(row_id))
        return values

    def value(self, row_id: int) -> Any:
        """The resolved value of row `row_id` (memoised), or :class:`Unreadable`."""
        if row_id in self._values:
            return self._values[row_id]
        row = self.rows.get(row_id)
        if row is None:
            return Unreadable(f"a reference to row {row_id:x}, which the page does not have")
        self._resolving.add(row_id)
        try:
            value = self._row_value(row)
        except RecursionError:
            value = Unreadable("references nested deeper than any page needs")
        finally:
            self._resolving.discard(row_id)
        self._values[row_id] = value
        # References into this row from inside it (React dedupes an object it has already
        # written by a path to it) can only be followed now that the row is whole.
        for container, key, reference, path in self._fixups.pop(row_id, ()):
            target = self._follow(value, path, reference)
            container[key] = target
            if type(target) is dict or type(target) is list:
                self.inserted.add(id(target))
        return value

    def _row_value(self, row: _Row) -> Any:
        payload = self.text[row.start : row.end]
        if row.tag == "T":
            return payload  # a text row is the string itself: no $-escapes apply
        if row.tag == "I":
            return FlightModule(payload)
        if row.tag == "E":
            return Unreadable(f"an error row ({_error_digest(payload)})")
        if row.tag:
            return Unreadable(f"a row of kind {row.tag!r}")
        try:
            value = json.loads(payload)
        except (ValueError, RecursionError):
            return Unreadable("a row that is not valid JSON")
        if _REFERENCE.search(payload) is None:
            return _resolve_scalars(value)
        return self._resolve(value)

    # --- resolution --------------------------------------------------------------------------

    def _resolve(self, value: Any) -> Any:
        """`value` with every $-tag replaced by what it stands for (in place: we own it)."""
        if type(value) is str:
            if value[:1] != "$" or value == ELEMENT:
                return value
            holder: list[Any] = [value]
            self._resolve_item(holder, 0, value)
            return None if holder and holder[0] is _UNDEFINED else holder[0]
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > _MAX_DEPTH:
                return Unreadable("nesting deeper than any page needs")
            depth += 1
            if type(node) is list:
                for index, item in enumerate(node):
                    kind = type(item)
                    if kind is str:
                        if item and item[0] == "$" and (index or item != ELEMENT):
                            self._resolve_item(node, index, item)
                    elif kind is dict or kind is list:
                        stack.append((item, depth))
            else:
                tagged = None
                for key, item in node.items():
                    kind = type(item)
                    if kind is str:
                        if item and item[0] == "$":
                            if tagged is None:
                                tagged = [key]
                            else:
                                tagged.append(key)
                    elif kind is dict or kind is list:
                        stack.append((item, depth))
                if tagged is not None:  # replaced after the loop: a dict must not change in it
                    for key in tagged:
                        self._resolve_item(node, key, node[key])
        return value

    def _resolve_item(self, container: Any, key: Any, text: str) -> None:
        """Replace ``container[key]``, the $-string `text`, by its value."""
        resolved = self._string(text, container, key)
        if resolved is _UNDEFINED:
            if type(container) is dict:
                del container[key]
            else:
                container[key] = None
            return
        container[key] = resolved
        kind = type(resolved)
        if kind is dict or kind is list:
            self.inserted.add(id(resolved))

    def _string(self, text: str, container: Any, key: Any) -> Any:
        if text == ELEMENT:
            return text
        tag = text[1]
        if tag in "L@QW" and _HEX.fullmatch(text, 2):
            # An element sent later, a promise, the entries of a Map or a Set: a row's value.
            row_id = int(text[2:], 16)
            if row_id in self._resolving:
                return Unreadable(f"a reference cycle through row {row_id:x}")
            return self.value(row_id)
        if tag in _TAGS:
            return _scalar(text)  # React's client tries its tags before a row reference
        if tag in "0123456789abcdefABCDEF":
            return self._reference(text[1:], container, key)
        return Unreadable(f"an unknown $-tag ({text[:12]!r})")

    def _reference(self, reference: str, container: Any, key: Any) -> Any:
        """``<hex>`` or ``<hex>:key:key``: another row's value, or a part of it."""
        head, *path = reference.split(":")
        if _HEX.fullmatch(head) is None:
            # Not a reference React could have written ("$348.43"): React escapes every
            # string that starts with "$", so only a hand-made page has one. Its text is kept.
            return "$" + reference
        row_id = int(head, 16)
        if row_id in self._resolving:
            if not path:
                return Unreadable(f"a reference cycle through row {row_id:x}")
            self._fixups.setdefault(row_id, []).append((container, key, reference, path))
            return None  # until the row is whole
        return self._follow(self.value(row_id), path, reference)

    def _follow(self, value: Any, path: list[str], reference: str) -> Any:
        for key in path:
            if isinstance(value, Unreadable):
                return value
            value = _step(value, key)
            if value is None:
                return Unreadable(f"a reference to ${reference}, which leads nowhere")
        return value


def _step(value: Any, key: str) -> Any:
    """One step of a path reference; None where the path leads nowhere."""
    if type(value) is dict:
        return value.get(key)
    if type(value) is list:
        if is_element(value) and key in _ELEMENT_PARTS:
            index = _ELEMENT_PARTS[key]
        elif key.isdigit():
            index = int(key)
        else:
            return None
        return value[index] if index < len(value) else None
    return None


def _scalar(text: str) -> Any:
    """A $-tagged string that stands for a value of its own (not a reference)."""
    tag = text[1]
    if tag == "$":
        return text[1:]
    if tag == "u":
        return _UNDEFINED
    if tag == "-":
        return -0.0 if text == "$-0" else -math.inf
    if tag == "N":
        return math.nan
    if tag == "I":
        return math.inf
    if tag == "D":
        return text[2:]  # a Date, as the ISO text it was sent as
    if tag == "n":
        digits = text[2:]
        if digits.lstrip("-").isdigit():
            return int(digits)
        return Unreadable(f"a malformed big integer {text[:40]!r}")
    if tag == "S":
        return FlightSymbol(text[2:])
    if tag == "w":
        return _UNDEFINED  # React's client reads it as undefined
    what = _OPAQUE.get(tag, "an unknown $-tag")
    return Unreadable(f"{what} ({text[:12]!r})")


_OPAQUE = {
    "h": "a server function reference",
    "T": "a temporary reference",
    "B": "a blob",
    "K": "form data",
    "Z": "an error",
    "i": "an iterator",
    "E": "a development-only function",
    "P": "a development-only element owner",
}
# Every tag of React's parseModelString but the row references (L, @, Q, W and hex).
_TAGS = frozenset("$u-NIDnSw") | frozenset(_OPAQUE)


def _resolve_scalars(value: Any) -> Any:
    """The resolution of a row without references: only scalar $-tags (an iterative walk)."""
    if type(value) is str:
        if value[:1] != "$" or value == ELEMENT:
            return value
        resolved = _scalar(value)
        return None if resolved is _UNDEFINED else resolved
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if level > _MAX_DEPTH:
            return Unreadable("nesting deeper than any page needs")
        if type(node) is list:
            for index, item in enumerate(node):
                kind = type(item)
                if kind is str:
                    if item[:1] == "$" and not (index == 0 and item == ELEMENT):
                        resolved = _scalar(item)
                        node[index] = None if resolved is _UNDEFINED else resolved
                elif kind is dict or kind is list:
                    stack.append((item, level + 1))
        elif type(node) is dict:
            for key in list(node):
                item = node[key]
                kind = type(item)
                if kind is str:
                    if item[:1] == "$":
                        resolved = _scalar(item)
                        if resolved is _UNDEFINED:
                            del node[key]
                        else:
                            node[key] = resolved
                elif kind is dict or kind is list:
                    stack.append((item, level + 1))
    return value


def is_element(value: Any) -> bool:
    """``["$", type, key, props]`` (a fifth item, the owner, in development builds)."""
    return type(value) is list and len(value) >= 4 and value[0] == ELEMENT


def unreadable_in(value: Any) -> Unreadable | None:
    """The first :class:`Unreadable` inside `value`, for a reader that must not lose data."""
    stack = [value]
    seen: set[int] = set()  # shared objects (React dedupes them) are looked at once
    while stack:
        node = stack.pop()
        if isinstance(node, Unreadable):
            return node
        kind = type(node)
        if (kind is dict or kind is list) and id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.values() if kind is dict else node)
    return None


# --- reading a page -------------------------------------------------------------------------------


def read_flight(page: bytes | str) -> Flight:
    """The flight data of a page: its pushes joined, its rows found (nothing decoded yet)."""
    html = page if isinstance(page, str) else page.decode("utf-8", errors="replace")
    flight = _join_pushes(html)
    _tokenise(flight)
    return flight


def flight_rows(page: bytes | str) -> list[dict[str, str]]:
    """A page's flight rows as the stream carried them, in id order: id (hex), tag, payload
    (for a person reading a stored page: `trio-enrich page --rows`)."""
    flight = read_flight(page)
    return [
        {"id": f"{row_id:x}", "tag": row.tag, "payload": flight.text[row.start : row.end]}
        for row_id, row in sorted(flight.rows.items())
    ]


def _join_pushes(html: str) -> Flight:
    decoder = json.JSONDecoder()
    parts: list[str] = []
    pushes = 0
    broken_tail = False
    position = html.find(_PUSH)
    while position >= 0:
        start = position + len(_PUSH)
        pushes += 1
        try:
            value, _end = decoder.raw_decode(html, start)
        except (ValueError, RecursionError):
            # A push we cannot decode is damage; when no complete script follows it, the body
            # was cut off mid-push.
            if html.find("</script>", start) < 0:
                broken_tail = True
        else:
            if (
                isinstance(value, list)
                and len(value) == 2
                and value[0] == 1
                and isinstance(value[1], str)
            ):
                parts.append(value[1])
        position = html.find(_PUSH, start)
    return Flight(text="".join(parts), pushes=pushes, broken_tail=broken_tail)


def _tokenise(flight: Flight) -> None:
    """Find every row's id, tag and span, as React's client reads them."""
    text = flight.text
    length = len(text)
    position = 0
    while position < length:
        match = _ROW_ID.match(text, position)
        if match is None:
            # Not a row start (damage, or text we misjudged): resynchronise at the next line.
            newline = text.find("\n", position)
            position = length if newline < 0 else newline + 1
            continue
        row_id = int(match.group()[:-1] or "0", 16)
        start = match.end()
        tag = text[start : start + 1]
        if tag in _LENGTH_TAGS and tag:
            begin, end = _length_prefixed(text, start)
            flight.rows[row_id] = _Row(tag, begin, end)
            position = end
            continue
        if tag in _LINE_TAGS and tag:
            start += 1
        else:
            tag = ""
        newline = text.find("\n", start)
        end = length if newline < 0 else newline
        position = end + 1
        if tag == "E":
            flight.error_digests.append(_error_digest(text[start:end]))
        if tag == "" and start == end:
            continue  # an empty line
        if tag == "" and row_id in flight.rows:
            continue  # a model row is sent once; a repeat would be damage
        flight.rows[row_id] = _Row(tag, start, end)
        if tag == "":
            flight.order.append(row_id)


def _length_prefixed(text: str, start: int) -> tuple[int, int]:
    """The span of a ``<tag><hex length>,<bytes>`` row; the length counts UTF-8 bytes."""
    comma = text.find(",", start)
    if comma < 0:
        return len(text), len(text)
    try:
        size = int(text[start + 1 : comma], 16)
    except ValueError:
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline + 1
        return end, end
    begin = comma + 1
    chunk = text[begin : begin + size]  # at most `size` characters: never fewer bytes
    encoded = chunk.encode("utf-8", errors="surrogatepass")
    if len(encoded) > size:
        chunk = encoded[:size].decode("utf-8", errors="ignore")
    return begin, begin + len(chunk)


def _error_digest(payload: str) -> str:
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return payload[:80]
    if isinstance(value, dict):
        digest = value.get("digest")
        if isinstance(digest, str):
            return digest
    return payload[:80]
