"""The ``trio-enrich`` command line, the one module set that knows cyclopts: the shared flags
(``flags``), the commands that fetch (``fetching``), the archive's (``archive``), those that
need no site (``offline``), and the app that registers them and maps errors to exit codes
(``program``). Each command only parses its flags and hands plain settings to ``commands``.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker, the not-found guard or an unreachable site; 130 interrupted (SIGINT); 143
terminated (SIGTERM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .program import app, main, run_and_exit_code

__all__ = ["app", "main", "run_and_exit_code"]


def __getattr__(name: str) -> object:
    # Lazily: the read commands (``reading``) must not import the fetching side with it.
    if name in __all__:
        from . import program

        return getattr(program, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
