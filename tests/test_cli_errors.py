"""Bad input: a one-line error naming the problem, exit 2, and the database untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from trio_enrich.cli import main
from trio_enrich.sim import make_dataset

from .helpers import database_with_listing

BAD_OPTIONS = [
    (["--concurrency", "0"], "--concurrency"),
    (["--concurrency", "11"], "--concurrency"),
    (["--concurrency", "abc"], "--concurrency"),
    (["--max-failures", "0"], "--max-failures"),
    (["--batch-size", "-1"], "--batch-size"),
    (["--batch-size", "0"], "--batch-size"),
    (["--details-delay-ms", "-5"], "--details-delay-ms"),
    (["--max-rps", "0"], "--max-rps"),
    (["--retry-max", "-1"], "--retry-max"),
    (["--timeout", "0"], "--timeout"),
    (["--progress", "fancy"], "--progress"),
    (["--retry-base-ms", "-1"], "--retry-base-ms"),
    (["--retry-max-ms", "-1"], "--retry-max-ms"),
    (["--retry-max", "many"], "--retry-max"),
    (["--not-found-guard", "0"], "--not-found-guard"),
    (["--json", "yes"], "yes"),
    (["--wait", "later"], "later"),
    (["--dry-run", "please"], "please"),
    (["--retry-failed", "1"], "1"),
    (["--no-such-flag"], "--no-such-flag"),
    (["--base-url", "ftp://example.com"], "http"),
    (["--base-url", "not a url"], "base URL"),
    (["--base-url", "http://"], "host"),
    (["--base-url", "http://127.0.0.1:99999"], "port"),
]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return database_with_listing(tmp_path / "ct.db", make_dataset(seed=3, trades=20))


@pytest.mark.parametrize(("args", "named"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_option_values(
    args: list[str], named: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flags of `trades` (SiteFlags and EnrichFlags), once: every command that takes a flag
    class validates it the same way; `issuers` adds only --refresh-older-than (tested with
    update's in test_cron_life)."""
    before = database.read_bytes()
    code = main(["trades", "--db", str(database), "--progress", "none", *args])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("trio-enrich: error: ")
    assert named in lines[0]
    assert "Traceback" not in captured.err
    assert database.read_bytes() == before


def test_bad_environment_value(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPITOLTRADES_RETRY_MAX", "lots")
    before = database.read_bytes()
    assert main(["trades", "--db", str(database)]) == 2
    assert "CAPITOLTRADES_RETRY_MAX" in capsys.readouterr().err
    assert database.read_bytes() == before


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"plain text, not a database\n" * 40), "not an SQLite database"),
        (lambda p: None, "does not exist"),
    ],
    ids=["directory", "not-sqlite", "missing"],
)
def test_bad_database_paths(
    tmp_path: Path, make: object, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target.db"
    make(target)  # type: ignore[operator]
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["trades", "--db", str(target), "--base-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2
    assert named in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created


COMMANDS = [
    "trades", "issuers", "sync", "committees", "update", "status", "check", "reparse", "page",
    "archive", "demo", "sim", "list", "news", "export", "serve",
]  # fmt: skip


def test_the_list_of_commands_is_the_apps() -> None:
    from trio_enrich.cli import app

    assert [name for name in app if not name.startswith("-")] == COMMANDS


#: Commands that group others: their help is checked through each of theirs.
GROUPS = {"archive": ["prune"], "list": ["trades"]}


@pytest.mark.parametrize(
    "command",
    [[], *([name, *GROUPS.get(name, [])] for name in COMMANDS), ["archive", "--help"]],
    ids=str,
)
def test_every_command_has_help_that_explains_each_flag(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--help` of every command (and of the tool): exit 0, a usage line, a description, and
    no flag without words (a flag line that is only its name and type)."""
    group = command[-1:] == ["--help"]
    assert main(command if group else [*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: trio-enrich")
    lines = out.splitlines()
    assert any(len(line.split()) > 5 for line in lines[1:5])  # the command says what it does
    flags = [line for line in lines if line.lstrip("│ ").startswith("--")]
    assert flags or not command or group  # every command has options
    bare = [line for line in flags if len(line.strip("│ ").split()) < 3]
    assert not bare, bare


def test_every_error_of_a_group_is_reported_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trio_enrich import DatabaseError, UsageError
    from trio_enrich.cli import program

    def failing_app(*args: object, **kwargs: object) -> int:
        raise ExceptionGroup(
            "two tasks failed",
            [DatabaseError("database x.db is locked"), UsageError("--since is not a date")],
        )

    monkeypatch.setattr(program, "app", failing_app)
    assert main(["trades"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["trio-enrich: error: database x.db is locked; --since is not a date"]
