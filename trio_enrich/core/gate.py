"""The gate every request passes: a pause for every worker (Retry-After), a global rate cap
(fixed, or the adaptive law of `--max-rps auto`), the limit the site states in its headers,
and fixed pacing's watch on its pauses."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from .pacing import AdaptiveRate, PauseWatch, Signal
from .site_limit import StatedLimits
from .stats import Tally

__all__ = ["Gate", "Ticket"]


class Gate:
    """Admits requests: a pause for every worker (Retry-After) and a global rate cap.

    Both rules hold for every worker at once: while a pause lasts no request leaves, and with
    `max_rps` requests leave on an even grid of slots, and never more than `max_rps` in any 1 s.

    The grid is the point: each waiter reserves the slot one interval after the previous
    *slot*, not after the moment the previous waiter happened to wake. Timers wake late on a
    busy machine; a pacer that spaces from wake-up times lets that lateness add up, and the
    rate falls below the cap (17.9 instead of 20 per second was measured under load). A small
    log of send times keeps the cap strict when late wake-ups bunch requests together.

    Fixed pacing hands over to the adaptive law when a `Retry-After` pause did not cure the
    site's refusals, and takes its pace back when the law does no better (see `PauseWatch`).

    A limit the site states (`RateLimit` headers and the like, heard by the client) caps
    both, as robots.txt's rate does; a window whose quota is used up holds every worker until
    it resets, as a `Retry-After` does.
    """

    # Spacing requests 3% wider than 1/max_rps keeps the server's view of the rate (after
    # network and scheduling jitter) under the cap too; evenly spaced requests are also
    # gentler on the site than bursts.
    MARGIN = 1.03
    WINDOW = 1.0 + 0.02  # the cap's window, with room for the network's jitter
    MAX_STATED_WAIT = 120.0  # seconds: the longest hold for a used-up quota (as Retry-After's)
    UNCAPPED_LOG = 256  # send times kept without a cap (see _sent)

    def __init__(
        self,
        max_rps: float | None,
        tally: Tally,
        *,
        adaptive: AdaptiveRate | None = None,
        stated: StatedLimits | None = None,
        sleep_until: Callable[[float], Awaitable[None]] = trio.sleep_until,
    ) -> None:
        if max_rps is not None and max_rps <= 0:
            raise ValueError("max_rps must be positive")
        self.max_rps = max_rps
        self._asked_rps = max_rps  # the cap asked for, before any the site states
        self._stated = stated
        self._heard = 0  # the statements heeded
        self._stated_pace: float | None = None
        # With an adaptive rate, the slots are spaced by its current rate (the fixed cap's
        # margin and send log do not apply: the rate is the law's to choose).
        self.adaptive = adaptive
        if adaptive is not None:
            if not adaptive.history:
                adaptive.begin(trio.current_time())
            tally.rate(adaptive.sending, adaptive.settled)
        self.paused_until = -math.inf
        self._tally = tally
        self._interval = self.MARGIN / max_rps if max_rps else 0.0
        self._next_slot = -math.inf
        self._turn = trio.Lock()
        # Send times, for the cap; kept without a cap too while the site may state one, so
        # that a cap it states counts the requests sent before it was heard.
        uncapped = self.UNCAPPED_LOG if stated is not None else 1
        self._sent: deque[float] = deque(maxlen=max(1, math.floor(max_rps or uncapped)))
        # Fixed pacing's watch on its pauses (None with `--max-rps auto` from the start).
        self.watch = PauseWatch() if adaptive is None else None
        # Tests pass a sleep that wakes late, as a loaded machine does.
        self._sleep_until = sleep_until

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every worker for `seconds` from now (extending, never shortening, a pause)."""
        now = trio.current_time()
        until = now + seconds
        if until > self.paused_until:
            self._tally.paused(now, until, reason)
            self.paused_until = until
            if self.watch is not None:
                self.watch.paused(now, until)

    async def admit(self) -> Ticket:
        """Wait until a request may leave, then count it as sent."""
        while True:
            now = trio.current_time()
            self._heed(now)
            if now < self.paused_until:
                await self._sleep_until(self.paused_until)
                continue
            if self.adaptive is not None:
                return await self._admit_adaptive()
            if self._interval:
                slot = max(now, self._next_slot)
                self._next_slot = slot + self._interval  # this slot is ours
                if slot > now:
                    await self._sleep_until(slot)
                    now = trio.current_time()
                    if now < self.paused_until:
                        continue  # a pause began while we waited
                sent = self._sent
                if len(sent) == sent.maxlen and now - sent[0] < self.WINDOW:
                    # Late wake-ups bunched requests: this one would break the cap.
                    await self._sleep_until(sent[0] + self.WINDOW)
                    continue
                sent.append(now)
            elif self._stated is not None:
                self._sent.append(now)
            self._tally.sent()
            if self.watch is not None:
                self.watch.sent(now)
            return Ticket(now, None)

    async def _admit_adaptive(self) -> Ticket:
        """One waiter at a time (trio's locks are fair) takes the next slot, spaced by the
        rate as it is when the slot comes: a cut applies to the very next request, not after
        the slots every worker had reserved at the old rate."""
        adaptive = self.adaptive
        assert adaptive is not None
        async with self._turn:
            while True:
                if self.adaptive is not adaptive:
                    return await self.admit()  # the law was given back meanwhile
                now = trio.current_time()
                if now < self.paused_until:
                    await self._sleep_until(self.paused_until)
                    continue
                slot = self._next_slot + 1.0 / adaptive.rate
                if slot > now:
                    await self._sleep_until(slot)
                    continue  # the rate or a pause may have changed meanwhile
                break
            # On the grid, so late wake-ups on a busy machine do not add up and slow the rate;
            # but never more than a quarter interval behind, so no two leave bunched.
            self._next_slot = max(slot, now - 0.25 / adaptive.rate)
        self._tally.sent()
        return Ticket(now, adaptive.sent(now))

    def _heed(self, now: float) -> None:
        """What the site last stated of its limit, once per statement: a used-up quota holds
        every worker until it resets; the stated pace caps the rate (fixed or adaptive)."""
        stated = self._stated
        if stated is None or stated.heard == self._heard or stated.latest is None:
            return
        self._heard = stated.heard
        limit = stated.latest
        wait = limit.used_up
        if wait is not None:
            self.pause(min(wait, self.MAX_STATED_WAIT), f"{limit.form}: quota used up")
        pace = limit.pace
        if pace is None or pace == self._stated_pace:
            return
        self._stated_pace = pace
        if self.adaptive is not None:
            self.adaptive.state(now, pace)
            self._tally.rate(self.adaptive.sending, self.adaptive.settled)
            return
        cap = pace if self._asked_rps is None else min(self._asked_rps, pace)
        if cap != self.max_rps:
            self.max_rps = cap
            self._interval = self.MARGIN / cap
            self._sent = deque(self._sent, maxlen=max(1, math.floor(cap)))

    def answered(self, ticket: Ticket, signal: Signal) -> None:
        """Tell the adaptive rate (if any) how the request of `ticket` was answered; with
        fixed pacing, tell its watch."""
        adaptive = self.adaptive
        watch = self.watch
        now = trio.current_time()
        self._heed(now)
        if adaptive is None:
            if watch is None or ticket.rate is not None:
                return
            if signal is Signal.LIMITED:
                ceiling = self.max_rps / self.MARGIN if self.max_rps else None
                law = watch.refused(now, ticket.sent_at, ceiling)
                if law is not None:
                    self.hand_over(now, law)
            else:
                watch.accepted(now)
            return
        if ticket.rate is None:
            return  # sent by fixed pacing, before the law was taken: old news to it
        adaptive.answered(now, ticket.sent_at, ticket.rate, signal, now - ticket.sent_at)
        if watch is not None and not watch.keeps(now, signal):
            watch.gave_back(now)
            self.give_back()
            return
        self._tally.rate(adaptive.sending, adaptive.settled)

    def hand_over(self, now: float, law: AdaptiveRate) -> None:
        """Fixed pacing's watch hands over to `law`: requests leave one by one from now."""
        self.adaptive = law
        self._next_slot = now
        self._tally.rate(law.sending, None)

    def give_back(self) -> None:
        """The law taken goes: fixed pacing again, its grid starting afresh."""
        self.adaptive = None
        self._next_slot = -math.inf
        self._tally.rate(None, None)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A request let through the gate: when, and at what rate (None: by fixed pacing)."""

    sent_at: float
    rate: float | None
