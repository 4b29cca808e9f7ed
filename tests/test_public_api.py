"""The library's face: one export list, the lazy table that serves it, and public signatures
that name only public types (a program never needs a name from a module of ours)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import types
import typing
from pathlib import Path
from typing import Any

import pytest

import trio_enrich

INIT = Path(trio_enrich.__file__)


def _lazy_table() -> dict[str, str]:
    tree = ast.parse(INIT.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_LAZY":
            table = ast.literal_eval(node.value)
            assert isinstance(table, dict)
            return table
    raise AssertionError("no _LAZY table in trio_enrich/__init__.py")


def _typing_imports() -> dict[str, str]:
    """name -> module of the imports under `if TYPE_CHECKING:` (what type checkers see)."""
    found: dict[str, str] = {}
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imported in node.body:
                assert isinstance(imported, ast.ImportFrom)
                for alias in imported.names:
                    found[alias.name] = "." * imported.level + (imported.module or "")
    return found


def test_all_the_lazy_table_and_what_type_checkers_see_agree() -> None:
    lazy = _lazy_table()
    assert sorted(trio_enrich.__all__) == sorted([*lazy, "__version__"])
    assert _typing_imports() == lazy


@pytest.mark.parametrize("name", sorted(_lazy_table()))
def test_each_public_name_comes_from_the_module_the_table_names(name: str) -> None:
    module = importlib.import_module(_lazy_table()[name], "trio_enrich")
    assert getattr(trio_enrich, name) is getattr(module, name)


def test_the_version_is_the_one_the_package_declares() -> None:
    pyproject = (INIT.parents[1] / "pyproject.toml").read_text()
    assert f'version = "{trio_enrich.__version__}"' in pyproject


def _ours(kind: type) -> bool:
    return kind.__module__.split(".")[0] == "trio_enrich"


def _named_types(hint: Any) -> set[type]:
    """The classes a type annotation names, through unions, generics and callables."""
    found: set[type] = set()
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and origin is None:
        found.add(hint)
    if origin is not None and isinstance(origin, type) and origin is not types.UnionType:
        found.add(origin)
    for argument in typing.get_args(hint):
        if isinstance(argument, list):  # Callable[[...], R]
            for item in argument:
                found |= _named_types(item)
        elif not isinstance(argument, (str, int, bool)) and argument is not Ellipsis:
            found |= _named_types(argument)
    return found


def _signatures() -> list[tuple[str, Any]]:
    """(where, callable or class) of every public function, class, method and field."""
    shown: list[tuple[str, Any]] = []
    for name in trio_enrich.__all__:
        value = getattr(trio_enrich, name)
        if inspect.isfunction(value):
            shown.append((name, value))
        elif inspect.isclass(value):
            shown.append((name, value))
            for member, attribute in vars(value).items():
                if not member.startswith("_") and inspect.isfunction(attribute):
                    shown.append((f"{name}.{member}", attribute))
    return shown


@pytest.mark.parametrize(("where", "thing"), _signatures(), ids=[w for w, _ in _signatures()])
def test_public_signatures_name_only_public_types(where: str, thing: Any) -> None:
    if inspect.isclass(thing):
        if not dataclasses.is_dataclass(thing):
            return
        hints = typing.get_type_hints(thing)
        hints = {f.name: hints[f.name] for f in dataclasses.fields(thing) if f.name in hints}
    else:
        hints = typing.get_type_hints(thing)
    public = [getattr(trio_enrich, name) for name in trio_enrich.__all__]
    private = {
        f"{argument}: {kind.__module__}.{kind.__qualname__}"
        for argument, hint in hints.items()
        for kind in _named_types(hint)
        if _ours(kind) and kind not in public
    }
    assert not private, f"{where} names types a program cannot import from trio_enrich"
