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
SHA = "4dd5e3cff72935bda9e0487caba64d61855a9152"
SRC = f"acme/leo@{SHA}"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)@(\S+)(?:\s+#\s*(.+))?$", re.M)


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
        [*(sys.executable, "-m", "leo", "init", "github", "--dir", str(root)), "--source", SRC],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return root


def test_generated_workflow_and_action_pass_zizmor(generated):
    (generated / "action.yml").write_text((ROOT / "action.yml").read_text())
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


def test_the_action_at_the_repo_root_is_the_rendered_one():
    from leo.github.workflow import render_action

    assert (ROOT / "action.yml").read_text() == render_action()


def test_every_uses_pin_is_a_full_sha_whose_comment_names_its_release(generated):
    from leo.__about__ import __version__
    from leo.github.workflow import PINNED_ACTIONS

    texts = [p.read_text() for p in sorted((generated / ".github/workflows").glob("*.yml"))]
    texts.append((ROOT / "action.yml").read_text())
    pins = [pin for text in texts for pin in USES.findall(text)]
    assert {name for name, _, _ in pins} <= {*PINNED_ACTIONS, "acme/leo"}
    assert {"actions/upload-artifact", "actions/download-artifact"} <= {n for n, _, _ in pins}
    for name, ref, comment in pins:
        assert re.fullmatch(r"[0-9a-f]{40}", ref), (name, ref)
        expected = (SHA, f"LEO {__version__}") if name == "acme/leo" else PINNED_ACTIONS[name]
        assert (ref, comment.strip()) == expected, name


def test_no_generated_workflow_installs_leo_by_an_index_name(generated):
    for path in (generated / ".github/workflows").glob("*.yml"):
        text = path.read_text()
        assert "leo-gate==" not in text, path.name
        for line in text.splitlines():
            if "LEO_INSTALL:" in line:
                assert f"leo-gate@git+https://github.com/acme/leo@{SHA}" in line, path.name


def test_leos_action_and_install_come_from_the_pinned_commit_never_an_index_name(generated):
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((generated / ".github/workflows/leo-verify.yml").read_text())
    install = doc["env"]["LEO_INSTALL"].split()
    assert len(install) == 6
    assert all(f"git+https://github.com/acme/leo@{SHA}" in req for req in install)
    from packaging.requirements import Requirement

    names = {Requirement(req).name for req in install}
    assert names == {"leo-gate", "leo-security", "leo-database", "leo-testing"} | {
        "leo-performance",
        "leo-design",
    }
    for job in ("evidence", "trusted"):
        steps = json.dumps(doc["jobs"][job]["steps"])
        assert 'pip\\" install --quiet $LEO_INSTALL' in steps, job


def test_without_a_known_source_the_workflow_carries_a_loud_placeholder(tmp_path, leo_cli):
    done = leo_cli("init", "github", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "--source OWNER/REPO@<40-hex sha>" in done.stderr
    text = (tmp_path / ".github/workflows/leo-verify.yml").read_text()
    assert "github.com/SET-LEO-SOURCE/run-leo-init-github-with--source@" + "0" * 40 in text
    assert "leo-gate==" not in text


@pytest.mark.parametrize("source", ["acme/leo@main", "acme/leo@4dd5e3c", "leo@" + "a" * 40])
def test_a_source_not_pinned_to_a_full_commit_is_refused(tmp_path, leo_cli, source):
    done = leo_cli("init", "github", "--dir", str(tmp_path), "--source", source)
    assert done.returncode == 2 and "40-hex" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / ".github").exists()


def test_action_flag_explains_that_nothing_is_copied(tmp_path, leo_cli):
    done = leo_cli("init", "github", "--dir", str(tmp_path), "--action")
    assert done.returncode == 2 and "uses: OWNER/REPO@<sha>" in done.stderr
    assert not (tmp_path / "action.yml").exists()


def test_running_source_reads_pips_direct_url_record(monkeypatch):
    import importlib.metadata

    from leo.github import workflow

    class Dist:
        def __init__(self, text: str | None) -> None:
            self.text = text

        def read_text(self, name: str) -> str | None:
            return self.text

    record = {"url": "https://github.com/acme/leo.git", "vcs_info": {"vcs": "git"}}
    for url, commit, expected in [
        ("https://github.com/acme/leo.git", SHA, workflow.Source("acme/leo", SHA)),
        ("https://github.com/acme/leo", SHA, workflow.Source("acme/leo", SHA)),
        ("file:///src/leo", SHA, None),
        ("https://github.com/acme/leo", "main", None),
    ]:
        text = json.dumps({**record, "url": url, "vcs_info": {"vcs": "git", "commit_id": commit}})
        monkeypatch.setattr(importlib.metadata, "distribution", lambda _n, t=text: Dist(t))
        assert workflow.running_source() == expected, url
    monkeypatch.setattr(importlib.metadata, "distribution", lambda _n: Dist(None))
    assert workflow.running_source() is None


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
    evidence = json.dumps(jobs["evidence"])
    assert "secrets." not in evidence
    assert "apt-get install -y -qq bubblewrap" in evidence
    assert all(f"agent run {a}" not in evidence for a in ("security", "design"))
    assert "for agent in testing performance database;" in evidence
    # The trusted job runs no code of the PR: only static agents, no re-runs, a signed verdict,
    # and it takes evidence (result envelopes) from the artifact, never a report.
    trusted = json.dumps(jobs["trusted"])
    assert "leo verify" not in trusted and "leo verify" not in json.dumps(jobs["authorize"])
    assert "for agent in security design;" in trusted
    assert all(f"agent run {a}" not in trusted for a in ("testing", "performance", "database"))
    assert "--no-rerun" in trusted and '--sign \\"key:$key\\"' in trusted
    assert "--unsigned" not in text and "--report leo-report.json --attestation" in trusted
    assert "refs/leo/base:.leo/vsa.pub" in trusted
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


def test_example_workflows_and_docs_pin_every_uses_to_the_table():
    """Not only what ``leo init github`` writes: a workflow a user copies from examples/ or
    the docs is pinned the same way (examples/ci once used ``actions/checkout@v4``)."""
    from leo.github.workflow import PINNED_ACTIONS

    files = [
        *(ROOT / "examples").rglob("*.yml"),
        *(ROOT / "docs").rglob("*.md"),
        ROOT / "README.md",
    ]
    pins = [(f.name, *pin) for f in files for pin in USES.findall(f.read_text())]
    assert any(name == "github-actions.yml" for name, *_ in pins)
    for where, name, ref, comment in pins:
        if "<" in name + ref or name.startswith("OWNER/"):
            continue  # a placeholder the reader fills in: <owner>/leo@<commit-sha>
        assert name in PINNED_ACTIONS, (where, name)
        assert (ref, comment.strip()) == PINNED_ACTIONS[name], (where, name, ref, comment)


def test_the_ci_example_workflow_passes_zizmor():
    example = ROOT / "examples" / "ci" / "github-actions.yml"
    done = subprocess.run(
        [_zizmor(), "--offline", "--format", "json", "--persona", "regular", str(example)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == [], done.stdout
