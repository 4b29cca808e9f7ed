"""The console script's entry: answers Ctrl-C and SIGTERM from the first instant.

This module imports nothing heavy. Until the command line takes over (trio's signal receivers
during a run), a SIGINT or SIGTERM ends the process at once with 130 or 143 and no traceback,
even when it lands while the rest of the program is still being imported.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Outside a run's own signal handling nothing is under way that a stop must finish: exit
    # now. Raising instead would land at any instruction, possibly inside trio's scheduler
    # while it starts, which then reports an internal error with a traceback. An SQLite
    # transaction cut here is rolled back at the next open, as after SIGKILL.
    os._exit(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED)


def entry() -> None:
    """The ``trio-enrich`` command: run it, then exit with its code."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if sys.argv[1:2] in (["list"], ["news"], ["export"], ["serve"]) and not {"-h", "--help"} & set(
        sys.argv
    ):
        # A read command answers in milliseconds: without the fetching side (trio, httpx).
        from .cli.reading import run_light

        sys.exit(run_light(sys.argv[1:]))
    from .cli import run_and_exit_code

    sys.exit(run_and_exit_code())
