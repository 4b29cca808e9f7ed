"""The README's exit-code table, the top-level --help and the code agree (issue 31, item 11),
and so do the documents' numbers and what a run does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trio_enrich import _errors
from trio_enrich._defaults import START_GUARD
from trio_enrich.cli import app
from trio_enrich.sim import make_dataset, open_simulator

from .helpers import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RELIABILITY = (ROOT / "docs" / "RELIABILITY.md").read_text()


def readme_exit_codes() -> dict[int, str]:
    section = README.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| (\d+) \| (.*) \|$", section, re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_the_readme_table_has_every_exit_code_of_the_code_and_no_other() -> None:
    codes = {value for name, value in vars(_errors).items() if name.startswith("EXIT_")}
    assert set(readme_exit_codes()) == codes


def test_the_top_level_help_names_every_exit_code() -> None:
    help_text = str(app.help)
    for code in readme_exit_codes():
        assert re.search(rf"(^|[;:] ){code} ", help_text), code


def test_exit_3_says_what_stops_a_run_in_the_table_and_the_help() -> None:
    three = readme_exit_codes()[3]
    help_text = " ".join(str(app.help).split())
    for cause in ("circuit breaker", "not-found guard", "blocked", "layout", "robots.txt",
                  "cannot be reached", "full disk"):  # fmt: skip
        assert cause in three, cause
        assert cause in help_text, cause
    assert "nothing was changed" in readme_exit_codes()[2]


def test_the_refusals_that_stop_a_blocked_run_are_the_number_the_documents_give() -> None:
    (readme,) = re.findall(r"first answers \((\d) in a row", README)
    (reliability,) = re.findall(r"after (\d) such answers in a row", RELIABILITY)
    assert int(readme) == int(reliability) == START_GUARD


async def test_a_sync_stopped_by_pages_exits_as_the_table_says(tmp_path: Path) -> None:
    assert "stopped by `--pages N` stopped as asked: exit 0" in readme_exit_codes()[1]
    dataset = make_dataset(seed=48, trades=60)
    async with open_simulator(dataset, seed=48) as sim:
        site = ["--db", str(tmp_path / "ct.db"), "--base-url", sim.base_url]
        code = await cli("sync", *site, "--progress", "none", "--pages", "1")
    assert code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("update", "--base-url", "http://127.0.0.1:9"),
        ("trades", "--base-url", "http://127.0.0.1:9"),
        ("sync", "--base-url", "http://127.0.0.1:9"),
        ("committees", "--base-url", "http://127.0.0.1:9"),
        ("status",),
        ("reparse",),
        ("archive", "prune", "--keep", "1"),
        ("update", "--max-rps", "fast"),
    ],
    ids=" ".join,
)
def test_json_always_prints_its_object_once_the_flags_were_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    """Issue 31, item 12: an unreachable site, a missing database, a bad rate."""
    from trio_enrich.cli import main

    db = tmp_path / "ct.db" if args[0] in ("update", "sync") else tmp_path / "none.db"
    code = main([*args, "--db", str(db), "--json"])
    out = capsys.readouterr().out
    report = json.loads(out)  # one object, and nothing else
    assert code in (2, 3)
    assert report["exit_code"] == code
    assert report["job"] == " ".join(args[:2] if args[0] == "archive" else args[:1])
    assert report["error"]


@pytest.mark.parametrize("command", ["sync", "update", "trades", "committees"])
async def test_no_request_is_sent_before_a_path_error(tmp_path: Path, command: str) -> None:
    """Issue 31, item 14: every local check comes before the first request."""
    dataset = make_dataset(seed=49, trades=30)
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    async with open_simulator(dataset, seed=49) as sim:
        for db in (tmp_path / "nonexistent" / "x.db", a_file / "x.db", tmp_path):
            with pytest.raises(_errors.TrioEnrichError):
                await cli(command, "--db", str(db), "--base-url", sim.base_url,
                          "--progress", "none")  # fmt: skip
        assert (len(sim.log), len(sim.robots_log)) == (0, 0)


def test_small_words_that_were_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 31, item 16: an archive named as the database; a trade id that is an issuer's."""
    from trio_enrich.cli import main
    from trio_enrich.storage.archive import PageArchive

    archive = tmp_path / "ct.pages.db"
    PageArchive.open(archive).close()  # (its table has an index)
    assert main(["status", "--db", str(archive)]) == 2
    said = capsys.readouterr().err
    assert "idx_pages_url" not in said  # an index is no table
    assert f"--db {tmp_path / 'ct.db'}" in said
    (tmp_path / "ct.db").touch()
    assert main(["page", "429000", "--db", str(tmp_path / "ct.db")]) == 2
    assert "add --issuer" in capsys.readouterr().err
