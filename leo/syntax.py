"""Python syntax trees built one at a time across a run's threads.

Each sub-agent runs on a thread of its own, and CPython before 3.13 keeps the AST constructor's
recursion depth per interpreter, not per thread: two threads building trees at once can make
``ast.parse`` fail with ``SystemError: AST constructor recursion depth mismatch`` (gh-106905).
It crashed the Security sub-agent on six 1.17.0 while Design's griffe parsed the same release.
Every parse in LEO's process, LEO's own and a library's (griffe, radon), holds ``syntax_lock``.
"""

from __future__ import annotations

import ast
import threading

#: Held while a syntax tree is built; re-entrant, so a library called under it may parse too.
syntax_lock = threading.RLock()


def parse_python(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)`` under ``syntax_lock``."""
    with syntax_lock:
        return ast.parse(source, filename=filename)


def parse_expression(source: str | bytes) -> ast.Expression:
    """``ast.parse(source, mode="eval")`` under ``syntax_lock``."""
    with syntax_lock:
        return ast.parse(source, mode="eval")
