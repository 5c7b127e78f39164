"""Credential separation between lanes: the audit of committed workflows against [tool.leo.lanes]."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from leo.errors import ConfigError
from leo.lanes import LanePolicy, audit_repository, audit_workflows

BUILD = """\
name: Codex build
on: [push]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make build
        env:
          OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}
"""
VERIFY = """\
name: LEO verify
on: pull_request
permissions:
  contents: read
  pull-requests: write
jobs:
  verify:
    runs-on: ubuntu-latest
    steps:
      - run: leo verify
        env:
          GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
"""
POLICY = {
    "builder": ["codex-build.yml"],
    "enforcer": ["leo-verify.yml"],
    "allowed_secrets": ["GITHUB_TOKEN", "OPENAI_API_KEY"],
}


def _audit(build: str = BUILD, verify: str = VERIFY, **policy):
    files = {
        ".github/workflows/codex-build.yml": build.encode(),
        ".github/workflows/leo-verify.yml": verify.encode(),
    }
    return audit_workflows(LanePolicy.from_table({**POLICY, **policy}, "test"), files)


def _rules(findings) -> list[tuple[str, str]]:
    return [(f.rule, f.job) for f in findings]


def test_separated_lanes_are_clean():
    assert _audit() == []


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (
            ("permissions:\n  contents: read\n", "permissions:\n  contents: write\n"),
            "lanes.builder_write_permission",
        ),
        (
            ("permissions:\n  contents: read\n", "permissions: write-all\n"),
            "lanes.builder_write_permission",
        ),
        (("permissions:\n  contents: read\n", ""), "lanes.builder_default_permissions"),
        (("on: [push]", "on: [pull_request_target]"), "lanes.builder_pull_request_target"),
        (("secrets.OPENAI_API_KEY", "secrets.DEPLOY_KEY"), "lanes.builder_secret"),
        (("secrets.OPENAI_API_KEY", "toJSON(secrets)"), "lanes.builder_secret"),
        (
            ("contents: read\n", "contents: read\n  id-token: write\n"),
            "lanes.builder_unused_id_token",
        ),
    ],
)
def test_builder_lane_breaches_are_reported(edit, rule):
    findings = _audit(BUILD.replace(*edit))
    assert rule in {f.rule for f in findings}, findings
    assert all(f.file == ".github/workflows/codex-build.yml" for f in findings)


def test_job_level_write_permission_overrides_a_read_only_workflow():
    build = BUILD.replace(
        "    runs-on: ubuntu-latest\n",
        "    runs-on: ubuntu-latest\n    permissions:\n      packages: write\n",
        1,
    )
    [finding] = _audit(build)
    assert (finding.rule, finding.job, finding.what) == (
        "lanes.builder_write_permission",
        "build",
        "job-level permissions grant packages: write",
    )


def test_id_token_is_fine_when_the_job_signs():
    build = BUILD.replace("contents: read\n", "contents: read\n  id-token: write\n").replace(
        "      - run: make build\n",
        "      - uses: sigstore/gh-action-sigstore-python@f7ad0af51a5648d09a20d00370f0a91c3bdf8f84 # v3.0.1\n      - run: make build\n",
    )
    assert _audit(build) == []


def test_enforcer_holding_the_builders_secret_is_reported():
    verify = VERIFY.replace(
        "GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}", "KEY: ${{ secrets.OPENAI_API_KEY }}"
    )
    assert _rules(_audit(verify=verify)) == [("lanes.enforcer_builder_secret", "verify")]
    # Named builder secrets count even when no builder job uses them today.
    verify = VERIFY.replace("secrets.GITHUB_TOKEN", "secrets.CODEX_PAT")
    assert _rules(_audit(verify=verify, builder_secrets=["CODEX_PAT"])) == [
        ("lanes.enforcer_builder_secret", "verify")
    ]


def test_file_job_entries_audit_only_that_job():
    build = (
        BUILD
        + "  publish:\n    runs-on: ubuntu-latest\n    permissions: write-all\n    steps: [{run: echo}]\n"
    )
    assert _audit(build, builder=["codex-build.yml:build"]) == []
    assert _rules(_audit(build)) == [("lanes.builder_write_permission", "publish")]


def test_a_mapping_to_a_missing_workflow_or_job_is_a_finding():
    assert _rules(_audit(builder=["gone.yml"])) == [("lanes.unknown_workflow", "*")]
    assert _rules(_audit(builder=["codex-build.yml:nope"])) == [("lanes.unknown_workflow", "nope")]
    assert _rules(_audit("jobs: [1, 2]\n")) == [("lanes.unreadable_workflow", "*")]


@pytest.mark.parametrize(
    "table",
    [{"builder": "codex-build.yml"}, {"builder": ["../evil.yml"]}, {"builders": ["a.yml"]}],
)
def test_bad_lane_policy_is_a_config_error(table):
    with pytest.raises(ConfigError):
        LanePolicy.from_table(table, "test")


def _repo(leo_repo, pyproject: str, build: str = BUILD):
    return leo_repo(
        base={
            "pyproject.toml": pyproject,
            ".github/workflows/codex-build.yml": build,
            ".github/workflows/leo-verify.yml": VERIFY,
        }
    )


LANES = '[tool.leo.lanes]\nbuilder = ["codex-build.yml"]\nenforcer = ["leo-verify.yml"]\nallowed_secrets = ["GITHUB_TOKEN", "OPENAI_API_KEY"]\n'


def test_audit_reads_the_committed_head(leo_repo):
    repo = _repo(leo_repo, LANES)
    assert anyio.run(audit_repository, Path(repo.path)) == []
    # An uncommitted edit does not count: the audit is of what is committed.
    (Path(repo.path) / ".github/workflows/codex-build.yml").write_text(
        BUILD.replace("contents: read", "contents: write")
    )
    assert anyio.run(audit_repository, Path(repo.path)) == []


def test_lanes_audit_cli_exit_codes(leo_repo, leo_cli):
    clean = _repo(leo_repo, LANES)
    assert leo_cli("lanes", "audit", "--repo", str(clean.path)).returncode == 0
    dirty = _repo(leo_repo, LANES, BUILD.replace("contents: read", "contents: write"))
    result = leo_cli("lanes", "audit", "--repo", str(dirty.path))
    assert result.returncode == 1, result.stderr
    assert (
        "codex-build.yml: job build: workflow-level permissions grant contents: write"
        in result.stdout
    )
    unset = _repo(leo_repo, '[project]\nname = "x"\n')
    result = leo_cli("lanes", "audit", "--repo", str(unset.path))
    assert result.returncode == 2 and "[tool.leo.lanes]" in result.stderr
