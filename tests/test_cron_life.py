"""The life the README recommends, a nightly `update` from cron, and the flags a new user types
(issue 20)."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from trio_enrich.cli import main
from trio_enrich.sim import Dataset, Faults, make_dataset, open_simulator

from .helpers import (
    assert_issuers_match_truth,
    cli,
    database_with_listing,
    sim_process,
    wait_for_requests,
)


def _age_issuers(db: Path, hours: float, minutes: float = 0) -> None:
    """Make every issuer's data older, as a night between two runs does."""
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE issuers SET enriched_at = strftime('%Y-%m-%dT%H:%M:%SZ', enriched_at, ?)"
            " WHERE enriched_at IS NOT NULL",
            (f"-{hours * 60 + minutes} minutes",),
        )
    connection.close()


# --- item 1: what the previous night fetched is refreshed tonight ------------------------------


async def test_three_nightly_updates_refresh_every_issuer_every_night(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=201, trades=150)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=201) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--concurrency", "6", "--json"]  # fmt: skip
        assert await cli("update", *site) == 0
        for night in (1, 2):
            # Tonight's run starts ten minutes earlier than last night's: 23 h 50 min later.
            _age_issuers(db, 23, 50)
            assert dataset.reprice() > 0
            capsys.readouterr()
            assert await cli("update", *site, "--dry-run") == 0
            plan = json.loads(capsys.readouterr().out)
            assert await cli("update", *site) == 0, night
            summary = json.loads(capsys.readouterr().out)
            issuers = next(s for s in summary["stages"] if s["job"] == "issuers")
            assert issuers["enriched"] == len(dataset.issuers), night
            assert plan["plan"]["issuers"] == len(dataset.issuers), plan
            assert_issuers_match_truth(db, dataset, windows=night + 1)


async def test_issuers_fetched_a_few_hours_ago_are_not_fetched_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=202, trades=40)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=202) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--json"]  # fmt: skip
        assert await cli("issuers", *site) == 0
        _age_issuers(db, 19, 30)  # a second run the same day: nothing is due yet
        capsys.readouterr()
        assert await cli("issuers", *site, "--refresh-older-than", "1d") == 0
        assert json.loads(capsys.readouterr().out)["selected"] == 0
        _age_issuers(db, 1)  # 20 h 30 min: due under 1d
        assert await cli("issuers", *site, "--refresh-older-than", "1d") == 0
        assert json.loads(capsys.readouterr().out)["selected"] == len(dataset.issuers)


# --- item 6: durations that crashed or were taken differently by two commands ----------------


@pytest.mark.parametrize("command", ["issuers", "update"])
@pytest.mark.parametrize("value", ["999999d", "99999999999999999999d", "36501d", "-1d", "1.5h"])
def test_a_duration_out_of_range_is_one_line_exit_2_and_nothing_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, value: str
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=203, trades=20))
    before = db.read_bytes()
    assert main([command, "--db", str(db), "--refresh-older-than", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "--refresh-older-than" in err[0]
    assert repr(value) in err[0]
    assert db.read_bytes() == before


@pytest.mark.parametrize("command", ["issuers", "update"])
def test_never_means_the_same_to_issuers_and_update(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=204, trades=20))
    assert main([command, "--db", str(db), "--refresh-older-than", "never", "--dry-run",
                 "--json"]) == 0  # fmt: skip
    plan = json.loads(capsys.readouterr().out)
    assert plan


def test_a_hundred_years_is_the_longest_duration(tmp_path: Path) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=205, trades=20))
    assert main(["issuers", "--db", str(db), "--refresh-older-than", "36500d", "--dry-run"]) == 0


# --- item 2: one robots.txt rule keeps one stage from running, not the whole copy --------------


async def test_a_disallowed_stage_is_not_run_and_named_while_the_others_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=206, trades=60)
    db = tmp_path / "ct.db"
    robots = "User-agent: *\nDisallow: /politicians\n"
    async with open_simulator(dataset, Faults(robots_txt=robots), seed=206) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--concurrency", "6"]  # fmt: skip
        code = await cli("update", *site, "--json")
        summary = json.loads(capsys.readouterr().out)
        assert await cli("update", *site) == 1
        text = " ".join(capsys.readouterr().out.split())
        paths = sim.log.paths()
    assert code == 1 == summary["exit_code"]
    assert [stage["job"] for stage in summary["stages"]] == ["sync", "trades", "issuers"]
    assert summary["not_run"] == ["committees"]
    assert list(summary["refused_by_robots"]) == ["committees"]
    assert summary["refused_by_robots"]["committees"].endswith(
        "for trio-enrich (line 2: Disallow: /politicians)"
    )
    assert "not run: committees: robots.txt disallows" in text
    assert "line 2: Disallow: /politicians" in text
    assert not any(path.startswith("/politicians") for path in paths)
    assert_trades_and_issuers_enriched(db, dataset)


def assert_trades_and_issuers_enriched(db: Path, dataset: Dataset) -> None:
    with sqlite3.connect(db) as connection:
        trades = connection.execute("SELECT COUNT(enriched_at) FROM trades").fetchone()[0]
        issuers = connection.execute("SELECT COUNT(enriched_at) FROM issuers").fetchone()[0]
    connection.close()
    assert (trades, issuers) == (len(dataset.trades), len(dataset.issuers))


@pytest.mark.parametrize("pending", [False, True])
async def test_the_dry_run_and_the_run_agree_on_what_robots_txt_allows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pending: bool
) -> None:
    dataset = make_dataset(seed=207, trades=30)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=207) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--json"]  # fmt: skip
        assert await cli("update", *site) == 0  # nothing pending afterwards
        if pending:
            with sqlite3.connect(db) as connection:
                connection.execute(
                    "UPDATE trades SET enriched_at = NULL"
                    " WHERE tx_id IN (SELECT tx_id FROM trades LIMIT 3)"
                )
            connection.close()
        sim.set_faults(Faults(robots_txt="User-agent: *\nDisallow: /trades/\n"))
        capsys.readouterr()
        assert await cli("update", *site, "--dry-run") == 0
        plan = json.loads(capsys.readouterr().out)
        code = await cli("update", *site)
        summary = json.loads(capsys.readouterr().out)
    refused = {"trades"} if pending else set()
    assert set(plan["refused_by_robots"]) == refused == set(summary["refused_by_robots"])
    assert code == (1 if pending else 0)
    ran = [stage["job"] for stage in summary["stages"]]
    assert ran == [s for s in ("sync", "trades", "issuers", "committees") if s not in refused]


# --- item 5: pages that are always a server error are parked after days, not retried forever ---


def _age_failures(db: Path, days: float) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE trio_enrich_failures SET"
            " first_at = strftime('%Y-%m-%dT%H:%M:%SZ', first_at, ?),"
            " last_at = strftime('%Y-%m-%dT%H:%M:%SZ', last_at, ?)",
            (f"-{days} days", f"-{days} days"),
        )
    connection.close()


async def test_a_page_that_is_always_a_server_error_is_parked_after_five_runs_over_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=208, trades=40)
    broken = frozenset(t.listing.tx_id for t in dataset.trades[:3])
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(error_digest_ids=broken), seed=208) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--retry-max", "0", "--json"]  # fmt: skip
        codes = []
        for _night in range(6):
            codes.append(await cli("trades", *site))
            _age_failures(db, 1)  # the next run is a day later
        capsys.readouterr()
        assert await cli("status", "--db", str(db), "--json") == 0
        status = json.loads(capsys.readouterr().out)["trades"]
        assert await cli("status", "--db", str(db)) == 0
        text = capsys.readouterr().out
        before = len(sim.log)
        assert await cli("trades", *site) == 0  # nothing selected: the copy is as complete
        assert len(sim.log) == before
        capsys.readouterr()
        assert await cli("trades", *site, "--retry-failed") == 1  # back on request
        again = json.loads(capsys.readouterr().out)
    # Five runs over four days fail (exit 1) and record; from then on they are parked.
    assert codes == [1, 1, 1, 1, 1, 0]
    assert status["parked"] == 3
    assert status["failed"] == 0
    assert status["pending"] == 0
    assert "parked: 3" in text
    assert again["selected"] == 3


async def test_a_few_bad_nights_in_a_row_are_not_enough_to_park(tmp_path: Path) -> None:
    dataset = make_dataset(seed=209, trades=20)
    broken = frozenset({dataset.trades[0].listing.tx_id})
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(error_digest_ids=broken), seed=209) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--retry-max", "0"]  # fmt: skip
        # Ten runs within an hour: an outage of the site's backend, not a broken page.
        codes = [await cli("trades", *site) for _ in range(10)]
    assert codes == [1] * 10


# --- item 7: the simulator's own flags ----------------------------------------------------------


def test_sim_refuses_a_busy_port_a_missing_robots_file_and_a_log_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = {
            f"--port {port} is in use": ["--port", str(port)],
            "does not exist": ["--port", "0", "--robots-txt", str(tmp_path / "none.txt")],
            "is a folder": ["--port", "0", "--robots-txt", str(tmp_path)],
            "folder": ["--port", "0", "--log", str(tmp_path / "missing" / "log.jsonl")],
        }
        for said, flags in cases.items():
            assert main(["sim", *flags]) == 2, flags
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1, err
            assert said in err[0], err


# --- item 8: numbers that are not what the flag takes ---------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--concurrency", "2.5"), ("--details-delay-ms", "1.5"), ("--retry-max", "1e1"),
     ("--batch-size", "0x10"), ("--max-rps", "auto:"), ("--max-rps", "auto:x")],
)  # fmt: skip
def test_a_number_the_flag_does_not_take_is_refused_not_truncated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=210, trades=20))
    before = db.read_bytes()
    assert main(["trades", "--db", str(db), flag, value, "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert flag in err[0]
    assert db.read_bytes() == before


# --- item 9: a first run that is refused or cannot reach the site leaves no file -------------


@pytest.mark.parametrize("command", ["sync", "update"])
def test_a_refused_or_unreachable_first_run_leaves_no_database(
    tmp_path: Path, command: str
) -> None:
    robots = tmp_path.parent / f"robots-{command}.txt"
    robots.write_text("User-agent: *\nDisallow: /\n")
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "new.db"
    with sim_process("--trades", "20", "--robots-txt", str(robots)) as url:
        assert main([command, "--db", str(db), "--base-url", url, "--progress", "none"]) == 2
    assert list(folder.iterdir()) == []
    code = main([command, "--db", str(db), "--base-url", "http://127.0.0.1:9", "--progress",
                 "none"])  # fmt: skip
    assert code == 3
    assert list(folder.iterdir()) == []


# --- item 15: a sync stopped at --pages says so, and status knows it happened -------------------


async def test_a_sync_stopped_at_its_page_limit_says_so_and_status_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=212, trades=60)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=212) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0"]  # fmt: skip
        assert await cli("sync", *site, "--pages", "3") == 0  # a first walk, cut at 3 pages
        said = " ".join(capsys.readouterr().out.split())
        assert await cli("status", "--db", str(db)) == 0
        status = " ".join(capsys.readouterr().out.split())
        assert await cli("sync", *site) == 0  # finishes the walk
        capsys.readouterr()
        dataset.publish(40)
        assert await cli("sync", *site, "--pages", "2", "--json") == 0
        summary = json.loads(capsys.readouterr().out)
        assert await cli("status", "--db", str(db)) == 0
        later = " ".join(capsys.readouterr().out.split())
    assert "sync: stopped at --pages 3" in said
    assert "completed" not in said.split("pages 3")[0]
    assert "last sync never" not in status
    assert "not to its end; last complete sync never" in status
    assert summary["stopped_at_page_limit"] is True
    assert summary["complete"] is False
    assert "not to its end; last complete sync 20" in later


# --- items 10 and 11: one form for the code, one true instruction naming the command run ------


@pytest.mark.parametrize(
    ("command", "stage", "signum", "code"),
    [
        ("update", "sync", signal.SIGINT, 130),
        ("update", "trades", signal.SIGTERM, 143),
        ("trades", "trades", signal.SIGINT, 130),
        ("committees", "committees", signal.SIGINT, 130),
    ],
)
def test_a_stopped_run_names_its_exit_code_and_the_command_to_run_again(
    tmp_path: Path, command: str, stage: str, signum: int, code: int
) -> None:
    db = tmp_path / "ct.db"
    with sim_process("--trades", "600", "--latency-ms", "30", "--seed", "213") as url:
        site = ["--db", str(db), "--base-url", url, "--progress", "none",
                "--details-delay-ms", "0", "--concurrency", "2"]  # fmt: skip
        if command != "update" or stage != "sync":
            assert main(["sync", *site]) == 0
        before = _served(url)
        run = subprocess.Popen(
            [sys.executable, "-m", "trio_enrich", command, *site],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_requests(url, before + (8 if stage != "trades" or command == "trades" else 60))
        run.send_signal(signum)
        out, err = run.communicate(timeout=60)
    assert run.returncode == code, (out, err)
    text = " ".join(out.split())
    if command == "update":
        assert f"{stage} interrupted (exit {code})" in text, out
    else:
        assert f"{command}: interrupted in" in text
        assert f"(exit {code})" in text.split("interrupted in")[1][:40], out
    advice = [s for s in ("trio-enrich sync", "trio-enrich trades", "trio-enrich issuers",
                          "trio-enrich committees", "trio-enrich update", "the same command")
              if s in text]  # fmt: skip
    assert advice == [f"trio-enrich {command}"], (advice, out)
    if command == "committees":
        assert "reads all 48 committees again" in text
        assert "remaining" not in text


def _served(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_sim/stats", timeout=5) as answer:
        return int(json.loads(answer.read())["requests"])


# --- item 16: what a person reads, whole -------------------------------------------------------


def test_wrapped_text_never_splits_a_command() -> None:
    from trio_enrich.commands.report import wrap

    line = ("not run: issuers, committees (an earlier stage stopped the run); run "
            "`trio-enrich update --db /srv/capitol/capitoltraders.db` again later")  # fmt: skip
    for indent in range(0, 40, 3):
        lines = wrap(["head", "x" * indent + " " + line])
        text = "\n".join(lines)
        assert "`trio-enrich update --db /srv/capitol/capitoltraders.db`" in text, text
        assert all(len(out) <= 80 or "`" in out for out in lines)


def test_log_lines_start_with_the_time(capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import re

    from trio_enrich.commands.progress import LogProgress
    from trio_enrich.core.stats import RunStats

    stream = io.StringIO()
    log = LogProgress("trades", interval=0.0, stream=stream)
    stats = RunStats(selected=10, started=0.0, finished=1.0, done=3)
    log.tick(stats)
    log.warn("something")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "
    assert re.match(stamp + "trades: 3/10", lines[0]), lines
    assert re.match(stamp + "trades: warning: something", lines[1]), lines


async def test_since_before_the_listing_reads_no_page_past_its_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=214, trades=50)  # 5 pages
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=214) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0"]  # fmt: skip
        assert await cli("sync", *site) == 0
        before = len(sim.log)
        capsys.readouterr()
        assert await cli("sync", *site, "--since", "1990-01-01") == 0
        paths = sim.log.paths()[before:]
        text = " ".join(capsys.readouterr().out.split())
    assert [p for p in paths if p.startswith("/trades?")] == [
        f"/trades?page={n}" for n in range(1, 6)
    ]
    assert "last page came first" in text


# --- item 14: a dry run speaks as the real run does ---------------------------------------------


async def test_the_update_dry_run_takes_full_names_its_job_and_counts_in_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=215, trades=50)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=215) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--json"]  # fmt: skip
        assert await cli("update", *site) == 0
        real = json.loads(capsys.readouterr().out)
        plans = {}
        for extra in ([], ["--full"]):
            assert await cli("update", *site, "--dry-run", *extra) == 0
            plans[bool(extra)] = json.loads(capsys.readouterr().out)
    assert plans[False]["job"] == real["job"] == "update"
    assert all(isinstance(v, int) for k, v in plans[False]["plan"].items() if k != "sync_mode")
    assert (plans[False]["plan"]["sync"], plans[False]["plan"]["sync_mode"]) == (1, "incremental")
    assert (plans[True]["plan"]["sync"], plans[True]["plan"]["sync_mode"]) == (5, "full")


def test_the_dry_run_estimate_of_auto_uses_its_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=216, trades=2000)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    assert main(["trades", "--db", str(db), "--max-rps", "auto", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    # 2,000 pages at auto's start of 5 requests/s: at least 400 s, not 2000 x 0.15 / 3 = 100 s.
    assert plan["estimated_seconds"] >= 2000 / 5
    assert main(["trades", "--db", str(db), "--max-rps", "auto", "--dry-run"]) == 0
    assert "auto from 5.0 requests/s" in " ".join(capsys.readouterr().out.split())


# --- item 19: what the demo and the docs say is true ---------------------------------------------


def test_the_demo_prints_the_flags_it_runs_with_and_leaves_no_temporary_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("trio-enrich-demo-*"))
    assert main(["demo", "--trades", "60", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    after = set(Path(tempfile.gettempdir()).glob("trio-enrich-demo-*"))
    assert after == before  # its temporary folder is gone
    command = next(line for line in out.splitlines() if line.startswith("$ trio-enrich update"))
    assert "--concurrency 8" in command
    assert "--details-delay-ms 0" in command
    assert "..." not in command
    assert "removed (pass --db FILE to keep it)" in out


def test_committees_and_status_count_the_same_committees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db), "--trades", "80", "--progress", "none"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    said = re.search(r"memberships (\d+) in (\d+) of the 48 committees", out)
    shown = re.search(r"committees: (\d+) memberships of \d+ politicians in (\d+) committees", out)
    assert said is not None and shown is not None, out  # noqa: PT018
    assert said.groups() == shown.groups()


def test_the_readme_says_which_commands_create_the_database() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "(`sync`, `update` and `demo` create it" in readme
    assert "hypercorn" not in (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
