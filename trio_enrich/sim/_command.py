"""``trio-enrich sim``: serve the simulated site until Ctrl-C (the command's work, beside the
simulator; the command line only declares its options)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import trio

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

    `overrides` are Faults fields set over the profile's (those given, not None)."""
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
        async with open_simulator(dataset, faults, seed=seed, port=port) as simulator:
            print(
                f"serving {simulator.base_url} ({len(dataset.trades)} trades, "
                f"{len(dataset.issuers)} issuers, profile {profile}); Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )
            async for _ in signals:
                break
    if log is not None:
        await trio.Path(log).write_text(simulator.log.json_lines())
    print(f"stopped after {len(simulator.log)} requests", file=sys.stderr)
    return 0
