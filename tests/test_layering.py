"""The dependency direction of the package: every module has a rank and imports only from
lower ranks (no circles); sans-io core, one adapter per foreign library; SQL only in the store."""

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
    "_store": {"trio"},  # Store.run: its calls from trio, one thread at a time
    "_archive": {"trio", "backports"},  # backports.zstd: compression.zstd before 3.14
    "_schema": set(),
    "_writes": set(),
    "_counts": set(),
    "_pipeline": {"trio"},
    "_answers": set(),
    "_http": {"httpx", "trio"},
    "_browser": {"curl_cffi", "trio"},
    "_client": set(),
    "_check": {"trio"},
    "_progress": {"alive_progress"},
    "_enrich": {"trio"},
    "_sync": {"trio"},
    "_committees": {"trio"},
    "_reparse": {"trio"},
    "_pacing": set(),
    "_site_limit": set(),
    "_robots": {"protego", "trio"},
    "_defaults": set(),
    "_help": set(),
    "_settings": set(),
    "_policy": set(),
    "_stats": {"trio"},
    "_gate": {"trio"},
    "_polite": {"trio"},
    "_stages": {"trio"},
    "_commands": {"trio"},
    "_demo": set(),
    "_archive_commands": {"trio"},
}
FOREIGN = {
    "trio", "httpx", "httpcore", "anyio", "cyclopts", "alive_progress", "hypercorn", "h11",
    "protego", "curl_cffi", "backports", "rich",
}  # fmt: skip


#: Every module of the package, by rank from the bottom; a module imports (at its top, lazily
#: in a function, or for type checking) only from a lower rank. docs/ARCHITECTURE.md draws it.
RANKS: list[tuple[str, ...]] = [
    ("_model", "_defaults", "_help", "_flight", "_walk", "_lock", "_site_limit", "_stats",
     "sim._limits", "sim._http11"),
    ("_errors", "_page", "_roster", "_pacing", "sim._faults"),
    ("_read_trades", "_read_issuers", "_read_politicians", "_policy", "_gate", "_progress",
     "_writes", "_answers", "sim._dataset"),
    ("_parse", "_schema", "_counts", "_http", "_browser", "_pipeline", "sim._pages"),
    ("_store", "_archive", "_client", "_site", "sim._server"),
    ("_jobs", "_robots", "sim._command"),
    ("_enrich", "sim"),
    ("_sync", "_polite"),
    ("_committees", "_settings", "_check"),
    ("_report", "_reparse", "__init__"),
    ("_stages",),
    ("_commands",),
    ("_demo", "_archive_commands"),
    ("cli",),
    ("_entry",),
    ("__main__",),
]  # fmt: skip
RANK = {module: rank for rank, layer in enumerate(RANKS) for module in layer}


def module_name(path: Path) -> str:
    """`_store`, `sim._server`, `sim` (a package by its name), `__init__` (the package)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts == ("__init__",):
        return "__init__"
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def internal_imports(path: Path) -> set[str]:
    """The package's modules `path` imports, anywhere in it (lazy ones included)."""
    name = module_name(path)
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if name == "__init__":
        package = []
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
            submodules = {f"{target}.{a.name}".lstrip(".") for a in node.names}
            submodules &= set(RANK)
            if node.module is None and submodules:
                found |= submodules
            else:
                found.add(target or "__init__")
                found |= submodules
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trio_enrich"):
            found.add(str(node.module).removeprefix("trio_enrich").lstrip(".") or "__init__")
    found.discard(name)
    return found


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_rank() -> None:
    names = {module_name(path) for path in all_modules()}
    assert names == set(RANK), f"unranked: {names - set(RANK)}; gone: {set(RANK) - names}"


@pytest.mark.parametrize("path", all_modules(), ids=module_name)
def test_each_import_goes_to_a_lower_rank(path: Path) -> None:
    name = module_name(path)
    upward = {
        target: RANK.get(target) for target in internal_imports(path)
        if target not in RANK or RANK[target] >= RANK[name]
    }  # fmt: skip
    assert not upward, f"{name} (rank {RANK[name]}) imports {upward}"


_SQL = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "PRAGMA", "ALTER", "DROP", "REPLACE")


@pytest.mark.parametrize("path", all_modules(), ids=module_name)
def test_sql_is_built_only_in_the_store(path: Path) -> None:
    """A string that starts like SQL (an f-string above all: built SQL) appears only in the
    store's modules, which keep their table and column names to their own constants."""
    if module_name(path) in ("_store", "_schema", "_writes", "_counts", "_archive"):
        return
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            text = str(parts[0]) if parts else ""
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        # SQL is written in capitals here; prose that starts with "Replace" is not SQL
        assert not text.lstrip().startswith(tuple(f"{word} " for word in _SQL)), (
            f"{module_name(path)} line {node.lineno} builds SQL: {text[:60]!r}"
        )


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
    assert users <= {"_store", "_schema", "_writes", "_counts", "_archive"}


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
