"""The project's test requirements, made installable offline: which requirement files the tests
need, and each line read so that one line pip cannot satisfy here does not sink the environment.

Real releases ship requirement files written for their own CI (issue 18): locks for several
Pythons side by side (``tests.txt`` and ``tests37.txt`` pin different versions), ``-e .``,
packages fetched with ``git+https://`` (no network here but the package index), pins of the
project itself at its last release, and pins of an old pytest. LEO installs what it can, says
in a note what it left out and why, and never counts a test that did not run as passing.
"""

from __future__ import annotations

import configparser
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

_MAX_FILES = 20
_MAX_LINES = 500
_MAX_DEPTH = 5
_MAX_FILE = 1024 * 1024
#: ``tests37.txt``, ``test-py3.11.txt``, ``requirements/3.3/…``: a file for one Python.
_PY_TAG = re.compile(r"(?:^|[-_./]|py|tests?|dev)(?:py)?(3)[._]?(\d{1,2})(?:$|[-_./])", re.I)
_VCS = ("git+", "hg+", "svn+", "bzr+")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_SETUP_PY_NAME = re.compile(r"""\bname\s*=\s*['"]([A-Za-z0-9][A-Za-z0-9._-]*)['"]""")


@dataclass
class Requirements:
    """Requirement lines to install, constraints, and what was left out or changed."""

    lines: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    """Extras of the project itself the files ask for (``-e .[socks]``: requests)."""

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def project_name(tree: Path) -> str | None:
    """The project's distribution name from ``pyproject.toml``, ``setup.cfg`` or ``setup.py``."""
    try:
        doc = tomllib.loads(_read(tree / "pyproject.toml"))
        name = doc.get("project", {}).get("name")
        if isinstance(name, str) and name:
            return name
    except (tomllib.TOMLDecodeError, AttributeError):
        pass
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(_read(tree / "setup.cfg"))
        if parser.has_option("metadata", "name"):
            return parser.get("metadata", "name").strip() or None
    except configparser.Error:
        pass
    found = _SETUP_PY_NAME.search(_read(tree / "setup.py"))
    return found.group(1) if found else None


def _read(path: Path) -> str:
    """A regular file's text (never through a symlink), or '' when it is not one."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_FILE:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _python_tag(path: Path, tree: Path) -> tuple[int, int] | None:
    found = _PY_TAG.search(path.relative_to(tree).as_posix().removesuffix(".txt"))
    return (int(found.group(1)), int(found.group(2))) if found else None


def requirement_files(tree: Path, python: tuple[int, int] | None = None) -> list[Path]:
    """The requirement files the tests need: the runtime ``requirements.txt`` and those named for
    tests, else a ``dev`` one (in the root, ``requirements/`` or the test directory).

    Docs, build, typing and full dev locks are left out: they often pin the project itself at its
    last release (click 8.1.8's ``requirements/dev.txt`` pins click 8.1.7 through its docs
    requirements). A file for another Python (``tests37.txt`` beside ``tests.txt``) is left out
    too: two locks of one resolution for different interpreters cannot be installed together.
    """
    python = python or (sys.version_info.major, sys.version_info.minor)
    patterns = ("*requirements*.txt", "requirements/*.txt", "requirements/*/*.txt",
                "tests/*requirements*.txt", "test/*requirements*.txt")  # fmt: skip
    found = sorted(
        {
            p
            for pattern in patterns
            for p in tree.glob(pattern)
            if p.is_file() and not p.is_symlink()
        }
    )
    tagged = {p: _python_tag(p, tree) for p in found}
    found = [p for p in found if tagged[p] in (None, python)]
    if any(tagged[p] == python for p in found):  # a lock for this very Python wins
        found = [p for p in found if tagged[p] == python or "test" not in p.name.lower()]
    runtime = [p for p in found if p.name == "requirements.txt" and p.parent == tree]
    tests = [
        p
        for p in found
        if "test" in p.relative_to(tree).as_posix().lower()
        and p not in runtime
        and "doc" not in p.name.lower()
    ]
    dev = [p for p in found if "dev" in p.name.lower()]
    return runtime + (tests or dev)


def read_requirements(
    tree: Path,
    files: list[Path],
    project: str | None,
    tox: bool = False,
    groups: Sequence[str] = (),
) -> Requirements:
    """The installable lines of ``files`` (``-r``/``-c`` followed inside ``tree``), with notes;
    with ``tox``, also the ``deps`` of ``tox.ini``'s ``[testenv]`` (tqdm declares pytest-asyncio,
    which its ``addopts`` need, only there); its ``extras`` always; ``groups``, the lines of
    ``pyproject.toml``'s test dependency groups (``dependency_groups``), always.

    Left out, each with a note: the project itself (the tests import the head's code), local and
    editable paths, pip options (LEO installs from the configured index), hashes (the project's
    own directory cannot be hashed). A package pinned to a VCS or archive URL is taken from the
    index instead, since nothing but the index can be reached. A pin pip cannot satisfy beside
    LEO's test runner (``pytest<=6.2.5``) is found and left out when installing line by line.
    """
    tree = tree.resolve()
    out = Requirements()
    own = canonicalize_name(project) if project else None
    seen: set[Path] = set()

    def lines(rel: str, logical: list[str], parent: Path, depth: int, target: list[str]) -> None:
        for line in logical[:_MAX_LINES]:
            include = re.match(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)$", line)
            if include:
                inner = _inside(tree, parent / include.group(2))
                if inner is None or depth >= _MAX_DEPTH:
                    out.note(f"{rel}: {line!r} not followed (outside the project or too deep)")
                    continue
                into = target if include.group(1) in ("-r", "--requirement") else out.constraints
                walk(inner, depth + 1, into)
                continue
            kept = _line(line, rel, own, out)
            if kept is not None and kept not in target:
                target.append(kept)

    def walk(path: Path, depth: int, target: list[str]) -> None:
        if path in seen or len(seen) >= _MAX_FILES:
            return
        seen.add(path)
        rel = path.relative_to(tree).as_posix()
        lines(rel, _logical_lines(_read(path)), path.parent, depth, target)

    for path in files:
        walk(path.resolve(), 0, out.lines)
    if tox:
        lines("tox.ini", tox_deps(tree), tree, 0, out.lines)
    lines("pyproject.toml", list(groups), tree, 0, out.lines)
    # The project's own extras the tests install are read even beside requirement files:
    # pyparsing 3.1.2's tests/requirements.txt pins only coverage and tox, its diagrams come
    # from tox.ini's ``extras``.
    out.extras += [e for e in _tox_option(tree, "extras") if re.fullmatch(r"[\w.-]+", e)]
    return out


def dependency_groups(tree: Path, names: Sequence[str]) -> list[str]:
    """The requirements of the test groups ``pyproject.toml`` names ``names`` (else its ``dev``
    group): PEP 735's ``[dependency-groups]`` (``{include-group = …}`` followed), PDM's
    ``[tool.pdm.dev-dependencies]`` and uv's ``[tool.uv] dev-dependencies`` (its ``dev``).

    cattrs 24.1 declares hypothesis, which its ``tests/__init__.py`` imports, only in a PDM
    group: its tests could not start, and a project on PEP 735 alone would be the same.
    """
    path = tree / "pyproject.toml"
    if path.is_symlink() or not path.is_file():
        return []
    try:
        doc = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError:
        return []
    tool = doc.get("tool") if isinstance(doc.get("tool"), dict) else {}
    pdm = tool.get("pdm") if isinstance(tool.get("pdm"), dict) else {}
    uv = tool.get("uv") if isinstance(tool.get("uv"), dict) else {}
    tables: dict[str, object] = {}
    if isinstance(uv.get("dev-dependencies"), list):
        tables["dev"] = uv["dev-dependencies"]
    for table in (pdm.get("dev-dependencies"), doc.get("dependency-groups")):
        if isinstance(table, dict):
            tables.update({canonicalize_name(str(k)): v for k, v in table.items()})
    wanted = [canonicalize_name(n) for n in names if canonicalize_name(n) in tables]
    out: list[str] = []
    for name in wanted or (["dev"] if "dev" in tables else []):
        _group(tables, name, out, set())
    return out


def _group(tables: dict[str, object], name: str, out: list[str], seen: set[str]) -> None:
    """``name``'s requirement strings into ``out``, its ``include-group`` entries followed."""
    items = tables.get(name)
    if name in seen or len(seen) >= _MAX_FILES or not isinstance(items, list):
        return
    seen.add(name)
    for item in items[:_MAX_LINES]:
        if isinstance(item, str) and item.strip() not in out:
            out.append(item.strip())
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            _group(tables, canonicalize_name(item["include-group"]), out, seen)


def tox_deps(tree: Path) -> list[str]:
    """``[testenv] deps`` of ``tox.ini``, with ``{[section]key}`` references expanded; lines for
    one tox factor only (``tf: tensorflow``) and other substitutions are left out."""
    return _tox_option(tree, "deps")


def _tox_option(tree: Path, option: str) -> list[str]:
    """The lines of ``[testenv] option`` (``deps``; ``extras``, the project's extras the tests
    install: pyparsing's ``diagrams``), expanded as ``tox_deps`` says."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(_read(tree / "tox.ini"))
    except configparser.Error:
        return []

    def expand(text: str, depth: int) -> list[str]:
        out: list[str] = []
        for line in _logical_lines(text):
            ref = re.fullmatch(r"\{\[([^\]]+)\]([^}]+)\}", line)
            if ref and depth < _MAX_DEPTH and parser.has_option(ref.group(1), ref.group(2)):
                out += expand(parser.get(ref.group(1), ref.group(2)), depth + 1)
            elif "{" not in line and not re.match(r"^[\w.,!-]+:\s", line):
                out.append(line)
        return out

    if not parser.has_option("testenv", option):
        return []
    return expand(parser.get("testenv", option), 0)


def _inside(tree: Path, path: Path) -> Path | None:
    try:
        resolved = path.resolve()
        resolved.relative_to(tree.resolve())
    except (OSError, ValueError):
        return None
    return resolved if resolved.is_file() and not path.is_symlink() else None


def _logical_lines(text: str) -> list[str]:
    """pip's reading: comments dropped, ``\\`` continuations joined, blank lines skipped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        raw = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line:
            lines.append(line)
    return lines


def _line(line: str, rel: str, own: str | None, out: Requirements) -> str | None:
    """One logical line as an index requirement, or None (with a note) when it is left out."""
    if " --hash" in line or line.startswith("--hash"):
        line = re.sub(r"\s*--hash[=\s]\S+", "", line).strip()
        out.note(f"{rel}: hash pins dropped (the project's own directory cannot be hashed)")
        if not line:
            return None
    editable = re.match(r"^(-e|--editable)(?:\s+|=)(.+)$", line)
    if editable:
        line = editable.group(2).strip()
    elif line.startswith("-"):
        out.note(f"{rel}: pip option {line.split()[0]!r} ignored (LEO installs from its index)")
        return None
    if line.startswith(_VCS) or "://" in line.split("@", 1)[0]:
        egg = _EGG.search(line)
        if egg is None:
            out.note(f"{rel}: {line[:120]!r} skipped: a URL without a package name")
            return None
        line = egg.group(1)
        out.note(
            f"{rel}: {line} taken from the index instead of its URL (only the index is reachable)"
        )
    elif line.startswith((".", "/", "file:")) or editable:
        own_extras = re.fullmatch(r"\.?/?\[([A-Za-z0-9._,\s-]+)\]", line)
        if own_extras:  # the project itself with extras: install those with it
            out.extras += [e.strip() for e in own_extras.group(1).split(",") if e.strip()]
        out.note(f"{rel}: local path {line[:120]!r} skipped (the tests import the head's code)")
        return None
    try:
        req = Requirement(line)
    except InvalidRequirement:
        out.note(f"{rel}: {line[:120]!r} skipped: not a requirement pip could read")
        return None
    name = canonicalize_name(req.name)
    if own is not None and name == own:
        out.extras += [e for e in sorted(req.extras) if e not in out.extras]  # ``demo[test]``
        out.note(
            f"{rel}: {line[:120]!r} skipped: the project itself (the tests use the head's code)"
        )
        return None
    if req.url:
        req.url = None
        line = str(req)
        out.note(
            f"{rel}: {req.name} taken from the index instead of its URL (only the index is reachable)"
        )
    return line
