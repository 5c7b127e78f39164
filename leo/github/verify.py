"""``leo verify --pr N`` in four steps: fetch the PR, check its gates, verify it, publish.

``verify_pull_request`` reads top to bottom as those steps. The sub-agents run through
``leo.supervisor.verify``, the same pipeline as the local mode; this module adds what only
GitHub knows: whether the API listed the whole PR, the other required gates, and whether the
head moved while LEO worked.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from leo.errors import LeoError
from leo.git import run_git
from leo.github.client import check_repo_name, connect, repo_from_remote, token_for_git
from leo.github.fetch import pull_change
from leo.github.gates import (
    evaluate,
    gate_requirements,
    never_reported,
    observe,
    read_required_checks,
    waiting,
)
from leo.github.publish import Target, mark_stale, publish_failure, publish_outcome, publish_pending
from leo.github.pull import MAX_API_COMMITS, MAX_API_FILES, PullRequestInfo, current_head, read_pull
from leo.github.settings import DEFAULT_REQUIRED_CHECKS, GitHubSettings, github_settings
from leo.models import Requirement

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
    remote = await run_git(cwd, "remote", "get-url", "origin", timeout=30, check=False)
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

    Four steps, each a function below: ``fetch``, ``check_gates``, ``verify`` and
    ``publish_verdict``. ``record`` stores the report in the
    audit store; it runs before the final status is posted, so a verdict is never published
    that was not recorded.
    """
    from leo.config import load_config
    from leo.supervisor import select_agents

    env = os.environ if env is None else env
    async with fetch(number, github_repo=github_repo, cwd=cwd, env=env, notice=notice) as pull:
        change = pull.change
        config, _source = await load_config(change, config_path)
        settings = github_settings(config.github)
        names = select_agents(plugins, config, requested)
        target = Target(
            pull.repository,
            number,
            pull.info.head_sha,
            context=settings.status_context,
            comment=settings.comment,
            labels=settings.labels,
        )
        if publish:
            await anyio.to_thread.run_sync(publish_pending, pull.gh, target)
        try:
            requirements, moved_to = await check_gates(pull, settings, wait=wait, notice=notice)
            requirements += listing_requirements(pull.info)
            if requirements_for is not None:
                requirements += await requirements_for(change, pull.info.head_ref)
            notice(
                f"verifying {change.head_sha[:12]} against {change.base_sha[:12]} "
                f"({len(change.files)} changed files) with {', '.join(names) or 'no sub-agents'}"
            )
            report, warnings = await verify(
                pull,
                plugins,
                config,
                names,
                requirements=requirements,
                moved_to=moved_to,
                timeout=timeout,
                jobs=jobs,
                progress=progress,
                cache=cache,
            )
            if record is not None:
                await anyio.to_thread.run_sync(record, report, config)
            if publish:
                report = await publish_verdict(pull, target, report, warnings)
        except Exception as exc:
            if publish and not await anyio.to_thread.run_sync(
                publish_failure, pull.gh, target, exc
            ):
                notice("could not set the status to error either; it stays pending")
            raise
    return report, warnings


@dataclass(frozen=True)
class Pull:
    """The pull request as read once from GitHub and checked out: every later step works on
    this reading."""

    repository: str
    """``owner/name`` of the base repository."""
    gh: Github
    """The API client, authenticated from the environment."""
    info: PullRequestInfo
    """The PR as the API listed it: head and base SHAs, files, commits."""
    change: Change
    """Its head against the merge base, fetched into a throw-away repository."""


@contextlib.asynccontextmanager
async def fetch(
    number: int,
    *,
    github_repo: str | None,
    cwd: str,
    env: Mapping[str, str],
    notice: Callable[[str], None],
) -> AsyncIterator[Pull]:
    """Step 1, fetch: read the PR from the API and check its head out as a ``Change``.

    A step of its own because the head SHA read here is the one verified, recorded and
    published, whatever the branch does meanwhile; the checkout is removed afterwards."""
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
        yield Pull(repository, gh, pr, change)


async def check_gates(
    pull: Pull, settings: GitHubSettings, *, wait: bool, notice: Callable[[str], None]
) -> tuple[list[Requirement], str | None]:
    """Step 2, gates: the other required checks on the head, waited for when ``wait``; return
    their requirements and the new head if the PR moved while waiting (else None).

    A step of its own because it talks only to GitHub and may take hours: LEO's own verdict
    cannot PASS while a required gate failed, is pending, or never reported."""
    pr = pull.info
    head_time = next((c.committed_at for c in pr.commits if c.sha == pr.head_sha), None)
    required = await _required_checks(pull.gh, pull.repository, pr.base_ref, settings, notice)
    started = time.monotonic()
    moved_to: str | None = None
    announced = False
    while True:
        seen = await anyio.to_thread.run_sync(observe, pull.gh, pull.repository, pr.head_sha)
        states = evaluate(required, seen, head_time)
        if not announced:  # a fresh repository must not wait four hours in silence
            announced = True
            for gate in states:
                if gate.state == "missing":
                    notice(never_reported(gate))
        pending = waiting(states, datetime.now(UTC), settings.escalate_after_s)
        if not pending or not wait:
            break
        if time.monotonic() - started > settings.escalate_after_s:
            break
        notice(f"waiting for {', '.join(g.name for g in pending)}")
        await anyio.sleep(settings.poll_interval_s)
        head = await anyio.to_thread.run_sync(current_head, pull.gh, pull.repository, pr.number)
        if head != pr.head_sha:
            moved_to = head
            break
    return gate_requirements(states, datetime.now(UTC), settings.escalate_after_s), moved_to


async def verify(
    pull: Pull,
    plugins: Plugins,
    config: Config,
    names: Sequence[str],
    *,
    requirements: Sequence[Requirement],
    moved_to: str | None,
    timeout: float | None,
    jobs: int | None,
    progress: Progress | None,
    cache: ResultCache | None,
) -> tuple[Report, list[str]]:
    """Step 3, verify: the sub-agents, conflict rounds and verdict of ``leo.supervisor.verify``,
    the local mode's pipeline, with GitHub's requirements.

    A step of its own because here the report becomes the pull request's: it names the
    repository and is marked stale when the head moved, before any observer hook sees it."""
    from leo.supervisor import verify as supervise

    return await supervise(
        pull.change,
        plugins,
        config,
        names,
        timeout=timeout,
        jobs=jobs,
        requirements=requirements,
        progress=progress,
        cache=cache,
        finalize=lambda report: _finalize(report, pull, moved_to),
    )


async def publish_verdict(
    pull: Pull, target: Target, report: Report, warnings: list[str]
) -> Report:
    """Step 4, publish: comment, labels, then the final status on the verified head; return the
    report, marked stale if the head moved meanwhile, and add warnings to ``warnings``.

    A step of its own because it writes the verdict to GitHub (before it, only ``pending``),
    and it runs only after the verdict was recorded."""
    return await anyio.to_thread.run_sync(publish_outcome, pull.gh, target, report, warnings.append)


async def _required_checks(
    gh: Github,
    repository: str,
    branch: str,
    settings: GitHubSettings,
    notice: Callable[[str], None],
) -> list[str]:
    """The configured list when set, else what GitHub requires on ``branch`` (without LEO's own
    status), else the SOP's three."""
    if settings.required_checks is not None:
        return list(settings.required_checks)
    read = await anyio.to_thread.run_sync(read_required_checks, gh, repository, branch)
    if read is None:
        notice(
            f"could not read the required checks of {branch} (rulesets or branch protection); "
            f"using the SOP's: {', '.join(DEFAULT_REQUIRED_CHECKS)}"
        )
        return list(DEFAULT_REQUIRED_CHECKS)
    required = [name for name in read if name != settings.status_context]
    notice(f"required checks of {branch}: {', '.join(required) or 'none besides LEO'}")
    return required


async def _finalize(report: Report, pull: Pull, moved_to: str | None) -> Report:
    """The pull request's report, final before observers, the store or GitHub see it: its
    repository named, and stale when the head moved while waiting or during the run
    (publishing reads the head once more right before the status)."""
    pr = pull.info
    report = report.model_copy(update={"repository": pull.repository})
    if moved_to is None:
        head = await anyio.to_thread.run_sync(current_head, pull.gh, pull.repository, pr.number)
        moved_to = head if head != pr.head_sha else None
    return report if moved_to is None else mark_stale(report, pr.number, pr.head_sha, moved_to)
