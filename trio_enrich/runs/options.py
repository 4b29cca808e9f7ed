"""How a run paces and asks (:class:`EnrichOptions`, plain values), and which items a job's
run would fetch (:func:`pending_ids`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import _defaults as defaults
from .._model import DEFAULT_BASE_URL
from ..clients.answers import ClientName
from ..core.pacing import AdaptiveRate
from ..core.policy import PipelineConfig, RetryPolicy
from ..core.site_limit import StatedLimits
from ..site.rules import SITE_RULES
from ..storage.store import Store
from .jobs import Job

__all__ = ["DEFAULT_BASE_URL", "EnrichOptions", "pending_ids", "pipeline_config"]


@dataclass(frozen=True, slots=True)
class EnrichOptions:
    """How to run: the defaults are the polite ones the site has tolerated. Plain values: a
    run's live resources (the client, the learned rate, the archive) belong to its session."""

    base_url: str = DEFAULT_BASE_URL
    concurrency: int = defaults.CONCURRENCY
    max_failures: int = defaults.MAX_FAILURES
    not_found_guard: int = defaults.NOT_FOUND_GUARD
    # Seconds each worker pauses before each request; None: 0 with `auto` (its gate spaces
    # the requests), the polite 0.5 s otherwise, as the command line's --details-delay-ms.
    delay: float | None = None
    # The most requests in any second; with `auto`, the ceiling of the rate found.
    max_rps: float | None = None
    auto: bool = False  # `--max-rps auto`: find the rate the site allows from its answers
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: float = defaults.DEADLINE  # seconds for a whole request, body included
    client: ClientName = "httpx"  # httpx, or `browser`: curl_cffi as Chrome (an extra)
    limit: int | None = None  # the most items this run
    retry_failed: bool = False  # include items recorded as not found
    refresh_older_than: float | None = None  # seconds: refetch items enriched longer ago
    # Keep every answer in the page archive beside the database (`--no-archive`: False); a
    # page is written there before the data read from it is committed.
    archive: bool = True

    @property
    def pause(self) -> float:
        """The seconds each worker pauses before each request (`delay`, or its default)."""
        if self.delay is not None:
            return self.delay
        return 0.0 if self.auto else defaults.DELAY


def pipeline_config(
    options: EnrichOptions,
    stated: StatedLimits | None = None,
    adaptive: AdaptiveRate | None = None,
) -> PipelineConfig:
    """The core's settings for a run with `options`; `stated`: what the run's client hears
    of the site's own rate limit (it caps the pacing); `adaptive`: the rate law of `auto`,
    which the run's session owns."""
    return PipelineConfig(
        concurrency=options.concurrency,
        max_failures=options.max_failures,
        not_found_guard=options.not_found_guard,
        delay=options.pause,
        max_rps=None if options.auto else options.max_rps,
        adaptive=adaptive if options.auto else None,
        retry=options.retry,
        rules=SITE_RULES,
        stated=stated,
    )


#: A refresh is due once an item's data is older than `refresh_older_than` less this share of
#: it. A nightly run starts a little earlier on some nights than on others, and the previous
#: night's run took time: with the exact 24 h of ``1d``, an issuer fetched at 03:20 is 23 h 57
#: min old at tonight's 03:17 and would wait two nights. 1d is 20 h this way.
REFRESH_SLACK = 1 / 6


def pending_ids(store: Store, job: Job[Any, Any], options: EnrichOptions) -> list[Any]:
    """The ids a run would fetch, in order (items not yet enriched, and those due a refresh)."""
    refresh_before = None
    if options.refresh_older_than is not None:
        due_after = options.refresh_older_than * (1 - REFRESH_SLACK)
        moment = datetime.now(UTC) - timedelta(seconds=due_after)
        refresh_before = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    return job.pending(store, options.limit, options.retry_failed, refresh_before)
