"""Inline suppressions in the changed files, counted so a reviewer sees how much was silenced."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leo import Finding

if TYPE_CHECKING:
    from leo import Change

#: Marker -> the comment that silences a tool on its line.
MARKERS: dict[str, re.Pattern[str]] = {
    "nosec": re.compile(r"#.*\bnosec\b"),
    "nosemgrep": re.compile(r"(#|//).*\bnosem(grep)?\b", re.IGNORECASE),
    "allowlist-secret": re.compile(r"pragma:\s*allowlist\s+(nextline\s+)?secret"),
    "zizmor-ignore": re.compile(r"#.*\bzizmor:\s*ignore\b"),
}


def count(
    change: Change, contents: dict[str, bytes]
) -> tuple[dict[str, dict[str, int]], list[Finding]]:
    """Per marker: how many the change adds and how many the changed files hold in all; plus an
    ``info`` finding for each marker the change adds (visible, never blocking)."""
    counts = {name: {"added": 0, "in_changed_files": 0} for name in MARKERS}
    findings = []
    for path, data in contents.items():
        changed = change.file(path)
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            for name, pattern in MARKERS.items():
                if not pattern.search(line):
                    continue
                counts[name]["in_changed_files"] += 1
                if changed is not None and changed.is_changed_line(number):
                    counts[name]["added"] += 1
                    findings.append(
                        Finding(
                            rule_id=f"security.suppression.{name}",
                            severity="info",
                            message=f"the change adds an inline suppression ({name}); a reviewer "
                            "should confirm the silenced finding is a false positive",
                            path=path,
                            line=number,
                        )
                    )
    return counts, findings
