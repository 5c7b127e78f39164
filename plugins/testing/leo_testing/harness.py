"""Does the change edit its own test harness? Then its own green tests are weak evidence.

A ``conftest.py`` or a pytest option can deselect tests or rewrite their results, so a change
that touches the harness gets a finding a LEAD must look at (THREATS.md D-07).
"""

from __future__ import annotations

import configparser
import posixpath
import tomllib
from typing import Any

from leo import Change

HARNESS_FILES = frozenset({"conftest.py", "pytest.ini", "tox.ini", ".coveragerc", "noxfile.py"})


def _pyproject_tables(data: bytes | None) -> Any:
    try:
        tool = tomllib.loads((data or b"").decode("utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return "unparseable"
    return {k: tool.get(k) for k in ("pytest", "coverage")} if isinstance(tool, dict) else None


def _setup_cfg_sections(data: bytes | None) -> Any:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string((data or b"").decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError):
        return "unparseable"
    return {
        name: dict(parser[name])
        for name in parser.sections()
        if name in ("tool:pytest", "pytest") or name.startswith("coverage:")
    }


async def harness_changes(change: Change) -> list[str]:
    """Paths of test-harness files the change edits (pytest/coverage config sections only)."""
    touched = []
    for f in change.files:
        name = posixpath.basename(f.path)
        if name in HARNESS_FILES:
            touched.append(f.path)
        elif f.path in ("pyproject.toml", "setup.cfg"):
            read = _pyproject_tables if f.path == "pyproject.toml" else _setup_cfg_sections
            base = read(await change.read(f.old_path or f.path, "base"))
            head = read(await change.read(f.path, "head"))
            if base != head:
                touched.append(f.path)
    return touched
