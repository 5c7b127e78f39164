"""The pull request as a ``Change``: ``refs/pull/N/head`` fetched into a throw-away repository.

The head is fetched from the base repository (where GitHub keeps ``refs/pull/N/head`` for forks
too) and checked against the SHA read from the API, so the change verified is exactly the one
the verdict will be posted on. The diff is the merge-base diff GitHub shows, computed by the same
``gather_change`` as the local mode.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from leo.change import gather_change
from leo.errors import GitError
from leo.git import run_git

if TYPE_CHECKING:
    from leo.change import Change
    from leo.github.pull import PullRequestInfo

_FETCH_TIMEOUT_S = 900


class StaleHeadError(GitError):
    """The PR moved between reading it and fetching it."""


def _git_env(pr: PullRequestInfo, token: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        # No ext:: or other exotic transports from a URL LEO did not type.
        "GIT_ALLOW_PROTOCOL": "https:http:ssh:git:file",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if token and pr.clone_url.startswith("https://"):
        # The token goes through the environment (never argv, which other users can read).
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    return env


async def _git(repo: str, *args: str, env: dict[str, str] | None = None) -> str:
    try:
        result = await run_git(repo, *args, env=env, timeout=_FETCH_TIMEOUT_S, check=False)
    except GitError:
        result = None
    if result is None or result.returncode != 0:
        why = "timed out" if result is None else result.stderr_text.strip()[-500:]
        msg = f"git {args[0]} of the pull request failed: {why}"
        raise GitError(msg)
    return result.stdout_text.strip()


@contextlib.asynccontextmanager
async def pull_change(pr: PullRequestInfo, token: str | None = None) -> AsyncIterator[Change]:
    """Fetch the PR into a temporary repository and yield its ``Change`` (removed afterwards)."""
    if pr.base_ref.startswith("-") or not pr.base_ref:
        msg = f"pull request #{pr.number} has an invalid base branch {pr.base_ref!r}"
        raise GitError(msg)
    env = _git_env(pr, token)
    with tempfile.TemporaryDirectory(prefix=f"leo-pr-{pr.number}-") as tmp:
        repo = os.path.join(tmp, "repo")
        os.mkdir(repo)
        await _git(repo, "init", "--quiet")
        await _git(
            repo,
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-recurse-submodules",
            "--",
            pr.clone_url,
            f"+refs/pull/{pr.number}/head:refs/leo/head",
            f"+refs/heads/{pr.base_ref}:refs/leo/base",
            env=env,
        )
        for sha, what in ((pr.head_sha, "head"), (pr.base_sha, "base")):
            ok = await run_git(repo, "cat-file", "-e", f"{sha}^{{commit}}", timeout=60, check=False)
            if ok.returncode != 0:
                msg = (
                    f"the {what} commit {sha[:12]} of pull request #{pr.number} is not in what "
                    "GitHub served (the PR moved while LEO read it); re-run `leo verify --pr`"
                )
                raise StaleHeadError(msg)
        merge_base = await _git(repo, "merge-base", pr.base_sha, pr.head_sha)
        change = await gather_change(repo, merge_base, pr.head_sha)
        yield change.model_copy(
            update={"base_ref": pr.base_ref, "head_ref": f"pull/{pr.number}/head"}
        )
