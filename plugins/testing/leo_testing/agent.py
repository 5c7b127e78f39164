"""The Testing sub-agent: run the change's tests at the head like a CI, report exactly what
happened, and measure how much of the added code the tests ran.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leo import (
    Analysed,
    Change,
    Conflict,
    Finding,
    LeoError,
    NotAnalysed,
    SubAgent,
    SubAgentResult,
    Tool,
    ToolResult,
)
from leo_testing import changed_coverage, environment
from leo_testing.harness import harness_changes
from leo_testing.junit import ReportError, Suite, clean, parse_junit, read_report
from leo_testing.sandbox import Sandbox, expand
from leo_testing.settings import Settings, parse_settings

#: pytest's exit code when it collected no tests.
NO_TESTS_COLLECTED = 5
_NODEID = re.compile(r"^(\S+\.py::\S+)", re.MULTILINE)
_TEST_RULES = ("testing.test_failed", "testing.test_error")


@dataclass(frozen=True)
class SuiteRun:
    """What one run of the test command left behind, read before its worktree is removed."""

    result: ToolResult
    tree: str
    junit: bytes | None
    coverage: bytes | None
    report_error: str | None
    environment: environment.Environment
    environment_modified: bool
    duration_s: float


async def run_suite(
    change: Change,
    settings: Settings,
    command: tuple[str, ...],
    *,
    tests: tuple[str, ...] = (),
    coverage: bool = True,
) -> SuiteRun:
    """Run ``command`` at the head in a fresh worktree and the cached environment, sandboxed."""
    async with change.worktree("head") as tree:
        with tempfile.TemporaryDirectory(prefix="leo-testing-") as tmp:
            sandbox = Sandbox.create(settings, Path(tmp))
            await sandbox.check_available()
            async with environment.prepare(tree, settings, sandbox) as env:
                values = {
                    "python": str(env.python),
                    "project": str(tree),
                    "outdir": str(sandbox.out),
                    "junit": str(sandbox.out / "junit.xml"),
                    "coverage": str(sandbox.out / "coverage.xml"),
                }
                pythonpath = [tree / p for p in settings.pythonpath if (tree / p).is_dir()]
                environ = sandbox.environ(
                    "test", venv=env.path, pythonpath=pythonpath, values=values
                )
                started = time.monotonic()
                result = await sandbox.run(
                    expand(command, values, tests),
                    phase="test",
                    cwd=tree,
                    env=environ,
                    timeout=settings.test_timeout,
                )
                duration = time.monotonic() - started
                modified = await environment.discard_if_modified(env, settings)
            junit = cov = None
            error = None
            try:
                junit = read_report(sandbox.out / "junit.xml")
                if coverage and settings.coverage and settings.coverage_report:
                    cov = read_report(Path(expand([settings.coverage_report], values)[0]))
            except ReportError as exc:
                error = str(exc)
    return SuiteRun(result, str(tree), junit, cov, error, env, modified, round(duration, 3))


def _error(summary: str, **kwargs: Any) -> SubAgentResult:
    return SubAgentResult(
        status="error", confidence=0, summary=summary[:2000], error=summary, **kwargs
    )


def _last_test(stdout: str) -> str | None:
    found = _NODEID.findall(stdout[-200_000:])
    return clean(found[-1], 300) if found else None


def _tail(result: ToolResult, lines: int = 15) -> str:
    text = result.stderr_text.strip() or result.stdout_text.strip()
    return clean("\n".join(text.splitlines()[-lines:]), 2000)


class TestingAgent(SubAgent):
    """Runs the change's tests in isolation and measures coverage of the changed lines."""

    __test__ = False  # not a pytest test class
    name = "testing"
    description = "runs the tests at the head in a cached, sandboxed venv; changed-line coverage"
    timeout = 1800

    async def check(self, change: Change) -> SubAgentResult:
        try:
            settings = parse_settings(self.settings)
            run = await run_suite(change, settings, settings.command)
        except LeoError as exc:  # bad settings, no sandbox, failed setup: no evidence
            return _error(str(exc))
        return await self._assess(change, settings, run)

    async def _assess(self, change: Change, settings: Settings, run: SuiteRun) -> SubAgentResult:
        env = run.environment
        tools = env.tools()
        details: dict[str, Any] = {
            "environment": {"key": env.key, "reused": env.reused, "setup_s": env.setup_s},
            "exit_code": run.result.returncode,
            "test_duration_s": run.duration_s,
            "isolation": {
                "network": settings.network,
                "memory_limit_mb": settings.memory_limit_mb,
                "max_processes": settings.max_processes,
            },
        }
        findings: list[Finding] = []
        if run.environment_modified:
            details["environment"]["discarded"] = True
            findings.append(
                Finding(
                    rule_id="testing.environment_modified",
                    severity="low",
                    message="the test run changed files in the cached environment; it was "
                    "discarded and will be rebuilt",
                )
            )
        if run.result.timed_out:
            last = _last_test(run.result.stdout_text)
            where = f"; the last test started was {last}" if last else ""
            msg = f"the test suite did not finish within its {settings.test_timeout:g}s timeout and was killed{where}"
            details["last_test"] = last
            findings.append(Finding(rule_id="testing.timeout", severity="high", message=msg))
            return SubAgentResult(
                status="timeout", confidence=0, summary=msg, error=msg, findings=tuple(findings),
                tools=tuple(tools), details=details,
            )  # fmt: skip
        if run.report_error:
            return _error(run.report_error, tools=tuple(tools), details=details)
        if run.junit is None:
            if run.result.returncode == NO_TESTS_COLLECTED:
                return self._no_tests(
                    findings, tools, details, "the test command collected no tests"
                )
            msg = (
                f"the test command exited {run.result.returncode} without writing a JUnit report: "
                f"{_tail(run.result)}"
            )
            return _error(msg, tools=tuple(tools), details=details)
        try:
            suite = parse_junit(run.junit)
        except ReportError as exc:
            return _error(str(exc), tools=tuple(tools), details=details)
        details.update(suite.counts())
        if suite.ran == 0:
            why = (
                "every collected test was skipped"
                if suite.cases
                else "the test command collected no tests"
            )
            return self._no_tests(findings, tools, details, why)
        findings += self._test_findings(suite, details)
        failing = suite.count("failed") + suite.count("error")
        if run.result.returncode != 0 and not failing:
            findings.append(
                Finding(
                    rule_id="testing.exit_status",
                    severity="high",
                    message=f"the test command exited {run.result.returncode} although its JUnit "
                    f"report lists no failure: {_tail(run.result, 5)}",
                )
            )
        summary = (
            f"{suite.ran} tests ran: {suite.count('passed')} passed, {suite.count('failed')} "
            f"failed, {suite.count('error')} errors, {suite.count('skipped')} skipped"
        )
        not_analysed: list[NotAnalysed] = []
        if settings.coverage:
            coverage_summary = await self._coverage(
                change, settings, run, findings, details, not_analysed
            )
            summary += f"; {coverage_summary}"
        harness = await harness_changes(change)
        if harness:
            details["harness_changed"] = harness
            findings.append(
                Finding(
                    rule_id="testing.harness_changed",
                    severity="medium",
                    message="the change edits the test harness ("
                    + ", ".join(harness[:5])
                    + "), so its own passing tests are weak evidence; review the harness",
                    path=harness[0],
                )
            )
        regular = [f for f in change.files if f.is_regular]
        analysed = Analysed(
            files=tuple(f.path for f in regular),
            lines=sum(len(f.added_lines) for f in regular),
            not_analysed=tuple(not_analysed),
        )
        return self.result(
            findings, summary=summary, analysed=analysed, tools=tools, details=details
        )

    def _no_tests(
        self, findings: list[Finding], tools: list[Tool], details: dict[str, Any], why: str
    ) -> SubAgentResult:
        findings.append(
            Finding(
                rule_id="testing.no_tests",
                severity="high",
                message=f"{why}; a suite that runs no test proves nothing",
                fix="add tests, or check the test command and its test paths",
            )
        )
        return self.result(findings, summary=why, tools=tools, details=details)

    def _test_findings(self, suite: Suite, details: dict[str, Any]) -> list[Finding]:
        findings = []
        failing = []
        for case in suite.cases:
            if case.outcome not in ("failed", "error"):
                continue
            failing.append(case.nodeid)
            path, line = case.crash_location()
            verb = "failed" if case.outcome == "failed" else "errored"
            message = f"{case.nodeid} {verb}" + (f": {case.message}" if case.message else "")
            findings.append(
                Finding(
                    rule_id="testing.test_failed"
                    if case.outcome == "failed"
                    else "testing.test_error",
                    severity="high",
                    message=message,
                    path=path,
                    line=line,
                )
            )
        details["failing_tests"] = failing[:500]
        return findings

    async def _coverage(
        self,
        change: Change,
        settings: Settings,
        run: SuiteRun,
        findings: list[Finding],
        details: dict[str, Any],
        not_analysed: list[NotAnalysed],
    ) -> str:
        if not settings.coverage_report:
            details["coverage"] = {"measured": False, "reason": "no coverage_report configured"}
            return "changed-line coverage not configured"
        hits: changed_coverage.LineHits = {}
        if run.coverage is None:
            message = (
                "the test run wrote no coverage report, so coverage of the changed lines is unknown"
            )
            findings.append(
                Finding(
                    rule_id="testing.coverage.missing",
                    severity=settings.coverage_severity,
                    message=message,
                )
            )
            details["coverage"] = {"measured": False, "reason": message}
            return "no coverage report"
        try:
            hits = changed_coverage.parse_report(run.coverage, Path(run.tree))
        except ReportError as exc:
            findings.append(
                Finding(
                    rule_id="testing.coverage.missing",
                    severity=settings.coverage_severity,
                    message=str(exc),
                )
            )
            details["coverage"] = {"measured": False, "reason": str(exc)}
            return "unreadable coverage report"
        unreported = changed_coverage.unreported_python(change, hits, settings.coverage_omit)
        sources = await change.read_many(unreported, "head") if unreported else {}
        measured = changed_coverage.measure(change, hits, sources, settings.coverage_omit)
        not_analysed += [NotAnalysed(path=p, reason=r) for p, r in measured.unmeasured.items()]
        percent = measured.percent
        details["coverage"] = {
            "measured": True,
            "percent": percent,
            "covered": measured.covered,
            "executable": measured.executable,
            "threshold": settings.coverage_threshold,
            "uncovered": {
                f.path: changed_coverage.ranges(f.uncovered) for f in measured.files if f.uncovered
            },
            "not_imported_by_tests": [f.path for f in measured.files if not f.reported],
        }
        if percent is None:
            return "no added executable lines to cover"
        text = f"changed-line coverage {percent:g}% ({measured.covered}/{measured.executable})"
        found, judged = changed_coverage.judge(
            measured, settings.coverage_threshold, settings.coverage_severity
        )
        findings += found
        return text + judged

    async def resolve_conflict(self, change: Change, conflict: Conflict) -> SubAgentResult | None:
        """Re-run the failing tests: one that fails, then passes, is flaky (a warning)."""
        own = conflict.own
        failing = own.details.get("failing_tests")
        try:
            settings = parse_settings(self.settings)
        except LeoError:
            return None
        if not isinstance(failing, list) or not failing or settings.rerun_command is None:
            return None
        # A node id comes from the report the change's code wrote: never let it be an option.
        ids = tuple(t for t in failing if isinstance(t, str) and t and not t.startswith("-"))[:200]
        flaky: set[str] = set()
        for _ in range(settings.flaky_reruns):
            remaining = tuple(t for t in ids if t not in flaky)
            if not remaining:
                break
            try:
                run = await run_suite(
                    change, settings, settings.rerun_command, tests=remaining, coverage=False
                )
                suite = parse_junit(run.junit) if run.junit is not None else None
            except LeoError:
                break
            if suite is None or run.result.timed_out:
                break
            flaky |= {
                c.nodeid for c in suite.cases if c.outcome == "passed" and c.nodeid in remaining
            }
        if not flaky:
            return None
        revised = []
        for f in own.findings:
            nodeid = next((t for t in flaky if f.message.startswith(f"{t} ")), None)
            if f.rule_id in _TEST_RULES and nodeid is not None:
                revised.append(
                    Finding(
                        rule_id="testing.flaky",
                        severity="medium",
                        message=f"{nodeid} failed, then passed when re-run: a flaky test, "
                        "neither a pass nor a hard failure",
                        path=f.path,
                        line=f.line,
                        fix="make the test deterministic",
                    )
                )
            else:
                revised.append(f)
        details = {**own.details, "flaky_tests": sorted(flaky)}
        still = len([f for f in revised if f.rule_id in _TEST_RULES])
        summary = f"{own.summary}; on re-run {len(flaky)} failing test(s) passed (flaky), {still} still fail"
        return self.result(
            revised, summary=summary, analysed=own.analysed, tools=own.tools, details=details
        )
