"""Benchmark: the Testing sub-agent's second run reuses the cached environment.

Run: ``.venv/bin/python -m pytest benchmarks/test_testing_env_cache.py --benchmark-only -p no:randomly``
(not part of CI). Results: benchmarks/results/testing.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from leo_testing import TestingAgent

from leo.testing import make_repo, run_agents

BASE = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}
HEAD = {"calc.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"}


@pytest.fixture(scope="module")
def change(tmp_path_factory: pytest.TempPathFactory):
    return make_repo(tmp_path_factory.mktemp("bench") / "repo", BASE, HEAD).change()


def _run(change, cache: Path) -> dict:
    result = run_agents(
        change, [TestingAgent], config={"agents": {"testing": {"cache_dir": str(cache)}}}
    )
    agent = result.agent("testing")
    assert agent.status in ("passed", "warned"), agent.summary
    return agent.details["environment"]


def test_first_run_builds_the_environment(benchmark, change, tmp_path_factory):
    caches = iter(tmp_path_factory.mktemp(f"cold{i}") for i in range(100))
    env = benchmark.pedantic(lambda: _run(change, next(caches)), rounds=3, iterations=1)
    assert env["reused"] is False


def test_second_run_reuses_the_environment(benchmark, change, tmp_path_factory):
    cache = tmp_path_factory.mktemp("warm")
    assert _run(change, cache)["reused"] is False
    env = benchmark.pedantic(lambda: _run(change, cache), rounds=5, iterations=1)
    assert env["reused"] is True
