"""The Security sub-agent runs LEO's lane audit on changes that edit workflows."""

from __future__ import annotations

import anyio
from leo_security import SecurityAgent, lanes

from leo.testing import make_repo, run_agents

LANES = '[tool.leo.lanes]\nbuilder = ["codex-build.yml"]\n'
BUILD = """\
name: build
on: [push]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""
ONLY_LANES = {"agents": {"security": {"skip": ["bandit", "semgrep", "secrets", "zizmor"]}}}


def _change(tmp_path, head: dict[str, str], base_policy: str = LANES):
    repo = make_repo(
        tmp_path / "repo",
        base={"pyproject.toml": base_policy, ".github/workflows/codex-build.yml": BUILD},
        head=head,
    )
    return repo.change()


def test_a_change_handing_the_builder_a_write_token_is_blocked(tmp_path):
    change = _change(
        tmp_path, {".github/workflows/codex-build.yml": BUILD.replace("read", "write")}
    )
    result = run_agents(change, [SecurityAgent], config=ONLY_LANES)
    finding = result.assert_finding(
        "security.lanes.builder_write_permission", path=".github/workflows/codex-build.yml"
    )
    assert finding.severity == "high" and finding.on_changed_line
    assert result.agent("security").status == "failed"


def test_the_policy_comes_from_the_base_so_a_change_cannot_remap_its_lane(tmp_path):
    change = _change(
        tmp_path,
        {
            "pyproject.toml": "[tool.leo.lanes]\nbuilder = []\n",
            ".github/workflows/codex-build.yml": BUILD.replace("read", "write"),
        },
    )
    outcome = anyio.run(lanes.scan, change)
    assert [f.rule_id for f in outcome.findings] == ["security.lanes.builder_write_permission"]


def test_renaming_the_builder_workflow_away_is_a_finding(tmp_path):
    change = _change(
        tmp_path, {".github/workflows/codex-build.yml": None, ".github/workflows/b.yml": BUILD}
    )
    outcome = anyio.run(lanes.scan, change)
    assert [f.rule_id for f in outcome.findings] == ["security.lanes.unknown_workflow"]


def test_changes_without_workflow_edits_or_without_a_lane_policy_are_not_audited(tmp_path):
    assert anyio.run(lanes.scan, _change(tmp_path, {"README.md": "x\n"})).findings == []
    bare = _change(
        tmp_path / "2",
        {".github/workflows/codex-build.yml": BUILD.replace("read", "write")},
        base_policy='[project]\nname = "x"\n',
    )
    outcome = anyio.run(lanes.scan, bare)
    assert outcome.findings == [] and outcome.analysed == set()
