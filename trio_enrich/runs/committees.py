"""Committee memberships: read every committee's politicians listing through the pipeline and
replace ``politician_committees`` only when all of them were read completely.

Items are (committee code, page number). A first round reads page 1 of each of the 48
committees (the count of members, and the cards per page the site serves); the next round reads
the rest of their pages concurrently. A committee whose pages disagree (its roster changed while
it was read) is read again once, every page of it (two more rounds). Nothing is written until
every committee is complete: then one transaction replaces the memberships and adds the members
not yet in ``politicians`` from their cards. A run cut short in any way (breaker, outage,
interrupt, a page that fails) leaves the stored memberships exactly as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import trio

from .._errors import FetchError
from .._model import FailureKind, PoliticianPage
from ..core.pipeline import Outcome, run_pipeline
from ..core.stats import FinishReason, RunStats
from ..site.parse import parse_politicians_page
from ..site.roster import COMMITTEES, Roll, chamber_of, committees_path
from ..storage.writes import MembershipWrite
from .jobs import PageReader
from .sync import CarriedProgress, ProgressFactory, no_progress

__all__ = ["CommitteesResult", "read_committees"]

#: Rounds in one run: page 1 of each; the other pages; for rosters that changed while they
#: were read, page 1 again and then their other pages again.
MAX_ROUNDS = 4


@dataclass(slots=True)
class CommitteesResult:
    stats: RunStats
    complete: bool = False  # every committee read completely and the memberships replaced
    written: MembershipWrite | None = None
    problems: dict[str, str] = field(default_factory=dict)  # code -> why it is incomplete

    def as_dict(self) -> dict[str, object]:
        written = self.written
        return {
            "complete": self.complete,
            "committees": len(COMMITTEES),
            "memberships": written.memberships if written else None,
            "memberships_added": written.added if written else None,
            "memberships_removed": written.removed if written else None,
            "politicians_added": written.politicians_added if written else None,
            "incomplete": self.problems,
        }


async def read_committees(
    source: PageReader,
    *,
    progress: ProgressFactory | None = None,
    stop: trio.Event | None = None,
    keep: bool = True,
    reread: bool = False,
) -> CommitteesResult:
    """Read every committee's listing; replace the memberships if all were read completely.

    `source` is the run's session, or a reader of the page archive (`reparse`, a `reread`);
    without `keep` the replacement is measured and rolled back (a dry run).
    """
    open_progress = progress or no_progress
    roll = Roll()
    result = CommitteesResult(stats=RunStats(selected=0))

    async def fetch(item: tuple[str, int]) -> PoliticianPage:
        code, page_number = item
        path = committees_path(code, page_number)
        page, _ = await source.read(path, parse_politicians_page)
        if page.total_count is None:
            raise FetchError(FailureKind.LAYOUT_CHANGED, "no totalCount on the page", path=path)
        return page

    async def commit(outcomes: list[Outcome[tuple[str, int], PoliticianPage]]) -> None:
        for outcome in outcomes:
            if outcome.result is not None:
                roll.add(*outcome.item_id, outcome.result)

    config = source.pipeline()
    for round_number in range(1, MAX_ROUNDS + 1):
        items = roll.pages_to_read()
        if not items:
            break
        earlier = result.stats
        with open_progress(earlier.handled + len(items)) as sink:
            stats = await run_pipeline(
                items, fetch, commit, config, progress=CarriedProgress(sink, earlier), stop=stop
            )
        result.stats = earlier.followed_by(stats)
        if stats.finish_reason is not FinishReason.COMPLETED or stats.handled < len(items):
            break
        if stats.failed_total or stats.skipped:
            break  # a page that fails leaves its committee unread: no replacing
        if not roll.pages_to_read() and round_number < MAX_ROUNDS:
            roll.start_over_inconsistent()
    result.stats = replace(result.stats, selected=result.stats.handled)
    result.problems = roll.problems()
    if roll.complete and result.stats.finish_reason is FinishReason.COMPLETED:
        chambers = {code: chamber_of(code) for code in COMMITTEES}
        store = source.store
        # (the pages first, then the memberships read from them)
        result.written = await source.commit(
            lambda: store.replace_memberships(roll.rosters(), chambers, keep=keep, reread=reread)
        )
        result.complete = True
    return result
