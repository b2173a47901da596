"""The package's layout draws its design: a few rooms at the top, modules small enough to be one
thing, no name that shadows the standard library, vendor errors caught only in the adapters, and a
test module mirroring every module of the layer."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "layers" / "wacloud" / "wacloud"
TESTS = ROOT / "tests" / "unit"
MODULES = sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)
# The command line, the local run and the operator tools may catch AWS's errors for their own messages.
MAY_CATCH_AWS_ERRORS = ("adapters", "cli", "local", "ops")
# Driven by the live and local-run tests in subprocesses rather than module by module.
NOT_MIRRORED = ("cli", "local")
MAX_LINES = 400


def relative(path: Path) -> Path:
    return path.relative_to(PACKAGE)


def has_code(path: Path) -> bool:
    """More than a docstring and re-exports: a definition or a statement of its own."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.Expr, ast.Import, ast.ImportFrom, ast.Assign)  # docstring, imports, `__all__`
    return any(not isinstance(node, kinds) for node in tree.body)


def test_the_top_of_the_package_holds_at_most_14_rooms() -> None:
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 14, entries


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(relative(p)))
def test_no_module_is_over_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(relative(p)))
def test_no_module_shadows_the_standard_library(path: Path) -> None:
    names = {*relative(path).parent.parts, path.stem} - {"__init__", "__main__"}
    assert not names & sys.stdlib_module_names, names & sys.stdlib_module_names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(relative(p)))
def test_botocores_errors_are_caught_only_in_the_adapters(path: Path) -> None:
    if relative(path).parts[0] in MAY_CATCH_AWS_ERRORS:
        return
    caught = [
        ast.unparse(handler.type)
        for handler in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(handler, ast.ExceptHandler) and handler.type is not None
    ]
    assert not [c for c in caught if "ClientError" in c or "BotoCoreError" in c], caught


def mirrored_test(path: Path) -> Path:
    rel = relative(path)
    if path.stem == "__init__":
        folder = rel.parent
        return TESTS / "test_init.py" if folder == Path() else TESTS / folder / f"test_{folder.name}.py"
    return TESTS / rel.parent / f"test_{path.stem}.py"


LAYER_MODULES = [
    path
    for path in MODULES
    if relative(path).parts[0] not in NOT_MIRRORED and path.stem != "__main__" and has_code(path)
]


@pytest.mark.parametrize("path", LAYER_MODULES, ids=lambda p: str(relative(p)))
def test_every_module_has_a_test_module_named_alike(path: Path) -> None:
    assert mirrored_test(path).is_file(), f"{relative(path)} has no {mirrored_test(path).relative_to(ROOT)}"
