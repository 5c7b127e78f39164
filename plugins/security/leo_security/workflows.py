"""zizmor (offline) on the changed GitHub Actions workflows and action definitions.

zizmor's exit code encodes the worst severity it found (14 for High), so LEO runs it with
``--no-exit-codes``: then any non-zero exit really is a failure of the tool.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from leo import Finding, ToolNotFoundError, run_tool
from leo_security import suppressions
from leo_security.outcome import ScanOutcome, Severity, normalise_path, on_change

if TYPE_CHECKING:
    from pathlib import Path

    from leo import Change

#: zizmor severity -> LEO severity; a Low-confidence finding is lowered one step.
SEVERITY: dict[str, Severity] = {
    "high": "high",
    "medium": "medium",
    "low": "low",
    "informational": "info",
    "unknown": "info",
}
LOWER: dict[Severity, Severity] = {
    "critical": "high", "high": "medium", "medium": "low", "low": "info", "info": "info"
}  # fmt: skip
_COMPLETED = re.compile(r"completed (\S+)")
#: zizmor's inline ``# zizmor: ignore[rule, rule]``; LEO runs zizmor with ``--no-ignores`` and
#: honours only the base's (issue 17.3: a change must not silence the audit of its own edit).
_IGNORE = re.compile(r"#.*\bzizmor:\s*ignore\[(?P<rules>[^\]]*)\]", re.IGNORECASE)
#: zizmor rules LEO caps at ``medium``: a LEAD accepts them (CONDITIONAL_PASS); not a defect.
#: ``unpinned-uses`` fires on every ``uses: owner/action@v4`` (zizmor's blanket policy wants a
#: commit hash, even for ``actions/checkout``): the ref GitHub's own documentation shows. On a
#: library's own CI (pluggy 1.5.0 adding ``codecov/codecov-action@v4``) it is hardening to weigh,
#: not a vulnerability; a workflow edit that hands a lane a write token is the lane audit's
#: (``security.lanes.*``), which keeps its severity.
CAPPED: dict[str, Severity] = {"unpinned-uses": "medium"}
_RANK: dict[Severity, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


def ignored(text: str, start: int, end: int, ident: str) -> int | None:
    """The line within ``start..end`` whose ``# zizmor: ignore[…]`` names ``ident``, if any."""
    lines = text.splitlines()
    for n in range(start, max(start, end) + 1):
        m = _IGNORE.search(lines[n - 1]) if 1 <= n <= len(lines) else None
        if m and ident.lower() in {r.strip().lower() for r in m.group("rules").split(",")}:
            return n
    return None


def _primary(finding: dict[str, Any]) -> dict[str, Any] | None:
    locations = finding.get("locations") or []
    for loc in locations:
        if (loc.get("symbolic") or {}).get("kind") == "Primary":
            return loc  # type: ignore[no-any-return]
    return locations[0] if locations else None


async def scan(
    change: Change, root: Path, paths: list[str], *, whole: bool, timeout: float
) -> ScanOutcome:
    """Audit ``paths`` (written below ``root``) with zizmor in offline mode."""
    outcome = ScanOutcome("zizmor")
    if not paths:
        return outcome
    argv = ["zizmor", "--offline", "--format", "json", "--no-exit-codes", "--no-progress",
            "--color", "never", "--no-config", "--no-ignores",
            *[f"./{p}" for p in paths]]  # fmt: skip
    try:
        out = await run_tool(argv, cwd=root, timeout=timeout)
        version = await run_tool(["zizmor", "--version"], timeout=60)
    except ToolNotFoundError as exc:
        outcome.error = str(exc)
        return outcome
    words = version.stdout_text.split()
    outcome.version = words[1] if len(words) > 1 else "?"
    if out.timed_out:
        outcome.error = f"zizmor did not finish within {timeout:g}s"
        return outcome
    try:
        results = json.loads(out.stdout_text) if out.returncode == 0 else None
    except ValueError:
        results = None
    if not isinstance(results, list):
        detail = out.stderr_text.strip()[-2000:]
        outcome.error = f"zizmor failed (exit {out.returncode}): {detail}"
        return outcome
    # zizmor skips a workflow it cannot parse with only a log line; what it completed is
    # what it analysed, anything else is listed as not analysed.
    completed = {normalise_path(m) for m in _COMPLETED.findall(out.stderr_text)}
    for p in paths:
        if p in completed:
            outcome.analysed.add(p)
        else:
            outcome.failed[p] = "zizmor did not audit it (not a valid workflow or action?)"
    for item in results:
        loc = _primary(item)
        if loc is None:
            continue
        key = ((loc.get("symbolic") or {}).get("key") or {}).get("Local") or {}
        path = normalise_path(str(key.get("verbatim_path") or key.get("given_path") or ""))
        concrete = (loc.get("concrete") or {}).get("location") or {}
        start = int((concrete.get("start_point") or {}).get("row", 0)) + 1
        end = int((concrete.get("end_point") or {}).get("row", start - 1)) + 1
        det = item.get("determinations") or {}
        severity = SEVERITY.get(str(det.get("severity", "")).lower(), "medium")
        if str(det.get("confidence", "")).lower() == "low":
            severity = LOWER[severity]
        cap = CAPPED.get(str(item.get("ident", "")))
        if cap is not None and _RANK[severity] > _RANK[cap]:
            severity = cap
        ident = str(item.get("ident", "unknown"))
        marker = ignored(_text(root, path), start, end, ident)
        if marker is not None and not suppressions.by_the_change(
            change, path, marker, *range(start, end + 1)
        ):
            outcome.suppressed += 1  # the base's own ignore comment keeps working
            continue
        note = (loc.get("symbolic") or {}).get("annotation") or ""
        message = f"{item.get('desc', ident)}: {note}".rstrip(": ")
        finding = Finding(
            rule_id=f"security.zizmor.{ident}",
            severity=severity,
            message=f"{message} ({item.get('url', 'zizmor')})"[:2000],
            path=path,
            line=start,
            end_line=end if end > start else None,
            on_changed_line=on_change(change, path, start, end, whole),
        )
        if marker is not None:
            finding = suppressions.unhonoured(finding, "zizmor: ignore", marker)
            outcome.unhonoured += 1
        outcome.findings.append(finding)
    return outcome


def _text(root: Path, path: str) -> str:
    try:
        return root.joinpath(*path.split("/")).read_text("utf-8", "replace")
    except OSError:
        return ""
