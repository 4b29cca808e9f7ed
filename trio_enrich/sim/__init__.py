"""A simulated capitoltrades.com on 127.0.0.1, with fault injection.

For tests, the demo and the benchmarks: pages in the real format from a deterministic dataset,
faults by rate, schedule or id, and a request log to check politeness against.

    async with open_simulator(trades=600, faults=profile("realistic")) as sim:
        ...  # fetch sim.base_url + "/trades/..."; sim.log has every request
"""

from __future__ import annotations

from ._command import serve_until_signal
from ._dataset import PRICE_WINDOW, Dataset, SimIssuer, SimTrade, make_dataset
from ._faults import FAULT_NAMES, PROFILES, Faults, profile
from ._server import RequestLog, RequestRecord, Simulator, open_simulator

__all__ = [
    "FAULT_NAMES",
    "PRICE_WINDOW",
    "PROFILES",
    "Dataset",
    "Faults",
    "RequestLog",
    "RequestRecord",
    "SimIssuer",
    "SimTrade",
    "Simulator",
    "make_dataset",
    "open_simulator",
    "profile",
    "serve_until_signal",
]
