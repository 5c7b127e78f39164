"""Finds the pytest-benchmark benchmarks of one side of the change without running anything.

A benchmark is a test function (or method) that takes the ``benchmark`` fixture. The files are
found with ``git grep`` at the commit and parsed with ``ast``, so discovery is quick, never
imports the repository's code, and tells "no benchmarks" (skip) apart from "benchmarks that do
not run" (a finding).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from leo import parse_python, run_git

if TYPE_CHECKING:
    from leo import Change

#: Fixtures of pytest-benchmark (and its common async variant) that mark a benchmark.
FIXTURES = frozenset({"benchmark", "aio_benchmark"})
#: Files larger than this are not parsed (pytest still runs them when ``paths`` names them).
MAX_FILE_BYTES = 2 * 1024 * 1024
_TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")


@dataclass(frozen=True)
class Benchmark:
    """A benchmark function found in the source."""

    path: str
    """Repository-relative file."""
    name: str
    """``test_x`` or ``TestClass::test_x`` (the node id without the path and parameters)."""
    line: int
    """Line of its ``def``."""


def benchmarks_in(path: str, source: bytes) -> list[Benchmark]:
    """The benchmark functions defined in one test file (none when it does not parse)."""
    try:
        tree = parse_python(source, filename=path)
    except (SyntaxError, ValueError):
        return []
    found: list[Benchmark] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args
                names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
                if node.name.startswith("test") and names & FIXTURES:
                    found.append(Benchmark(path, prefix + node.name, node.lineno))

    visit(tree.body, "")
    return found


async def discover(change: Change, side: str) -> list[Benchmark]:
    """Every benchmark in the test files of ``side`` (``base`` or ``head``)."""
    sha = change.head_sha if side == "head" else change.base_sha
    grep = await run_git(
        change.repo, "grep", "-l", "-I", "-w", "-E", "benchmark|aio_benchmark", sha, "--", "*.py",
        timeout=120, check=False,
    )  # fmt: skip
    if grep.returncode not in (0, 1):
        msg = f"git grep for benchmarks at {sha[:12]} failed: {grep.stderr_text.strip()}"
        raise RuntimeError(msg)
    prefix = f"{sha}:"
    paths = [
        line[len(prefix) :]
        for line in grep.stdout_text.splitlines()
        if line.startswith(prefix) and _TEST_FILE.search(line[len(prefix) :])
    ]
    paths = [p for p in paths if not p.startswith("-") and ".." not in PurePosixPath(p).parts]
    sources = await change.read_many(paths, "head" if side == "head" else "base")
    found: list[Benchmark] = []
    for path in paths:
        data = sources.get(path)
        if data is not None and len(data) <= MAX_FILE_BYTES:
            found += benchmarks_in(path, data)
    return found
