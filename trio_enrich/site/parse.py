"""Sans-io page readers for capitoltrades.com: bytes in, values or a classified failure out.

No I/O, no trio, no httpx: only the standard library. Every reader returns either a value or a
:class:`PageFailure` and never raises on bad input, whatever the bytes are. The flight data is
decoded and resolved by ``_flight`` (docs/FLIGHT.md); ``_page`` is the step the readers share
(decode, check for a cut page, classify); each page has its reader module.
"""

from __future__ import annotations

from .page import flight_text
from .read_issuers import parse_issuer_detail
from .read_politicians import parse_politicians_page
from .read_trades import parse_trade_detail, parse_trades_page, trade_detail_from_object

__all__ = [
    "flight_text",
    "parse_issuer_detail",
    "parse_politicians_page",
    "parse_trade_detail",
    "parse_trades_page",
    "trade_detail_from_object",
]
