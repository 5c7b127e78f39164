"""The GitHub commands: ``leo init github``, ``leo labels sync|move`` and ``leo publish``.

Registered lazily from ``LAZY_COMMANDS`` in ``leo/cli/__init__.py``; only click is imported at the top so
``leo --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leo.cli._options import github_repo_option


def _repository(explicit: str | None) -> str:
    import os

    import anyio

    from leo.github.verify import resolve_repository

    async def resolve() -> str:
        return await resolve_repository(explicit, os.environ, ".")

    return anyio.run(resolve)


@click.group()
def init() -> None:
    """Set LEO up in a repository."""


@init.command("github")
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Repository root to write .github/workflows/leo-verify.yml into.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing workflow.")
@click.option(
    "--install",
    default=None,
    help="What the workflow pip-installs. [default: leo-gate==<this version>]",
)
@click.option(
    "--context",
    default=None,
    help="Commit status context. [default: LEO Gate Validation]",
)
@click.option("--action", is_flag=True, help="Also write LEO's composite action.yml at --dir.")
@click.option(
    "--sop/--no-sop",
    default=True,
    show_default=True,
    help="Also write the SOP's other gates: SLSA and policy verification, signing, label sync "
    "and the Story Release Gate template.",
)
def init_github(
    root: Path, force: bool, install: str | None, context: str | None, action: bool, sop: bool
) -> None:
    """Write the /leo-verify workflow (.github/workflows/leo-verify.yml) and the SOP's others."""
    from leo.__about__ import __version__
    from leo.errors import LeoError
    from leo.github.settings import DEFAULT_CONTEXT
    from leo.github.sop import render_sop_workflows, write_sop_workflows
    from leo.github.workflow import WORKFLOW_PATH, render_action, render_workflow, write_workflow

    install = install or f"leo-gate=={__version__}"
    text = render_workflow(install, context or DEFAULT_CONTEXT)
    others = render_sop_workflows(install) if sop else {}
    # Check every target before writing any, so a refusal leaves no half-initialised set.
    targets = [root / WORKFLOW_PATH, *(root / WORKFLOW_PATH.parent / n for n in others)]
    if not force and (existing := [t for t in targets if t.exists()]):
        raise LeoError(
            f"{', '.join(map(str, existing))} already exist(s); pass --force to overwrite"
        )
    path = write_workflow(root, text, force=force)
    click.echo(f"wrote {path}")
    for written in write_sop_workflows(root, others, force=True):
        click.echo(f"wrote {written}")
    if action:
        target = root / "action.yml"
        if target.exists() and not force:
            from leo.errors import LeoError

            msg = f"{target} already exists; pass --force to overwrite it"
            raise LeoError(msg)
        target.write_text(render_action(), encoding="utf-8")
        click.echo(f"wrote {target}")
    click.echo(
        "next: require the status check in branch protection, run `leo labels sync`"
        + (", and complete story-release-gate.yml (a template)" if sop else "")
        + " (docs/github.md)",
        err=True,
    )


@click.group()
def labels() -> None:
    """The SOP's state labels on pull requests."""


@labels.command("sync")
@github_repo_option
def labels_sync(github_repo: str | None) -> None:
    """Create or update the state labels (colours and descriptions) in the repository."""
    from leo.github.client import connect
    from leo.github.labels import sync

    repository = _repository(github_repo)
    for line in sync(connect(), repository):
        click.echo(line)


@labels.command("move")
@click.option("--pr", type=click.IntRange(min=1), required=True, help="Pull request number.")
@github_repo_option
@click.argument("state")
def labels_move(pr: int, github_repo: str | None, state: str) -> None:
    """Move pull request --pr to STATE, refusing moves the SOP does not allow."""
    from leo.github.client import connect
    from leo.github.labels import move

    repository = _repository(github_repo)
    final = move(connect(), repository, pr, [state])
    click.echo(f"#{pr} is now {final}")


@click.command()
@click.option("--pr", type=click.IntRange(min=1), required=True, help="Pull request number.")
@github_repo_option
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON report of `leo verify --pr N --format json` for that PR's head.",
)
@click.option(
    "--context", default=None, help="Commit status context. [default: LEO Gate Validation]"
)
@click.option("--no-comment", is_flag=True, help="Do not write the sticky comment.")
@click.option("--no-labels", is_flag=True, help="Do not move the state labels.")
def publish(
    pr: int,
    github_repo: str | None,
    report_path: Path,
    context: str | None,
    no_comment: bool,
    no_labels: bool,
) -> None:
    """Publish a saved report on its PR: sticky comment, labels, then the final status.

    For workflows that verify in a read-only job and publish from another; the head is read
    again, so a report of an older head is published as stale, never as success. A missing or
    unreadable report sets the status to error.
    """
    from pydantic import ValidationError

    from leo.cli._output import EXIT_FOR_VERDICT
    from leo.errors import ExitCode, LeoError
    from leo.github.client import connect
    from leo.github.publish import Target, publish_failure, publish_outcome
    from leo.github.pull import current_head
    from leo.github.settings import DEFAULT_CONTEXT
    from leo.models import Report

    repository = _repository(github_repo)
    gh = connect()
    try:
        report = Report.model_validate_json(report_path.read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        head = current_head(gh, repository, pr)
        target = Target(repository, pr, head, context=context or DEFAULT_CONTEXT)
        reason = LeoError(f"no valid report at {report_path} ({type(exc).__name__})")
        publish_failure(gh, target, reason)
        click.echo(f"leo: error: {reason}; the status of {head[:12]} is set to error", err=True)
        sys.exit(ExitCode.ESCALATE)
    if report.repository != repository:
        msg = f"the report is for {report.repository!r}, not {repository}; publish it on its own repository"
        raise LeoError(msg)
    target = Target(
        repository,
        pr,
        report.head_sha,
        context=context or DEFAULT_CONTEXT,
        comment=not no_comment,
        labels=not no_labels,
    )
    final = publish_outcome(
        gh, target, report, lambda m: click.echo(f"leo: warning: {m}", err=True)
    )
    click.echo(f"leo: published {final.verdict} on {final.head_sha[:12]} of #{pr}", err=True)
    sys.exit(EXIT_FOR_VERDICT[final.verdict])
