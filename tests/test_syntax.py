"""Syntax trees are built one at a time across the run's threads (``leo.syntax``)."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from leo import parse_expression, parse_python, syntax_lock

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "leo", *sorted((ROOT / "plugins").glob("*/leo_*"))]


def _unlocked_parses(path: Path) -> list[int]:
    """Lines of ``ast.parse(...)`` calls: each must go through ``leo.syntax`` instead."""
    tree = ast.parse(path.read_bytes())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "parse"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ast"
    ]


def test_no_code_of_leo_or_its_sub_agents_parses_without_the_lock():
    # six 1.17.0: Security's ast.parse raced Design's griffe on another thread and crashed
    # with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
    found = {
        str(path.relative_to(ROOT)): lines
        for folder in SOURCES
        for path in sorted(folder.rglob("*.py"))
        # contracts_worker.py runs as its own process (python -I), where nothing parses beside it
        if "tests" not in path.relative_to(ROOT).parts
        and path.name not in ("syntax.py", "contracts_worker.py")
        for lines in [_unlocked_parses(path)]
        if lines
    }
    assert found == {}


def test_a_parse_waits_for_the_lock_another_thread_holds():
    parsed = threading.Event()
    with syntax_lock:
        worker = threading.Thread(target=lambda: (parse_python("x = 1"), parsed.set()))
        worker.start()
        assert not parsed.wait(0.2)
    worker.join(5)
    assert parsed.is_set()


def test_parse_helpers_return_what_ast_parse_returns():
    assert ast.dump(parse_python("f(x)\n")) == ast.dump(ast.parse("f(x)\n"))
    assert isinstance(parse_expression("a + 1").body, ast.BinOp)
    with pytest.raises(SyntaxError):
        parse_python("def (:\n")
