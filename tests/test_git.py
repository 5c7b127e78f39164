"""LEO's git calls never run the repository's executables (hooks, fsmonitor, pager)."""

from __future__ import annotations

import anyio
import pytest

from leo.errors import GitError
from leo.git import run_git, run_git_sync
from leo.repos import git


def _trap(repo, marker):
    script = f"#!/bin/sh\necho ran >> {marker}\n"
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        path = repo.path / ".git" / "hooks" / hook
        path.write_text(script)
        path.chmod(0o755)
    monitor = repo.path / ".git" / "monitor.sh"
    monitor.write_text(script)
    monitor.chmod(0o755)
    git(repo.path, "config", "core.fsmonitor", str(monitor))
    git(repo.path, "config", "core.pager", f"sh -c 'echo ran >> {marker}; cat'")


def test_worktrees_and_reads_run_no_hook_no_fsmonitor_no_pager(leo_repo, tmp_path):
    repo = leo_repo(base={"a.py": "x = 1\n"}, head={"a.py": "x = 2\n"})
    marker = tmp_path / "ran"
    _trap(repo, marker)
    change = repo.change()

    async def use_worktree() -> None:
        async with change.worktree("head") as tree:
            assert (tree / "a.py").read_text() == "x = 2\n"
        await run_git(repo.path, "status", "--porcelain")
        await run_git(repo.path, "log", "-1")

    anyio.run(use_worktree)
    assert not marker.exists()


def test_a_failing_or_slow_git_call_is_one_git_error(tmp_path):
    with pytest.raises(GitError, match="failed in"):
        run_git_sync(tmp_path, "rev-parse", "--verify", "HEAD")
    slow = {"PATH": "/usr/bin:/bin", "GIT_SSH_COMMAND": "sleep 30;"}  # a transport that hangs
    with pytest.raises(GitError, match=r"did not finish within 0\.5s"):
        anyio.run(
            lambda: run_git(tmp_path, "ls-remote", "ssh://example.invalid/x", env=slow, timeout=0.5)
        )
