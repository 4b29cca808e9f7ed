"""Every numeric flag of every command, taken from the app itself (a new flag is covered by
itself): huge, odd and out-of-range numbers are one line naming the flag and its range, exit 2,
and nothing touched (issue 31, item 4)."""

from __future__ import annotations

import hashlib
import types
import typing
from pathlib import Path

import pytest

from trio_enrich.cli import app, main
from trio_enrich.sim import make_dataset

from .helpers import database_with_listing

#: Flags whose number is written as text the command reads itself (a rate, a duration).
TEXT_NUMBERS = {"--max-rps", "--refresh-older-than"}
#: What no numeric flag takes.
REFUSED = ["99999999999999999999", "1e20", "1e300", "nan", "inf", "-inf", "-1", "1e-400x"]


def _numeric(hint: object) -> bool:
    if hint in (int, float):
        return True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_numeric(arg) for arg in typing.get_args(hint) if arg is not type(None))
    return False


def numeric_flags() -> list[tuple[tuple[str, ...], str]]:
    """(the command's words, the flag) for every numeric flag of every command."""
    found: list[tuple[tuple[str, ...], str]] = []

    def visit(words: tuple[str, ...], command_app: typing.Any) -> None:
        for name in command_app:
            if name.startswith("-"):
                continue
            sub = command_app[name]
            if list(sub) and sub.default_command is None:
                visit((*words, name), sub)
                continue
            for argument in sub.assemble_argument_collection():
                flag = argument.name
                if flag.startswith("--") and (_numeric(argument.hint) or flag in TEXT_NUMBERS):
                    found.append(((*words, name), flag))

    visit((), app)
    return found


FLAGS = numeric_flags()


def test_the_app_has_the_numeric_flags_we_know_of() -> None:
    flags = {flag for _, flag in FLAGS}
    assert {"--concurrency", "--batch-size", "--max-rps", "--timeout", "--keep", "--pages",
            "--retry-max", "--details-delay-ms", "--port", "--latency-ms"} <= flags  # fmt: skip
    assert (("archive", "prune"), "--keep") in FLAGS


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return database_with_listing(tmp_path_factory.mktemp("flags") / "ct.db", make_dataset(3, 30))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _argv(words: tuple[str, ...], flag: str, value: str, db: Path) -> list[str]:
    argv = [*words, f"{flag}={value}"]
    if words != ("sim",):
        argv += ["--db", str(db)]
    if words == ("archive", "prune") and flag != "--keep":
        argv += ["--keep", "1"]
    return argv


@pytest.mark.parametrize(("words", "flag"), FLAGS, ids=[" ".join((*w, f)) for w, f in FLAGS])
def test_a_number_no_flag_takes_is_one_line_naming_the_flag_and_its_range(
    words: tuple[str, ...], flag: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _digest(database.parent)
    for value in REFUSED:
        code = main(_argv(words, flag, value, database))
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2, (value, captured)
        assert len(lines) == 1, (value, lines)
        assert flag in lines[0], (value, lines)
        assert " to " in lines[0] or "longer than" in lines[0], (value, lines)  # its range
        assert "Traceback" not in captured.err
        assert captured.out == ""
    assert _digest(database.parent) == before


@pytest.mark.parametrize(("words", "flag"), FLAGS, ids=[" ".join((*w, f)) for w, f in FLAGS])
def test_zero_is_taken_or_refused_naming_the_range(words: tuple[str, ...], flag: str) -> None:
    import cyclopts

    keep = ["--keep", "1"] if flag != "--keep" and words == ("archive", "prune") else []
    refused = ""
    try:
        app.parse_args([*words, flag, "0", *keep], exit_on_error=False, print_error=False)
    except cyclopts.CycloptsError as error:
        refused = str(error)
    if refused:
        assert flag in refused
        assert " to " in refused


def test_timeout_nan_says_it_is_not_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trades", "--timeout", "nan", "--db", "/nonexistent/x.db"]) == 2
    assert "'nan' is not a number" in capsys.readouterr().err
