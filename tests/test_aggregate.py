"""Every verdict rule of docs/verdicts.md, and properties that must hold for any results."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leo.aggregate import (
    MAX_ROUNDS,
    confidence_of,
    decide,
    disagreement,
    status_of,
    weighted_confidence,
)
from leo.models import Analysed, Finding, NotAnalysed, Requirement, SubAgentResult


def result(name, status="passed", confidence=100, findings=()):
    return SubAgentResult(name=name, status=status, confidence=confidence, findings=tuple(findings))


def finding(severity, on_changed_line=True):
    return Finding(
        rule_id=f"x.{severity}", severity=severity, message="m", on_changed_line=on_changed_line
    )


def verdict(results, threshold=85, required=None, **kw):
    names = [r.name for r in results]
    return decide(
        results,
        weights={},
        threshold=threshold,
        required=names if required is None else required,
        **kw,
    )


def test_all_passed_is_pass():
    v = verdict([result("a"), result("b")])
    assert (v.verdict, v.confidence) == ("PASS", 100)


def test_critical_finding_on_the_change_fails_whatever_the_confidence():
    v = verdict([result("a", "passed", 100, [finding("critical")]), result("b")])
    assert v.verdict == "FAIL"
    assert any("critical finding" in r for r in v.reasons)


def test_critical_finding_in_untouched_lines_does_not_fail():
    v = verdict([result("a", "passed", 100, [finding("critical", on_changed_line=False)])])
    assert v.verdict == "PASS"


def test_confidence_below_threshold_fails():
    v = verdict([result("a", "failed", 80)], required=[])
    assert v.verdict == "FAIL"
    assert "confidence 80 is below the threshold of 85" in v.reasons


def test_failed_required_agent_fails():
    v = verdict([result("a", "failed", 90), result("b")])
    assert v.verdict == "FAIL"


def test_failed_optional_agent_is_at_best_conditional():
    v = verdict([result("a", "failed", 90), result("b")], required=["b"])
    assert v.verdict == "CONDITIONAL_PASS"


def test_warnings_make_a_conditional_pass():
    v = verdict([result("a", "warned", 95, [finding("low")]), result("b")])
    assert v.verdict == "CONDITIONAL_PASS"
    assert v.reasons[-1] == "a LEAD must accept these before merging"


def test_missing_evidence_from_a_required_agent_fails():
    for status in ("error", "timeout"):
        v = verdict([result("a", status, 0), result("b")])
        assert v.verdict == "FAIL"
        assert any("produced no evidence" in r for r in v.reasons)


def test_missing_evidence_counts_as_zero_confidence():
    assert weighted_confidence([result("a", "error", 100), result("b")], {}) == 50


def test_missing_evidence_from_an_optional_agent_never_passes():
    results = [result("a", "timeout", 0), result("b")]
    v = decide(results, weights={"a": 0.01, "b": 10}, threshold=85, required=["b"])
    assert v.confidence >= 85
    assert v.verdict == "CONDITIONAL_PASS"


def test_skipped_is_neutral():
    v = verdict([result("a", "skipped", 0), result("b")])
    assert (v.verdict, v.confidence) == ("PASS", 100)


def test_no_evidence_at_all_fails():
    assert verdict([result("a", "skipped")]).verdict == "FAIL"
    assert verdict([]).verdict == "FAIL"


def test_required_agent_that_did_not_run_fails():
    v = verdict([result("a")], required=["a", "security"])
    assert v.verdict == "FAIL"
    assert any("security is required but did not run" in r for r in v.reasons)


def test_weights_shift_the_confidence():
    results = [result("a", "passed", 100), result("b", "warned", 40)]
    assert weighted_confidence(results, {"a": 3, "b": 1}) == 85
    assert weighted_confidence(results, {}) == 70


def test_undecided_requirement_escalates():
    req = Requirement(name="policy unchanged", met=None, detail="policy edited")
    v = verdict([result("a")], requirements=[req])
    assert v.verdict == "ESCALATE"


def test_failed_external_requirement_fails():
    req = Requirement(name="bundle verified", met=False, detail="signature invalid")
    assert verdict([result("a")], requirements=[req]).verdict == "FAIL"


def test_unsettled_disagreement_escalates():
    results = [result("a", "failed", 60), result("b")]
    v = verdict(results, rounds=3, settled=False)
    assert v.verdict == "ESCALATE"
    assert "still disagree after 3" in v.reasons[0]


def test_disagreement_needs_both_sides_and_no_critical():
    assert disagreement([result("a", "failed", 60), result("b")]) == (["a"], ["b"])
    assert disagreement([result("a", "failed", 60)]) is None
    assert disagreement([result("a", "failed", 0, [finding("critical")]), result("b")]) is None


statuses = st.sampled_from(["passed", "warned", "failed", "error", "timeout", "skipped"])
severities = st.sampled_from(["critical", "high", "medium", "low", "info"])
findings_st = st.lists(st.builds(finding, severities, st.booleans()), max_size=3)
results_st = st.lists(
    st.builds(result, st.sampled_from("abcdefg"), statuses, st.integers(0, 100), findings_st),
    max_size=6,
    unique_by=lambda r: r.name,
)


@given(results_st, st.integers(0, 100), st.booleans(), st.integers(0, MAX_ROUNDS))
def test_pass_only_when_everything_holds(results, threshold, settled, rounds):
    v = verdict(results, threshold=threshold, settled=settled, rounds=rounds)
    assert 0 <= v.confidence <= 100
    assert v.reasons
    if v.verdict == "PASS":
        assert v.confidence >= threshold
        assert all(r.status in ("passed", "skipped") for r in results)
        assert any(r.status == "passed" for r in results)
        assert not any(
            f.severity == "critical" and f.on_changed_line for r in results for f in r.findings
        )
        assert all(q.met for q in v.requirements)
    if any(r.status in ("error", "timeout") for r in results):
        assert v.verdict != "PASS"
    if any(f.severity == "critical" and f.on_changed_line for r in results for f in r.findings):
        assert v.verdict == "FAIL"


@given(results_st)
def test_confidence_is_bounded_by_the_agents(results):
    counted = [
        0 if r.status in ("error", "timeout") else r.confidence
        for r in results
        if r.status != "skipped"
    ]
    c = weighted_confidence(results, {})
    if counted:
        assert min(counted) <= c <= max(counted)
    else:
        assert c == 0


def _with_unread(r, unread=True):
    missing = NotAnalysed(path="svc/shell.py", reason="too large", unread=unread)
    return r.model_copy(update={"analysed": Analysed(not_analysed=(missing,))})


def test_a_changed_file_a_sub_agent_could_not_read_is_at_best_escalate():
    v = verdict([_with_unread(result("security")), result("b")])
    assert v.verdict == "ESCALATE"
    [req] = [q for q in v.requirements if q.met is None]
    assert req.name == "security read every file" and "svc/shell.py" in req.detail


def test_a_file_out_of_a_sub_agents_scope_does_not_hold_the_verdict():
    assert verdict([_with_unread(result("design"), unread=False)]).verdict == "PASS"


def test_unread_files_never_soften_a_fail():
    v = verdict([_with_unread(result("security", "failed", 40, [finding("critical")]))])
    assert v.verdict == "FAIL"


def test_a_finding_the_change_justified_is_a_question_for_a_lead():
    allowed = finding("critical").model_copy(update={"lead_reason": "a test fixture key"})
    v = verdict([result("security", "passed", 100, [allowed])])
    assert v.verdict == "ESCALATE"
    [req] = [q for q in v.requirements if q.met is None]
    assert "a test fixture key" in req.detail


@given(results_st, st.booleans())
def test_nothing_unread_passes(results, unread):
    results = [_with_unread(r, unread) if r.name == "a" else r for r in results]
    v = verdict(results)
    if unread and any(r.name == "a" for r in results):
        assert v.verdict in ("FAIL", "ESCALATE")


VERDICTS = Path(__file__).resolve().parent.parent / "docs" / "verdicts.md"


def _case(case: str, agent: str) -> SubAgentResult:
    """The sub-agent result each row of the docs table describes."""

    def with_findings(*findings, decisions=()):
        status = status_of(findings)
        return SubAgentResult(
            name=agent,
            status=status,
            confidence=confidence_of(findings),
            findings=tuple(findings),
            decisions=tuple(decisions),
        )

    return {
        "critical": lambda: with_findings(finding("critical")),
        "high": lambda: with_findings(finding("high")),
        "medium": lambda: with_findings(finding("medium")),
        "many-medium": lambda: with_findings(*[finding("medium")] * 4),
        "low": lambda: with_findings(finding("low")),
        "info": lambda: with_findings(finding("info")),
        "context": lambda: with_findings(finding("high", on_changed_line=False)),
        "api-break": lambda: with_findings(
            finding("medium"), decisions=["accept the API break: app.f was removed"]
        ),
        "api-declared": lambda: with_findings(finding("info")),
        "complexity-touched": lambda: with_findings(finding("info", on_changed_line=False)),
        "small-coverage": lambda: with_findings(finding("low")),
        "coverage-debt": lambda: with_findings(finding("low")),
        "coverage-not-measured": lambda: with_findings(finding("low")),
        "error": lambda: result(agent, "error", 0),
        "skipped": lambda: result(agent, "skipped", 100),
    }[case]()


def _table_rows() -> list[tuple[str, str, str]]:
    text = VERDICTS.read_text(encoding="utf-8")
    table = text.split("## The rules in one table", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1], cells[4]))
    return rows


def test_docs_table_has_every_case():
    assert len(_table_rows()) == 15


@pytest.mark.parametrize(("case", "agent", "expected"), _table_rows())
def test_every_row_of_the_verdict_table_holds(case, agent, expected):
    name = "security" if agent == "any" else agent
    v = verdict([_case(case, name), result("other")])
    assert v.verdict == expected, v.reasons


def test_many_warned_agents_cannot_fail_on_confidence_alone():
    v = verdict([result("a", "warned", 10), result("b", "warned", 0), result("c")])
    assert v.verdict == "CONDITIONAL_PASS"
    assert v.confidence >= 85


def test_warned_floor_does_not_hide_a_failed_agent():
    v = verdict([result("a", "warned", 10), result("b", "failed", 50)], required=[])
    assert v.verdict == "FAIL"
    assert "confidence 67 is below the threshold of 85" in v.reasons


def test_code_that_ran_unisolated_caps_the_verdict_at_conditional_pass():
    v = verdict([result("a"), result("b")], unisolated=True)
    assert v.verdict == "CONDITIONAL_PASS"
    assert any("ran unisolated" in r for r in v.reasons)
    assert verdict([result("a", "failed", 0, [finding("high")])], unisolated=True).verdict == "FAIL"


def test_isolation_none_in_the_policy_shows_in_the_report_and_every_format(leo_repo, leo_run):
    from leo.formats import markdown_format, sarif_format, text_format
    from leo.subagent import SubAgent

    class Fine(SubAgent):
        name = "fine"

        async def check(self, change):
            return []

    run = leo_run(leo_repo(head={"a.py": "x = 1\n"}).change(), [Fine], config={"isolation": "none"})
    run.assert_verdict("CONDITIONAL_PASS")
    assert run.report.isolation == "none"
    assert "UNISOLATED" in text_format.render(run.report)
    assert "Unisolated" in markdown_format.render(run.report)
    assert '"isolation": "none"' in sarif_format.render(run.report)
    assert '"isolation":"none"' in run.report.model_dump_json()
