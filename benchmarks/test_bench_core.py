"""LEO against its limits: concurrency, cache, start-up and the aggregator.

Run through ``benchmarks/run.py``, which turns the medians into ratios in RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import LEO, leo

from leo.aggregate import decide
from leo.models import Finding, SubAgentResult

AGENTS = ("security", "database", "testing", "performance", "design")


def verify(repo, *extra):
    return leo(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature", "-q", *extra
    )


@pytest.mark.benchmark(group="concurrency")
def test_all_agents_together(benchmark, realistic):
    benchmark.pedantic(verify, args=(realistic, "--no-cache"), rounds=3, iterations=1)


@pytest.mark.benchmark(group="concurrency")
@pytest.mark.parametrize("agent", AGENTS)
def test_one_agent_alone(benchmark, realistic, agent):
    benchmark.pedantic(
        verify, args=(realistic, "--no-cache", "--agents", agent), rounds=3, iterations=1
    )


@pytest.mark.benchmark(group="cache")
def test_cached_reverify(benchmark, realistic):
    verify(realistic)  # fill the cache
    benchmark.pedantic(verify, args=(realistic,), rounds=5, iterations=1)


@pytest.mark.benchmark(group="startup")
def test_leo_version(benchmark):
    benchmark.pedantic(
        subprocess.run,
        args=([LEO, "--version"],),
        kwargs={"capture_output": True},
        rounds=20,
        iterations=1,
    )


@pytest.mark.benchmark(group="startup")
def test_python_startup_baseline(benchmark):
    benchmark.pedantic(
        subprocess.run,
        args=([sys.executable, "-c", "pass"],),
        kwargs={"capture_output": True},
        rounds=20,
        iterations=1,
    )


@pytest.mark.benchmark(group="aggregator")
def test_aggregate_100k_findings(benchmark):
    findings = tuple(
        Finding(
            rule_id=f"r.{i % 50}",
            severity=("high", "medium", "low", "info")[i % 4],
            message="m",
            path=f"f{i % 900}.py",
            line=i % 400 + 1,
        )
        for i in range(20_000)
    )
    results = [
        SubAgentResult(name=a, status="failed", confidence=10, findings=findings) for a in AGENTS
    ]
    verdict = benchmark(decide, results, weights={}, threshold=85, required=list(AGENTS))
    assert verdict.verdict == "FAIL"
