"""SARIF that GitHub code scanning accepts: valid 2.1.0, located, fingerprinted, within limits."""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from leo.formats import render
from leo.formats.sarif_format import MAX_BYTES, MAX_MESSAGE, MAX_RESULTS
from leo.models import Analysed, Finding, Report, SubAgentResult


def _report(*agents: SubAgentResult) -> Report:
    return Report(
        leo_version="0", verdict="FAIL", confidence=10, reasons=("r",), resolution_rounds=0,
        repository="acme/app", base_sha="b" * 40, head_sha="h" * 40, config_digest="d",
        changed_files=2, duration_s=0, agents=agents,
    )  # fmt: skip


def _agent(name: str, *findings: Finding, files: tuple[str, ...] = ()) -> SubAgentResult:
    return SubAgentResult(
        name=name, status="failed", confidence=0, findings=findings,
        analysed=Analysed(files=files),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _schema(sarif_errors_of):
    """Every test here validates what it renders (the conftest wraps ``render``)."""


def _sarif(report: Report) -> dict:
    return json.loads(render(report, "sarif"))


def _results(report: Report) -> list[dict]:
    return _sarif(report)["runs"][0]["results"]


def test_every_result_has_a_physical_location_even_change_wide_ones():
    report = _report(
        _agent("security", Finding(rule_id="security.b602", severity="high", message="shell",
                                   path="app/run.py", line=3, end_line=4)),
        _agent("testing", Finding(rule_id="testing.no_tests", severity="high", message="none"),
               files=("app/models.py",)),
        _agent("design", Finding(rule_id="design.x", severity="low", message="wide")),
    )  # fmt: skip
    results = _results(report)
    uris = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in results}
    assert uris["security.b602"]["region"] == {"startLine": 3, "endLine": 4}
    # The testing sub-agent's own analysed file stands for its change-wide finding.
    assert uris["testing.no_tests"]["artifactLocation"]["uri"] == "app/models.py"
    # No file of its own: the first file any sub-agent named.
    assert uris["design.x"]["artifactLocation"]["uri"] == "app/run.py"
    assert all(r["locations"] for r in results)


def test_a_report_naming_no_file_anchors_on_the_manifest():
    report = _report(_agent("testing", Finding(rule_id="testing.no_tests", severity="high",
                                               message="no tests")))  # fmt: skip
    (result,) = _results(report)
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pyproject.toml"
    assert result["properties"]["changeWide"] is True


def test_security_severity_only_on_security_rules():
    report = _report(
        _agent("security", Finding(rule_id="security.b602", severity="high", message="m", path="a.py")),
        _agent("design", Finding(rule_id="design.api", severity="high", message="m", path="a.py")),
    )  # fmt: skip
    rules = {r["id"]: r for r in _sarif(report)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["security.b602"]["properties"]["security-severity"] == "7.5"
    assert "security" in rules["security.b602"]["properties"]["tags"]
    assert "security-severity" not in rules["design.api"]["properties"]
    assert "security" not in rules["design.api"]["properties"]["tags"]


def test_fingerprints_are_stable_across_line_shifts_and_distinct_per_finding():
    def finding(line: int, message: str = "m") -> Finding:
        return Finding(rule_id="security.b1", severity="medium", message=message, path="a.py",
                       line=line)  # fmt: skip

    first = _results(_report(_agent("security", finding(3), finding(9), finding(5, "other"))))
    again = _results(_report(_agent("security", finding(13), finding(19), finding(15, "other"))))
    prints = [r["partialFingerprints"] for r in first]
    assert prints == [r["partialFingerprints"] for r in again]
    assert len({json.dumps(p) for p in prints}) == 3


def test_results_stay_within_code_scannings_limit_keeping_the_most_severe():
    many = [
        Finding(rule_id=f"design.r{i % 7}", severity="low", message=f"m{i}", path="a.py", line=1)
        for i in range(MAX_RESULTS + 50)
    ]
    worst = Finding(rule_id="security.bad", severity="critical", message="x", path="b.py")
    doc = _sarif(_report(_agent("design", *many), _agent("security", worst)))
    run = doc["runs"][0]
    assert len(run["results"]) == MAX_RESULTS
    assert run["results"][0]["ruleId"] == "security.bad"
    assert run["properties"]["omittedResults"] == 51
    assert len(json.dumps(doc).encode()) < 10 * 1024 * 1024  # the 10 MB (gzip) upload limit


def test_hostile_long_findings_stay_within_the_upload_size_keeping_the_most_severe():
    """Plugin output is hostile and need not compress: 5,000 findings with 10,000-character
    messages and 3,000-character paths would be ~40 MB; code scanning refuses over 10 MB."""
    rng = random.Random(19)

    def noise(n: int) -> str:
        return rng.randbytes(n // 2).hex()

    many = [
        Finding(rule_id=f"design.r{i % 50}", severity="low", message=noise(10_000),
                path=f"{noise(3_000)}.py", line=1)
        for i in range(MAX_RESULTS)
    ]  # fmt: skip
    worst = Finding(rule_id="security.bad", severity="critical", message=noise(10_000), path="b.py")
    text = render(_report(_agent("design", *many), _agent("security", worst)), "sarif")
    assert len(text.encode()) <= MAX_BYTES
    run = json.loads(text)["runs"][0]
    assert run["results"][0]["ruleId"] == "security.bad"
    assert len(run["results"][0]["message"]["text"]) < MAX_MESSAGE + 100
    assert "shortened" in run["results"][0]["message"]["text"]
    assert 0 < run["properties"]["omittedResults"] == MAX_RESULTS + 1 - len(run["results"])
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        r["ruleId"] for r in run["results"]
    }


@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low", "info"])
def test_every_severity_renders_valid_sarif(severity):
    finding = Finding(rule_id="security.s", severity=severity, message="m", path="a.py", line=2,
                      on_changed_line=severity != "info", fix="do this")  # fmt: skip
    assert _results(_report(_agent("security", finding)))[0]["ruleId"] == "security.s"


def test_sarif_a_leo_subprocess_writes_is_checked_too(check_leo_sarif, tmp_path):
    """``leo_cli`` validates ``--format sarif`` output, to stdout or ``--output``, as the
    autouse fixture validates in-process renders: every SARIF the suite produces."""
    valid = render(_report(_agent("design")), "sarif")
    invalid = json.dumps({"version": "2.1.0", "runs": [{"results": [{"level": "loud"}]}]})
    ran = subprocess.CompletedProcess(["leo"], 0, stdout=valid, stderr="")
    check_leo_sarif(("verify", "--format", "sarif"), ran, None)
    with pytest.raises(AssertionError, match="tool"):
        bad = subprocess.CompletedProcess(["leo"], 0, stdout=invalid, stderr="")
        check_leo_sarif(("verify", "--format", "sarif"), bad, None)
    (tmp_path / "out.sarif").write_text(invalid)
    with pytest.raises(AssertionError):
        check_leo_sarif(("verify", "--format=sarif", "-o", "out.sarif"), ran, tmp_path)
    check_leo_sarif(("verify", "--format", "json", "-o", "out.sarif"), ran, tmp_path)
