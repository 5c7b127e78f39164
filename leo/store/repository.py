"""The audit store: record verdicts, gate runs, handoffs and LEAD decisions; read them back
as the records of ``leo.store.records``.

Every write appends rows to the one hash chain inside a single transaction that first locks the
chain head, so concurrent writers from many processes serialise on the head and the chain stays
linear; a crash before the commit leaves nothing behind. Rows are never updated or deleted.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from leo.errors import LeoError

from . import chain, consistency
from .actor import default_actor
from .database import StoreError, connect, run_in_transaction
from .location import resolve_url
from .migrate import ensure_schema
from .records import (
    Decision,
    DecisionRecord,
    VerdictRecord,
    check_reason,
    decision_record,
    verdict_record,
)
from .tables import (
    AUDITED,
    ApprovalRow,
    Chained,
    ChainHead,
    GateRow,
    HandoffRow,
    VerificationRow,
)

if TYPE_CHECKING:
    from leo.models import Report

R = TypeVar("R", bound=Chained)


class Appender:
    """Appends rows to the chain within one transaction that holds the chain head's lock."""

    def __init__(self, session: Session) -> None:
        self.session = session
        stmt = select(ChainHead).where(ChainHead.id == 1).with_for_update()
        head = session.execute(stmt).scalar_one_or_none()
        if head is None:
            msg = "the audit database has no chain head (leo_audit_chain is empty); it was tampered with or not migrated"
            raise StoreError(msg)
        self.head = head
        self.now = datetime.now(UTC)

    def append(self, row: R) -> R:
        """Give ``row`` the next seq, link it to the head, hash it, and insert it."""
        row.seq = self.head.seq + 1
        row.recorded_at = self.now
        row.prev_hash = self.head.head_hash
        table = type(row).__tablename__  # type: ignore[attr-defined]
        row.row_hash = chain.row_hash(table, _content(row))
        # No flush per row: the seqs are ours, so the whole record goes out in one batch at
        # commit, keeping the chain head's lock held for as few round trips as possible.
        self.session.add(row)
        self.head.seq, self.head.head_hash = row.seq, row.row_hash
        return row


def _content(row: Chained) -> dict[str, Any]:
    table = row.__table__  # type: ignore[attr-defined]
    return {c.name: getattr(row, c.key) for c in table.columns if c.name != "row_hash"}


class AuditStore:
    """The audit database. ``AuditStore.open()`` connects and migrates on first use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, config_url: str | None = None) -> AuditStore:
        """Connect to ``url`` (or ``LEO_DATABASE_URL``, the config's, the default file) and
        bring the schema up to date."""
        engine = connect(resolve_url(url, config_url=config_url))
        store = cls(engine)
        try:
            ensure_schema(engine)
        except StoreError:
            engine.dispose()
            raise
        except Exception as exc:
            engine.dispose()
            from .database import display

            msg = f"could not open the audit database {display(str(engine.url))}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            raise StoreError(msg) from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def record_verification(
        self,
        report: Report,
        *,
        pr: int | None = None,
        actor: str | None = None,
        lane: str = "supervisor",
    ) -> int:
        """Record the verdict and one gate-execution row per sub-agent in one transaction;
        return the verdict's seq."""
        report_json = report.model_dump_json()
        digest = "sha256:" + hashlib.sha256(report_json.encode()).hexdigest()
        plugins = json.dumps(
            [
                {"name": a.name, "plugin": a.plugin, "version": a.plugin_version}
                for a in report.agents
            ],
            sort_keys=True,
        )
        required = {r.name for r in report.requirements}
        who = actor or default_actor()

        def work(session: Session) -> int:
            appender = Appender(session)
            verdict = appender.append(
                VerificationRow(
                    repository=report.repository,
                    pr_number=pr,
                    base_sha=report.base_sha,
                    head_sha=report.head_sha,
                    config_digest=report.config_digest,
                    plugins=plugins,
                    verdict=report.verdict,
                    confidence=report.confidence,
                    leo_version=report.leo_version,
                    lane=lane,
                    actor=who,
                    report_digest=digest,
                    report_json=report_json,
                )
            )
            for agent in report.agents:
                appender.append(
                    GateRow(
                        verification_seq=verdict.seq,
                        name=agent.name,
                        kind="subagent",
                        plugin=agent.plugin,
                        plugin_version=agent.plugin_version,
                        required=f"{agent.name} passed" in required,
                        status=agent.status,
                        confidence=agent.confidence,
                        duration_s=float(agent.duration_s),
                        tools=json.dumps(
                            [{"name": t.name, "version": t.version} for t in agent.tools],
                            sort_keys=True,
                        ),
                    )
                )
            agent_gates = {f"{a.name} passed" for a in report.agents}
            for req in report.requirements:
                if req.name in agent_gates:
                    continue  # already recorded as that sub-agent's row
                appender.append(
                    GateRow(
                        verification_seq=verdict.seq,
                        name=req.name[:100],
                        kind="requirement",
                        plugin="leo",
                        plugin_version=report.leo_version,
                        required=True,
                        status={True: "passed", False: "failed", None: "undecided"}[req.met],
                        confidence=100 if req.met else 0,
                        duration_s=0.0,
                        tools="[]",
                    )
                )
            return verdict.seq

        return run_in_transaction(self.engine, work, what="record the verdict")

    def record_handoff(
        self,
        *,
        repository: str,
        marker: str,
        lane: str,
        commit_sha: str,
        pr: int | None = None,
        bundle_hash: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Record a handoff event between lanes; return its seq."""
        who = actor or default_actor()

        def work(session: Session) -> int:
            return (
                Appender(session)
                .append(
                    HandoffRow(
                        repository=repository,
                        pr_number=pr,
                        marker=marker,
                        lane=lane,
                        bundle_hash=bundle_hash,
                        commit_sha=commit_sha,
                        actor=who,
                    )
                )
                .seq
            )

        return run_in_transaction(self.engine, work, what="record the handoff")

    def record_decision(
        self,
        *,
        repository: str,
        pr: int,
        head_sha: str,
        decision: Decision,
        reason: str | None,
        actor: str | None = None,
        override: bool = False,
    ) -> DecisionRecord:
        """Record a LEAD decision on the newest verdict of ``pr``, bound to ``head_sha``.

        Refused without a reason of at least a sentence, when the PR has no verdict, when its
        newest verdict is for another head (verify the new head first), and when approving a
        FAIL without ``override`` (an override is flagged in the record).
        """
        text = check_reason(reason)
        who = actor or default_actor()

        def work(session: Session) -> DecisionRecord:
            appender = Appender(session)  # lock first: the newest verdict cannot change under us
            newest = session.execute(
                select(VerificationRow)
                .where(VerificationRow.repository == repository, VerificationRow.pr_number == pr)
                .order_by(VerificationRow.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            if newest is None:
                msg = f"PR {pr} of {repository} has no recorded verdict; run `leo verify --pr {pr}` first"
                raise LeoError(msg)
            if newest.head_sha != head_sha:
                msg = (
                    f"the newest verdict for PR {pr} is for head {newest.head_sha[:12]}, not "
                    f"{head_sha[:12]}; a decision binds to the verified head, so run "
                    f"`leo verify --pr {pr}` on {head_sha[:12]} first"
                )
                raise LeoError(msg)
            flagged = False
            if decision == "approve" and newest.verdict == "FAIL":
                if not override:
                    msg = (
                        f"PR {pr} at {head_sha[:12]} FAILED verification (seq {newest.seq}); "
                        "approving over a FAIL needs --override and is flagged in the audit trail"
                    )
                    raise LeoError(msg)
                flagged = True
            row = appender.append(
                ApprovalRow(
                    repository=repository,
                    pr_number=pr,
                    head_sha=head_sha,
                    verification_seq=newest.seq,
                    verdict=newest.verdict,
                    decision=decision,
                    override=flagged,
                    lane="lead",
                    actor=who,
                    reason=text,
                )
            )
            return decision_record(row)

        return run_in_transaction(self.engine, work, what="record the LEAD decision")

    # -- reading -----------------------------------------------------------------------------

    def decision_for(self, repository: str, pr: int, head_sha: str) -> DecisionRecord | None:
        """The newest LEAD decision bound to exactly this head (never an older head's)."""

        def work(session: Session) -> DecisionRecord | None:
            row = session.execute(
                select(ApprovalRow)
                .where(
                    ApprovalRow.repository == repository,
                    ApprovalRow.pr_number == pr,
                    ApprovalRow.head_sha == head_sha,
                )
                .order_by(ApprovalRow.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            return decision_record(row) if row else None

        return run_in_transaction(self.engine, work, what="read LEAD decisions")

    def history(
        self, *, repository: str | None = None, pr: int | None = None, limit: int = 50
    ) -> list[VerdictRecord]:
        """Verdicts newest first, each with the newest LEAD decision bound to its head."""

        def work(session: Session) -> list[VerdictRecord]:
            stmt = select(VerificationRow).order_by(VerificationRow.seq.desc()).limit(limit)
            if repository is not None:
                stmt = stmt.where(VerificationRow.repository == repository)
            if pr is not None:
                stmt = stmt.where(VerificationRow.pr_number == pr)
            rows = session.execute(stmt).scalars().all()
            out = []
            for row in rows:
                decision = None
                if row.pr_number is not None:
                    found = session.execute(
                        select(ApprovalRow)
                        .where(
                            ApprovalRow.repository == row.repository,
                            ApprovalRow.pr_number == row.pr_number,
                            ApprovalRow.head_sha == row.head_sha,
                            ApprovalRow.verification_seq >= row.seq,
                        )
                        .order_by(ApprovalRow.seq.desc())
                        .limit(1)
                    ).scalar_one_or_none()
                    decision = decision_record(found) if found else None
                out.append(verdict_record(row, decision))
            return out

        return run_in_transaction(self.engine, work, what="read the history")

    def gate_executions(self, verification_seq: int) -> list[GateRow]:
        def work(session: Session) -> list[GateRow]:
            stmt = (
                select(GateRow)
                .where(GateRow.verification_seq == verification_seq)
                .order_by(GateRow.seq)
            )
            return list(session.execute(stmt).scalars().all())

        return run_in_transaction(self.engine, work, what="read gate executions")

    def count(self, table: type[Chained]) -> int:
        def work(session: Session) -> int:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())

        return run_in_transaction(self.engine, work, what="count rows")

    def hash_at(self, seq: int) -> str | None:
        """The ``row_hash`` of the row at ``seq``, in whichever table it is."""

        def work(session: Session) -> str | None:
            for model in AUDITED:
                table = model.__table__  # type: ignore[attr-defined]
                found = session.execute(
                    select(table.c.row_hash).where(table.c.seq == seq)
                ).scalar_one_or_none()
                if found is not None:
                    return str(found)
            return None

        return run_in_transaction(self.engine, work, what="read the audit chain")

    def verify_chain(self) -> chain.ChainCheck:
        """Recompute the whole chain from the rows; name the first altered or deleted row."""

        def work(session: Session) -> chain.ChainCheck:
            head = session.execute(select(ChainHead).where(ChainHead.id == 1)).scalar_one_or_none()
            links: list[chain.Link] = []
            for model in AUDITED:
                table = model.__table__  # type: ignore[attr-defined]
                for mapping in session.execute(select(table)).mappings():
                    links.append(chain.Link(table.name, int(mapping["seq"]), dict(mapping)))
            if head is None:
                return chain.ChainCheck(
                    len(links), 0, "", "the chain head (leo_audit_chain row 1) was deleted"
                )
            checked = chain.check(links, head.seq, head.head_hash)
            if not checked.intact:
                return checked
            for link in sorted(links, key=lambda link: link.seq):
                if link.table == VerificationRow.__tablename__:
                    problem = consistency.report_mismatch(link.content)
                    if problem is not None:
                        return replace(checked, problem=problem, table=link.table, seq=link.seq)
            return checked

        return run_in_transaction(self.engine, work, what="read the audit chain")


def record_report(report: Report, *, pr: int | None = None, config_url: str | None = None) -> int:
    """``leo verify``'s one call: record the report durably before it is published.

    Raises ``StoreError`` (exit 5) when it cannot: a verdict that is not recorded is not given.
    """
    from leo.metrics import observe_store_write

    try:
        with AuditStore.open(config_url=config_url) as store:
            started = time.monotonic()
            seq = store.record_verification(report, pr=pr)
            observe_store_write(time.monotonic() - started, store.engine.dialect.name)
            return seq
    except StoreError as exc:
        msg = f"{exc}; the verdict was NOT recorded, so LEO gives none (fail closed)"
        raise StoreError(msg) from exc


__all__ = [
    "Appender",
    "AuditStore",
    "StoreError",
    "default_actor",
    "record_report",
]
