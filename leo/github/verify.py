"""``leo verify --pr N``: read the PR, fetch it, wait for the gates, verify, publish.

The sub-agents run through ``leo.supervisor.verify``, the same pipeline as the local mode; this
module adds what only GitHub knows: whether the API listed the whole PR, the other required
gates, and whether the head moved while LEO worked.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from leo.errors import LeoError
from leo.github.client import check_repo_name, connect, repo_from_remote, token_for_git
from leo.github.fetch import pull_change
from leo.github.gates import evaluate, gate_requirements, observe, waiting
from leo.github.publish import Target, mark_stale, publish_failure, publish_outcome, publish_pending
from leo.github.pull import MAX_API_COMMITS, MAX_API_FILES, PullRequestInfo, current_head, read_pull
from leo.github.settings import github_settings
from leo.models import Requirement
from leo.process import run_tool

if TYPE_CHECKING:
    from github import Github

    from leo.cache import ResultCache
    from leo.change import Change
    from leo.config import Config
    from leo.models import Report
    from leo.plugins import Plugins
    from leo.runner import Progress


async def resolve_repository(explicit: str | None, env: Mapping[str, str], cwd: str) -> str:
    """``--github-repo``, else ``GITHUB_REPOSITORY``, else the ``origin`` remote of ``cwd``."""
    if explicit:
        return check_repo_name(explicit, "--github-repo")
    if env.get("GITHUB_REPOSITORY"):
        return check_repo_name(env["GITHUB_REPOSITORY"], "GITHUB_REPOSITORY")
    remote = await run_tool(["git", "-C", cwd, "remote", "get-url", "origin"], timeout=30)
    name = repo_from_remote(remote.stdout_text) if remote.returncode == 0 else None
    if name is None:
        msg = "which GitHub repository? pass --github-repo OWNER/NAME or set GITHUB_REPOSITORY"
        raise LeoError(msg)
    return check_repo_name(name, "the origin remote's repository")


def listing_requirements(pr: PullRequestInfo) -> list[Requirement]:
    """The PR must be listed in full; a partial listing is not fully analysed and FAILs."""
    out = [
        Requirement(
            name="pull request fully listed",
            met=pr.files_complete,
            detail=(
                f"GitHub listed all {pr.changed_files} changed files"
                if pr.files_complete
                else f"not fully analysed: the PR changes {pr.changed_files} files and the API "
                f"lists at most {MAX_API_FILES} (it listed {len(pr.files)}); split the PR"
            ),
        )
    ]
    if not pr.commits_complete:
        out.append(
            Requirement(
                name="commits fully listed",
                met=False,
                detail=f"not fully analysed: the API lists at most {MAX_API_COMMITS} commits of a "
                f"PR and this one has more; split the PR",
            )
        )
    return out


async def verify_pull_request(
    number: int,
    *,
    plugins: Plugins,
    requested: Sequence[str] | None,
    github_repo: str | None = None,
    cwd: str = ".",
    config_path: Path | None = None,
    timeout: float | None = None,
    jobs: int | None = None,
    publish: bool = False,
    wait: bool = False,
    progress: Progress | None = None,
    notice: Callable[[str], None] = lambda _msg: None,
    env: Mapping[str, str] | None = None,
    record: Callable[[Report, Config], None] | None = None,
    cache: ResultCache | None = None,
    requirements_for: Callable[[Change, str], Awaitable[list[Requirement]]] | None = None,
) -> tuple[Report, list[str]]:
    """Verify pull request ``number``; publish status, comment and labels when ``publish``.

    ``record`` stores the report in the audit store; it runs before the final status is
    posted, so a verdict is never published that was not recorded.
    """
    from leo.config import load_config
    from leo.supervisor import select_agents
    from leo.supervisor import verify as run_verification

    env = os.environ if env is None else env
    if number < 1:
        msg = f"--pr {number} is not a pull request number; give a positive integer"
        raise LeoError(msg)
    repository = await resolve_repository(github_repo, env, cwd)
    gh = connect(env)
    pr = await anyio.to_thread.run_sync(read_pull, gh, repository, number)
    if pr.state != "open":
        notice(f"pull request #{number} is {pr.state}")
    notice(f"reading #{number} of {repository}: head {pr.head_sha[:12]}, {pr.changed_files} files")

    async with pull_change(pr, token_for_git(env)) as change:
        config, _source = await load_config(change, config_path)
        settings = github_settings(config.github)
        names = select_agents(plugins, config, requested)
        target = Target(
            repository,
            number,
            pr.head_sha,
            context=settings.status_context,
            comment=settings.comment,
            labels=settings.labels,
        )
        if publish:
            await anyio.to_thread.run_sync(publish_pending, gh, target)
        try:
            head_time = next((c.committed_at for c in pr.commits if c.sha == pr.head_sha), None)
            started = time.monotonic()
            moved_to: str | None = None
            while True:
                seen = await anyio.to_thread.run_sync(observe, gh, repository, pr.head_sha)
                gates = evaluate(settings.required_checks, seen, head_time)
                pending = waiting(gates, datetime.now(UTC), settings.escalate_after_s)
                if not pending or not wait:
                    break
                if time.monotonic() - started > settings.escalate_after_s:
                    break
                notice(f"waiting for {', '.join(g.name for g in pending)}")
                await anyio.sleep(settings.poll_interval_s)
                head = await anyio.to_thread.run_sync(current_head, gh, repository, number)
                if head != pr.head_sha:
                    moved_to = head
                    break
            requirements = [
                *gate_requirements(gates, datetime.now(UTC), settings.escalate_after_s),
                *listing_requirements(pr),
                *(await requirements_for(change, pr.head_ref) if requirements_for else []),
            ]
            notice(
                f"verifying {change.head_sha[:12]} against {change.base_sha[:12]} "
                f"({len(change.files)} changed files) with {', '.join(names) or 'no sub-agents'}"
            )
            report, warnings = await run_verification(
                change,
                plugins,
                config,
                names,
                timeout=timeout,
                jobs=jobs,
                requirements=requirements,
                progress=progress,
                cache=cache,
                finalize=lambda report: _finalize(report, gh, repository, pr, moved_to),
            )
            if record is not None:
                await anyio.to_thread.run_sync(record, report, config)
            if publish:
                report = await anyio.to_thread.run_sync(
                    publish_outcome, gh, target, report, warnings.append
                )
        except Exception as exc:
            if publish and not await anyio.to_thread.run_sync(publish_failure, gh, target, exc):
                notice("could not set the status to error either; it stays pending")
            raise
    return report, warnings


async def _finalize(
    report: Report,
    gh: Github,
    repository: str,
    pr: PullRequestInfo,
    moved_to: str | None,
) -> Report:
    """The pull request's report, final before observers, the store or GitHub see it: its
    repository named, and stale when the head moved while waiting or during the run
    (publishing reads the head once more right before the status)."""
    report = report.model_copy(update={"repository": repository})
    if moved_to is None:
        head = await anyio.to_thread.run_sync(current_head, gh, repository, pr.number)
        moved_to = head if head != pr.head_sha else None
    return report if moved_to is None else mark_stale(report, pr.number, pr.head_sha, moved_to)
