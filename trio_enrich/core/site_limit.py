"""What a site's answers say of its rate limit: the token buckets that fit them, and the limit
they state.

A token bucket's refusals are not noise: a refusal says the tokens ran out, an acceptance that
one was there. Replaying every request since the limit last changed gives the rates (and
bursts) of the buckets that would have answered exactly so (`BucketFit`); their least is safe
to send at, their greatest bounds the limit. One crossing alone allows any rate (a slow bucket
with a large burst or a fast one with a small burst); a long stretch before a refusal pins the
rate to within a percent (measured: 19.9/s held 30 s, then refused at 21/s: the fit's band is
19.9 to 20.0 for a bucket of 20). When no bucket fits any more, the limit changed: the answers
from then on are read alone, with the burst the earlier ones found (the burst is the site's
own), which reads a fallen limit from the first stretch after it.

A site may also say its limit in its answers' headers (`RateLimit-Policy`, `RateLimit`,
`X-RateLimit-*`, read by ``_answers.parse_rate_headers``) as a `StatedLimit`: a rate, or the
requests left in a window and when it resets.

Sans-io: times are passed in. ``_pacing.AdaptiveRate`` narrows its search by the fit; the
clients hear stated limits into `StatedLimits`, and the gate heeds them in every mode.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

__all__ = ["BucketFit", "StatedLimit", "StatedLimits"]

# A request's state in the fit: refused, accepted, or sent and not yet answered.
_REFUSED, _ACCEPTED, _PENDING = 0, 1, 2


@dataclass(slots=True)
class BucketFit:
    """What the site's answers say of its limit, read as a token bucket: the rates (and bursts)
    a bucket could have and answer every request as the site did.

    A bucket of rate `r` and burst `b` accepts a request when it holds a token. Replaying the
    requests that were accepted (the client's send times stand in for the site's arrival
    times, within `SLACK` tokens) gives, for each `r`, the tokens owed at each request: an
    accepted one needs `b` to exceed its debt, a refused one needs `b` not to. The rates for
    which some `b` fits are the ones the answers allow; the least of them is a rate that is
    safe to send at. One refusal allows any rate (a slow bucket with a large burst, or a fast
    one with a small burst); what follows it, accepted or refused, tells them apart.

    When no rate fits, the site's limit changed: the answers from then on are read alone,
    with the burst found before (the burst is the site's own; it is the rate that moved).
    """

    SLACK = 0.5  # tokens: how far a send time may be from the site's own clock
    STEP = 1.005  # the rates tried are this far apart
    SPAN = 4.0  # rates tried: from a top rate down to top / SPAN
    KEEP = 1500  # answers kept (the newest)

    events: list[tuple[float, int]] = field(default_factory=list)  # (sent at, state)
    since: float = -math.inf  # answers sent before this belong to an earlier limit
    burst: tuple[float, float] = (1.0, math.inf)  # what an earlier limit said of the burst

    def sent(self, sent_at: float) -> None:
        """A request left at `sent_at`; until its answer, the site may or may not have taken a
        token for it (the fit allows both)."""
        self._insert((sent_at, _PENDING))

    def add(self, sent_at: float, accepted: bool) -> None:
        """An answer: the request sent at `sent_at` was accepted (any answer but a refusal)."""
        state = _ACCEPTED if accepted else _REFUSED
        events = self.events
        at = bisect.bisect_left(events, (sent_at, _REFUSED))
        while at < len(events) and events[at][0] == sent_at:
            if events[at][1] == _PENDING:
                events[at] = (sent_at, state)
                return
            at += 1
        self._insert((sent_at, state))

    def _insert(self, event: tuple[float, int]) -> None:
        events = self.events
        if not events or event >= events[-1]:
            events.append(event)
        else:
            bisect.insort(events, event)  # answers come back out of order
        if len(events) > 2 * self.KEEP:
            del events[: len(events) - self.KEEP]

    def rates(self, top: float) -> tuple[float | None, float] | None:
        """(least, greatest) rate between top / SPAN and `top` that fits every answer since
        the limit last changed; the least is None when every rate down to top / SPAN fits
        (nothing is known from below). None when no rate fits: the limit changed."""
        return self._rates([event for event in self.events if event[0] >= self.since], top)

    def changed(self, sent_at: float, now: float, top: float) -> None:
        """The limit changed before the request sent at `sent_at` was refused: keep what the
        answers before it said of the burst, and read the answers to requests sent from
        `now` on alone."""
        before = [event for event in self.events if self.since <= event[0] < sent_at]
        least, greatest = self._rates(before, top) or (None, top)
        if least is not None:
            needs = self.burst_range(before, greatest)[0]
            allows = self.burst_range(before, least)[1]
            # (Within the slack a fit may need a little more than it allows.)
            needs, allows = min(needs, allows), max(needs, allows)
            self.burst = (max(self.burst[0], needs), min(self.burst[1], allows))
        self.since = now

    def _rates(
        self, events: list[tuple[float, int]], top: float
    ) -> tuple[float | None, float] | None:
        if not any(state == _REFUSED for _, state in events):
            return None, top  # nothing refused: every rate fits
        # In fine steps, up from the bottom for the least rate that fits and down from the
        # top for the greatest: a long stretch at one rate pins a bucket's rate to a band a
        # step or two wide, and bunched sends can let a fast bucket with a small burst fit.
        count = int(math.log(self.SPAN) / math.log(self.STEP))
        rates = [top / self.STEP**k for k in range(count, -1, -1)]
        least = next((k for k, rate in enumerate(rates) if self.fits(events, rate)), None)
        if least is None:
            return None
        greatest = next(k for k in range(count, least - 1, -1) if self.fits(events, rates[k]))
        return (None if least == 0 else rates[least]), rates[greatest]

    def fits(self, events: list[tuple[float, int]], rate: float) -> bool:
        """Whether a bucket of `rate`, its burst within `burst`, answers as the site did."""
        least, most = self.burst
        needs, allows = self.burst_range(events, rate, most + self.SLACK)
        return max(needs, least) <= min(allows, most) + self.SLACK

    @staticmethod
    def burst_range(
        events: list[tuple[float, int]], rate: float, give_up: float = math.inf
    ) -> tuple[float, float]:
        """The bursts a bucket of `rate` needs (at least) and allows (at most) to answer so;
        once it needs more than it allows (by a token) or than `give_up`, no more is read.

        The tokens owed are counted twice: without the requests still unanswered (the least
        the site can be owed, for what an acceptance needs) and with them (the most, for
        what a refusal allows), so that no answer yet to come can make the true rate not fit.
        """
        least_debt = most_debt = 0.0
        last = events[0][0]
        needs, allows = 1.0, math.inf
        for sent_at, state in events:
            drained = rate * (sent_at - last)
            least_debt = max(0.0, least_debt - drained)
            most_debt = max(0.0, most_debt - drained)
            last = sent_at
            if state == _ACCEPTED:
                needs = max(needs, least_debt + 1.0)
                if needs > give_up or needs > allows + 1.0:
                    break  # it cannot fit
                least_debt += 1.0
                most_debt += 1.0
            elif state == _REFUSED:
                allows = min(allows, most_debt + 1.0)
            else:
                most_debt += 1.0
        return needs, allows


@dataclass(frozen=True, slots=True)
class StatedLimit:
    """A limit the site states in its answers' headers (``_answers.parse_rate_headers``)."""

    rate: float | None  # requests per second of its policy (the least, of several)
    remaining: int | None  # requests left in the current window
    reset: float | None  # seconds until the window's quota is back
    form: str  # which headers said it: "RateLimit", "RateLimit-Limit", "X-RateLimit"

    @property
    def pace(self) -> float | None:
        """The rate to keep to: the policy's; without one, the rest of the window spread
        evenly over the time it has left (a reset under a second is too coarse to divide)."""
        if self.rate is not None:
            return self.rate
        if self.remaining is not None and self.reset is not None and self.reset >= 1.0:
            return max(self.remaining, 1) / self.reset
        return None

    @property
    def used_up(self) -> float | None:
        """Seconds to hold every request when the window's quota is used up, else None."""
        if self.remaining is not None and self.remaining <= 0 and self.reset:
            return self.reset
        return None


@dataclass(slots=True)
class StatedLimits:
    """The newest limit the site stated, shared by a run's client (which hears it) and its
    gate (which heeds it); `heard` counts the statements so the gate sees each once."""

    latest: StatedLimit | None = None
    heard: int = 0

    def hear(self, limit: StatedLimit | None) -> None:
        if limit is not None:
            self.latest = limit
            self.heard += 1
