"""Committee memberships (issue 14): the 48 codes, reading every committee's listing page by
page, and replacing `politician_committees` only when every committee was read completely."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import trio

from trio_enrich import (
    EnrichOptions,
    FailureKind,
    FetchError,
    PageFailure,
    ProgressSink,
    RunStats,
    Store,
)
from trio_enrich._model import PageRef, PoliticianCard, PoliticianPage
from trio_enrich.cli import main
from trio_enrich.core.policy import PipelineConfig
from trio_enrich.core.site_limit import StatedLimits
from trio_enrich.core.stats import NoProgress
from trio_enrich.runs.committees import read_committees
from trio_enrich.runs.options import pipeline_config
from trio_enrich.sim import Dataset, Faults, make_dataset, open_simulator
from trio_enrich.site.page import open_page
from trio_enrich.site.roster import COMMITTEES, Roll, chamber_of, committees_path

from .helpers import cli, database_with_listing, query
from .pages import fixture_bytes

R = TypeVar("R")
T = TypeVar("T")


def memberships(db: Path) -> set[tuple[str, str]]:
    connection = sqlite3.connect(db)
    try:
        return set(connection.execute("SELECT politician_id, committee FROM politician_committees"))
    finally:
        connection.close()


def dump(db: Path, table: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        connection.close()


def truth(dataset: Dataset) -> set[tuple[str, str]]:
    return {(p.politician_id, code) for code, members in dataset.rosters().items() for p in members}


# --- the codes ------------------------------------------------------------------------------------


def test_the_codes_are_the_committee_filter_of_the_real_page() -> None:
    page = open_page(fixture_bytes("real/politicians_committee_ssfi_2026-02-08.html"), "x")
    assert not isinstance(page, type(None))
    options = {
        node["id"]: " ".join(str(node["label"]).split())
        for node in page.walk()  # type: ignore[union-attr]
        if isinstance(node, dict)
        and set(node) == {"id", "label"}
        and str(node["label"]).startswith(("House", "Senate"))
    }
    assert len(options) == 48
    assert options == COMMITTEES
    assert chamber_of("hlig") == "senate"  # by its label, not its first letter
    assert chamber_of("hsag") == "house"


# --- the roll (sans-io) ---------------------------------------------------------------------------


def cards(*ids: str) -> tuple[PoliticianCard, ...]:
    return tuple(
        PoliticianCard(pid, f"First {pid}", "Democrat", "Ohio", 1, 1, "1K", "2026-01-01")
        for pid in ids
    )


def ids(start: int, count: int) -> list[str]:
    return [f"A{n:06d}" for n in range(start, start + count)]


def test_pages_after_the_first_follow_from_its_cards_and_the_count() -> None:
    roll = Roll()
    assert len(roll.pages_to_read()) == 48
    assert all(page == 1 for _, page in roll.pages_to_read())
    for code in COMMITTEES:
        roll.add(code, 1, PoliticianPage(politicians=(), total_count=0))
    roll.add("hsap", 1, PoliticianPage(cards(*ids(0, 12)), total_count=30))
    assert roll.pages_to_read() == [("hsap", 2), ("hsap", 3)]
    roll.add("hsap", 2, PoliticianPage(cards(*ids(12, 12)), total_count=30))
    assert not roll.complete
    assert roll.problems() == {"hsap": "1 of 3 pages not read"}
    roll.add("hsap", 3, PoliticianPage(cards(*ids(24, 6)), total_count=30))
    assert roll.complete  # empty committees (count 0) are complete too
    rosters = roll.rosters()
    assert [c.politician_id for c in rosters["hsap"]] == ids(0, 30)
    assert rosters["ssfi"] == ()


def test_a_roster_that_changes_while_read_is_incomplete_and_read_again() -> None:
    roll = Roll()
    for code in COMMITTEES:
        roll.add(code, 1, PoliticianPage(politicians=(), total_count=0))
    roll.add("hsap", 1, PoliticianPage(cards(*ids(0, 12)), total_count=13))
    # a member joined: page 2 counts 14, and the first page's last card moved to page 2
    roll.add("hsap", 2, PoliticianPage(cards(*ids(11, 2)), total_count=14))
    assert "changed while it was read (13, 14)" in roll.problems()["hsap"]
    assert roll.start_over_inconsistent() == ["hsap"]
    assert roll.pages_to_read() == [("hsap", 1)]


@pytest.mark.parametrize(
    ("pages", "problem"),
    [
        ({1: (ids(0, 0), 5)}, "0 members on its pages, 5 counted"),
        ({1: (ids(0, 3), 5), 2: (ids(2, 2), 5)}, "4 members on its pages, 5 counted"),
    ],
)
def test_members_missing_from_the_pages_make_a_committee_incomplete(
    pages: dict[int, tuple[list[str], int]], problem: str
) -> None:
    roll = Roll()
    for code in COMMITTEES:
        roll.add(code, 1, PoliticianPage(politicians=(), total_count=0))
    for number, (members, total) in pages.items():
        roll.add("ssfi", number, PoliticianPage(cards(*members), total_count=total))
    assert roll.problems() == {"ssfi": problem}


# --- against the simulator -----------------------------------------------------------------------


async def test_memberships_equal_the_sites_rosters_for_all_48(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=91, trades=600)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    rosters = dataset.rosters()
    faults = Faults(politician_page_size=5)  # many committees span several pages
    assert sum(len(members) > 5 for members in rosters.values()) >= 5
    assert any(not members for members in rosters.values())  # some committees are empty
    async with open_simulator(dataset, faults, seed=91) as sim:
        code = await cli("committees", "--db", str(db), "--base-url", sim.base_url,
                         "--progress", "none", "--details-delay-ms", "0", "--json")  # fmt: skip
        paths = sim.log.paths()
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] is True
    assert memberships(db) == truth(dataset)
    # every page of every committee, once
    pages = sum(max(1, -(-len(m) // 5)) for m in rosters.values())
    assert len(paths) == len(set(paths)) == pages == summary["fetched"]
    # members who never traded were added from their cards: name, party, state, chamber
    only = {p.politician_id: p for p in dataset.rosters_only()}
    listed = {pid for pid, _ in truth(dataset)} & set(only)
    assert listed
    assert summary["politicians_added"] == len(listed)
    connection = sqlite3.connect(db)
    stored = {
        row[0]: row[1:]
        for row in connection.execute(
            "SELECT politician_id, first_name, last_name, full_name, party, state_id, chamber"
            " FROM politicians"
        )
    }
    connection.close()
    for pid in listed:
        p = only[pid]
        name = f"{p.first_name} {p.last_name}"
        assert stored[pid] == (p.first_name, p.last_name, name, p.party, p.state_id, p.chamber)


@pytest.mark.parametrize(
    ("trouble", "expected_code"),
    [("a page that fails", 1), ("an outage (the breaker opens)", 3)],
)
async def test_a_run_cut_short_leaves_the_memberships_exactly_as_they_were(
    tmp_path: Path, trouble: str, expected_code: int
) -> None:
    dataset = make_dataset(seed=92, trades=600)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = Faults(politician_page_size=5)
    async with open_simulator(dataset, faults, seed=92) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--retry-max", "1", "--retry-base-ms", "10",
                "--max-failures", "3", "--concurrency", "1"]  # fmt: skip
        assert await cli("committees", *site) == 0
        before = (dump(db, "politician_committees"), dump(db, "politicians"))
        dataset.publish(400)  # new politicians join committees: a write would show
        assert truth(dataset) != memberships(db)
        if trouble == "a page that fails":
            sim.script("/politicians", ["ok"] * 20 + ["503", "503"])
        else:
            sim.script("/politicians", ["ok"] * 20 + ["503"] * 200)
        served = len(sim.log)
        code = await cli("committees", *site)
        assert len(sim.log) - served > 20  # it was cut short in the middle, not at the start
    assert code == expected_code
    assert (dump(db, "politician_committees"), dump(db, "politicians")) == before


# --- update ---------------------------------------------------------------------------------------


async def test_update_builds_a_complete_copy_and_a_second_fetches_listing_pages_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .helpers import assert_issuers_match_truth, assert_trades_match_truth

    dataset = make_dataset(seed=93, trades=300)
    db = tmp_path / "new.db"
    async with open_simulator(dataset, seed=93) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--concurrency", "6", "--json"]  # fmt: skip
        assert await cli("update", *site) == 0
        first = json.loads(capsys.readouterr().out)
        assert_trades_match_truth(db, dataset)
        assert_issuers_match_truth(db, dataset)
        assert memberships(db) == truth(dataset)
        served = len(sim.log)
        assert await cli("update", *site) == 0
        second = json.loads(capsys.readouterr().out)
        again = sim.log.paths()[served:]
    assert [stage["job"] for stage in first["stages"]] == ["sync", "trades", "issuers",
                                                          "committees"]  # fmt: skip
    assert first["exit_code"] == 0
    assert first["not_run"] == []
    assert [s["selected"] for s in second["stages"][1:3]] == [0, 0]
    # listing pages only: the newest trades page and the committee listings
    assert again
    assert all(p.startswith(("/trades?", "/politicians?")) for p in again), again


async def test_a_stage_stopped_by_a_guard_stops_the_later_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=96, trades=60)
    db = tmp_path / "new.db"
    # every trade detail page answers "Page Not Found": the site's addresses moved
    async with open_simulator(dataset, Faults(not_found_rate=1.0), seed=96) as sim:
        code = await cli("update", "--db", str(db), "--base-url", sim.base_url,
                         "--progress", "none", "--details-delay-ms", "0", "--json",
                         "--not-found-guard", "5")  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 3 == summary["exit_code"]
    assert [stage["job"] for stage in summary["stages"]] == ["sync", "trades"]
    assert summary["stages"][1]["finish_reason"] == "not_found_guard"
    assert summary["not_run"] == ["issuers", "committees"]


async def test_update_stops_before_anything_when_the_site_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new.db"
    args = ["update", "--db", str(db), "--base-url", "http://127.0.0.1:9", "--progress", "none"]
    assert await trio.to_thread.run_sync(main, args) == 3
    assert "cannot reach 127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["update", "--refresh-older-than", "5x"], "--refresh-older-than"),
        (["update", "--concurrency", "0"], "concurrency"),
        (["committees", "--max-failures", "0"], "max-failures"),
        (["committees", "--base-url", "ftp://x"], "base"),
    ],
)
def test_bad_values_are_refused_in_one_line_and_nothing_is_touched(
    tmp_path: Path, args: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=94, trades=20))
    before = db.read_bytes()
    assert main([*args, "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert named in err[0].lower(), err
    assert db.read_bytes() == before


def test_update_into_a_missing_folder_and_committees_on_a_missing_database_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", "--db", str(tmp_path / "nodir" / "x.db")]) == 2
    assert "folder" in capsys.readouterr().err
    assert main(["committees", "--db", str(tmp_path / "none.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("command", ["committees", "update"])
def test_help_explains_the_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--dry-run" in out
    assert "--max-rps" in out
    assert "--json" in out
    if command == "update":
        assert "--refresh-older-than" in out
        assert "--full" in out


def test_dry_runs_send_nothing_and_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=95, trades=40))
    before = db.read_bytes()
    assert main(["update", "--db", str(db), "--dry-run", "--base-url", "http://127.0.0.1:9"]) == 0
    out = capsys.readouterr().out
    assert "trades: 40 pending" in out
    assert "committees:" in out
    assert main(["committees", "--db", str(db), "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"] == {"committees": 48}
    assert db.read_bytes() == before


class _Pages:
    """A committee page reader in memory (a `PageReader`, as a run session is one): every
    committee has one member on one page, except `missing`, whose page is not found."""

    def __init__(self, store: Store, missing: str) -> None:
        self.store, self.missing = store, missing
        self.asked: list[str] = []
        self.commits = 0

    def pipeline(self) -> PipelineConfig:
        return pipeline_config(EnrichOptions(concurrency=4, delay=0.0), StatedLimits())

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]:
        self.asked.append(path)
        code = parse_qs(urlsplit(path).query)["committee"][0]
        if code == self.missing:
            raise FetchError(FailureKind.NOT_FOUND, "Page Not Found", path=path)
        page = PoliticianPage(cards(f"P{COMMITTEES_LIST.index(code):06d}"), total_count=1)
        return cast(R, page), None

    async def commit(self, write: Callable[[], T]) -> T:
        self.commits += 1
        return await self.store.run(write)


COMMITTEES_LIST = sorted(COMMITTEES)


async def test_a_committee_page_not_found_is_asked_for_once_and_nothing_is_replaced() -> None:
    """A not-found page ends the rounds: a later round does not ask for it again (the site
    said so already), and nothing is written (the roster is incomplete)."""
    missing = COMMITTEES_LIST[5]
    with Store.open(":memory:") as store:
        pages = _Pages(store, missing)
        result = await read_committees(pages)
    wanted = [committees_path(code, 1) for code in COMMITTEES_LIST]
    assert sorted(pages.asked) == sorted(wanted)  # each once, the missing one too
    assert result.stats.skipped == 1
    assert (result.complete, result.written, pages.commits) == (False, None, 0)
    assert missing in result.problems


class _Site:
    """Committee pages in memory, 12 cards a page: `members[code]` ids each; a page of
    `no_count` carries no member count; `churn[code]` reads of its page 2 say one member
    more (a roster that changed while it was read)."""

    def __init__(
        self,
        store: Store,
        members: dict[str, int],
        *,
        no_count: frozenset[str] = frozenset(),
        churn: dict[str, int] | None = None,
    ) -> None:
        self.store, self.members, self.no_count = store, members, no_count
        self.churn = dict(churn or {})
        self.asked: list[tuple[str, int]] = []

    def pipeline(self) -> PipelineConfig:
        return pipeline_config(EnrichOptions(concurrency=4, delay=0.0), StatedLimits())

    async def read(
        self, path: str, read: Callable[[bytes], R | PageFailure]
    ) -> tuple[R, PageRef | None]:
        query = parse_qs(urlsplit(path).query)
        code, number = query["committee"][0], int(query.get("page", ["1"])[0])
        self.asked.append((code, number))
        count = self.members.get(code, 0)
        ids = [f"{code.upper()}{n:04d}" for n in range(count)][(number - 1) * 12 : number * 12]
        total: int | None = count
        if number == 2 and self.churn.get(code, 0) > 0:
            self.churn[code] -= 1
            total = count + 1
        if code in self.no_count:
            total = None
        return cast(R, PoliticianPage(cards(*ids), total_count=total)), None

    async def commit(self, write: Callable[[], T]) -> T:
        return await self.store.run(write)


class _Shown:
    """The progress displays a committees run opened: (total, the last count shown)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int | None, list[int]]] = []

    def __call__(self, total: int | None) -> AbstractContextManager[ProgressSink]:
        counts: list[int] = []
        self.seen.append((total, counts))

        class Sink(NoProgress):
            def update(self, stats: RunStats) -> None:
                counts.append(stats.handled)

        return nullcontext(Sink())


def _stored_memberships(store: Store) -> int:
    return len(query(store, "SELECT 1 FROM politician_committees"))


async def test_committees_are_read_in_rounds_shown_as_they_go_and_written_once(
    tmp_path: Path,
) -> None:
    big = sorted(COMMITTEES)[:2]
    with Store.open(tmp_path / "ct.db") as store:
        site = _Site(store, {big[0]: 30, big[1]: 13})  # 3 pages and 2; every other has none
        shown = _Shown()
        result = await read_committees(site, progress=shown)
        assert result.complete
        assert [total for total, _ in shown.seen] == [48, 48 + 3]
        assert shown.seen[1][1][-1] == 51  # carried: the first round is counted in the second
        assert (result.stats.selected, result.stats.handled, result.stats.done) == (51, 51, 51)
        assert sorted(site.asked[48:]) == [(big[0], 2), (big[0], 3), (big[1], 2)]
        assert result.as_dict() == {
            "complete": True, "committees": 48, "memberships": 43, "memberships_added": 43,
            "memberships_removed": 0, "politicians_added": 43, "incomplete": {},
        }  # fmt: skip
        assert _stored_memberships(store) == 43
        # A dry run measures the same write and rolls it back.
        again = await read_committees(_Site(store, {big[0]: 29}), keep=False)
        assert again.written is not None
        assert (again.written.added, again.written.removed) == (0, 14)
        assert _stored_memberships(store) == 43


async def test_a_roster_that_changes_is_read_again_then_given_up_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    code = sorted(COMMITTEES)[0]
    with Store.open(tmp_path / "ct.db") as store:
        # Changed once while read: read again (page 1 in the third round, page 2 in the
        # fourth), then complete.
        once = _Site(store, {code: 20}, churn={code: 1})
        assert (await read_committees(once)).complete
        assert once.asked.count((code, 1)) == 2
        # Changed at every read: given up after the fourth round, nothing written.
        always = _Site(store, {code: 20}, churn={code: 9})
        result = await read_committees(always)
        assert (result.complete, result.written) == (False, None)
        assert result.problems == {code: "its member count changed while it was read (20, 21)"}
        assert always.asked.count((code, 2)) == 2  # in rounds 2 and 4
        assert result.as_dict()["incomplete"] == result.problems
        assert result.as_dict()["memberships"] is None


async def test_a_page_without_a_member_count_is_a_changed_layout_and_stops_the_write(
    tmp_path: Path,
) -> None:
    code = sorted(COMMITTEES)[3]
    with Store.open(tmp_path / "ct.db") as store:
        site = _Site(store, {code: 5}, no_count=frozenset({code}))
        result = await read_committees(site)
    assert result.stats.failed == {"layout_changed": 1}
    assert (result.complete, result.written) == (False, None)
    assert site.asked.count((code, 1)) == 1  # not asked again: a failure ends the rounds
    path = committees_path(code, 1)
    assert result.stats.last_failure == f"GET {path}: no totalCount on the page"


async def test_a_committees_read_stopped_before_it_began_asks_for_nothing(tmp_path: Path) -> None:
    stop = trio.Event()
    stop.set()
    with Store.open(tmp_path / "ct.db") as store:
        site = _Site(store, {})
        result = await read_committees(site, stop=stop)
    assert (site.asked, result.complete) == ([], False)
    assert result.stats.finish_reason.value == "interrupted"
    assert (result.stats.selected, result.stats.handled) == (0, 0)
