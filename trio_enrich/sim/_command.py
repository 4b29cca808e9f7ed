"""``trio-enrich sim``: serve the simulated site until Ctrl-C (the command's work, beside the
simulator; the command line only declares its options)."""

from __future__ import annotations

import errno
import signal
import sys
from pathlib import Path

import trio

from .._errors import UsageError
from ._dataset import make_dataset
from ._faults import profile as fault_profile
from ._server import open_simulator

__all__ = ["serve_until_signal"]


async def serve_until_signal(
    *,
    port: int,
    seed: int,
    profile: str,
    trades: int,
    latency_ms: float | None,
    shape: str,
    retry_after: float | None,
    log: Path | None,
    overrides: dict[str, object] | None = None,
) -> int:
    """Serve on 127.0.0.1:`port` until SIGINT or SIGTERM; write the request log if asked.

    `overrides` are Faults fields set over the profile's (those given, not None). A log that
    cannot be written and a port in use are refused before anything is served."""
    if log is not None:
        check_writable(log, "--log")
    faults = fault_profile(profile).with_(detail_shape=shape)
    changes = {name: value for name, value in (overrides or {}).items() if value is not None}
    if changes:
        faults = faults.with_(**changes)
    if latency_ms is not None:
        faults = faults.with_(latency_ms=latency_ms, latency_median_ms=None, latency_p99_ms=None)
    if retry_after is not None:
        faults = faults.with_(retry_after=retry_after)
    dataset = make_dataset(seed, trades)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        try:
            async with open_simulator(dataset, faults, seed=seed, port=port) as simulator:
                print(
                    f"serving {simulator.base_url} ({len(dataset.trades)} trades, "
                    f"{len(dataset.issuers)} issuers, profile {profile}); Ctrl-C stops",
                    file=sys.stderr,
                    flush=True,
                )
                async for _ in signals:
                    break
        except* OSError as group:
            if any(getattr(e, "errno", None) == errno.EADDRINUSE for e in group.exceptions):
                raise UsageError(
                    f"--port {port} is in use on 127.0.0.1; pick another (0: any free one)"
                ) from None
            raise
    if log is not None:
        await trio.Path(log).write_text(simulator.log.json_lines())
    print(f"stopped after {len(simulator.log)} requests", file=sys.stderr)
    return 0


def check_writable(path: Path, flag: str) -> None:
    """Refuse a file that cannot be written, before the work that it would record."""
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder, not a file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: folder {folder} does not exist")


def read_robots_file(path: Path) -> str:
    """The text of `sim --robots-txt`, or a one-line error naming the problem."""
    try:
        return path.read_text()
    except IsADirectoryError:
        raise UsageError(f"--robots-txt {path} is a folder, not a file") from None
    except FileNotFoundError:
        raise UsageError(f"--robots-txt {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--robots-txt {path} cannot be read: {error}") from None
