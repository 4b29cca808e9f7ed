"""The console script's entry: answers Ctrl-C and SIGTERM from the first instant.

This module imports nothing heavy. Until the command line takes over (trio's signal receivers
during a run), a SIGINT or SIGTERM ends the process with 130 or 143 and no traceback, even when
it lands while the rest of the program is still being imported.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class _StartupSignal(BaseException):
    """A signal that arrived before the command line could handle it."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _StartupSignal(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED)


def entry() -> None:
    """The ``trio-enrich`` command: run it, then exit with its code."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        from .cli import run_and_exit_code

        code = run_and_exit_code()
    except BaseException as error:  # the signal may arrive grouped, from inside a nursery
        stop = _startup_signal_in(error)
        if stop is None:
            raise
        code = stop.code
    sys.exit(code)


def _startup_signal_in(error: BaseException) -> _StartupSignal | None:
    if isinstance(error, _StartupSignal):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _startup_signal_in(inner)
            if found is not None:
                return found
    return None
