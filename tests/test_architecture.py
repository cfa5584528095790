"""Architecture gates: the shape the spec fixes, checked on every run.

At most five deployables and three shared packages; an island never imports another island's code
nor names another island's schema in SQL; shared packages never import islands; only
integration_sdk talks to the broker (aio_pika).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
ISLAND_PACKAGES = {service.name: service.name.replace("-", "_") for service in SERVICES}
BROKER_MODULES = ("aio_pika", "aiormq", "pamqp")


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if ".venv" not in path.parts)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports (absolute imports)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_at_most_five_deployables_and_three_packages() -> None:
    assert [s.name for s in SERVICES] == [
        "erp-middleware", "platform-export", "stock-import", "vehicle-data", "webshop",
    ]  # fmt: skip
    assert [p.name for p in PACKAGES] == ["contracts", "foundation", "integration_sdk"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_island_imports_no_other_island(service: Path) -> None:
    others = set(ISLAND_PACKAGES.values()) - {ISLAND_PACKAGES[service.name]}
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in python_files(service)
        for module in imported_modules(path) & others
    }
    assert not offenders, sorted(offenders)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_shared_package_imports_no_island(package: Path) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in python_files(package / "src")
        for module in imported_modules(path) & set(ISLAND_PACKAGES.values())
    }
    assert not offenders, sorted(offenders)


def test_only_integration_sdk_imports_the_broker_client() -> None:
    allowed = ROOT / "packages" / "integration_sdk"
    scanned = [*(p for p in PACKAGES if p != allowed), *SERVICES]
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for folder in scanned
        for path in python_files(folder)
        for module in imported_modules(path) & set(BROKER_MODULES)
    }
    assert not offenders, sorted(offenders)


SQL_HINT = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|INTO|TABLE|REPLACE)\b", re.IGNORECASE)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_island_sql_names_no_other_island_schema(service: Path) -> None:
    own = ISLAND_PACKAGES[service.name]
    other_schemas = "|".join(schema for schema in ISLAND_PACKAGES.values() if schema != own)
    qualified = re.compile(rf"`?\b(?:\w+_)?({other_schemas})`?\s*\.\s*`?\w+", re.IGNORECASE)
    folders = [service, ROOT / "migrations" / own]
    offenders = [
        f"{path.relative_to(ROOT)}: {literal.strip()[:80]!r}"
        for folder in folders
        for path in python_files(folder)
        for literal in string_literals(path)
        if SQL_HINT.search(literal) and qualified.search(literal)
    ]
    assert not offenders, offenders


def test_gate_detects_a_cross_island_query(tmp_path: Path) -> None:
    """The SQL gate itself must catch the violation it exists for."""
    sample = tmp_path / "leak.py"
    sample.write_text('QUERY = "SELECT qty FROM stock_import.supplier_offer WHERE article_number = :a"\n')
    other_schemas = "|".join(schema for schema in ISLAND_PACKAGES.values() if schema != "webshop")
    qualified = re.compile(rf"`?\b(?:\w+_)?({other_schemas})`?\s*\.\s*`?\w+", re.IGNORECASE)
    assert any(SQL_HINT.search(s) and qualified.search(s) for s in string_literals(sample))
    assert imported_modules(sample) == set()


def test_ruff_bans_broker_imports_outside_integration_sdk() -> None:
    """The lint rule mirrors the gate, so editors flag it before the test does."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"aio_pika".msg' in pyproject
    assert '"packages/integration_sdk/**" = ["TID251"]' in pyproject
