"""The ``trio-enrich`` app: its commands registered, errors mapped to exit codes.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker, the not-found guard or an unreachable site; 130 interrupted (SIGINT); 143
terminated (SIGTERM).
"""

import signal
import sys
from collections.abc import Sequence

import cyclopts
from cyclopts import Parameter

from .._defaults import VERSION
from .._errors import (
    EXIT_BREAKER,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    RunStopped,
    SiteUnavailable,
    TrioEnrichError,
    leaves,
)
from .._help import unused_tokens_message
from ..commands import console
from . import archive, fetching, offline, reading

__all__ = ["app", "main", "run_and_exit_code"]

app = cyclopts.App(
    name="trio-enrich",
    help=(
        "Keep a local SQLite copy of Capitol Trades (capitoltrades.com) complete: fetch the "
        "detail page of every trade and issuer, politely and concurrently, and write what it "
        "adds into a capitoltraders.db.\n\n"
        "Exit codes: 0 done; 1 finished with item failures (or a sync that did not reach its "
        "end); 2 usage or input error, nothing changed; 3 stopped, run it again: by the "
        "circuit breaker, the not-found guard, a site that refuses the run (blocked, or a "
        "layout this version does not read), a site that cannot be reached, a robots.txt that "
        "cannot be read, or a write that failed (a full disk); 130 interrupted; 141 the "
        "output's reader went away; 143 terminated."
    ),
    version=VERSION,
    backend="trio",
    default_parameter=Parameter(negative=()),
)

# The commands (--help lists them by name).
for command in (
    fetching.trades,
    fetching.issuers,
    fetching.sync,
    fetching.committees,
    fetching.update,
    fetching.status,
    fetching.check,
    archive.reparse,
    archive.page,
):
    app.command(command)
archive_app = cyclopts.App(name="archive", help=archive.ARCHIVE_HELP)
archive_app.command(archive.prune)
app.command(archive_app)
app.command(offline.demo)
app.command(offline.sim)
app.command(reading.list_app)
app.command(reading.news)
app.command(reading.export)
app.command(reading.serve)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    console.start_log(args)
    try:
        return _main(args)
    finally:
        console.end_log()


def _main(args: list[str]) -> int:
    try:
        return _invoke(args)
    except cyclopts.UnusedCliTokensError as error:
        console.error(unused_tokens_message(list(error.unused_tokens or []), str(error)))
        return EXIT_USAGE
    except cyclopts.CycloptsError as error:
        console.error(str(error))
        return EXIT_USAGE
    except (SiteUnavailable, RunStopped) as error:
        return console.failed(args, str(error), EXIT_BREAKER)
    except TrioEnrichError as error:
        return console.failed(args, str(error), EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)


def run_and_exit_code() -> int:
    """`main`, and the exit code to leave with (see ``_entry.entry``, the console script).

    Once the run is over, a late second Ctrl-C (or SIGTERM) must not kill the process on its
    way out, which would replace our exit code with the signal's.
    """
    try:
        code = main()
        sys.stdout.flush()  # here, where a closed pipe can still be told (not at exit)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = console.reader_gone()
    return code


def _invoke(args: list[str]) -> int:
    if any(arg in ("-h", "--help", "--version") for arg in args):
        app.console = console.console_for_pipes()  # (rich is imported for help anyway)
    # Errors raised inside a nursery arrive grouped; unwrap ours so they print as one line,
    # every one of them (two tasks can fail at once: say both).
    try:
        result = app(args, result_action="return_value", exit_on_error=False, print_error=False)
    except* TrioEnrichError as group:
        errors = leaves(group)
        if len(errors) == 1:
            raise errors[0] from None
        joined = "; ".join(dict.fromkeys(str(error) for error in errors))
        raise TrioEnrichError(joined) from group
    except* KeyboardInterrupt:
        raise KeyboardInterrupt from None
    except* BrokenPipeError as group:
        raise leaves(group)[0] from None
    return result if isinstance(result, int) else EXIT_OK
