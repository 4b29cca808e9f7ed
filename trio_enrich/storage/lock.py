"""One writer per database: a run lock the operating system releases when the run ends.

The lock is an exclusive ``flock`` on the database file itself, so no file is added beside it
and a run that dies (SIGKILL included) leaves nothing stale: the kernel drops the lock with the
process. ``flock`` locks are separate from the POSIX record locks SQLite takes on the same file,
so the two do not disturb each other. Who holds the lock (pid, command, since when) is written
by the holder into ``trio_enrich_meta`` so that a second run can name it.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # not on this platform: runs are not serialised
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunLock"]


class RunLock:
    """An exclusive lock on a database file for the length of a run."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another run holds it."""
        if fcntl is None or self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
