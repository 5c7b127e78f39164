"""Throw-away git repositories built from dicts of files, for tests and conformance checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio

from leo.change import Change, gather_change
from leo.git import run_git_sync

Files = Mapping[str, str | bytes | None]
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "LEO test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "LEO test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; return stdout."""
    return run_git_sync(
        repo, *args, env={**os.environ, **_GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    )


def write_files(repo: Path, files: Files) -> None:
    """Write (``str``/``bytes``) or delete (``None``) files below ``repo``."""
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@dataclass
class Repo:
    """A throw-away repository with ``main`` (base) and ``feature`` (head)."""

    path: Path
    base: str = "main"
    head: str = "feature"

    def commit(self, files: Files, message: str = "more changes") -> str:
        """Add a commit to the head branch; return its SHA."""
        write_files(self.path, files)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD").strip()

    def change(self) -> Change:
        """The ``Change`` between base and head, as ``leo verify`` gathers it."""
        return anyio.run(gather_change, self.path, self.base, self.head)


def make_repo(path: Path, base: Files, head: Files, *, message: str = "the change") -> Repo:
    """Create a repository at ``path``: ``base`` committed on main, then ``head`` on feature."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    repo = Repo(path)
    repo.commit(base, "base")
    git(path, "checkout", "-q", "-b", "feature")
    repo.commit(head, message)
    return repo
