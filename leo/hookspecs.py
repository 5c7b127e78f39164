"""Every hook LEO calls, grouped by lane and phase.

Hooks are called synchronously and must not do I/O: registration hooks declare, the runner
executes. Arguments may be added over time; an implementation may accept fewer of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from leo.change import Change
    from leo.models import Report, SubAgentResult
    from leo.subagent import CheckOutcome, Conflict, SubAgent

hookspec = pluggy.HookspecMarker("leo")
#: Marks a plugin's hook implementations; plugins import it as ``from leo import hookimpl``.
hookimpl = pluggy.HookimplMarker("leo")


# --------------------------------------------------------------------------------------------
# Sub-agents: what the supervisor runs
# --------------------------------------------------------------------------------------------


@hookspec
def leo_register_subagents() -> Sequence[type[SubAgent]]:
    """Declare the sub-agents this plugin provides.

    Called once per plugin when LEO loads plugins (``leo verify``, ``leo plugins``). Return the
    ``SubAgent`` subclasses (not instances); the runner instantiates and runs them. A plugin
    that raises here, or returns something else, is reported by ``leo plugins`` and skipped.
    """


@hookspec(firstresult=True)
def leo_resolve_conflict(
    subagent: SubAgent, change: Change, conflict: Conflict
) -> Awaitable[CheckOutcome | None] | None:
    """Ask a sub-agent to reconsider its result in a conflict-resolution round.

    Called for each sub-agent that produced evidence, once per round (at most three rounds),
    when the sub-agents disagree (see docs/verdicts.md). Return an awaitable that the runner
    awaits under the sub-agent's timeout; it yields None (the agent stands by its result) or a
    revised result. The first non-None answer from the sub-agent's own plugin or LEO's default
    wins (another plugin's answer is ignored: it may observe, not launder); LEO's default calls
    ``subagent.resolve_conflict(change, conflict)``. The result's ``revised_by`` names who
    revised it.
    """


# --------------------------------------------------------------------------------------------
# Builder lane: the patch bundle handed to the enforcer
# --------------------------------------------------------------------------------------------


@hookspec
def leo_bundle_created(repo: str, head_sha: str, digest: str, marker: str) -> None:
    """Observe a builder bundle written by ``leo bundle create``.

    Called once after the bundle is written, with the repository path, the head commit it was
    built for, the bundle's sha256 and its handoff marker ``[CODEX-READY:<sha256>]``. Return
    nothing; an exception is reported and ignored. (`leo bundle create` records the handoff
    in the audit store itself, before this notification.)
    """


# --------------------------------------------------------------------------------------------
# Enforcer lane: verifying and applying the bundle
# --------------------------------------------------------------------------------------------


@hookspec
def leo_bundle_applied(repo: str, head_sha: str, digest: str, marker: str) -> None:
    """Observe a bundle that ``leo bundle apply`` verified and applied.

    Called once after the patch is applied, with the repository it was applied to, the head
    commit the bundle was built for, its sha256 and the marker ``[CLAUDE-APPLIED:<sha256>]``.
    Return nothing; an exception is reported and ignored. (`leo bundle apply` records the
    handoff in the audit store itself, before this notification.)
    """


# --------------------------------------------------------------------------------------------
# Supervisor lane: a verification from start to verdict
# --------------------------------------------------------------------------------------------


@hookspec
def leo_verification_started(change: Change, agents: Sequence[str]) -> None:
    """Observe the start of a verification.

    Called once, after the change is gathered and before any sub-agent runs, with the names
    of the selected sub-agents. Return nothing; an exception is reported and ignored.
    """


@hookspec
def leo_subagent_finished(change: Change, result: SubAgentResult) -> None:
    """Observe one sub-agent's final result.

    Called once per sub-agent after conflict resolution, in selection order, before the
    verdict is computed. Return nothing; an exception is reported and ignored.
    """


@hookspec
def leo_verification_finished(report: Report) -> None:
    """Observe a finished verification (metrics, audit, notifications).

    Called once with the final ``Report`` (in the GitHub mode: its repository named, a moved
    head marked stale) before it is printed, recorded or published. Return nothing; an exception
    is reported and ignored, it never changes the verdict.
    """


# --------------------------------------------------------------------------------------------
# Lead lane: a human decision on a verdict
# --------------------------------------------------------------------------------------------


@hookspec
def leo_lead_decision(
    repository: str,
    pr: int,
    head_sha: str,
    decision: str,
    reason: str,
    override: bool,
    verdict: str,
) -> None:
    """Observe a LEAD decision recorded by ``leo lead approve`` or ``leo lead reject``.

    Called once after the decision is in the audit store, with the PR, the head SHA it binds
    to, ``approve`` or ``reject``, the written reason, whether it overrode a FAIL, and the
    verdict it answers. Return nothing; an exception is reported and ignored.
    """
