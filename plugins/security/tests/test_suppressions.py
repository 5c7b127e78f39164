"""Suppressions the change adds are not honoured (issue 17.3); the base's keep working."""

from __future__ import annotations

import pytest
from leo_security import SecurityAgent

from leo.testing import make_repo, run_agents

#: bandit and detect-secrets only: fast; semgrep has its own test below.
FAST = {"agents": {"security": {"skip": ["semgrep", "zizmor"]}}}
HEADER = "import subprocess\n\n\ndef run(cmd):\n"
#: Fake credentials in the shapes detect-secrets knows (never real ones).
AWS = "AKIA" + "Z7Q2MHWX4K5N3JRD"
GHP = "ghp_" + "Zq8Rt5Uv2Wx9Yz3Ab6Cd1Ef4Gh7Ij0Kl2Mn5"


def _run(tmp_path, base, head, config=FAST):
    repo = make_repo(tmp_path / "r", base, head)
    return run_agents(repo.change(), [SecurityAgent], config=config)


@pytest.mark.parametrize(
    "comment",
    [
        "# nosec",
        "#nosec",
        "# NOSEC",
        "# nosec B602",
        "# nosec: B602, B607",
        "# nosec subprocess_popen_with_shell_equals_true",
        "# noqa: S602  # nosec",
    ],
)
def test_nosec_the_change_adds_keeps_the_finding_at_its_severity(tmp_path, comment):
    head = {"app/run.py": HEADER + f"    subprocess.call(cmd, shell=True)  {comment}\n"}
    result = _run(tmp_path, {"README.md": "x\n"}, head)
    result.assert_verdict("FAIL")
    finding = result.assert_finding("security.bandit.B602", path="app/run.py", line=5)
    assert finding.severity == "high" and finding.on_changed_line
    assert "suppressed by the change itself" in finding.message
    agent = result.agent("security")
    assert agent.details["unhonoured_suppressions"]["bandit"] == 1
    result.assert_finding("security.suppression.nosec", path="app/run.py", line=5)


def test_nosec_on_a_multi_line_call_is_not_honoured_either(tmp_path):
    head = {
        "app/run.py": HEADER
        + "    subprocess.call(\n        cmd,\n        shell=True,  # nosec\n    )\n"
    }
    result = _run(tmp_path, {"README.md": "x\n"}, head)
    result.assert_verdict("FAIL")
    assert (
        "suppressed by the change itself" in result.assert_finding("security.bandit.B602").message
    )


def test_nosec_already_on_the_base_keeps_working(tmp_path):
    base = {"app/run.py": HEADER + "    subprocess.call(cmd, shell=True)  # nosec B602\n"}
    head = {"app/run.py": base["app/run.py"] + "\n\ndef helper():\n    return 1\n"}
    whole = {"agents": {"security": {"skip": ["semgrep", "zizmor"], "whole_files": True}}}
    result = _run(tmp_path, base, head, whole)
    result.assert_verdict("PASS")
    assert not [f for f in result.findings if f.rule_id == "security.bandit.B602"]
    assert result.agent("security").details["suppressed_findings"]["bandit"] == 1


def test_base_nosec_does_not_cover_a_line_the_change_rewrites(tmp_path):
    base = {"app/run.py": HEADER + "    subprocess.call('ls', shell=True)  # nosec B602\n"}
    head = {"app/run.py": HEADER + "    subprocess.call(cmd, shell=True)  # nosec B602\n"}
    result = _run(tmp_path, base, head)
    result.assert_verdict("FAIL")
    assert (
        "suppressed by the change itself" in result.assert_finding("security.bandit.B602").message
    )


@pytest.mark.parametrize(
    ("pragma", "tool_honours_it"),
    [
        ("# pragma: allowlist secret", True),
        ("#pragma:allowlist secret", True),
        ("# PRAGMA: ALLOWLIST SECRET", False),  # detect-secrets itself ignores this spelling
    ],
)
def test_allowlist_pragma_the_change_adds_does_not_hide_a_secret(tmp_path, pragma, tool_honours_it):
    head = {"app/conf.py": f'AWS_KEY = "{AWS}"  {pragma}\nTOKEN = "{GHP}"  {pragma}\n'}
    result = _run(tmp_path, {"README.md": "x\n"}, head)
    result.assert_verdict("FAIL")
    for line in (1, 2):
        finding = result.assert_finding("security.secrets", path="app/conf.py", line=line)
        assert finding.severity == "critical"
        assert ("suppressed by the change itself" in finding.message) is tool_honours_it
    dump = result.report.model_dump_json()
    assert AWS not in dump and GHP not in dump


def test_allowlist_nextline_pragma_is_not_honoured_either(tmp_path):
    head = {"app/conf.py": f'# pragma: allowlist nextline secret\nTOKEN = "{GHP}"\n'}
    result = _run(tmp_path, {"README.md": "x\n"}, head)
    result.assert_verdict("FAIL")
    assert "suppressed by the change itself" in result.assert_finding("security.secrets").message


def test_nosemgrep_the_change_adds_is_not_honoured(tmp_path):
    head = {
        "app/run.py": HEADER + "    # nosemgrep\n    subprocess.call(cmd, shell=True)  # nosec\n"
    }
    config = {"agents": {"security": {"skip": ["zizmor", "secrets"]}}}
    result = _run(tmp_path, {"README.md": "x\n"}, head, config)
    result.assert_verdict("FAIL")
    semgrep = [
        f for f in result.findings if f.rule_id.startswith("security.semgrep.") and f.line == 6
    ]
    assert semgrep and all("suppressed by the change itself" in f.message for f in semgrep)
    result.assert_finding("security.suppression.nosemgrep", path="app/run.py", line=5)


def test_leo_allow_with_a_reason_is_a_question_for_a_lead(tmp_path):
    line = "    subprocess.call(cmd, shell=True)  # leo: allow[B602] cmd comes from our config\n"
    result = _run(tmp_path, {"README.md": "x\n"}, {"app/run.py": HEADER + line})
    result.assert_verdict("ESCALATE")
    finding = result.assert_finding("security.bandit.B602", line=5)
    assert finding.severity == "high"
    assert finding.lead_reason == "cmd comes from our config"
    [req] = [q for q in result.report.requirements if q.name.startswith("LEAD accepts")]
    assert req.met is None and "cmd comes from our config" in req.detail


def test_leo_allow_names_a_rule_so_other_rules_still_fail(tmp_path):
    line = "    subprocess.call(cmd, shell=True)  # leo: allow[B101] not the rule that fires\n"
    result = _run(tmp_path, {"README.md": "x\n"}, {"app/run.py": HEADER + line})
    result.assert_verdict("FAIL")
    assert result.assert_finding("security.bandit.B602").lead_reason is None


def test_leo_allow_without_a_reason_is_not_honoured(tmp_path):
    line = "    subprocess.call(cmd, shell=True)  # leo: allow[security.bandit.B602]\n"
    result = _run(tmp_path, {"README.md": "x\n"}, {"app/run.py": HEADER + line})
    result.assert_verdict("FAIL")
    assert (
        "suppressed by the change itself" in result.assert_finding("security.bandit.B602").message
    )


def test_honest_change_passes(tmp_path):
    head = {"app/parse.py": "import json\n\n\ndef parse(text):\n    return json.loads(text)\n"}
    result = _run(tmp_path, {"README.md": "x\n"}, head)
    result.assert_verdict("PASS")


WORKFLOW = (
    "name: ci\non: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: echo ok\n"
)
INJECTED = '      - run: echo "${{ github.event.pull_request.title }}"'
ZIZMOR_ONLY = {"agents": {"security": {"skip": ["bandit", "semgrep", "secrets"]}}}


def test_zizmor_ignore_the_change_adds_is_not_honoured(tmp_path):
    """zizmor itself honours ``# zizmor: ignore[…]``, so the comment would have hidden the
    template injection the change adds; LEO runs it with ``--no-ignores``."""
    path = ".github/workflows/ci.yml"
    head = {path: WORKFLOW + INJECTED + "  # zizmor: ignore[template-injection]\n"}
    result = _run(tmp_path, {path: WORKFLOW}, head, ZIZMOR_ONLY)
    assert result.report.verdict != "PASS", result.report.reasons
    finding = result.assert_finding("security.zizmor.template-injection", path=path, line=9)
    assert "suppressed by the change itself" in finding.message
    assert result.agent("security").details["unhonoured_suppressions"]["zizmor"] == 1


def test_zizmor_ignore_already_on_the_base_keeps_working(tmp_path):
    path = ".github/workflows/ci.yml"
    base = {path: WORKFLOW + INJECTED + "  # zizmor: ignore[template-injection]\n"}
    head = {path: base[path] + "      - run: echo done\n"}
    result = _run(tmp_path, base, head, ZIZMOR_ONLY)
    assert not [f for f in result.findings if f.rule_id == "security.zizmor.template-injection"]
    # The twin: an ignore naming another rule silences nothing.
    other = {path: WORKFLOW + INJECTED + "  # zizmor: ignore[unpinned-uses]\n"}
    result = _run(tmp_path / "twin", other, {path: other[path] + "      - run: echo done\n"},
                  ZIZMOR_ONLY)  # fmt: skip
    result.assert_finding("security.zizmor.template-injection", path=path, line=9)
