"""What a new user trips on (issue 11): foreign databases left alone, a wrong address that
fails in seconds without blaming items, and the small things: hints, help, words, widths."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from trio_enrich import SCHEMA_VERSION, FailureKind, FetchError
from trio_enrich.cli import app, main
from trio_enrich.core.pipeline import Outcome, run_pipeline
from trio_enrich.core.policy import PipelineConfig, RetryPolicy
from trio_enrich.core.stats import FinishReason
from trio_enrich.sim import make_dataset
from trio_enrich.site.rules import SITE_RULES

from .helpers import database_with_listing, query

# --- defect 2: only sync creates a schema, and only in a new or empty file --------------------


def _foreign_database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE foo (x INTEGER)")
    db.execute("INSERT INTO foo VALUES (1)")
    db.execute("PRAGMA user_version = 7")
    db.commit()
    db.close()


FOREIGN_FILES: dict[str, Callable[[Path], object]] = {
    "foreign": _foreign_database,
    "zero-bytes": lambda path: path.write_bytes(b""),
}

EVERY_COMMAND = [
    ["trades"],
    ["issuers"],
    ["trades", "--dry-run"],
    ["issuers", "--dry-run"],
    ["status"],
]


@pytest.mark.parametrize("kind", sorted(FOREIGN_FILES))
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_a_file_without_the_capitoltraders_tables_is_refused_untouched(
    tmp_path: Path, kind: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    FOREIGN_FILES[kind](path)
    before = path.read_bytes()
    site = [] if command == ["status"] else ["--base-url", "http://127.0.0.1:9"]
    code = main([*command, "--db", str(path), *site])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "not a capitoltraders database" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm


def test_sync_refuses_a_foreign_database_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    _foreign_database(path)
    before = path.read_bytes()
    assert main(["sync", "--db", str(path), "--base-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "not a capitoltraders database" in err
    assert "foo" in err  # names what the file holds
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_sync_may_make_its_schema_in_a_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    # The site is unreachable, but the schema is made first, as in a new file.
    assert main(["sync", "--db", str(path), "--base-url", f"http://127.0.0.1:{_closed_port()}",
                 "--progress", "none"]) == 3  # fmt: skip
    db = sqlite3.connect(path)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert {"trades", "issuers", "assets", "politicians"} <= tables


# --- defect 4: a wrong address fails fast, blaming nobody ----------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("job", ["trades", "issuers"])
def test_a_refused_address_stops_in_seconds_with_exit_3_and_records_nothing(
    tmp_path: Path, job: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=61, trades=30))
    port = _closed_port()
    started = time.monotonic()
    code = main([job, "--db", str(db), "--base-url", f"http://127.0.0.1:{port}",
                 "--progress", "none"])  # fmt: skip
    took = time.monotonic() - started
    captured = capsys.readouterr()
    assert code == 3
    assert took < 8.0  # the grace period is 2 s; before, it took the breaker 16-20 s
    # robots.txt, the run's first request, finds nobody there: one line on stderr
    assert f"cannot reach 127.0.0.1:{port}" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    connection = sqlite3.connect(db)
    failures = connection.execute("SELECT COUNT(*) FROM trio_enrich_failures").fetchone()[0]
    enriched = connection.execute(f"SELECT COUNT(enriched_at) FROM {job}").fetchone()[0]
    connection.close()
    assert failures == 0  # no item blamed
    assert enriched == 0


def _refused(item: int) -> FetchError:
    return FetchError(FailureKind.UNREACHABLE, "connection refused", path=f"/x/{item}")


async def test_the_core_gives_up_after_the_grace_period_without_an_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    committed: list[object] = []
    calls: list[float] = []

    async def fetch(item: int) -> str:
        calls.append(trio.current_time())
        await trio.sleep(0.01)
        raise _refused(item)

    async def commit(outcomes: list[Outcome[int, str]]) -> None:
        committed.extend(outcomes)

    config = PipelineConfig(
        concurrency=3, delay=0, retry=RetryPolicy(base=1, cap=2), rules=SITE_RULES
    )
    stats = await run_pipeline(range(100), fetch, commit, config)
    assert stats.finish_reason is FinishReason.UNREACHABLE
    assert committed == []  # nothing recorded against any item
    assert stats.failed == {}
    assert config.unreachable_grace <= max(calls) < config.unreachable_grace + 1
    assert "connection refused" in stats.last_failure


async def test_refusals_after_the_site_answered_are_an_outage_not_a_wrong_address(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def fetch(item: int) -> str:
        await trio.sleep(0.01)
        if item >= 3:
            raise _refused(item)
        return "page"

    committed: list[object] = []

    async def commit(outcomes: list[Outcome[int, str]]) -> None:
        committed.extend(outcomes)

    config = PipelineConfig(
        concurrency=1, delay=0, max_failures=3,
        retry=RetryPolicy(max_retries=1, base=1, cap=1), rules=SITE_RULES,
    )  # fmt: skip
    stats = await run_pipeline(range(10), fetch, commit, config)
    assert stats.finish_reason is FinishReason.BREAKER  # retried, then the breaker
    assert stats.done == 3
    assert stats.failed == {"unreachable": 3}


# --- defect 5: the small things ----------------------------------------------------------------


@pytest.mark.parametrize("job", ["trades", "issuers"])
def test_an_empty_database_says_to_sync_first(
    tmp_path: Path, job: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ct.db"
    from trio_enrich import Store

    Store.open(path).close()
    before = path.read_bytes()
    assert main([job, "--db", str(path), "--base-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert f"no {job} in the database" in err
    assert "trio-enrich sync" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", [["trades"], ["issuers", "--dry-run"], ["status"]])
def test_a_missing_database_suggests_sync(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nope.db"
    assert main([*command, "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert f"trio-enrich sync --db {path}" in err
    assert not path.exists()


@pytest.mark.parametrize("job", ["trades", "issuers", "status", "sync"])
def test_a_positional_path_suggests_db(
    tmp_path: Path, job: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my.db"
    assert main([job, str(path)]) == 2
    err = capsys.readouterr().err
    assert f"--db {path}" in err
    assert len(err.strip().splitlines()) == 1
    assert not path.exists()


def test_help_shows_what_values_look_like(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "not-found" in top
    assert "cannot be reached" in top
    assert main(["sync", "--help"]) == 0
    sync = capsys.readouterr().out
    assert "--base-url URL" in sync
    assert "--since YYYY-MM-DD" in sync
    assert " STR " not in sync


def test_sim_help_names_the_control_endpoints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--help"]) == 0
    text = capsys.readouterr().out
    for endpoint in ("/_sim/truth", "/_sim/stats", "/_sim/publish", "/_sim/log"):
        assert endpoint in text


def test_demo_refuses_a_path_in_a_missing_folder_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["demo", "--db", str(tmp_path / "nodir" / "x.db")]) == 2
    captured = capsys.readouterr()
    assert "does not exist" in captured.err
    assert "simulated site" not in captured.out  # the simulator never started
    assert time.monotonic() - started < 2.0


async def test_summaries_and_status_fit_80_columns_and_name_failures_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trio_enrich.sim import Faults, open_simulator

    dataset = make_dataset(seed=62, trades=120)
    folder = tmp_path / "a-rather-long-folder-name-for-the-database-of-this-user"
    folder.mkdir()
    db = database_with_listing(folder / "capitoltraders.db", dataset)
    broken = frozenset(t.listing.tx_id for t in dataset.trades[:5])
    async with open_simulator(dataset, Faults(error_digest_ids=broken), seed=62) as sim:
        code = await app.run_async(
            ["trades", "--db", str(db), "--base-url", sim.base_url, "--progress", "none",
             "--details-delay-ms", "0"],
            result_action="return_value", exit_on_error=False, print_error=False,
        )  # fmt: skip
        assert code == 1
        summary = capsys.readouterr().out
        await app.run_async(["status", "--db", str(db)], result_action="return_value")
        report = capsys.readouterr().out
    for text in (summary, report):
        assert "error_digest" not in text
        assert "server error page" in text
        too_wide = [line for line in text.splitlines() if len(line) > 80]
        assert too_wide == [] or all(str(db) in line for line in too_wide), too_wide


# --- defect 6: values that stand for "not shown" can be told apart --------------------------------


@pytest.mark.parametrize("shape", ["live", "object"])
async def test_status_counts_the_values_that_mean_not_shown(
    tmp_path: Path, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from trio_enrich.sim import Faults, open_simulator

    dataset = make_dataset(seed=63, trades=60)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(detail_shape=shape), seed=63) as sim:
        code = await app.run_async(
            ["trades", "--db", str(db), "--base-url", sim.base_url, "--progress", "none",
             "--details-delay-ms", "0"],
            result_action="return_value", exit_on_error=False, print_error=False,
        )  # fmt: skip
        assert code == 0
    capsys.readouterr()
    await app.run_async(["status", "--db", str(db), "--json"], result_action="return_value")
    hidden = json.loads(capsys.readouterr().out)["not_shown"]
    details = [t.detail(shape) for t in dataset.trades]
    # Live pages never show capital gains: every stored 0 there means "not shown".
    assert hidden["has_capital_gains"] == sum(d.has_capital_gains is None for d in details)
    assert hidden["filing_id"] == sum(not d.filing_id for d in details)
    assert hidden["asset_type"] == sum(d.asset_type is None for d in details)
    if shape == "live":
        assert hidden["has_capital_gains"] == 60
    else:
        assert hidden["has_capital_gains"] == 0
    connection = sqlite3.connect(db)
    shown = {
        row[0] for row in connection.execute("SELECT tx_id FROM trio_enrich_capital_gains_shown")
    }
    connection.close()
    assert shown == {t.listing.tx_id for t, d in zip(dataset.trades, details, strict=True)
                     if d.has_capital_gains is not None}  # fmt: skip


def test_a_version_1_database_gains_the_capital_gains_table(tmp_path: Path) -> None:
    from trio_enrich import Store

    path = tmp_path / "v1.db"
    Store.open(path).close()
    db = sqlite3.connect(path)
    # What version 1 had: no tables or columns of the later versions, and no views.
    for (view,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
        db.execute(f"DROP VIEW {view}")
    db.execute("DELETE FROM trio_enrich_meta WHERE key = 'views'")
    db.execute("DROP TABLE trio_enrich_capital_gains_shown")
    db.execute("DROP TABLE trio_enrich_partial_performance")
    db.execute("ALTER TABLE trio_enrich_failures DROP COLUMN runs")
    db.execute("ALTER TABLE trio_enrich_failures DROP COLUMN first_at")
    db.execute("UPDATE trio_enrich_meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert query(store, "SELECT COUNT(*) FROM trio_enrich_capital_gains_shown") == [(0,)]
