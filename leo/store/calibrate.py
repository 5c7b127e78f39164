"""Calibration: how often LEADs overrode each rule's FAIL or ESCALATE, so noisy rules show.

Every LEAD decision in the audit store answers one recorded verdict, whose report names the
rules that counted against the change. A rule whose FAILs and ESCALATEs LEADs approve anyway is
noise to the team; one they reject is doing its job. Read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .database import run_in_transaction
from .replay import gating_rules
from .tables import ApprovalRow, VerificationRow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from .repository import AuditStore

#: The verdicts a LEAD can overrule; a decision on a PASS or CONDITIONAL_PASS overrides nothing.
BLOCKING = ("FAIL", "ESCALATE")


@dataclass
class RuleCalibration:
    """One rule's record: LEAD decisions on blocked verdicts it took part in."""

    rule: str
    fail_decisions: int = 0
    fail_overridden: int = 0
    escalate_decisions: int = 0
    escalate_approved: int = 0

    @property
    def decisions(self) -> int:
        return self.fail_decisions + self.escalate_decisions

    @property
    def override_rate(self) -> float:
        """Share of its blocked verdicts that a LEAD approved anyway (0 when never decided)."""
        return (
            (self.fail_overridden + self.escalate_approved) / self.decisions
            if self.decisions
            else 0.0
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "decisions": self.decisions,
            "fail_decisions": self.fail_decisions,
            "fail_overridden": self.fail_overridden,
            "escalate_decisions": self.escalate_decisions,
            "escalate_approved": self.escalate_approved,
            "override_rate": round(self.override_rate, 4),
        }


@dataclass(frozen=True)
class Calibration:
    """Per rule, newest decisions counted once per verdict; plus the totals."""

    rules: tuple[RuleCalibration, ...]
    decisions: int
    """LEAD decisions on FAIL or ESCALATE verdicts that were counted."""
    overridden: int
    """Of those, how many approved the change anyway."""

    def as_json(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "overridden": self.overridden,
            "rules": [r.as_json() for r in self.rules],
        }


def calibrate(store: AuditStore, *, since: datetime | None = None) -> Calibration:
    """Summarise the LEAD decisions recorded since ``since`` per rule, noisiest rule first.

    Only the newest decision on each verdict counts (a LEAD may reconsider); each rule of that
    verdict's report is credited with it."""

    def work(session: Session) -> list[tuple[str, str, str]]:
        stmt = (
            select(
                ApprovalRow.verification_seq,
                ApprovalRow.decision,
                ApprovalRow.verdict,
                VerificationRow.report_json,
            )
            .join(VerificationRow, VerificationRow.seq == ApprovalRow.verification_seq)
            .order_by(ApprovalRow.seq.desc())
        )
        if since is not None:
            stmt = stmt.where(ApprovalRow.recorded_at >= since)
        seen: set[int] = set()
        out = []
        for verification_seq, decision, verdict, report_json in session.execute(stmt):
            if verification_seq in seen:
                continue
            seen.add(verification_seq)
            out.append((decision, verdict, report_json))
        return out

    rows = run_in_transaction(store.engine, work, what="read the LEAD decisions")
    table: dict[str, RuleCalibration] = {}
    decisions = overridden = 0
    for decision, verdict, report_json in rows:
        if verdict not in BLOCKING:
            continue
        try:
            report = json.loads(report_json)
        except ValueError:
            report = {}
        approved = decision == "approve"
        decisions += 1
        overridden += approved
        rules = gating_rules(report if isinstance(report, dict) else {}) or {
            "(no rule: confidence or requirement)"
        }
        for rule in rules:
            entry = table.setdefault(rule, RuleCalibration(rule))
            if verdict == "FAIL":
                entry.fail_decisions += 1
                entry.fail_overridden += approved
            else:
                entry.escalate_decisions += 1
                entry.escalate_approved += approved
    ordered = sorted(table.values(), key=lambda r: (-r.override_rate, -r.decisions, r.rule))
    return Calibration(rules=tuple(ordered), decisions=decisions, overridden=overridden)


__all__ = ["Calibration", "RuleCalibration", "calibrate"]
