"""Rows of the copy in the formats people and tools read: a table for the terminal, JSON, JSON
Lines, CSV, Markdown and XML. Every format carries the same rows under the same keys (the
views' column names, described in the data dictionary); only how a value is written differs:

* a list (a trade's labels, committees) is an array in JSON, items in XML, and its items
  joined by ``;`` in the flat formats (CSV, Markdown, the table);
* a yes/no (``late``) is ``true``/``false`` everywhere;
* a value the copy does not have is ``null`` in JSON, an empty cell in the flat formats, and
  no element in XML.

Sans-io: text out, written by the caller.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from xml.etree import ElementTree

__all__ = ["FORMATS", "LIST_SEPARATOR", "Row", "render", "rows_of"]

#: The output formats, as `--output` takes them.
FORMATS = ("table", "json", "ndjson", "csv", "md", "xml")

LIST_SEPARATOR = ";"
_LIST_COLUMNS = frozenset({"labels", "committees", "overlap_committees"})
_YES_NO_COLUMNS = frozenset({"late", "overlap"})

Row = dict[str, object]


def rows_of(columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> list[Row]:
    """SQLite's rows as dictionaries of typed values (lists as lists, yes/no as bool)."""
    typed: list[Row] = []
    for row in rows:
        item: Row = {}
        for column, value in zip(columns, row, strict=True):
            if column in _LIST_COLUMNS:
                item[column] = [] if value is None else str(value).split(LIST_SEPARATOR)
            elif column in _YES_NO_COLUMNS and value is not None:
                item[column] = bool(value)
            else:
                item[column] = value
        typed.append(item)
    return typed


def _flat(value: object) -> str:
    """A value as one cell of text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def render(
    rows: Sequence[Row], columns: Sequence[str], output: str, *, kind: str, width: int = 80
) -> str:
    """`rows` (whose keys are `columns`) as `output`; `kind` names a row in XML (`trade`)."""
    if output == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=1) + "\n"
    if output == "ndjson":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_flat(row[column]) for column in columns] for row in rows)
        return buffer.getvalue()
    if output == "md":
        return _markdown(rows, columns)
    if output == "xml":
        return _xml(rows, columns, kind)
    if output == "table":
        return _table(rows, kind, width)
    raise ValueError(f"unknown output format {output!r}")


def _markdown(rows: Sequence[Row], columns: Sequence[str]) -> str:
    def cell(value: object) -> str:
        return _flat(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _xml(rows: Sequence[Row], columns: Sequence[str], kind: str) -> str:
    root = ElementTree.Element(kind + "s")
    for row in rows:
        element = ElementTree.SubElement(root, kind)
        for column in columns:
            value = row[column]
            if value is None:
                continue
            child = ElementTree.SubElement(element, column)
            if isinstance(value, list):
                for item in value:
                    ElementTree.SubElement(child, "item").text = str(item)
            else:
                child.text = _flat(value)
    ElementTree.indent(root)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode")
        + "\n"
    )


# The table's columns per kind: (key, heading, width; 0 takes what the others leave). Amounts
# are in US dollars, as their headings say; a trade's range is the one its member disclosed.
_TABLE_COLUMNS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "trade": (
        ("pub_date", "PUBLISHED", 10), ("tx_date", "TRADED", 10), ("politician", "POLITICIAN", 0),
        ("party", "P", 1), ("tx_type", "TYPE", 8), ("ticker", "TICKER", 9),
        ("bracket", "RANGE $", 9),
    ),
    "politician": (
        ("politician_id", "ID", 7), ("name", "NAME", 0), ("party", "P", 1), ("state", "ST", 2),
        ("chamber", "CHAMBER", 7), ("trades", "TRADES", 6), ("volume", "VOLUME $", 8),
        ("last_traded", "LAST", 10),
    ),
    "issuer": (
        ("issuer_id", "ID", 7), ("name", "NAME", 0), ("ticker", "TICKER", 9),
        ("sector", "SECTOR", 14), ("trades", "TRADES", 6), ("volume", "VOLUME $", 8),
        ("market_cap", "MCAP $", 7),
    ),
    "committee": (("code", "CODE", 4), ("chamber", "CHAMBER", 7), ("name", "NAME", 0)),
}  # fmt: skip


def _money(value: int) -> str:
    """An amount of dollars in a few characters: 950, 8.0K, 29.5M, 3.00T."""
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if value >= size:
            shown = value / size
            return f"{shown:.2f}{suffix}" if shown < 10 else f"{shown:.1f}{suffix}"
    return str(value)


def _table(rows: Sequence[Row], kind: str, width: int) -> str:
    """A table that fits `width` columns: the key facts of each row; the rest is in the other
    formats (the same rows)."""
    spec = _TABLE_COLUMNS[kind]
    fixed = sum(w for _, _, w in spec) + 2 * (len(spec) - 1)
    flexible = max(8, width - fixed)

    def cell(row: Row, key: str, size: int) -> str:
        value = row[key]
        if key == "ticker" and value is None:
            value = row.get("issuer") if kind == "trade" else None  # (no ticker: its name)
        text = _flat(value)
        if key == "pub_date":
            text = text[:10]
        elif key == "party":
            text = text[:1].upper()
        elif key in ("volume", "market_cap") and isinstance(value, int):
            text = _money(value)
        if len(text) > size:
            text = text[: size - 1] + "…"
        right = isinstance(value, int) and not isinstance(value, bool)
        return text.rjust(size) if right else text.ljust(size)

    sizes = [w or flexible for _, _, w in spec]
    lines = ["  ".join(h.ljust(s) for (_, h, _), s in zip(spec, sizes, strict=True)).rstrip()]
    for row in rows:
        cells = [cell(row, key, s) for (key, _, _), s in zip(spec, sizes, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
