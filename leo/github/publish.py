"""Publishing a verdict on the PR: the sticky comment, the labels, then the final status.

The final status is posted last, right after the head SHA is read again: a PR that moved during
the run gets no ``success`` and its report says the verdict is stale. If anything fails before
the final post, the status is set to ``error`` (best effort), never left claiming success.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leo.errors import LeoError
from leo.github import comment, labels, status
from leo.github.client import describe
from leo.github.pull import current_head
from leo.github.settings import DEFAULT_CONTEXT
from leo.models import Requirement

if TYPE_CHECKING:
    from github import Github

    from leo.models import Report


@dataclass(frozen=True)
class Target:
    """Where a verdict is published."""

    repository: str
    number: int
    head_sha: str
    context: str = DEFAULT_CONTEXT
    comment: bool = True
    labels: bool = True


def run_url(env: Mapping[str, str] | None = None) -> str | None:
    """The Actions run that produced the verdict, for the status's link."""
    env = os.environ if env is None else env
    server, repo, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if server and repo and run and run.isdigit() and server.startswith("https://"):
        return f"{server}/{repo}/actions/runs/{run}"
    return None


def mark_stale(report: Report, number: int, verified: str, now: str) -> Report:
    """The report of a run whose PR moved meanwhile: never PASS, and saying so first."""
    detail = (
        f"stale verdict: the PR head moved from {verified[:12]} to {now[:12]} during the run; "
        f"re-run `leo verify --pr {number}` (or /leo-verify)"
    )
    req = Requirement(name="head unchanged", met=None, detail=detail)
    verdict = "FAIL" if report.verdict == "FAIL" else "ESCALATE"
    return report.model_copy(
        update={
            "verdict": verdict,
            "reasons": (detail, *report.reasons),
            "requirements": (*report.requirements, req),
        }
    )


def is_stale(report: Report) -> bool:
    return any(r.name == "head unchanged" and r.met is not True for r in report.requirements)


def gates_passed(report: Report) -> bool:
    gates = [r for r in report.requirements if r.name.startswith("required check ")]
    return all(r.met is True for r in gates)


def publish_pending(gh: Github, target: Target) -> None:
    status.post_status(
        gh,
        target.repository,
        target.head_sha,
        "pending",
        "LEO is verifying this head commit",
        context=target.context,
        target_url=run_url(),
    )


def publish_failure(gh: Github, target: Target, error: BaseException) -> bool:
    """Best effort: turn a pending status into ``error`` after LEO failed; True when posted."""
    try:
        status.post_status(
            gh,
            target.repository,
            target.head_sha,
            "error",
            f"LEO could not finish: {describe(error)}",
            context=target.context,
            target_url=run_url(),
        )
    except Exception:
        return False
    return True


def publish_outcome(
    gh: Github, target: Target, report: Report, warn: Callable[[str], None]
) -> Report:
    """Comment, labels, then the final status; return the report (marked stale if the PR moved)."""
    from leo.formats import render

    if report.head_sha != target.head_sha:
        msg = (
            f"the report is for {report.head_sha[:12]}, not the PR head {target.head_sha[:12]}; "
            "publish only the report of the head that was verified"
        )
        raise LeoError(msg)
    if not is_stale(report):
        head_now = current_head(gh, target.repository, target.number)
        if head_now != target.head_sha:
            report = mark_stale(report, target.number, target.head_sha, head_now)
    if target.comment:
        comment.upsert_comment(
            gh, target.repository, target.number, target.context, render(report, "markdown")
        )
    stale = is_stale(report)
    if target.labels and not stale:
        try:
            state = labels.current_state(labels.labels_of(gh, target.repository, target.number))
            moves = labels.path_for_verdict(state, report.verdict, gates_passed(report))
            if moves:
                labels.move(gh, target.repository, target.number, moves)
            elif state in (None, "codex-building"):
                warn(
                    f"labels left alone: the PR is in state {state or '(none)'}; LEO moves "
                    "labels from claude-enforcing onwards"
                )
        except labels.IllegalTransition as exc:
            warn(f"labels left alone: {exc}")
    # The last word: read the head again right before the status that branch protection trusts.
    if not stale:
        head_now = current_head(gh, target.repository, target.number)
        if head_now != target.head_sha:
            report = mark_stale(report, target.number, target.head_sha, head_now)
            stale = True
            if target.comment:
                comment.upsert_comment(
                    gh,
                    target.repository,
                    target.number,
                    target.context,
                    render(report, "markdown"),
                )
    status.post_status(
        gh,
        target.repository,
        target.head_sha,
        status.final_state(report.verdict, stale=stale),
        status.describe(report.verdict, report.confidence, stale=stale),
        context=target.context,
        target_url=run_url(),
    )
    return report
