"""Does the change edit what pytest or coverage read as configuration? Then its own green
tests are weak evidence, and only a LEAD can judge the edit.

Every file pytest 8/9 reads its options from (``pytest.ini``, ``.pytest.ini``, ``pytest.toml``,
``.pytest.toml``, ``pyproject.toml``'s ``[tool.pytest.ini_options]``/``[tool.pytest]``,
``tox.ini [pytest]``, ``setup.cfg [tool:pytest]``), ``conftest.py`` at any depth, interpreter
start-up hooks (``sitecustomize.py``, ``usercustomize.py``, ``.pth``), pytest plugins the project
declares (``pytest11`` entry points) and coverage's configuration wherever it is named
(``.coveragerc``, the ``[coverage:*]``/``[tool.coverage]`` sections, a ``--cov-config`` file).
The base pass runs with the base's versions of all of them (``baseline.py``); a change to any
is ``testing.harness_changed``, which needs a LEAD, with the diff in the report (issue 17,
THREATS.md D-07).
"""

from __future__ import annotations

import configparser
import difflib
import posixpath
import shlex
import tomllib
from typing import Any

from leo import Change

HARNESS_FILES = frozenset(
    {"conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini",
     ".coveragerc", "noxfile.py", "sitecustomize.py", "usercustomize.py", "setup.cfg",
     "pyproject.toml"}
)  # fmt: skip
#: Files read partly: only their test-related sections count as harness.
_MIXED = frozenset({"pyproject.toml", "setup.cfg", "tox.ini"})
#: Root files that may name further configuration (``--cov-config``, ``-c``).
_ROOT_CONFIG = ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "pyproject.toml",
                "tox.ini", "setup.cfg")  # fmt: skip
_MAX_DIFF = 4000
_MAX_FILES = 20


def is_harness_file(path: str) -> bool:
    """A file that can be test configuration by its name (``.pth`` and the files above)."""
    name = posixpath.basename(path)
    return name in HARNESS_FILES or name.endswith(".pth")


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _toml_sections(data: bytes | None) -> Any:
    try:
        doc = tomllib.loads(_text(data))
    except tomllib.TOMLDecodeError:
        return "unparseable"
    tool = doc.get("tool", {})
    tool = tool if isinstance(tool, dict) else {}
    project = doc.get("project", {})
    points = project.get("entry-points", {}) if isinstance(project, dict) else {}
    return {
        "pytest": tool.get("pytest"),
        "coverage": tool.get("coverage"),
        "pytest11": points.get("pytest11") if isinstance(points, dict) else None,
    }


def _ini_sections(data: bytes | None) -> Any:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(_text(data))
    except configparser.Error:
        return "unparseable"
    return {
        name: dict(parser[name])
        for name in parser.sections()
        if name in ("tool:pytest", "pytest", "options.entry_points") or name.startswith("coverage:")
    }


def _sections(path: str, data: bytes | None) -> Any:
    """The part of a mixed file (pyproject.toml, setup.cfg, tox.ini) pytest or coverage reads."""
    if posixpath.basename(path) == "pyproject.toml":
        return _toml_sections(data)
    return _ini_sections(data)


def named_configs(files: dict[str, bytes | None]) -> set[str]:
    """Files the root configuration names with ``--cov-config=`` or ``-c``/``--config-file``."""
    named: set[str] = set()
    for data in files.values():
        text = _text(data)
        options: list[str] = []
        for line in text.splitlines():
            if "addopts" in line or "--cov-config" in line or "--config-file" in line:
                try:
                    options += shlex.split(line.split("=", 1)[-1].strip(" []\"'"), posix=True)
                except ValueError:
                    continue
        for i, opt in enumerate(options):
            for prefix in ("--cov-config=", "--config-file="):
                if opt.startswith(prefix):
                    named.add(opt[len(prefix) :].strip("\"',"))
            if opt in ("--cov-config", "-c", "--config-file") and i + 1 < len(options):
                named.add(options[i + 1].strip("\"',"))
    return {posixpath.normpath(n) for n in named if n and not n.startswith(("/", ".."))}


async def harness_changes(change: Change) -> dict[str, str]:
    """Harness files the change edits (their test-related part), each with a unified diff."""
    roots = await change.read_many(_ROOT_CONFIG, "base")
    heads = await change.read_many(_ROOT_CONFIG, "head")
    extra = named_configs(roots) | named_configs(heads)
    touched: dict[str, str] = {}
    for f in change.files:
        old = f.old_path or f.path
        if not (is_harness_file(f.path) or is_harness_file(old) or f.path in extra or old in extra):
            continue
        base = await change.read(old, "base") if f.status != "added" else None
        head = await change.read(f.path, "head") if f.status != "deleted" else None
        name = posixpath.basename(f.path)
        if name in _MIXED and _sections(f.path, base) == _sections(f.path, head):
            continue
        if len(touched) < _MAX_FILES:
            diff = "".join(
                difflib.unified_diff(
                    _text(base).splitlines(keepends=True),
                    _text(head).splitlines(keepends=True),
                    f"a/{old}",
                    f"b/{f.path}",
                )
            )
            touched[f.path] = diff[:_MAX_DIFF] + (
                "\n[diff truncated]" if len(diff) > _MAX_DIFF else ""
            )
        else:
            touched[f.path] = "[diff not shown]"
    return touched
