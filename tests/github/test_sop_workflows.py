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


_FAKE_GH = """#!/bin/sh
# gh as the fetch step calls it: the run list, the contents API, the download.
case "$1 $2" in
  "run list") printf '%s' "$FAKE_RUN"; exit 0 ;;
  "run download") mkdir -p signed; exit 0 ;;
esac
case "$FAKE_CONTENTS" in
  200) echo '{"sha": "0123"}'; exit 0 ;;
  404) echo "gh: Not Found (HTTP 404)" >&2; exit 1 ;;
  *) echo "gh: Server Error (HTTP $FAKE_CONTENTS)" >&2; exit 1 ;;
esac
"""


def _fetch(workflows, name, tmp_path, *, run: str, contents: str):
    """Run the generated fetch step's shell with a stand-in ``gh``; (exit code, outputs, log)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    step = next(
        s
        for s in next(iter(_load(workflows[name])["jobs"].values()))["steps"]
        if s.get("id") == "fetch"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(_FAKE_GH)
    gh.chmod(0o755)
    output = tmp_path / "output"
    output.write_text("")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "REPO": "acme/widgets",
        "BRANCH": "main",
        "BASE": "a" * 40,
        "GH_TOKEN": "unused",
        "FAKE_RUN": run,
        "FAKE_CONTENTS": contents,
    }
    done = subprocess.run(
        ["bash", "-c", step["run"]], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    return done.returncode, output.read_text(), done.stdout + done.stderr


VERIFIERS = ("slsa-verification.yml", "policy-verification.yml")


@pytest.mark.parametrize("name", VERIFIERS)
def test_a_new_repository_without_the_signing_workflow_passes_with_a_notice(
    workflows, name, tmp_path
):
    code, outputs, log = _fetch(workflows, name, tmp_path, run="", contents="404")
    assert code == 0, log
    assert "found=false" in outputs and "::notice::" in log


@pytest.mark.parametrize("name", VERIFIERS)
def test_a_repository_that_signs_but_has_no_successful_run_fails(workflows, name, tmp_path):
    # The signing workflow is in the base commit: its runs were deleted or it never succeeded.
    code, outputs, log = _fetch(workflows, name, tmp_path, run="", contents="200")
    assert code == 1, log
    assert "found=" not in outputs and "::error::" in log


@pytest.mark.parametrize("name", VERIFIERS)
def test_an_unanswered_question_about_the_base_fails(workflows, name, tmp_path):
    code, outputs, log = _fetch(workflows, name, tmp_path, run="", contents="502")
    assert code == 1, log
    assert "found=" not in outputs and "cannot tell" in log


@pytest.mark.parametrize("name", VERIFIERS)
def test_the_newest_successful_signing_run_is_fetched(workflows, name, tmp_path):
    code, outputs, log = _fetch(workflows, name, tmp_path, run="4242", contents="404")
    assert code == 0, log
    assert "found=true" in outputs
