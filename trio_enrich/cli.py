"""The ``trio-enrich`` command line: thin commands over the library, mapped to exit codes.

Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped by the
circuit breaker; 130 interrupted (SIGINT); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import cyclopts
import trio
from cyclopts import Parameter, validators

from . import __version__
from ._errors import TrioEnrichError

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "app", "main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

app = cyclopts.App(
    name="trio-enrich",
    help=(
        "Keep a local SQLite copy of Capitol Trades (capitoltrades.com) complete: fetch the "
        "detail page of every trade and issuer, politely and concurrently, and write what it "
        "adds into a capitoltraders.db.\n\n"
        "Exit codes: 0 done; 1 finished with item failures; 2 usage or input error; 3 stopped "
        "by the circuit breaker; 130 interrupted; 143 terminated."
    ),
    version=__version__,
    backend="trio",
)


def _error(message: str) -> None:
    print(f"trio-enrich: error: {' '.join(message.split())}", file=sys.stderr)


@app.command
async def sim(
    *,
    port: Annotated[int, Parameter(validator=validators.Number(gte=0, lte=65535))] = 8765,
    seed: int = 1,
    profile: Literal["clean", "realistic", "hostile"] = "clean",
    trades: Annotated[int, Parameter(validator=validators.Number(gte=1, lte=1_000_000))] = 5_000,
    latency_ms: Annotated[float | None, Parameter(validator=validators.Number(gte=0))] = None,
    shape: Literal["live", "object"] = "live",
    log: Path | None = None,
) -> int:
    """Serve a simulated capitoltrades.com on 127.0.0.1, for trying trio-enrich offline.

    Pages are in the real site's format, made from a deterministic dataset; the profile adds
    faults (latency, 429 with Retry-After, 5xx bursts, resets, hangs, truncated and oversized
    bodies, not-found and error pages). Point trio-enrich at it with --base-url. Ctrl-C stops it.

    Parameters
    ----------
    port
        TCP port on 127.0.0.1; 0 picks a free one (the address is printed).
    seed
        Seed of the dataset and of the faults: the same seed gives the same site.
    profile
        Faults: clean (none), realistic (about 150 ms latency, 1% 5xx, 0.5% 429) or hostile
        (every fault at once).
    trades
        Number of trades in the dataset (issuers and politicians follow from them).
    latency_ms
        Fixed latency for every request, in milliseconds, instead of the profile's.
    shape
        Trade detail page shape: live (value/label spans, as the site is reported to serve
        now) or object (a full trade object).
    log
        Write the request log (JSON lines) to this file when stopping.
    """
    from .sim import make_dataset, open_simulator
    from .sim import profile as fault_profile

    faults = fault_profile(profile).with_(detail_shape=shape)
    if latency_ms is not None:
        faults = faults.with_(latency_ms=latency_ms, latency_median_ms=None, latency_p99_ms=None)
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
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args, result_action="return_value", exit_on_error=False, print_error=False)
    except cyclopts.CycloptsError as error:
        _error(str(error))
        return EXIT_USAGE
    except TrioEnrichError as error:
        _error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    return result if isinstance(result, int) else EXIT_OK
