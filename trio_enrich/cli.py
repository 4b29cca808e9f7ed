"""The ``trio-enrich`` command line: thin commands over the library, mapped to exit codes.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker; 130 interrupted (SIGINT); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import cyclopts

from . import __version__

__all__ = ["app", "main"]

app = cyclopts.App(
    name="trio-enrich",
    help=(
        "Keep a local SQLite copy of Capitol Trades (capitoltrades.com) complete: fetch the "
        "detail page of every trade and issuer, politely and concurrently, and write what it "
        "adds into a capitoltraders.db."
    ),
    version=__version__,
    backend="trio",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args, result_action="return_value")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return result if isinstance(result, int) else 0
