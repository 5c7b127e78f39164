"""LEO's commit status on the head SHA: ``pending`` while it runs, then the verdict's state.

Only a PASS that is not stale maps to ``success``; everything else blocks a protected branch.
Posting a status is idempotent in effect (the latest state per context wins), so a failed POST
is simply posted again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from leo.github.client import retry_write

if TYPE_CHECKING:
    from github import Github

    from leo.models import Decision

State = Literal["error", "failure", "pending", "success"]
_DESCRIPTION_MAX = 140

#: How each verdict shows on GitHub. Only PASS is ``success``: CONDITIONAL_PASS waits for a
#: LEAD's acceptance (pending) and ESCALATE asks a LEAD to decide (error).
STATE_FOR_VERDICT: dict[Decision, State] = {
    "PASS": "success",
    "FAIL": "failure",
    "CONDITIONAL_PASS": "pending",
    "ESCALATE": "error",
}


def final_state(verdict: Decision, *, stale: bool) -> State:
    """The status for a finished run; a stale verdict is never ``success``."""
    if stale:
        return "error"
    return STATE_FOR_VERDICT[verdict]


def describe(verdict: Decision, confidence: int, *, stale: bool) -> str:
    if stale:
        return "LEO verdict is stale: the PR moved during the run; re-run /leo-verify"
    text = {
        "PASS": "PASS",
        "FAIL": "FAIL",
        "CONDITIONAL_PASS": "CONDITIONAL_PASS: a LEAD must accept the conditions",
        "ESCALATE": "ESCALATE: a LEAD must decide",
    }[verdict]
    return f"{text} (confidence {confidence})"


def post_status(
    gh: Github,
    repository: str,
    sha: str,
    state: State,
    description: str,
    *,
    context: str,
    target_url: str | None = None,
) -> None:
    """Set LEO's status ``context`` on ``sha`` (re-posted on a transient failure)."""
    from github.GithubObject import NotSet

    commit = gh.get_repo(repository).get_commit(sha)
    retry_write(
        f"posting the {state} status on {sha[:12]}",
        lambda: commit.create_status(
            state,
            target_url=target_url or NotSet,
            description=description[:_DESCRIPTION_MAX],
            context=context,
        ),
    )
