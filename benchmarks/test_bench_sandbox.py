"""Benchmark: what the sandbox costs. The Testing sub-agent on the generated repository, in the
bubblewrap sandbox and unisolated (``isolation = "none"``), measured in the same run; and one
trivial process started through ``leo.Sandbox`` against ``run_tool``.

Run: ``.venv/bin/python benchmarks/run.py -k sandbox`` (target: <= 10 % or <= 0.3 s per
sandboxed process; issue 16).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
import pytest
from leo_testing import TestingAgent

from leo.process import run_tool
from leo.sandbox import Sandbox, allowed_environ, require_sandbox
from leo.testing import run_agents


@pytest.fixture(scope="module")
def change(realistic):
    anyio.run(require_sandbox)  # no sandbox here: the benchmark fails rather than measure nothing
    return realistic.change()


def _testing(change, isolation: str) -> None:
    result = run_agents(change, [TestingAgent], config={"isolation": isolation})
    agent = result.agent("testing")
    assert agent.status not in ("error", "timeout"), agent.summary
    assert agent.details["environment"]["reused"] is True
    assert agent.details["isolation"]["sandbox"] == (
        "none" if isolation == "none" else "bubblewrap"
    )


def test_testing_agent_sandboxed(benchmark, change):
    _testing(change, "sandbox")  # warm: the environment is built once, outside the timing
    benchmark.pedantic(lambda: _testing(change, "sandbox"), rounds=5, iterations=1)


def test_testing_agent_unisolated(benchmark, change):
    _testing(change, "none")
    benchmark.pedantic(lambda: _testing(change, "none"), rounds=5, iterations=1)


def test_process_sandboxed(benchmark):
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(scratch=Path(tmp))
        env = allowed_environ(home=Path(tmp))

        async def once() -> None:
            done = await box.run(["true"], cwd=Path(tmp), env=env, timeout=30)
            assert done.returncode == 0, done.stderr_text

        benchmark.pedantic(lambda: anyio.run(once), rounds=20, iterations=1, warmup_rounds=1)


def test_process_unsandboxed(benchmark):
    async def once() -> None:
        done = await run_tool(["true"], timeout=30)
        assert done.returncode == 0

    benchmark.pedantic(lambda: anyio.run(once), rounds=20, iterations=1, warmup_rounds=1)
