"""The SOP workflow set: the required checks' names, least privilege, pinned actions, zizmor-clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leo.errors import LeoError
from leo.github.settings import DEFAULT_REQUIRED_CHECKS
from leo.github.sop import TEMPLATE_MARKER, render_sop_workflows, write_sop_workflows
from leo.lanes import LanePolicy, audit_workflows

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$")


@pytest.fixture(scope="module")
def workflows() -> dict[str, str]:
    return render_sop_workflows()


def _load(text: str) -> dict:
    doc = yaml.safe_load(text)
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as True
    return doc


def test_the_required_checks_are_produced_by_these_workflows(workflows):
    produced = {
        f"{doc['name']} / {job['name']}"
        for doc in map(_load, workflows.values())
        for job in doc["jobs"].values()
    }
    assert set(DEFAULT_REQUIRED_CHECKS) <= produced


def test_every_job_has_least_privilege_and_every_action_is_pinned(workflows):
    for name, text in workflows.items():
        doc = _load(text)
        assert doc["permissions"] == {}, name
        for job in doc["jobs"].values():
            assert "permissions" in job, (name, job["name"])
            assert job["permissions"] == {} or all(
                v in ("read", "write") for v in job["permissions"].values()
            )
            for step in job["steps"]:
                if "uses" in step:
                    line = next(ln for ln in text.splitlines() if step["uses"] in ln)
                    assert PINNED.match(line.split("uses: ", 1)[1]), line


def test_gates_and_signers_would_pass_the_builder_lane_audit(workflows):
    # The gates only read; the signing workflows hold an OIDC token and use it to sign.
    files = {f".github/workflows/{n}": t.encode() for n, t in workflows.items()}
    lanes = ("slsa-verification.yml", "policy-verification.yml", "story-release-gate.yml")
    signers = ("sign-policies.yml", "sign-artifacts.yml")
    assert audit_workflows(LanePolicy(builder=(*lanes, *signers)), files) == []


def test_the_story_release_gate_is_a_marked_template_that_fails(workflows):
    text = workflows["story-release-gate.yml"]
    assert TEMPLATE_MARKER in text and "exit 1" in text


def test_existing_files_are_kept_unless_forced(tmp_path, workflows):
    write_sop_workflows(tmp_path, workflows)
    with pytest.raises(LeoError, match="--force"):
        write_sop_workflows(tmp_path, workflows)
    assert len(write_sop_workflows(tmp_path, workflows, force=True)) == len(workflows)


def test_a_hostile_install_spec_is_refused():
    with pytest.raises(LeoError):
        render_sop_workflows('leo-gate" && curl evil')


def _zizmor() -> str:
    exe = Path(sys.executable).with_name("zizmor")
    found = str(exe) if exe.exists() else shutil.which("zizmor")
    if not found:
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_each_generated_workflow_passes_zizmor(tmp_path, workflows, persona):
    paths = [str(p.relative_to(tmp_path)) for p in write_sop_workflows(tmp_path, workflows)]
    done = subprocess.run(
        [_zizmor(), "--offline", "--format", "json", "--persona", persona, *paths],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == [], done.stdout


def test_leo_init_github_writes_the_sop_set_and_refuses_to_clobber(tmp_path, leo_cli):
    done = leo_cli("init", "github", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / ".github/workflows").iterdir())
    assert written == sorted(["leo-verify.yml", *render_sop_workflows()])
    again = leo_cli("init", "github", "--dir", str(tmp_path))
    assert again.returncode == 2 and "--force" in again.stderr
    bare = tmp_path / "bare"
    assert leo_cli("init", "github", "--dir", str(bare), "--no-sop").returncode == 0
    assert [p.name for p in (bare / ".github/workflows").iterdir()] == ["leo-verify.yml"]
