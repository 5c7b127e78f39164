"""The audit store records verdicts durably and names any row altered or deleted by hand."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from leo.store import chain
from leo.store.database import StoreError
from leo.store.migrate import HEAD_REVISION, VERSION_TABLE, head_revision
from leo.store.repository import AuditStore
from leo.store.tables import ApprovalRow, GateRow, HandoffRow, VerificationRow


def test_verdict_and_one_gate_row_per_subagent_are_recorded(store_url, report_factory):
    with AuditStore.open(store_url) as store:
        seq = store.record_verification(report_factory(agents=3), pr=7, actor="ci-bot")
        gates = store.gate_executions(seq)
        [record] = store.history(pr=7)
        assert store.count(VerificationRow) == 1
    assert [g.name for g in gates] == ["agent0", "agent1", "agent2", "policy unchanged"]
    assert [g.kind for g in gates] == ["subagent"] * 3 + ["requirement"]
    assert gates[0].duration_s == 0.125 and gates[0].required
    assert json.loads(gates[0].tools) == [{"name": "bandit", "version": "1.9.4"}]
    assert gates[3].status == "undecided"
    assert (record.seq, record.pr_number, record.head_sha, record.actor) == (
        seq,
        7,
        "b" * 40,
        "ci-bot",
    )


def test_a_verdict_record_carries_its_report_but_history_json_leaves_it_out(
    store_url, report_factory
):
    # One record of a verdict serves `leo history` and replay alike (issue 21.7).
    report = report_factory()
    with AuditStore.open(store_url) as store:
        store.record_verification(report, pr=3)
        [record] = store.history(pr=3)
    assert record.report == json.loads(report.model_dump_json())
    doc = record.as_json()
    assert "report_json" not in doc and "report" not in doc
    assert list(doc)[-1] == "decision" and doc["decision"] is None


def test_report_is_stored_byte_for_byte(store_url, report_factory):
    report = report_factory()
    with AuditStore.open(store_url) as store:
        seq = store.record_verification(report)
        with store.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT report_json FROM leo_verification_results WHERE seq = :s"), {"s": seq}
            ).scalar_one()
    assert stored == report.model_dump_json()


def test_migrations_run_on_first_use_and_only_once(store_url):
    AuditStore.open(store_url).close()
    with AuditStore.open(store_url) as store, store.engine.connect() as conn:
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    assert versions == [head_revision()]


def test_database_from_a_newer_leo_is_refused(store_url):
    with AuditStore.open(store_url) as store, store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    with pytest.raises(StoreError, match="newer than this LEO knows"):
        AuditStore.open(store_url)


def test_every_table_joins_one_chain(store_url, report_factory):
    with AuditStore.open(store_url) as store:
        store.record_handoff(
            repository="/work/repo", marker="LEO-HANDOFF", lane="builder", commit_sha="b" * 40, pr=7
        )
        store.record_verification(report_factory(verdict="CONDITIONAL_PASS"), pr=7)
        store.record_decision(
            repository="/work/repo",
            pr=7,
            head_sha="b" * 40,
            decision="approve",
            reason="The condition is a docs follow-up we track in the issue.",
        )
        check = store.verify_chain()
        counts = [store.count(t) for t in (HandoffRow, VerificationRow, GateRow, ApprovalRow)]
    assert check.intact, check.problem
    assert counts == [1, 1, 3, 1]
    assert check.rows == check.head_seq == 6


def test_an_empty_chain_is_intact(store_url):
    with AuditStore.open(store_url) as store:
        check = store.verify_chain()
    assert check.intact and check.rows == 0 and check.head_hash == chain.GENESIS


def test_head_revision_constant_matches_the_shipped_migrations():
    assert head_revision() == HEAD_REVISION
