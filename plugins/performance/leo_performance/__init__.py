"""LEO's Performance sub-agent: finds the repository's pytest-benchmark suite."""

from __future__ import annotations

from leo import Change, SubAgent, SubAgentResult, hookimpl, run_tool


class PerformanceAgent(SubAgent):
    name = "performance"
    description = "pytest-benchmark regressions between base and head"
    timeout = 900

    async def check(self, change: Change) -> SubAgentResult:
        grep = await run_tool(
            [
                "git",
                "-C",
                change.repo,
                "grep",
                "-l",
                "-e",
                "benchmark(",
                change.head_sha,
                "--",
                "*.py",
            ],
            timeout=60,
        )
        if not grep.stdout.strip():
            return self.skipped("no pytest-benchmark benchmarks in the repository")
        msg = "benchmarks found, but comparing base and head is not implemented yet"
        return SubAgentResult(status="error", confidence=0, summary=msg, error=msg)


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [PerformanceAgent]
