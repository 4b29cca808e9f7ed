"""What a person reads: run summaries and the status report as text within 80 columns.

Apart from the command line, which only decides what to print; failure kinds appear in words
(``FailureKind.words``), JSON keeps their names.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from .._help import BROWSER_INSTALL
from .._model import FailureKind, StatusReport
from ..core.stats import FinishReason, RunStats
from ..runs.committees import CommitteesResult
from ..runs.jobs import Words
from ..runs.sync import SyncResult
from ..site.roster import COMMITTEES
from ..site.rules import CHALLENGE_ADVICE, names_a_challenge

__all__ = [
    "committee_lines",
    "status_lines",
    "summary_lines",
    "update_lines",
    "walk_lines",
    "wrap",
    "wrap_each",
]

NOT_SHOWN_WORDS = {
    "asset_type": "asset type",
    "filing_id": "filing id",
    "filing_url": "filing URL",
    "has_capital_gains": "capital gains",
}


def summary_lines(
    label: str,
    stats: RunStats,
    words: Words,
    *,
    max_failures: int,
    base_url: str,
    resume: str,
    starts_over: str = "",
    client: str = "httpx",
) -> list[str]:
    """The text summary: short lines, each wrapped to 80 columns, failure kinds in words.

    Advice names `resume`, the command that was run; `starts_over` says what running it again
    reads again when a run cut short keeps nothing ("all 48 committees"), not only what is left.
    """
    summary = stats.as_dict()
    noun, done_word = words.noun, words.done
    failed = ", ".join(
        f"{FailureKind(kind).words} {count}" for kind, count in sorted(stats.failed.items())
    )
    lines = [
        f"{label}: {stats.finish_reason.value} in {summary['elapsed_seconds']} s "
        f"({summary['items_per_second']} {words.rate}/s)",
        f"selected {stats.selected}: {done_word} {stats.done}, {words.skipped} {stats.skipped}, "
        f"failed {stats.failed_total}" + (f" ({failed})" if failed else ""),
        f"requests {stats.requests}, retries {stats.retries}, rate-limit pauses "
        f"{stats.rate_limit_pauses} ({stats.seconds_paused:.1f} s)"
        + (f", answers 429/403 {stats.rate_limited}" if stats.rate_limited else ""),
    ]
    if stats.rate is not None:
        settled = stats.settled_rate
        lines.append(
            f"rate (auto): {stats.rate:.1f} requests/s at the end"
            + (f", settled at {settled:.1f}/s" if settled is not None else ", still searching")
        )
    if stats.failed_total and stats.finish_reason is not FinishReason.BREAKER:
        lines.append(f"last failure: {stats.last_failure}")
    if stats.finish_reason is FinishReason.BREAKER:
        lines.append(
            f"stopped by the circuit breaker after {max_failures} consecutive failures "
            f"(last: {stats.last_failure}). The site may be down, blocking or rate-limiting. "
            + (
                f"Run `{resume}` later: it reads {starts_over} again; nothing was changed."
                if starts_over
                else f"Run `{resume}` later to resume: committed {noun} are not fetched again."
            )
        )
    elif stats.finish_reason is FinishReason.NOT_FOUND_GUARD:
        lines.append(
            "stopped after too many 'not found' answers in a row: the site's addresses may "
            "have changed (check --base-url). None of them was recorded."
        )
    elif stats.finish_reason is FinishReason.UNREACHABLE:
        host = urlsplit(base_url).netloc or base_url
        lines.append(
            f"cannot reach {host}: {stats.last_failure}. Check --base-url and the network; "
            f"nothing was recorded against the {noun}: run `{resume}` once the site answers."
        )
    elif stats.finish_reason is FinishReason.REFUSED:
        lines.append(refusal_line(stats, noun, client))
    elif stats.finish_reason is FinishReason.INTERRUPTED:
        lines.append(
            f"interrupted; nothing was changed: `{resume}` reads {starts_over} again"
            if starts_over
            else f"interrupted; `{resume}` finishes the remaining {noun}"
        )
    return wrap(lines)


def refusal_line(stats: RunStats, noun: str, client: str) -> str:
    """Why the first answers stopped the run, what was seen, and what to try."""
    seen = f"refused from its first answers ({stats.requests} sent); last: {stats.last_failure}"
    if stats.stopped_by == FailureKind.BLOCKED and names_a_challenge(stats.last_failure):
        return (
            f"blocked: the site's hosting challenges this client ({client}): {seen}. "
            f"{CHALLENGE_ADVICE} Nothing was recorded against the {noun}."
        )
    if stats.stopped_by == FailureKind.BLOCKED:
        advice = (
            f"Try `--client browser` (`{BROWSER_INSTALL}` if it is not installed): it fetches as "
            "Chrome does."
            if client == "httpx"
            else "The browser client is refused too: try another network (datacenter "
            "addresses are refused more often) or later."
        )
        return f"blocked: the site refuses this client ({client}): {seen}. {advice} " + (
            f"Nothing was recorded against the {noun}."
        )
    return (
        f"layout changed: the pages hold data, but not in a shape this version of "
        f"trio-enrich reads ({seen}). Nothing was recorded against the {noun}; look for a "
        "newer trio-enrich, or report this message."
    )


_COMMAND = re.compile(r"`[^`]*`")
_KEEP = "\x00"  # a space inside a command, while wrapping


def wrap_each(lines: Sequence[str]) -> list[str]:
    """Each line at most 80 columns, its continuation indented."""
    return [
        part
        for line in lines
        for part in textwrap.wrap(
            line, 80, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False
        )
    ]


def wrap(lines: Sequence[str]) -> list[str]:
    """The first line as it is, the others indented; every line at most 80 columns. A command
    in backticks is never split (at a space or at its hyphen), so it can be copied whole."""
    out = [lines[0]]
    for line in lines[1:]:
        kept = _COMMAND.sub(lambda match: match.group(0).replace(" ", _KEEP), line)
        out.extend(
            part.replace(_KEEP, " ")
            for part in textwrap.wrap(
                kept, 80, initial_indent="  ", subsequent_indent="    ",
                break_on_hyphens=False, break_long_words=False,
            )
        )  # fmt: skip
    return out


def walk_lines(result: SyncResult, resume: str = "trio-enrich sync") -> list[str]:
    """What the walk read and whether it reached its end (logical lines, wrapped later); the
    advice names `resume`, the command that was run."""
    site = f"; the site has {result.total_pages} pages" if result.total_pages else ""
    lines = [f"pages {result.pages}, trades {result.trades_seen} ({result.new_trades} new){site}"]
    if result.mode == "full":
        walk = "full walk" + (" (resumed)" if result.resumed else "")
        if result.complete:
            lines.append(f"{walk} complete: every listing page is stored")
        else:
            unread = (
                "the listing's size is not known yet"
                if result.unread_trades is None
                else f"{result.unread_trades} trades still unread"
            )
            lines.append(f"{walk} unfinished: {unread}; `{resume}` reads the rest")
    else:
        if result.complete and result.end_of_listing:
            reached = "the listing's last page came first (nothing older is listed)"
        elif result.complete:
            reached = "reached"
        elif result.page_limit:
            reached = f"not reached (stopped at --pages); `{resume}` reads the rest"
        else:
            reached = f"not reached: run `{resume}` again"
        lines.append(f"read back to {result.cutoff}: {reached}")
    return lines


def status_lines(report: StatusReport, db: object) -> list[str]:
    """`status` in text: per entity, the walk, the values that mean "not shown"."""
    lines = [f"database {db}"]
    for name in ("trades", "issuers"):
        lines.extend(_entity_lines(name, report))
    complete, read = report["last_sync_at"], report["listing_read_at"]
    if read is not None:
        # A later sync read pages without reaching its end (--pages, Ctrl-C, a failure).
        synced = f"last sync {read}, not to its end; last complete sync {complete or 'never'}"
    else:
        synced = f"last sync {complete or 'never'}"
    lines.append(f"{synced}; newest trade published {report['last_trade_pub_date'] or '-'}")
    committees = report["committees"]
    lines.append(
        f"committees: {committees['memberships']} memberships of "
        f"{committees['politicians']} politicians in {committees['committees']} committees; "
        f"read {committees['read_at'] or 'never'}"
    )
    walk = report["unfinished_full_walk"]
    if walk is not None:
        lines.append(
            f"unfinished full walk (started {walk['started_at']}): {walk['unread_trades']} "
            f"of {walk['total']} trades unread; `trio-enrich sync` finishes it"
        )
    archive = report.get("archive")
    damaged = report.get("archive_error")
    if damaged:
        lines.append(f"page archive: {damaged}")
    if archive:
        lines.append(
            f"page archive (beside the database): {archive['urls']:,} pages, "
            f"{archive['versions']:,} versions, {int(str(archive['file_bytes'])) / 1e6:.1f} MB "
            f"({int(str(archive['page_bytes'])) / 1e6:.1f} MB as received)"
        )
    for destination in report.get("destinations", []):
        failed = f"; last failure: {destination['last_error']}" if destination["last_error"] else ""
        lines.append(
            f"notify {destination['destination']}: {destination['pending']} pending, "
            f"{destination['sent']} sent; last delivery {destination['last_sent_at'] or 'never'}"
            f"{failed}"
        )
    return wrap(lines)


def _entity_lines(name: str, report: StatusReport) -> list[str]:
    """The trades' or the issuers' lines of `status`."""
    entity = report["trades"] if name == "trades" else report["issuers"]
    lines = [
        f"{name}: {entity['total']} in all, {entity['enriched']} enriched, "
        f"{entity['pending']} pending, {entity['not_found']} not found, "
        f"{entity['failed']} failed"
    ]
    parked = entity.get("parked")
    if parked:
        lines.append(
            f"  parked: {parked} (a server error page on every run for days; "
            "--retry-failed fetches them again)"
        )
    kinds = entity["failed_by_kind"]
    if kinds:
        words = ", ".join(f"{FailureKind(k).words} {v}" for k, v in kinds.items())
        lines.append(f"  failed: {words} (retried by the next run)")
    lines.append(
        f"  last enriched {entity['last_enriched_at'] or 'never'}"
        + (f", oldest {entity['oldest_enriched_at']}" if entity["oldest_enriched_at"] else "")
    )
    partial = entity.get("performance_partly_not_shown")
    if partial:
        lines.append(
            f"  performance partly not shown: {partial} (figures the page left out are "
            "NULL in trio_enrich_partial_performance)"
        )
    hidden = report["not_shown"]
    if name == "trades" and any(hidden.values()):
        lines.append(
            "  enriched, but not shown on their pages (stored as 'unknown', 0 or ''): "
            + ", ".join(f"{NOT_SHOWN_WORDS[key]} {n}" for key, n in hidden.items() if n)
        )
    return lines


def committee_lines(result: CommitteesResult, resume: str = "trio-enrich committees") -> list[str]:
    """What a committees run stored, or why it stored nothing (logical lines)."""
    written = result.written
    if written is not None:
        return [
            f"memberships {written.memberships} in {written.committees} of the "
            f"{len(COMMITTEES)} committees (the others have no members) "
            f"({written.added} added, {written.removed} removed); politicians added from "
            f"their cards {written.politicians_added}"
        ]
    problems = result.problems
    named = "; ".join(f"{code}: {why}" for code, why in list(problems.items())[:3])
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return [
        f"memberships unchanged: {len(problems)} of {len(COMMITTEES)} committees not read "
        f"completely ({named}{more}); run `{resume}` again"
    ]


def update_lines(
    stages: Sequence[tuple[str, int, str]],
    not_run: Sequence[str],
    refused: Mapping[str, str] | None = None,
) -> list[str]:
    """The last lines of `update`: each stage's outcome, the stages robots.txt kept from
    running (with its rule), and the stages an earlier one stopped."""
    refused = refused or {}
    worst = max((code for _, code, _ in stages), default=0)
    parts = [
        f"{name} {finish}" + (f" (exit {code})" if code else "") for name, code, finish in stages
    ]
    lines = ["update: " + ("done" if not worst and not not_run else "finished with problems")]
    lines.append("stages: " + ", ".join(parts or ["none"]))
    for name, rule in refused.items():
        lines.append(f"not run: {name}: {rule}")
    stopped = [name for name in not_run if name not in refused]
    if stopped:
        lines.append(
            f"not run: {', '.join(stopped)} (an earlier stage stopped the run); run "
            "`trio-enrich update` again later"
        )
    return wrap(lines)
