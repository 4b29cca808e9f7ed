"""The dependency direction of the package: sans-io core, one adapter per foreign library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "trio_enrich"

# module -> the foreign (non-stdlib) top-level packages it may import
ALLOWED_FOREIGN: dict[str, set[str]] = {
    "_model": set(),
    "_errors": set(),
    "_parse": set(),
    "_flight": set(),
    "_page": set(),
    "_read_trades": set(),
    "_read_issuers": set(),
    "_read_politicians": set(),
    "_report": set(),
    "_walk": set(),
    "_roster": set(),
    "_site": set(),
    "_jobs": set(),
    "_lock": set(),
    "_entry": set(),
    "_store": set(),
    "_schema": set(),
    "_writes": set(),
    "_pipeline": {"trio"},
    "_http": {"httpx", "trio"},
    "_progress": {"alive_progress"},
    "_enrich": {"trio"},
    "_sync": {"trio"},
    "_committees": {"trio"},
    "_pacing": set(),
    "_robots": {"protego", "trio"},
}
FOREIGN = {
    "trio", "httpx", "httpcore", "anyio", "cyclopts", "alive_progress", "hypercorn", "h11",
    "protego",
}  # fmt: skip


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(ALLOWED_FOREIGN))
def test_core_modules_import_no_foreign_library(module: str) -> None:
    foreign = imports_of(PACKAGE / f"{module}.py") & FOREIGN
    assert foreign <= ALLOWED_FOREIGN[module], f"{module} imports {foreign}"


def test_only_the_store_imports_sqlite3() -> None:
    users = {p.stem for p in PACKAGE.rglob("*.py") if "sqlite3" in imports_of(p)}
    assert users <= {"_store", "_schema", "_writes"}


@pytest.mark.parametrize(
    "module",
    [
        "_parse",
        "_flight",
        "_walk",
        "_roster",
        "_pacing",
        "_page",
        "_read_trades",
        "_read_issuers",
        "_read_politicians",
    ],
)
def test_the_sans_io_modules_do_no_io(module: str) -> None:
    io = {"socket", "sqlite3", "os", "pathlib", "io"}
    assert not imports_of(PACKAGE / f"{module}.py") & io


@pytest.mark.parametrize("library", ["httpx", "alive_progress", "cyclopts", "protego"])
def test_each_foreign_library_has_one_adapter(library: str) -> None:
    users = {p.stem for p in PACKAGE.glob("*.py") if library in imports_of(p)}
    expected = {
        "httpx": {"_http"},
        "alive_progress": {"_progress"},
        "cyclopts": {"cli"},
        "protego": {"_robots"},
    }
    assert users == expected[library]
