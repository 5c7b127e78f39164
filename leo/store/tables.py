"""The audit tables of the SOP, as SQLAlchemy 2 models.

Every audited row carries ``seq``, its position in ONE chain shared by the four tables (so the
order of handoffs, verdicts and decisions is total), ``prev_hash`` and ``row_hash``. Rows are
only ever inserted. JSON documents are stored as text so the hash covers their exact bytes on
both back-ends (PostgreSQL's jsonb would reorder keys). The migrations in
``leo/store/migrations`` are frozen copies of this schema; change both together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Chained:
    """The columns that put a row in the audit chain."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """Position in the audit chain, unique across the four audited tables."""
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the row was written (UTC)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    """``row_hash`` of the row before it in the chain (64 zeros for the first)."""
    row_hash: Mapped[str] = mapped_column(String(64))
    """sha256 over this row's content and ``prev_hash``."""


class HandoffRow(Chained, Base):
    """A handoff between lanes (builder -> enforcer -> supervisor -> lead)."""

    __tablename__ = "leo_handoff_tracking"

    repository: Mapped[str] = mapped_column(Text)
    pr_number: Mapped[int | None] = mapped_column(Integer)
    marker: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(32))
    bundle_hash: Mapped[str | None] = mapped_column(String(100))
    commit_sha: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))


class VerificationRow(Chained, Base):
    """One ``leo verify`` verdict, bound to (repository, PR, base, head, policy digest)."""

    __tablename__ = "leo_verification_results"
    __table_args__ = (Index("ix_leo_verification_results_pr", "repository", "pr_number", "seq"),)

    repository: Mapped[str] = mapped_column(Text)
    pr_number: Mapped[int | None] = mapped_column(Integer)
    base_sha: Mapped[str] = mapped_column(String(64))
    head_sha: Mapped[str] = mapped_column(String(64), index=True)
    config_digest: Mapped[str] = mapped_column(String(100))
    plugins: Mapped[str] = mapped_column(Text)
    """JSON list of ``{"name", "plugin", "version"}`` of the sub-agents that ran."""
    verdict: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[int] = mapped_column(Integer)
    leo_version: Mapped[str] = mapped_column(String(50))
    lane: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    report_digest: Mapped[str] = mapped_column(String(71))
    report_json: Mapped[str] = mapped_column(Text)
    """The full JSON report, byte for byte as hashed."""


class GateRow(Chained, Base):
    """One sub-agent (or required gate) run within a verification."""

    __tablename__ = "leo_gate_executions"

    verification_seq: Mapped[int] = mapped_column(
        Integer, ForeignKey("leo_verification_results.seq"), index=True
    )
    # Lets one flush order the verdict's INSERT before its gate rows'.
    verification: Mapped[VerificationRow] = relationship(lazy="raise")
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    plugin: Mapped[str] = mapped_column(String(200))
    plugin_version: Mapped[str] = mapped_column(String(100))
    required: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    tools: Mapped[str] = mapped_column(Text)
    """JSON list of ``{"name", "version"}`` of the external tools it ran."""


class ApprovalRow(Chained, Base):
    """A LEAD decision on a verdict: approve or reject, with the reason."""

    __tablename__ = "pr_approval_audit"
    __table_args__ = (Index("ix_pr_approval_audit_pr", "repository", "pr_number", "head_sha"),)

    repository: Mapped[str] = mapped_column(Text)
    pr_number: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    verification_seq: Mapped[int] = mapped_column(
        Integer, ForeignKey("leo_verification_results.seq")
    )
    verification: Mapped[VerificationRow] = relationship(lazy="raise")
    verdict: Mapped[str] = mapped_column(String(20))
    """The verdict the decision answers."""
    decision: Mapped[str] = mapped_column(String(10))
    """``approve`` or ``reject``."""
    override: Mapped[bool] = mapped_column(Boolean)
    """True when a LEAD approved over a FAIL (flagged)."""
    lane: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class ChainHead(Base):
    """The newest link of the chain (one row): its seq and hash, so a deleted tail shows."""

    __tablename__ = "leo_audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


#: The audited tables, in the order ``leo audit verify`` reads them.
AUDITED: tuple[type[Chained], ...] = (HandoffRow, VerificationRow, GateRow, ApprovalRow)
