"""bandit on the changed Python files, with its severity and confidence mapped to LEO's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from leo import Finding, ToolNotFoundError, run_tool
from leo_security import suppressions
from leo_security.outcome import ScanOutcome, Severity, normalise_path, on_change

if TYPE_CHECKING:
    from leo import Change

#: (bandit severity, bandit confidence) -> LEO severity; documented in docs/agents/security.md.
SEVERITY: dict[tuple[str, str], Severity] = {
    ("HIGH", "HIGH"): "high",
    ("HIGH", "MEDIUM"): "high",
    ("HIGH", "LOW"): "medium",
    ("MEDIUM", "HIGH"): "medium",
    ("MEDIUM", "MEDIUM"): "medium",
    ("MEDIUM", "LOW"): "low",
    ("LOW", "HIGH"): "low",
    ("LOW", "MEDIUM"): "low",
    ("LOW", "LOW"): "info",
}
#: Tests bandit rates MEDIUM that are code execution on untrusted data: raised to high.
RAISED = {
    "B102": "exec",
    "B301": "pickle and friends",
    "B302": "marshal",
    "B307": "eval",
    "B506": "yaml.load",
    "B614": "torch.load",
}
#: Tests that flag an import or an assert, not a use: context for a reviewer, never blocking.
INFORMATIONAL_PREFIXES = ("B4",)
INFORMATIONAL = {"B101"}
#: Hard-coded password tests quote the password in their message; a report must never carry it.
QUOTES_SECRET = {"B105", "B106", "B107"}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def severity_of(test_id: str, severity: str, confidence: str) -> Severity:
    """The LEO severity of one bandit result (the table above plus the two lists)."""
    if test_id in INFORMATIONAL or test_id.startswith(INFORMATIONAL_PREFIXES):
        return "info"
    mapped = SEVERITY.get((severity.upper(), confidence.upper()), "low")
    if test_id in RAISED and confidence.upper() != "LOW":
        return "high"
    return mapped


async def scan(
    change: Change, root: Path, paths: list[str], *, whole: bool, timeout: float
) -> ScanOutcome:
    """Run bandit once over ``paths`` (written below ``root``)."""
    outcome = ScanOutcome("bandit")
    if not paths:
        return outcome
    # LEO applies ``# nosec`` itself: only the base's suppressions are honoured (issue 17.3).
    argv = ["bandit", "-f", "json", "-q", "--ignore-nosec", *[f"./{p}" for p in paths]]
    try:
        out = await run_tool(argv, cwd=root, timeout=timeout)
        version = await run_tool(["bandit", "--version"], timeout=60)
    except ToolNotFoundError as exc:
        outcome.error = str(exc)
        return outcome
    words = version.stdout_text.split()
    outcome.version = words[1] if len(words) > 1 and words[0] == "bandit" else "?"
    report = outcome.json_report(out, timeout)
    if report is None:
        return outcome
    results = report["results"]
    if out.returncode not in (0, 1):  # 1 means "found something"
        outcome.error = f"bandit failed (exit {out.returncode}): {out.stderr_text.strip()[-2000:]}"
        return outcome
    for err in report.get("errors", []):
        outcome.failed[normalise_path(str(err.get("filename", "")))] = (
            f"bandit could not analyse it: {err.get('reason', 'unknown error')}"
        )
    outcome.analysed = {p for p in paths if p not in outcome.failed}
    totals = report.get("metrics", {}).get("_totals", {})
    outcome.suppressed = int(totals.get("skipped_tests", 0))
    texts: dict[str, list[str]] = {}
    for issue in results:
        path = normalise_path(issue["filename"])
        lines = issue.get("line_range") or [issue["line_number"]]
        start, end = min(lines), max(lines)
        cwe = (issue.get("issue_cwe") or {}).get("id")
        text = str(issue["issue_text"])
        if issue["test_id"] in QUOTES_SECRET:
            text = _QUOTED.sub("'<redacted>'", text)
        message = text + (f" (CWE-{cwe})" if cwe else "")
        finding = Finding(
            rule_id=f"security.bandit.{issue['test_id']}",
            severity=severity_of(
                issue["test_id"], issue["issue_severity"], issue["issue_confidence"]
            ),
            message=f"{message}; bandit {issue['test_name']}",
            path=path,
            line=issue["line_number"],
            end_line=end if end > issue["line_number"] else None,
            on_changed_line=on_change(change, path, start, end, whole),
        )
        if path not in texts:
            texts[path] = _lines(root, path)
        marker = suppressions.nosec_line(
            texts[path], start, end, issue["test_id"], str(issue["test_name"])
        )
        if marker is None:
            outcome.findings.append(finding)
        elif suppressions.by_the_change(change, path, marker, *range(start, end + 1)):
            outcome.findings.append(suppressions.unhonoured(finding, "# nosec", marker))
            outcome.unhonoured += 1
        else:
            outcome.suppressed += 1
    return outcome


def _lines(root: Path, path: str) -> list[str]:
    try:
        return root.joinpath(*path.split("/")).read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
