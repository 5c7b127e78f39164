"""The other required gates: commit statuses and check runs that must succeed beside LEO's.

A gate matches a status context or a check-run name equal to its name, or a check run named
after its job part (``Workflow / job`` is how branch protection shows an Actions job). A failed
gate FAILs the verdict; a pending or missing one makes it wait, and one still pending four hours
after it started goes to the LEAD (ESCALATE), as the SOP says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from leo.github.client import api
from leo.models import LeoModel, Requirement

if TYPE_CHECKING:
    from github import Github
    from github.CheckRun import CheckRun
    from github.CommitStatus import CommitStatus

GateState = Literal["passed", "failed", "pending", "missing"]
_CHECK_PASSED = frozenset({"success", "neutral", "skipped"})


class Gate(LeoModel):
    """One required check as LEO found it on the head commit."""

    name: str
    """The required check's name."""
    state: GateState
    """``passed``, ``failed``, ``pending`` (running or queued) or ``missing`` (not reported yet)."""
    since: datetime | None = None
    """When it started (pending) or when the head commit was made (missing)."""
    detail: str = ""
    """What GitHub said about it."""


class Observed(LeoModel):
    """A status or check run on the head commit, reduced to what gates need."""

    name: str
    state: GateState
    since: datetime | None = None
    detail: str = ""


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def observe(gh: Github, repository: str, sha: str) -> list[Observed]:
    """Every status context (latest per context) and check run (latest per name) on ``sha``."""
    with api(f"reading the statuses and check runs of {sha[:12]}"):
        commit = gh.get_repo(repository).get_commit(sha)
        return [
            *from_statuses(commit.get_combined_status().statuses),
            *from_check_runs(commit.get_check_runs()),
        ]


def from_statuses(statuses: Iterable[CommitStatus]) -> list[Observed]:
    """Commit statuses as observations: success passed, pending pending, the rest failed."""
    out = []
    for s in statuses:
        state: GateState = {"success": "passed", "pending": "pending"}.get(s.state, "failed")  # type: ignore[assignment]
        out.append(
            Observed(
                name=s.context,
                state=state,
                since=_aware(s.created_at),
                detail=s.description or s.state,
            )
        )
    return out


def from_check_runs(runs: Iterable[CheckRun]) -> list[Observed]:
    """Check runs as observations: queued or in progress is pending; success, neutral and
    skipped pass (as branch protection counts them); any other conclusion failed."""
    out = []
    for run in runs:
        if run.status != "completed":
            state: GateState = "pending"
            detail = run.status
        else:
            detail = run.conclusion or "unknown"
            state = "passed" if detail in _CHECK_PASSED else "failed"
        out.append(
            Observed(name=run.name, state=state, since=_aware(run.started_at), detail=detail)
        )
    return out


def read_required_checks(gh: Github, repository: str, branch: str) -> list[str] | None:
    """The checks ``branch`` requires, from its rulesets and, where the token may read it, its
    branch protection; ``None`` when neither could be read.

    ``GET /rules/branches/{branch}`` needs only read access; branch protection needs admin and
    answers 404 both when unprotected and when not permitted, so it only ever adds names.
    """
    from urllib.parse import quote

    from github import GithubException

    names: list[str] = []
    readable = False
    path = f"/repos/{repository}"
    with api(f"reading the required checks of {branch}"):
        try:
            _h, rules = gh.requester.requestJsonAndCheck(
                "GET", f"{path}/rules/branches/{quote(branch, safe='')}"
            )
            readable = True
            for rule in rules if isinstance(rules, list) else []:
                if isinstance(rule, dict) and rule.get("type") == "required_status_checks":
                    params = rule.get("parameters") or {}
                    names += [str(c["context"]) for c in params.get("required_status_checks", [])]
        except GithubException as exc:
            if exc.status not in (403, 404):
                raise
        try:
            _h, protection = gh.requester.requestJsonAndCheck(
                "GET",
                f"{path}/branches/{quote(branch, safe='')}/protection/required_status_checks",
            )
            readable = True
            names += [str(c) for c in protection.get("contexts", [])]
            names += [str(c["context"]) for c in protection.get("checks", [])]
        except GithubException as exc:
            if exc.status not in (403, 404):
                raise
    return list(dict.fromkeys(names)) if readable else None


def producer(gate: str) -> str:
    """Who should report ``gate``: the workflow and job of ``Workflow / job``, else its name."""
    if " / " in gate:
        workflow, job = gate.rsplit(" / ", 1)
        return f"job {job!r} of the workflow {workflow!r}"
    return f"the workflow job or app that posts {gate!r}"


def never_reported(gate: Gate) -> str:
    """One sentence for a required check nothing has reported on the head yet."""
    return (
        f"required check {gate.name!r} has never been reported on this head: {producer(gate.name)} "
        "should produce it; check that it exists on the base branch and runs on pull requests"
    )


def _matches(gate: str, name: str) -> bool:
    return name == gate or (" / " in gate and name == gate.rsplit(" / ", 1)[1])


def evaluate(
    required: Iterable[str], seen: Sequence[Observed], head_time: datetime | None
) -> list[Gate]:
    """The state of each required gate; when several reports match, the worst one counts."""
    rank = {"failed": 0, "pending": 1, "passed": 2}
    gates = []
    for name in required:
        matches = [o for o in seen if _matches(name, o.name)]
        if not matches:
            gates.append(Gate(name=name, state="missing", since=head_time, detail="not reported"))
            continue
        worst = min(matches, key=lambda o: rank[o.state])
        gates.append(Gate(name=name, state=worst.state, since=worst.since, detail=worst.detail))
    return gates


def waiting(gates: Sequence[Gate], now: datetime, escalate_after_s: float) -> list[Gate]:
    """Gates still pending or missing and not yet overdue: the verdict waits for them."""
    return [
        g
        for g in gates
        if g.state in ("pending", "missing") and not _overdue(g, now, escalate_after_s)
    ]


def _overdue(gate: Gate, now: datetime, escalate_after_s: float) -> bool:
    return gate.since is not None and (now - gate.since).total_seconds() > escalate_after_s


def gate_requirements(
    gates: Sequence[Gate], now: datetime, escalate_after_s: float
) -> list[Requirement]:
    """One requirement per gate: passed met; failed not met (FAIL); pending undecided (ESCALATE)."""
    hours = escalate_after_s / 3600
    out = []
    for g in gates:
        label = f"required check {g.name!r}"
        if g.state == "passed":
            out.append(Requirement(name=label, met=True, detail=f"{g.name}: {g.detail}"))
        elif g.state == "failed":
            out.append(Requirement(name=label, met=False, detail=f"{g.name} failed ({g.detail})"))
        elif _overdue(g, now, escalate_after_s):
            detail = (
                f"{g.name} is still {g.state} more than {hours:g} hours after it started; "
                "escalated to the LEAD"
            )
            if g.state == "missing":
                detail += f" ({never_reported(g)})"
            out.append(Requirement(name=label, met=None, detail=detail))
        elif g.state == "missing":
            detail = f"{never_reported(g)}; re-run when it has reported, or use --wait"
            out.append(Requirement(name=label, met=None, detail=detail))
        else:
            detail = f"{g.name} is {g.state}; re-run when it finishes, or use --wait"
            out.append(Requirement(name=label, met=None, detail=detail))
    return out
