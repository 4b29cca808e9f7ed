"""The dependency direction of the package: the packages have a rank, and so do the modules
inside each; a module imports only from a lower package, or from a lower module of its own
(no circles); sans-io core, one adapter per foreign library; SQL only in the storage."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "trio_enrich"

# module -> the foreign (non-stdlib) top-level packages it may import
ALLOWED_FOREIGN: dict[str, set[str]] = {
    "_model": set(),
    "_errors": set(),
    "_defaults": set(),
    "_help": set(),
    "_entry": set(),
    "cli.flags": {"cyclopts"},
    "cli.fetching": {"cyclopts"},
    "cli.archive": {"cyclopts"},
    "cli.offline": {"cyclopts", "trio"},
    "cli.program": {"cyclopts"},
    "cli.reading": {"cyclopts"},
    "read.queries": set(),
    "read.formats": set(),
    "read.listing": set(),
    "read.dictionary": set(),
    "read.export": set(),
    "read.parquet": {"pyarrow"},
    "read.browse": {"datasette", "uvicorn"},
    "read.browse_hooks": {"datasette"},
    "read.charts": set(),
    "read.watch": set(),
    "read.filters": set(),
    "read.feed": set(),
    "read.news": set(),
    "storage.deliveries": set(),
    "alerts.digest": set(),
    "alerts.apprise_sender": {"apprise"},
    "alerts.deliver": {"trio"},
    "commands.alerting": set(),
    "storage.views": set(),
    "commands.console": {"rich"},  # (rich: its console for help, which cyclopts uses)
    "core.pipeline": {"trio"},
    "core.gate": {"trio"},
    "core.policy": set(),
    "core.stats": {"trio"},
    "core.pacing": set(),
    "core.site_limit": set(),
    "clients.answers": set(),
    "clients.httpx_client": {"httpx", "trio"},
    "clients.browser": {"curl_cffi", "trio"},
    "clients.factory": set(),
    "clients.robots": {"protego", "trio"},
    "site.parse": set(),
    "site.flight": set(),
    "site.page": set(),
    "site.read_trades": set(),
    "site.read_issuers": set(),
    "site.read_politicians": set(),
    "site.walk": set(),
    "site.roster": set(),
    "site.rules": set(),
    "storage.lock": set(),
    "storage.store": {"trio"},  # Store.run: its calls from trio, one thread at a time
    "storage.bookkeeping": set(),
    "storage.archive": {"trio", "backports"},  # backports.zstd: compression.zstd before 3.14
    "storage.schema": set(),
    "storage.writes": set(),
    "storage.counts": set(),
    "runs.jobs": set(),
    "runs.session": {"trio"},
    "runs.enrich": {"trio"},
    "runs.options": set(),
    "runs.sync": {"trio"},
    "runs.committees": {"trio"},
    "runs.reparse": {"trio"},
    "runs.check": {"trio"},
    "runs.stages": {"trio"},
    "runs.calls": {"trio"},
    "commands.progress": {"alive_progress"},
    "commands.report": set(),
    "commands.settings": set(),
    "commands.summaries": set(),
    "commands.execute": {"trio"},
    "commands.demo": set(),
    "commands.archive": {"trio"},
}
FOREIGN = {
    "trio", "httpx", "httpcore", "anyio", "cyclopts", "alive_progress", "hypercorn", "h11",
    "protego", "curl_cffi", "backports", "rich", "pyarrow", "datasette", "uvicorn",
}  # fmt: skip

#: The units of the package by rank from the bottom: a sub-package, or a module at the top.
#: A module imports (at its top, lazily in a function, or for type checking) only from a unit
#: of a lower rank, or from its own package's lower modules. docs/ARCHITECTURE.md draws it.
PACKAGE_RANKS: list[tuple[str, ...]] = [
    ("_model", "_defaults", "_help"),  # the words every room shares
    ("_errors",),
    ("core",),  # the generic pipeline: no site, no HTTP, no SQL
    ("clients",),  # answers from the site: httpx, the browser client, robots.txt
    ("site",),  # what the site's pages say: decoder, readers, rules, roster, walk
    ("storage",),  # SQLite: the copy, its views, its bookkeeping, the archive, the lock
    ("read",),  # the copy answered offline: filters as SQL, output formats, the dictionary
    ("sim",),  # the simulated site
    ("runs",),  # a run session and what runs in it: jobs, enrich, sync, committees, ...
    ("alerts",),  # after an update: the feed, and each new trade delivered once (Apprise)
    ("commands",),  # the command line's stages, settings, words and displays
    ("__init__",),  # the library's names
    ("cli",),  # the command line: flags and commands (cyclopts)
    ("_entry",),
    ("__main__",),
]

#: The modules inside each unit, by rank from the bottom.
MODULE_RANKS: dict[str, list[tuple[str, ...]]] = {
    "_model": [("_model",)],
    "_defaults": [("_defaults",)],
    "_help": [("_help",)],
    "_errors": [("_errors",)],
    "core": [("site_limit", "stats"), ("pacing",), ("gate", "policy"), ("pipeline",)],
    "clients": [("answers",), ("httpx_client", "browser"), ("factory",), ("robots",)],
    "site": [("flight", "walk"), ("page", "roster"),
             ("read_trades", "read_issuers", "read_politicians"), ("parse",), ("rules",)],
    "storage": [("lock", "counts", "writes", "views"), ("schema",), ("bookkeeping",),
                ("history", "deliveries"), ("store", "archive")],
    "read": [("watch", "feed"), ("filters",), ("formats", "queries", "dictionary", "charts"),
             ("parquet", "browse_hooks", "news"), ("browse",), ("listing", "export")],
    "alerts": [("digest", "apprise_sender"), ("deliver",)],
    "sim": [("_limits", "_http11"), ("_faults",), ("_dataset",), ("_pages",), ("_server",),
            ("_command",), ("__init__",)],
    "runs": [("jobs",), ("options",), ("session",), ("enrich", "sync"), ("committees", "check"),
             ("reparse", "stages"), ("calls",)],
    "commands": [("progress",), ("report", "settings", "console", "alerting"), ("summaries",),
                 ("execute",), ("demo", "archive")],
    "__init__": [("__init__",)],
    "cli": [("flags",), ("reading", "fetching", "archive", "offline"), ("program",), ("__init__",)],
    "_entry": [("_entry",)],
    "__main__": [("__main__",)],
}  # fmt: skip
UNIT_RANK = {unit: rank for rank, layer in enumerate(PACKAGE_RANKS) for unit in layer}


def unit_and_module(name: str) -> tuple[str, str]:
    """`core.pipeline` -> (`core`, `pipeline`); `sim` -> (`sim`, `__init__`); `_model` ->
    (`_model`, `_model`)."""
    if "." in name:
        unit, _, module = name.partition(".")
        return unit, module
    if (
        name in MODULE_RANKS
        and name in UNIT_RANK
        and any("__init__" in tier for tier in MODULE_RANKS[name])
    ):
        return name, "__init__"
    return name, name


def module_rank(name: str) -> tuple[int, int]:
    unit, module = unit_and_module(name)
    tiers = MODULE_RANKS[unit]
    return UNIT_RANK[unit], next(i for i, tier in enumerate(tiers) if module in tier)


def package_inits() -> set[str]:
    """The sub-packages whose `__init__` only says what the room owns (no imports)."""
    return {p.parent.name for p in PACKAGE.glob("*/__init__.py")} - {"sim", "cli"}


def module_name(path: Path) -> str:
    """`storage.store`, `sim._server`, `sim` (a package by its name), `__init__` (the package),
    `core` (a room's docstring)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts == ("__init__",):
        return "__init__"
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def known(name: str) -> bool:
    try:
        module_rank(name)
    except (KeyError, StopIteration):
        return False
    return True


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
            submodules = {module for module in submodules if known(module)}
            if (node.module is None or target in package_inits()) and submodules:
                found |= submodules
            else:
                found.add(target or "__init__")
                found |= submodules
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trio_enrich"):
            found.add(str(node.module).removeprefix("trio_enrich").lstrip(".") or "__init__")
    found.discard(name)
    return found


def all_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if module_name(p) not in package_inits())


def test_every_module_has_a_rank() -> None:
    names = {module_name(path) for path in all_modules()}
    ranked = {
        f"{unit}.{module}" if module not in (unit, "__init__") else unit
        for unit, tiers in MODULE_RANKS.items() for tier in tiers for module in tier
    }  # fmt: skip
    assert names == ranked, f"unranked: {names - ranked}; gone: {ranked - names}"


def test_every_unit_has_a_rank() -> None:
    assert set(MODULE_RANKS) == set(UNIT_RANK)


def test_a_room_s_init_says_what_it_owns_and_imports_nothing() -> None:
    for room in package_inits():
        tree = ast.parse((PACKAGE / room / "__init__.py").read_text())
        assert ast.get_docstring(tree), f"{room}/__init__.py has no docstring"
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert imports == [], f"{room}/__init__.py imports: a room is entered by its modules"


def test_no_more_than_twelve_modules_at_the_top() -> None:
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 12, top


#: Modules that are mostly data, allowed past the size rule: the flight decoder's tables, the
#: simulator's dataset, pages and server.
DECLARED_DATA = {"site.flight", "sim._dataset", "sim._pages", "sim._server", "read.dictionary"}


@pytest.mark.parametrize("path", all_modules(), ids=module_name)
def test_no_module_is_over_550_lines(path: Path) -> None:
    if module_name(path) in DECLARED_DATA:
        return
    lines = len(path.read_text().splitlines())
    assert lines <= 550, f"{module_name(path)}: {lines} lines"


@pytest.mark.parametrize("path", all_modules(), ids=module_name)
def test_each_import_goes_to_a_lower_rank(path: Path) -> None:
    name = module_name(path)
    here = module_rank(name)
    upward: dict[str, object] = {}
    for target in internal_imports(path):
        if target in package_inits():
            upward[target] = "a room's __init__"
            continue
        if not known(target):
            upward[target] = "unranked"
            continue
        there = module_rank(target)
        same_unit = unit_and_module(target)[0] == unit_and_module(name)[0]
        if (same_unit and there[1] >= here[1]) or (not same_unit and there[0] >= here[0]):
            upward[target] = there
    assert not upward, f"{name} (rank {here}) imports {upward}"


# The modules that speak SQL: the store's, the read side's query builder (its SQL over the
# views, which the store's `views` defines) and the web page's canned questions.
_STORAGE = ("storage.store", "storage.schema", "storage.writes", "storage.counts",
            "storage.archive", "storage.bookkeeping", "storage.views", "storage.history",
            "read.queries", "read.browse", "read.charts", "read.news",
            "storage.deliveries")  # fmt: skip
_SQL = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "PRAGMA", "ALTER", "DROP", "REPLACE")


@pytest.mark.parametrize("path", all_modules(), ids=module_name)
def test_sql_is_built_only_in_the_store(path: Path) -> None:
    """A string that starts like SQL (an f-string above all: built SQL) appears only in the
    store's modules, which keep their table and column names to their own constants."""
    if module_name(path) in _STORAGE:
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
    foreign = imports_of(PACKAGE / f"{module.replace('.', '/')}.py") & FOREIGN
    assert foreign <= ALLOWED_FOREIGN[module], f"{module} imports {foreign}"


def test_only_the_store_imports_sqlite3() -> None:
    users = {module_name(p) for p in PACKAGE.rglob("*.py") if "sqlite3" in imports_of(p)}
    assert users <= set(_STORAGE)


@pytest.mark.parametrize(
    "module",
    [
        "site.parse",
        "site.flight",
        "site.walk",
        "site.roster",
        "site.rules",
        "core.pacing",
        "core.policy",
        "core.site_limit",
        "site.page",
        "site.read_trades",
        "site.read_issuers",
        "site.read_politicians",
    ],
)
def test_the_sans_io_modules_do_no_io(module: str) -> None:
    io = {"socket", "sqlite3", "os", "pathlib", "io"}
    assert not imports_of(PACKAGE / f"{module.replace('.', '/')}.py") & io


@pytest.mark.parametrize(
    "library", ["httpx", "alive_progress", "cyclopts", "protego", "pyarrow", "datasette", "apprise"]
)
def test_each_foreign_library_has_one_adapter(library: str) -> None:
    users = {module_name(p) for p in PACKAGE.rglob("*.py") if library in imports_of(p)}
    expected = {
        "httpx": {"clients.httpx_client"},
        "alive_progress": {"commands.progress"},
        "cyclopts": {
            "cli.flags",
            "cli.fetching",
            "cli.archive",
            "cli.offline",
            "cli.program",
            "cli.reading",
        },
        "protego": {"clients.robots"},
        "pyarrow": {"read.parquet"},
        "datasette": {"read.browse", "read.browse_hooks"},  # (its hooks: a module of its own)
        "apprise": {"alerts.apprise_sender"},
    }
    assert users == expected[library]


#: The longest a function may be (its statements, the docstring aside) without a comment
#: `# Long: <why>` in it.
LONGEST_FUNCTION = 60


@pytest.mark.parametrize("path", all_modules(), ids=module_name)
def test_no_function_is_over_60_lines_without_saying_why(path: Path) -> None:
    source = path.read_text()
    lines = source.splitlines()
    long: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
        end = node.end_lineno or node.lineno
        if end - body[0].lineno + 1 <= LONGEST_FUNCTION:
            continue
        text = lines[node.lineno - 1 : end]
        if not any(line.strip().startswith("# Long: ") for line in text):
            long.append(f"{node.name} ({end - body[0].lineno + 1} lines)")
    assert not long, f"{module_name(path)}: {long} with no `# Long:` comment saying why"


TESTS = Path(__file__).parent
HELPER_MODULES = {"helpers", "pages"}  # what test modules share; conftest holds fixtures only


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")), ids=lambda p: p.stem)
def test_a_test_module_imports_only_the_helper_modules_of_the_tests(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            assert node.module in HELPER_MODULES, f"{path.name} imports .{node.module}"


def test_the_fast_flags_are_defined_once() -> None:
    defined = [
        path.name
        for path in sorted(TESTS.glob("*.py"))
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FAST"
    ]
    assert defined == ["helpers.py"]


ARCHITECTURE = PACKAGE.parent / "docs" / "ARCHITECTURE.md"


def test_the_architecture_s_module_table_names_every_module() -> None:
    text = ARCHITECTURE.read_text()
    table = text[text.index("## What each module owns") :].split("\n## ")[0]
    named: set[str] = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            named |= set(re.findall(r"`([\w.]+)`", row.split(" | ")[0]))
    modules = {module_name(path) for path in all_modules()}
    assert modules - named == set(), "modules the table does not describe"
    assert named - modules == set(), "the table describes modules that are gone"


def test_the_architecture_s_drawing_gives_each_room_its_rank() -> None:
    drawing = ARCHITECTURE.read_text().split("```")[1]
    ranks = {
        unit: int(found.group(1))
        for line in drawing.splitlines()
        if (found := re.match(r"\s*(\d+)\s+((?:\w+,\s+)*\w+)", line))
        for unit in found.group(2).replace(",", " ").split()
    }
    assert ranks == UNIT_RANK
