"""After `update` has committed its data: the feed, then one digest per destination of the new
trades its watch rules want, every destination at once.

Nothing here can fail or delay the data: it runs after the stages, in the run's own session
(under its lock, so that two runs never send the same news), and a destination that is down
costs only its own time (a bounded wait, three tries). What a run could not deliver stays
pending in the ledger for the next run. A first Ctrl-C lets the digest in flight finish and
sends no more; what was in flight when the process died is sent again by the next run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio

from .._errors import UsageError
from ..read.feed import atom_feed, write_atomically
from ..read.watch import WatchRule, rules_condition
from ..storage import deliveries as ledger
from ..storage.bookkeeping import utc_now
from ..storage.store import Store
from .apprise_sender import Destination
from .digest import digest

__all__ = ["AlertSettings", "Alerts", "AlertsReport", "DeliveryReport", "FeedReport"]

#: Trades per message: a digest stays readable, and within what chat services accept.
DIGEST_SIZE = 50
#: Tries of one digest within a run, and the pauses between them (seconds).
PAUSES = (0.5, 2.0)
#: The longest one try may take (Apprise's own connect and read timeouts are shorter).
TIMEOUT = 30.0

Send = Callable[[Destination, str, str, float], "str | None"]


@dataclass(frozen=True, slots=True)
class AlertSettings:
    destinations: tuple[Destination, ...] = ()
    rules: tuple[WatchRule, ...] = ()
    history: bool = False  # send the news of a run that filled an empty copy
    feed: Path | None = None
    feed_size: int = 100

    def __bool__(self) -> bool:
        return bool(self.destinations) or self.feed is not None


@dataclass(slots=True)
class DeliveryReport:
    label: str
    queued: int = 0  # new trades this run queued for it
    sent: int = 0
    failed: int = 0  # in digests that failed this run (still pending)
    pending: int = 0  # after this run
    error: str | None = None
    history: tuple[int, ...] = ()  # runs that filled an empty copy: not sent

    def as_dict(self) -> dict[str, object]:
        return {"destination": self.label, "queued": self.queued, "sent": self.sent,
                "failed": self.failed, "pending": self.pending, "error": self.error,
                "history_runs_not_sent": list(self.history)}  # fmt: skip


@dataclass(slots=True)
class FeedReport:
    path: str
    entries: int = 0
    error: str | None = None


@dataclass(slots=True)
class AlertsReport:
    feed: FeedReport | None = None
    deliveries: list[DeliveryReport] = field(default_factory=list)
    stopped: bool = False  # a signal came before every digest was sent

    @property
    def failed(self) -> bool:
        return any(d.error for d in self.deliveries) or bool(self.feed and self.feed.error)

    def as_dict(self) -> dict[str, object]:
        feed = None
        if self.feed is not None:
            feed = {"path": self.feed.path, "entries": self.feed.entries, "error": self.feed.error}
        return {"feed": feed, "deliveries": [d.as_dict() for d in self.deliveries],
                "stopped": self.stopped}  # fmt: skip

    def lines(self) -> list[str]:
        """What a person reads after the stages' summaries."""
        said = []
        if self.feed is not None:
            if self.feed.error:
                said.append(f"feed: not written: {self.feed.error}")
            else:
                said.append(f"feed: {self.feed.path}, {self.feed.entries} trades")
        for d in self.deliveries:
            if d.history:
                runs = ", ".join(str(run) for run in d.history)
                said.append(f"notify {d.label}: run {runs} filled an empty copy: its trades are "
                            "history, not news (--notify-history sends them)")  # fmt: skip
            words = f"notify {d.label}: {d.sent} sent"
            if d.error:
                words += (f", {d.failed} failed ({d.error}); {d.pending} pending: the next run "
                          "sends them")  # fmt: skip
            elif d.pending:
                words += f", {d.pending} pending"
            said.append(words)
        if self.stopped:
            said.append("Stopped before every digest was sent: the next run sends the rest "
                        "(a digest in flight at the stop, again).")  # fmt: skip
        elif self.failed:
            said.append("The data is complete; what could not be delivered is kept for the "
                        "next run (exit 1).")  # fmt: skip
        return said


class Alerts:
    """The feed and the deliveries of one `update`."""

    def __init__(self, settings: AlertSettings, send: Send | None = None) -> None:
        if send is None:
            from .apprise_sender import send as apprise_send

            send = apprise_send
        self.settings = settings
        self._send = send
        self._ids: dict[str, int] = {}

    async def join(self, store: Store) -> None:
        """At the run's start: each destination takes part in this run (its news are queued
        for it even if the run dies before it sends them)."""
        if store.run_id is None:
            return  # (a copy whose tables predate the ledger: nothing to deliver from)
        for to in self.settings.destinations:
            self._ids[to.fingerprint] = await store.run(
                store.transact, ledger.join, to.fingerprint, to.label, store.run_id, utc_now()
            )

    async def finish(self, store: Store, stop: trio.Event) -> AlertsReport:
        """The feed, then every destination's digests at once."""
        report = AlertsReport()
        if self.settings.feed is not None:
            report.feed = await self._write_feed(store, self.settings.feed)
        wanted, parameters = rules_condition(self.settings.rules)
        report.deliveries = [DeliveryReport(to.label) for to in self.settings.destinations]
        async with trio.open_nursery() as nursery:
            for to, delivery in zip(self.settings.destinations, report.deliveries, strict=True):
                nursery.start_soon(self._deliver, store, to, delivery, wanted, parameters, stop)
        report.stopped = stop.is_set()
        return report

    async def _write_feed(self, store: Store, path: Path) -> FeedReport:
        rows = await store.run(store.transact, ledger.newest_rows, self.settings.feed_size)
        done = FeedReport(str(path), len(rows))
        try:
            await trio.to_thread.run_sync(write_atomically, path, atom_feed(rows, utc_now()))
        except UsageError as error:
            done.error, done.entries = str(error), 0
        return done

    async def _deliver(
        self,
        store: Store,
        to: Destination,
        report: DeliveryReport,
        wanted: str,
        parameters: Sequence[object],
        stop: trio.Event,
    ) -> None:
        destination_id = self._ids.get(to.fingerprint)
        if destination_id is None:  # (`join` found no runs' ledger to note the run in)
            report.error = "the copy has no runs' ledger: nothing is known to be new"
            return
        queued = await store.run(
            store.transact, ledger.queue, destination_id, wanted, parameters, utc_now(),
            self.settings.history,
        )  # fmt: skip
        report.queued, report.history = queued.trades, queued.history
        parts = math.ceil(await self._pending(store, destination_id) / DIGEST_SIZE)
        part = 0
        while not stop.is_set():
            tx_ids, rows = await store.run(
                store.transact, ledger.claim, destination_id, DIGEST_SIZE, utc_now()
            )
            if not tx_ids:
                break
            part += 1
            title, body = digest(rows, part, max(parts, part))
            error = await self._try(to, title, body, stop)
            if error is None:
                await store.run(store.transact, ledger.delivered, destination_id, tx_ids,
                                utc_now())  # fmt: skip
                report.sent += len(tx_ids)
            else:
                await store.run(store.transact, ledger.failed, destination_id, tx_ids, error)
                report.failed, report.error = len(tx_ids), error
                break  # (down: the rest wait for the next run)
        report.pending = await self._pending(store, destination_id)

    async def _try(self, to: Destination, title: str, body: str, stop: trio.Event) -> str | None:
        error: str | None = None
        for pause in (0.0, *PAUSES):
            if pause:
                with trio.move_on_after(pause):
                    await stop.wait()
                if stop.is_set():
                    break
            error = await trio.to_thread.run_sync(
                self._send, to, title, body, TIMEOUT, abandon_on_cancel=True
            )
            if error is None:
                return None
        return error

    @staticmethod
    async def _pending(store: Store, destination_id: int) -> int:
        states = await store.run(store.transact, ledger.destinations)
        return next((d.pending for d in states if d.destination_id == destination_id), 0)
