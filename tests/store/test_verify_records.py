"""``leo verify`` records its verdict before publishing it, and fails closed when it cannot."""

from __future__ import annotations

import json

import pytest

from leo.store.repository import AuditStore
from leo.store.tables import GateRow, VerificationRow

AGENT = """
from leo import SubAgent, hookimpl

class Quick(SubAgent):
    name = "quick"
    timeout = 30

    async def check(self, change):
        return self.result([], summary="nothing to see")

@hookimpl
def leo_register_subagents():
    return [Quick]
"""


@pytest.fixture
def verify(tmp_path, leo_repo, leo_cli):
    (tmp_path / "leo_quick_agent.py").write_text(AGENT)
    repo = leo_repo(
        base={"app.py": "x = 1\n", "pyproject.toml": "[project]\nname = 'x'\n"},
        head={"app.py": "x = 2\n"},
    )

    def run(*args, env=None):
        full_env = {"PYTHONPATH": str(tmp_path), "LEO_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})}
        return leo_cli(
            "verify",
            "--repo",
            str(repo.path),
            "--base",
            "main",
            "--head",
            "feature",
            "-p",
            "leo_quick_agent",
            "--agents",
            "quick",
            "-q",
            *args,
            env=full_env,
        )

    run.repo = repo
    return run


def test_verdict_is_recorded_with_its_gate_rows(store_url, verify, leo_cli):
    done = verify("--pr", "3", "--format", "json", env={"LEO_DATABASE_URL": store_url})
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["reasons"]
    hist = leo_cli("history", "--pr", "3", "--format", "json", "--database-url", store_url)
    [entry] = json.loads(hist.stdout)
    assert (entry["verdict"], entry["head_sha"], entry["pr_number"]) == (
        report["verdict"],
        report["head_sha"],
        3,
    )
    with AuditStore.open(store_url) as store:
        [gate] = store.gate_executions(entry["seq"])
        assert (gate.name, gate.status, gate.kind) == ("quick", "passed", "subagent")
        assert store.verify_chain().intact


@pytest.mark.parametrize(
    "url",
    ["postgresql://leo@127.0.0.1:1/nowhere", "sqlite:///{file}/cannot/audit.db"],
    ids=["unreachable-postgresql", "unwritable-sqlite"],
)
def test_store_failure_gives_no_verdict_and_exits_5(verify, tmp_path, url):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = verify("--format", "json", env={"LEO_DATABASE_URL": url.format(file=blocker)})
    assert done.returncode == 5
    assert done.stdout == ""
    assert "the verdict was NOT recorded" in done.stderr
    assert "Traceback" not in done.stderr


def test_database_url_comes_from_the_base_policy(verify, tmp_path, monkeypatch):
    db = tmp_path / "from-config.db"
    verify.repo.commit({})  # keep history simple: the policy is read from main
    from leo.testing import git

    git(verify.repo.path, "checkout", "-q", "main")
    (verify.repo.path / "leo.toml").write_text(f'database_url = "sqlite:///{db}"\n')
    git(verify.repo.path, "add", "-A")
    git(verify.repo.path, "commit", "-q", "-m", "policy")
    git(verify.repo.path, "checkout", "-q", "feature")
    git(verify.repo.path, "merge", "-q", "--no-edit", "main")
    monkeypatch.delenv("LEO_DATABASE_URL")
    done = verify("--pr", "4")
    assert done.returncode == 0, done.stderr
    with AuditStore.open(f"sqlite:///{db}") as store:
        assert store.count(VerificationRow) == 1
        assert store.count(GateRow) == 1


def test_bad_database_url_is_a_usage_error(verify):
    done = verify(env={"LEO_DATABASE_URL": "mysql://root@localhost/x"})
    assert done.returncode == 2
    assert "unsupported audit database mysql://" in done.stderr


def test_store_commands_are_listed_in_help(leo_cli):
    done = leo_cli("--help")
    for name in ("history", "lead", "audit"):
        assert name in done.stdout
