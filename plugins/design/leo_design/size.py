"""Size findings: files and functions the change made cross their line limits.

Only crossing counts: a file that was already over the limit at the base is the repository's
history, not this change's doing, and never blocks it.
"""

from __future__ import annotations

from collections.abc import Sequence

from leo import ChangedFile, Finding
from leo_design.complexity import touched
from leo_design.functions import Function
from leo_design.settings import DesignSettings


def line_count(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


def file_size_findings(
    path: str, base: str | None, head: str, settings: DesignSettings
) -> list[Finding]:
    limit = settings.max_file_lines
    now = line_count(head)
    was = line_count(base) if base is not None else None
    if now <= limit or (was is not None and was > limit):
        return []
    since = "is new" if was is None else f"grew from {was} lines"
    return [
        Finding(
            rule_id="design.size.file",
            severity="low",
            message=f"{path} {since} to {now} lines, over the limit of {limit}",
            path=path,
            fix="split the file into modules that each hold one concept",
        )
    ]


def function_size_findings(
    path: str,
    base: Sequence[Function] | None,
    head: Sequence[Function],
    changed: ChangedFile | None,
    settings: DesignSettings,
) -> list[Finding]:
    limit = settings.max_function_lines
    old = {f.key: f for f in base or ()}
    findings = []
    for f in head:
        before = old.get(f.key)
        if f.lines <= limit or not touched(f, changed):
            continue
        if before is not None and before.lines > limit:
            continue
        since = "is new with" if before is None else f"grew from {before.lines} to"
        findings.append(
            Finding(
                rule_id="design.size.function",
                severity="low",
                message=f"{f.name} {since} {f.lines} lines, over the limit of {limit}",
                path=path,
                line=f.line,
                end_line=f.end_line,
                fix="extract parts of the function into helpers",
            )
        )
    return findings
