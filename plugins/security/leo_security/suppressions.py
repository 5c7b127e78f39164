"""Inline suppressions: which ones LEO honours, and how many the change adds (issue 17.3).

Evidence comes from the base: a suppression already on the base branch keeps working, but one
the change itself adds (or that would silence a line the change wrote) is not honoured. The
finding keeps its severity and says it was "suppressed by the change itself". The one justified
form, ``# leo: allow[<rule-id>] <reason>``, turns the finding into a question for a LEAD.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leo import Finding

if TYPE_CHECKING:
    from collections.abc import Sequence

    from leo import Change

#: Marker -> the comment that silences a tool on its line (counted for the report). Case and
#: spacing vary on purpose: ``#NOSEC``, ``# nosec:B602``, ``// NOSEMGREP`` all count.
MARKERS: dict[str, re.Pattern[str]] = {
    "nosec": re.compile(r"#.*\bnosec\b", re.IGNORECASE),
    "nosemgrep": re.compile(r"(#|//|--|/\*).*\bnosem(grep)?\b", re.IGNORECASE),
    "allowlist-secret": re.compile(r"pragma:\s*allowlist\s+(nextline\s+)?secret", re.IGNORECASE),
    "zizmor-ignore": re.compile(r"#.*\bzizmor:\s*ignore\b", re.IGNORECASE),
    # Bare ``noqa`` silences every rule, ``S`` codes are ruff's flake8-bandit security rules.
    "noqa-security": re.compile(
        r"#.*\bnoqa\b(?!\s*:)|#.*\bnoqa\s*:\s*[\w, ]*\bS\d+", re.IGNORECASE
    ),
    "leo-allow": re.compile(r"#.*\bleo:\s*allow\s*\[", re.IGNORECASE),
}
#: bandit's ``# nosec`` with an optional list of test ids or names (``# nosec B602, B607``).
NOSEC = re.compile(r"#\s*nosec\b:?\s*(?P<tests>[\w, \-]*)", re.IGNORECASE)
#: LEO's justified form: ``# leo: allow[security.bandit.B602] cmd is a constant``.
ALLOW = re.compile(
    r"#\s*leo:\s*allow\s*\[\s*(?P<rule>[\w.\-]+)\s*\]\s*(?P<reason>[^#]*)", re.IGNORECASE
)
BY_THE_CHANGE = "suppressed by the change itself"


def by_the_change(change: Change, path: str, *lines: int) -> bool:
    """True when any of ``lines`` of ``path`` (the marker's, the finding's) is one the change
    added or modified: a suppression there is the change's own, not the base's."""
    changed = change.file(path)
    return changed is not None and any(changed.is_changed_line(n) for n in lines if n >= 1)


def nosec_line(lines: Sequence[str], start: int, end: int, test_id: str, name: str) -> int | None:
    """The line whose ``# nosec`` silences bandit's ``test_id`` within ``start..end``, if any."""
    for n in range(start, max(start, end) + 1):
        if not 1 <= n <= len(lines):
            continue
        m = NOSEC.search(lines[n - 1])
        if m is None:
            continue
        tests = {t.strip().upper() for t in re.split(r"[,\s]+", m.group("tests")) if t.strip()}
        listed = {t for t in tests if re.fullmatch(r"B\d{3}", t) or t == name.upper()}
        if not listed or test_id.upper() in listed or name.upper() in listed:
            return n
    return None


def unhonoured(finding: Finding, marker: str, line: int) -> Finding:
    """``finding`` kept at its severity, saying which suppression the change added."""
    note = (
        f" [{BY_THE_CHANGE}: {marker} on line {line}; LEO honours only suppressions "
        "already on the base branch]"
    )
    return finding.model_copy(update={"message": (finding.message + note)[:10_000]})


def _rule_matches(wanted: str, rule_id: str) -> bool:
    wanted = wanted.lower()
    rule = rule_id.lower()
    return rule == wanted or rule.endswith("." + wanted)


def justify(change: Change, findings: list[Finding], contents: dict[str, bytes]) -> list[Finding]:
    """Attach the reason of a ``# leo: allow[<rule-id>] <reason>`` on a finding's line (or the
    line above) to the finding, so that a LEAD decides it instead of it failing the change.

    Only an allowance the change adds is a question for a LEAD; one on the base is the team's
    own decision and silences the finding as any base suppression does.
    """
    out = []
    for f in findings:
        text = contents.get(f.path or "")
        if text is None or f.line is None:
            out.append(f)
            continue
        lines = text.decode("utf-8", "replace").splitlines()
        for n in (f.line, f.line - 1):
            m = ALLOW.search(lines[n - 1]) if 1 <= n <= len(lines) else None
            if m is None or not _rule_matches(m.group("rule"), f.rule_id):
                continue
            reason = m.group("reason").strip()
            if not by_the_change(change, f.path or "", n, f.line):
                break  # the base's own allowance: honoured, like any base suppression
            if not reason:
                out.append(unhonoured(f, "leo: allow without a reason", n))
            else:
                out.append(f.model_copy(update={"lead_reason": reason[:2_000]}))
            break
        else:
            out.append(f)
    return out


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
                            message=f"the change adds an inline suppression ({name}); LEO does "
                            "not honour it, and a reviewer should see what it tries to silence",
                            path=path,
                            line=number,
                        )
                    )
    return counts, findings
