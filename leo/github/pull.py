"""Reading a pull request: its SHAs, every changed file, its commits and its labels.

Everything the PR's author controls (title, branch names, commit messages, file names) is data:
it is stored, never interpreted or passed to a shell. A listing the API cannot return in full
(more than 3,000 files or 250 commits) is marked incomplete, and the verdict FAILs closed on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from leo.github.client import GitHubError, api
from leo.models import LeoModel

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest

#: The REST API lists at most this many files of a pull request, and this many commits.
MAX_API_FILES = 3000
MAX_API_COMMITS = 250


class PullCommit(LeoModel):
    """A commit of the PR, with its message (handoff markers are read from it, as claims)."""

    sha: str
    """The commit's SHA."""
    message: str
    """Its full message: attacker-controlled text."""
    committed_at: datetime | None = None
    """Committer date (claimed by the author; used only to time a gate that never reported)."""


class PullRequestInfo(LeoModel):
    """What LEO read of a pull request, pinned to the head SHA it saw."""

    repository: str
    """``owner/name`` of the base repository."""
    number: int
    """The PR number."""
    title: str = ""
    """The PR title (untrusted text)."""
    state: str
    """``open`` or ``closed``."""
    head_sha: str
    """Head commit when read; the verdict is bound to it."""
    head_ref: str = ""
    """The head branch name (untrusted text)."""
    base_sha: str
    """Tip of the base branch GitHub recorded for the PR."""
    base_ref: str
    """The base branch name."""
    clone_url: str
    """Clone URL of the base repository (``refs/pull/N/head`` lives there, forks included)."""
    changed_files: int
    """How many files GitHub says the PR changes."""
    files: tuple[str, ...] = ()
    """The changed files the API listed."""
    files_complete: bool = True
    """False when the API could not list every changed file."""
    commits: tuple[PullCommit, ...] = ()
    """The PR's commits, oldest first."""
    commits_complete: bool = True
    """False when the API could not list every commit."""
    labels: tuple[str, ...] = ()
    """Label names on the PR."""


def open_pull(gh: Github, repository: str, number: int) -> PullRequest:
    """The PR object (one GET), with a clear error for a missing repository or PR."""
    from github.GithubException import UnknownObjectException

    with api(f"reading pull request #{number} of {repository}"):
        try:
            repo = gh.get_repo(repository)
            pr = repo.get_pull(number)
            _ = pr.head.sha  # completes the object: the one GET of the PR
        except UnknownObjectException:
            msg = (
                f"pull request #{number} of {repository} not found; check --pr and "
                "--github-repo (and that the token can read the repository)"
            )
            raise GitHubError(msg) from None
    return pr


def read_pull(gh: Github, repository: str, number: int) -> PullRequestInfo:
    """Read the PR, its files (paginated, in full or marked incomplete), commits and labels."""
    pr = open_pull(gh, repository, number)
    with api(f"reading pull request #{number} of {repository}"):
        changed = int(pr.changed_files)
        files = [f.filename for f in pr.get_files()]
        commit_count = int(pr.commits)
        commits = [
            PullCommit(
                sha=c.sha,
                message=c.commit.message or "",
                committed_at=c.commit.committer.date if c.commit.committer else None,
            )
            for c in pr.get_commits()
        ]
        info: dict[str, Any] = {
            "repository": repository,
            "number": number,
            "title": pr.title or "",
            "state": pr.state,
            "head_sha": pr.head.sha,
            "head_ref": pr.head.ref,
            "base_sha": pr.base.sha,
            "base_ref": pr.base.ref,
            "clone_url": pr.base.repo.clone_url,
            "labels": tuple(label.name for label in pr.labels),
        }
    return PullRequestInfo(
        **info,
        changed_files=changed,
        files=tuple(files),
        files_complete=changed <= MAX_API_FILES and len(set(files)) >= changed,
        commits=tuple(commits),
        commits_complete=commit_count <= MAX_API_COMMITS and len(commits) >= commit_count,
    )


def current_head(gh: Github, repository: str, number: int) -> str:
    """The PR's head SHA now (re-read before the final status: a moved PR makes a stale verdict)."""
    return str(open_pull(gh, repository, number).head.sha)
