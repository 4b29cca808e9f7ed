"""The ``trio-enrich`` command line, the one module set that knows cyclopts: the shared flags
(``flags``), the commands that fetch (``fetching``), the archive's (``archive``), those that
need no site (``offline``), and the app that registers them and maps errors to exit codes
(``program``). Each command only parses its flags and hands plain settings to ``commands``.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker, the not-found guard or an unreachable site; 130 interrupted (SIGINT); 143
terminated (SIGTERM).
"""

from __future__ import annotations

from .program import app, main, run_and_exit_code

__all__ = ["app", "main", "run_and_exit_code"]
