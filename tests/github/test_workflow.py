"""`leo init github` writes a workflow that zizmor passes and that keeps PR code from secrets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _zizmor() -> str:
    exe = Path(sys.executable).with_name("zizmor")
    found = str(exe) if exe.exists() else shutil.which("zizmor")
    if not found:
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("init")
    done = subprocess.run(
        [sys.executable, "-m", "leo", "init", "github", "--dir", str(root), "--action"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return root


def test_generated_workflow_and_action_pass_zizmor(generated):
    files = [".github/workflows/leo-verify.yml", "action.yml"]
    for persona in ("regular", "pedantic"):
        done = subprocess.run(
            [_zizmor(), "--offline", "--format", "json", "--persona", persona, *files],
            cwd=generated,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout) == [], done.stdout


def test_the_action_at_the_repo_root_is_the_generated_one(generated):
    assert (ROOT / "action.yml").read_text() == (generated / "action.yml").read_text()


def test_workflow_shape(generated):
    yaml = pytest.importorskip("yaml")
    text = (generated / ".github/workflows/leo-verify.yml").read_text()
    doc = yaml.safe_load(text)
    on = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads `on` as True
    assert list(on) == ["issue_comment"] and on["issue_comment"]["types"] == ["created"]
    assert doc["permissions"] == {}
    assert "github.event.issue.number" in doc["concurrency"]["group"]
    jobs = doc["jobs"]
    assert "github.event.comment.user.type != 'Bot'" in jobs["authorize"]["if"]
    assert "collaborators/$COMMENTER/permission" in text
    assert "github.event.comment.author_association" not in text
    # PR code runs only in `evidence`, whose token cannot write and which holds no secret.
    assert list(jobs) == ["authorize", "evidence", "trusted"]
    assert all(v in ("read", "none") for v in jobs["evidence"]["permissions"].values())
    assert "secrets." not in json.dumps(jobs["evidence"])
    assert "apt-get install -y -qq bubblewrap" in json.dumps(jobs["evidence"])
    evidence = json.dumps(jobs["evidence"])
    assert all(a in evidence for a in ("testing", "performance", "database"))
    # The trusted job runs no code of the PR: only static agents, no re-runs, a signed verdict.
    trusted = json.dumps(jobs["trusted"])
    assert "leo verify" not in trusted and "leo verify" not in json.dumps(jobs["authorize"])
    assert "for agent in security design;" in trusted
    assert all(f"agent run {a}" not in trusted for a in ("testing", "performance", "database"))
    assert "--no-rerun" in trusted and '--sign \\"key:$key\\"' in trusted
    assert "--attestation leo-vsa.json" in trusted and "refs/leo/base:.leo/vsa.pub" in trusted
    assert "persist-credentials" not in text and "actions/checkout" not in text
    # Untrusted event text reaches shell steps only through env.
    for job in jobs.values():
        for step in job["steps"]:
            assert not re.search(r"\$\{\{", step.get("run", "")), step["run"]
            for value in step.get("env", {}).values():
                assert (
                    "comment.body" not in value
                    or value.strip() == "${{ github.event.comment.body }}"
                )


def test_init_refuses_to_overwrite_without_force(tmp_path, leo_cli):
    workflow = tmp_path / ".github/workflows/leo-verify.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("# the team's own\n")
    again = leo_cli("init", "github", "--dir", str(tmp_path))
    assert again.returncode == 2 and "--force" in again.stderr
    assert workflow.read_text() == "# the team's own\n"
