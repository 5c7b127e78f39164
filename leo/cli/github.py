"""The GitHub commands: ``leo init github``, ``leo labels sync|move`` and ``leo publish``.

Registered lazily from ``LAZY_COMMANDS`` in ``leo/cli/root.py``; only click is imported at the top so
``leo --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from leo.cli._options import github_repo_option

if TYPE_CHECKING:
    from leo.models import Report


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
    "--source",
    default=None,
    metavar="OWNER/REPO@SHA",
    help="LEO's repository and the 40-hex commit the workflow uses and installs. "
    "[default: the commit this LEO was installed from, when pip recorded one]",
)
@click.option(
    "--install",
    default=None,
    help="What the evidence and trusted jobs pip-install. [default: LEO and the five sub-agents from --source]",
)
@click.option(
    "--context",
    default=None,
    help="Commit status context. [default: LEO Gate Validation]",
)
# Until issue 19 this copied action.yml into the user's repository, where the action's
# `plugins/` does not exist; the workflow now references LEO's own action by commit instead.
@click.option("--action", is_flag=True, hidden=True)
@click.option(
    "--sop/--no-sop",
    default=True,
    show_default=True,
    help="Also write the SOP's other gates: SLSA and policy verification, signing, label sync "
    "and the Story Release Gate template.",
)
def init_github(
    root: Path,
    force: bool,
    source: str | None,
    install: str | None,
    context: str | None,
    action: bool,
    sop: bool,
) -> None:
    """Write the /leo-verify workflow (.github/workflows/leo-verify.yml) and the SOP's others.

    The PR's code runs only in the `evidence` job (read-only token, no secrets, LEO's sandbox);
    the `trusted` job runs the static sub-agents, aggregates that evidence, signs the verdict
    with the LEO_VSA_SIGNING_KEY secret and publishes it. Both install LEO from --source
    (OWNER/REPO@<sha>), never by a package-index name.
    """
    from leo.errors import LeoError
    from leo.github.settings import DEFAULT_CONTEXT
    from leo.github.sop import render_sop_workflows, write_sop_workflows
    from leo.github.workflow import (
        PLACEHOLDER,
        WORKFLOW_PATH,
        Source,
        render_workflow,
        running_source,
        write_workflow,
    )

    if action:
        msg = (
            "--action is gone: the workflow references LEO's action as `uses: OWNER/REPO@<sha>` "
            "(set it with --source), so nothing needs copying into this repository"
        )
        raise LeoError(msg)
    pin = Source.parse(source) if source else running_source()
    requirements = install or (pin or PLACEHOLDER).requirements()
    text = render_workflow(pin or PLACEHOLDER, install, context or DEFAULT_CONTEXT)
    others = render_sop_workflows(requirements) if sop else {}
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
    if pin is None:
        click.echo(
            f"leo: warning: this LEO was not installed from a GitHub commit, so {path} uses the "
            f"placeholder {PLACEHOLDER.repo}, which GitHub refuses to run; "
            "write it again with --source OWNER/REPO@<40-hex sha>",
            err=True,
        )
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
@click.option(
    "--attestation",
    "attestation_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The signed verdict (VSA) of the report, from `--attest FILE --sign key:PATH`.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Public key the attestation must be signed with.",
)
@click.option(
    "--unsigned",
    is_flag=True,
    help="Publish a report nobody signed (only where the report never left the job).",
)
@click.option("--no-comment", is_flag=True, help="Do not write the sticky comment.")
@click.option("--no-labels", is_flag=True, help="Do not move the state labels.")
def publish(
    pr: int,
    github_repo: str | None,
    report_path: Path,
    context: str | None,
    attestation_path: Path | None,
    key_path: Path | None,
    unsigned: bool,
    no_comment: bool,
    no_labels: bool,
) -> None:
    """Publish a saved report on its PR: sticky comment, labels, then the final status.

    For workflows that verify in one job and publish from another; the head is read again,
    so a report of an older head is published as stale, never as success. The report must
    come with its attestation signed by --key (or --unsigned be given): a report whose
    signature does not verify, or that says something its signed verdict does not, is
    refused and the status set to error, as is a missing or unreadable report.
    """
    from leo.errors import LeoError

    signed = attestation_path is not None and key_path is not None
    if not (signed or (unsigned and attestation_path is None and key_path is None)) or (
        signed and unsigned
    ):
        msg = (
            "leo publish needs the signed verdict: pass --attestation FILE --key PUB (from "
            "`--attest FILE --sign key:PATH`), or --unsigned alone for a report that never "
            "left this job"
        )
        raise LeoError(msg)
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
    if attestation_path is not None and key_path is not None:
        problem = _unattested(report, attestation_path, key_path)
        if problem is not None:
            target = Target(repository, pr, report.head_sha, context=context or DEFAULT_CONTEXT)
            publish_failure(gh, target, LeoError(problem))
            click.echo(f"leo: error: {problem}; the status is set to error", err=True)
            sys.exit(ExitCode.ESCALATE)
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


def _unattested(report: Report, attestation: Path, key: Path) -> str | None:
    """Why ``report`` is not the one its attestation signs (None: it is)."""
    from leo.bundle import keys
    from leo.bundle.vsa import MAX_ATTESTATION_BYTES, verify_attestation
    from leo.errors import LeoError

    try:
        data = attestation.read_bytes()[: MAX_ATTESTATION_BYTES + 1]
        checker = keys.checker_for(keys.load_public(key))
        stmt = verify_attestation(data, checker, head_sha=report.head_sha)
    except (OSError, LeoError) as exc:
        return f"the report's attestation {attestation} does not verify with {key}: {exc}"
    signed = stmt.get("predicate", {}).get("leo", {})
    said = {
        "verdict": report.verdict,
        "confidence": report.confidence,
        "baseSha": report.base_sha,
        "configDigest": report.config_digest,
    }
    differs = [k for k, v in said.items() if signed.get(k) != v]
    if differs:
        return f"the report differs from its signed verdict in {', '.join(differs)}; it was edited"
    return None
