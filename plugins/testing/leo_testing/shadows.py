"""Does the change add a module the tests would import in place of another one?

The tests import from the worktree: its top (``python -m pytest`` puts the working directory
first on ``sys.path``) and the ``pythonpath`` folders (``src/``). A module the change adds there
under a name that something else already answers to wins over it in the base pass too, so the
base's tests check the change's copy, not the code production runs (round-7 red team, each a
PASS): a flat ``calc/`` beside the packaged ``src/calc/`` (the tests ran the correct flat copy,
the wheel shipped the broken one), a ``fractions.py`` whose ``Fraction`` equals anything (the
base's tests compared through it), a ``pytest.py`` that fixed the code and then ran the real
pytest (``python -m pytest`` runs the working directory's), a ``sitecustomize/`` package that
Python imported at start-up. Such a module is ``testing.runner_hook``, for a LEAD; under the
name of the test runner, of LEO's observer or of a start-up hook it is
``testing.runner_tampering``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from leo import Change, Finding, is_test_side
from leo_testing.observer import PLUGIN
from leo_testing.tampering import RUNNER_MODULES

_TOP = "."
#: Names whose module runs the tests or runs before them: a copy in the tree replaces it.
_RUNNER_NAMES = RUNNER_MODULES | {PLUGIN, "sitecustomize", "usercustomize"}


def _modules(files: Iterable[str], roots: Sequence[str]) -> dict[tuple[str, str], str]:
    """``(root, top-level name) -> a file`` for every Python module or package at each import
    root (a folder holding Python files anywhere below may be a namespace package). Test files
    are left out: the base pass puts the base's back or removes them."""
    found: dict[tuple[str, str], str] = {}
    for path in files:
        if not path.endswith(".py") or is_test_side(path):
            continue
        parts = PurePosixPath(path).parts
        for root in roots:
            prefix = () if root == _TOP else PurePosixPath(root).parts
            rest = parts[len(prefix) :]
            if parts[: len(prefix)] != prefix or not rest:
                continue
            name = rest[0] if len(rest) > 1 else rest[0].removesuffix(".py")
            if name.isidentifier():
                found.setdefault((root, name), path)
    return found


def installed_names(environment: Path | None) -> frozenset[str]:
    """Top-level names importable from the tests' environment (its site-packages)."""
    names: set[str] = set()
    if environment is not None:
        for site in environment.glob("lib/python*/site-packages"):
            for entry in site.iterdir():
                stem = entry.name.split(".")[0]
                if stem.isidentifier() and (entry.is_dir() or entry.suffix in (".py", ".so")):
                    names.add(stem)
    return frozenset(names)


def shadowed(
    base: Iterable[str], head: Iterable[str], roots: Sequence[str], installed: frozenset[str]
) -> list[tuple[str, str, str]]:
    """``(file, name, what it shadows)`` for each module the head has at an import root that
    the base had not there, whose name the standard library, the environment or the project's
    other import root also answers to."""
    before = _modules(base, roots)
    after = _modules(head, roots)
    found = []
    for (root, name), path in sorted(after.items()):
        if (root, name) in before:
            continue
        others = [r for r in roots if r != root and (r, name) in after]
        if name in _RUNNER_NAMES:
            what = "the test runner's, LEO's observer's or a start-up hook's"
        elif name in sys.stdlib_module_names:
            what = "a module of Python's standard library"
        elif name in installed:
            what = "a module installed in the test environment"
        elif others:
            what = f"the project's {name!r} under {others[0]}/"
        else:
            continue
        found.append((path, name, what))
    return found


def import_roots(files: Iterable[str], pythonpath: Sequence[str]) -> list[str]:
    """Where the tests import from: the tree's top, the ``pythonpath`` folders, and the folder
    pytest puts first on ``sys.path`` for each test file (its ``prepend`` import mode: the first
    folder up from the file without an ``__init__.py``)."""
    listed = set(files)
    roots = [_TOP, *(p.strip("/") or _TOP for p in pythonpath)]
    for path in sorted(listed):
        if not (is_test_side(path) and path.endswith(".py")):
            continue
        folder = PurePosixPath(path).parent
        while str(folder) != _TOP and f"{folder}/__init__.py" in listed:
            folder = folder.parent
        roots.append(str(folder))
    return list(dict.fromkeys(roots))


async def shadowing_findings(
    change: Change, pythonpath: Sequence[str], environment: Path | None
) -> list[Finding]:
    """A finding for each module ``shadowed`` names: ``testing.runner_tampering`` (critical)
    for the runner's, the observer's or a start-up hook's name, else ``testing.runner_hook``
    (medium, for a LEAD)."""
    base, head = await change.listing("base"), await change.listing("head")
    roots = import_roots([*base, *head], pythonpath)
    findings = []
    for path, name, what in shadowed(base, head, roots, installed_names(environment)):
        critical = name in _RUNNER_NAMES
        findings.append(
            Finding(
                rule_id="testing.runner_tampering" if critical else "testing.runner_hook",
                severity="critical" if critical else "medium",
                message=f"{path} adds the module {name!r} where the tests import from, and "
                f"{name!r} is also {what}: the tests, the base's included, may run this copy "
                "instead of the one production imports"
                + ("" if critical else ", so a LEAD must review it"),
                path=path,
                line=1,
                fix="rename it" if critical else None,
            )
        )
    return findings
