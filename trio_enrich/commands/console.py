"""The command line's console: the one-line errors, a cron run's stamped log, pipes.

Nothing here knows cyclopts (``cli`` parses the flags): what a run writes, to which stream,
stamped how, and what a command that stopped with an error prints (its line, and with --json
its object all the same).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .._defaults import VERSION, local_time
from .._errors import EXIT_PIPE_CLOSED
from .._help import shown_arguments

if TYPE_CHECKING:
    from rich.console import Console

    from .progress import StampedLines

__all__ = [
    "console_for_pipes", "end_log", "error", "failed", "log_begins", "reader_gone",
    "start_log",
]  # fmt: skip


def error(message: str) -> None:
    """The one line of an error, on stderr."""
    if _run_log is not None:
        _run_log.error()
    print(f"trio-enrich: error: {' '.join(message.split())}", file=sys.stderr)


def failed(args: list[str], message: str, code: int) -> int:
    """A command that stopped with an error once its flags were taken: the one-line error,
    and with --json its object all the same (a script reading stdout gets one every time)."""
    error(message)
    if "--json" in args:
        words = [arg for arg in args if not arg.startswith("-")][:2]
        job = " ".join(words[:2] if words[:1] == ["archive"] else words[:1])
        print(json.dumps({"job": job, "exit_code": code, "error": " ".join(message.split())}),
              flush=True)  # fmt: skip
    return code


class RunLog:
    """A run's log read by night: once its flags are taken (`begin`, from the command), every
    line written, to either stream, starts with the local time, up to the last (an error
    that stops the run included), and the first the run writes is preceded by a line naming
    the version, command, pid, database and start. Standard output that carries one JSON
    object is left as it is. Bad input is one line, as ever: a usage error is said before
    the log begins, and an error before the run wrote anything comes alone (`error`)."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self._saved: tuple[TextIO, TextIO] | None = None
        self._streams: list[StampedLines] = []

    def begin(self) -> None:
        from .progress import StampedLines

        if self._saved is not None:
            return
        args = self.args
        db = flag_value(args, "--db")
        where = "a new one in a temporary folder" if db is None and args[0] == "demo" else None
        first = (
            f"trio-enrich {VERSION}: {' '.join(['trio-enrich', *shown_arguments(args)])} "
            f"(pid {os.getpid()});"
            f" database {where or Path(db or 'capitoltraders.db').absolute()};"
            f" started {local_time()}\n"
        )
        self._saved = sys.stdout, sys.stderr
        self._streams = [StampedLines(sys.stderr)]
        if "--json" not in args:
            self._streams.append(StampedLines(sys.stdout))
        sys.stderr = self._streams[0]
        if len(self._streams) > 1:
            sys.stdout = self._streams[1]

        def header() -> None:
            self.error()  # (once: whichever stream is written first)
            self._streams[0].write(first)

        for stream in self._streams:
            stream.before_first = header

    def error(self) -> None:
        """An error ends the run: it is said alone when the run wrote nothing before it."""
        for stream in self._streams:
            stream.before_first = None

    def end(self) -> None:
        if self._saved is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = self._saved
            self._saved = None


_run_log: RunLog | None = None


def start_log(args: list[str]) -> None:
    """A run's log begins to be stamped by line when its progress is log lines."""
    global _run_log
    _run_log = RunLog(args) if logs_by_line(args) else None


def end_log() -> None:
    global _run_log
    if _run_log is not None:
        _run_log.end()
        _run_log = None


def log_begins() -> None:
    """Called by a run command once its flags are taken (see RunLog)."""
    if _run_log is not None:
        _run_log.begin()


#: The commands that run with progress: in log mode every line they write is timestamped.
_RUN_COMMANDS = frozenset({"sync", "trades", "issuers", "committees", "update", "reparse", "demo"})


def flag_value(args: Sequence[str], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg.partition("=")[2]
    return None


def logs_by_line(args: Sequence[str]) -> bool:
    """A run whose progress is log lines (`--progress log`, or `auto` off a terminal: cron):
    then every line it writes, to either stream, starts with the local time."""
    if not args or args[0] not in _RUN_COMMANDS or {"-h", "--help"} & set(args):
        return False
    mode = flag_value(args, "--progress") or "auto"
    return mode == "log" or (mode == "auto" and not sys.stderr.isatty())


def console_for_pipes() -> Console:
    """rich's console, but a closed pipe is told to us (rich would exit 1 by itself)."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole()


def reader_gone() -> int:
    """The output's reader closed it (`trio-enrich status | head -1`): no traceback, and the
    status a shell gives a program that a closed pipe stopped. What was written to the
    database stays written: every command prints after its commits. Python would try to
    flush the dead pipe again at exit, so standard output now goes nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE_CLOSED
