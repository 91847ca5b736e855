"""The rules of docs/architecture.md, checked on the code: they cannot silently drift."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (absolute imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


LIBRARY = sorted((ROOT / "skllmselect").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_the_library_never_imports_pretrain_or_benchmarks(path):
    offending = {m for m in imported_modules(path)
                 if m.split(".")[0] in ("pretrain", "benchmarks", "tests")}
    assert not offending, f"{path.relative_to(ROOT)} imports {sorted(offending)}"


def test_only_metafeatures_imports_pymfe():
    importers = {p.name for p in LIBRARY
                 if any(m.split(".")[0] == "pymfe" for m in imported_modules(p))}
    assert importers == {"metafeatures.py"}


def test_every_module_is_on_the_architecture_page():
    # every module of a subpackage too (pretrain/curate/...), except the sources, which the
    # page lists by name in one row
    modules = [p for package in ("skllmselect", "pretrain")
               for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py"
               and p.parent != ROOT / "pretrain" / "sources"]
    missing = [str(p.relative_to(ROOT)) for p in modules
               if f"`{p.relative_to(ROOT).as_posix()}`" not in PAGE]
    assert not missing, f"docs/architecture.md does not say what these own: {missing}"
    for source in (ROOT / "pretrain" / "sources").glob("*.py"):
        if source.stem != "__init__":
            assert f"`{source.stem}`" in PAGE, f"pretrain/sources/{source.name} is not listed"
