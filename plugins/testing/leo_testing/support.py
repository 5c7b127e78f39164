"""Checks the base's tests take from the code: the base pass runs the head's version of them.

A project may keep its test helpers in the package (``calc/testing.py``, numpy's
``numpy.testing``): they are code, not test files, so the base pass keeps the head's copy. A
change that broke ``add()`` and turned ``check_add``'s ``assert add(2, 3) == 5`` into ``assert
add(2, 3) is not None`` passed the base's own test unedited (round-7 red team: PASS with 100%
changed-line coverage). An ``assert`` the change edits or removes in such a check — a function
the base's tests import by name, or any function of a module named for tests (``testing.py``,
``_testutils.py``) they import — is ``testing.runner_hook``, for a LEAD.
"""

from __future__ import annotations

import ast
import posixpath
from collections import Counter
from collections.abc import Iterable, Sequence

from leo import Change, Finding, is_test_side, parse_python


def _imports(sources: Iterable[bytes | None]) -> dict[str, set[str]]:
    """``module -> names`` the test files import from it (``""`` for the module itself)."""
    found: dict[str, set[str]] = {}
    for data in sources:
        try:
            tree = parse_python(data or b"")
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    found.setdefault(a.name, set()).add("")
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    found.setdefault(node.module, set()).add(a.name)
                    found.setdefault(f"{node.module}.{a.name}", set()).add("")
    return found


def _module(path: str, roots: Sequence[str]) -> str | None:
    """The dotted name ``path`` is imported under from the first root it lies in."""
    for root in roots:
        prefix = "" if root == "." else root.rstrip("/") + "/"
        if path.startswith(prefix) and path.endswith(".py"):
            dotted = path[len(prefix) : -3].replace("/", ".")
            return dotted.removesuffix(".__init__")
    return None


def _asserts(data: bytes | None) -> dict[str, Counter[str]]:
    """``function -> the tests of its assert statements`` (as source; a message added or
    reworded leaves the check as it was) at top level."""
    try:
        tree = parse_python(data or b"")
    except (SyntaxError, ValueError):
        return {}
    return {
        node.name: Counter(ast.unparse(n.test) for n in ast.walk(node) if isinstance(n, ast.Assert))
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def lost_checks(
    base: bytes | None, head: bytes | None, imported: set[str], test_module: bool
) -> list[tuple[str, str]]:
    """``(function, assert)`` for each assert of a check the head no longer has as it was."""
    before, after = _asserts(base), _asserts(head)
    lost = []
    for name, asserts in before.items():
        if test_module or name in imported or "*" in imported:
            lost += [(name, text) for text in asserts - after.get(name, Counter())]
    return lost


async def support_findings(change: Change, pythonpath: Sequence[str]) -> list[Finding]:
    """``testing.runner_hook`` for each check the base's tests import that lost an assert."""
    roots = [".", *(p.strip("/") or "." for p in pythonpath)]
    tests = [p for p in await change.listing("base") if p.endswith(".py") and is_test_side(p)]
    imports = _imports((await change.read_many(tests, "base")).values())
    findings = []
    for f in change.files:
        old = f.old_path or f.path
        module = _module(old, roots)
        if f.status == "added" or is_test_side(old) or module is None or module not in imports:
            continue
        base = await change.read(old, "base")
        head = await change.read(f.path, "head") if f.status != "deleted" else None
        test_module = "test" in posixpath.basename(old)
        lost = lost_checks(base, head, imports[module], test_module)
        if lost:
            name, text = lost[0]
            findings.append(
                Finding(
                    rule_id="testing.runner_hook",
                    severity="medium",
                    message=f"{f.path} edits or removes {len(lost)} assertion(s) of checks the "
                    f"base's tests import from {module} (`assert {text[:200]}` in {name}()): the base "
                    "pass runs the head's version of them, so a LEAD must review it",
                    path=f.path,
                    line=min(f.added_lines, default=None),
                )
            )
    return findings
