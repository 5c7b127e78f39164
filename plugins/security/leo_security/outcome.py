"""What one scanner hands back to the Security sub-agent, and where a finding sits in the change."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from leo import Change, Finding, ToolResult

#: LEO's severities (the ``Finding.severity`` literal; the facade does not export the alias).
Severity = Literal["critical", "high", "medium", "low", "info"]


@dataclass
class ScanOutcome:
    """Findings of one tool plus what it looked at, what it could not, and what was silenced."""

    tool: str
    version: str = "?"
    findings: list[Finding] = field(default_factory=list)
    analysed: set[str] = field(default_factory=set)
    """Changed files the tool actually analysed."""
    failed: dict[str, str] = field(default_factory=dict)
    """Changed files the tool was given but could not analyse, with the reason."""
    suppressed: int = 0
    """Findings dropped because of an inline suppression already on the base branch."""
    unhonoured: int = 0
    """Findings kept although an inline suppression the change added would silence them."""
    error: str | None = None
    """Set when the tool is missing or crashed: the sub-agent is then ``error``, never a pass."""
    values: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    """(path, line) -> the values detect-secrets flagged there: a calibration that excuses a
    line must account for each of them. Never reported."""

    def json_report(self, out: ToolResult, timeout: float) -> dict[str, Any] | None:
        """The tool's JSON report (bandit's and semgrep's shape: an object with ``results``),
        or None with ``error`` set when the tool timed out or printed anything else."""
        if out.timed_out:
            self.error = f"{self.tool} did not finish within {timeout:g}s"
            return None
        try:
            report = json.loads(out.stdout_text)
            report["results"]
        except (ValueError, KeyError, TypeError):
            detail = (out.stderr_text or out.stdout_text).strip()[-2000:]
            self.error = f"{self.tool} failed (exit {out.returncode}): {detail}"
            return None
        return report  # type: ignore[no-any-return]


def on_change(change: Change, path: str, start: int | None, end: int | None, whole: bool) -> bool:
    """True when lines ``start..end`` of ``path`` touch an added or modified line.

    A finding that spans several lines (a multi-line call, a workflow job) blocks when any of
    them changed; ``whole`` (the ``whole_files`` setting) makes every finding in a changed file
    block.
    """
    if whole:
        return change.file(path) is not None
    changed = change.file(path)
    if changed is None or start is None:
        return False
    lines = changed.added_lines
    i = bisect.bisect_left(lines, start)
    return i < len(lines) and lines[i] <= max(start, end or start)


def normalise_path(path: str) -> str:
    """Tools report ``./app/x.py``; LEO uses repository-relative POSIX paths."""
    while path.startswith("./"):
        path = path[2:]
    return path
