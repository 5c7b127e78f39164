"""Complexity findings: functions the change made more complex, modules it made harder to maintain.

Base and head are compared per function (matched by qualified name), so a function that was
already complex and is left alone or simplified never blocks; only what the change makes worse.
"""

from __future__ import annotations

from collections.abc import Sequence

from leo import ChangedFile, Finding
from leo_design.functions import Function
from leo_design.settings import DesignSettings


def touched(function: Function, changed: ChangedFile | None) -> bool:
    """True when the change adds or modifies a line of ``function`` (at the head)."""
    if changed is None:
        return False
    return any(changed.is_changed_line(n) for n in range(function.line, function.end_line + 1))


def complexity_findings(
    path: str,
    base: Sequence[Function] | None,
    head: Sequence[Function],
    changed: ChangedFile | None,
    settings: DesignSettings,
) -> list[Finding]:
    """Findings for the functions of ``path`` the change made too complex."""
    old = {f.key: f.complexity for f in base or ()}
    findings = []
    for f in head:
        if touched(f, changed):
            finding = _judge(path, f, old.get(f.key), settings)
            if finding is not None:
                findings.append(finding)
    return findings


def _judge(path: str, f: Function, was: int | None, settings: DesignSettings) -> Finding | None:
    """The finding for one touched function whose complexity was ``was`` at the base."""
    if f.complexity > settings.max_complexity and (was is None or f.complexity > was):
        how = (
            f"is new with cyclomatic complexity {f.complexity}"
            if was is None
            else f"rose from cyclomatic complexity {was} to {f.complexity}"
        )
        return Finding(
            rule_id="design.complexity",
            severity="high" if f.complexity > settings.fail_complexity else "medium",
            message=f"{f.name} {how} (limit {settings.max_complexity})",
            path=path,
            line=f.line,
            end_line=f.end_line,
            fix="split the function into smaller ones or simplify its branching",
        )
    if was is not None and f.complexity - was > settings.max_complexity_growth:
        return Finding(
            rule_id="design.complexity-growth",
            severity="low",
            message=(
                f"{f.name} grew from cyclomatic complexity {was} to {f.complexity} "
                f"(more than {settings.max_complexity_growth} in one change)"
            ),
            path=path,
            line=f.line,
            end_line=f.end_line,
            fix="move the new branches into helper functions",
        )
    return None


def maintainability_findings(
    path: str, base: float | None, head: float | None, settings: DesignSettings
) -> list[Finding]:
    """Findings for a Python module whose maintainability index the change lowered."""
    if head is None or (base is not None and head >= base):
        return []
    before = f"{base:.1f}" if base is not None else "none (new file)"
    if head < settings.min_maintainability and (
        base is None or base >= settings.min_maintainability
    ):
        return [
            Finding(
                rule_id="design.maintainability",
                severity="medium",
                message=(
                    f"maintainability index fell to {head:.1f} from {before} "
                    f"(minimum {settings.min_maintainability:g})"
                ),
                path=path,
                fix="split the module or its largest functions",
            )
        ]
    if base is not None and base - head > settings.max_maintainability_drop:
        return [
            Finding(
                rule_id="design.maintainability-drop",
                severity="low",
                message=(
                    f"maintainability index dropped by {base - head:.1f} points, "
                    f"from {base:.1f} to {head:.1f} (more than {settings.max_maintainability_drop:g})"
                ),
                path=path,
            )
        ]
    return []
