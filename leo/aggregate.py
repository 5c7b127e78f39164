"""From sub-agent results to a verdict: pure functions, documented in ``docs/verdicts.md``.

Fail closed: an agent that could not do its work (``error``, ``timeout``) is missing evidence and
never counts towards PASS; ``skipped`` (nothing to check) is neutral; no evidence at all FAILs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from leo.models import (
    MISSING_EVIDENCE,
    Decision,
    Finding,
    Requirement,
    Status,
    SubAgentResult,
    Verdict,
)

MAX_ROUNDS = 3
UNISOLATED = (
    'the change\'s code ran unisolated (isolation = "none" in the base policy), so its '
    "evidence could be forged"
)
#: Confidence lost per blocking finding, by severity; ``low`` and ``info`` never gate.
PENALTY = {"critical": 100, "high": 40, "medium": 15, "low": 0, "info": 0}


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    """Findings the change caused (context in untouched lines never blocks; one the change
    justified for a LEAD is that LEAD's decision, see ``lead_requirements``)."""
    return [f for f in findings if f.on_changed_line and f.lead_reason is None]


def status_of(findings: Sequence[Finding]) -> Status:
    """``failed`` on a critical or high finding on the change, ``warned`` on a medium one;
    ``low`` and ``info`` findings are reported but never gate."""
    severities = {f.severity for f in blocking(findings)}
    if severities & {"critical", "high"}:
        return "failed"
    if "medium" in severities:
        return "warned"
    return "passed"


def confidence_of(findings: Sequence[Finding]) -> int:
    """100 minus a penalty per blocking finding, by severity, never below 0."""
    return max(0, 100 - sum(PENALTY[f.severity] for f in blocking(findings)))


def weighted_confidence(
    results: Sequence[SubAgentResult],
    weights: Mapping[str, float],
    *,
    warned_floor: int = 0,
) -> int:
    """Weighted mean confidence of the non-skipped agents; missing evidence counts as 0.

    A ``warned`` agent counts as at least ``warned_floor`` (the threshold): minor findings ask a
    LEAD to accept them (CONDITIONAL_PASS); alone they never pull the confidence into a FAIL.
    """
    counted = [r for r in results if r.status != "skipped"]
    total = sum(weights.get(r.name, 1.0) for r in counted)
    if total <= 0:
        return 0

    def score(r: SubAgentResult) -> int:
        if r.status in MISSING_EVIDENCE:
            return 0
        return max(r.confidence, warned_floor) if r.status == "warned" else r.confidence

    return int(sum(weights.get(r.name, 1.0) * score(r) for r in counted) / total)  # floor


def agent_requirements(
    results: Sequence[SubAgentResult], required: Sequence[str]
) -> list[Requirement]:
    """One requirement per required agent: it ran, produced evidence and did not fail."""
    by_name = {r.name: r for r in results}
    out = []
    for name in required:
        r = by_name.get(name)
        if r is None:
            out.append(
                Requirement(
                    name=f"{name} passed", met=False, detail=f"{name} is required but did not run"
                )
            )
        elif r.status in MISSING_EVIDENCE:
            detail = f"{name} produced no evidence ({r.status}: {r.summary})"
            out.append(Requirement(name=f"{name} passed", met=False, detail=detail))
        elif r.status == "failed":
            out.append(
                Requirement(name=f"{name} passed", met=False, detail=f"{name} failed: {r.summary}")
            )
        else:
            out.append(Requirement(name=f"{name} passed", met=True, detail=f"{name} {r.status}"))
    return out


def unread_requirements(results: Sequence[SubAgentResult]) -> list[Requirement]:
    """One undecided requirement per sub-agent that could not read a changed file in its scope
    (issue 17.4): nothing unread passes, so the verdict is at best ESCALATE."""
    out = []
    for r in results:
        unread = [n for n in r.analysed.not_analysed if n.unread]
        if unread:
            listed = "; ".join(f"{n.path!r} ({n.reason})" for n in unread[:20])
            more = f" and {len(unread) - 20} more" if len(unread) > 20 else ""
            detail = f"{r.name} could not read {len(unread)} changed file(s): {listed}{more}"
            out.append(Requirement(name=f"{r.name} read every file", met=None, detail=detail))
    return out


def lead_requirements(results: Sequence[SubAgentResult]) -> list[Requirement]:
    """One undecided requirement per finding the change justified with ``# leo: allow[...]``
    (issue 17.3): a LEAD accepts the reason or not, the change cannot."""
    return [
        Requirement(
            name=f"LEAD accepts {f.rule_id}",
            met=None,
            detail=f"{r.name}: {f.rule_id} at {f.path}:{f.line} allowed by the change because "
            f"{f.lead_reason!r}",
        )
        for r in results
        for f in r.findings
        if f.lead_reason is not None
    ]


def decision_requirements(results: Sequence[SubAgentResult]) -> list[Requirement]:
    """One undecided requirement per agent with evidence that asks a LEAD to decide something."""
    return [
        Requirement(
            name=f"{r.name} decisions",
            met=None,
            detail=f"{r.name} asks: " + "; ".join(r.decisions),
        )
        for r in results
        if r.decisions and r.status not in MISSING_EVIDENCE
    ]


def disagreement(results: Sequence[SubAgentResult]) -> tuple[list[str], list[str]] | None:
    """The failing and the passing sides when sub-agents split the verdict, else None.

    A split is at least one agent ``failed`` against at least one ``passed`` or ``warned``,
    with no critical finding (a critical finding FAILs whatever the others say).
    """
    if any(
        f.severity == "critical" and f.on_changed_line and f.lead_reason is None
        for r in results
        for f in r.findings
    ):
        return None
    failing = [r.name for r in results if r.status == "failed"]
    passing = [r.name for r in results if r.status in ("passed", "warned")]
    return (failing, passing) if failing and passing else None


def _minor(result: SubAgentResult) -> bool:
    return result.status == "warned" or any(
        f.on_changed_line and f.severity in ("high", "medium") for f in result.findings
    )


def decide(
    results: Sequence[SubAgentResult],
    *,
    weights: Mapping[str, float],
    threshold: int,
    required: Sequence[str],
    requirements: Sequence[Requirement] = (),
    rounds: int = 0,
    settled: bool = True,
    unisolated: bool = False,
) -> Verdict:
    """The verdict for ``results``; ``settled`` is False when conflict resolution did not settle.

    ``unisolated`` (the policy's ``isolation = "none"``) caps the verdict at CONDITIONAL_PASS:
    code that ran outside the sandbox could have shaped its own evidence.
    """
    confidence = weighted_confidence(results, weights, warned_floor=threshold)
    reqs = [
        *agent_requirements(results, required),
        *decision_requirements(results),
        *unread_requirements(results),
        *lead_requirements(results),
        *requirements,
    ]
    evidence = [r for r in results if r.status not in MISSING_EVIDENCE and r.status != "skipped"]
    missing = [r for r in results if r.status in MISSING_EVIDENCE]
    critical = [
        f"{r.name}: {f.message} ({f.path}:{f.line})" if f.path else f"{r.name}: {f.message}"
        for r in results
        for f in r.findings
        if f.severity == "critical" and f.on_changed_line and f.lead_reason is None
    ]
    failed_reqs = [q for q in reqs if q.met is False]
    undecided = [q for q in reqs if q.met is None]
    split = disagreement(results)

    hard: list[str] = []
    if not evidence:
        hard.append("no sub-agent produced evidence, so nothing was verified")
    hard += [f"critical finding: {c}" for c in critical]
    fail = [f"requirement not met: {q.detail or q.name}" for q in failed_reqs]
    if confidence < threshold:
        fail.append(f"confidence {confidence} is below the threshold of {threshold}")
    undecided_reasons = [f"a LEAD must decide: {q.detail or q.name}" for q in undecided]

    decision: Decision
    reasons: list[str]
    if hard:
        decision, reasons = "FAIL", hard + fail
    elif not settled and split:
        unsettled = (
            f"sub-agents still disagree after {rounds} conflict-resolution rounds "
            f"({', '.join(split[0])} failed; {', '.join(split[1])} passed)"
        )
        decision, reasons = "ESCALATE", [unsettled, *fail, *undecided_reasons]
    elif fail:
        decision, reasons = "FAIL", fail + undecided_reasons
    elif undecided:
        decision, reasons = "ESCALATE", undecided_reasons
    else:
        conditions = [f"{r.name} produced no evidence ({r.status}): {r.summary}" for r in missing]
        conditions += [f"{r.name} failed: {r.summary}" for r in evidence if r.status == "failed"]
        conditions += [
            f"{r.name} has minor findings: {r.summary}"
            for r in evidence
            if _minor(r) and r.status != "failed"
        ]
        if unisolated:
            conditions.append(UNISOLATED)
        if conditions:
            decision = "CONDITIONAL_PASS"
            reasons = [*conditions, "a LEAD must accept these before merging"]
        else:
            decision = "PASS"
            reasons = [
                f"confidence {confidence} meets the threshold of {threshold} "
                "and every requirement is met"
            ]
    return Verdict(
        verdict=decision,
        confidence=confidence,
        reasons=tuple(reasons),
        resolution_rounds=rounds,
        requirements=tuple(reqs),
    )
