"""The ground floor knows nothing of the floors above: nothing under analytics/ imports a
service, and no module there grows past 400 lines."""

import ast
from pathlib import Path

import pytest

ANALYTICS = Path(__file__).resolve().parents[3] / "analytics"
MODULES = sorted(ANALYTICS.rglob("*.py"))


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ANALYTICS)))
def test_no_analytics_module_imports_a_service(path):
    assert not [name for name in imported_modules(path)
                if name == "services" or name.startswith("services.")]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ANALYTICS)))
def test_no_analytics_module_is_over_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400
