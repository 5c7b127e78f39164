"""LEO's lane audit on a change that edits workflows: the builder lane must not gain credentials.

The lane policy comes from the base commit (a pull request must not remap its own workflows out
of the builder lane); the workflows it names are read at the head. The same audit as
``leo lanes audit``.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

from leo import Finding, LanePolicy, LeoError, __version__, audit_workflows
from leo_security.outcome import ScanOutcome, Severity

if TYPE_CHECKING:
    from leo import Change

WORKFLOWS = ".github/workflows/"
SEVERITY: dict[str, Severity] = {
    "lanes.unknown_workflow": "medium",
    "lanes.unreadable_workflow": "medium",
}


async def _base_policy(change: Change) -> tuple[dict[str, Any] | None, str]:
    for filename in ("leo.toml", "pyproject.toml"):
        raw = await change.read(filename, "base")
        if raw is None:
            continue
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue  # LEO's own configuration loading reports a broken policy file
        leo = doc.get("tool", {}).get("leo", doc if filename == "leo.toml" else None)
        table = leo.get("lanes") if isinstance(leo, dict) else None
        if isinstance(table, dict):
            return table, f"{filename} at base"
    return None, ""


async def scan(change: Change) -> ScanOutcome:
    """Lane findings for the workflows the base policy maps, when the change edits workflows."""
    outcome = ScanOutcome("lanes", version=__version__)
    touched = {f.path for f in change.files if f.path.startswith(WORKFLOWS)}
    if not touched:
        return outcome
    table, source = await _base_policy(change)
    if table is None:
        return outcome
    try:
        policy = LanePolicy.from_table(table, source)
    except LeoError as exc:
        outcome.error = str(exc)
        return outcome
    paths = policy.workflow_files()
    contents = await change.read_many(paths, "head")
    workflows = {p: data for p, data in contents.items() if data is not None}
    outcome.analysed |= touched & set(paths)
    for finding in audit_workflows(policy, workflows):
        outcome.findings.append(
            Finding(
                rule_id=f"security.{finding.rule}",
                severity=SEVERITY.get(finding.rule, "high"),
                message=f"job {finding.job}: {finding.what} — {finding.why}",
                path=finding.file,
                on_changed_line=finding.file in touched,
            )
        )
    return outcome
