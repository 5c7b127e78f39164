"""LEO's Security sub-agent: bandit on the changed Python files, blocking on changed lines."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from leo import (
    Analysed,
    Change,
    Finding,
    NotAnalysed,
    SubAgent,
    SubAgentResult,
    Tool,
    hookimpl,
    run_tool,
)

#: bandit severity -> LEO severity (confidence LOW demotes one step; see docs/agents/security.md).
SEVERITY = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}
DEMOTE = {"high": "medium", "medium": "low", "low": "info"}


class SecurityAgent(SubAgent):
    name = "security"
    description = "bandit on the changed Python files; findings on changed lines block"
    timeout = 300

    async def check(self, change: Change) -> SubAgentResult:
        python = change.paths(suffixes=(".py",))
        others = [f.path for f in change.files if f.path not in python]
        not_analysed = [
            NotAnalysed(path=p, reason="no security check for this file type yet") for p in others
        ]
        if not python:
            return self.result(
                summary="no changed Python files to scan",
                analysed=Analysed(not_analysed=tuple(not_analysed)),
                status="warned" if others else "passed",
                confidence=80 if others else 100,
            )
        with tempfile.TemporaryDirectory(prefix="leo-security-") as tmp:
            written = await change.materialize(Path(tmp), python)
            out = await run_tool(["bandit", "-q", "-f", "json", "-r", "."], cwd=tmp, timeout=240)
            version = await run_tool(["bandit", "--version"], timeout=30)
        if out.timed_out or out.returncode not in (0, 1):
            msg = f"bandit failed (exit {out.returncode}): {out.stderr_text.strip()[:500]}"
            return SubAgentResult(status="error", confidence=0, summary=msg, error=msg)
        findings = []
        for issue in json.loads(out.stdout_text).get("results", []):
            path = issue["filename"].removeprefix("./")
            severity = SEVERITY.get(issue["issue_severity"], "low")
            if issue["issue_confidence"] == "LOW":
                severity = DEMOTE[severity]
            findings.append(
                Finding(
                    rule_id=f"security.bandit.{issue['test_id']}",
                    severity=severity,
                    message=issue["issue_text"],
                    path=path,
                    line=issue["line_number"],
                    on_changed_line=change.is_changed_line(path, issue["line_number"]),
                )
            )
        lines = sum(len(f.added_lines) for f in change.files if f.path in written)
        version_text = version.stdout_text.split()[1] if version.stdout_text.split()[1:] else "?"
        return self.result(
            findings,
            analysed=Analysed(files=tuple(written), lines=lines, not_analysed=tuple(not_analysed)),
            tools=[Tool(name="bandit", version=version_text)],
        )


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [SecurityAgent]
