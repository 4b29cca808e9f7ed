"""A stage's result in words: its exit code, its JSON summary and its text summary.

The stages (``runs.stages``) return what they did; the commands print it from here, with
advice that names the command that was run.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import EXIT_BREAKER, EXIT_ITEM_FAILURES, EXIT_OK
from ..core.stats import FinishReason, RunStats
from ..runs.stages import StageResult
from ..site.roster import COMMITTEES
from .report import committee_lines, summary_lines, walk_lines, wrap
from .settings import RunSettings

__all__ = ["StageDone", "stage_done", "stats_code"]


@dataclass(slots=True)
class StageDone:
    """What one stage of a command did: its exit code, its JSON summary, its text summary."""

    name: str
    code: int
    report: dict[str, object]
    lines: list[str]
    finish: FinishReason


def stats_code(stats: RunStats) -> int:
    """The exit code a run's statistics call for (signals aside)."""
    if stats.finish_reason in (
        FinishReason.BREAKER,
        FinishReason.NOT_FOUND_GUARD,
        FinishReason.UNREACHABLE,
        FinishReason.REFUSED,
    ):
        return EXIT_BREAKER
    return EXIT_ITEM_FAILURES if stats.failed_total else EXIT_OK


def stage_done(result: StageResult, settings: RunSettings, command: str) -> StageDone:
    """`result` in words; `command` is the command that was run (`trio-enrich <command>`)."""
    options, stats, resume = settings.options, result.stats, f"trio-enrich {command}"
    again = f"all {len(COMMITTEES)} committees" if result.committees is not None else ""
    lines = summary_lines(
        result.name, stats, result.words, max_failures=options.max_failures,
        base_url=options.base_url, resume=resume, starts_over=again, client=options.client,
    )  # fmt: skip
    code = stats_code(stats)
    report: dict[str, object] = {"job": result.name}
    details: list[str] = []
    if result.sync is not None:
        walk = result.sync
        if walk.page_limit and stats.finish_reason is FinishReason.COMPLETED:
            # The pipeline read every page it was given; the walk did not reach its end.
            lines[0] = lines[0].replace("sync: completed", f"sync: stopped at --pages {walk.pages}")
        details = walk_lines(walk, resume)
        if code == EXIT_OK and not walk.complete and settings.walk.max_pages is None:
            code = EXIT_ITEM_FAILURES  # the walk did not reach its end: not everything is stored
        report.update(walk.as_dict())
    if result.committees is not None:
        details = committee_lines(result.committees, resume)
        if code == EXIT_OK and not result.committees.complete:
            code = EXIT_ITEM_FAILURES
        report.update(result.committees.as_dict())
    report.update(result.words.counters(stats))
    if details:
        lines = [lines[0], *wrap(["", *details])[1:], *lines[1:]]
    return StageDone(result.name, code, report, lines, stats.finish_reason)
