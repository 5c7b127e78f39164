"""Editing or deleting an audit row by hand with SQL is caught by ``leo audit verify``."""

from __future__ import annotations

from sqlalchemy import select, text

from leo.store import chain
from leo.store.repository import AuditStore
from leo.store.tables import GateRow, VerificationRow


def _fill(url, report_factory):
    """Three verdicts of two sub-agents each: seq 1-3, 4-6, 7-9 (verdict, gate, gate, req)."""
    with AuditStore.open(url) as store:
        return [store.record_verification(report_factory(), pr=1) for _ in range(3)]


def _sql(url, statement, **params):
    with AuditStore.open(url) as store, store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _rewrite_and_rechain(url, statement, **params):
    """Run ``statement``, then re-hash the whole chain consistently, as a forger with write
    access to the database would (THREATS F-09): the unkeyed chain alone is intact again."""
    with AuditStore.open(url) as store, store.engine.begin() as conn:
        conn.execute(text(statement), params)
        links = []
        for model in (VerificationRow, GateRow):
            for m in conn.execute(select(model.__table__)).mappings():
                links.append((int(m["seq"]), model.__table__.name, dict(m)))
        prev = chain.GENESIS
        for seq, table, row in sorted(links, key=lambda x: x[0]):
            row["prev_hash"] = prev
            prev = chain.row_hash(table, row)
            conn.execute(
                text(f"UPDATE {table} SET prev_hash = :p, row_hash = :h WHERE seq = :s"),
                {"p": row["prev_hash"], "h": prev, "s": seq},
            )
        conn.execute(text("UPDATE leo_audit_chain SET head_hash = :h"), {"h": prev})


def test_intact_chain_passes_and_prints_the_head(store_url, report_factory, leo_cli):
    _fill(store_url, report_factory)
    done = leo_cli("audit", "verify", "--database-url", store_url)
    assert done.returncode == 0, done.stderr
    assert "audit chain intact: 12 rows; head 12:" in done.stdout


def test_hand_edited_verdict_is_named(store_url, report_factory, leo_cli):
    seqs = _fill(store_url, report_factory)
    _sql(
        store_url,
        "UPDATE leo_verification_results SET verdict = 'PASS', confidence = 100 WHERE seq = :s",
        s=seqs[1],
    )
    done = leo_cli("audit", "verify", "--database-url", store_url)
    assert done.returncode == 1
    assert f"leo_verification_results row seq {seqs[1]} was altered" in done.stderr


def _problem(url):
    with AuditStore.open(url) as store:
        check = store.verify_chain()
    assert not check.intact
    return check.problem


def test_hand_edited_gate_row_is_named(store_url, report_factory):
    _fill(store_url, report_factory)
    _sql(store_url, "UPDATE leo_gate_executions SET status = 'failed' WHERE seq = 6")
    assert "leo_gate_executions row seq 6 was altered" in _problem(store_url)


def test_deleted_row_is_named(store_url, report_factory, leo_cli):
    _fill(store_url, report_factory)
    _sql(store_url, "DELETE FROM leo_gate_executions WHERE seq = 6")
    done = leo_cli("audit", "verify", "--database-url", store_url)
    assert done.returncode == 1
    assert (
        "row seq 6 is missing before leo_gate_executions row seq 7: a row was deleted"
        in done.stderr
    )


def test_deleted_newest_rows_are_caught(store_url, report_factory):
    _fill(store_url, report_factory)
    _sql(store_url, "DELETE FROM leo_gate_executions WHERE verification_seq = 9")
    _sql(store_url, "DELETE FROM leo_verification_results WHERE seq = 9")
    assert "rows after seq 8 up to seq 12 were deleted" in _problem(store_url)


def test_edit_with_a_recomputed_hash_is_named_by_the_next_row(store_url, report_factory):
    _fill(store_url, report_factory)
    with AuditStore.open(store_url) as store, store.engine.begin() as conn:
        table = VerificationRow.__table__
        row = dict(conn.execute(select(table).where(table.c.seq == 5)).mappings().one())
        row["verdict"] = "ESCALATE"
        forged = chain.row_hash("leo_verification_results", row)
        conn.execute(
            text(
                "UPDATE leo_verification_results SET verdict = 'ESCALATE', row_hash = :h WHERE seq = 5"
            ),
            {"h": forged},
        )
    assert "does not follow leo_verification_results row seq 5" in _problem(store_url)


def test_rewritten_history_is_caught_by_a_checkpoint_kept_elsewhere(
    store_url, report_factory, leo_cli
):
    _fill(store_url, report_factory)
    first = leo_cli("audit", "verify", "--database-url", store_url)
    checkpoint = first.stdout.split("head ")[1].strip()
    _rewrite_and_rechain(store_url, "UPDATE leo_verification_results SET actor = 'someone-else'")
    assert leo_cli("audit", "verify", "--database-url", store_url).returncode == 0
    done = leo_cli("audit", "verify", "--database-url", store_url, "--expect-head", checkpoint)
    assert done.returncode == 1
    assert "does not carry the expected checkpoint hash" in done.stderr


def test_verdict_rewritten_and_rechained_is_caught_by_its_own_report(store_url, report_factory):
    """Issue 17.9: flip a verdict, re-chain every later row with the unkeyed hash: the chain is
    intact, but the row's columns no longer say what its report_json says."""
    seqs = _fill(store_url, lambda: report_factory(verdict="FAIL"))
    _rewrite_and_rechain(
        store_url, "UPDATE leo_verification_results SET verdict = 'PASS' WHERE seq = :s", s=seqs[0]
    )
    problem = _problem(store_url)
    assert f"leo_verification_results row seq {seqs[0]}: its verdict column says 'PASS'" in problem


def _signed_checkpoint(tmp_path, store_url, leo_cli):
    key = tmp_path / "audit.key"
    assert leo_cli("key", "generate", "-o", str(key)).returncode == 0
    out = tmp_path / "elsewhere" / "checkpoint.json"
    done = leo_cli(
        "audit", "checkpoint", "--sign", f"key:{key}", "-o", str(out), "--database-url", store_url
    )
    assert done.returncode == 0, done.stderr
    return out, tmp_path / "audit.key.pub"


def test_a_signed_checkpoint_catches_a_consistent_rewrite_behind_it(
    tmp_path, store_url, report_factory, leo_cli
):
    _fill(store_url, report_factory)
    checkpoint, pub = _signed_checkpoint(tmp_path, store_url, leo_cli)
    args = ("audit", "verify", "--database-url", store_url, "--checkpoint", str(checkpoint))
    assert leo_cli(*args, "--key", str(pub)).returncode == 0
    _rewrite_and_rechain(store_url, "UPDATE leo_verification_results SET actor = 'someone-else'")
    assert leo_cli("audit", "verify", "--database-url", store_url).returncode == 0
    done = leo_cli(*args, "--key", str(pub))
    assert done.returncode == 1
    assert "no longer carries the hash the checkpoint" in done.stderr


def test_a_signed_checkpoint_catches_deleted_newest_rows_and_a_replaced_database(
    tmp_path, store_url, report_factory, leo_cli
):
    _fill(store_url, report_factory)
    checkpoint, pub = _signed_checkpoint(tmp_path, store_url, leo_cli)
    # Truncate past the checkpoint and make the remaining chain consistent again.
    _sql(store_url, "DELETE FROM leo_gate_executions WHERE seq > 8")
    _sql(store_url, "DELETE FROM leo_verification_results WHERE seq > 8")
    with AuditStore.open(store_url) as store, store.engine.begin() as conn:
        last = conn.execute(text("SELECT row_hash FROM leo_gate_executions WHERE seq = 8")).one()
        conn.execute(text("UPDATE leo_audit_chain SET seq = 8, head_hash = :h"), {"h": last[0]})
    assert leo_cli("audit", "verify", "--database-url", store_url).returncode == 0
    done = leo_cli(
        "audit", "verify", "--database-url", store_url,
        "--checkpoint", str(checkpoint), "--key", str(pub),
    )  # fmt: skip
    assert done.returncode == 1 and "is gone" in done.stderr


def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(
    tmp_path, store_url, report_factory, leo_cli
):
    _fill(store_url, report_factory)
    checkpoint, _pub = _signed_checkpoint(tmp_path, store_url, leo_cli)
    other = tmp_path / "other.key"
    assert leo_cli("key", "generate", "-o", str(other)).returncode == 0
    args = ("audit", "verify", "--database-url", store_url, "--checkpoint", str(checkpoint))
    done = leo_cli(*args, "--key", str(tmp_path / "other.key.pub"))
    assert done.returncode == 1 and "checkpoint REFUSED" in done.stderr
    alone = leo_cli("audit", "verify", "--database-url", store_url, "--checkpoint", str(checkpoint))
    assert alone.returncode == 2 and "--checkpoint and --key go together" in alone.stderr


def test_no_checkpoint_vouches_for_a_broken_chain(tmp_path, store_url, report_factory, leo_cli):
    _fill(store_url, report_factory)
    _sql(store_url, "UPDATE leo_gate_executions SET status = 'failed' WHERE seq = 6")
    key = tmp_path / "audit.key"
    assert leo_cli("key", "generate", "-o", str(key)).returncode == 0
    out = tmp_path / "checkpoint.json"
    done = leo_cli(
        "audit", "checkpoint", "--sign", f"key:{key}", "-o", str(out), "--database-url", store_url
    )
    assert done.returncode == 1 and "BROKEN" in done.stderr and not out.exists()


def test_history_marks_rows_after_a_broken_link_untrusted(store_url, report_factory, leo_cli):
    seqs = _fill(store_url, report_factory)
    _sql(store_url, "UPDATE leo_gate_executions SET status = 'failed' WHERE seq = 6")
    done = leo_cli("history", "--database-url", store_url)
    assert done.returncode == 0, done.stderr
    marked = {
        int(line.split("#")[1].split()[0])
        for line in done.stdout.splitlines()
        if line.startswith("UNTRUSTED")
    }
    assert marked == {s for s in seqs if s >= 6} and seqs[0] not in marked
    assert "rows from seq 6 on are marked UNTRUSTED" in done.stderr
    docs = __import__("json").loads(
        leo_cli("history", "--database-url", store_url, "--format", "json").stdout
    )
    assert {d["seq"]: d["untrusted"] for d in docs} == {s: s >= 6 for s in seqs}
