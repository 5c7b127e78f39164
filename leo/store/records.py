"""What the audit store gives back: a recorded verdict and a recorded LEAD decision.

Plain frozen records read from the chained rows, so callers (``leo history``, ``leo lead``,
replay) never hold a database session or a mapped row.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from leo.errors import LeoError

from . import chain

if TYPE_CHECKING:
    from .tables import ApprovalRow, VerificationRow

Decision = Literal["approve", "reject"]
#: A reason "of at least a sentence": this many words and characters.
MIN_REASON_WORDS = 4
MIN_REASON_CHARS = 20


@dataclass(frozen=True)
class VerdictRecord:
    """A recorded verdict: the change, the verdict, the report LEO gave, and the LEAD decision
    bound to its head (if any was read with it)."""

    seq: int
    recorded_at: datetime
    repository: str
    pr_number: int | None
    base_sha: str
    head_sha: str
    verdict: str
    confidence: int
    actor: str
    config_digest: str
    decision: DecisionRecord | None = None
    report_json: str = dataclasses.field(default="{}", repr=False)
    """The report as recorded (JSON); ``report`` parses it."""

    @cached_property
    def report(self) -> dict[str, Any]:
        """The recorded report; empty when it is not a JSON object (``verify_chain`` says why)."""
        try:
            doc = json.loads(self.report_json)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def as_json(self) -> dict[str, Any]:
        doc = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("decision", "report_json")
        }
        doc["recorded_at"] = chain.plain_value(self.recorded_at)
        doc["decision"] = self.decision.as_json() if self.decision else None
        return doc


@dataclass(frozen=True)
class DecisionRecord:
    """A recorded LEAD decision."""

    seq: int
    recorded_at: datetime
    repository: str
    pr_number: int
    head_sha: str
    verification_seq: int
    verdict: str
    decision: str
    override: bool
    actor: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["recorded_at"] = chain.plain_value(self.recorded_at)
        return doc


def verdict_record(row: VerificationRow, decision: DecisionRecord | None = None) -> VerdictRecord:
    """The record of a ``leo_verifications`` row, with the decision bound to its head."""
    return VerdictRecord(
        seq=row.seq,
        recorded_at=row.recorded_at,
        repository=row.repository,
        pr_number=row.pr_number,
        base_sha=row.base_sha,
        head_sha=row.head_sha,
        verdict=row.verdict,
        confidence=row.confidence,
        actor=row.actor,
        config_digest=row.config_digest,
        decision=decision,
        report_json=row.report_json,
    )


def decision_record(row: ApprovalRow) -> DecisionRecord:
    """The record of a ``leo_approvals`` row."""
    return DecisionRecord(
        seq=row.seq,
        recorded_at=row.recorded_at,
        repository=row.repository,
        pr_number=row.pr_number,
        head_sha=row.head_sha,
        verification_seq=row.verification_seq,
        verdict=row.verdict,
        decision=row.decision,
        override=row.override,
        actor=row.actor,
        reason=row.reason,
    )


def check_reason(reason: str | None) -> str:
    """The reason of a LEAD decision, stripped; refuse one shorter than a sentence."""
    text = " ".join((reason or "").split())
    words = [w for w in text.split(" ") if any(ch.isalpha() for ch in w)]
    if len(words) < MIN_REASON_WORDS or len(text) < MIN_REASON_CHARS:
        msg = (
            "a LEAD decision needs a reason of at least one sentence "
            f"(at least {MIN_REASON_WORDS} words and {MIN_REASON_CHARS} characters) for the "
            'audit trail; pass --reason "why you decide so"'
        )
        raise LeoError(msg)
    if len(text) > 10_000:
        msg = "the reason is longer than 10,000 characters; shorten it"
        raise LeoError(msg)
    return text


__all__ = [
    "Decision",
    "DecisionRecord",
    "VerdictRecord",
    "check_reason",
    "decision_record",
    "verdict_record",
]
