"""The tests depend on the product and on tests/support, never on the benchmark harness: only tests/bench (the
harness's own tests) may import `bench`, so changing the benchmark can never change what the suite checks."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_harness_tests_import_bench() -> None:
    modules = [p for p in TESTS.rglob("*.py") if TESTS / "bench" not in p.parents]
    assert len(modules) > 50  # the scan sees the suite
    offenders = sorted(str(p.relative_to(TESTS)) for p in modules if "bench" in _imported_roots(p))
    assert offenders == []
