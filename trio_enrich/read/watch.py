"""Watch rules: which new trades a person wants to hear about (`update --watch`, `news
--watch`).

A rule is one or more conditions joined by commas, all of which a trade must meet
(``party:democrat,min-value:250000``); a trade is wanted when any rule wants it (a watchlist:
``politician:P000197`` and ``ticker:NVDA`` are two rules, either will do). No rule: every trade.

    politician:P000197   the member, by id
    ticker:NVDA          the ticker (NVDA finds NVDA:US)
    issuer:429090        the issuer, by id
    committee:ssbk       members of the committee (per the stored rosters)
    party:democrat       democrat, republican or other
    min-value:250000     a value (the range's midpoint) of at least this many USD
    late                 published over 45 days after the trade

Sans-io: rules in, one SQL condition over the flat trade view out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import UsageError
from ..site.roster import COMMITTEES

__all__ = ["KINDS", "WatchRule", "parse_rules", "read_rules_file", "rules_condition"]

#: What a condition may name, with the words `--help` and errors use.
KINDS = {
    "politician": "a member's id (P000197)",
    "ticker": "a ticker (NVDA)",
    "issuer": "an issuer's id (a number)",
    "committee": "a committee's code (ssbk)",
    "party": "democrat, republican or other",
    "min-value": "a value in USD (250000)",
    "late": "no value",
}
_PARTIES = ("democrat", "republican", "other")
_MOST_USD = 10**12


@dataclass(frozen=True, slots=True)
class WatchRule:
    """One rule: its conditions (kind, value), all of which a trade must meet."""

    text: str  # as written, for the words that name it
    conditions: tuple[tuple[str, str], ...]


def _condition(part: str, rule: str) -> tuple[str, str]:
    kind, _, value = part.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    where = f"watch rule {rule!r}"
    if kind not in KINDS:
        raise UsageError(f"{where}: {kind!r} is not one of: {', '.join(KINDS)}")
    if kind == "late":
        if value:
            raise UsageError(f"{where}: late takes no value")
        return kind, ""
    if not value:
        raise UsageError(f"{where}: {kind} needs a value: {KINDS[kind]}")
    if kind == "party" and value.lower() not in _PARTIES:
        raise UsageError(f"{where}: party {value!r} is not one of: {', '.join(_PARTIES)}")
    if kind == "committee" and value.lower() not in COMMITTEES:
        raise UsageError(f"{where}: {value!r} is not a committee code "
                         "(`trio-enrich list committees` names them)")  # fmt: skip
    if kind in ("issuer", "min-value") and (not value.isdigit() or int(value) > _MOST_USD):
        raise UsageError(f"{where}: {kind} takes a whole number, not {value!r}")
    return kind, value


def parse_rules(texts: Sequence[str]) -> tuple[WatchRule, ...]:
    """The rules written in `texts` (one rule each; blank ones and `#` comments skipped);
    UsageError naming the rule and what is wrong with it."""
    rules = []
    for text in texts:
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        parts = [part for part in text.split(",") if part.strip()]
        rules.append(WatchRule(text, tuple(_condition(part, text) for part in parts)))
    return tuple(rules)


def read_rules_file(path: Path, what: str = "watch file") -> list[str]:
    """The lines of a file of rules (or URLs), UsageError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read the {what} {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise UsageError(f"the {what} {path} is not UTF-8 text") from error


def _sql(kind: str, value: str) -> tuple[str, tuple[object, ...]]:
    if kind == "politician":
        return "upper(politician_id) = ?", (value.upper(),)
    if kind == "ticker":
        root = value.upper()
        return "(upper(ticker) = ? OR upper(ticker) LIKE ? || ':%')", (root, root)
    if kind == "issuer":
        return "issuer_id = ?", (int(value),)
    if kind == "committee":
        return ("politician_id IN (SELECT politician_id FROM politician_committees WHERE "
                "committee = ?)", (value.lower(),))  # fmt: skip
    if kind == "party":
        return "party = ?", (value.lower(),)
    if kind == "min-value":
        return "value >= ?", (int(value),)
    return "late", ()


def rules_condition(rules: Sequence[WatchRule]) -> tuple[str, tuple[object, ...]]:
    """One SQL condition over the flat trade view that a trade meets when a rule wants it
    ("1" when there are no rules), and its parameters in order."""
    if not rules:
        return "1", ()
    alternatives: list[str] = []
    parameters: list[object] = []
    for rule in rules:
        parts = []
        for kind, value in rule.conditions:
            sql, values = _sql(kind, value)
            parts.append(sql)
            parameters.extend(values)
        alternatives.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(alternatives) + ")", tuple(parameters)
