"""LEO's Testing sub-agent: runs the change's tests at the head, in a throw-away worktree."""

from __future__ import annotations

import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from leo import Change, Finding, SubAgent, SubAgentResult, Tool, hookimpl, run_tool

#: Environment variables the tests may see; everything else (tokens, keys, cloud credentials) is
#: withheld from the PR's code.
ALLOWED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")


class TestingAgent(SubAgent):
    name = "testing"
    description = "runs pytest at the head commit with a scrubbed environment"
    timeout = 900

    async def check(self, change: Change) -> SubAgentResult:
        async with change.worktree("head") as tree:
            with tempfile.TemporaryDirectory(prefix="leo-testing-") as tmp:
                junit = Path(tmp) / "junit.xml"
                env = {k: v for k, v in os.environ.items() if k in ALLOWED_ENV}
                env.update(HOME=tmp, PYTHONDONTWRITEBYTECODE="1")
                run = await run_tool(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        f"--junitxml={junit}",
                    ],
                    cwd=tree,
                    env=env,
                    timeout=float(self.settings.get("test_timeout", 600)),
                )
                report = junit.read_bytes() if junit.exists() else b""
        if run.timed_out:
            msg = "the test suite did not finish before its timeout"
            return SubAgentResult(status="timeout", confidence=0, summary=msg, error=msg)
        if run.returncode == 5:
            return SubAgentResult(
                status="failed",
                confidence=0,
                summary="no tests were collected",
                findings=(
                    Finding(
                        rule_id="testing.no_tests",
                        severity="high",
                        message="pytest collected no tests",
                    ),
                ),
            )
        if not report:
            msg = f"pytest did not run (exit {run.returncode}): {run.stderr_text.strip()[-500:]}"
            return SubAgentResult(status="error", confidence=0, summary=msg, error=msg)
        findings, total = [], 0
        for case in ET.fromstring(report).iter("testcase"):  # noqa: S314
            total += 1
            for tag in ("failure", "error"):
                node = case.find(tag)
                if node is not None:
                    name = f"{case.get('classname')}::{case.get('name')}"
                    path = case.get("file")
                    line = case.get("line")
                    findings.append(
                        Finding(
                            rule_id=f"testing.{tag}",
                            severity="high",
                            message=f"{name}: {(node.get('message') or '').strip()[:500]}",
                            path=path,
                            line=int(line) + 1 if line and line.isdigit() else None,
                        )
                    )
        summary = f"{total} tests, {len(findings)} failed or errored"
        return self.result(
            findings,
            summary=summary,
            tools=[Tool(name="pytest", version=_pytest_version())],
            details={"tests": total},
        )


def _pytest_version() -> str:
    import pytest

    return pytest.__version__


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [TestingAgent]
