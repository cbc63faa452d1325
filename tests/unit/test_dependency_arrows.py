"""Dependency arrows run one way: services -> podium; the launcher -> all of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What each package may import from the project's own packages.
ALLOWED = {
    'podium': {'podium'},
    'token_service': {'podium', 'token_service'},
    'webhooks': {'podium', 'webhooks'},
    'web_service': {'podium', 'web_service'},
    'local_video': {'podium', 'local_video'},
    'launcher': {'podium', 'launcher', 'local_video'},
}
OWN = set(ALLOWED)


def imported_packages(path: Path) -> set[str]:
    """Return the top-level names of the project packages a module imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return names & OWN


@pytest.mark.parametrize('package', sorted(ALLOWED))
def test_package_imports_only_what_it_may(package):
    modules = sorted((ROOT / package).rglob('*.py'))
    assert modules, f'{package}/ has no modules'
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in modules
        if imported_packages(path) - ALLOWED[package]
    }
    assert not wrong, f'imports against the dependency arrows: {wrong}'
