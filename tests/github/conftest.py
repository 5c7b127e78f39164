"""A pull request world: a git repository served as the PR's clone URL and a fake GitHub API."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from leo.testing import Repo, git, make_repo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fake_github import FakeGitHub, Pull  # noqa: E402

NUMBER = 7
TOKEN = "ghp_test_token"
GATE_STATUS = "Story Release Gate Check / Check Story Release Gate"
GATE_RUNS = ("Verify SLSA Provenance", "Validate Policy Bundle")
BASE_POLICY = """\
[tool.leo.github]
poll_interval_s = 0.2
"""


@dataclass
class World:
    fake: FakeGitHub
    repo: Repo
    number: int
    env: dict[str, str]
    leo_cli: Any
    runs: list[Any] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.fake.pulls[self.number].head_sha

    def pass_gates(self, sha: str) -> None:
        self.fake.add_status(sha, GATE_STATUS, "success")
        for name in GATE_RUNS:
            self.fake.add_check_run(sha, name)

    def push(self, files: dict[str, str], *, gates: bool = True) -> str:
        """A new commit on the PR's branch, as a push would make it; returns the new head."""
        sha = self.repo.commit(files, "a later push")
        git(self.repo.path, "update-ref", f"refs/pull/{self.number}/head", sha)
        with self.fake.lock:
            pr = self.fake.pulls[self.number]
            pr.head_sha = sha
            pr.commits.append((sha, "a later push"))
            pr.files = sorted(set(pr.files) | set(files))
        if gates:
            self.pass_gates(sha)
        return sha

    def leo(self, *args: str, env: dict[str, str] | None = None) -> Any:
        done = self.leo_cli(*args, env={**self.env, **(env or {})}, timeout=120)
        self.runs.append(done)
        return done

    def verify(self, *args: str, publish: bool = True, env: dict[str, str] | None = None) -> Any:
        flags = ["--publish"] if publish else []
        return self.leo(
            "verify",
            "--pr",
            str(self.number),
            "--github-repo",
            self.fake.repository,
            "--agents",
            "oracle",
            "-p",
            "leo_oracle_plugin",
            "--format",
            "json",
            "-q",
            *flags,
            *args,
            env=env,
        )

    def verify_here(
        self, *, publish: bool = True, wait: bool = False, env: dict[str, str] | None = None
    ) -> Any:
        """``leo verify --pr`` in this process (the same function the CLI calls), for speed."""
        import anyio

        from leo.github.verify import verify_pull_request
        from leo.plugins import load_plugins

        plugins = load_plugins(["leo_oracle_plugin"])
        full_env = {**os.environ, **self.env, **(env or {})}

        async def main() -> Any:
            report, _warnings = await verify_pull_request(
                self.number,
                plugins=plugins,
                requested=["oracle"],
                github_repo=self.fake.repository,
                publish=publish,
                wait=wait,
                env=full_env,
            )
            return report

        return anyio.run(main)

    @staticmethod
    def report(done: Any) -> dict[str, Any]:
        assert done.stdout, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def world(tmp_path: Path, leo_cli: Any) -> Iterator[Any]:
    """Factory: ``world(oracle="pass", labels=("claude-enforcing",), gates=True)``."""
    fakes: list[FakeGitHub] = []

    def make(
        oracle: str = "pass",
        labels: tuple[str, ...] = ("claude-enforcing",),
        gates: bool = True,
        policy: str = BASE_POLICY,
    ) -> World:
        repo = make_repo(
            tmp_path / "origin",
            {"README.md": "base\n", "pyproject.toml": policy},
            {"ORACLE": oracle + "\n", "app.py": "x = 1\n"},
        )
        head = git(repo.path, "rev-parse", "feature").strip()
        base = git(repo.path, "rev-parse", "main").strip()
        git(repo.path, "update-ref", f"refs/pull/{NUMBER}/head", head)
        fake = FakeGitHub(clone_url=f"file://{repo.path}").start()
        fakes.append(fake)
        fake.tokens = {"pat": f"token {TOKEN}"}
        fake.pulls[NUMBER] = Pull(
            number=NUMBER,
            head_sha=head,
            base_sha=base,
            files=["ORACLE", "app.py"],
            commits=[(head, "the change\n\nPLAN-SUPERVISOR: PASS")],
            labels=list(labels),
        )
        env = {
            "GITHUB_API_URL": fake.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "",
            "GITHUB_RUN_ID": "",
            "LEO_GITHUB_APP_ID": "",
            "LEO_GITHUB_THROTTLE": "0",
            "LEO_GITHUB_BACKOFF": "0.05",
            "LEO_GITHUB_MAX_WAIT": "5",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        }
        w = World(fake, repo, NUMBER, env, leo_cli)
        if gates:
            w.pass_gates(head)
        return w

    yield make
    for fake in fakes:
        fake.stop()
