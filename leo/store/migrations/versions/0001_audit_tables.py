"""The four audit tables of the SOP and the chain head.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _chained() -> list[sa.Column[object]]:
    return [
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "leo_handoff_tracking",
        *_chained(),
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=True),
        sa.Column("marker", sa.String(200), nullable=False),
        sa.Column("lane", sa.String(32), nullable=False),
        sa.Column("bundle_hash", sa.String(100), nullable=True),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "leo_verification_results",
        *_chained(),
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=True),
        sa.Column("base_sha", sa.String(64), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("config_digest", sa.String(100), nullable=False),
        sa.Column("plugins", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Integer, nullable=False),
        sa.Column("leo_version", sa.String(50), nullable=False),
        sa.Column("lane", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("report_digest", sa.String(71), nullable=False),
        sa.Column("report_json", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_leo_verification_results_pr",
        "leo_verification_results",
        ["repository", "pr_number", "seq"],
    )
    op.create_index(
        "ix_leo_verification_results_head_sha", "leo_verification_results", ["head_sha"]
    )
    op.create_table(
        "leo_gate_executions",
        *_chained(),
        sa.Column(
            "verification_seq",
            sa.Integer,
            sa.ForeignKey("leo_verification_results.seq"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("plugin", sa.String(200), nullable=False),
        sa.Column("plugin_version", sa.String(100), nullable=False),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("tools", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_leo_gate_executions_verification_seq", "leo_gate_executions", ["verification_seq"]
    )
    op.create_table(
        "pr_approval_audit",
        *_chained(),
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column(
            "verification_seq",
            sa.Integer,
            sa.ForeignKey("leo_verification_results.seq"),
            nullable=False,
        ),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("override", sa.Boolean, nullable=False),
        sa.Column("lane", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_pr_approval_audit_pr", "pr_approval_audit", ["repository", "pr_number", "head_sha"]
    )
    head = op.create_table(
        "leo_audit_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "head_hash": "0" * 64}])


def downgrade() -> None:
    for table in (
        "leo_audit_chain",
        "pr_approval_audit",
        "leo_gate_executions",
        "leo_verification_results",
        "leo_handoff_tracking",
    ):
        op.drop_table(table)
