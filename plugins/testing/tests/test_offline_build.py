"""Tests that build the project, offline (issue 18): the setup puts the project's build
requirements in a wheelhouse of the cached environment, and pip inside the tests resolves from it.

zipp 3.18.1's pytest-checkdocs item ``.py::::project`` builds the project's metadata with
pypa/build in an isolated environment; without the wheelhouse its pip needs the index the
sandbox does not reach, at the base and the head alike.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from leo_testing.environment import _build_wheelhouse, build_requirements
from leo_testing.settings import Settings

from leo import ToolResult

PYPROJECT = """[build-system]
requires = ["flit_core>=3.2,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "offbuild"
version = "1.0"
description = "A project whose tests build it."
"""
BUILDS = """import os
import subprocess
import sys

import pytest

from offbuild import answer


def test_answer():
    assert answer() == 42


def test_builds_its_own_wheel(tmp_path):
    # pip's isolated build fetches flit_core: from PIP_FIND_LINKS, never the index
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path), "."]
    subprocess.run(argv, check=True)
    assert list(tmp_path.glob("offbuild-1.0-*.whl"))


def test_cannot_write_the_wheelhouse():
    with pytest.raises(OSError):
        open(os.path.join(os.environ["PIP_FIND_LINKS"], "planted-1.0-py3-none-any.whl"), "w")
"""
BASE = {
    "pyproject.toml": PYPROJECT,
    "offbuild.py": '"""Answers."""\n\n\ndef answer():\n    return 42\n',
    "tests/test_build.py": BUILDS,
}
HEAD = {"offbuild.py": '"""Answers."""\n\n\ndef answer():\n    return 6 * 7\n'}
BUILD_TEST = "tests/test_build.py::test_builds_its_own_wheel"


def test_a_test_that_builds_the_project_finds_its_build_requirements_offline(leo_repo, run_testing):
    repo = leo_repo(base=BASE, head=HEAD)
    result = run_testing(repo.change())
    details = result.agent("testing").details
    assert details["failing_tests"] == [], details
    assert "notes" not in details["environment"]
    result.assert_verdict("PASS")
    # the same cached environment without its wheelhouse: the build cannot reach an index
    again = run_testing(repo.change(), env={"PIP_FIND_LINKS": "{outdir}"})
    details = again.agent("testing").details
    assert BUILD_TEST in details["failing_tests"] + details["failing_at_base_too"]


def project(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    tree = tmp_path / name
    tree.mkdir()
    for file, text in files.items():
        (tree / file).write_text(text)
    return tree


def test_build_requirements_follow_pep_518_and_setuptools(tmp_path):
    flit = project(tmp_path, "flit", {"pyproject.toml": PYPROJECT})
    assert build_requirements(flit) == (["flit_core<4,>=3.2"], [])
    legacy = project(tmp_path, "legacy", {"setup.py": "from setuptools import setup\nsetup()\n"})
    # PEP 518's default, and the wheel setuptools < 70.1 asks for to build one
    assert build_requirements(legacy) == (["setuptools>=40.8.0", "wheel"], [])
    tools_only = project(tmp_path, "tools", {"setup.cfg": "[flake8]\n"})
    assert build_requirements(tools_only) == ([], [])


OPTION = """[build-system]
requires = ["--index-url=https://evil.example", 5, "hatchling"]
build-backend = "hatchling.build"
"""


def test_bad_build_requirements_are_notes_not_errors(tmp_path):
    broken = project(tmp_path, "broken", {"pyproject.toml": "[build-system\nrequires = ["})
    requires, notes = build_requirements(broken)
    assert requires == [] and "pyproject.toml could not be read" in notes[0]
    option = project(tmp_path, "option", {"pyproject.toml": OPTION})
    requires, notes = build_requirements(option)
    assert requires == ["hatchling"]  # never a pip option
    assert "'--index-url=https://evil.example' is not a requirement" in notes[0]
    assert "'5' is not a requirement" in notes[1]


class FailingSetup:
    """A setup whose pip cannot reach the build requirements."""

    def __init__(self, tree: Path, venv: Path) -> None:
        self.tree, self.path = tree, venv
        self.settings = Settings(resolve_as_of="2024-03-15")
        self.steps: list[list[str]] = []

    async def run(self, step: list[str]) -> ToolResult:
        self.steps.append(step)
        return ToolResult(tuple(step), 1, b"", b"ERROR: No matching distribution found")


def test_build_requirements_pip_cannot_fetch_as_of_the_date_are_a_note(tmp_path):
    tree = project(tmp_path, "tree", {"pyproject.toml": PYPROJECT})
    setup = FailingSetup(tree, tmp_path)
    notes = anyio.run(_build_wheelhouse, setup)
    # as of the date, like the install
    assert setup.steps[0][3:6] == ["wheel", "--uploaded-prior-to", "2024-03-15T00:00:00Z"]
    assert len(notes) == 1
    assert "flit_core<4,>=3.2 are not available to the tests offline" in notes[0]
    assert "No matching distribution" in notes[0]
