"""Replay: re-run recorded changes under a candidate policy and say which verdicts would change.

The audit store holds every change LEO verified (repository, base, head) with the report it
gave. ``replay`` has each of those changes verified again under a candidate policy and compares
the two reports rule by rule, so a team sees what a policy edit would have done to its last N
pull requests before it merges the edit. Replay only reads the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .database import run_in_transaction
from .records import VerdictRecord, verdict_record
from .tables import VerificationRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from leo.models import Report

    from .repository import AuditStore

#: Verifies a recorded change again under the candidate policy: the new report, or why the
#: change could not be verified again (repository gone, commit missing, sub-agent not installed).
#: The command line provides it, since the supervisor sits floors above the store.
Reverify = Callable[[VerdictRecord], Awaitable["Report | str"]]

#: Severities whose findings on the change count against a verdict (low and info never gate).
GATING_SEVERITIES = frozenset({"critical", "high", "medium"})
#: Statuses that are missing evidence; they gate as the pseudo-rule ``<agent>.<status>``.
NO_EVIDENCE = frozenset({"error", "timeout"})


def gating_rules(report: dict[str, Any]) -> frozenset[str]:
    """The rules that counted against a report's verdict: the rule ids of medium-or-worse
    findings on changed lines, and ``<agent>.error`` / ``<agent>.timeout`` for missing evidence."""
    rules: set[str] = set()
    for agent in report.get("agents", []):
        if agent.get("status") in NO_EVIDENCE:
            rules.add(f"{agent.get('name')}.{agent['status']}")
        for finding in agent.get("findings", []):
            if (
                finding.get("on_changed_line", True)
                and finding.get("severity") in GATING_SEVERITIES
            ):
                rules.add(str(finding.get("rule_id")))
    return frozenset(rules)


@dataclass(frozen=True)
class Replayed:
    """What the candidate policy did to one recorded change."""

    change: VerdictRecord
    verdict: str | None
    """The verdict under the candidate policy; None when the change could not be replayed."""
    confidence: int | None = None
    added: tuple[str, ...] = ()
    """Rules that count against the change under the candidate policy but did not before."""
    removed: tuple[str, ...] = ()
    """Rules that counted before and no longer do."""
    not_replayed: str = ""
    """Why the change could not be verified again (repository gone, commit missing, ...)."""

    @property
    def changed(self) -> bool:
        return self.verdict is not None and self.verdict != self.change.verdict

    def as_json(self) -> dict[str, Any]:
        c = self.change
        return {
            "seq": c.seq,
            "recorded_at": c.recorded_at.isoformat(),
            "repository": c.repository,
            "pr_number": c.pr_number,
            "base_sha": c.base_sha,
            "head_sha": c.head_sha,
            "recorded_verdict": c.verdict,
            "replayed_verdict": self.verdict,
            "replayed_confidence": self.confidence,
            "changed": self.changed,
            "rules_added": list(self.added),
            "rules_removed": list(self.removed),
            "not_replayed": self.not_replayed or None,
        }


@dataclass
class ReplaySummary:
    """Every replayed change, the verdict transitions and the per-rule differences."""

    policy: str
    outcomes: list[Replayed] = field(default_factory=list)
    resolve_as_of: str = "recorded"
    """When the replayed changes' dependencies were resolved as of: ``"recorded"`` (when each
    change was verified), ``"now"``, or an ISO datetime."""

    @property
    def transitions(self) -> Counter[str]:
        """``"PASS -> FAIL"`` and back: how many changes moved between which verdicts."""
        return Counter(f"{o.change.verdict} -> {o.verdict}" for o in self.outcomes if o.changed)

    def rules(self) -> list[dict[str, Any]]:
        """Per rule: in how many changes it newly counts, stops counting, and the verdict
        transitions of those changes."""
        table: dict[str, dict[str, Any]] = {}
        for o in self.outcomes:
            for rule, key in [(r, "added") for r in o.added] + [(r, "removed") for r in o.removed]:
                row = table.setdefault(
                    rule, {"rule": rule, "added": 0, "removed": 0, "transitions": Counter()}
                )
                row[key] += 1
                if o.changed:
                    row["transitions"][f"{o.change.verdict} -> {o.verdict}"] += 1
        return [
            {**row, "transitions": dict(sorted(row["transitions"].items()))}
            for row in sorted(
                table.values(), key=lambda r: (-(r["added"] + r["removed"]), r["rule"])
            )
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "resolve_as_of": self.resolve_as_of,
            "replayed": sum(1 for o in self.outcomes if o.verdict is not None),
            "not_replayed": sum(1 for o in self.outcomes if o.verdict is None),
            "changed": sum(1 for o in self.outcomes if o.changed),
            "transitions": dict(sorted(self.transitions.items())),
            "rules": self.rules(),
            "changes": [o.as_json() for o in self.outcomes],
        }


def recorded_changes(
    store: AuditStore, *, since: datetime | None = None, limit: int = 20
) -> list[VerdictRecord]:
    """The newest ``limit`` distinct changes (repository, base, head) recorded since ``since``,
    newest first, each with its newest verdict and report."""

    def work(session: Session) -> list[VerdictRecord]:
        stmt = select(VerificationRow).order_by(VerificationRow.seq.desc())
        if since is not None:
            stmt = stmt.where(VerificationRow.recorded_at >= since)
        seen: set[tuple[str, str, str]] = set()
        out: list[VerdictRecord] = []
        for row in session.execute(stmt).scalars():
            key = (row.repository, row.base_sha, row.head_sha)
            if key in seen:
                continue
            seen.add(key)
            out.append(verdict_record(row))
            if len(out) >= limit:
                break
        return out

    return run_in_transaction(store.engine, work, what="read the recorded verdicts")


def compare(change: VerdictRecord, report: Report) -> Replayed:
    """The recorded report against the replayed one, rule by rule."""
    before = gating_rules(change.report)
    after = gating_rules(report.model_dump(mode="json"))
    return Replayed(
        change,
        report.verdict,
        confidence=report.confidence,
        added=tuple(sorted(after - before)),
        removed=tuple(sorted(before - after)),
    )


async def replay(
    store: AuditStore,
    reverify: Reverify,
    *,
    policy: str,
    since: datetime | None = None,
    limit: int = 20,
) -> ReplaySummary:
    """Replay the newest ``limit`` recorded changes, one after another, through ``reverify``
    (which verifies a change again under the candidate ``policy``, or says why it cannot)."""
    summary = ReplaySummary(policy=policy)
    for change in recorded_changes(store, since=since, limit=limit):
        outcome = await reverify(change)
        if isinstance(outcome, str):
            summary.outcomes.append(Replayed(change, None, not_replayed=outcome))
        else:
            summary.outcomes.append(compare(change, outcome))
    return summary


__all__ = [
    "ReplaySummary",
    "Replayed",
    "Reverify",
    "compare",
    "gating_rules",
    "recorded_changes",
    "replay",
]
